"""The shipped presets form the paper's routes: each stage reads the previous stage's result, the shapes fit
from stage to stage, and each route ends in the released architecture.
"""
import dataclasses
from pathlib import PurePosixPath

import pytest

from mixformerv2_core import VARIANTS, load_model
from mixformerv2_core.cli.track import DEMO_WEIGHTS
from mixformerv2_training.config import PRESET_DIR, load_config
from mixformerv2_training.models.teacher import TeacherConfig
from mixformerv2_training.stages import student_config

ROUTES = {
    "B": ["dense_to_sparse_b", "deep_to_shallow_b", "score_b"],
    "demo": ["demo_teacher", "demo_dense_to_sparse", "demo_score"],
    "real": ["real_teacher", "real_teacher_scale", "real_dense_to_sparse", "real_lookalikes", "real_score"],  # issue #16's trial: the wide96 size on real imagery
    "mixed": ["mixed_teacher", "mixed_dense_to_sparse", "mixed_score"],  # issue #16's trial: demo size, generated + real
    "tiny": ["tiny_teacher", "tiny_dense_to_sparse", "tiny_deep_to_shallow", "tiny_mlp_reduction", "tiny_score"],
    "S": ["teacher_mixvit_b224", "dense_to_sparse_s", "deep_to_shallow_s12to8", "deep_to_shallow_s",
          "mlp_reduction_s", "score_s"],
}


def _expected_final(route: str):
    if route in ("demo", "mixed"):  # the route that made the shipped demo weights, and its mixed-data twin
        return load_model(str(DEMO_WEIGHTS)).config
    if route == "real":  # the `wide96` size of benchmarks/model_sizes.py, with the score head
        return dataclasses.replace(load_model(str(DEMO_WEIGHTS)).config, embed_dim=96, template_size=48,
                                   search_size=96, feat_sz=24, head_hidden_dim=96)
    if route == "tiny":
        return dataclasses.replace(student_config(load_config("tiny_dense_to_sparse")["model"]), depth=2, mlp_ratio=1.0,
                                   score_head=True)
    return VARIANTS[route]


def _result_of(config) -> str:
    return str(PurePosixPath(config["output_dir"]) / "final.pt")


def _architecture(config):
    """What a stage hands on: the student after its eliminated blocks are removed."""
    model = student_config(config["model"])
    removed = config["train"]["remove_layers"] if config["stage"] == "deep_to_shallow" else []
    return dataclasses.replace(model, depth=model.depth - len(removed))


@pytest.mark.parametrize("variant", sorted(ROUTES))
def test_each_route_chains_its_stages_and_ends_in_the_released_architecture(variant):
    configs = [load_config(name) for name in ROUTES[variant]]
    previous = None
    for name, config in zip(ROUTES[variant], configs):
        if previous is not None:
            source = _result_of(previous)
            if config["stage"] == "dense_to_sparse" and previous["stage"] == "dense_to_sparse":  # a continuation
                assert config["init"]["checkpoint"] == source, name
                assert config["teacher"]["checkpoint"] == previous["teacher"]["checkpoint"], name
            elif config["stage"] == "dense_to_sparse":  # the MixViT teacher teaches; the student starts from MAE
                assert previous["stage"] == "teacher" and config["teacher"]["checkpoint"] == source, name
            else:
                assert config["init"]["checkpoint"] == source, name
            if config["stage"] == "deep_to_shallow":
                assert config["teacher"]["checkpoint"] == source, name
        if config["stage"] == "dense_to_sparse" and previous is not None:
            teacher = TeacherConfig.from_dict((previous if previous["stage"] == "teacher" else config)["teacher_model"])
            student = student_config(config["model"])
            assert (teacher.template_size, teacher.search_size) == (student.template_size, student.search_size)
        if config["stage"] in ("deep_to_shallow", "score") and previous["stage"] != "teacher":
            handed_on, student = _architecture(previous), student_config(config["model"])
            # only the MLP may shrink between stages; the score stage adds the score head
            assert dataclasses.replace(handed_on, mlp_ratio=student.mlp_ratio, score_head=student.score_head) == student, name
            assert student.mlp_ratio <= handed_on.mlp_ratio
        if config["stage"] == "deep_to_shallow":
            depth = student_config(config["model"]).depth
            teacher_depth = _architecture(previous).depth
            assert all(0 <= s < depth and 0 <= t < teacher_depth for s, t in config["train"]["feature_pairs"]), name
        previous = config
    final = student_config(configs[-1]["model"])
    assert final == _expected_final(variant)
    assert configs[-1]["stage"] == "score"


