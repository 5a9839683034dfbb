"""Where NetAdapt's channel groups come from: two sources for one search engine.

Both stand on Torch-Pruning's dependency graph (residual adds share indices, concatenations map offsets,
depthwise convs follow their producer). :class:`ConfigChannels` names our network's groups by the config
field they change (``enc_out[4-6]``, ``dec_hidden[2]``), so a pruned checkpoint rebuilds from its config
and a candidate's cost is computed from its config alone. :class:`GraphChannels` takes any ``nn.Module``:
every conv whose output channels can be removed is a group named after the module, and the layers that
produce a model output are frozen (cutting one would change what the model returns).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import nn

from ..errors import MobileDepthError
from .latency import conv_costs


@dataclass(frozen=True)
class Group:
    name: str
    kind: str
    width: int


class ChannelSource(Protocol):
    hw: tuple[int, int]  # the measured input size: costs are counted at it

    def groups(self, model: nn.Module) -> list[Group]: ...

    def shrink(self, model: nn.Module, group: str, width: int) -> nn.Module: ...  # a pruned copy

    def features(self, model: nn.Module, group: str | None = None, width: int | None = None) -> list[float]: ...

    def frozen(self, model: nn.Module, items: tuple[str, ...], source: str) -> set[str]: ...


@dataclass
class ConfigChannels:
    """Our network's groups (pruning/groups.py), named by the config fields they change."""

    hw: tuple[int, int]

    def groups(self, model) -> list[Group]:
        from .groups import list_groups

        return [Group(g.name, g.kind, g.width) for g in list_groups(model.config)]

    def _spec(self, model, group: str):
        from .groups import list_groups

        return next(g for g in list_groups(model.config) if g.name == group)

    def shrink(self, model, group: str, width: int):
        from .groups import prune_group

        return prune_group(model, self._spec(model, group), width)

    def features(self, model, group: str | None = None, width: int | None = None) -> list[float]:
        """From the config alone (a candidate is never built to be costed)."""
        from .groups import with_width
        from .latency import cost_features

        config = model.config if group is None else with_width(model.config, self._spec(model, group), width)
        return cost_features(config, *self.hw)

    def frozen(self, model, items: tuple[str, ...], source: str) -> set[str]:
        from .groups import frozen_groups

        return frozen_groups(model.config, items, source)


@dataclass
class GraphChannels:
    """Any ``nn.Module``: Torch-Pruning's groups rooted at convs, named by module. Candidates are costed on a
    pruned copy (cached per group and width of the model being searched)."""

    example: torch.Tensor
    _costed: nn.Module | None = None
    _costs: dict[tuple[str, int], list[float]] = field(default_factory=dict)

    @property
    def hw(self) -> tuple[int, int]:
        return tuple(self.example.shape[-2:])  # type: ignore[return-value]

    def groups(self, model: nn.Module) -> list[Group]:
        return [Group(name, "conv", width) for name, width in conv_groups(model, self.example)]

    def shrink(self, model: nn.Module, group: str, width: int) -> nn.Module:
        conv = dict(model.named_modules())[group]
        return pruned_copy(model, self.example, group, conv.out_channels - width)

    def features(self, model: nn.Module, group: str | None = None, width: int | None = None) -> list[float]:
        if group is None or width is None:
            return conv_costs(model, self.example)
        if self._costed is not model:  # a new current model: its candidates are new too
            self._costed, self._costs = model, {}
        if (group, width) not in self._costs:
            self._costs[(group, width)] = conv_costs(self.shrink(model, group, width), self.example)
        return self._costs[(group, width)]

    def frozen(self, model: nn.Module, items: tuple[str, ...], source: str) -> set[str]:
        names = {name for name, _ in conv_groups(model, self.example)}
        unknown = [i for i in items if i not in dict(model.named_modules())]
        if unknown:
            raise MobileDepthError(f"freeze {unknown[0]!r}: no such module in {source}; prunable convs: "
                                   f"{', '.join(sorted(names))}")  # fmt: skip
        return set(items) | set(output_layers(model, self.example, sorted(names)))


def conv_groups(model: nn.Module, example: torch.Tensor, ignored: tuple[str, ...] = ()) -> list[tuple[str, int]]:
    """(module name, output channels) of every Conv2d whose output channels form a prunable group."""
    import torch_pruning as tp

    was_training = model.training
    dg = tp.DependencyGraph().build_dependency(model, example_inputs=example)
    model.train(was_training)
    names = {m: n for n, m in model.named_modules()}
    out = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d) and names[module] not in ignored and module.groups == 1 and (
                module.out_channels > 1):  # fmt: skip
            group = dg.get_pruning_group(module, tp.prune_conv_out_channels, idxs=[0])
            if dg.check_pruning_group(group):
                out.append((names[module], module.out_channels))
    return sorted(out, key=lambda g: -g[1])


def pruned_copy(model: nn.Module, example: torch.Tensor, name: str, remove: int) -> nn.Module:
    """A copy of ``model`` with the ``remove`` lowest-L1 output channels of conv ``name`` (and all coupled
    channels) removed."""
    import torch_pruning as tp

    clone = copy.deepcopy(model)
    conv = dict(clone.named_modules())[name]
    norms = conv.weight.detach().abs().flatten(1).sum(1)
    idxs = sorted(int(i) for i in norms.argsort()[:remove])
    dg = tp.DependencyGraph().build_dependency(clone, example_inputs=example)
    clone.train(model.training)
    dg.get_pruning_group(conv, tp.prune_conv_out_channels, idxs=idxs).prune()
    return clone


def output_layers(model: nn.Module, example: torch.Tensor, names: list[str]) -> tuple[str, ...]:
    """The convs among ``names`` that produce a model output: removing one of their channels (with everything
    coupled to it) changes an output's shape. Torch-Pruning would cut them like any other layer."""
    from ..runtime.torch_files import output_list

    with torch.no_grad():
        shapes = [tuple(t.shape) for t in output_list(model(example))]
    found = []
    for name in names:
        try:
            smaller = pruned_copy(model, example, name, 1)
        except Exception:  # a group Torch-Pruning cannot cut: never proposed anyway
            continue
        with torch.no_grad():
            if [tuple(t.shape) for t in output_list(smaller(example))] != shapes:
                found.append(name)
    return tuple(found)
