"""NetAdapt (Yang et al. 2018) against latency MEASURED on the target: one engine for every model.

A run reads top to bottom: measure the base and width-scaled copies to calibrate the latency predictor
(:mod:`.latency`); each iteration asks for a cut of ``initial_ratio * L0 * decay^(i-1)``, proposes per
channel group the widest width predicted to meet it (:mod:`.search`), fine-tunes and scores the
proposals (serially or on workers), and verifies the best ones paired against the current and the base
file (:mod:`.judge`) until one is faster with confidence; the run stops when the measured ratio to the
base meets the target; a long-term fine-tune and a paired confirmation end it. What varies by model is
passed in a :class:`PruneRun`: where the channel groups come from (:mod:`.channels`), how a candidate is
fine-tuned and scored (:mod:`.tuning`), where latency is measured, and the run's folder (:mod:`.store`).

Everything goes to the folder: ``iter_NNN.pt`` per iteration, ``history.json``, the latency cache,
``log.txt``, milestone checkpoints (``keep``), ``final.pt`` and ``records.json`` (bench + eval records of
the family, for ``mobiledepth report``); ``resume`` continues after the last finished iteration.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
from torch import nn

from ..model.network import count_parameters
from ..pause import pause_point
from ..records.pruning import (
    PredictorError,
    Proposal,
    PruneHistory,
    PruneIteration,
    PruneMember,
    PruneOptionsRecord,
    Rejected,
    Verification,
)
from ..seeds import final_finetune_seed, proposal_seed
from .channels import ChannelSource
from .judge import Judge, Target
from .latency import LatencyModel
from .milestones import keep_milestones, parse_keep
from .options import PruneOptions
from .search import ScoreJob, Scorer, propose, rank, serial_scorer, untried
from .store import RunStore
from .tuning import Tuner


@dataclass
class PruneRun:
    """What varies by model: its channel groups, its fine-tuning and score, where its latency is measured,
    how its checkpoints are written and read, and the folder of the run."""

    source: ChannelSource
    tuner: Tuner
    target: Target
    store: RunStore
    save: Callable[[nn.Module, Path, dict], Path]
    load: Callable[[Path], nn.Module]
    scorer: Scorer | None = None  # None: proposals scored one after another here


@dataclass(frozen=True)
class _Step:
    """One accepted step before it is recorded: the proposal, its pruned model and file, its verification."""

    best: Proposal
    model: nn.Module
    file: Path
    check: Verification
    rejected: list[Rejected]
    proposals: list[Proposal]
    step_target: float
    scoring_s: float  # fine-tuning and scoring the proposals (what --workers spreads)


@dataclass
class _State:
    """What one run carries from iteration to iteration (the history is what is saved)."""

    history: PruneHistory
    current: nn.Module
    latency: LatencyModel
    current_ms: float
    loss: float
    current_file: Path
    target_ms: float
    current_ratio: float
    target_ratio: float
    milestones: list[tuple[str, float]] = field(default_factory=list)
    t_start: float = field(default_factory=time.time)

    @property
    def base_file(self) -> Path:
        return Path(self.history.base.tflite)


def width_scaled(source: ChannelSource, model: nn.Module, scale: float, step: int) -> nn.Module:
    """Every group scaled by ``scale`` (multiples of ``step``), filters kept by norm: a calibration copy."""
    out = model
    for g in source.groups(model):
        keep = max(step, int(round(g.width * scale / step)) * step)
        if keep < g.width:
            out = source.shrink(out, g.name, keep)
    return out


class NetAdapt:
    def __init__(self, base: nn.Module, checkpoint: str, run: PruneRun, options: PruneOptions,
                 resume: bool = False) -> None:  # fmt: skip
        self.base_model, self.checkpoint, self.run_parts, self.options, self.resume = (
            base,
            checkpoint,
            run,
            options,
            resume,
        )
        self.frozen = run.source.frozen(base, options.freeze, checkpoint)  # a typo fails before any work
        self.judge = Judge(run.target, options.rounds, run.store.log)
        self.final_model: nn.Module | None = None
        self.score = run.scorer or serial_scorer(run.source, run.tuner, options.worker_threads)

    @property
    def log(self):
        return self.run_parts.store.log

    # ---- the run ---------------------------------------------------------------------------------
    def run(self) -> PruneHistory:
        """Start (or resume), iterate until the target ratio is met or no step helps, then finish. A final
        confirmation above the target does not end the run while ``confirmations`` remain: its ratio (twice
        the rounds of a verification, so the better estimate) becomes the current one and pruning goes on."""
        state = self._resume() if self.resume else self._start()
        for attempt in range(1, self.options.confirmations + 1):
            history = self._finish(state, self._iterate(state))
            if history.status != "not confirmed" or attempt == self.options.confirmations:
                return history
            state.history = history
            state.current_ratio = history.confirmation.ratio.median
            self.log(f"confirmation {attempt} measured {state.current_ratio:.3f}x the base: pruning on")
        return history

    def _iterate(self, state: _State) -> str:
        """NetAdapt steps until the current ratio is within the target (''), or why it stopped short."""
        i = len(state.history.iterations) + 1
        while state.current_ratio > state.target_ratio * (1 - self.options.margin):
            if i > self.options.max_iterations:
                return f"stopped after --max-iterations {self.options.max_iterations} at {state.current_ms:.3f} ms"
            reason = self._iteration(state, i)
            if reason:
                return reason
            i += 1
        return ""

    # ---- start and resume ------------------------------------------------------------------------
    def _start(self) -> _State:
        store, target = self.run_parts.store, self.run_parts.target
        latency = store.latency(target.cache_name(), target.key) or LatencyModel(target.key)
        base = self.base_model.eval()
        current_ms, base_file = self._calibrate(base, latency)
        store.keep_latency(target.cache_name(), latency)
        loss = self.run_parts.tuner.score(base)
        meta = {"trained": True, "name": f"{_name(base)}-pruned-000", "pruned_from": self.checkpoint}
        base_ckpt = self.run_parts.save(base, store.out / "iter_000", meta)
        member = PruneMember(str(base_ckpt), str(base_file), current_ms, loss, _params(base))
        history = PruneHistory(checkpoint=self.checkpoint, options=self._options_record(), measurer=target.key,
                               base=member)  # fmt: skip
        store.save(history)
        self.log(f"base: {current_ms:.3f} ms, val {self.run_parts.tuner.metric} {loss:.4f}, {_params(base):,} params")
        return self._state(history, base, latency, current_ms, loss)

    def _options_record(self) -> PruneOptionsRecord:
        o = self.options
        return PruneOptionsRecord(target_ms=o.target_ms, target_ratio=o.target_ratio, freeze=o.freeze, seed=o.seed,
                                  short_steps=o.short_steps, long_steps=o.long_steps, margin=o.margin,
                                  workers=o.workers, data=None if o.data is None else str(o.data))  # fmt: skip

    def _resume(self) -> _State:
        store, target = self.run_parts.store, self.run_parts.target
        history = store.load()
        if history is None:  # killed before the base was recorded: nothing lost but the base's measurement
            self.log("no history to resume: starting over (the latency cache is kept)")
            return self._start()
        latency = store.latency(target.cache_name(), target.key)
        if latency is None:  # lost, damaged or another target's: measured again, never a dead end
            self.log(f"{target.cache_name()}: missing or damaged; measuring the latency calibration again")
            latency = LatencyModel(target.key)
            self._calibrate(self.base_model.eval(), latency)
            store.keep_latency(target.cache_name(), latency)
        latency = store.forget_unrecorded(latency, history)
        last = history.last
        current = self.run_parts.load(Path(last.checkpoint)).eval()
        self.log(f"resuming after iteration {len(history.iterations)} at {last.measured_ms:.3f} ms")
        self._resume_freeze(history.options.freeze)
        return self._state(history, current, latency, last.measured_ms, last.whdr)

    def _resume_freeze(self, stored: tuple[str, ...]) -> None:
        """A resumed run without ``freeze`` keeps the groups the run started with frozen: re-typing a long list
        should not be the only thing between a resume and cutting what the user kept."""
        if self.options.freeze or not stored:
            return
        self.frozen = self.run_parts.source.frozen(self.base_model, stored, self.checkpoint)
        self.options = replace(self.options, freeze=stored)
        self.log(f"frozen as when the run started: {', '.join(stored)}")

    def _state(self, history: PruneHistory, current, latency, current_ms: float, loss: float) -> _State:
        """The loop's running figures, the same whether the run starts or resumes."""
        o = self.options
        base_ms = history.base.measured_ms
        target = o.target_ms if o.target_ms is not None else (o.target_ratio or 1.0) * base_ms
        history = replace(history, target_ms=target)
        last = history.iterations[-1] if history.iterations else None
        ratio = target / base_ms
        if last is not None and last.target_ratio is not None:  # older histories lack it: measured ms then
            ratio = last.target_ratio
        current_ratio = (last.ratio_to_base or last.measured_ms / base_ms) if last else 1.0
        return _State(history, current, latency, current_ms, loss, Path(history.last.tflite), target, current_ratio,
                      ratio, parse_keep(list(o.keep)))  # fmt: skip

    def _calibrate(self, base: nn.Module, latency: LatencyModel) -> tuple[float, Path]:
        """Measure the base and its uniformly width-scaled copies for the latency predictor, in one paired run,
        so a load change between files cannot bend the fit."""
        parts, step = self.run_parts, self.options.channel_step
        models = [("iter_000", base)] + [(f"calib_x{s:g}", width_scaled(parts.source, base, s, step))
                                         for s in self.options.calibration_scales]  # fmt: skip
        files = [parts.target.file_of(m, parts.store.out / "work", label) for label, m in models]
        timings = [float(np.median(r)) for r in parts.target.paired(files, rounds=self.options.rounds)]
        for (label, m), ms in zip(models, timings):
            latency.add(label, parts.source.features(m), ms)
            self.log(f"measured {label}: {ms:.3f} ms (paired)")
        return timings[0], files[0]

    # ---- one iteration ---------------------------------------------------------------------------
    def _cut(self, state: _State, i: int, scale: float) -> tuple[list[Proposal], float]:
        """Proposals for this iteration's latency cut (times ``scale`` when escalating); the cut is halved (up to
        5 times) when no single group can deliver it. The cut is a share of the base's latency in the units of
        the last measurement (current ms / paired ratio to the base): a host that has slowed since the run
        started does not shrink the steps."""
        o = self.options
        base_now = state.current_ms / state.current_ratio if state.current_ratio > 0 else state.current_ms
        cut = scale * o.initial_ratio * base_now * o.decay ** (i - 1)
        proposals: list[Proposal] = []
        step_target = state.current_ms - cut
        for _ in range(5):
            step_target = state.current_ms - cut
            proposals = propose(self.run_parts.source, state.latency, state.current, state.current_ms, step_target,
                                self.frozen, o.channel_step, o.max_proposals)  # fmt: skip
            if proposals:
                break
            cut /= 2
        return proposals, step_target

    def _step(self, state: _State, i: int) -> tuple["_Step | None", str]:
        """Propose, score and verify one step. A predicted cut too small to measure (no candidate faster with
        confidence: the predictor's errors are the size of a small cut) is asked again twice as large, up to
        ``escalations`` times, before the run gives up."""
        rejected: list[Rejected] = []
        step_target, scoring_s = state.current_ms, 0.0
        for level in range(self.options.escalations + 1):
            proposals, step_target = self._cut(state, i, scale=2.0**level)
            proposals = untried(proposals, rejected)
            if not proposals:
                if rejected:
                    self.log(f"iteration {i}: a larger cut proposes only candidates already measured not faster")
                break
            self.log(f"iteration {i}: target {step_target:.3f} ms, {len(proposals)} proposals")
            jobs = [ScoreJob(p, proposal_seed(self.options.seed, i, k), self.options.short_steps)
                    for k, p in enumerate(proposals)]  # fmt: skip
            started = time.monotonic()
            scored = self.score(state.current, jobs)
            scoring_s += time.monotonic() - started
            ranked = rank(proposals, scored, state.loss, state.current_ms, self.log)
            verified = self._verify_best(ranked, state, i, rejected)
            if verified is not None:
                return _Step(*verified, rejected, [p for p, _ in ranked], step_target, scoring_s), ""
            if level < self.options.escalations:
                self.log(f"iteration {i}: no candidate measured faster; asking for a cut twice as large")
        if not rejected:
            return None, (f"no channel group can be shrunk to reach even {step_target:.3f} ms (every group at or near "
                          "its minimum width)")  # fmt: skip
        return None, f"no candidate of iteration {i} measured faster than the current model with 95% confidence"

    def _verify_best(self, ranked, state: _State, i: int, rejected: list[Rejected]):
        """The best-scored candidates converted and verified in turn; the first faster than the current model
        with confidence is accepted. Rejections go to ``rejected`` (shared across the iteration's escalations,
        so labels stay unique)."""
        for best, chosen in ranked[: self.options.max_verifications]:
            label = f"iter_{i:03d}" if not rejected else f"iter_{i:03d}_try{len(rejected) + 1}"
            file = self.run_parts.target.file_of(chosen, self.run_parts.store.out / "work", label)
            check = self.judge.verify(file, state.current_file, state.base_file, label)
            if check.step.high >= 1.0:
                rejected.append(Rejected(best.group, best.width_to, check))
                self.log(f"  rejected {best.group} -> {best.width_to}: not faster than the current model with 95% "
                         "confidence")  # fmt: skip
                continue
            return best, chosen, file, check
        return None

    def _iteration(self, state: _State, i: int) -> str:
        """One NetAdapt step; returns why the run stops, or '' to go on."""
        started = time.monotonic()
        step, reason = self._step(state, i)
        if step is None:
            return reason
        best, chosen, file, check = step.best, step.model, step.file, step.check
        store, target = self.run_parts.store, self.run_parts.target
        state.latency.add(f"iter_{i:03d}", self.run_parts.source.features(chosen), check.ms)
        store.keep_latency(target.cache_name(), state.latency)
        pause_point("prune:latency-cache-saved")  # kill -9 here: the cache holds a sample history.json lacks
        state.current_ratio = check.base.median
        if self.options.target_ms is not None:  # the base re-measured in the same paired run converts ms to a ratio
            state.target_ratio = self.options.target_ms / check.base_ms
        record = self._record(state, i, step, time.monotonic() - started)
        history = replace(state.history, iterations=(*state.history.iterations, record))
        state.history = keep_milestones(history, state.milestones, chosen, record, self.run_parts, store.out)
        store.save(state.history)
        self.log(f"iteration {i}: chose {best.group} {best.width_from} -> {best.width_to}; measured {check.ms:.3f} ms "
                 f"(predicted {best.predicted_ms:.3f}, error {record.predictor_error_ms:+.3f}); {record.params:,} "
                 f"params; val {best.whdr:.4f}")  # fmt: skip
        state.current, state.current_ms, state.loss, state.current_file = chosen, check.ms, best.whdr, file
        return ""

    def _record(self, state: _State, i: int, step: "_Step", wall_s: float) -> PruneIteration:
        """The iteration's checkpoint on disk and its history entry."""
        best, chosen, check = step.best, step.model, step.check
        meta = {"trained": True, "name": f"{_name(chosen)}-pruned-{i:03d}", "pruned_from": self.checkpoint,
                "metrics": {"val_whdr": best.whdr, "measured_ms": check.ms}}  # fmt: skip
        ckpt = self.run_parts.save(chosen, self.run_parts.store.out / f"iter_{i:03d}", meta)
        return PruneIteration(
            iteration=i, group=best.group, width_from=best.width_from, width_to=best.width_to, params=_params(chosen),
            predicted_ms=best.predicted_ms, measured_ms=check.ms, predictor_error_ms=best.predicted_ms - check.ms,
            whdr=best.whdr, step_target_ms=step.step_target,
            widths={g.name: g.width for g in self.run_parts.source.groups(chosen)}, proposals=tuple(step.proposals),
            checkpoint=str(ckpt), tflite=str(step.file), verification=check, ratio_to_base=state.current_ratio,
            target_ratio=state.target_ratio, rejected=tuple(step.rejected), wall_s=wall_s, scoring_s=step.scoring_s,
        )  # fmt: skip

    # ---- the end ---------------------------------------------------------------------------------
    def _finish(self, state: _State, reason: str) -> PruneHistory:
        """Long-term fine-tune, a paired confirmation of the final file against the base, records."""
        o, parts = self.options, self.run_parts
        reached = state.current_ratio <= state.target_ratio * (1 - o.margin)
        if not reached:
            self.log(f"target {state.target_ms:.3f} ms NOT reached: {reason}; keeping the best model found "
                     f"({state.current_ms:.3f} ms)")  # fmt: skip
        self.log(f"long-term fine-tune: {o.long_steps} steps")
        final = parts.tuner.finetune(copy.deepcopy(state.current), o.long_steps, seed=final_finetune_seed(o.seed))
        self.final_model = final
        final_file = parts.target.file_of(final, parts.store.out / "work", "final")
        confirmation = self.judge.confirm(state.base_file, final_file, state.target_ratio)
        if reached and not confirmation.confirmed:
            r = confirmation.ratio
            reason = (f"the final file measured {r.median:.3f}x the base (95% interval up to {r.high:.3f}) against a "
                      f"target of {state.target_ratio:.3f}x: try a lower --target-ratio, more --rounds, or prune on "
                      "a quieter machine")  # fmt: skip
        confirmed = reached and confirmation.confirmed
        errors = tuple(it.predictor_error_ms for it in state.history.iterations)
        history = replace(
            state.history,
            status="reached" if confirmed else ("not confirmed" if reached else "unreachable"),
            reason="" if confirmed else reason,
            confirmation=confirmation,
            final=self._final_entry(final, final_file, confirmation.final_ms, confirmation.confirmed),
            wall_s=state.history.wall_s + time.time() - state.t_start,
            predictor_error_ms=PredictorError(float(np.mean(np.abs(errors))) if errors else None, errors),
        )
        state.t_start = time.time()  # a run that prunes on after this finish counts from here
        parts.store.save(history)
        from .family import write_family_records

        write_family_records(history, parts, self.options)
        return history

    def _final_entry(self, final, final_file: Path, final_ms: float, meets: bool) -> PruneMember:
        """The long-term fine-tuned model saved and scored. Its latency is the one of the confirmation run, next
        to the base's in that same run: absolute ms move with the machine's load, the ratio does not."""
        tuner = self.run_parts.tuner
        loss = tuner.score(final)
        test = tuner.score(final, "test") if tuner.has_test() else None
        meta = {"trained": True, "name": f"{_name(final)}-pruned", "pruned_from": self.checkpoint,
                "metrics": {"val_whdr": loss, "test_whdr": test, "measured_ms": final_ms}}  # fmt: skip
        ckpt = self.run_parts.save(final, self.run_parts.store.out / "final", meta)
        self.log(f"final: {final_ms:.3f} ms, val {tuner.metric} {loss:.4f}, {_params(final):,} params -> {ckpt}")
        return PruneMember(str(ckpt), str(final_file), final_ms, loss, _params(final), test_whdr=test,
                           meets_target=meets)  # fmt: skip


def _name(model: nn.Module) -> str:
    """Our network's variant name, else the module's class name."""
    config = getattr(model, "config", None)
    return getattr(config, "name", None) or type(model).__name__.lower()


def _params(model: nn.Module) -> int:
    return count_parameters(model, exclude_heads=False)
