"""The MixViT teacher: official key layout, strict loading of official-style files, outputs."""
import pytest
import torch

from mixformerv2_core import CheckpointError, ModelConfig, build_model
from mixformerv2_training.models import MixViT, TeacherConfig, build_teacher, load_teacher, save_teacher
from mixformerv2_training.models.teacher import infer_teacher_config

TINY = TeacherConfig(embed_dim=64, depth=2, num_heads=1, mlp_ratio=2.0, template_size=32, search_size=64,
                     head_channel=64, drop_path_rate=0.0)


def _shapes(config):
    with torch.device("meta"):
        model = MixViT(config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def test_mixvit_b_layout_matches_the_official_teacher():
    shapes = _shapes(TeacherConfig())
    assert shapes["backbone.cls_token"] == (1, 1, 768)
    assert shapes["backbone.pos_embed"] == (1, 197, 768)
    assert shapes["backbone.head.weight"] == (1000, 768) and "backbone.norm.weight" in shapes
    assert shapes["backbone.pos_embed_t"] == (1, 64, 768) and shapes["backbone.pos_embed_s"] == (1, 324, 768)
    assert sum(k.startswith("backbone.blocks.") and k.endswith("attn.qkv.weight") for k in shapes) == 12
    for corner in ("tl", "br"):
        assert shapes[f"box_head.conv1_{corner}.0.weight"] == (384, 768, 3, 3)
        assert shapes[f"box_head.conv2_{corner}.0.weight"] == (192, 384, 3, 3)
        assert shapes[f"box_head.conv3_{corner}.0.weight"] == (96, 192, 3, 3)
        assert shapes[f"box_head.conv4_{corner}.0.weight"] == (48, 96, 3, 3)
        assert shapes[f"box_head.conv5_{corner}.weight"] == (1, 48, 1, 1)
        assert shapes[f"box_head.adjust1_{corner}.0.weight"] == (192, 768, 3, 3)
        assert shapes[f"box_head.adjust2_{corner}.0.weight"] == (96, 768, 3, 3)
        assert shapes[f"box_head.adjust3_{corner}.2.0.weight"] == (1, 48, 3, 3)
        assert shapes[f"box_head.adjust4_{corner}.1.1.running_var"] == (1,)
    assert TeacherConfig().heatmap_size == 72
    plain = _shapes(TeacherConfig(head_type="corner"))
    assert not any("adjust" in k for k in plain) and TeacherConfig(head_type="corner").heatmap_size == 18


@pytest.mark.parametrize("head_type", ["corner", "corner_up"])
def test_outputs_are_distributions_and_boxes(head_type):
    torch.manual_seed(0)
    model = build_teacher(TINY.__class__(**{**TINY.to_dict(), "head_type": head_type})).eval()
    t, s = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 64, 64)
    out = model(t, t, s)
    cells = model.config.heatmap_size ** 2
    assert out["prob_tl"].shape == (2, cells)
    assert torch.allclose(out["prob_tl"].sum(-1), torch.ones(2), atol=1e-5)
    assert out["pred_boxes"].shape == (2, 1, 4)
    assert len(out["distill_feat_list"]) == 2


def test_official_style_file_loads_strictly_and_round_trips(tmp_path):
    torch.manual_seed(0)
    model = build_teacher(TINY).eval()
    official = {"net": {"module." + k: v for k, v in model.state_dict().items()}, "epoch": 500}
    torch.save(official, tmp_path / "MixFormer_ep0500.pth.tar")
    loaded = load_teacher(tmp_path / "MixFormer_ep0500.pth.tar")
    assert infer_teacher_config(model.state_dict()) == TINY.__class__(**{**TINY.to_dict(), "drop_path_rate": 0.1})
    t, s = torch.randn(1, 3, 32, 32), torch.randn(1, 3, 64, 64)
    assert torch.allclose(loaded.eval()(t, t, s)["pred_boxes"], model(t, t, s)["pred_boxes"])
    save_teacher(model, tmp_path / "ours.pt")
    assert torch.equal(load_teacher(tmp_path / "ours.pt").state_dict()["box_head.conv5_br.weight"],
                       model.state_dict()["box_head.conv5_br.weight"])


def test_wrong_files_give_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_teacher(tmp_path / "missing.pth.tar")
    student = build_model(ModelConfig.tiny())
    torch.save({"net": student.state_dict()}, tmp_path / "student.pth.tar")
    with pytest.raises(CheckpointError, match="MixFormerV2 student"):
        load_teacher(tmp_path / "student.pth.tar")
    broken = build_teacher(TINY).state_dict()
    broken.pop("box_head.conv5_tl.bias")
    torch.save({"net": broken}, tmp_path / "partial.pth.tar")
    with pytest.raises(CheckpointError, match="conv5_tl.bias"):
        load_teacher(tmp_path / "partial.pth.tar")


def test_the_core_tracker_runs_a_teacher_on_the_shared_full_forward():
    """The teacher is tracked through the core's PyTorch backend (no own backend, no made-up ModelConfig)."""
    import numpy as np

    from mixformerv2_core.backends import TorchBackend
    from mixformerv2_core.config import CropSpec, GENERIC_TRACKING
    from mixformerv2_core.synthetic import generate_sequence
    from mixformerv2_training.synthetic_eval import teacher_backend, teacher_tracker

    torch.manual_seed(0)
    teacher = build_teacher(TINY).eval()
    backend = teacher_backend(teacher)
    assert isinstance(backend, TorchBackend) and backend.crop_spec == CropSpec(16, 32, 64)
    rng = np.random.default_rng(0)
    template, online = (rng.standard_normal((3, 32, 32)).astype(np.float32) for _ in range(2))
    search = rng.standard_normal((2, 3, 64, 64)).astype(np.float32)
    backend.set_templates("a", template, online)
    backend.set_templates("b", online, template)
    out = backend.infer(["a", "b"], search)
    with torch.no_grad():
        expected = teacher(torch.from_numpy(np.stack([template, online])), torch.from_numpy(np.stack([online, template])),
                           torch.from_numpy(search))["pred_boxes"][:, 0].numpy()
    np.testing.assert_allclose(out.pred_boxes, expected, rtol=0, atol=1e-6)
    assert np.isinf(out.score_logits).all()  # no score head: every frame counts as confident
    with pytest.raises(ValueError, match="use_cache=False"):
        TorchBackend(teacher)  # the cached path needs a MixFormerV2
    tracker = teacher_tracker(teacher)
    assert tracker.params.search_factor == GENERIC_TRACKING.search_factor  # tiny crops: the generic row
    sequence = generate_sequence(seed=1, num_frames=3, frame_size=(96, 128))
    tracker.initialize(sequence.frames[0], tuple(sequence.boxes[0]))
    assert all(np.isfinite(tracker.track(frame).box).all() for frame in sequence.frames[1:])


def test_synthetic_eval_command_fails_as_every_command(capsys, tmp_path):
    from mixformerv2_training import synthetic_eval

    assert synthetic_eval.main(["--weights", str(tmp_path / "missing.pt")]) == 2
    assert capsys.readouterr().err.startswith("python -m mixformerv2_training.synthetic_eval: error: ")
    bad = tmp_path / "teacher.pt"
    bad.write_bytes(b"not a checkpoint")
    assert synthetic_eval.main(["--weights", str(bad), "--teacher", "--sequences", "1"]) == 2
    assert "Traceback" not in capsys.readouterr().err
