"""``fptbench bench``'s lever rows: one change at a time, ours with it on against ours with it off.

Each lever is timed by alternating the two sides step by step (baselines/speed.py ``alternate``), so
load on a shared machine hits both alike; the ratio is the number to read.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from benchmark.task import Batch, get_task

from .authors_step import their_bits
from .speed import (BACKBONES, RECORD_FIELDS, BenchConfig, DeviceProbe, ShapeTask, Side, alternate, cpu_probe,
                    eval_record, our_trainer, record)


# -- levers: each one alone, ours with it off vs on ------------------------------------------------
class _Emitting(list):
    """A list that hands each appended record on at once (long lever runs print as they go)."""

    def __init__(self, emit: Callable[[dict], None] | None) -> None:
        super().__init__()
        self.emit = emit

    def append(self, rec: dict) -> None:  # type: ignore[override]
        super().append(rec)
        if self.emit is not None:
            self.emit(rec)


def lever_records(backbone: str, rounds: int, peaks: dict[str, float], eval_examples: int, quick: bool,
                  emit: Callable[[dict], None] | None = None, probe: DeviceProbe | None = None) -> list[dict]:
    """The lever rows on ``probe``'s device (the CPU when None); the intra-op threads lever is a CPU
    lever and is skipped on CUDA (the host threads only launch kernels there)."""
    probe = probe or cpu_probe()
    dev = str(probe.device)
    out: list[dict] = _Emitting(emit)
    base = BenchConfig("fpt", backbone, "mnist", 4 if quick else 16)
    task = ShapeTask("mnist", eval_examples)

    def pair(name: str, on: Callable[[], None], off: Callable[[], None], precision: str, batch: int | None,
             flops: int | None = None) -> None:
        a, b = Side(on, probe), Side(off, probe)
        alternate(a, b, rounds)
        out.append(record(f"lever {name}", "lever", a, b, precision=precision, batch=batch, flops=flops, peaks=peaks))

    # bf16 autocast vs fp32, both forced (whatever `auto` resolves to on this machine)
    trb, _, on_bf16, flops_bf16 = our_trainer(base, task, precision="bf16", device=dev)
    _, _, off_fp32, _ = our_trainer(base, task, precision="fp32", device=dev)
    pair(f"bf16 autocast vs fp32 ({base.name})", on_bf16, off_fp32, trb.precision_label, base.batch, flops_bf16())
    # frozen weights converted to bf16 once vs recast by autocast at every forward (both bf16)
    trc, _, on_cast, _ = our_trainer(base, task, precision="bf16", device=dev)
    _, _, off_cast, _ = our_trainer(base, task, precision="bf16", cast_frozen=False, device=dev)
    pair(f"frozen weights in bf16 once vs recast every step ({base.name})", on_cast, off_cast, trc.precision_label, base.batch)
    tr, model, on, _ = our_trainer(base, task, device=dev)  # `auto`: the default every other lever runs at
    # last layer only at the read positions
    tr2, model2, on2, _ = our_trainer(base, task, device=dev)
    tr3, model3, off3, _ = our_trainer(base, task, device=dev)
    model3.body.read_tokens(None)
    pair(f"last layer at read positions vs everywhere ({base.name})", on2, off3, tr2.precision_label, base.batch)
    # intra-op threads: torch's default vs one
    threads = torch.get_num_threads()
    if threads > 1 and probe.device.type == "cpu":
        def one_thread() -> None:
            torch.set_num_threads(1)
            try:
                on()
            finally:
                torch.set_num_threads(threads)
        pair(f"{threads} intra-op threads vs 1 ({base.name})", on, one_thread, tr.precision_label, base.batch)
    # vectorized data generation (bit memory, batch 16): ours vs their numpy loop
    bits = get_task("bit-memory")
    state = {"t": 0}

    def ours_data() -> None:
        bits.train_batch(np.random.default_rng([0, state["t"]]), 16, state["t"], 0)
        state["t"] += 1

    rs = np.random.RandomState(0)
    pair("vectorized data generation vs theirs (bit-memory batch 16, data only)", ours_data, lambda: their_bits(rs, 16),
         "n/a", 16)
    # fused nn.LSTM vs our faithful layer-normalised loop (same shape: cifar10-lra is long; mnist in quick)
    shape = "mnist" if quick else "cifar10-lra"
    lcfg = BenchConfig("lstm", "none", shape, 4)
    ltask = ShapeTask(shape, eval_examples)
    trl, _, lon, _ = our_trainer(lcfg, ltask, device=dev)
    _, _, loff, _ = our_trainer(lcfg, ltask, options={"layer_norm": True}, device=dev)
    pair(f"fused nn.LSTM vs layer-normalised loop ({lcfg.name})", lon, loff, trl.precision_label, 4)
    # feature cache: reservoir (output-only, cached frozen prefix) vs the same output-only model uncached,
    # both in the second epoch of a 64-example pool (dataset tasks repeat their examples)
    pool = task.train_batch(np.random.default_rng(5), 64, 0, 0)
    rcfg = BenchConfig("reservoir", backbone, "mnist", 16)
    body = "random-frozen" if backbone in BACKBONES and not BACKBONES[backbone][1] else "fpt"
    cached = _pool_step(rcfg, task, pool, {"body": body}, dev)
    uncached = _pool_step(rcfg, task, pool, {"body": body, "feature_cache": False}, dev)
    for _ in range(4):  # epoch 1 fills the cache
        cached()
    pair(f"feature cache vs recomputed frozen prefix (reservoir, {backbone}, mnist, epoch 2)", cached, uncached,
         tr.precision_label, 16)
    # opt-in torch.compile
    if not quick:
        try:
            trc, _, conc, _ = our_trainer(base, task, compile=True, device=dev)
            pair(f"torch.compile vs eager ({base.name}, steady state)", conc, on, trc.precision_label, base.batch)
        except Exception as exc:  # compile needs a C compiler and can fail on odd setups: say so
            out.append({"config": f"lever torch.compile ({base.name})", "kind": "lever", "error": str(exc)[:200],
                        **{k: None for k in RECORD_FIELDS if k not in ("config", "kind")}})
    # evaluation: ours (inference mode, autocast, one transfer) vs the fp32 per-batch loop
    out.append({**eval_record(base, rounds, peaks, eval_examples, probe), "kind": "lever",
                "config": f"lever evaluation pass vs fp32 per-batch loop ({base.model}/{backbone}/mnist, "
                          f"{eval_examples} examples)"})
    return out


def _pool_step(cfg: BenchConfig, task: ShapeTask, pool: Batch, options: dict[str, Any],
               device: str = "cpu") -> Callable[[], None]:
    trainer, model, _, _ = our_trainer(cfg, task, options=options, device=device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-4)
    scaler = trainer.grad_scaler()
    state = {"t": 0}

    def step() -> None:
        t = state["t"]
        i = (t * 16) % len(pool)
        batch = Batch(pool.x[i:i + 16], pool.y[i:i + 16])
        with trainer._matmul_mode():
            trainer.train_step(model, opt, scaler, params, batch, t)  # reads the loss once (its host sync)
        state["t"] += 1

    return step
