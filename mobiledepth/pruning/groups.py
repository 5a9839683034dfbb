"""Prunable channel groups of a MobileDepth model: one dependency-graph core (Torch-Pruning).

A group is every channel slice that must shrink together: a residual stage's outputs (all its
project convs and the adds), an encoder skip feeding a decoder concat (the concat offsets map the
removed channels into the consumer's input), a depthwise conv following its producer. Groups are
rooted at producer convs (never at a depthwise conv after a concat, which would merge two sources)
and named by the config field they change, so a pruned model's config rebuilds it exactly.

Torch-Pruning pitfalls handled here: indices are unique Python ints; ``build_dependency`` leaves the
model in eval mode (restored); auxiliary heads are removed before any pruning.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import torch
import torch_pruning as tp
from torch import nn

from ..errors import MobileDepthError
from ..model.config import DecoderStageSpec, InvertedResidualSpec, ModelConfig
from ..model.network import MobileDepth


@dataclass(frozen=True)
class GroupSpec:
    """A prunable group: ``name`` is stable across iterations; ``root`` is the producer conv's module name."""

    name: str
    kind: str  # 'stem', 'enc_hidden', 'enc_out', 'dec_hidden', 'dec_out'
    root: str
    blocks: tuple[int, ...]  # encoder block indices (0-based, features.1 = 0) or decoder stage indices
    width: int


def _stage_runs(config: ModelConfig) -> list[list[int]]:
    """Encoder blocks whose outputs are tied by residual adds (a stride/width change starts a new run)."""
    runs: list[list[int]] = []
    for i, b in enumerate(config.encoder.blocks):
        if b.residual and runs:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def list_groups(config: ModelConfig) -> list[GroupSpec]:
    enc, dec = config.encoder, config.decoder
    groups = [GroupSpec("stem", "stem", "encoder.features.0.0", (), enc.stem)]
    for run in _stage_runs(config):
        last = run[-1]
        b = enc.blocks[last]
        project = f"encoder.features.{last + 1}.conv.{b.project_index}"
        groups.append(GroupSpec(f"enc_out[{run[0] + 1}-{last + 1}]", "enc_out", project, tuple(run), b.out))
    for i, b in enumerate(enc.blocks):
        if b.expand:
            groups.append(
                GroupSpec(f"enc_hidden[{i + 1}]", "enc_hidden", f"encoder.features.{i + 1}.conv.0.0", (i,), b.hidden)
            )
    for j, s in enumerate(dec.stages):
        groups.append(GroupSpec(f"dec_hidden[{j + 1}]", "dec_hidden", f"decoder.stages.{j}.expand.0", (j,), s.hidden))
        groups.append(GroupSpec(f"dec_out[{j + 1}]", "dec_out", f"decoder.stages.{j}.project.0", (j,), s.out))
    return groups


def frozen_groups(config: ModelConfig, items: tuple[str, ...], source: str) -> set[str]:
    """The names of the groups ``items`` freeze (each item a group's name or kind). An item matching no
    group is a typo that would silently prune what the user meant to keep: one error line listing the
    model's groups."""
    groups = list_groups(config)
    out: set[str] = set()
    for item in items:
        hit = {g.name for g in groups if item in (g.name, g.kind)}
        if not hit:
            names = ", ".join(g.name for g in groups)
            raise MobileDepthError(f"--freeze {item!r}: no such channel group in {source}; groups: {names}")
        out |= hit
    return out


def with_width(config: ModelConfig, group: GroupSpec, width: int) -> ModelConfig:
    """The config after shrinking ``group`` to ``width`` channels."""
    enc, dec = config.encoder, config.decoder
    blocks = list(enc.blocks)
    stages = list(dec.stages)
    stem = enc.stem
    if group.kind == "stem":
        stem = width
        if blocks[0].hidden_follows_input:  # torchvision's t=1 block runs its depthwise on the stem's channels
            blocks[0] = dataclasses.replace(blocks[0], hidden=width)
    elif group.kind == "enc_out":
        for i in group.blocks:
            blocks[i] = dataclasses.replace(blocks[i], out=width)
        nxt = group.blocks[-1] + 1
        if nxt < len(blocks) and blocks[nxt].hidden_follows_input:
            blocks[nxt] = dataclasses.replace(blocks[nxt], hidden=width)
    elif group.kind == "enc_hidden":
        blocks[group.blocks[0]] = dataclasses.replace(blocks[group.blocks[0]], hidden=width)
    elif group.kind == "dec_hidden":
        stages[group.blocks[0]] = dataclasses.replace(stages[group.blocks[0]], hidden=width)
    elif group.kind == "dec_out":
        stages[group.blocks[0]] = dataclasses.replace(stages[group.blocks[0]], out=width)
    return dataclasses.replace(
        config,
        encoder=dataclasses.replace(enc, stem=stem, blocks=tuple(blocks)),
        decoder=dataclasses.replace(dec, stages=tuple(stages)),
    )


