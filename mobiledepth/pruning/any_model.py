"""NetAdapt for any ``nn.Module``: prune channel groups found by Torch-Pruning's dependency graph until
measured latency reaches the target, keeping the proposal that scores best each step.

No hand-written config: every ``Conv2d`` whose output channels can be removed (with everything coupled
to them: BatchNorm, the next layers' inputs, concatenations, residual adds) is one group. Each
iteration removes ``step`` of one group's channels (lowest L1 norm first) in a copy, fine-tunes it
briefly with the caller's ``train_step``, scores it with ``evaluate``, and keeps the best-scoring
proposal that is faster than the current model with confidence, measured paired (the two ONNX files
interleaved in one ONNX Runtime process). The run ends ``reached`` only when a final paired measurement
of the result against the base puts the upper end of the ratio's interval within the target.
"""

from __future__ import annotations

import copy
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from android_bench.timing import HOST_TIMING

from ..errors import MobileDepthError
from ..model.network import count_parameters
from ..records.parts import Interval

TrainStep = Callable[[nn.Module], Any]  # one optimisation step on the model, in place
Evaluate = Callable[[nn.Module], float]  # a score; lower is better unless higher_is_better


@dataclass(frozen=True)
class AnyPruneOptions:
    step: float = 0.25  # share of a group's channels one proposal removes
    max_iterations: int = 8
    finetune_steps: int = 20  # train_step calls after each proposal, before it is scored
    final_finetune_steps: int = 0  # train_step calls on the final model (long-term fine-tuning, as NetAdapt ends)
    candidates: int = 6  # groups tried per iteration, widest first
    tries: int = 3  # best-scoring proposals measured per iteration before giving up
    rounds: int = 12  # paired rounds per latency comparison
    threads: int = HOST_TIMING.threads
    higher_is_better: bool = False
    # module names never pruned, beside the layers that produce a model output (always kept: cutting one
    # would change what the model returns, e.g. 4 -> 3 classes of a classification conv)
    ignored: tuple[str, ...] = ()


@dataclass
class AnyIteration:
    iteration: int
    group: str
    channels: tuple[int, int]  # before, after
    score: float
    ratio_to_current: Interval
    params: int


@dataclass
class AnyPruneResult:
    model: nn.Module
    status: str  # reached | not confirmed | stopped: <why>
    base_score: float
    base_params: int
    final_score: float
    final_params: int
    final_ratio: Interval | None  # final / base, paired
    iterations: list[AnyIteration] = field(default_factory=list)
    seconds: float = 0.0
    frozen: tuple[str, ...] = ()  # the layers never pruned: the output layers found, and ``ignored``

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("model")
        return data


def conv_groups(model: nn.Module, example: torch.Tensor, ignored: tuple[str, ...] = ()) -> list[tuple[str, int]]:
    """(module name, output channels) of every Conv2d whose output channels form a prunable group."""
    import torch_pruning as tp

    dg = tp.DependencyGraph().build_dependency(model, example_inputs=example)
    names = {m: n for n, m in model.named_modules()}
    out = []
    for module in model.modules():
        if (
            isinstance(module, nn.Conv2d)
            and names[module] not in ignored
            and module.groups == 1
            and module.out_channels > 1
        ):
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
    idxs = norms.argsort()[:remove].tolist()
    dg = tp.DependencyGraph().build_dependency(clone, example_inputs=example)
    dg.get_pruning_group(conv, tp.prune_conv_out_channels, idxs=idxs).prune()
    return clone


def output_layers(model: nn.Module, example: torch.Tensor, names: list[str]) -> tuple[str, ...]:
    """The convs among ``names`` that produce a model output: removing one of their channels (with everything
    coupled to it) changes an output's shape. Torch-Pruning would cut them like any other layer."""
    with torch.no_grad():
        shapes = [tuple(t.shape) for t in _outputs(model(example))]
    found = []
    for name in names:
        try:
            copy_ = pruned_copy(model, example, name, 1)
        except Exception:  # a group Torch-Pruning cannot cut: never proposed anyway
            continue
        with torch.no_grad():
            if [tuple(t.shape) for t in _outputs(copy_(example))] != shapes:
                found.append(name)
    return tuple(found)


def _outputs(y) -> list[torch.Tensor]:
    from ..runtime.torch_files import output_list

    return output_list(y)


def _frozen(base: nn.Module, example: torch.Tensor, options: AnyPruneOptions, log) -> tuple[str, ...]:
    """The layers never pruned: those that produce a model output, and the ones ``options.ignored`` names."""
    names = [name for name, _ in conv_groups(base, example)]
    frozen = tuple(dict.fromkeys([*output_layers(base, example, names), *options.ignored]))
    log(f"never pruned (they produce an output, or options.ignored names them): {', '.join(frozen) or 'none'}")
    return frozen


def _final_status(final: Interval | None, target: float) -> str:
    """'reached' only when the final paired ratio's upper end is within the target; else what to try next."""
    if final is not None and final.high <= target:
        return "reached"
    if final is None:
        return "not confirmed"
    return (f"not confirmed: the final model measured {final.median:.3f}x the base (95% interval up to "
            f"{final.high:.3f}) against a target of {target}; try more iterations (max_iterations), a larger step, "
            "or more rounds (a noisy host widens the interval)")  # fmt: skip


