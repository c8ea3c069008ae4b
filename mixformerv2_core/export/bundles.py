"""ONNX bundles from a weights file or a model: the library function behind every command that writes them."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

from ..checkpoint import model_from_checkpoint, read_checkpoint
from ..errors import MissingDependencyError
from ..models import MixFormerV2
from .onnx_export import FP32_TOLERANCE, MIN_OPSET, ExportReport, export_bundle


def write_onnx_bundles(source: Union[str, Path, MixFormerV2], output: Path, variant: Optional[str] = None,
                       int8: bool = False, opset: int = MIN_OPSET, check: bool = True,
                       int8_recipe: Optional[str] = None) -> list[ExportReport]:
    """fp32 bundle in ``output/fp32`` (and INT8 in ``output/int8``); fp32 must agree with PyTorch to 1e-4.

    ``int8_recipe``: one of ``export.quantize.INT8_RECIPES``, or ``None`` / ``"auto"`` for the one this CPU
    wants (full 8-bit weights with VNNI, 7-bit without); the INT8 manifest records it.

    ``source`` is a weights file (read and validated like everywhere else) or a model already in memory.
    """
    _require_onnx()
    if int8:
        from .quantize import resolve_recipe

        int8_recipe = resolve_recipe(int8_recipe)  # a bad name fails before the fp32 export
    if isinstance(source, MixFormerV2):
        model, meta = source, {"source": "model"}
    else:
        checkpoint = read_checkpoint(source, variant)
        model, meta = model_from_checkpoint(checkpoint), {"weights": str(source), "source": checkpoint.source}
    batches = (1, 3) if check else ()
    output = Path(output)
    reports = [export_bundle(model, output / "fp32", opset=opset, check_batches=batches,
                             tolerance=FP32_TOLERANCE if check else None, meta=meta)]
    if int8:
        from .quantize import export_int8_bundle

        reports.append(export_int8_bundle(model, output / "fp32", output / "int8", check_batches=batches,
                                          recipe=int8_recipe))
    return reports


def _require_onnx() -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as error:
        raise MissingDependencyError(f"ONNX export needs onnx and onnxruntime ({error}); "
                                     "pip install -r requirements/onnx.txt") from None
