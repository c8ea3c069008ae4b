"""Training-only networks (the MixViT teacher); the student is the core's :class:`~mixformerv2_core.MixFormerV2`."""
from .corner_head import CornerHead
from .teacher import MixViT, TeacherConfig, build_teacher, load_teacher, save_teacher

__all__ = ["CornerHead", "MixViT", "TeacherConfig", "build_teacher", "load_teacher", "save_teacher"]
