"""The training loop every model goes through, so speed and convergence are comparable.

Determinism without global state: batch ``t`` comes from ``np.random.default_rng([seed, t])`` and
dropout at step ``t`` runs under an RNG forked and seeded with (seed, t). A run resumed from a
checkpoint therefore continues exactly as the uninterrupted run would have (on the same machine and
precision: ``precision=auto`` resolves to bf16 autocast where the hardware has it, and a checkpoint
refuses to resume under another precision).

Compute is recorded beside accuracy: the precision actually used, training FLOPs (torch's FLOP
counter on one real training step, times the steps), wall time split into training and evaluation,
peak memory of this run and the intra-op threads.

On CUDA: at most one host sync per training step (the loss is read once, after backward, to decide
whether to step), the next batch is built, pinned and copied (``non_blocking``) while the device
works, and deterministic algorithms are requested (``cuda_env.deterministic_cuda``: warn-only where
torch has no deterministic kernel, so exact resume on CUDA holds only where every op has one; exact
resume is guaranteed on CPU). The GPU model, driver, CUDA and cuDNN versions are recorded in ``device``.
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
from .cuda_env import deterministic_cuda, device_description
from .errors import FptError
from .flops import count_step_flops, extra_flop_formulas  # noqa: F401  (re-exported: tests and the bench use them here)
from .hashing import sha256_file
from .model import ModelAdapter, get_adapter
from .profiles import Budget
from .frozen_cast import cast_frozen_matmul_weights
from .precision import decide as decide_precision
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
    wall_time_s: float = 0.0  # everything: training, evaluation, checkpoints (over all resumed parts)
    eval_time_s: float = 0.0
    flops_per_step: int | None = None  # counted on the first training step this run took


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


def reset_peak_mem(device: torch.device) -> None:
    """Start a new peak-memory window so a run in a sweep is not charged with its predecessors' peak."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    with contextlib.suppress(OSError):  # Linux: "5" resets the process's peak RSS (VmHWM)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")


