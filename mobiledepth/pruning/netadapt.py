"""``mobiledepth prune``: NetAdapt (Yang et al. 2018) against latency MEASURED on the target.

Each iteration asks for a latency reduction of ``initial_ratio * L0 * decay^(i-1)``. For every
prunable channel group it proposes the largest width (multiple of 8) whose PREDICTED latency meets
that iteration's target, keeps the filters with the largest L2 norm, fine-tunes the proposal briefly
(short-term, the training losses) and scores it on a held-out split the fine-tuning never sees. The
proposal losing the least WHDR per millisecond saved wins; it is converted and benchmarked on the
device through the same path as ``mobiledepth bench`` (the verification also refits the predictor).
The loop stops when the measured latency meets the target; a long-term fine-tune follows.

Everything goes to ``OUTDIR``: ``iter_NNN.pt`` per iteration, ``history.json``, the latency cache,
``log.txt``, milestone checkpoints (``--keep``), ``final.pt`` and ``records.json`` (bench + eval
records of the family, for ``mobiledepth report``). ``--resume`` continues after the last finished
iteration.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import re
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..data.diw import read_diw_csv
from ..errors import MobileDepthError
from ..evaluation import score_entries
from ..fileio import write_json
from ..model.checkpoint import load_checkpoint, save_checkpoint
from ..model.network import MobileDepth, count_parameters
from ..pause import pause_point
from ..records import PruneHistory, PruneIteration, PruneMember
from ..seeds import final_finetune_seed, finetune_epoch, proposal_seed
from ..train.datasets import AugmentConfig, build_dataset, collate
from ..train.losses import improved_ranking_loss
from ..train.trainer import optimizer_step
from .groups import frozen_groups, list_groups, prune_group, with_width
from .latency import LatencyModel, Measurer, cost_features
from .options import PruneOptions  # noqa: F401  (re-exported)


def _ratio(baseline_rounds: list[float], rounds: list[float]) -> dict[str, float]:
    from ..benchmark.paired import bootstrap_ratio

    r = bootstrap_ratio(baseline_rounds, rounds)
    return {"median": r.median, "low": r.low, "high": r.high}


def parse_keep(items: list[str]) -> list[tuple[str, float]]:
    """'1.9M' (parameters) or '25ms' (latency) milestones."""
    out = []
    for item in items:
        m = re.fullmatch(r"\s*([0-9.]+)\s*(M|ms)\s*", item)
        if not m:
            raise MobileDepthError(f"--keep {item!r}: use parameter counts like 1.9M or latencies like 25ms")
        out.append(("params" if m.group(2) == "M" else "ms", float(m.group(1)) * (1e6 if m.group(2) == "M" else 1.0)))
    return out


def untried(proposals: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The proposals not already measured and rejected in this iteration. Why: when no group can deliver
    an escalated cut, the cut is halved back and the same candidates return; measuring a rejected one
    again until the timing noise lets it pass would accept a step that is not faster."""
    tried = {(r["group"], r["to"]) for r in rejected}
    return [p for p in proposals if (p["group"], p["to"]) not in tried]


# Short fine-tunes see few images, so each gives many ranking pairs (dense depth allows it); pairs whose
# depths differ by less than 3% are labelled equal (ReDWeb's sigma; training uses 2%).
FINETUNE_PAIRS_PER_IMAGE = 400
FINETUNE_PAIR_SIGMA = 0.03


@dataclass
class _RunState:
    """What one NetAdapt run carries from iteration to iteration (the history is what is saved)."""

    history: PruneHistory
    current: Any  # the current (pruned) MobileDepth
    latency: LatencyModel
    cache: Path
    current_ms: float
    whdr: float
    base_tfl: Path
    current_tfl: Path
    target: float
    current_ratio: float
    target_ratio: float
    milestones: list[tuple[str, float]]
    done_keeps: set[str]
    t_start: float


