"""The two ways into the one NetAdapt engine: our checkpoint (``mobiledepth prune``) and any ``nn.Module``
(``mobiledepth.prune``). Each assembles a :class:`~.netadapt.PruneRun` from the matching channel source,
tuner and latency target, holds the run's folder, and runs it."""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch import nn

from ..errors import MobileDepthError
from ..locks import FolderLock
from ..records.pruning import PruneHistory
from .channels import ConfigChannels, GraphChannels
from .latency import Measurer, OnnxTarget
from .netadapt import NetAdapt, PruneRun
from .options import PruneOptions
from .search import Scorer
from .store import RunStore, checked_out
from .tuning import CallbackTuner, RankingTuner


@contextmanager
def _scorer(options: PruneOptions, source, tuner, ray_address: str | None) -> Iterator[Scorer | None]:
    """Serial scoring (None), or an iteration's proposals as Ray tasks when ``workers`` > 1 (the private Ray
    instance, if one was started, stops with the run)."""
    if options.workers <= 1:
        yield None
        return
    from .workers import RayScorer

    scorer = RayScorer(source, tuner, options.workers, options.worker_threads, ray_address)
    try:
        yield scorer
    finally:
        scorer.close()


def prune_checkpoint(checkpoint: Path, out: Path, options: PruneOptions, measurer: Measurer, resume: bool = False,
                     echo: Callable[[str], None] = print, ray_address: str | None = None) -> PruneHistory:  # fmt: skip
    """NetAdapt on a mobiledepth checkpoint, measured through ``measurer`` (the deployed file on the host or a
    phone). A typo in ``freeze`` fails before the folder is made; a second run into a running one's folder is
    refused."""
    from ..model.checkpoint import load_checkpoint, save_checkpoint

    if options.data is None:
        raise MobileDepthError("prune: give the fine-tuning data folder (--data; PruneOptions.data)")
    base = load_checkpoint(checkpoint).build(with_heads=False).eval()  # heads removed before pruning
    source = ConfigChannels((measurer.height, measurer.width))
    source.frozen(base, options.freeze, str(checkpoint))  # a typo fails before any work, the folder included
    with FolderLock(checked_out(out), "prune"):
        tuner = RankingTuner(options.data, options.data_kind, options.train_size, options.batch, options.lr,
                             options.seed, options.eval_limit)  # fmt: skip
        with _scorer(options, source, tuner, ray_address) as scorer:
            save = lambda model, stem, meta: save_checkpoint(stem.with_name(stem.name + ".pt"), model, meta)  # noqa: E731
            load = lambda path: load_checkpoint(path).build(with_heads=False)  # noqa: E731
            parts = PruneRun(source, tuner, measurer, RunStore(out, echo), save, load, scorer)
            return NetAdapt(base, str(checkpoint), parts, options, resume).run()


@dataclass(frozen=True)
class ModuleResult:
    """A pruned module and the run's history (the same typed history ``mobiledepth prune`` writes)."""

    model: nn.Module
    history: PruneHistory

    @property
    def status(self) -> str:
        return self.history.status


def _save_module(example: torch.Tensor) -> Callable[[nn.Module, Path, dict], Path]:
    """A module's checkpoint as a torch.export program (loaded later without running pickled code); a module
    torch.export cannot capture is kept in memory only (its path is then empty: that run cannot resume)."""

    def save(model: nn.Module, stem: Path, meta: dict[str, Any]) -> Path:
        path = stem.with_name(stem.name + ".pt2")  # a stem like keep_0.549M has no suffix to replace
        try:
            torch.export.save(torch.export.export(model.eval(), (example,)), str(path))
        except Exception:
            return Path("")
        return path

    return save


def prune_module(module: nn.Module, example_inputs: torch.Tensor, train_step: Callable[[nn.Module], Any],
                 evaluate: Callable[[nn.Module], float], options: PruneOptions, higher_is_better: bool = False,
                 out: Path | None = None, log: Callable[[str], None] = print,
                 ray_address: str | None = None) -> ModuleResult:  # fmt: skip
    """NetAdapt on any ``nn.Module``, timed on this host (ONNX Runtime, paired). The layers that produce an
    output are never pruned; ``options.freeze`` names more modules."""
    from ..runtime.torch_files import load_foreign_module

    base = module.eval()
    with tempfile.TemporaryDirectory(prefix="mobiledepth-prune-") as scratch:
        folder = checked_out(Path(out) if out is not None else Path(scratch))
        h, w = example_inputs.shape[-2:]
        source, tuner = GraphChannels(example_inputs), CallbackTuner(train_step, evaluate, higher_is_better)
        with FolderLock(folder, "prune"), _scorer(options, source, tuner, ray_address) as scorer:
            target, store = OnnxTarget(int(h), int(w)), RunStore(folder, log)
            parts = PruneRun(source, tuner, target, store, _save_module(example_inputs),
                             load=lambda path: load_foreign_module(path, "export"), scorer=scorer)  # fmt: skip
            engine = NetAdapt(base, type(module).__name__, parts, replace(options, data=None), resume=False)
            log(f"never pruned (they produce an output, or freeze names them): {', '.join(sorted(engine.frozen))}")
            history = engine.run()
            final = engine.final_model
    return ModuleResult(final, history)
