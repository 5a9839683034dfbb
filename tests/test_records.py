"""One record schema: every record the commands write reads back through `load_records`, older files are
migrated, newer or foreign ones refused with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mobiledepth.cli import app
from mobiledepth.errors import MobileDepthError
from mobiledepth.records import SCHEMA, load_records

runner = CliRunner()


def test_every_written_record_reads_back(small_converted, synth_dir, tmp_path):
    out, _ = small_converted
    tfl = out / "small_64x96_int8.tflite"
    commands = [
        ["bench", str(tfl), "--runs", "3", "--json", str(tmp_path / "b.json")],
        ["eval", str(tfl), "--data", str(synth_dir), "--json", str(tmp_path / "e.json")],
        ["profile", str(out / "small_64x96.onnx"), "--runs", "3", "--json", str(tmp_path / "p.json")],
    ]
    for command in commands:
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
    files = [out / "convert_report.json", tmp_path / "b.json", tmp_path / "e.json", tmp_path / "p.json"]
    records = load_records(files)
    assert [r["record"] for r in records] == ["convert", "bench", "eval", "profile"]
    assert {r["schema"] for r in records} == {SCHEMA} and all(r["tool"]["name"] == "mobiledepth" for r in records)


def test_old_convert_report_is_migrated(tmp_path):
    old = {"record": "convert", "tools": {"mobiledepth": "0.0.9"}, "source": {"path": "m.pt", "name": "m"},
           "input": {"height": 64, "width": 96}, "files": []}  # fmt: skip
    path = tmp_path / "convert_report.json"
    path.write_text(json.dumps(old))
    [rec] = load_records([path])
    assert rec["schema"] == SCHEMA and rec["tool"] == {"name": "mobiledepth", "version": "0.0.9"}
    assert rec["source"]["kind"] == "checkpoint"
    assert rec["input"]["preprocess"] == {"mean": [0.0] * 3, "std": [1.0] * 3, "pixel_scale": 1.0}


@pytest.mark.parametrize("schema, message", [
    (SCHEMA + 1, f"written by a newer mobiledepth (record schema {SCHEMA + 1}); this one reads schemas up to {SCHEMA}"),
    ("2", "eval record with a malformed schema '2'"),
])  # fmt: skip
def test_newer_or_malformed_schema_is_refused(tmp_path, schema, message):
    path = tmp_path / "eval.json"
    path.write_text(json.dumps({"record": "eval", "schema": schema, "model": {"sha256": "a"}, "whdr": 0.2}))
    with pytest.raises(MobileDepthError) as err:
        load_records([path])
    assert str(err.value) == f"{path}: {message}"


def test_foreign_json_is_refused(tmp_path):
    path = tmp_path / "package.json"
    path.write_text('{"name": "left-pad"}')
    with pytest.raises(MobileDepthError) as err:
        load_records([Path(path)])
    assert str(err.value).startswith(f"{path}: not a mobiledepth result record (no 'record': ")
