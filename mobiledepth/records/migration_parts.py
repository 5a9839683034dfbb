"""What the schema migrations share: the raw form of a record before decoding, and two readers of it."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]  # a record as read from disk, before decoding: the one place records are untyped
IDENTITY_PREPROCESS = {"mean": [0.0] * 3, "std": [1.0] * 3, "pixel_scale": 1.0}


def pick(block: Any, keys: tuple[str, ...]) -> Any:
    """The known keys of a block; anything not a block (missing, mistyped) is passed on for the decoder to name."""
    return {k: block[k] for k in keys if k in block} if isinstance(block, dict) else block


def tool(item: Json) -> Json:
    tool = item.get("tool") or {}
    return {"name": tool.get("name", "mobiledepth"), "version": str(tool.get("version") or tool.get("harness") or "")}
