"""The conversion's fourth stage: every written file against the source, judged the task's way.

Each file gets parity per output (:mod:`.parity`), its task score (WHDR on held-out pairs for depth, the
task's per-image metric otherwise), the int8 gate where its precision is gated, its input contract, and
its paired host speed. What the source computed is computed once (:func:`source_results`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..conversion.analyze import analyze_tflite
from ..fileio import sha256_file
from ..records.conversion import FileReport, GateResult, HostSpeed, OutputInfo, Parity, TaskScore
from ..records.parts import InputContract, QuantParams
from ..runtime.predictors import Predictor, as_map, load_predictor
from .data import ConvertData
from .export import Exported
from .parity import fp32_problem, ordering, output_parity
from .precisions import PRECISIONS
from .sources import SourceModel
from .task_gate import pair_results, whdr_score, with_advice
from .tasks import TaskMetric, judge, per_image_score

NO_PAIRS = (
    "no held-out DIW pairs to measure the WHDR drop: give --parity-data DIR with a DIW_test.csv, or judge "
    "another output with --task mask|generic"
)


@dataclass(frozen=True)
class SourceResults:
    """What the source computed on the held-out data, once for every file's comparison."""

    images: tuple[np.ndarray, ...]  # parity images at the input size, [0, 1]
    outputs: tuple[tuple[np.ndarray, ...], ...]  # [image][chosen output], canonical
    pairs: np.ndarray | None  # depth: right/wrong per annotated pair
    pairs_per_image: tuple[int, ...]


def _first_map(predict_all, path: Path, name: str):
    return lambda image: as_map(path, predict_all(image)[0], name)


def source_results(
    source: SourceModel, exported: Exported, data: ConvertData, metric: TaskMetric, images: list[np.ndarray]
) -> SourceResults:
    outputs = tuple(tuple(source.reference(img)[i] for i in exported.selected) for img in images)
    pairs = None
    if metric.needs_pairs and data.task_entries:
        first = exported.selected[0]
        predict = lambda image: as_map(Path(source.name), source.reference(image)[first], "output")  # noqa: E731
        pairs = pair_results(predict, list(data.task_entries), *exported.spec.size, metric.disparity)
    return SourceResults(tuple(images), outputs, pairs, tuple(len(e.pairs) for e in data.task_entries))


def _task_score(
    predictor: Predictor,
    src: SourceResults,
    files_outputs,
    exported: Exported,
    data: ConvertData,
    metric: TaskMetric,
    task: str,
) -> TaskScore | None:
    names = [o.name for o in exported.outputs]
    if metric.needs_pairs:
        if src.pairs is None:
            return None
        results = pair_results(predictor.predict, list(data.task_entries), *exported.spec.size, metric.disparity)
        return whdr_score(results, src.pairs, list(src.pairs_per_image), task, names[0])
    scores = []
    for k, name in enumerate(names):
        refs = [outs[k] for outs in src.outputs]
        cands = [outs[k] for outs in files_outputs]
        maps = task in ("mask",)
        values = [
            metric.per_image(
                as_map(predictor.path, r, name) if maps else r, as_map(predictor.path, c, name) if maps else c
            )
            for r, c in zip(refs, cands)
        ]
        scores.append(per_image_score(task, metric, name, values))
    return min(scores, key=lambda s: s.value) if metric.higher_is_better else max(scores, key=lambda s: s.value)


def _parity(predictor: Predictor, src: SourceResults, exported: Exported, data: ConvertData, task: str):
    files_outputs = [predictor.predict_all(img) for img in src.images]
    outputs = tuple(
        output_parity(
            o.name, [outs[k] for outs in src.outputs], [outs[k] for outs in files_outputs], str(predictor.path)
        )
        for k, o in enumerate(exported.outputs)
    )
    order = None
    if task in ("depth", "disparity"):
        name = exported.outputs[0].name
        order = ordering(
            [as_map(predictor.path, outs[0], name) for outs in src.outputs],
            [as_map(predictor.path, outs[0], name) for outs in files_outputs],
        )
    return Parity(images=len(src.images), data=data.parity_label, outputs=outputs, ordering=order), files_outputs


def file_io(predictor: Predictor, exported: Exported) -> tuple[InputContract, tuple[OutputInfo, ...]]:
    """The input contract and the outputs of a written file, read off the file itself (the ONNX file's outputs
    are the exported ones)."""
    from ..modelinfo import contract_of

    preprocess = exported.spec.preprocess
    if predictor.format != "tflite":
        shape = [1, 3, *predictor.input_hw] if predictor.layout == "NCHW" else [1, *predictor.input_hw, 3]
        return contract_of(shape, "float32", None, preprocess), exported.outputs
    inp = predictor.input
    contract = contract_of(inp["shape"], np.dtype(inp["dtype"]).name, inp.get("quantization"), preprocess)
    outs = tuple(
        OutputInfo(
            name=o["name"],
            shape=tuple(int(d) for d in o["shape"]),
            dtype=np.dtype(o["dtype"]).name,
            quantization=QuantParams(*o["quantization"]) if o["quantization"][0] else None,
        )
        for o in predictor.outputs
    )
    return contract, outs


def _status(precision: str, parity: Parity, gate: GateResult | None, strict: bool) -> tuple[str, str]:
    if precision == "fp32":
        problems = [p for p in (fp32_problem(o) for o in parity.outputs) if p]
        if problems:
            return "failed", "; ".join(problems)
    if gate is None:
        return "ok", ""
    if gate.verdict == "unverified" and strict:
        return "failed", gate.problem + " (--strict: a gate that cannot be checked fails)"
    return {"passed": "ok"}.get(gate.verdict, gate.verdict), gate.problem


def verify_file(
    path: Path,
    fmt: str,
    precision: str,
    src: SourceResults,
    exported: Exported,
    data: ConvertData,
    metric: TaskMetric,
    task: str,
    params: int | None,
    speed: HostSpeed | None,
    strict: bool,
    limits: tuple[int, int],
) -> FileReport:
    """One written file checked: parity, task score, gate (gated precisions), contract, speed."""
    predictor = load_predictor(path, preprocess=exported.spec.preprocess, output=0)
    parity, files_outputs = _parity(predictor, src, exported, data, task)
    score = _task_score(predictor, src, files_outputs, exported, data, metric, task)
    gate = None
    row = PRECISIONS[precision]
    if fmt == "tflite" and row.gated:
        calibrated = len(data.calib_paths) if row.calibrated else None
        gate = with_advice(judge(score, metric, limits[0], limits[1], NO_PAIRS), calibrated)
    status, problem = _status(precision, parity, gate, strict)
    contract, outputs = file_io(predictor, exported)
    return FileReport(
        path=str(path),
        format=fmt,
        precision=precision,
        size_bytes=path.stat().st_size,
        sha256=sha256_file(path),
        params=params,
        input=contract,
        outputs=outputs,
        parity=parity,
        analysis=analyze_tflite(path) if fmt == "tflite" else None,
        task=score,
        gate=gate,
        speed=speed,
        note=row.note if fmt == "tflite" else "",
        status=status,
        problem=problem,
    )