def test_every_shipped_preset_loads():
    names = sorted(path.stem for path in PRESET_DIR.glob("*.yaml"))
    assert {name for route in ROUTES.values() for name in route} <= set(names)
    for name in names:
        assert load_config(name)["stage"]


def test_a_preset_names_a_base_and_overrides_only_what_differs(tmp_path):
    child = tmp_path / "child.yaml"
    child.write_text("base: deep_to_shallow_b\nmodel: {variant: S, depth: 8, mlp_ratio: 4.0}\ntrain: {epochs: 3}\n")
    config, base = load_config(str(child)), load_config("deep_to_shallow_b")
    assert config["model"] == {"variant": "S", "depth": 8, "mlp_ratio": 4.0}  # replaced, not merged
    assert config["train"]["epochs"] == 3 and config["train"]["remove_layers"] == base["train"]["remove_layers"]
    assert config["data"] == base["data"]
    loop = tmp_path / "loop.yaml"
    loop.write_text(f"base: {loop}\n")
    with pytest.raises(ValueError, match="cycle"):
        load_config(str(loop))


def test_an_override_reaches_into_a_list_by_index_and_names_the_valid_ones():
    base = load_config("real_teacher")
    config = load_config("real_teacher", ["data.datasets.0.cache_size=7",
                                          "data.datasets.1.scene_options.blur_prob=0.5",
                                          "data.datasets.0.scene_options.object_prob=0.5"])
    first, second = config["data"]["datasets"][:2]
    assert first == {**base["data"]["datasets"][0], "cache_size": 7,  # a new option is the dataset's own
                     "scene_options": {**base["data"]["datasets"][0]["scene_options"], "object_prob": 0.5}}
    assert second["scene_options"] == {**base["data"]["datasets"][1]["scene_options"], "blur_prob": 0.5}
    assert config["data"]["datasets"][2:] == base["data"]["datasets"][2:]
    for wrong in ("data.datasets.3.cache_size=1", "data.datasets.first.cache_size=1"):
        with pytest.raises(ValueError, match=r"list of 3: index it as data\.datasets\.N with N from 0 to 2"):
            load_config("real_teacher", [wrong])


def test_s_route_crops_at_the_s_factor_and_stores_no_factor_of_its_own(tmp_path):
    """The -S route samples training crops at -S's 4.5 and leaves the tracker at -S's 4.4 (variant table)."""
    from mixformerv2_core import build_model
    from mixformerv2_core.config import VARIANTS
    from mixformerv2_training.config import load_config, training_crop_factors
    from mixformerv2_training.export import export_student

    for name in ("dense_to_sparse_s", "deep_to_shallow_s12to8", "mlp_reduction_s", "score_s"):
        config = load_config(name)
        assert training_crop_factors(config["data"], 16, 112, 224) == {"template_factor": 2.0, "search_factor": 4.5}
        assert config["train"]["tracker_search_factor"] is None
    config = load_config("dense_to_sparse_b")
    assert training_crop_factors(config["data"], 16, 128, 288)["search_factor"] == 5.0
    exported = export_student(load_config("score_s"), build_model(VARIANTS["S"]), epoch=1)
    assert exported.tracker_defaults == {}
    tiny = load_config("tiny_dense_to_sparse")
    assert training_crop_factors(tiny["data"], 8, 32, 64)["search_factor"] == 4.0
