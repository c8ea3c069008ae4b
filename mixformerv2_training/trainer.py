"""The training loop: one process per device (``torchrun`` for several), DDP, AMP, resumable checkpoints.

A run folder holds ``config.yaml`` (resolved), ``log.jsonl`` (losses per log interval), TensorBoard events,
``checkpoints/last.pt`` (model, optimizer, scheduler, scaler, data position, RNG states; written atomically
every epoch and on SIGTERM/SIGINT) and, at the end, ``final.pt`` in the format the tracker loads. With a
``validation`` section, ``validation.json`` (each validated epoch's tracking numbers) and ``best.pt`` (the best
epoch's export, which becomes ``final.pt`` under ``select_best``).
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np
import torch
import torch.distributed as dist
import yaml
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from mixformerv2_core.checkpoint import atomic_torch_save, read_training_state
from mixformerv2_core.errors import InputError

from .data import build_loader, build_training_dataset
from .stages import Stage, build_stage
from .validation import EpochSelector

LAST = "last.pt"
CHECKPOINTS = "checkpoints"  # <run>/checkpoints/last.pt: the state a run resumes from
FINAL = "final.pt"  # <run>/final.pt: the stage's result, what the next stage reads


class DistributedContext:
    """Rank/world from the ``torchrun`` environment; a single process otherwise."""

    def __init__(self) -> None:
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if torch.cuda.is_available():
            self.device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(self.device)
        else:
            self.device = torch.device("cpu")
        if self.world_size > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def close(self) -> None:
        if self.world_size > 1 and dist.is_initialized():
            dist.destroy_process_group()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Every generator's state as tensors and plain Python values, so a resume loads it as data only."""
    kind, keys, position, has_gauss, cached = np.random.get_state()
    numpy_state = (kind, torch.from_numpy(keys.astype(np.int64)), int(position), int(has_gauss), float(cached))
    state = {"python": random.getstate(), "numpy": numpy_state, "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    random.setstate(state["python"])
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.int64).astype(np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def build_optimizer(model: nn.Module, train: Mapping[str, Any]) -> torch.optim.Optimizer:
    """AdamW with two groups: heads at ``lr``, backbone at ``lr * backbone_lr_multiplier`` (frozen excluded)."""
    heads, backbone = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (backbone if "backbone" in name else heads).append(param)
    groups = [{"params": heads, "lr": train["lr"]}]
    if backbone:
        groups.append({"params": backbone, "lr": train["lr"] * train["backbone_lr_multiplier"]})
    return torch.optim.AdamW(groups, lr=train["lr"], weight_decay=train["weight_decay"])


class GracefulStop:
    """Turns SIGTERM/SIGINT into a flag the loop checks after each step (then it checkpoints and leaves)."""

    def __init__(self) -> None:
        self.signum: Optional[int] = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "GracefulStop":
        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                self._previous[signum] = signal.signal(signum, self._handle)
            except ValueError:  # not the main thread: no handlers, training still works
                pass
        return self

    def _handle(self, signum: int, _frame: Any) -> None:
        self.signum = signum

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def progress_bar(iterable, description: str, total: int, initial: int = 0, enabled: bool = True, stream=None):
    """Tqdm that redraws after every step on a terminal (steps take seconds: tqdm's adaptive skipping would leave
    it at 0 for most of an epoch) and writes a line every 30 s into log files.
    """
    stream = stream if stream is not None else sys.stderr
    terminal = hasattr(stream, "isatty") and stream.isatty()
    return tqdm(iterable, desc=description, total=total, initial=initial, disable=not enabled, leave=False,
                file=stream, miniters=1, mininterval=0.0 if terminal else 30.0, dynamic_ncols=terminal)


def refuse_to_overwrite(run_dir: Path) -> None:
    """A fresh run in a folder that holds one would replace its last state, its weights and its validation
    record, and rotate its numbered checkpoints away: the only copy of hours of training.
    """
    held = [name for name in (f"{CHECKPOINTS}/{LAST}", FINAL) if (run_dir / name).is_file()]
    if held:
        raise InputError(f"{run_dir} already holds a run ({', '.join(held)}): --resume continues it; to train "
                         "from the start, delete that folder or choose another with --output-dir")


class Trainer:
    def __init__(self, config: Mapping[str, Any], resume: bool = False) -> None:
        self.config = config
        self.ctx = DistributedContext()
        self.train_cfg = config["train"]
        self.run_dir = Path(config["output_dir"])
        self.ckpt_dir = self.run_dir / CHECKPOINTS
        if not resume:
            refuse_to_overwrite(self.run_dir)
        seed_everything(int(config["seed"]) + self.ctx.rank)
        self.stage: Stage = build_stage(config).to(self.ctx.device)
        self.model = self.stage.model
        self.net: nn.Module = self.model
        if self.ctx.world_size > 1:
            self.net = DistributedDataParallel(self.model, device_ids=[self.ctx.local_rank] if self.ctx.device.type == "cuda" else None,
                                               find_unused_parameters=self.stage.find_unused_parameters)
        self.optimizer = build_optimizer(self.model, self.train_cfg)
        self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, step_size=self.train_cfg["lr_drop_epoch"],
                                                         gamma=self.train_cfg["lr_drop_factor"])
        self.amp_dtype = getattr(torch, self.train_cfg["amp_dtype"])
        self.use_amp = bool(self.train_cfg["amp"]) and self.ctx.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp and self.amp_dtype == torch.float16)
        data = config["data"]
        per_rank_batch = int(data["batch_size"])
        self.dataset = build_training_dataset(data, self.stage.template_size, self.stage.search_size, self.stage.patch_size,
                                     seed=int(config["seed"]), score_labels=self.stage.score_labels)
        self.loader, self.sampler = build_loader(self.dataset, per_rank_batch, int(data["num_workers"]), self.ctx.rank,
                                                 self.ctx.world_size, pin_memory=self.ctx.device.type == "cuda")
        self.loader.generator = torch.Generator().manual_seed(int(config["seed"]))  # keeps the global RNG untouched
        self.epoch, self.batch_in_epoch, self.global_step = 1, 0, 0
        if resume:
            configured_lrs = list(self.scheduler.base_lrs)
            self._load(self.ckpt_dir / LAST)
            self._follow_configured_schedule(configured_lrs)
        self.selector = EpochSelector(config["validation"], self.run_dir, resume=resume)
        self.writer = None
        if self.ctx.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "config.yaml").write_text(yaml.safe_dump(dict(config), sort_keys=False))
            try:
                from torch.utils.tensorboard import SummaryWriter
                self.writer = SummaryWriter(str(self.run_dir / "tensorboard"))
            except ImportError:
                print("tensorboard is not installed: no TensorBoard logs (pip install tensorboard)")

    # ------------------------------------------------------------------------------------- checkpoints
    def _state(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
            "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch, "global_step": self.global_step,
            "rng": rng_state(), "config": dict(self.config), "stage": self.config["stage"],
        }

    def save(self) -> Optional[Path]:
        """Atomic write of ``last.pt`` (and a numbered copy at epoch ends); rank 0 only."""
        if not self.ctx.is_main:
            return None
        path = self.ckpt_dir / LAST
        atomic_torch_save(self._state(), path)
        if self.batch_in_epoch == 0 and self.epoch > 1:
            numbered = self.ckpt_dir / f"epoch_{self.epoch - 1:04d}.pt"
            atomic_torch_save(self._state(), numbered)
            kept = sorted(self.ckpt_dir.glob("epoch_*.pt"))
            for old in kept[: max(0, len(kept) - int(self.train_cfg["keep_checkpoints"]))]:
                old.unlink(missing_ok=True)
        return path

    def _load(self, path: Path) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"--resume: no checkpoint at {path}")
        state = read_training_state(path)
        if state.get("stage") != self.config["stage"]:
            raise ValueError(f"{path} is a {state.get('stage')!r} run, not {self.config['stage']!r}")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.batch_in_epoch = state["epoch"], state["batch_in_epoch"]
        self.global_step = state["global_step"]
        set_rng_state(state["rng"])

    def _follow_configured_schedule(self, configured_lrs: list[float]) -> None:
        """A resumed run keeps the learning-rate schedule of its configuration, not the checkpoint's.

        The scheduler's saved state holds the drop epoch, factor and rates the run started with; loaded as they
        are, a run continued with a later drop (``train.epochs`` and ``train.lr_drop_epoch`` raised) or another
        ``train.lr`` silently kept the old schedule. Unchanged, the checkpoint's rates stand bit for bit.
        """
        scheduler = self.scheduler
        step_size, gamma = int(self.train_cfg["lr_drop_epoch"]), float(self.train_cfg["lr_drop_factor"])
        saved = (scheduler.step_size, scheduler.gamma, list(scheduler.base_lrs))
        if saved == (step_size, gamma, configured_lrs):
            return
        scheduler.step_size, scheduler.gamma, scheduler.base_lrs = step_size, gamma, list(configured_lrs)
        factor = gamma ** (scheduler.last_epoch // step_size)
        for group, base in zip(self.optimizer.param_groups, configured_lrs):
            group["lr"] = base * factor
        if self.ctx.is_main:
            print(f"resumed at epoch {self.epoch} with the configured learning-rate schedule (drop after epoch "
                  f"{step_size}, factor {gamma:g}; the checkpoint's: after {saved[0]}, factor {saved[1]:g}): "
                  f"learning rate now {self.optimizer.param_groups[0]['lr']:g}")

    # ------------------------------------------------------------------------------------------ loop
    def _to_device(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.ctx.device, non_blocking=True) for k, v in batch.items()}

    def _step(self, batch: Mapping[str, torch.Tensor]) -> dict[str, float]:
        autocast = torch.autocast("cuda", dtype=self.amp_dtype) if self.use_amp else nullcontext()
        with autocast:
            terms = self.stage.losses(self.net, self._to_device(batch))
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(terms["total"]).backward()
        if self.train_cfg["grad_clip"]:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.train_cfg["grad_clip"])
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return {k: float(v.detach()) for k, v in terms.items()}

    def _log(self, sums: dict[str, float], count: int, samples_per_s: float) -> None:
        means = {k: v / count for k, v in sums.items()}
        record = {"step": self.global_step, "epoch": self.epoch, "lr": self.optimizer.param_groups[0]["lr"],
                  "samples_per_s": samples_per_s, **means}
        with open(self.run_dir / "log.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for key, value in record.items():
                if key not in ("step", "epoch"):
                    self.writer.add_scalar(f"train/{key}", value, self.global_step)

    def _meta(self) -> dict[str, Any]:
        return {"stage": self.config["stage"], "seed": self.config["seed"], "steps": self.global_step,
                "epochs_done": self.epoch - 1}

    def _validate(self, finished_epoch: int, last_epoch: int) -> None:
        """Rank 0 tracks the validation scenes (the others wait at the barrier); runs before the epoch's save,
        so that a resume never repeats or skips one.
        """
        if not self.selector.due(finished_epoch, last_epoch):
            return
        if self.ctx.is_main:
            entry = self.selector.validate(
                finished_epoch, lambda path: self.stage.export(path, {**self._meta(), "validation_epoch": finished_epoch}),
                self.stage.tracker_factory)
            if entry is not None:
                self._log_validation(entry)
        if self.ctx.world_size > 1:
            dist.barrier()

    def _log_validation(self, entry: Mapping[str, Any]) -> None:
        if self.writer is not None:
            for key in ("auc", "mean_iou", "score_roc_auc"):
                self.writer.add_scalar(f"validation/{key}", entry[key], entry["epoch"])
        best = self.selector.best or {}
        print(f"validation after epoch {entry['epoch']}: AUC {entry['auc']:.3f}, score ROC AUC "
              f"{entry['score_roc_auc']:.3f} (best: epoch {best.get('epoch')})", flush=True)

    def _export_final(self) -> Path:
        """The best validated epoch's export when validation chooses, else the network as it ended."""
        final = self.run_dir / FINAL
        if self.config["validation"]["select_best"] and self.selector.best is not None \
                and self.selector.best_path.is_file():
            shutil.copyfile(self.selector.best_path, final)
            return final
        return self.stage.export(final, self._meta())

    def fit(self) -> dict[str, Any]:
        """Train to the end (or until ``max_steps`` or a signal); returns a summary."""
        epochs, max_steps = int(self.train_cfg["epochs"]), self.train_cfg["max_steps"]
        interval = int(self.train_cfg["log_interval"])
        stopped_by, last_loss, started = None, None, time.perf_counter()
        with GracefulStop() as stop:
            while self.epoch <= epochs and stopped_by is None:
                self.stage.set_epoch(self.epoch)
                self.net.train()
                self.sampler.set_position(self.epoch, self.batch_in_epoch)
                sums: dict[str, float] = {}
                count, tick = 0, time.perf_counter()
                bar = progress_bar(self.loader, f"epoch {self.epoch}/{epochs}", self.sampler.batches,
                                   self.batch_in_epoch, enabled=self.ctx.is_main)
                for batch in bar:
                    terms = self._step(batch)
                    self.batch_in_epoch += 1
                    self.global_step += 1
                    count += 1
                    for key, value in terms.items():
                        sums[key] = sums.get(key, 0.0) + value
                    if self.ctx.is_main and (count == interval or self.batch_in_epoch == self.sampler.batches):
                        rate = count * self.loader.batch_size * self.ctx.world_size / (time.perf_counter() - tick)
                        self._log(sums, count, rate)
                        bar.set_postfix(loss=f"{sums['total'] / count:.3f}", refresh=False)
                        last_loss = sums["total"] / count
                        sums, count, tick = {}, 0, time.perf_counter()
                    if stop.signum is not None:
                        stopped_by = f"signal {stop.signum}"
                    elif max_steps is not None and self.global_step >= int(max_steps):
                        stopped_by = "max_steps"
                    if stopped_by:
                        break
                bar.close()
                if self.batch_in_epoch >= self.sampler.batches:
                    self.epoch += 1
                    self.batch_in_epoch = 0
                    self.scheduler.step()
                    self._validate(self.epoch - 1, epochs)
                if stopped_by or (self.epoch - 1) % int(self.train_cfg["checkpoint_every"]) == 0 or self.epoch > epochs:
                    self.save()
        summary = {"epochs_done": self.epoch - 1, "epochs": epochs, "batches_into_next_epoch": self.batch_in_epoch,
                   "global_step": self.global_step, "stopped_by": stopped_by, "last_loss": last_loss,
                   "seconds": time.perf_counter() - started, "run_dir": str(self.run_dir)}
        finished = stopped_by is None or stopped_by == "max_steps"
        if finished and self.ctx.is_main:
            summary["final"] = str(self._export_final())
            summary["selected_epoch"] = (self.selector.best or {}).get("epoch")
        if self.writer is not None:
            self.writer.close()
        self.ctx.close()
        return summary