class NetAdapt:
    def __init__(
        self,
        checkpoint: Path,
        out: Path,
        options: PruneOptions,
        measurer: Measurer,
        resume: bool = False,
        echo: Callable[[str], None] = print,
    ) -> None:
        self.checkpoint, self.out, self.options, self.measurer, self.resume = (
            Path(checkpoint),
            Path(out),
            options,
            measurer,
            resume,
        )
        if options.data is None:
            raise MobileDepthError("prune: give the fine-tuning data folder (--data; PruneOptions.data)")
        self.frozen: set[str] = set()
        self._freeze(options.freeze)  # a typo fails before any work, the output folder included
        self.out.mkdir(parents=True, exist_ok=True)
        self._echo = echo
        h, w = options.train_size
        self.train_set = build_dataset(
            options.data_kind,
            options.data,
            "train",
            h,
            w,
            AugmentConfig(),
            options.seed,
            pairs_per_image=FINETUNE_PAIRS_PER_IMAGE,
            sigma=FINETUNE_PAIR_SIGMA,
        )
        csv = Path(options.data) / "DIW_val.csv" if Path(options.data).is_dir() else Path(options.data)
        self.val_entries = read_diw_csv(csv)[: options.eval_limit]
        test_csv = Path(options.data) / "DIW_test.csv"
        self.test_entries = read_diw_csv(test_csv) if test_csv.is_file() else []
        self.history_path = self.out / "history.json"

    # ---- helpers ---------------------------------------------------------------------------------
    def log(self, message: str) -> None:
        line = f"{_dt.datetime.now().strftime('%H:%M:%S')} {message}"
        with open(self.out / "log.txt", "a") as handle:
            handle.write(line + "\n")
        self._echo(line)

    def whdr(self, model: MobileDepth, entries=None) -> float:
        model.eval()
        h, w = self.options.train_size

        def predict(image: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return model(torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)[None])))[0, 0].numpy()

        return score_entries(predict, entries if entries is not None else self.val_entries, h, w)[0].whdr

    def finetune(self, model: MobileDepth, steps: int, seed: int) -> MobileDepth:
        """The training issue's ranking loss on the train split; deterministic per (seed)."""
        if steps <= 0:
            return model
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=self.options.lr)
        g = torch.Generator().manual_seed(seed)
        done = 0
        epoch = 0
        while done < steps:
            self.train_set.epoch = finetune_epoch(seed, epoch)
            order = torch.randperm(len(self.train_set), generator=g).tolist()
            loader = torch.utils.data.DataLoader(
                self.train_set, batch_size=self.options.batch, sampler=order, collate_fn=collate, drop_last=True
            )
            for images, target in loader:
                optimizer_step(improved_ranking_loss(model(images), target["pairs"], target["pair_mask"]), opt, None)
                done += 1
                if done >= steps:
                    break
            epoch += 1
        model.eval()
        return model

    def predicted(self, latency: LatencyModel, config, anchor_config, anchor_ms: float) -> float:
        """Predicted latency of ``config``, anchored on a measured model (the predictor ranks DIFFERENCES)."""
        h, w = self.measurer.height, self.measurer.width
        return (
            anchor_ms
            + latency.predict(cost_features(config, h, w))
            - latency.predict(cost_features(anchor_config, h, w))
        )

    def uniform(self, model: MobileDepth, scale: float) -> MobileDepth:
        """Every group scaled by ``scale`` (multiples of 8), filters kept by L2 norm."""
        out = model
        for g in list_groups(model.config):
            keep = max(8, int(round(g.width * scale / 8)) * 8)
            if keep < g.width:
                current = next(x for x in list_groups(out.config) if x.name == g.name)
                out = prune_group(out, current, keep)
        return out

    def _propose(
        self, latency: LatencyModel, current: MobileDepth, current_ms: float, target: float
    ) -> list[dict[str, Any]]:
        proposals = []
        for g in list_groups(current.config):
            if g.name in self.frozen:
                continue
            widths = list(range(8, g.width, 8))  # strictly smaller multiples of 8
            if not widths:
                continue
            if self.predicted(latency, with_width(current.config, g, widths[0]), current.config, current_ms) > target:
                continue  # even the narrowest width misses this iteration's target
            lo, hi = 0, len(widths) - 1  # largest width meeting the target (latency grows with width)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if (
                    self.predicted(latency, with_width(current.config, g, widths[mid]), current.config, current_ms)
                    <= target
                ):
                    lo = mid
                else:
                    hi = mid - 1
            w = widths[lo]
            proposals.append(
                {
                    "group": g.name,
                    "from": g.width,
                    "to": w,
                    "predicted_ms": self.predicted(
                        latency, with_width(current.config, g, w), current.config, current_ms
                    ),
                }
            )
        # Evaluate the gentlest proposals first: the smallest share of a group removed for the same saving.
        proposals.sort(key=lambda p: 1 - p["to"] / p["from"])
        return proposals[: self.options.max_proposals]

    def _save_history(self, history: PruneHistory) -> None:
        write_json(self.history_path, history.to_dict())

    def write_records(self, history: PruneHistory) -> Path:
        """bench + eval + convert records of the family (base, every iteration, final) for `mobiledepth report`.
        Latencies are the verification measurements; WHDR is the held-out test split (or val when absent)."""
        from android_bench.stats import LatencyStats
        from android_bench.timing import Timing

        from ..api import evaluate
        from ..evaluation import EvalOptions
        from ..modelinfo import describe_model
        from ..records import BenchRecord, Device, host_device, read_record
        from ..records.store import read_json, write_record

        members = [("base", history.base), *[(f"iter_{it.iteration:03d}", it) for it in history.iterations],
                   ("final", history.final)]  # fmt: skip
        split = "test" if self.test_entries else "val"
        device = host_device() if self.measurer.device == "host" else Device(name=self.measurer.device)
        delegate = self.measurer.delegate if self.measurer.device != "host" else "xnnpack"
        records = []
        for label, item in members:
            tfl = Path(item.tflite)
            if not tfl.is_file():
                continue
            report = tfl.parent / "convert_report.json"
            if report.is_file():
                records.append(read_record(report, read_json(report)))
            records.append(evaluate(tfl, self.options.data, EvalOptions(split=split)))
            ms = item.measured_ms
            latency = LatencyStats(count=1, median=ms, mean=ms, p90=None, std=None, min=ms, max=ms,
                                   source="netadapt paired verification")  # fmt: skip
            records.append(BenchRecord(model=describe_model(tfl), device=device, delegate=delegate, latency_ms=latency,
                                       timing=Timing(threads=self.measurer.threads),
                                       source=f"netadapt verification ({label})"))  # fmt: skip
        path = self.out / "records.json"
        write_record(path, records)
        return path

    def _calibrate(self, base: MobileDepth, latency: LatencyModel) -> tuple[float, Path]:
        """Measure the base and its uniformly width-scaled copies for the latency predictor: on the host
        in one paired run, so a load change between files cannot bend the fit."""
        h, w = self.measurer.height, self.measurer.width
        models = [("iter_000", base)] + [
            (f"calib_x{s:g}", self.uniform(base, s)) for s in self.options.calibration_scales
        ]
        files = [self.measurer.convert(m, self.out / "work", label) for label, m in models]
        timings = [float(np.median(r)) for r in self.measurer.paired(files, rounds=self.options.rounds)]
        for (label, m), ms in zip(models, timings):
            latency.add(label, cost_features(m.config, h, w), ms)
            self.log(f"measured {label}: {ms:.3f} ms (paired)")
        return timings[0], files[0]

    # ---- paired verification -----------------------------------------------------------------
    def _verify(self, tfl: Path, current_tfl: Path, base_tfl: Path, label: str) -> dict[str, Any]:
        """Time the candidate interleaved with the current and the base file (host), so host drift
        cancels: ``step`` = candidate / current and ``base`` = candidate / base, per-round ratios with a
        95% bootstrap interval; on phones the runs alternate (order flipped every round)."""
        base_r, current_r, cand_r = self.measurer.paired([base_tfl, current_tfl, tfl], rounds=self.options.rounds)
        step, base = _ratio(current_r, cand_r), _ratio(base_r, cand_r)
        info = {
            "paired": True,
            "rounds": self.options.rounds,
            "ms": float(np.median(cand_r)),
            "base_ms": float(np.median(base_r)),
            "current_ms": float(np.median(current_r)),
            "step": step,
            "base": base,
        }
        self.log(
            f"paired {label}: {info['ms']:.3f} ms; candidate/current {step['median']:.3f} [{step['low']:.3f}, "
            f"{step['high']:.3f}], "
            f"candidate/base {base['median']:.3f} [{base['low']:.3f}, {base['high']:.3f}]"
        )
        return info

    def _verify_best(self, scored, proposals, current_tfl: Path, base_tfl: Path, i: int, rejected: list):
        """Convert and verify the best-scored candidates in turn; the first that measures faster than the
        current model with confidence (upper end of candidate/current below 1) is accepted. Rejections are
        appended to ``rejected`` (shared across the iteration's escalations, so labels stay unique)."""
        for _, k, chosen in sorted(scored, key=lambda t: (t[0], t[1]))[: self.options.max_verifications]:
            best = proposals[k]
            label = f"iter_{i:03d}" if not rejected else f"iter_{i:03d}_try{len(rejected) + 1}"
            tfl = self.measurer.convert(chosen, self.out / "work", label)
            check = self._verify(tfl, current_tfl, base_tfl, label)
            if check["step"]["high"] >= 1.0:
                rejected.append({"group": best["group"], "to": best["to"], "verification": check})
                self.log(
                    f"  rejected {best['group']} -> {best['to']}: not faster than the current model with 95% confidence"
                )
                continue
            return best, chosen, tfl, check
        return None

    def _confirm(self, history: PruneHistory, final_tfl: Path, target_ratio: float) -> dict[str, Any]:
        """The final file against the base, paired with twice the rounds: 'reached' only if the upper end
        of the ratio's 95% interval is within the target ratio."""
        base_r, final_r = self.measurer.paired([Path(history.base.tflite), final_tfl], rounds=2 * self.options.rounds)
        r = _ratio(base_r, final_r)
        confirmed = r["high"] <= target_ratio
        self.log(
            f"confirmation: final/base {r['median']:.3f} [{r['low']:.3f}, {r['high']:.3f}] vs target ratio "
            f"{target_ratio:.3f}: "
            f"{'confirmed' if confirmed else 'NOT confirmed'}"
        )
        return {
            "paired": True,
            "rounds": 2 * self.options.rounds,
            "final_ms": float(np.median(final_r)),
            "base_ms": float(np.median(base_r)),
            "ratio": r,
            "target_ratio": target_ratio,
            "confirmed": confirmed,
        }

    # ---- the loop --------------------------------------------------------------------------------
    def run(self) -> PruneHistory:
        """Start (or resume), iterate until the target ratio is met or no step helps, then finish. A final
        confirmation above the target does not end the run while ``confirmations`` remain: its ratio (twice
        the rounds of a verification, so the better estimate) becomes the current one and pruning goes on."""
        state = self._resume() if self.resume else self._start()
        for attempt in range(1, self.options.confirmations + 1):
            history = self._finish(state, self._iterate(state))
            if history.status != "not confirmed" or attempt == self.options.confirmations:
                return history
            state.current_ratio = history.confirmation["ratio"]["median"]
            self.log(f"confirmation {attempt} measured {state.current_ratio:.3f}x the base: pruning on")
        return history

    def _iterate(self, state: "_RunState") -> str:
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

    def _resume(self) -> "_RunState":
        if not self.history_path.is_file():
            raise MobileDepthError(
                f"{self.history_path}: nothing to resume (no history); run without --resume to start"
            )
        cache = self.out / self.measurer.cache_name()
        history = PruneHistory.from_dict(json.loads(self.history_path.read_text()))
        last = history.last
        current = load_checkpoint(last.checkpoint).build(with_heads=False).eval()
        latency = LatencyModel.load(cache, self.measurer.key)
        if latency is None:
            raise MobileDepthError(
                f"{cache}: latency cache missing or for another device/delegate/precision; cannot resume"
            )
        # A kill between saving the cache and the history leaves samples of an iteration the history
        # never recorded; that iteration runs again, so its old samples go.
        known = {f"iter_{it.iteration:03d}" for it in history.iterations}
        latency.samples = [
            x for x in latency.samples if not x.label.startswith("iter_") or x.label == "iter_000" or x.label in known
        ]
        latency.fit()
        self.log(f"resuming after iteration {len(history.iterations)} at {last.measured_ms:.3f} ms")
        self._resume_freeze(tuple(history.options.get("freeze") or ()))
        return self._state(history, current, latency, cache, last.measured_ms, last.whdr)

    def _freeze(self, items: tuple[str, ...]) -> None:
        """Freeze ``items`` (group names or kinds) for this run. Group names are stable across iterations, so
        the starting checkpoint's groups decide; its weights are read only when something is frozen."""
        if items:
            self.frozen = frozen_groups(load_checkpoint(self.checkpoint).config, items, str(self.checkpoint))
            self.options = replace(self.options, freeze=items)

    def _resume_freeze(self, stored: tuple[str, ...]) -> None:
        """A resumed run without --freeze keeps the groups the run started with frozen: re-typing a long list
        should not be the only thing between a resume and cutting what the user kept."""
        if self.options.freeze or not stored:
            return
        self._freeze(stored)
        self.log(f"frozen as when the run started: {', '.join(stored)}")

    def _start(self) -> "_RunState":
        cache = self.out / self.measurer.cache_name()
        base = load_checkpoint(self.checkpoint).build(with_heads=False).eval()  # heads removed before pruning
        latency = LatencyModel.load(cache, self.measurer.key) or LatencyModel(self.measurer.key)
        current_ms, base_tfl = self._calibrate(base, latency)
        latency.save(cache)
        whdr = self.whdr(base)
        meta = {"trained": True, "name": f"{base.config.name}-pruned-000", "pruned_from": str(self.checkpoint)}
        base_ckpt = save_checkpoint(self.out / "iter_000.pt", base, meta)
        history = PruneHistory(
            checkpoint=str(self.checkpoint),
            options={**asdict(self.options), "data": str(self.options.data)},
            measurer=self.measurer.key,
            base=PruneMember(str(base_ckpt), str(base_tfl), current_ms, whdr, count_parameters(base)),
        )
        self._save_history(history)
        self.log(f"base: {current_ms:.3f} ms, val WHDR {whdr:.4f}, {count_parameters(base):,} params")
        return self._state(history, base, latency, cache, current_ms, whdr)

    def _state(self, history: PruneHistory, current, latency, cache, current_ms: float, whdr: float) -> "_RunState":
        """The loop's running figures, the same whether the run starts or resumes."""
        o = self.options
        base_ms = history.base.measured_ms
        target = o.target_ms if o.target_ms is not None else (o.target_ratio or 1.0) * base_ms
        history.target_ms = target
        last = history.iterations[-1] if history.iterations else None
        ratio = target / base_ms
        if last is not None:  # histories from before paired verification lack the ratios: measured ones then
            ratio = last.target_ratio if last.target_ratio is not None else ratio
        return _RunState(
            history=history, current=current, latency=latency, cache=cache, current_ms=current_ms, whdr=whdr,
            base_tfl=Path(history.base.tflite), current_tfl=Path(history.last.tflite), target=target,
            current_ratio=(last.ratio_to_base or last.measured_ms / base_ms) if last else 1.0, target_ratio=ratio,
            milestones=parse_keep(list(o.keep)), done_keeps=set(history.kept), t_start=time.time(),
        )  # fmt: skip

    def _proposals_for(self, state: "_RunState", i: int, scale: float = 1.0) -> tuple[list[dict[str, Any]], float]:
        """Proposals for this iteration's latency cut (times ``scale`` when escalating); the cut is halved
        (up to 5 times) when no single group can deliver it, rather than stopping early. The cut is a share
        of the base's latency in the units of the last measurement (current ms / paired ratio to the base):
        the machine's speed when the run started no longer sizes the steps of a host that has since slowed."""
        o = self.options
        base_now = state.current_ms / state.current_ratio if state.current_ratio > 0 else state.current_ms
        cut = scale * o.initial_ratio * base_now * o.decay ** (i - 1)
        proposals: list[dict[str, Any]] = []
        step_target = state.current_ms - cut
        for _ in range(5):
            step_target = state.current_ms - cut
            proposals = self._propose(state.latency, state.current, state.current_ms, step_target)
            if proposals:
                break
            cut /= 2
        return proposals, step_target

    def _score(self, state: "_RunState", proposals: list[dict[str, Any]], i: int) -> list[tuple[float, int, Any]]:
        """Each proposal pruned, fine-tuned briefly and scored: WHDR lost per predicted ms saved (lower is better)."""
        scored = []
        for k, p in enumerate(proposals):
            g = next(x for x in list_groups(state.current.config) if x.name == p["group"])
            seed = proposal_seed(self.options.seed, i, k)
            cand = self.finetune(prune_group(state.current, g, p["to"]), self.options.short_steps, seed=seed)
            p["whdr"] = self.whdr(cand)
            p["score"] = (p["whdr"] - state.whdr) / max(state.current_ms - p["predicted_ms"], 1e-3)
            scored.append((p["score"], k, cand))
            self.log(
                f"  {p['group']}: {p['from']} -> {p['to']}, predicted {p['predicted_ms']:.3f} ms, val WHDR "
                f"{p['whdr']:.4f}"
            )
        return scored

    def _step(self, state: "_RunState", i: int):
        """Propose, score and verify one step. A predicted cut too small to measure (the candidates are
        not faster with confidence: the latency model's errors are the size of a small cut) is asked
        again twice as large, up to ``escalations`` times, before the run gives up."""
        rejected: list[dict[str, Any]] = []
        step_target = state.current_ms
        for level in range(self.options.escalations + 1):
            proposals, step_target = self._proposals_for(state, i, scale=2.0**level)
            proposals = untried(proposals, rejected)
            if not proposals:
                if rejected:
                    self.log(f"iteration {i}: a larger cut proposes only candidates already measured not faster")
                break
            self.log(f"iteration {i}: target {step_target:.3f} ms, {len(proposals)} proposals")
            scored = self._score(state, proposals, i)
            verified = self._verify_best(scored, proposals, state.current_tfl, state.base_tfl, i, rejected)
            if verified is not None:
                return (*verified, rejected, proposals, step_target), ""
            if level < self.options.escalations:
                self.log(f"iteration {i}: no candidate measured faster; asking for a cut twice as large")
        if not rejected:
            return None, (
                f"no channel group can be shrunk to reach even {step_target:.3f} ms (every group at or near "
                "its minimum width)"
            )
        return None, f"no candidate of iteration {i} measured faster than the current model with 95% confidence"

    def _iteration(self, state: "_RunState", i: int) -> str:
        """One NetAdapt step; returns why the run stops, or '' to go on."""
        step, reason = self._step(state, i)
        if step is None:
            return reason
        best, chosen, tfl, check, rejected, proposals, step_target = step
        measured = check["ms"]
        state.latency.add(
            f"iter_{i:03d}", cost_features(chosen.config, self.measurer.height, self.measurer.width), measured
        )
        state.latency.save(state.cache)
        pause_point("prune:latency-cache-saved")  # kill -9 here: the cache holds a sample history.json lacks
        state.current_ratio = check["base"]["median"]
        if self.options.target_ms is not None:  # the base re-measured in the same paired run converts ms to a ratio
            state.target_ratio = self.options.target_ms / check["base_ms"]
        record = self._record(state, i, best, chosen, tfl, check, rejected, proposals, step_target)
        state.history.iterations.append(record)
        self._keep_milestones(state, chosen, record)
        self._save_history(state.history)
        self.log(
            f"iteration {i}: chose {best['group']} {best['from']} -> {best['to']}; measured {measured:.3f} ms "
            f"(predicted {best['predicted_ms']:.3f}, error {record.predictor_error_ms:+.3f}); {record.params:,} "
            f"params; val WHDR {best['whdr']:.4f}"
        )
        state.current, state.current_ms, state.whdr, state.current_tfl = chosen, measured, best["whdr"], tfl
        return ""

    def _record(self, state, i, best, chosen, tfl, check, rejected, proposals, step_target) -> PruneIteration:
        """The iteration's checkpoint on disk and its history entry."""
        measured = check["ms"]
        meta = {"trained": True, "name": f"{chosen.config.name}-pruned-{i:03d}", "pruned_from": str(self.checkpoint),
                "metrics": {"val_whdr": best["whdr"], "measured_ms": measured}}  # fmt: skip
        ckpt = save_checkpoint(self.out / f"iter_{i:03d}.pt", chosen, meta)
        return PruneIteration(
            iteration=i, group=best["group"], width_from=best["from"], width_to=best["to"],
            params=count_parameters(chosen), predicted_ms=best["predicted_ms"], measured_ms=measured,
            predictor_error_ms=best["predicted_ms"] - measured, whdr=best["whdr"], step_target_ms=step_target,
            widths={g.name: g.width for g in list_groups(chosen.config)},
            proposals=[dict(p) for p in proposals], checkpoint=str(ckpt), tflite=str(tfl),
            verification=check, ratio_to_base=state.current_ratio, target_ratio=state.target_ratio, rejected=rejected,
        )  # fmt: skip

    def _keep_milestones(self, state: "_RunState", chosen, record: PruneIteration) -> None:
        """``--keep 2M 20ms``: the first model at or under each milestone is saved as ``keep_<label>.pt``."""
        params, measured = record.params, record.measured_ms
        for kind, value in state.milestones:
            label = f"{value / 1e6:g}M" if kind == "params" else f"{value:g}ms"
            hit = (kind == "params" and params <= value) or (kind == "ms" and measured <= value)
            if label in state.done_keeps or not hit:
                continue
            meta = {"trained": True, "name": f"{chosen.config.name}-{label}",
                    "metrics": {"val_whdr": record.whdr, "measured_ms": measured}}  # fmt: skip
            save_checkpoint(self.out / f"keep_{label}.pt", chosen, meta)
            state.history.kept[label] = {"iteration": record.iteration, "params": params, "measured_ms": measured}
            state.done_keeps.add(label)

    def _finish(self, state: "_RunState", reason: str) -> PruneHistory:
        """Long-term fine-tune, a paired confirmation of the final file against the base, records."""
        o, history = self.options, state.history
        base_ms = history.base.measured_ms
        reached = state.current_ratio <= state.target_ratio * (1 - o.margin)
        if not reached:
            self.log(
                f"target {state.target:.3f} ms NOT reached: {reason}; keeping the best model found "
                f"({state.current_ms:.3f} ms)"
            )
        self.log(f"long-term fine-tune: {o.long_steps} steps")
        final = self.finetune(copy.deepcopy(state.current), o.long_steps, seed=final_finetune_seed(o.seed))
        final_tflite = self.measurer.convert(final, self.out / "work", "final")
        confirmation = self._confirm(history, final_tflite, state.target_ratio)
        final_ms = confirmation["final_ms"]
        if reached and not confirmation["confirmed"]:
            r = confirmation.get("ratio") or {}
            reason = (
                f"the final file measured {r.get('median', final_ms / base_ms):.3f}x the base "
                f"(95% interval up to {r.get('high', float('nan')):.3f}) against a target of {state.target_ratio:.3f}x"
            )
        confirmed = reached and confirmation["confirmed"]
        history.status = "reached" if confirmed else ("not confirmed" if reached else "unreachable")
        history.reason = "" if confirmed else reason
        history.confirmation = confirmation
        history.final = self._final_entry(final, final_tflite, confirmation, state.target)
        history.wall_s += time.time() - state.t_start
        state.t_start = time.time()  # a run that prunes on after this finish counts from here
        errors = [it.predictor_error_ms for it in history.iterations]
        history.predictor_error_ms = {"mean_abs": float(np.mean(np.abs(errors))) if errors else None, "all": errors}
        self._save_history(history)
        self.write_records(history)
        return history

    def _final_entry(self, final, final_tflite, confirmation: dict[str, Any], target: float) -> PruneMember:
        """The long-term fine-tuned model saved and scored. Its latency is the one of the confirmation run,
        next to the base's in that same run: absolute ms move with the machine's load, the ratio does not."""
        final_ms, meets = confirmation["final_ms"], confirmation["confirmed"]
        final_whdr = self.whdr(final)
        test_whdr = self.whdr(final, self.test_entries) if self.test_entries else None
        metrics = {"val_whdr": final_whdr, "test_whdr": test_whdr, "measured_ms": final_ms, "target_ms": target}
        meta = {"trained": True, "name": f"{final.config.name}-pruned", "pruned_from": str(self.checkpoint),
                "metrics": metrics}  # fmt: skip
        final_ckpt = save_checkpoint(self.out / "final.pt", final, meta)
        self.log(
            f"final: {final_ms:.3f} ms vs the base's {confirmation['base_ms']:.3f} ms in the same paired run "
            f"(target {target:.3f} ms when the run started), val WHDR {final_whdr:.4f}, "
            f"{count_parameters(final):,} params -> {final_ckpt}"
        )
        return PruneMember(str(final_ckpt), str(final_tflite), final_ms, final_whdr, count_parameters(final),
                           test_whdr=test_whdr, meets_target=meets)  # fmt: skip
