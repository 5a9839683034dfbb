"""Shared fixtures: small synthetic data on disk and a seeded checkpoint of non-default widths."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """The bundled sample set renders into a per-session cache, never the user's."""
    if "MOBILEDEPTH_CACHE" not in os.environ:
        os.environ["MOBILEDEPTH_CACHE"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session", autouse=True)
def _every_json_written_is_strict(tmp_path_factory):
    """After the session: every JSON file any test's commands wrote parses with NaN and infinity refused (the
    writers' contract), except inputs a test wrote to be hostile (named ``hostile_input*``)."""
    yield
    offenders = []
    shared = list(_shared_root(tmp_path_factory).glob("shared-*/**/*.json"))
    for path in [*tmp_path_factory.getbasetemp().rglob("*.json"), *shared]:
        if path.name.startswith("hostile_input") or not path.is_file():
            continue
        try:
            text = path.read_text()
            json.loads(text)  # garbage a test wrote on purpose (truncated, not JSON) is not a writer's output
        except (OSError, ValueError):
            continue
        try:
            json.loads(text, parse_constant=_refuse)
        except ValueError as exc:
            offenders.append(f"{path}: {exc}")
    assert offenders == [], offenders


def _refuse(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _shared_root(tmp_path_factory) -> Path:
    """The folder every pytest-xdist worker of this run sees (each worker's own base folder lies in it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _built_once(tmp_path_factory, name: str, build):
    """A session fixture built once for all pytest-xdist workers, not once per worker (each has a session of
    its own): the first to arrive builds ``build(folder)`` under a lock, the others wait and reuse its folder
    and its value (kept pickled beside it). The builds are seeded, so which worker builds does not matter."""
    from mobiledepth.locks import FolderLock

    root = _shared_root(tmp_path_factory)
    folder, value = root / f"shared-{name}", root / f"shared-{name}.pickle"
    with FolderLock(root, f"test fixture {name}", wait=True):  # fixtures never nest here: pytest built their inputs
        if not value.is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            value.write_bytes(pickle.dumps(build(folder)))
        return pickle.loads(value.read_bytes())


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    from mobiledepth.data.synth import SynthOptions, write_synth_dataset

    options = SynthOptions(n=20, height=96, width=128, pairs_per_image=15, seed=3)
    return _built_once(tmp_path_factory, "data", lambda folder: write_synth_dataset(folder / "synth", options))


@pytest.fixture(scope="session")
def small_ckpt(tmp_path_factory) -> Path:
    from mobiledepth.model import init_checkpoint

    build = lambda folder: init_checkpoint("mobiledepth-small", folder / "small.pt", seed=1)  # noqa: E731
    return _built_once(tmp_path_factory, "ckpt", build)


@pytest.fixture(scope="session")
def small_convert_options(synth_dir):
    """The shared small conversion's options: mobiledepth-small at a NON-SQUARE 64x96 input, all precisions."""
    from mobiledepth.conversion.options import ConvertOptions

    return ConvertOptions(
        precisions=("fp32", "fp16", "int8", "int8-dynamic"),
        size=(64, 96),
        calib=synth_dir,
        parity_data=synth_dir,
        n_calib=12,
        n_parity=3,
    )


@pytest.fixture(scope="session")
def small_converted(small_ckpt, small_convert_options, tmp_path_factory):
    """mobiledepth-small (non-default widths) converted with ``small_convert_options``."""
    from mobiledepth.api import convert

    return _built_once(tmp_path_factory, "conv_small",
                       lambda folder: (folder, convert(small_ckpt, folder, small_convert_options)))  # fmt: skip


def pytest_collection_modifyitems(config, items):
    """Tests marked ``long(seconds)`` run first, longest first: pytest-xdist hands its first batch out
    alternately, so the longest tests start at once on both workers and the short ones fill in around them
    (in file order the three longest met at the end of the run on one worker and the suite took 678 s)."""
    order = {id(item): -item.get_closest_marker("long").args[0] for item in items if item.get_closest_marker("long")}
    items.sort(key=lambda item: order.get(id(item), 0))  # stable: everything else keeps its file order