def paired_ratio(a: nn.Module, b: nn.Module, example: torch.Tensor, options: AnyPruneOptions) -> Interval:
    """b / a latency, both exported to ONNX and timed interleaved in one ONNX Runtime process."""
    from android_bench.timing import Timing

    from ..benchmark.request import BenchRequest, run_bench
    from ..conversion.export_onnx import export_onnx

    h, w = example.shape[-2:]
    with tempfile.TemporaryDirectory(prefix="mobiledepth-prune-") as scratch:
        files = [export_onnx(m, Path(scratch) / f"{tag}.onnx", h, w) for tag, m in (("a", a), ("b", b))]
        timing = Timing(threads=options.threads, rounds=options.rounds)
        records = run_bench(BenchRequest(tuple(files), "host", paired=True, timing=timing)).records
    ratio = records[1].paired.ratio_to_baseline if records[1].paired else None
    assert ratio is not None
    return ratio


def _better(options: AnyPruneOptions) -> Callable[[float], float]:
    return (lambda s: -s) if options.higher_is_better else (lambda s: s)


def _proposals(model, example, train_step, evaluate, options) -> list[tuple[float, str, int, int, nn.Module]]:
    """Scored proposals, best first: one per candidate group."""
    out = []
    for name, channels in conv_groups(model, example, options.ignored)[: options.candidates]:
        remove = max(1, int(round(channels * options.step)))
        if channels - remove < 1:
            continue
        candidate = pruned_copy(model, example, name, remove)
        candidate.train()
        for _ in range(options.finetune_steps):
            train_step(candidate)
        candidate.eval()
        with torch.no_grad():
            score = float(evaluate(candidate))
        out.append((score, name, channels, channels - remove, candidate))
    return sorted(out, key=lambda p: _better(options)(p[0]))


def _iterate(model, example, train_step, evaluate, options, log) -> tuple[nn.Module, AnyIteration | None, str]:
    """One NetAdapt step: the best-scoring proposal that measures faster than ``model`` with confidence."""
    proposals = _proposals(model, example, train_step, evaluate, options)
    if not proposals:
        return model, None, "stopped: no group left to prune"
    for score, name, before, after, candidate in proposals[: options.tries]:
        ratio = paired_ratio(model, candidate, example, options)
        log(
            f"  {name}: {before} -> {after} channels, score {score:.4f}, paired ratio {ratio.median:.3f} "
            f"[{ratio.low:.3f}, {ratio.high:.3f}]"
        )
        if ratio.high < 1.0:
            return (
                candidate,
                AnyIteration(0, name, (before, after), score, ratio, count_parameters(candidate, exclude_heads=False)),
                "",
            )
    return model, None, f"stopped: none of the {min(len(proposals), options.tries)} best proposals measured faster"


def prune_module(
    module: nn.Module,
    example_inputs: torch.Tensor,
    train_step: TrainStep,
    evaluate: Evaluate,
    target: float = 0.8,
    device: str = "host",
    options: AnyPruneOptions = AnyPruneOptions(),
    log: Callable[[str], None] = print,
) -> AnyPruneResult:
    """Prune ``module`` until its paired latency is at most ``target`` x the base's (host: ONNX Runtime)."""
    if device != "host":
        raise MobileDepthError(
            f"--device {device}: pruning a custom module measures on the host (ONNX Runtime); "
            "phones prune mobiledepth checkpoints through `mobiledepth prune`"
        )
    if not 0.0 < target < 1.0:
        raise MobileDepthError(f"target {target}: a latency ratio between 0 and 1 (0.8 = 20% faster)")
    start = time.perf_counter()
    base = copy.deepcopy(module).eval()
    options = replace(options, ignored=_frozen(base, example_inputs, options, log))
    with torch.no_grad():
        base_score = float(evaluate(base))
    current, iterations, status = base, [], ""
    for i in range(1, options.max_iterations + 1):
        log(f"iteration {i}")
        current, step, status = _iterate(current, example_inputs, train_step, evaluate, options, log)
        if step is None:
            break
        step.iteration = i
        iterations.append(step)
        if paired_ratio(base, current, example_inputs, options).high <= target:
            status = ""
            break
    if iterations and options.final_finetune_steps:
        log(f"final fine-tuning: {options.final_finetune_steps} steps")
        current.train()
        for _ in range(options.final_finetune_steps):
            train_step(current)
        current.eval()
    final = paired_ratio(base, current, example_inputs, options) if iterations else None
    status = status or _final_status(final, target)
    with torch.no_grad():
        final_score = float(evaluate(current.eval()))
    return AnyPruneResult(
        current,
        status,
        base_score,
        count_parameters(base, exclude_heads=False),
        final_score,
        count_parameters(current, exclude_heads=False),
        final,
        iterations,
        time.perf_counter() - start,
        options.ignored,
    )
