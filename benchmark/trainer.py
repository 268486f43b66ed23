"""The training loop every model goes through, so speed and convergence are comparable.

Determinism without global state: batch ``t`` comes from ``np.random.default_rng([seed, t])`` and
dropout at step ``t`` runs under an RNG forked and seeded with (seed, t). A run resumed from a
checkpoint therefore continues exactly as the uninterrupted run would have.
"""

from __future__ import annotations

import contextlib
import math
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .config import RunConfig
from .errors import FptError
from .hashing import sha256_file
from .model import ModelAdapter, get_adapter
from .profiles import Budget
from .provenance import pick_device
from .record import finished_run_exists, write_run_records
from .results import checkpoint_path
from .task import Batch, Task, get_task


@contextlib.contextmanager
def seeded(seed: int, device: torch.device):
    """Fork torch's RNG, seed it, and restore it afterwards: determinism without leaking state."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def step_seed(seed: int, step: int) -> int:
    return (seed * 1_000_003 + step + 1) % (2**63)


@dataclass
class RunState:
    """Everything a checkpoint must hold to continue exactly."""

    step: int = 0
    train_time_s: float = 0.0
    best_value: float = -math.inf
    best_step: int = 0
    best_state: dict[str, torch.Tensor] = field(default_factory=dict)
    steps_to_threshold: int | None = None
    curve: list[dict] = field(default_factory=list)
    loss_sum: float = 0.0
    loss_n: int = 0


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


def check_forward_signature(name: str, model: nn.Module) -> None:
    import inspect

    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return
    positional = [p for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    if len(positional) < 2 and not any(p.kind == p.VAR_POSITIONAL for p in positional):
        raise FptError(f"model '{name}' module must define forward(x, mask) (mask may be None); add the mask argument")


def count_params(model: nn.Module) -> tuple[int, int]:
    """(total, trainable), counted by the harness so no adapter can misreport them."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable


def peak_mem_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # process peak RSS (Linux: KiB)


