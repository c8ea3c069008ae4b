"""Training toolkit for MixFormerV2: data pipeline, MixViT teacher, losses, distillation stages, trainer.

Depends on :mod:`mixformerv2_core` (one model definition for training, inference and export); the core
never imports this package.
"""
__all__: list[str] = []
