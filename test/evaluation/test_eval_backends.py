"""``mixformerv2-eval`` runs every registered backend (and the torch full forward) from the shared backend flags.

Each generated sequence has two frames: the initial box and one tracked frame, so the tracked box is one
network step from the same crop for every backend, and the backend's stated ``box_tolerance`` (normalised
crop coordinates, the contract of test/speed/test_backend_contract.py) bounds its distance in pixels from the
torch reference.
"""
from __future__ import annotations

import json
import math
import pickle

import cv2
import numpy as np
import pytest

from mixformerv2_core.backends import available_backends, box_tolerance
from mixformerv2_core.backends.selection import BUNDLE_BACKENDS
from mixformerv2_core.cli import eval as eval_cli
from mixformerv2_core.cli import track as track_cli
from mixformerv2_core.evaluation.results import result_path
from mixformerv2_core.evaluation.runner import TrackerSpec
from mixformerv2_core.results_io import read_boxes
from mixformerv2_core.synthetic import generate_sequence
from mixformerv2_ros import replay

from .conftest import write_otb_tree

SEEDS = (0, 1, 2)
CUDA_ONLY = "needs a CUDA device"
IMPORTS = {"onnx": ("onnx", "onnxruntime"), "openvino": ("onnx", "onnxruntime", "openvino")}
# x, y move by up to 1.5 crop widths times the coordinate error (centre and half the size), w and h by 3 after
# clipping each side; the result files round to 2 decimals.
PIXEL_SPREAD = np.array([1.5, 1.5, 3.0, 3.0])
ROUNDING = 0.011


@pytest.fixture(scope="module")
def two_frame_otb(tmp_path_factory):
    root = tmp_path_factory.mktemp("otb2")
    return root, write_otb_tree(root, seeds=SEEDS, num_frames=2)


@pytest.fixture(scope="module")
def bundles(eval_checkpoint, tmp_path_factory):
    """fp32 and INT8 bundles written by the library function behind mixformerv2-export."""
    pytest.importorskip("onnxruntime")
    from mixformerv2_core.export import write_onnx_bundles

    out = tmp_path_factory.mktemp("bundles")
    write_onnx_bundles(eval_checkpoint, out, int8=True)
    return out


def _eval(capsys, checkpoint, root, out, *flags):
    capsys.readouterr()
    code = eval_cli.main(["--checkpoint", str(checkpoint), "--dataset", "otb", "--root", str(root),
                          "--out", str(out), "--threads", "1", "--no-progress", *flags])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def torch_reference(eval_checkpoint, two_frame_otb, tmp_path_factory):
    root, truth = two_frame_otb
    out = tmp_path_factory.mktemp("reference")
    assert eval_cli.main(["--checkpoint", str(eval_checkpoint), "--dataset", "otb", "--root", str(root),
                          "--out", str(out), "--threads", "1", "--no-progress"]) == 0
    return out, {name: read_boxes(result_path(out, name)) for name in truth}


def _cases():
    cases = [pytest.param(name, False, False, id=name) for name in available_backends()]
    cases += [pytest.param(name, True, False, id=f"{name}-bundle") for name in BUNDLE_BACKENDS]
    return cases + [pytest.param("torch", False, True, id="torch-full-forward")]


def _flags(name, with_bundle, full_forward, bundles):
    flags = ["--backend", name]
    if full_forward:
        flags.append("--full-forward")
    if with_bundle:
        flags += ["--onnx-bundle", str(bundles)]
    if name == "torch-cudagraph":
        import torch

        flags += ["--device", "cuda" if torch.cuda.is_available() else "cpu"]
    return flags


