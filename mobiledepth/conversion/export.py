"""The conversion's first stage: the source's outputs chosen and checked, then the fixed-size ONNX file.

Outputs are checked before anything is written: a task that judges maps (depth, disparity, mask) needs
single-channel maps, so a model whose chosen output is not one is refused in one line naming it and its
shape, with nothing on disk. The written ONNX keeps exactly the chosen outputs, carries the input it
takes in its metadata (``mobiledepth.input``), and, with ``fold_preprocess``, takes [0, 1] pixels: the
declared ``(x * pixel_scale - mean) / std`` becomes its first nodes (and, through the input fold, part of
the TFLite files' first conv).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..codec import encode
from ..errors import MobileDepthError
from ..fileio import atomic_path
from ..inputs import InputSpec, Preprocess
from ..records.conversion import OutputInfo
from ..runtime.predictors import as_map
from .sources import SourceModel, fixed_onnx

MAP_TASKS = ("depth", "disparity", "mask")  # tasks whose metric reads one map per output


@dataclass(frozen=True)
class Exported:
    onnx: Path
    outputs: tuple[OutputInfo, ...]  # the chosen outputs, in the source's order
    selected: tuple[int, ...]  # their indices among the source's outputs
    spec: InputSpec  # what the written files take (identity preprocessing once folded)


def select_outputs(source: SourceModel, requested: tuple[str, ...] | None) -> tuple[int, ...]:
    """``--output`` names or indices as indices into the source's outputs (all of them when not given)."""
    names = source.output_names
    if requested is None:
        return tuple(range(len(names)))
    chosen = []
    for item in map(str, requested):
        if item.isdigit() and int(item) < len(names):
            chosen.append(int(item))
        elif item in names:
            chosen.append(names.index(item))
        else:
            raise MobileDepthError(
                f"{source.info.path or source.name}: --output {item}: no such output; the model's "
                f"outputs are {', '.join(f'{i}: {n}' for i, n in enumerate(names))}"
            )
    return tuple(dict.fromkeys(chosen))


def check_outputs(source: SourceModel, selected: tuple[int, ...], task: str) -> tuple[OutputInfo, ...]:
    """The chosen outputs' shapes, from one run of the source; maps required where the task reads maps."""
    outputs = source.reference(np.full((*source.spec.size, 3), 0.5, np.float32))
    where = Path(source.info.path or source.name)
    infos = []
    for i in selected:
        y, name = outputs[i], source.output_names[i]
        if task in MAP_TASKS:
            try:
                as_map(where, y, name)
            except MobileDepthError:
                others = ", ".join(f"{k}: {n} {list(outputs[k].shape)}" for k, n in enumerate(source.output_names))
                raise MobileDepthError(
                    f"{where}: output {name} has shape {list(y.shape)}, not one map, and the {task} task judges maps; "
                    f"choose single-map outputs with --output NAME|INDEX ({others}) or use --task generic"
                ) from None
        infos.append(OutputInfo(name=name, shape=(1, *y.shape)))
    return tuple(infos)


def _prepend_preprocess(model, preprocess: Preprocess) -> None:
    """Insert ``x * (pixel_scale / std) - mean / std`` per channel after the image input, in place."""
    from onnx import helper, numpy_helper

    from .onnx_graph import image_input

    graph, image = model.graph, image_input(model.graph).name
    std = np.asarray(preprocess.std, np.float32)
    scale = (preprocess.pixel_scale / std).reshape(1, 3, 1, 1).astype(np.float32)
    shift = (-np.asarray(preprocess.mean, np.float32) / std).reshape(1, 3, 1, 1).astype(np.float32)
    names = ("mobiledepth_pre_scale", "mobiledepth_pre_shift", "mobiledepth_pre_scaled", "mobiledepth_pre_out")
    for node in graph.node:
        node.input[:] = [names[3] if n == image else n for n in node.input]
    graph.initializer.extend([numpy_helper.from_array(scale, names[0]), numpy_helper.from_array(shift, names[1])])
    nodes = [
        helper.make_node("Mul", [image, names[0]], [names[2]], name="/preprocess/Mul"),
        helper.make_node("Add", [names[2], names[1]], [names[3]], name="/preprocess/Add"),
    ]
    graph.node[:0] = nodes


def export_stage(
    source: SourceModel, target: Path, selected: tuple[int, ...], outputs: tuple[OutputInfo, ...], fold_preprocess: bool
) -> Exported:
    """Write the fixed-size ONNX file of the chosen outputs (see module note)."""
    import onnx

    spec = replace(source.spec, preprocess=Preprocess()) if fold_preprocess else source.spec
    scratch = target.with_name(f".{target.name}.full")
    try:
        source.write_onnx(scratch)
        fixed_onnx(scratch, scratch, source.spec.size, tuple(source.output_names[i] for i in selected))
        model = onnx.load(str(scratch))
    finally:
        scratch.unlink(missing_ok=True)
    if fold_preprocess and not source.spec.preprocess.identity:
        _prepend_preprocess(model, source.spec.preprocess)
    del model.metadata_props[:]
    model.metadata_props.add(key="mobiledepth.input", value=json.dumps(encode(spec)))
    with atomic_path(target) as tmp:
        onnx.save(model, str(tmp))
    return Exported(target, outputs, selected, spec)
