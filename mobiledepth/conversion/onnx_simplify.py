"""onnx-simplifier's three passes in one child process, run before onnx2tf.

onnx2tf runs the ``onnxsim`` command three times in a row, and each command imports onnx-simplifier afresh
(1.5-3 s each): on our model that was more than half of a conversion (16 s of which 9 s were onnxsim). The
runner starts ``python onnx_simplify.py MODEL.onnx`` once (by path: it imports nothing of ours), which runs
the same three passes in one process and rewrites the file, then onnx2tf with ``--not_use_onnxsim``; the files
onnx2tf writes are byte-identical (fp32, fp16 and int8 files of our model compared). A child process, not
the caller's: onnx-simplifier runs native libraries that can crash on an unusual model, which must not take
``mobiledepth convert`` down. A pass that fails leaves the model as the last good pass left it, as onnx2tf
did (it warned and converted the model unsimplified).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PASSES = 3  # onnx2tf's own count: "to fully optimize the model, run onnxsim three times in a row"


def simplify_in_place(path: Path) -> str:
    """The passes on ``path``; the file is replaced only by a model that every finished pass produced."""
    import onnx
    import onnxsim

    model = onnx.load(str(path))
    done = 0
    for _ in range(PASSES):
        try:
            model, _ = onnxsim.simplify(model)
        except Exception as exc:  # onnx2tf's rule: a failed simplification converts the model as it is
            return f"onnxsim pass {done + 1} failed ({type(exc).__name__}: {exc}); kept {done} pass(es)"
        done += 1
        scratch = path.with_name(path.name + ".simplified")
        try:
            onnx.save(model, str(scratch))
            os.replace(scratch, path)
        except (OSError, ValueError) as exc:  # over 2 GB: protobuf cannot serialise it in one piece
            scratch.unlink(missing_ok=True)
            return f"onnxsim pass {done} not saved ({type(exc).__name__}: {exc}); kept {done - 1} pass(es)"
    return f"onnxsim: {PASSES} passes"


def main(argv: list[str]) -> int:
    print(simplify_in_place(Path(argv[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
