"""Which network module a profiled node came from, recovered from its exported name (the rows themselves
are :class:`~mobiledepth.records.profiling.LayerTime`)."""

from __future__ import annotations

import re


def module_of(node_name: str) -> str:
    """The PyTorch module path inside an exported node name, or '' when the name carries none.

    Exported names are ``/module/path/Op`` (ONNX; after ONNX Runtime's fusions also
    ``.../Clip_output_0_nchwc``: a fused node is named after its last op) or ``.../Op;other names``
    (TFLite): the module is every segment but the last, before any ``;`` or ``:``.
    """
    head = re.split(r"[;:]", node_name, maxsplit=1)[0]
    parts = [p for p in head.split("/") if p]
    return ".".join(parts[:-1])
