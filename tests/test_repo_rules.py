"""Rules of the codebase that a reviewer would otherwise check by hand."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 60


def test_no_function_over_60_lines():
    """Every package, benchmark, tool and test keeps its functions short enough to read whole: the shipped
    code, and also what a new engineer runs and changes first (the benchmarks, the emulated phone)."""
    long = []
    for folder in ("mobiledepth", "android_bench", "phone_emulator", "benchmarks", "examples", "tools", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > MAX_FUNCTION_LINES:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []


def _check(tmp_path: Path, *files: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "tools/check_large_files.py"), *files], cwd=tmp_path,
                          capture_output=True, text=True)  # fmt: skip


def test_large_file_check(tmp_path):
    (tmp_path / "models").mkdir()
    weights = tmp_path / "models/net.pt"
    weights.write_bytes(b"\1" * 600 * 1024)
    (tmp_path / "small.txt").write_text("fine")
    refused = _check(tmp_path, "models/net.pt", "small.txt")
    assert refused.returncode == 1
    assert refused.stderr == "models/net.pt: 600 KB over the 500 KB limit (not pinned in models/MANIFEST)\n"
    import hashlib

    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    (tmp_path / "models/MANIFEST").write_text(f"{sha}  net.pt\n")
    assert _check(tmp_path, "models/net.pt").returncode == 0  # the pinned copy passes
    weights.write_bytes(b"\2" * 600 * 1024)  # a retrained copy committed over it does not
    assert _check(tmp_path, "models/net.pt").stderr.endswith("(its sha256 differs from models/MANIFEST)\n")


def test_tracked_files_pass_the_large_file_check():
    result = subprocess.run([sys.executable, "tools/check_large_files.py"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "command, flag, expected",
    [("bench", "--threads", "[default: host 2, phones 4]"), ("bench", "--rounds", "[default: host 20, phones 10]"),
     ("prune", "--max-proposals", "[default: 8]"), ("prune", "--margin", "[default: 0.03]"),
     ("convert", "--precision", "[default: fp32,fp16,int8]"),
     ("convert", "--size", "[default: the model's declared size, else 256x256]"),
     ("convert", "--n-calib", "[default: 32]"),
     ("convert", "--gate-limit", "[default: depth 0.005, disparity 0.005, mask 0.9, generic 20]"),
     ("convert", "--task", "[default: depth]"),
     ("eval", "--split", "[default: test]"), ("eval", "--resize", "[default: torch7]"),
     ("predict", "--size", "[default: the model's declared size, else 256x256]"),
     ("profile", "--runs", "[default: host 30, phones 50]"),
     ("profile", "--threads", "[default: host 2, phones 4]"), ("devices", "--adb-port", "[default: 5037]"),
     ("data synth", "--n", "[default: 64]"), ("data synth", "--size", "[default: 192x256]")],
)  # fmt: skip
def test_cli_help_shows_the_library_defaults(command, flag, expected):
    """The CLI states no default of its own: the help text is read from the option dataclasses."""
    from typer.testing import CliRunner

    from mobiledepth.cli import app

    out = CliRunner().invoke(app, [*command.split(), "--help"], env={"COLUMNS": "300"}).output
    line = next(line for line in out.splitlines() if f" {flag} " in line)
    assert expected in line


def test_cli_writes_no_default_into_help_text():
    """A literal '[default: X]' in a help string is a second copy of a library default, and rich takes the
    unescaped brackets for markup and prints nothing: `convert --help` showed no defaults that way."""
    import re

    import typer

    from mobiledepth.cli import app

    def helps(command, path):
        for param in command.params:
            yield f"{path} {param.name}", getattr(param, "help", None) or ""
        for name, sub in getattr(command, "commands", {}).items():
            yield from helps(sub, f"{path} {name}")

    found = list(helps(typer.main.get_command(app), "mobiledepth"))
    assert len(found) > 100  # every flag of every command was read
    assert [where for where, text in found if re.search(r"(?<!\\)\[default:", text)] == []


def test_readme_layout_names_every_module():
    """The README's layout table is the map a new engineer reads first: every module and subpackage of the
    shipped packages appears in it, and every path it names exists."""
    import re

    text = (ROOT / "README.md").read_text()
    table = text[text.index("## Layout") :].split("\n## ")[0]
    named = set(re.findall(r"`([\w./-]+)`", table))
    missing = []
    for child in sorted((ROOT / "mobiledepth").iterdir()):
        if child.name.startswith("__") or child.suffix not in (".py", ""):
            continue
        name = child.name + ("/" if child.is_dir() else "")
        if not any(n == f"mobiledepth/{name}" or n == name for n in named):
            missing.append(name)
    assert missing == []
    for path in (n.rstrip("/") for n in named if "/" in n and not n.startswith(".")):
        assert (ROOT / path).exists() or (ROOT / "mobiledepth" / path).exists(), path


SCRIPTS = sorted(str(p.relative_to(ROOT)) for d in ("benchmarks", "examples") for p in (ROOT / d).glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_start(script):
    """Each benchmark and example starts as `make bench` starts a benchmark (a script, PYTHONPATH at the repo
    root): every name it imports from the library still exists. Their runs are measurements, made by hand."""
    import os

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: ")


@pytest.mark.slow
def test_make_bench_commands_start():
    """The commands `make bench` runs, with their environment, each start (``--help`` for ``--out FILE``): a
    script that needs a package the editable install does not map (the emulated phone) fails here."""
    import re

    planned = subprocess.run(["make", "-n", "bench"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    commands = [line for line in planned.splitlines() if "benchmarks/" in line]
    assert len(commands) == 5  # host_latency, harness_overhead, train_throughput, int8_op_speed, fleet_scaling
    for command in commands:
        done = subprocess.run(re.sub(r"--out \S+", "--help", command), shell=True, cwd=ROOT, capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, f"{command}: {done.stderr}"


def _import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports, module-level and function-local alike (imports under
    ``if TYPE_CHECKING:`` never run and are left out)."""
    modules = {}
    for pkg in ("mobiledepth", "android_bench", "phone_emulator"):
        for path in (ROOT / pkg).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(
            node.test) for n in ast.walk(node)}  # fmt: skip
        base = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in skipped or not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                root = ".".join(base.split(".")[: len(base.split(".")) - node.level + 1]) if node.level else ""
                target = ".".join(p for p in (root, node.module or "") if p)
                targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target for a in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def test_no_import_circle_anywhere():
    """No module imports one that (directly or through others) imports it, counting imports inside functions:
    a circle hidden in a function body still decides what can load first, and reads as tangled code."""
    graph = _import_graph()
    assert len(graph) > 100
    circles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                circles.append(" -> ".join(path[path.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert circles == []


def test_every_module_imports():
    """`make test-fast` touches every module: each one of the shipped packages imports on its own (a module
    only the slow tests reach still has its imports checked here)."""
    import importlib
    import pkgutil

    import android_bench
    import mobiledepth

    failed = []
    for package in (mobiledepth, android_bench):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if info.name.endswith("__main__"):
                continue
            try:
                importlib.import_module(info.name)
            except Exception as exc:  # noqa: BLE001  (the report names every module that fails, and why)
                failed.append(f"{info.name}: {exc.__class__.__name__}: {exc}")
    assert failed == []
