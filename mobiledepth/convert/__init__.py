"""PyTorch -> ONNX -> TFLite conversion with a parity report for every written file."""

from .pipeline import ConvertOptions, ConvertReport, convert_checkpoint, parse_precisions

__all__ = ["ConvertOptions", "ConvertReport", "convert_checkpoint", "parse_precisions"]

from .._api import make_callable  # noqa: E402

make_callable(__name__)  # mobiledepth.convert(...) is the API function too