def peak_mem_mb(device: torch.device) -> float:
    """Peak memory since the last reset: CUDA allocator peak, else peak RSS of this process."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # process peak RSS (Linux: KiB)


def precision_label(precision: str, note: str = "", tf32: bool = False) -> str:
    """The recorded precision: what the run computed in, what of the model did not ('+rnn-fp32'), '+tf32'."""
    return "+".join([precision] + ([note] if note else []) + (["tf32"] if tf32 else []))


def intra_op_threads() -> int:
    """Threads torch uses for one op. Left at torch's default (physical cores) unless the user set
    OMP_NUM_THREADS; recorded because it changes speed (never numbers)."""
    return torch.get_num_threads()


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
        if self.budget.train_fraction != 1.0:  # data efficiency: only dataset tasks can train on a subset
            if not hasattr(self.task, "set_train_fraction"):
                raise FptError(f"task '{cfg.task}' has no fixed training split to subsample; "
                               "train_fraction applies to dataset tasks only, drop it")
            self.task.set_train_fraction(self.budget.train_fraction)
        decision = decide_precision(self.budget.precision, self.device, self.adapter.precision_workload)
        self.precision, self.precision_ratio = decision.precision, decision.ratio
        self.precision_reason = decision.reason
        # TF32 matmuls for what stays fp32 on CUDA under `auto` (recorded in the precision label)
        self.tf32 = self.device.type == "cuda" and self.budget.precision == "auto"

    _counting = False  # True while the FLOP counter observes a step
    _precision_note = ""  # what of the model does not follow the run's precision (the module's precision_note)
    cast_frozen = True  # frozen matmul weights stored in the autocast dtype once (benchmark/frozen_cast.py)

    def prepare_model(self, model: nn.Module) -> None:
        """Store frozen matmul weights in the autocast dtype once; the same numbers, no per-step recast."""
        if self.cast_frozen and self.precision in ("bf16", "fp16"):
            cast_frozen_matmul_weights(model, torch.bfloat16 if self.precision == "bf16" else torch.float16)

    # -- pieces ------------------------------------------------------------------------------
    def grad_scaler(self) -> torch.amp.GradScaler:
        """The loss scaler, on only for fp16 on CUDA (fp16 gradients underflow; bf16 and fp32 need none).
        One home: the loop and ``fptbench bench`` take the same one."""
        return torch.amp.GradScaler("cuda", enabled=self.device.type == "cuda" and self.precision == "fp16")

    @property
    def precision_label(self) -> str:
        """What the results record: the precision actually computed in (e.g. bf16, fp32, bf16+tf32)."""
        return precision_label(self.precision, self._precision_note, self.tf32)

    def _note_precision(self, model: nn.Module) -> None:
        """Ask the built model what of it does not compute in the run's precision (e.g. the cuDNN LSTM's
        recurrence in fp32 under bf16 autocast); the answer becomes part of the recorded precision."""
        note = getattr(model, "precision_note", None)
        self._precision_note = note(self.device.type, self.precision) if callable(note) else ""

    def _autocast(self):
        """bf16/fp16 autocast on CPU and CUDA (matmuls in low precision, reductions and losses fp32)."""
        if self.precision in ("bf16", "fp16"):
            dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
            return torch.autocast(self.device.type, dtype=dtype)
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def _matmul_mode(self):
        """Allow TF32 on CUDA for the run only, restoring the process-wide flag afterwards."""
        if not self.tf32:
            yield
            return
        old = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = True
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32 = old

    def _forward(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        b = batch.to(self.device)
        compiled = getattr(self, "_compiled", None)
        if compiled is not None and not self._counting:  # FLOPs are counted on the eager module
            model = compiled
        with self._autocast():
            out = model(b.x, b.mask)
        spec = self.task.spec
        want = (len(batch), spec.output_tokens, spec.output_dim)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != want:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise FptError(f"model '{self.adapter.name or self.cfg.model}' returned output {got} for task '{spec.name}', expected {want} "
                           "(batch, spec.output_tokens, spec.output_dim); fix the adapter's head")
        return out

    def evaluate(self, model: nn.Module, split: str) -> tuple[float, float, torch.Tensor, list[torch.Tensor]]:
        """Full-split evaluation: (metric, loss, per-example scores, predictions).

        Under inference mode (no autograd bookkeeping), outputs stay on the device and loss, scores
        and predictions are computed once over the whole split: no host round trip per batch.
        """
        model.eval()
        outs, ys = [], []
        with torch.inference_mode():
            for batch in self.task.eval_batches(split, self.budget.eval_batch_size):
                outs.append(self._forward(model, batch).float())
                ys.append(batch.y)
            out = torch.cat(outs).cpu()
            y = torch.cat(ys)
            loss = float(self.task.loss(out, y))
            scores = self.task.scores(out, y)
            preds = self.task.logits_view(out).argmax(-1).reshape(len(y), -1)
        model.train()
        return float(scores.double().mean()), loss, scores, [preds]

    def _save_checkpoint(self, model, opt, state: RunState, scaler: torch.amp.GradScaler | None = None) -> None:
        from .atomic import atomic_path

        payload = {
            "config_hash": self.cfg.config_hash,
            "precision": self.precision_label,
            "model": trainable_state(model),
            "optimizer": opt.state_dict(),
            "state": {k: v for k, v in vars(state).items()},
        }
        if scaler is not None and scaler.is_enabled():  # fp16: the loss scale and its growth tracker resume too
            payload["scaler"] = scaler.state_dict()
        path = checkpoint_path(self.results_dir, self.cfg.run_id)
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)
            digest = sha256_file(str(tmp))
        with atomic_path(path.with_suffix(".sha256")) as tmp:
            tmp.write_text(digest)

    def _load_checkpoint(self, model, opt, scaler: torch.amp.GradScaler | None = None) -> RunState | None:
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
        if payload.get("precision", self.precision_label) != self.precision_label:
            raise FptError(f"checkpoint {path} was computed in {payload['precision']} but this machine runs "
                           f"{self.precision_label}; resume it on a machine with that precision or delete it to restart the run")
        model.load_state_dict(payload["model"], strict=False)
        opt.load_state_dict(payload["optimizer"])
        if scaler is not None and scaler.is_enabled() and "scaler" in payload:
            scaler.load_state_dict(payload["scaler"])
        return RunState(**payload["state"])

    def train_step(self, model: nn.Module, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
                   params: list[nn.Parameter], batch: Batch, step: int,
                   count_flops: bool = False, prefetch: Callable[[], None] | None = None) -> tuple[torch.Tensor, int | None]:
        """One training step exactly as every run takes it (also what ``fptbench bench`` times).

        Forward under autocast and the step's forked RNG, loss in fp32, backward, then the one host
        read of the loss; clip and Adam only when it is finite (a non-finite loss never reaches the
        weights). The batch moves to the device once (``x``, ``y`` and the mask). ``prefetch`` runs
        while the device works, before that read (the loop builds the next batch there on CUDA).
        With ``count_flops`` the forward and backward run under torch's FLOP counter (same kernels,
        same numbers). Returns the loss as a CPU scalar tensor (reading it syncs nothing).
        """
        box: list[torch.Tensor] = []
        b = batch.to(self.device, non_blocking=self.device.type == "cuda")

        def forward_backward() -> None:
            out = self._forward(model, b)
            loss = self.task.loss(out.float(), b.y)
            box.append(loss)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()

        flops = None
        with seeded(step_seed(self.cfg.seed, step), self.device):
            if count_flops:
                self._counting = True
                try:
                    flops = count_step_flops(forward_backward)
                finally:
                    self._counting = False
            else:
                forward_backward()
        if prefetch is not None:
            prefetch()
        value = float(box[0].detach())  # the step's one host sync
        if math.isfinite(value):
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(params, self.budget.grad_clip)
            scaler.step(opt)
            scaler.update()
        return torch.tensor(value), flops

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> str:
        """Train, evaluate, write results. Returns the status: finished, diverged or skipped."""
        if finished_run_exists(self.results_dir, self.cfg):
            return "skipped"
        self.task.require_data()
        with self._matmul_mode():
            return self._run()

    def _run(self) -> str:
        cfg, budget, task = self.cfg, self.budget, self.task
        t_start = time.perf_counter()
        if self.device.type == "cuda":  # before the first CUDA work: cuBLAS reads its workspace setting once
            deterministic_cuda()
        with seeded(cfg.seed, self.device):
            model = self.adapter.build(task.spec, cfg.seed)
        model.to(self.device).train()
        self.prepare_model(model)
        self._note_precision(model)
        check_forward_signature(self.adapter.name or self.cfg.model, model)
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise FptError(f"model '{cfg.model}' has no trainable parameters; train at least the output layer")
        if budget.compile:  # the compiled wrapper runs forwards; `model` keeps the state-dict names
            self._compiled = torch.compile(model)
        opt = torch.optim.Adam(params, lr=budget.lr)
        scaler = self.grad_scaler()
        state = self._load_checkpoint(model, opt, scaler) or RunState()
        reset_peak_mem(self.device)
        wall_base = state.wall_time_s

        def wall() -> float:
            return wall_base + time.perf_counter() - t_start

        status = "finished"
        if state.step == 0 and not state.curve and budget.eval_at_start:
            self._eval_point(model, state)
        bar = tqdm(total=budget.steps, initial=state.step, disable=not self.progress, desc=cfg.run_id[:60], leave=False)
        cuda = self.device.type == "cuda"
        ahead: dict[int, Batch] = {}  # CUDA: the next batch, built, pinned and on its way while a step runs

        def batch_at(step: int) -> Batch:
            batch = task.train_batch(np.random.default_rng([cfg.seed, step]), budget.batch_size, step, cfg.seed)
            return batch.pin().to(self.device, non_blocking=True) if cuda else batch

        def prefetch_next(step: int) -> Callable[[], None] | None:
            if not cuda or step + 1 >= budget.steps:
                return None
            return lambda: ahead.__setitem__(step + 1, batch_at(step + 1))

        while state.step < budget.steps:
            t0 = time.perf_counter()
            batch = ahead.pop(state.step, None)
            if batch is None:
                batch = batch_at(state.step)
            ahead.clear()
            loss, flops = self.train_step(model, opt, scaler, params, batch, state.step,
                                          count_flops=state.flops_per_step is None, prefetch=prefetch_next(state.step))
            if flops is not None:  # the counter observed this real step; its numbers are unchanged
                state.flops_per_step = flops
            if not torch.isfinite(loss):
                status = "diverged"
                break
            state.train_time_s += time.perf_counter() - t0
            state.loss_sum += float(loss.detach())
            state.loss_n += 1
            state.step += 1
            bar.update(1)
            if state.step % budget.eval_every == 0 or state.step == budget.steps:
                self._eval_point(model, state)
                bar.set_postfix(loss=f"{state.curve[-1]['train_loss']:.3f}", val=f"{state.curve[-1]['value']:.3f}")
            if state.step % budget.checkpoint_every == 0 and state.step < budget.steps:
                state.wall_time_s = wall()
                self._save_checkpoint(model, opt, state, scaler)
            if self.on_step is not None:
                self.on_step(state.step)
        bar.close()

        total, trainable = count_params(model)
        test_value = test_loss = val_value = val_loss = float("nan")
        scores = preds = None
        if state.curve:
            # Finished or diverged alike: score the best validation state on test. A diverged run keeps
            # its status (and the mark in tables) but not an empty result (the paper reports them).
            model.load_state_dict(state.best_state, strict=False)
            t0 = time.perf_counter()
            test_value, test_loss, scores, preds = self.evaluate(model, "test")
            state.eval_time_s += time.perf_counter() - t0
            val_value = state.best_value
            val_loss = next(r["val_loss"] for r in state.curve if r["step"] == state.best_step)
        state.wall_time_s = wall()
        write_run_records(
            self.results_dir, cfg, self.adapter, task, status=status, state=state,
            values={("val", task.spec.metric): val_value, ("val", "loss"): val_loss,
                    ("test", task.spec.metric): test_value, ("test", "loss"): test_loss},
            n_params=(total, trainable), peak_mem_mb=peak_mem_mb(self.device), device=device_description(self.device),
            scores=scores, preds=preds,
            compute={"precision": self.precision_label, "precision_ratio": self.precision_ratio, "train_flops": (state.flops_per_step or 0) * state.step,
                     "wall_time_s": state.wall_time_s, "eval_time_s": state.eval_time_s,
                     "threads": intra_op_threads()},
        )
        checkpoint_path(self.results_dir, cfg.run_id).unlink(missing_ok=True)
        checkpoint_path(self.results_dir, cfg.run_id).with_suffix(".sha256").unlink(missing_ok=True)
        return status

    def _eval_point(self, model: nn.Module, state: RunState) -> None:
        t0 = time.perf_counter()
        value, loss, _, _ = self.evaluate(model, "val")
        state.eval_time_s += time.perf_counter() - t0
        train_loss = state.loss_sum / state.loss_n if state.loss_n else float("nan")
        state.loss_sum, state.loss_n = 0.0, 0
        state.curve.append({"step": state.step, "value": value, "val_loss": loss, "train_loss": train_loss,
                            "wall_time_s": state.train_time_s})
        if value > state.best_value:
            state.best_value, state.best_step = value, state.step
            state.best_state = trainable_state(model)
        if state.steps_to_threshold is None and value >= self.task.spec.threshold:
            state.steps_to_threshold = state.step
