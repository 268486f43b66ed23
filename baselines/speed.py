"""``fptbench bench``: fptbench's training step beside a re-creation of the authors' step, in one process.

Every claim is a ratio measured side by side on whatever machine runs this: the two steps alternate
(ours, theirs, ours, theirs, ...) so that drift of a shared machine hits both alike, and the machine's
own fp32 and bf16 matmul peak is measured in the same run. ``--device cuda`` runs all of it on the GPU
with synchronized timings, CUDA allocator memory and the GPU's matmul peak (baselines/bench_device.py).

*Ours* is ``Trainer.train_step`` itself (the step every run takes): the task's vectorized batch
generator, autocast at the resolved precision (``auto``: bf16 where the CPU/GPU has it), the last
layer computed only where the head reads, fused ``nn.LSTM``, loss in fp32, clip 1.0, Adam over the
trainable parameters.

*Theirs* re-creates the authors' step (kzl/universal-computation: ``FPT`` + ``Trainer.train_epoch``,
written from its behaviour, not copied): ``nn.Sequential(Linear, Dropout)`` input layer, the HF model
called with ``inputs_embeds`` in fp32 with **eager** attention, read-out of the last ``ratio`` tokens,
their loss functions, per-step accuracy through numpy (``.detach().cpu().numpy()``), ``loss.item()``,
clip 1.0, Adam, and their data generation (``np.random.randint`` then ``torch.from_numpy(...).float()``
for the bit tasks). Their image loaders (torchvision) are not re-created: image shapes draw random
arrays of the task's shape on both sides. Their LSTM is the layer-normalised LSTM of their
``models/lstm.py``, a Python loop over time per layer, here unidirectional with 3 layers of 768
(how the paper configured it is not in their code); its fresh random initial state per call is kept.

The same weights feed both sides (the reference body is a deep copy of ours before precision and
attention changes). ``ratio`` is always reference seconds / our seconds: above 1, ours is faster.
Lever rows compare ours with one lever off (``reference_*``) against ours with it on.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from benchmark.config import RunConfig
from benchmark.model import get_adapter
from benchmark.profiles import Budget
from benchmark.runner import trainer_for
from benchmark.task import Batch, ScoredLike, get_task
from benchmark.trainer import Trainer, seeded

from .authors_step import (BIT_N, BIT_PATCH, BIT_PATTERNS, TheirModel, their_bits, their_freeze,  # noqa: F401
                           their_loss_and_acc, their_step)
from .bench_device import (DeviceProbe, Side, alternate, cpu_probe, device_meta, matmul_peak, probe_for,  # noqa: F401
                           measure_peaks, peak_for)

SHAPES = ("bit-memory", "mnist", "cifar10", "cifar10-lra")
MODELS = ("fpt", "full", "lstm")
# label -> (registered backbone, pretrained?): the random GPT-2 has GPT-2 small's shape (12 x 768).
BACKBONES = {"gpt2-small-random": ("gpt2", False), "minilm-l6": ("minilm-l6", True)}
BATCHES = (4, 16)

RECORD_FIELDS = ("config", "kind", "ours_s_per_step", "reference_s_per_step", "ratio", "peak_mem_mb",
                 "achieved_gflops", "peak_gflops", "precision")


# -- shapes ------------------------------------------------------------------------------------
class ShapeTask(ScoredLike):
    """A task's exact spec with random data of its shape (image datasets need not be present).

    Bit memory uses the real task (its generator is part of what is timed). The split sizes are
    replaced so an evaluation pass covers ``eval_examples``.
    """

    def __init__(self, name: str, eval_examples: int) -> None:
        self.real = get_task(name)
        base = self.real.spec
        splits = {k: (dataclasses.replace(v, size=eval_examples, seed=v.seed or 7) if k != "train" else v)
                  for k, v in base.splits.items()}
        self.spec = dataclasses.replace(base, splits=splits)  # type: ignore[misc]
        self.generated = name.startswith("bit-")

    def train_batch(self, rng: np.random.Generator, batch_size: int, step: int, seed: int) -> Batch:
        if self.generated:
            return self.real.train_batch(rng, batch_size, step, seed)
        s = self.spec
        x = torch.from_numpy(rng.random((batch_size, s.seq_len, s.input_dim), dtype=np.float32))
        return Batch(x, torch.from_numpy(rng.integers(0, s.output_dim, batch_size)))

    def fixed_split(self, split: str) -> Batch:
        n = self.spec.splits[split].size
        if self.generated:
            data = self.real.fixed_split(split)
            reps = -(-n // len(data))
            return Batch(data.x.repeat(reps, *([1] * (data.x.dim() - 1)))[:n], data.y.repeat(reps, *([1] * (data.y.dim() - 1)))[:n])
        return self.train_batch(np.random.default_rng(self.spec.splits[split].seed), n, 0, 0)


# -- building both sides -------------------------------------------------------------------------
@dataclass(frozen=True)
class BenchConfig:
    model: str
    backbone: str  # label in BACKBONES, or "none" (lstm), or any registered backbone (tests: tiny-gpt2)
    shape: str
    batch: int

    @property
    def name(self) -> str:
        return f"{self.model}/{self.backbone}/{self.shape}/b{self.batch}"


def _our_adapter(cfg: BenchConfig, options: dict[str, Any]):
    if cfg.model == "lstm":
        return get_adapter("lstm", None, **options)
    backbone, pretrained = BACKBONES.get(cfg.backbone, (cfg.backbone, True))
    adapter = get_adapter(cfg.model, backbone, **options)
    if not pretrained:  # same architecture and trainable set, random weights (no download needed)
        adapter.pretrained = False
    return adapter


def our_trainer(cfg: BenchConfig, task: ShapeTask, precision: str = "auto", options: dict[str, Any] | None = None,
                eval_batch_size: int = 256, compile: bool = False, cast_frozen: bool = True,
                device: str = "cpu") -> tuple[Trainer, nn.Module, Callable[[], None], Callable[[], int]]:
    """(trainer, model, one step as the trainer takes it, FLOPs of that step).

    As ``Trainer.run`` sets a run up: built on the CPU under the seed, moved to ``device``, frozen
    weights cast, the run's loss scaler (on for fp16 on CUDA) and its TF32 mode around every step.
    """
    opts = dict(options or {})
    if cfg.model != "lstm" and task.spec.seq_len > 512 and cfg.backbone == "minilm-l6":
        opts["extend_positions"] = True
    adapter = _our_adapter(cfg, opts)
    budget = Budget(steps=10**6, batch_size=cfg.batch, precision=precision, eval_batch_size=eval_batch_size,
                    eval_every=10**6, checkpoint_every=10**6, compile=compile)
    run_cfg = RunConfig(task=task.spec.name, task_version=task.spec.version, task_fingerprint="bench", model=cfg.model,
                        backbone=cfg.backbone, seed=0, profile="bench", budget=budget, model_options=opts, device=device)
    trainer = trainer_for(run_cfg, "/nonexistent-bench", progress=False, task=task, adapter=adapter)
    trainer.cast_frozen = cast_frozen
    with seeded(0, trainer.device):
        model = adapter.build(task.spec, 0)
    model.to(trainer.device).train()
    trainer.prepare_model(model)  # as Trainer.run does
    trainer._note_precision(model)
    if compile:  # as Trainer.run does: the compiled wrapper runs forwards
        trainer._compiled = torch.compile(model)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-4)
    scaler = trainer.grad_scaler()
    state = {"t": 0}

    def step() -> None:
        t = state["t"]
        batch = task.train_batch(np.random.default_rng([0, t]), cfg.batch, t, 0)
        with trainer._matmul_mode():
            trainer.train_step(model, opt, scaler, params, batch, t)  # reads the loss once (its host sync)
        state["t"] += 1

    def flops() -> int:
        batch = task.train_batch(np.random.default_rng([0, 0]), cfg.batch, 0, 0)
        with trainer._matmul_mode():
            _, n = trainer.train_step(model, opt, scaler, params, batch, 0, count_flops=True)
        return int(n or 0)

    return trainer, model, step, flops


# -- records -------------------------------------------------------------------------------------
def record(config: str, kind: str, ours: Side, theirs: Side, *, precision: str, batch: int | None,
           flops: int | None, peaks: dict[str, float], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    o, r = ours.median, theirs.median
    peak = peak_for(precision, peaks)
    achieved = flops / o / 1e9 if flops and o > 0 else None
    out = {
        "config": config, "kind": kind, "ours_s_per_step": o, "reference_s_per_step": r,
        "ratio": r / o if o > 0 else math.nan, "peak_mem_mb": ours.peak_mb, "reference_peak_mem_mb": theirs.peak_mb,
        "step_mem_mb": ours.mem_mb, "reference_step_mem_mb": theirs.mem_mb,
        "achieved_gflops": achieved, "peak_gflops": peak,
        "pct_of_peak": (100 * achieved / peak) if achieved and peak == peak else None,
        "precision": precision, "rounds": len(ours.times), "threads": torch.get_num_threads(),
        "device": str(ours.probe.device), "memory": ours.probe.memory,
    }
    if batch:
        out["ours_examples_per_s"] = batch / o if o > 0 else math.nan
        out["reference_examples_per_s"] = batch / r if r > 0 else math.nan
    out.update(extra or {})
    return out


def step_record(cfg: BenchConfig, rounds: int, peaks: dict[str, float], eval_examples: int,
                fresh_peak_s: float = 0.0, probe: DeviceProbe | None = None) -> dict[str, Any]:
    """One configuration; with ``fresh_peak_s`` the matmul peak is re-measured just before it (a
    shared machine's load drifts, and % of peak must compare like with like)."""
    probe = probe or cpu_probe()
    task = ShapeTask(cfg.shape, eval_examples)
    trainer, model, ours_step, flops = our_trainer(cfg, task, device=str(probe.device))
    theirs = their_step(cfg, task, model, probe.device)
    n_flops = flops()
    if fresh_peak_s > 0:
        peaks = measure_peaks(fresh_peak_s, 1024, probe)
    ours, ref = Side(ours_step, probe), Side(theirs, probe)
    alternate(ours, ref, rounds)
    return record(cfg.name, "step", ours, ref, precision=trainer.precision_label, batch=cfg.batch, flops=n_flops,
                  peaks=peaks)


def todays_eval(trainer: Trainer, model: nn.Module, batch_size: int) -> None:
    """Evaluation as it was before this change: no_grad, fp32, per-batch host transfers and loss."""
    task = trainer.task
    model.eval()
    with torch.no_grad():
        loss_sum, n = 0.0, 0
        for batch in task.eval_batches("val", batch_size):
            b = batch.to(trainer.device)
            out = model(b.x, b.mask).float().cpu()
            loss_sum += float(task.loss(out, batch.y)) * len(batch)
            n += len(batch)
            task.scores(out, batch.y)
            task.logits_view(out).argmax(-1)
    model.train()


def eval_record(cfg: BenchConfig, rounds: int, peaks: dict[str, float], eval_examples: int,
                probe: DeviceProbe | None = None) -> dict[str, Any]:
    """Examples/s of a full pass over ``eval_examples`` examples: ours vs the fp32 per-batch loop."""
    probe = probe or cpu_probe()
    task = ShapeTask(cfg.shape, eval_examples)
    trainer, model, _, _ = our_trainer(cfg, task, eval_batch_size=256, device=str(probe.device))
    task._fixed("val")
    fp32 = copy.deepcopy(model).float()  # the old loop ran fp32 weights without autocast
    for m in fp32.modules():
        if hasattr(m, "read_tokens"):
            m.read_tokens(None)

    def ours_eval() -> None:
        with trainer._matmul_mode():
            trainer.evaluate(model, "val")

    ours = Side(ours_eval, probe)
    ref = Side(lambda: todays_eval(trainer, fp32, 64), probe)
    alternate(ours, ref, rounds)
    rec = record(f"eval {cfg.model}/{cfg.backbone}/{cfg.shape}", "eval", ours, ref, precision=trainer.precision_label,
                 batch=None, flops=None, peaks=peaks, extra={"eval_examples": eval_examples})
    rec["ours_examples_per_s"] = eval_examples / ours.median
    rec["reference_examples_per_s"] = eval_examples / ref.median
    return rec


# -- the whole bench -------------------------------------------------------------------------------
def configs(models=MODELS, backbones=tuple(BACKBONES), shapes=SHAPES, batches=BATCHES) -> list[BenchConfig]:
    out = []
    for shape in shapes:
        for model in models:
            for backbone in (("none",) if model == "lstm" else backbones):
                for batch in batches:
                    out.append(BenchConfig(model, backbone, shape, batch))
    return out


def machine(probe: DeviceProbe | None = None) -> dict[str, Any]:
    """The CPU, torch and what ``auto`` picks; on CUDA also the GPU, CUDA and cuDNN (bench_device.device_meta)."""
    from benchmark.precision import cpu_model, decide
    from benchmark.provenance import cpu_flags, cpu_native_bf16

    probe = probe or cpu_probe()
    flags = sorted(f for f in cpu_flags() if f.startswith(("avx512", "amx", "avx2", "fma", "avx_vnni")))
    auto = decide("auto", probe.device)  # what precision=auto picks on this device, and why
    return {"cpu": cpu_model(), "flags": flags, "native_bf16": cpu_native_bf16(),
            "threads": torch.get_num_threads(), "torch": torch.__version__, **device_meta(probe),
            "auto_precision": auto.precision,
            "bf16_matmul_ratio": None if auto.ratio is None else round(auto.ratio, 2), "auto_reason": auto.reason}


def run_bench(cfgs: list[BenchConfig], *, rounds: int, eval_examples: int, levers: bool, lever_backbone: str,
              quick: bool, emit: Callable[[dict], None], matmul_n: int = 2048,
              probe: DeviceProbe | None = None) -> dict[str, Any]:
    """Every configuration's step row, one evaluation row per (backbone, shape), then the levers, all on
    ``probe``'s device (the CPU when None)."""
    probe = probe or cpu_probe()
    if probe.device.type == "cuda":  # as every CUDA run: before the first CUDA work (cuBLAS reads it once)
        from benchmark.cuda_env import deterministic_cuda

        deterministic_cuda()
    peaks = measure_peaks(1.0, matmul_n, probe)
    meta = {"machine": machine(probe), "matmul_peak_gflops": peaks, "rounds": rounds, "eval_examples": eval_examples}
    records: list[dict] = []

    def keep(rec: dict) -> None:
        records.append(rec)
        emit(rec)

    with torch.random.fork_rng():
        torch.manual_seed(0)
        for cfg in cfgs:
            keep(step_record(cfg, rounds, peaks, eval_examples, fresh_peak_s=0.0 if quick else 0.3, probe=probe))
        seen = set()
        for cfg in cfgs:  # one evaluation pass per (backbone, shape): fpt and full evaluate the same network
            key = (cfg.backbone, cfg.shape)
            if cfg.model == "lstm" or key in seen:
                continue
            seen.add(key)
            keep(eval_record(cfg, rounds, peaks, eval_examples, probe))
        if levers:
            from .bench_levers import lever_records  # the lever rows build on this module's pieces

            lever_records(lever_backbone, rounds, peaks, eval_examples, quick, emit=keep, probe=probe)
    return {"meta": meta, "records": records}


def fmt_row(rec: dict) -> str:
    def f(x, spec):
        return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)

    if rec.get("error"):
        return f"| {rec['config']} | error: {rec['error']} | | | | | | | | |"
    return (f"| {rec['config']} | {f(rec['ours_s_per_step'], '.4f')} | {f(rec['reference_s_per_step'], '.4f')} | "
            f"{f(rec['ratio'], '.2f')}x | {f(rec.get('ours_examples_per_s'), '.1f')} | "
            f"{f(rec.get('step_mem_mb'), '.0f')} / {f(rec.get('reference_step_mem_mb'), '.0f')} | "
            f"{f(rec['peak_mem_mb'], '.0f')} | {f(rec['achieved_gflops'], '.1f')} | {f(rec.get('pct_of_peak'), '.0f')} | "
            f"{rec['precision']} |")


# step MB: growth of resident memory during one step (ours / reference); peak MB: the process's peak
# resident memory during our step (grows over a run: earlier configurations' allocations stay mapped).
# --device cuda: both from the CUDA allocator (allocated now, peak since the reset before the step).
TABLE_HEADER = ("| config | ours s | reference s | ratio | ours ex/s | step MB ours / ref | peak MB | GFLOP/s | "
                "% of peak | precision |\n|---|---|---|---|---|---|---|---|---|---|")


def write_jsonl(path: Path | None) -> Callable[[dict], None]:
    import json

    def emit(rec: dict) -> None:
        if path is not None:
            with open(path, "a") as f:
                f.write(json.dumps(rec, default=float) + "\n")

    return emit