@pytest.mark.parametrize("name, with_bundle, full_forward", _cases())
def test_every_backend_gives_the_torch_boxes_within_its_stated_tolerance(
        name, with_bundle, full_forward, request, eval_checkpoint, two_frame_otb, torch_reference, tmp_path, capsys, monkeypatch):
    for module in IMPORTS.get(name.split("-")[0], ()):
        pytest.importorskip(module)
    monkeypatch.setenv("MIXFORMERV2_CACHE", str(tmp_path / "cache"))  # exports go here, never the user's cache
    bundles = request.getfixturevalue("bundles") if with_bundle else None
    root, truth = two_frame_otb
    out = tmp_path / "run"
    code, stdout, err = _eval(capsys, eval_checkpoint, root, out, *_flags(name, with_bundle, full_forward, bundles))
    if code == 2 and CUDA_ONLY in err:
        assert err.startswith("mixformerv2-eval: error:") and "Traceback" not in err
        pytest.skip(f"{name}: {err.strip()} (run on a GPU machine)")
    assert code == 0, err
    record = json.loads((out / "run_config.json").read_text())
    assert record["backend"] == name
    assert record["tracker_params"]["use_cache"] is not full_forward
    assert (record["onnx_bundle_sha256"] is not None) == with_bundle
    if with_bundle:
        assert not (tmp_path / "cache").exists()  # the given bundle ran, nothing was exported
    search_factor = TrackerSpec(str(eval_checkpoint)).resolved_params().search_factor
    _, reference = torch_reference
    for seq in truth:
        boxes = read_boxes(result_path(out, seq))
        assert boxes.shape == (2, 4) and np.all(np.isfinite(boxes))
        np.testing.assert_array_equal(boxes[0], reference[seq][0])  # the initial box
        crop = math.ceil(math.sqrt(truth[seq][0, 2] * truth[seq][0, 3]) * search_factor)
        allowed = PIXEL_SPREAD * box_tolerance(name) * crop + ROUNDING
        difference = np.abs(boxes[1] - reference[seq][1])
        assert np.all(difference <= allowed), f"{name} {seq}: {difference} > {allowed}"


def test_resume_refuses_another_backend_configuration(eval_checkpoint, two_frame_otb, torch_reference, bundles,
                                                      tmp_path, capsys):
    reference_dir, _ = torch_reference
    root, _ = two_frame_otb
    out = tmp_path / "run"
    assert _eval(capsys, eval_checkpoint, root, out)[0] == 0
    for flags, key in ((["--backend", "onnx", "--onnx-bundle", str(bundles)], "backend"),
                       (["--full-forward"], "use_cache"),
                       (["--precision", "bfloat16"], "precision")):
        code, _, err = _eval(capsys, eval_checkpoint, root, out, *flags)
        assert code == 2 and err.startswith("mixformerv2-eval: error:"), err
        assert "another configuration" in err and key in err
    code, stdout, err = _eval(capsys, eval_checkpoint, root, out)  # the same configuration resumes
    assert code == 0 and f"({len(SEEDS)} from an earlier run)" in stdout, err
    # a bundle of other weights is another configuration too, though backend and flags are the same
    onnx_out = tmp_path / "onnx"
    assert _eval(capsys, eval_checkpoint, root, onnx_out, "--backend", "onnx", "--onnx-bundle", str(bundles))[0] == 0
    other = tmp_path / "other_bundle"
    other.mkdir()
    for item in (bundles / "fp32").iterdir():
        (other / item.name).write_bytes(item.read_bytes())
    manifest = json.loads((other / "manifest.json").read_text())
    (other / "manifest.json").write_text(json.dumps({**manifest, "note": "another export"}))
    code, _, err = _eval(capsys, eval_checkpoint, root, onnx_out, "--backend", "onnx", "--onnx-bundle", str(other))
    assert code == 2 and "onnx_bundle_sha256" in err, err


def _track(capsys, checkpoint, tmp_path, *flags):
    return track_cli.main(["--weights", str(checkpoint), "--input", "synthetic:1", "--max-frames", "2",
                           "--no-progress", *flags])


def _replay(capsys, checkpoint, tmp_path, *flags):
    return replay.main(["--bag", str(tmp_path / "no_bag"), "--out", str(tmp_path / "replay"),
                        "--checkpoint", str(checkpoint), *flags])


def _eval_code(capsys, checkpoint, tmp_path, *flags):
    return eval_cli.main(["--checkpoint", str(checkpoint), "--dataset", "otb", "--root", str(tmp_path / "no_data"),
                          "--out", str(tmp_path / "eval"), *flags])


COMMANDS = {"mixformerv2-track": _track, "mixformerv2-eval": _eval_code, "mixformerv2-replay": _replay}
BAD = [
    pytest.param(["--onnx-bundle", "{bundles}"], "is read by backend onnx, onnx-int8, openvino, not torch",
                 id="bundle-with-torch"),
    pytest.param(["--backend", "onnx", "--onnx-bundle", "{missing}"], "not found (give the folder mixformerv2-export",
                 id="missing-bundle"),
    pytest.param(["--backend", "onnx", "--onnx-bundle", "{empty}"], "holds no bundle (fp32/manifest.json)",
                 id="folder-without-bundle"),
    pytest.param(["--backend", "onnx", "--full-forward"], "always runs the cached template path", id="full-forward-onnx"),
    pytest.param(["--backend", "tensorrt"], "invalid choice: 'tensorrt'", id="unknown-backend"),
    pytest.param(["--threads", "0"], "expects a number >= 1", id="zero-threads"),
]


