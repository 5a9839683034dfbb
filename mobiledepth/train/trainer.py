"""``mobiledepth train --config FILE.toml``: the paper's recipe (§3.2-§4.1).

Adam with step decay per stage, ranking / improved ranking / Mannequin-Challenge losses, intermediate
predictions with fixed weights inside each term, optional distillation (pixel-wise RMSE on every
prediction + pair-wise feature loss) and Lee & Kim rebalancing of the terms (hard first). Mixed
precision on CUDA. Multi-GPU / multi-node through PyTorch DDP under ``torchrun`` (gloo on CPU).

Resumability: data order and augmentation are functions of (seed, epoch, index), and the training
state (weights, optimiser, scheduler, scaler, rebalancer, RNG) is written atomically after every
epoch, so ``--resume`` after Ctrl-C or kill continues from the last finished epoch and ends with the
same weights an uninterrupted run would have.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ..data.diw import find_csv, read_diw_csv
from ..errors import MobileDepthError
from ..evaluation import score_entries
from ..fileio import atomic_path
from ..model.checkpoint import config_from_name_or_file, load_checkpoint, save_checkpoint
from ..model.network import MobileDepth, MobileDepthOutput
from ..pause import pause_point
from ..quant.qat import QuantSimulation
from ..seeds import shuffle_seed
from .config import StageConfig, TrainConfig
from .datasets import AugmentConfig, build_dataset, collate
from .losses import (
    improved_ranking_loss,
    mc_loss,
    pairwise_feature_loss,
    pixelwise_rmse,
    ranking_loss,
    ssi_loss,
    with_intermediate,
)
from .rebalance import LossRebalancer, RebalanceConfig
from .teacher import Teacher

STATE_FORMAT = "mobiledepth-train-state"


def optimizer_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: "torch.amp.GradScaler | None") -> None:
    """One backward + update, through the AMP grad scaler when there is one (CUDA mixed precision)."""
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()


class _Dist:
    """Rank/world bookkeeping; a no-op without torchrun."""

    def __init__(self) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.enabled = self.world > 1
        if self.enabled and not dist.is_initialized():
            dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def sync_buffers(self, model: torch.nn.Module) -> None:
        """BatchNorm running statistics from rank 0. DDP broadcasts buffers at the START of each forward,
        so after the last step every rank holds its own batch's statistics; without this the replicas'
        saved models would differ in their BN buffers (parameters are identical either way)."""
        if self.enabled:
            for buffer in model.buffers():
                dist.broadcast(buffer, 0)

    def mean(self, t: torch.Tensor) -> torch.Tensor:
        if self.enabled:
            t = t.clone()
            dist.all_reduce(t)
            t /= self.world
        return t


@dataclass
class _StageRun:
    """Everything one training stage builds before its first epoch (and restores on resume)."""

    dataset: Any
    teacher: Any
    val_entries: list
    ddp_model: Any
    optimizer: Any
    scheduler: Any
    scaler: Any
    use_amp: bool
    names: list[str]
    rebalancer: Any
    steps: int
    event_steps: set[int]
    start_epoch: int = 0

    def restore(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        if self.rebalancer is not None and state["rebalancer"]:
            self.rebalancer.load_state_dict(state["rebalancer"])
        torch.set_rng_state(state["torch_rng"])
        self.start_epoch = state["epoch"]


class Trainer:
    def __init__(
        self, config: TrainConfig, out: str | Path | None = None, resume: bool = False, quiet: bool = False
    ) -> None:
        self.config = config
        self.out = Path(out or config.run.out)
        self.resume = resume
        self.quiet = quiet
        self.dist = _Dist()
        if config.run.threads:
            torch.set_num_threads(config.run.threads)
        self.device = torch.device(f"cuda:{self.dist.local_rank}" if torch.cuda.is_available() else "cpu")
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        self.out.mkdir(parents=True, exist_ok=True)
        self.log_path = self.out / "metrics.jsonl"
        self._qat: QuantSimulation | None = None

    # ---- bookkeeping --------------------------------------------------------------------------
    def log(self, **row: Any) -> None:
        if not self.dist.main:
            return
        row["time"] = time.time()
        with open(self.log_path, "a") as handle:
            handle.write(json.dumps(row) + "\n")
        if self._tb is not None:
            step = row.get("global_step", 0)
            for k, v in row.items():
                if isinstance(v, (int, float)) and k not in ("global_step", "time", "epoch"):
                    self._tb.add_scalar(f"{row.get('stage', 'run')}/{k}", v, step)

    def _build_model(self) -> MobileDepth:
        torch.manual_seed(self.config.run.seed)
        m = self.config.model
        if m.init:
            ckpt = load_checkpoint(m.init)
            if m.act_limit is not None:  # same weights, bounded decoder (fine-tuning makes up the difference)
                ckpt.config = replace(ckpt.config, decoder=replace(ckpt.config.decoder, act_limit=float(m.act_limit)))
            model = ckpt.build(with_heads=True)
        else:
            config = config_from_name_or_file(m.variant)
            if m.act_limit is not None:
                config = replace(config, decoder=replace(config.decoder, act_limit=float(m.act_limit)))
            model = MobileDepth(config)
            if m.encoder_weights:
                from ..model.encoder_weights import load_encoder_weights

                load_encoder_weights(model, m.encoder_weights)
        return model.to(self.device)

    def _save_state(
        self,
        model: MobileDepth,
        stage_index: int,
        epoch: int,
        global_step: int,
        optimizer,
        scheduler,
        scaler,
        rebalancer: LossRebalancer | None,
        history: list[dict[str, Any]],
    ) -> None:
        state = {
            "format": STATE_FORMAT,
            "stage_index": stage_index,
            "epoch": epoch,
            "global_step": global_step,
            "model_config": model.config.to_dict(),
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict() if scaler is not None else None,
            "rebalancer": rebalancer.state_dict() if rebalancer is not None else None,
            "torch_rng": torch.get_rng_state(),
            "history": history,
            "qat": self._qat.state_dict() if self._qat is not None else None,
        }
        with atomic_path(self.out / "train_state.pt") as tmp:
            torch.save(state, tmp)

    def _load_state(self) -> dict[str, Any] | None:
        path = self.out / "train_state.pt"
        if not (self.resume and path.is_file()):
            return None
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise MobileDepthError(
                f"{path}: cannot resume, unreadable training state ({exc.__class__.__name__})"
            ) from None
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise MobileDepthError(f"{path}: not a mobiledepth training state")
        return state

    # ---- validation ---------------------------------------------------------------------------
    def _val_entries(self, stage: StageConfig):
        source = stage.val or stage.train
        try:
            csv = find_csv(source, "val")
        except MobileDepthError:
            return []
        entries = read_diw_csv(csv)
        return entries[: stage.val_limit] if stage.val_limit else entries

    def validate(self, model: MobileDepth, stage: StageConfig, entries) -> float | None:
        if not entries:
            return None
        was_training = model.training
        model.eval()
        h, w = stage.size

        def predict(image: np.ndarray) -> np.ndarray:
            x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)[None])).to(self.device)
            with torch.inference_mode():
                return model(x)[0, 0].float().cpu().numpy()

        counts, _ = score_entries(predict, entries, h, w)
        model.train(was_training)
        return counts.whdr

    # ---- one step -----------------------------------------------------------------------------
    def _terms(
        self,
        stage: StageConfig,
        out: MobileDepthOutput,
        images: torch.Tensor,
        target: dict[str, torch.Tensor],
        teacher: Teacher | None,
    ) -> dict[str, torch.Tensor]:
        preds = [out.depth, *out.aux] if stage.intermediate else [out.depth]
        pairs, mask = target["pairs"], target["pair_mask"]
        if stage.loss == "ranking":
            terms = {"rank": with_intermediate(ranking_loss, preds, pairs, mask)}
        elif stage.loss == "improved_ranking":
            terms = {"rank": with_intermediate(improved_ranking_loss, preds, pairs, mask)}
        else:
            if "depth" not in target:
                raise MobileDepthError(
                    f"stage {stage.name}: the mc loss needs dense depth (data = dense, relative or synth)"
                )
            terms = {
                "mc": with_intermediate(
                    mc_loss, preds, target["depth"], target["depth_mask"], images, a1=stage.mc_a1, a2=stage.mc_a2
                )
            }
        if stage.dense_weight > 0:
            terms["dense"] = stage.dense_weight * with_intermediate(
                ssi_loss, preds, target["depth"], target["depth_mask"]
            )
        if self._qat is not None and stage.qat_consistency > 0:
            with torch.no_grad(), self._qat.float_mode():
                reference = self._qat.model.forward_all(images).depth
            terms["consistency"] = stage.qat_consistency * pixelwise_rmse(out.depth, reference)
        if teacher is not None:
            t = teacher(images, tuple(out.features.shape[-2:]))
            if stage.teacher.pixel:
                terms["pixel"] = with_intermediate(pixelwise_rmse, preds, t.depth)
            if stage.teacher.pair:
                terms["pair"] = pairwise_feature_loss(out.features.float(), t.features, stage.teacher.beta)
        return terms

    # ---- the run ------------------------------------------------------------------------------
    def _tensorboard(self):
        """TensorBoard event files when the optional package is installed (metrics.jsonl is written either
        way); a missing package is said once in metrics.jsonl, not swallowed."""
        self._tb = None
        if not self.dist.main:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:  # the optional package is absent: metrics.jsonl has everything
            self.log(event="tensorboard-off", reason=f"{exc.__class__.__name__}: {exc}")
            return None
        return SummaryWriter(str(self.out / "tensorboard"))

    def run(self) -> Path:
        """The stages in order; the output folder held for this run (a second run into it is refused)."""
        from ..locks import FolderLock

        if not self.dist.main:
            return self._run()
        with FolderLock(self.out, "train"):
            return self._run()

    def _run(self) -> Path:
        self._tb = self._tensorboard()
        state = self._load_state()
        model = self._build_model()
        if state is not None:
            model.load_state_dict(state["model"])
        history: list[dict[str, Any]] = state["history"] if state else []
        global_step = state["global_step"] if state else 0
        start_stage = state["stage_index"] if state else 0
        trained_on: list[str] = []
        for si, stage in enumerate(self.config.stages):
            trained_on.append(f"{stage.name}: {stage.data} {stage.train}")
            if si < start_stage:
                continue
            resume_here = state if state is not None and si == start_stage else None
            if resume_here is not None and resume_here["epoch"] >= stage.epochs:
                continue  # that stage had finished; start the next
            global_step = self._run_stage(si, stage, model, resume_here, history, global_step)
            state = None
        final = self.out / "final.pt"
        if self.dist.enabled:  # each replica's weights, so a run (and the tests) can check they are identical
            with atomic_path(self.out / f"replica_rank{self.dist.rank}.pt") as tmp:
                torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp)
        if self.dist.main:
            metrics = {
                "val_whdr": next((h["val_whdr"] for h in reversed(history) if h.get("val_whdr") is not None), None)
            }
            save_checkpoint(
                final,
                model,
                {
                    "trained": True,
                    "trained_on": trained_on,
                    "metrics": metrics,
                    "seed": self.config.run.seed,
                    "train_config": self.config.source,
                    "name": model.config.name,
                },
            )
            self.log(event="finished", global_step=global_step, **metrics)
        self.dist.barrier()
        if self._tb is not None:
            self._tb.close()
        return final

    def _run_stage(
        self,
        si: int,
        stage: StageConfig,
        model: MobileDepth,
        state: dict[str, Any] | None,
        history: list,
        global_step: int,
    ) -> int:
        """Build the stage, restore its state on resume, train its epochs, end each with a checkpoint."""
        run = self._prepare_stage(stage, model, state)
        progress = self._progress_bar()
        with progress or contextlib.nullcontext():
            for epoch in range(run.start_epoch, stage.epochs):
                global_step, sums = self._train_epoch(run, stage, model, epoch, global_step, progress)
                self._end_epoch(run, si, stage, model, epoch, global_step, sums, history, progress)
        if self._qat is not None:
            self._qat.remove()
            self._qat = None
        return global_step

    def _prepare_stage(self, stage: StageConfig, model: MobileDepth, state: dict[str, Any] | None) -> "_StageRun":
        cfg = self.config.run
        h, w = stage.size
        augment = AugmentConfig() if stage.augment else None
        dataset = build_dataset(stage.data, stage.train, "train", h, w, augment, cfg.seed, stage.pairs_per_image,
                                stage.sigma, stage.disparity)  # fmt: skip
        teacher = None
        if stage.teacher is not None:
            teacher = Teacher(stage.teacher.path, stage.teacher.disparity, stage.teacher.normalise).to(self.device)
        val_entries = self._val_entries(stage) if self.dist.main else []
        if stage.qat:
            self._qat = self._start_qat(model, dataset, stage, state)
        ddp_model = model
        if self.dist.enabled:
            ddp_model = DistributedDataParallel(
                model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        optimizer = torch.optim.Adam(model.parameters(), lr=stage.lr, weight_decay=stage.weight_decay)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=stage.lr_decay_every, gamma=stage.lr_decay)
        use_amp = cfg.amp and self.device.type == "cuda"
        scaler = torch.amp.GradScaler("cuda") if use_amp else None
        names = self._loss_names(stage)
        rebalancer = None
        if stage.rebalance.enabled:
            preset = RebalanceConfig.preset(stage.rebalance.order, events_per_epoch=stage.rebalance.events_per_epoch)
            rebalancer = LossRebalancer(names, preset)
        steps = self._steps_per_epoch(stage, len(dataset))
        n_events = min(stage.rebalance.events_per_epoch, steps)
        # N evenly spaced rebalancing events per epoch
        event_steps = {round((k + 1) * steps / n_events) - 1 for k in range(n_events)} if rebalancer else set()
        run = _StageRun(dataset, teacher, val_entries, ddp_model, optimizer, scheduler, scaler, use_amp, names,
                        rebalancer, steps, event_steps)  # fmt: skip
        if state is not None:
            run.restore(state)
        return run

    @staticmethod
    def _loss_names(stage: StageConfig) -> list[str]:
        names = ["rank" if stage.loss != "mc" else "mc"]
        if stage.dense_weight > 0:
            names.append("dense")
        if stage.teacher:
            names += [n for n, on in (("pixel", stage.teacher.pixel), ("pair", stage.teacher.pair)) if on]
        if stage.qat and stage.qat_consistency > 0:
            names.append("consistency")
        return names

    def _steps_per_epoch(self, stage: StageConfig, n_samples: int) -> int:
        steps = (n_samples // self.dist.world) // stage.batch
        if stage.max_steps_per_epoch:
            steps = min(steps, stage.max_steps_per_epoch)
        if steps < 1:
            raise MobileDepthError(
                f"stage {stage.name}: {n_samples} training samples are fewer than one batch of {stage.batch} per "
                "process"
            )
        return steps

    def _progress_bar(self):
        if not self.dist.main or self.quiet:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[info]}"), TimeRemainingColumn())  # fmt: skip

    def _epoch_loader(self, run: "_StageRun", stage: StageConfig, epoch: int):
        """This rank's shard of a seeded per-epoch permutation: the same batches after a resume."""
        run.dataset.epoch = epoch
        generator = torch.Generator().manual_seed(shuffle_seed(self.config.run.seed, epoch))
        order = torch.randperm(len(run.dataset), generator=generator).tolist()
        mine = order[self.dist.rank :: self.dist.world][: run.steps * stage.batch]
        workers = self.config.run.workers
        return torch.utils.data.DataLoader(
            run.dataset, batch_size=stage.batch, sampler=mine, num_workers=workers, collate_fn=collate, drop_last=True
        )

    def _train_epoch(self, run: "_StageRun", stage, model, epoch: int, global_step: int, progress):
        """One epoch of optimisation steps; returns the global step and the summed loss terms."""
        task = None
        if progress:
            task = progress.add_task(f"{stage.name} epoch {epoch + 1}/{stage.epochs}", total=run.steps, info="")
        model.train()
        sums: dict[str, float] = {}
        for i, (images, target) in enumerate(self._epoch_loader(run, stage, epoch)):
            if i >= run.steps:
                break
            global_step += 1
            term_values, loss = self._train_step(run, stage, images, target)
            for n, v in term_values.items():
                sums[n] = sums.get(n, 0.0) + v
            self._after_step(run, stage, epoch, i, global_step, term_values, loss)
            if task is not None:
                progress.update(task, advance=1, info=" ".join(f"{k} {v:.4f}" for k, v in term_values.items()))
        return global_step, sums

    def _train_step(self, run: "_StageRun", stage, images, target) -> tuple[dict[str, float], torch.Tensor]:
        images = images.to(self.device, non_blocking=True)
        target = {k: v.to(self.device, non_blocking=True) for k, v in target.items()}
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=run.use_amp):
            out = run.ddp_model(images)
            if isinstance(out, torch.Tensor):  # a model without heads (pruned)
                out = MobileDepthOutput(out, [], out)
            terms = self._terms(stage, out, images, target, run.teacher)
        values = self.dist.mean(torch.stack([terms[n].detach().float() for n in run.names]))
        weights = run.rebalancer.weights if run.rebalancer else {n: 1.0 for n in run.names}
        loss = sum(weights[n] * terms[n].float() for n in run.names)
        if not torch.isfinite(loss.detach()):  # stop before the update spreads it into every weight
            raise MobileDepthError(f"{self.out}: stage {stage.name}: the loss became {float(loss.detach())} (lr "
                                   f"{run.scheduler.get_last_lr()[0]:g}); nothing after the last epoch is saved: "
                                   "lower the lr or check the data")  # fmt: skip
        optimizer_step(loss, run.optimizer, run.scaler)
        return {n: float(v) for n, v in zip(run.names, values)}, loss

    def _after_step(self, run: "_StageRun", stage, epoch: int, i: int, global_step: int, term_values, loss) -> None:
        """Loss rebalancing events and the periodic log line."""
        if run.rebalancer is not None:
            run.rebalancer.observe(term_values)
            if i in run.event_steps:
                new = run.rebalancer.event(epoch, global_step)
                self.log(event="rebalance", stage=stage.name, epoch=epoch, global_step=global_step,
                         lam=run.rebalancer.lam(epoch), **{f"w_{k}": v for k, v in new.items()})  # fmt: skip
        if self.dist.main and global_step % self.config.run.log_every == 0:
            self.log(stage=stage.name, epoch=epoch, global_step=global_step, lr=run.scheduler.get_last_lr()[0],
                     loss=float(loss.detach()), **{f"loss_{k}": v for k, v in term_values.items()})  # fmt: skip

    def _end_epoch(self, run: "_StageRun", si, stage, model, epoch: int, global_step: int, sums, history, progress):
        bad = [name for name, p in model.named_parameters() if not torch.isfinite(p.detach()).all()]
        if bad:  # never checkpoint a model that cannot predict
            raise MobileDepthError(f"{self.out}: stage {stage.name} epoch {epoch + 1}: {len(bad)} weight tensor(s) "
                                   f"are not finite (first: {bad[0]}); nothing of this epoch is saved")  # fmt: skip
        run.scheduler.step()
        self.dist.sync_buffers(model)
        val = self.validate(model, stage, run.val_entries) if self.dist.main else None
        summary = {"stage": stage.name, "epoch": epoch + 1, "global_step": global_step, "val_whdr": val,
                   **{f"train_{k}": v / run.steps for k, v in sums.items()}}  # fmt: skip
        if run.rebalancer is not None:
            summary["weights"] = dict(run.rebalancer.weights)
        history.append(summary)
        if self.dist.main:
            # Epoch checkpoint, then state, then the log line: the state may name this checkpoint as a
            # later stage's teacher, so after a kill at any point --resume finds every file it refers to;
            # an 'epoch' line in the log means that epoch can be resumed from.
            meta = {"trained": True, "trained_on": [f"{stage.name}: {stage.data} {stage.train}"],
                    "metrics": {"val_whdr": val}, "epoch": epoch + 1, "name": model.config.name}  # fmt: skip
            save_checkpoint(self.out / f"{stage.name}_epoch{epoch + 1}.pt", model, meta)
            pause_point("train:epoch-checkpoint-written")  # kill -9 here: the state still names the previous epoch
            self._save_state(model, si, epoch + 1, global_step, run.optimizer, run.scheduler, run.scaler,
                             run.rebalancer, history)  # fmt: skip
            self.log(event="epoch", **{k: v for k, v in summary.items() if k != "weights"},
                     **{f"w_{k}": v for k, v in summary.get("weights", {}).items()})  # fmt: skip
            if progress is not None:
                weights = run.rebalancer.weights.items() if run.rebalancer else []
                progress.console.print(
                    f"{stage.name} epoch {epoch + 1}/{stage.epochs}: val WHDR {val if val is None else round(val, 4)}"
                    + (f", weights {', '.join(f'{k} {v:.3f}' for k, v in weights)}" if run.rebalancer else "")
                )
        self.dist.barrier()

    def _start_qat(
        self, model: MobileDepth, dataset, stage: StageConfig, state: dict[str, Any] | None
    ) -> QuantSimulation:
        """Fold BN and attach fake quantisation; ranges from the saved state on resume, else calibrated
        on the first training batches (as the converter calibrates on images)."""
        sim = QuantSimulation(model)
        if state is not None and state.get("qat"):
            sim.load_state_dict(state["qat"])
            return sim
        n = min(len(dataset), stage.batch * stage.qat_calibration_batches)
        batches = [
            collate([dataset[i] for i in range(k, min(k + stage.batch, n))])[0].to(self.device)
            for k in range(0, n, stage.batch)
        ]
        sim.calibrate(batches)
        return sim
