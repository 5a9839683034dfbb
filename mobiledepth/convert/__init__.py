"""PyTorch -> ONNX -> TFLite conversion with a parity report for every written file."""

from .pipeline import ConvertOptions, ConvertReport, convert_checkpoint, parse_precisions

__all__ = ["ConvertOptions", "ConvertReport", "convert_checkpoint", "parse_precisions"]
