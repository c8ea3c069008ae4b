"""The one-pass runner with the real tracker (tiny random weights): results, resume, workers, failures."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mixformerv2_core.cli import eval as eval_cli
from mixformerv2_core.evaluation import results, runner
from mixformerv2_core.evaluation.datasets import load_dataset
from mixformerv2_core.results_io import read_boxes

ROOT = Path(__file__).resolve().parents[2]


def read_all(out: Path, names) -> dict:
    return {n: read_boxes(out / f"{n}.txt") for n in names}


def test_run_writes_results_times_and_summary(tmp_path, eval_checkpoint, otb_tree):
    seqs = load_dataset("otb", otb_tree)
    spec = runner.TrackerSpec(str(eval_checkpoint), threads=1)
    summary = runner.run_sequences(spec, seqs, tmp_path / "out", progress=False)
    assert not summary.failed and summary.overall_fps > 0
    for s in seqs:
        boxes = read_boxes(tmp_path / "out" / f"{s.name}.txt")
        times = results.load_times(tmp_path / "out", s.name)
        assert boxes.shape == (len(s), 4) and len(times) == len(s) and (times > 0).all()
        np.testing.assert_allclose(boxes[0], s.init_box, atol=0.01)  # frame 0 is the initial box
        assert summary.sequences[s.name]["fps"] > 0
    saved = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert set(saved["sequences"]) == {s.name for s in seqs}
    # a second run finds everything finished and tracks nothing
    again = runner.run_sequences(spec, seqs, tmp_path / "out", progress=False)
    assert sorted(again.skipped) == sorted(s.name for s in seqs)


def test_two_workers_give_the_same_results_as_one(tmp_path, eval_checkpoint, otb_tree):
    seqs = load_dataset("otb", otb_tree)
    spec = runner.TrackerSpec(str(eval_checkpoint), threads=1)
    runner.run_sequences(spec, seqs, tmp_path / "one", workers=1, progress=False)
    summary = runner.run_sequences(spec, seqs, tmp_path / "two", workers=2, progress=False)
    assert not summary.failed
    names = [s.name for s in seqs]
    one, two = read_all(tmp_path / "one", names), read_all(tmp_path / "two", names)
    for n in names:
        np.testing.assert_array_equal(one[n], two[n])


def test_failed_sequence_leaves_no_result_and_is_retried(tmp_path, eval_checkpoint):
    from .conftest import write_otb_tree

    write_otb_tree(tmp_path / "data", seeds=(5, 6), num_frames=6)
    (tmp_path / "data" / "Synth6" / "img" / "0004.png").write_bytes(b"not an image")
    seqs = load_dataset("otb", tmp_path / "data")
    spec = runner.TrackerSpec(str(eval_checkpoint), threads=1)
    summary = runner.run_sequences(spec, seqs, tmp_path / "out", progress=False)
    assert list(summary.failed) == ["Synth6"] and "0004.png" in summary.failed["Synth6"]
    assert (tmp_path / "out" / "Synth5.txt").exists() and not (tmp_path / "out" / "Synth6.txt").exists()
    assert not list((tmp_path / "out").glob(".*tmp*"))


def test_resume_after_interruption_equals_uninterrupted(tmp_path, eval_checkpoint, capsys):
    from .conftest import write_otb_tree

    write_otb_tree(tmp_path / "data", seeds=(10, 11, 12, 13), num_frames=30, size=(120, 160))
    spec = runner.TrackerSpec(str(eval_checkpoint), threads=1)
    runner.run_sequences(spec, load_dataset("otb", tmp_path / "data"), tmp_path / "full", progress=False)
    base = [sys.executable, "-m", "mixformerv2_core.cli.eval", "--checkpoint", str(eval_checkpoint),
            "--dataset", "otb", "--root", str(tmp_path / "data"), "--threads", "1", "--no-progress"]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))

    out = tmp_path / "resumed"
    proc = subprocess.Popen(base + ["--out", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list(out.glob("Synth*_time.txt")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # a crash: no cleanup code runs
    proc.wait()
    finished = sorted(p.name for p in out.glob("Synth??.txt"))
    assert len(finished) < 4, "the run finished before it could be interrupted"
    # a half-written box file left by some other crash must not count as finished either
    (out / ".Synth13.txt.partial").write_text("1,2")
    assert eval_cli.main(base[3:] + ["--out", str(out)]) == 0  # the same command again, here in-process
    assert f"({len(finished)} from an earlier run)" in capsys.readouterr().out
    names = [f"Synth{k}" for k in (10, 11, 12, 13)]
    a, b = read_all(tmp_path / "full", names), read_all(out, names)
    for n in names:
        np.testing.assert_array_equal(a[n], b[n])
    assert (out / "report" / "report.md").exists()


def test_got10k_test_run_produces_submission(tmp_path, eval_checkpoint, otb_tree):
    import zipfile

    split = tmp_path / "got" / "test"
    names = ["GOT-10k_Test_000001", "GOT-10k_Test_000002"]
    split.mkdir(parents=True)
    (split / "list.txt").write_text("\n".join(names))
    for name, src in zip(names, ["Synth0", "Synth1"]):
        shutil.copytree(otb_tree / src / "img", split / name)
        gt = read_boxes(otb_tree / src / "groundtruth_rect.txt")
        np.savetxt(split / name / "groundtruth.txt", gt[:1], delimiter=",", fmt="%.2f")
    rc = eval_cli.main(["--checkpoint", str(eval_checkpoint), "--dataset", "got10k_test", "--root",
                        str(tmp_path / "got"), "--out", str(tmp_path / "res"), "--no-progress", "--threads", "1"])
    assert rc == 0
    with zipfile.ZipFile(tmp_path / "res" / "got10k_submit.zip") as zf:
        listing = sorted(zf.namelist())
        assert listing == sorted([f"{n}/{n}_001.txt" for n in names] + [f"{n}/{n}_time.txt" for n in names])
        rows = zf.read(f"{names[0]}/{names[0]}_001.txt").decode().splitlines()
        assert len(rows) == 10 and len(rows[0].split(",")) == 4
    assert not (tmp_path / "res" / "report").exists()  # the test split is scored by the server


def test_cli_reports_layout_errors(tmp_path, eval_checkpoint, capsys):
    rc = eval_cli.main(["--checkpoint", str(eval_checkpoint), "--dataset", "got10k_val", "--root",
                        str(tmp_path), "--out", str(tmp_path / "o")])
    assert rc == 2 and "list.txt" in capsys.readouterr().err


def test_bad_checkpoint_with_workers_is_one_clear_error(tmp_path, otb_tree, capsys):
    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint")
    rc = eval_cli.main(["--checkpoint", str(tmp_path / "broken.pt"), "--dataset", "otb", "--root", str(otb_tree),
                        "--out", str(tmp_path / "o"), "--workers", "2", "--no-progress"])
    assert rc == 2 and "broken.pt" in capsys.readouterr().err


def test_resume_with_another_configuration_refuses_or_starts_a_new_folder(tmp_path, eval_checkpoint, capsys):
    from .conftest import write_otb_tree

    write_otb_tree(tmp_path / "data", seeds=(20,), num_frames=5)
    base = ["--checkpoint", str(eval_checkpoint), "--dataset", "otb", "--root", str(tmp_path / "data"),
            "--threads", "1", "--no-progress", "--out", str(tmp_path / "run")]
    assert eval_cli.main(base) == 0
    recorded = json.loads((tmp_path / "run" / "run_config.json").read_text())
    assert len(recorded["checkpoint_sha256"]) == 64 and recorded["tracker_params"]["update_interval"] == 200
    capsys.readouterr()
    # another tracker parameter: refused, naming the difference, nothing written
    assert eval_cli.main(base + ["--update-interval", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mixformerv2-eval: error: ") and "update_interval" in err and "--new-folder" in err
    # another checkpoint (same weights, different file content): refused too
    other = tmp_path / "other.pt"
    other.write_bytes(eval_checkpoint.read_bytes() + b"\0")
    args = base.copy()
    args[1] = str(other)
    assert eval_cli.main(args) == 2 and "checkpoint_sha256" in capsys.readouterr().err
    # on request the run goes to the next free folder; the first folder is untouched
    assert eval_cli.main(base + ["--update-interval", "3", "--new-folder"]) == 0
    assert "this run uses" in capsys.readouterr().out and (tmp_path / "run_2" / "Synth20.txt").exists()
    assert json.loads((tmp_path / "run" / "run_config.json").read_text()) == recorded
    # the same configuration again finds its own folder and resumes there
    assert eval_cli.main(base + ["--update-interval", "3", "--new-folder"]) == 0
    assert "run_2" in capsys.readouterr().out and not (tmp_path / "run_3").exists()
    # a folder with results but no record (an older version's) is refused as well
    (tmp_path / "run" / "run_config.json").unlink()
    assert eval_cli.main(base) == 2 and "older version" in capsys.readouterr().err


def test_official_rounding_truncates_result_files(tmp_path, eval_checkpoint, otb_tree):
    seqs = load_dataset("otb", otb_tree, ["Synth0"])
    spec = runner.TrackerSpec(str(eval_checkpoint), threads=1)
    raw = runner.track_sequence(spec.build(), seqs[0]).boxes
    runner.run_sequences(spec, seqs, tmp_path / "off", progress=False, result_format="official")
    off = read_boxes(tmp_path / "off" / "Synth0.txt")
    np.testing.assert_array_equal(off, np.trunc(raw))  # the same tracker output, truncated toward zero
    assert "." not in (tmp_path / "off" / "Synth0.txt").read_text()


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_workers_and_resource_tracker_die_with_a_killed_main_process(tmp_path, eval_checkpoint):
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc to find the worker processes")
    from .conftest import write_otb_tree

    write_otb_tree(tmp_path / "data", seeds=(30, 31, 32, 33), num_frames=60, size=(120, 160))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "mixformerv2_core.cli.eval", "--checkpoint", str(eval_checkpoint), "--dataset", "otb",
         "--root", str(tmp_path / "data"), "--workers", "2", "--threads", "1", "--no-progress",
         "--out", str(tmp_path / "out")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    children: list[int] = []
    while time.monotonic() < deadline and proc.poll() is None:
        children = _children(proc.pid)
        if len(children) >= 3 and list((tmp_path / "out").glob("Synth*_time.txt")):  # 2 workers + resource tracker
            break
        time.sleep(0.05)
    assert proc.poll() is None and len(children) >= 3, "the workers never started, or the run ended first"
    proc.send_signal(signal.SIGKILL)  # no cleanup code runs in the main process
    proc.wait()
    deadline = time.monotonic() + 30
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [c for c in children if _alive(c)]
    for c in survivors:  # leave no stray processes behind even when the test fails
        os.kill(c, signal.SIGKILL)
    assert not survivors, f"processes outlived the killed evaluation: {survivors}"
    assert len(list((tmp_path / "out").glob("Synth??.txt"))) < 4  # it was killed mid-run


def test_shards_are_deterministic_balanced_and_cover_everything():
    from mixformerv2_core.evaluation import sharding
    from mixformerv2_core.evaluation.datasets import BenchmarkSequence

    seqs = [BenchmarkSequence(f"s{i}", [Path(f"{j}.jpg") for j in range(n)], np.zeros((1, 4)), "x", "ope")
            for i, n in enumerate([50, 10, 40, 30, 20, 5, 5])]
    shards = [sharding.select_shard(seqs, k, 3) for k in range(3)]
    assert sorted(s.name for shard in shards for s in shard) == sorted(s.name for s in seqs)
    assert [[s.name for s in shard] for shard in shards] == [["s0", "s5"], ["s1", "s2", "s6"], ["s3", "s4"]]
    assert sharding.parse_shard("2/3") == (2, 3)
    for bad in ("3/3", "1", "a/b", "-1/2", "0/0"):
        with pytest.raises(ValueError, match="K/N"):
            sharding.parse_shard(bad)


def test_shard_runs_then_a_plain_run_equal_one_run(tmp_path, eval_checkpoint, capsys):
    from .conftest import write_otb_tree

    write_otb_tree(tmp_path / "data", seeds=(40, 41, 42), num_frames=6)
    base = ["--checkpoint", str(eval_checkpoint), "--dataset", "otb", "--root", str(tmp_path / "data"),
            "--threads", "1", "--no-progress"]
    assert eval_cli.main(base + ["--out", str(tmp_path / "one")]) == 0
    for k in (0, 1):
        assert eval_cli.main(base + ["--out", str(tmp_path / "sharded"), "--shard", f"{k}/2"]) == 0
    assert not (tmp_path / "sharded" / "report").exists()  # no shard writes the report
    assert eval_cli.main(base + ["--out", str(tmp_path / "sharded")]) == 0  # finds all finished, reports
    assert "(3 from an earlier run)" in capsys.readouterr().out
    for n in ("Synth40", "Synth41", "Synth42"):
        assert (tmp_path / "one" / f"{n}.txt").read_bytes() == (tmp_path / "sharded" / f"{n}.txt").read_bytes()
    assert eval_cli.main(base + ["--out", str(tmp_path / "x"), "--shard", "2/2"]) == 2
    assert "mixformerv2-eval: error: --shard expects K/N" in capsys.readouterr().err
    # more shards than sequences: an empty shard records the same configuration and does nothing
    assert eval_cli.main(base + ["--out", str(tmp_path / "sharded"), "--shard", "4/5"]) == 0


def test_torchrun_two_ranks_equal_one_process(tmp_path, eval_checkpoint):
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        pytest.skip("torchrun is not installed next to this Python")
    from .conftest import write_otb_tree

    write_otb_tree(tmp_path / "data", seeds=(50, 51, 52), num_frames=8)
    args = ["--checkpoint", str(eval_checkpoint), "--dataset", "otb", "--root", str(tmp_path / "data"),
            "--threads", "1", "--no-progress"]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    single = subprocess.run([sys.executable, "-m", "mixformerv2_core.cli.eval", *args, "--out", str(tmp_path / "one")],
                            env=env, capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr
    multi = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "mixformerv2_core.cli.eval",
                            *args, "--out", str(tmp_path / "two")], env=env, capture_output=True, text=True, timeout=300)
    assert multi.returncode == 0, multi.stderr[-3000:]
    assert "shard 1/2" in multi.stdout and multi.stdout.count("report:") == 1  # only rank 0 reports
    for n in ("Synth50", "Synth51", "Synth52"):
        assert (tmp_path / "one" / f"{n}.txt").read_bytes() == (tmp_path / "two" / f"{n}.txt").read_bytes()
    one = json.loads((tmp_path / "one" / "report" / "scores.json").read_text())
    two = json.loads((tmp_path / "two" / "report" / "scores.json").read_text())
    assert one["one"] == two["two"]  # the same numbers, sequence for sequence
    assert set(json.loads((tmp_path / "two" / "summary.json").read_text())["sequences"]) == {"Synth50", "Synth51", "Synth52"}


def test_eval_with_the_demo_weights_says_they_will_not_track_real_video(tmp_path, eval_checkpoint, capsys):
    from mixformerv2_core.demo_model import DEMO_WEIGHTS

    rc = eval_cli.main(["--checkpoint", str(DEMO_WEIGHTS), "--dataset", "got10k_val", "--root", str(tmp_path),
                        "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "warning: the built-in demo weights were trained on generated scenes only" in err
    rc = eval_cli.main(["--checkpoint", str(eval_checkpoint), "--dataset", "got10k_val", "--root", str(tmp_path),
                        "--out", str(tmp_path / "o2")])
    assert rc == 2 and "warning" not in capsys.readouterr().err


def test_evaluation_runs_the_official_tracker_without_reacquisition(eval_checkpoint):
    for preset in (None, "lasot"):
        tracker = runner.TrackerSpec(str(eval_checkpoint), preset=preset, threads=1).build()
        assert tracker.params.reacquire == "off"
    asked = runner.TrackerSpec(str(eval_checkpoint), params=(("reacquire", "wide"),), threads=1).build()
    assert asked.params.reacquire == "wide"
