"""Deployment exports: the cached path as two ONNX graphs, INT8 variants, and their checks against PyTorch."""
from .bundles import write_onnx_bundles
from .graphs import SearchStepGraph, TemplateEncoderGraph, example_inputs
from .onnx_export import (ENCODER_FILE, FP32_TOLERANCE, MIN_OPSET, SEARCH_FILE, ExportReport, compare_with_torch,
                          export_bundle, read_manifest)

__all__ = ["ENCODER_FILE", "ExportReport", "FP32_TOLERANCE", "MIN_OPSET", "SEARCH_FILE", "SearchStepGraph",
           "TemplateEncoderGraph", "compare_with_torch", "example_inputs", "export_bundle", "read_manifest",
           "write_onnx_bundles"]
