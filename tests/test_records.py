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
    assert [r.record for r in records] == ["convert", "bench", "eval", "profile"]
    assert {r.schema for r in records} == {SCHEMA} and all(r.tool.name == "mobiledepth" for r in records)
    for path in files:  # strict JSON: no NaN or Infinity anywhere (Python's json writes them by default)
        json.loads(path.read_text(), parse_constant=lambda name: pytest.fail(f"{path}: {name} in JSON"))


def test_old_convert_report_is_migrated(tmp_path):
    old = {"record": "convert", "tools": {"mobiledepth": "0.0.9"}, "source": {"path": "m.pt", "name": "m"},
           "input": {"height": 64, "width": 96}, "files": []}  # fmt: skip
    path = tmp_path / "convert_report.json"
    path.write_text(json.dumps(old))
    [rec] = load_records([path])
    assert rec.schema == SCHEMA and (rec.tool.name, rec.tool.version) == ("mobiledepth", "0.0.9")
    assert rec.source.kind == "checkpoint" and (rec.input.height, rec.input.width) == (64, 96)
    assert rec.input.preprocess.identity


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


def test_prune_history_round_trip_and_legacy_files(tmp_path):
    """history.json is what --resume reads: the typed form writes the same keys ("from"/"to" included) and
    reads back equal; a history written before paired verification (no ratios, no kept, no wall time,
    options of every name) still reads."""
    from mobiledepth.codec import encode
    from mobiledepth.pruning.store import RunStore

    legacy = {
        "checkpoint": "m.pt", "options": {"margin": 0.03, "target_ratio": 0.8, "eval_limit": 60},
        "measurer": {"device": "host", "delegate": "cpu", "precision": "fp32", "size": "64x64", "threads": "2"},
        "base": {"checkpoint": "iter_000.pt", "tflite": "b.tflite", "measured_ms": 10.0, "whdr": 0.2, "params": 100},
        "iterations": [{
            "iteration": 1, "group": "stem", "from": 32, "to": 16, "params": 90, "predicted_ms": 9.0,
            "measured_ms": 9.5, "predictor_error_ms": -0.5, "whdr": 0.21, "step_target_ms": 9.5, "widths": {"stem": 16},
            "proposals": [], "checkpoint": "iter_001.pt", "tflite": "i1.tflite", "verification": {"paired": False},
        }],
        "status": "running",
    }  # fmt: skip
    (tmp_path / "history.json").write_text(json.dumps(legacy))
    history = RunStore(tmp_path).load()
    it = history.iterations[0]
    assert (it.width_from, it.width_to, it.ratio_to_base, it.rejected, it.verification) == (32, 16, None, (), None)
    assert history.last is it and history.kept == {} and history.wall_s == 0.0 and history.final is None
    assert history.options.target_ratio == 0.8 and history.measurer.runtime == "litert"
    written = encode(history)
    assert written["iterations"][0]["from"] == 32 and written["iterations"][0]["to"] == 16
    RunStore(tmp_path).save(history)
    assert RunStore(tmp_path).load() == history
    (tmp_path / "history.json").write_text('{"checkpoint": "m.pt", "opt')  # cut short by something else
    with pytest.raises(MobileDepthError) as err:
        RunStore(tmp_path).load()
    assert str(err.value).startswith(f"{tmp_path / 'history.json'}: damaged (JSONDecodeError: ")


def test_bench_record_must_match_the_typed_schema(small_converted, tmp_path):
    """A record is decoded field by field against its dataclass: a missing field, a mistyped one, a key the
    schema does not know and a NaN each fail with the dotted field named."""
    out, _ = small_converted
    result = runner.invoke(app, ["bench", str(out / "small_64x96_fp32.tflite"), "--runs", "3", "--json",
                                 str(tmp_path / "b.json")])  # fmt: skip
    assert result.exit_code == 0, result.output
    good = json.loads((tmp_path / "b.json").read_text())
    path = tmp_path / "bad.json"
    cases = [
        (lambda r: r.pop("delegate"), "bench record: delegate: missing"),
        (lambda r: r["latency_ms"].update(median="2"), "bench record: latency_ms.median: expected float, got a string"),
        (lambda r: r["device"].update(colour="red"), "bench record: device.colour: not a field of Device"),
        (lambda r: r["model"].update(params=True), "bench record: model.params: expected int, got true/false"),
    ]  # fmt: skip
    for damage, message in cases:
        record = json.loads(json.dumps(good))
        damage(record)
        path.write_text(json.dumps(record))
        with pytest.raises(MobileDepthError) as err:
            load_records([path])
        assert str(err.value) == f"{path}: {message}"
    bad = tmp_path / "hostile_input.json"  # conftest's strict scan of every written JSON file skips this name
    bad.write_text(json.dumps(good).replace('"median": ', '"median": NaN, "x": ', 1))
    with pytest.raises(MobileDepthError) as err:
        load_records([bad])
    assert str(err.value).startswith(f"{bad}: not a JSON result file (ValueError: NaN is not JSON")
