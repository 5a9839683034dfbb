"""PyTorch -> ONNX -> TFLite conversion with a parity report for every written file.

Names are imported on first use, so ``mobiledepth.convert.options`` (the defaults the CLI's help shows)
loads without torch or onnx2tf.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ConvertOptions", "ConvertReport", "convert_checkpoint", "parse_precisions"]
_HOME = {"ConvertOptions": ".options", "ConvertReport": ".pipeline", "convert_checkpoint": ".pipeline",
         "parse_precisions": ".precisions"}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name], __name__), name)


from .._api import make_callable  # noqa: E402

make_callable(__name__)  # mobiledepth.convert(...) is the API function too