@pytest.mark.parametrize("prog", sorted(COMMANDS))
@pytest.mark.parametrize("flags, message", BAD)
def test_bad_backend_combinations_fail_alike_in_every_command(prog, flags, message, eval_checkpoint, tmp_path,
                                                              capsys):
    (tmp_path / "empty").mkdir()
    paths = {"bundles": tmp_path / "empty", "missing": tmp_path / "missing", "empty": tmp_path / "empty"}
    flags = [flag.format(**{k: str(v) for k, v in paths.items()}) for flag in flags]
    capsys.readouterr()
    try:
        code = COMMANDS[prog](capsys, eval_checkpoint, tmp_path, *flags)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith(f"{prog}: error:")]
    assert code == 2 and len(lines) == 1 and message in lines[0], err
    assert "Traceback" not in err


def test_the_spec_travels_to_worker_processes_whole(eval_checkpoint, bundles):
    spec = TrackerSpec(str(eval_checkpoint), backend="onnx-int8", bundle=str(bundles), threads=1)
    assert spec.bundle == str(bundles / "int8")  # the folder inside the export's output, resolved once
    again = pickle.loads(pickle.dumps(spec))
    assert again == spec and again.backend_options() == {"threads": 1, "bundle_dir": str(bundles / "int8")}
    sequence = generate_sequence(seed=4, num_frames=2, frame_size=(96, 128))
    tracker = again.build()
    tracker.initialize(sequence.frames[0], tuple(sequence.boxes[0]))
    assert tracker.params.reacquire == "off" and np.all(np.isfinite(tracker.track(sequence.frames[1]).box))


def test_track_and_offline_replay_build_the_same_tracker_from_the_same_flags(eval_checkpoint, bundles, tmp_path):
    """Same backend flags, same boxes. Three frames: a target is lost only after three poor frames, and only then
    do track's re-acquisition and the benchmark's official tracker differ.
    """
    from mixformerv2_ros import bags

    sequence = generate_sequence(seed=6, num_frames=3, frame_size=(96, 128))
    flags = ["--backend", "onnx-int8", "--onnx-bundle", str(bundles), "--threads", "1", "--preset", "default"]
    bags.write_sequence_bag(tmp_path / "bag", sequence.frames, sequence.boxes, fps=30)
    assert replay.main(["--bag", str(tmp_path / "bag"), "--checkpoint", str(eval_checkpoint),
                        "--out", str(tmp_path / "replay"), "--name", "seq", *flags]) == 0
    replayed = read_boxes(tmp_path / "replay" / "seq.txt")
    folder = tmp_path / "frames"
    folder.mkdir()
    for index, frame in enumerate(sequence.frames):
        cv2.imwrite(str(folder / f"{index}.png"), frame[..., ::-1])
    x, y, w, h = sequence.boxes[0]
    assert track_cli.main(["--weights", str(eval_checkpoint), "--input", str(folder), "--init", f"{x},{y},{w},{h}",
                           "--results", str(tmp_path / "track.txt"), "--no-progress", *flags]) == 0
    tracked = read_boxes(tmp_path / "track.txt")
    assert replayed.shape == tracked.shape == (3, 4)
    np.testing.assert_allclose(tracked, replayed, atol=0.011)  # both written with 2 decimals


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_precision_the_backend_lacks_fails_before_the_folder_is_claimed(workers, eval_checkpoint, two_frame_otb,
                                                                           tmp_path, capsys):
    root, _ = two_frame_otb
    out = tmp_path / "run"
    code, _, err = _eval(capsys, eval_checkpoint, root, out, "--precision", "float64", "--workers", workers)
    assert code == 2 and err.startswith("mixformerv2-eval: error:") and "float64" in err, err
    assert "Traceback" not in err and not (out / "run_config.json").exists()
    code, _, err = _eval(capsys, eval_checkpoint, root, out, "--precision", "bfloat16")  # the corrected command
    assert code == 0, err


@pytest.mark.parametrize("flags", [["--backend", "onnx"], ["--full-forward"], ["--threads", "2"]])
def test_live_replay_refuses_backend_flags(flags, tmp_path, capsys):
    code = replay.main(["--live", "--bag", str(tmp_path / "bag"), "--out", str(tmp_path / "out"), *flags])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("mixformerv2-replay: error: live replay tracks with the node's settings"), err