def config_from_model(model: MobileDepth, name: str | None = None) -> ModelConfig:
    """Read the widths off a (pruned) model's layers."""
    cfg = model.config
    feats = model.encoder.features
    stem = feats[0][0].out_channels
    blocks = []
    for i, spec in enumerate(cfg.encoder.blocks):
        conv = feats[i + 1].conv
        spatial = conv[spec.project_index - 1][0]  # the 3x3 conv (depthwise, or full in a fused block)
        blocks.append(
            InvertedResidualSpec(
                hidden=spatial.out_channels,
                out=conv[spec.project_index].out_channels,
                stride=spec.stride,
                expand=spec.expand,
                residual=feats[i + 1].use_res_connect,
                fused=spec.fused,
            )
        )
    stages = [
        DecoderStageSpec(
            hidden=st.expand[0].out_channels,
            out=st.project[0].out_channels,
            kernel=spec.kernel,
            upsample=spec.upsample,
            residual=st.use_res_connect,
            upsample_at=spec.upsample_at,
        )
        for st, spec in zip(model.decoder.stages, cfg.decoder.stages)
    ]
    return dataclasses.replace(
        cfg,
        name=name or cfg.name,
        encoder=dataclasses.replace(cfg.encoder, stem=stem, blocks=tuple(blocks)),
        decoder=dataclasses.replace(cfg.decoder, stages=tuple(stages)),
    )


def _dependency_graph(model: MobileDepth, height: int, width: int) -> tp.DependencyGraph:
    was_training = model.training
    model.eval()
    dg = tp.DependencyGraph().build_dependency(model, example_inputs=torch.zeros(1, 3, height, width), verbose=False)
    model.train(was_training)
    return dg


def _group(dg: tp.DependencyGraph, model: MobileDepth, spec: GroupSpec, idxs: list[int]):
    root = model.get_submodule(spec.root)
    return dg.get_pruning_group(root, tp.prune_conv_out_channels, idxs=sorted({int(i) for i in idxs}))


def channel_importance(model: MobileDepth, spec: GroupSpec, height: int = 64, width: int = 64) -> torch.Tensor:
    """Per-channel L2 norm over every conv of the group whose OUTPUT channels it removes (depthwise
    included, which Torch-Pruning's group magnitude importance ignores)."""
    dg = _dependency_graph(model, height, width)
    group = _group(dg, model, spec, [0])
    n = model.get_submodule(spec.root).out_channels
    score = torch.zeros(n)
    counted = set()
    for dep, _ in group:
        layer = dep.target.module
        if (
            isinstance(layer, nn.Conv2d)
            and dep.handler in (tp.prune_conv_out_channels, tp.prune_depthwise_conv_out_channels)
            and id(layer) not in counted
        ):
            counted.add(id(layer))
            if layer.out_channels == n:
                score += layer.weight.detach().flatten(1).pow(2).sum(1)
    return score.sqrt()


def removal_indices(model: MobileDepth, spec: GroupSpec, keep: int) -> list[int]:
    """Channels to remove so that the ``keep`` largest-L2-norm filters survive."""
    score = channel_importance(model, spec)
    order = torch.argsort(score, descending=True)
    return sorted(int(i) for i in order[keep:])


def prune_group(
    model: MobileDepth, spec: GroupSpec, keep: int, height: int = 64, width: int = 64, idxs: list[int] | None = None
) -> MobileDepth:
    """A pruned COPY of ``model`` with ``spec`` shrunk to ``keep`` channels; its config is rewritten."""
    if model.has_heads:
        raise ValueError("remove the intermediate prediction heads (strip_heads) before pruning")
    pruned = copy.deepcopy(model)
    idxs = idxs if idxs is not None else removal_indices(pruned, spec, keep)
    if not idxs:
        return pruned
    dg = _dependency_graph(pruned, height, width)
    group = _group(dg, pruned, spec, idxs)
    if not dg.check_pruning_group(group):
        raise ValueError(f"group {spec.name} cannot be pruned to {keep} channels")
    group.prune()
    expected = with_width(model.config, spec, model.get_submodule(spec.root).out_channels - len(idxs))
    pruned.config = config_from_model(pruned, model.config.name)
    if pruned.config != expected:
        raise AssertionError(f"pruning {spec.name} changed layers outside its group: {pruned.config} != {expected}")
    return pruned


def zero_group_channels(
    model: MobileDepth, spec: GroupSpec, idxs: list[int], height: int = 64, width: int = 64
) -> MobileDepth:
    """A COPY of ``model`` whose group channels ``idxs`` are zeroed instead of removed (the reference a
    pruned model must equal): conv filters and biases to 0, BN scale and shift to 0."""
    zeroed = copy.deepcopy(model)
    dg = _dependency_graph(zeroed, height, width)
    group = _group(dg, zeroed, spec, idxs)
    with torch.no_grad():
        for dep, dep_idxs in group:
            layer = dep.target.module
            rows = torch.tensor(sorted({int(i) for i in dep_idxs}))
            if isinstance(layer, nn.Conv2d) and dep.handler in (
                tp.prune_conv_out_channels,
                tp.prune_depthwise_conv_out_channels,
            ):
                layer.weight[rows] = 0
                if layer.bias is not None:
                    layer.bias[rows] = 0
            elif isinstance(layer, nn.BatchNorm2d) and dep.handler == tp.prune_batchnorm_out_channels:
                layer.weight[rows] = 0
                layer.bias[rows] = 0
    return zeroed
