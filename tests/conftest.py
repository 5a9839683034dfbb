"""Shared fixtures: small synthetic data on disk and a seeded checkpoint of non-default widths."""

from __future__ import annotations

import json
import os
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
    for path in tmp_path_factory.getbasetemp().rglob("*.json"):
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


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    from mobiledepth.data.synth import SynthOptions, write_synth_dataset

    return write_synth_dataset(
        tmp_path_factory.mktemp("data") / "synth", SynthOptions(n=20, height=96, width=128, pairs_per_image=15, seed=3)
    )


@pytest.fixture(scope="session")
def small_ckpt(tmp_path_factory) -> Path:
    from mobiledepth.model import init_checkpoint

    return init_checkpoint("mobiledepth-small", tmp_path_factory.mktemp("ckpt") / "small.pt", seed=1)


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
    out = tmp_path_factory.mktemp("conv_small")
    from mobiledepth.api import convert

    report = convert(small_ckpt, out, small_convert_options)
    return out, report
