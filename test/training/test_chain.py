"""``mixformerv2-train --chain``: the route read from the presets, run as one command that continues where it
was cut short.
"""
import pytest
import yaml

from mixformerv2_training import chain, config
from mixformerv2_training.chain import plan_chain
from mixformerv2_training.cli import main

from .test_presets import ROUTES

# One step per stage on a few small batches: what is tested is the chaining, not the learning.
ONE_STEP = ["train.max_steps=1", "data.samples_per_epoch=8", "data.batch_size=4", "data.num_workers=0",
            "train.log_interval=1"]


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_the_chain_of_a_routes_last_preset_is_that_route(route):
    assert [stage.name for stage in plan_chain(ROUTES[route][-1])] == ROUTES[route]


def test_with_a_root_each_stage_writes_there_and_reads_its_inputs_from_there(tmp_path):
    stages = {stage.name: stage for stage in plan_chain("real_score", ["train.epochs=1"], tmp_path)}
    assert all(stage.run_dir == tmp_path / name for name, stage in stages.items())
    assert all(stage.config["train"]["epochs"] == 1 for stage in stages.values())
    lookalikes = stages["real_lookalikes"].config
    assert lookalikes["init"]["checkpoint"] == str(tmp_path / "real_dense_to_sparse" / "final.pt")
    assert lookalikes["teacher"]["checkpoint"] == str(tmp_path / "real_teacher_scale" / "final.pt")
    assert stages["real_score"].config["teacher"]["checkpoint"] is None
    assert stages["real_teacher"].config["init"]["checkpoint"] is None


def test_presets_that_read_each_other_are_refused(tmp_path, monkeypatch):
    for name, other in (("first", "second"), ("second", "first")):
        preset = {"stage": "score", "output_dir": f"runs/{name}", "init": {"checkpoint": f"runs/{other}/final.pt"}}
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(preset))
    monkeypatch.setattr(chain, "PRESET_DIR", tmp_path)
    monkeypatch.setattr(config, "PRESET_DIR", tmp_path)
    with pytest.raises(ValueError, match="cycle: first -> second -> first"):
        plan_chain("first")


def test_the_demo_route_runs_as_one_command_and_continues_where_it_was_cut_short(tmp_path, capsys):
    command = ["--config", "demo_score", "--chain", "--output-dir", str(tmp_path), "--threads", "1", *ONE_STEP]
    assert main(command) == 0
    finals = {name: tmp_path / name / "final.pt" for name in ROUTES["demo"]}
    assert all(path.is_file() for path in finals.values())
    student = yaml.safe_load((tmp_path / "demo_dense_to_sparse" / "config.yaml").read_text())
    assert student["teacher"]["checkpoint"] == str(finals["demo_teacher"])

    finals["demo_score"].unlink()  # the last stage cut short: its training state is there, its result is not
    written = {name: path.stat().st_mtime_ns for name, path in finals.items() if path.is_file()}
    capsys.readouterr()
    assert main(command) == 0
    out = capsys.readouterr().out
    assert out.count("exists, skipped") == 2 and "demo_score: resuming" in out
    assert finals["demo_score"].is_file()
    assert all(finals[name].stat().st_mtime_ns == stamp for name, stamp in written.items())


def test_chain_with_resume_is_refused(tmp_path, capsys):
    assert main(["--config", "demo_score", "--chain", "--resume", "--output-dir", str(tmp_path)]) == 2
    assert "drop --resume" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("override", ["output_dir=runs/x", "init.checkpoint=a.pt", "teacher.checkpoint=b.pt"])
def test_a_setting_the_chain_makes_per_stage_cannot_be_given_to_all(override):
    with pytest.raises(ValueError, match="same one"):
        plan_chain("real_score", [override])


def test_chain_under_torchrun_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["--config", "demo_score", "--chain", "--output-dir", str(tmp_path)]) == 2
    assert "one stage per command" in capsys.readouterr().err
