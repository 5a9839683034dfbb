"""The house's counts, from the files (AST): what issue 32 measured, re-measured on any checkout.

    python tools/house_counts.py [ROOT]      # default: this repository

- record fields typed ``Any`` or a bare ``dict`` (in the record modules; typed maps like ``dict[str, int]`` are
  typed all the way down);
- dataclasses, and fields typed ``Any``/bare ``dict`` in any dataclass of the package;
- ``["key"]`` subscripts with a string constant and ``.get("...")`` calls in the package;
- literal restatements of the house defaults (256x256 input, threads 2, warm-up 5, adb 5037);
- the README's line count.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

RECORD_MODULES = ("records", "records.py")


def _is_dict_or_any(annotation: ast.expr | None) -> bool:
    """Untyped: ``Any`` anywhere in it, or a bare ``dict`` (a typed map such as ``dict[str, int]`` is typed)."""
    text = ast.unparse(annotation) if annotation is not None else ""
    return "Any" in text or text in ("dict", "Dict")


def _dataclass_fields(tree: ast.AST) -> list[tuple[str, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any("dataclass" in ast.unparse(d) for d in node.decorator_list):
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    out.append((f"{node.name}.{item.target.id}", ast.unparse(item.annotation)))
    return out


def _restated(tree: ast.AST) -> int:
    """Literal (256, 256), threads=2, warmup=5 and 5037 outside the modules that define them."""
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple) and [ast.unparse(e) for e in node.elts] == ["256", "256"]:
            count += 1
        elif isinstance(node, ast.keyword) and node.arg in ("threads", "warmup", "warmup_runs"):
            count += ast.unparse(node.value) in ("2", "5")
        elif isinstance(node, ast.Constant) and node.value == 5037:
            count += 1
    return count


def counts(root: Path) -> dict[str, int]:
    package = root / "mobiledepth"
    result = {"dataclasses": 0, "dict_or_any_fields": 0, "record_dict_or_any_fields": 0, "key_subscripts": 0,
              "get_calls": 0, "restated_default_literals": 0}  # fmt: skip
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text())
        fields = _dataclass_fields(tree)
        result["dataclasses"] += sum(
            isinstance(n, ast.ClassDef) and any("dataclass" in ast.unparse(d) for d in n.decorator_list)
            for n in ast.walk(tree)
        )
        loose = [f for f, a in fields if _is_dict_or_any(ast.parse(a, mode="eval").body)]
        result["dict_or_any_fields"] += len(loose)
        if any(part in RECORD_MODULES for part in path.relative_to(package).parts):
            result["record_dict_or_any_fields"] += len(loose)
        for node in ast.walk(tree):
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                result["key_subscripts"] += isinstance(node.slice.value, str)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
                result["get_calls"] += bool(node.args) and isinstance(node.args[0], ast.Constant)
        result["restated_default_literals"] += _restated(tree)
    readme = root / "README.md"
    result["readme_lines"] = len(readme.read_text().splitlines()) if readme.is_file() else 0
    return result


if __name__ == "__main__":
    print(json.dumps(counts(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]), indent=2))