class Trainer:
    """Runs one RunConfig to completion (or divergence), resuming from a checkpoint if present."""

    def __init__(self, cfg: RunConfig, results_dir: Path | str, *, progress: bool = True,
                 on_step: Callable[[int], None] | None = None, task: Task | None = None,
                 adapter: ModelAdapter | None = None) -> None:
        self.cfg = cfg
        self.results_dir = Path(results_dir)
        self.progress = progress
        self.on_step = on_step  # test hook, e.g. to simulate a kill
        self.task = task or get_task(cfg.task)
        self.adapter = adapter or get_adapter(cfg.model, None if cfg.backbone == "none" else cfg.backbone, **cfg.model_options)
        self.device = pick_device(cfg.device)
        self.budget: Budget = cfg.budget

    # -- pieces ------------------------------------------------------------------------------
    def _autocast(self):
        if self.device.type == "cuda" and self.budget.precision != "fp32":
            dtype = torch.bfloat16 if self.budget.precision == "bf16" else torch.float16
            return torch.autocast("cuda", dtype=dtype)
        return contextlib.nullcontext()

    def _forward(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        b = batch.to(self.device)
        with self._autocast():
            out = model(b.x, b.mask)
        spec = self.task.spec
        want = (len(batch), spec.output_tokens, spec.output_dim)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != want:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise FptError(f"model '{self.adapter.name or self.cfg.model}' returned output {got} for task '{spec.name}', expected {want} "
                           "(batch, spec.output_tokens, spec.output_dim); fix the adapter's head")
        return out

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> tuple[float, float, torch.Tensor, list[torch.Tensor]]:
        """Full-split evaluation: (metric, loss, per-example scores, predictions)."""
        model.eval()
        scores, preds, loss_sum, n = [], [], 0.0, 0
        for batch in self.task.eval_batches(split, self.budget.eval_batch_size):
            out = self._forward(model, batch).float().cpu()
            loss_sum += float(self.task.loss(out, batch.y)) * len(batch)
            n += len(batch)
            scores.append(self.task.scores(out, batch.y))
            preds.append(self.task.logits_view(out).argmax(-1).reshape(len(batch), -1))
        model.train()
        all_scores = torch.cat(scores)
        return float(all_scores.double().mean()), loss_sum / n, all_scores, preds

    def _save_checkpoint(self, model, opt, state: RunState) -> None:
        from .atomic import atomic_path

        payload = {
            "config_hash": self.cfg.config_hash,
            "model": trainable_state(model),
            "optimizer": opt.state_dict(),
            "state": {k: v for k, v in vars(state).items()},
        }
        path = checkpoint_path(self.results_dir, self.cfg.run_id)
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)
            digest = sha256_file(str(tmp))
        with atomic_path(path.with_suffix(".sha256")) as tmp:
            tmp.write_text(digest)

    def _load_checkpoint(self, model, opt) -> RunState | None:
        path = checkpoint_path(self.results_dir, self.cfg.run_id)
        if not path.exists():
            return None
        sidecar = path.with_suffix(".sha256")
        if not sidecar.exists() or sidecar.read_text().strip() != sha256_file(str(path)):
            raise FptError(f"checkpoint {path} fails its checksum (truncated or corrupted); delete it to restart the run")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # weights_only refuses anything but tensors and plain containers
            raise FptError(f"checkpoint {path} is unreadable ({type(exc).__name__}); delete it to restart the run") from exc
        if payload.get("config_hash") != self.cfg.config_hash:
            raise FptError(f"checkpoint {path} belongs to another config; delete it to restart the run")
        model.load_state_dict(payload["model"], strict=False)
        opt.load_state_dict(payload["optimizer"])
        return RunState(**payload["state"])

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> str:
        """Train, evaluate, write results. Returns the status: finished, diverged or skipped."""
        cfg, budget, task = self.cfg, self.budget, self.task
        if finished_run_exists(self.results_dir, cfg):
            return "skipped"
        task.require_data()
        with seeded(cfg.seed, self.device):
            model = self.adapter.build(task.spec, cfg.seed)
        model.to(self.device).train()
        check_forward_signature(self.adapter.name or self.cfg.model, model)
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise FptError(f"model '{cfg.model}' has no trainable parameters; train at least the output layer")
        opt = torch.optim.Adam(params, lr=budget.lr)
        scaler = torch.amp.GradScaler("cuda", enabled=self.device.type == "cuda" and budget.precision == "fp16")
        state = self._load_checkpoint(model, opt) or RunState()
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)

        status = "finished"
        if state.step == 0 and not state.curve and budget.eval_at_start:
            self._eval_point(model, state)
        bar = tqdm(total=budget.steps, initial=state.step, disable=not self.progress, desc=cfg.run_id[:60], leave=False)
        while state.step < budget.steps:
            t0 = time.perf_counter()
            batch = task.train_batch(np.random.default_rng([cfg.seed, state.step]), budget.batch_size, state.step, cfg.seed)
            with seeded(step_seed(cfg.seed, state.step), self.device):
                out = self._forward(model, batch)
                loss = task.loss(out.float(), batch.y.to(self.device))
            if not torch.isfinite(loss):
                status = "diverged"
                break
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(params, budget.grad_clip)
            scaler.step(opt)
            scaler.update()
            state.train_time_s += time.perf_counter() - t0
            state.loss_sum += float(loss.detach())
            state.loss_n += 1
            state.step += 1
            bar.update(1)
            if state.step % budget.eval_every == 0 or state.step == budget.steps:
                self._eval_point(model, state)
                bar.set_postfix(loss=f"{state.curve[-1]['train_loss']:.3f}", val=f"{state.curve[-1]['value']:.3f}")
            if state.step % budget.checkpoint_every == 0 and state.step < budget.steps:
                self._save_checkpoint(model, opt, state)
            if self.on_step is not None:
                self.on_step(state.step)
        bar.close()

        total, trainable = count_params(model)
        if status == "finished":
            model.load_state_dict(state.best_state, strict=False)
            test_value, test_loss, scores, preds = self.evaluate(model, "test")
            val_value = state.best_value
            val_loss = next(r["val_loss"] for r in state.curve if r["step"] == state.best_step)
        else:
            test_value = test_loss = val_value = val_loss = float("nan")
            scores, preds = None, None
        write_run_records(
            self.results_dir, cfg, self.adapter, task, status=status, state=state,
            values={("val", task.spec.metric): val_value, ("val", "loss"): val_loss,
                    ("test", task.spec.metric): test_value, ("test", "loss"): test_loss},
            n_params=(total, trainable), peak_mem_mb=peak_mem_mb(self.device), device=str(self.device),
            scores=scores, preds=preds,
        )
        checkpoint_path(self.results_dir, cfg.run_id).unlink(missing_ok=True)
        checkpoint_path(self.results_dir, cfg.run_id).with_suffix(".sha256").unlink(missing_ok=True)
        return status

    def _eval_point(self, model: nn.Module, state: RunState) -> None:
        value, loss, _, _ = self.evaluate(model, "val")
        train_loss = state.loss_sum / state.loss_n if state.loss_n else float("nan")
        state.loss_sum, state.loss_n = 0.0, 0
        state.curve.append({"step": state.step, "value": value, "val_loss": loss, "train_loss": train_loss,
                            "wall_time_s": state.train_time_s})
        if value > state.best_value:
            state.best_value, state.best_step = value, state.step
            state.best_state = trainable_state(model)
        if state.steps_to_threshold is None and value >= self.task.spec.threshold:
            state.steps_to_threshold = state.step
