"""``fptbench gpu-smoke``: about five minutes on a GPU that say whether the CUDA path of the harness is right.

Every model of a profile's suite (``paper`` by default: fpt, full, random-full, random-frozen on GPT-2, and
the LSTM) trains a few steps on CUDA through the real Trainer (checkpoint and resume included), then the
checks a GPU run must pass: the precision it computed in is recorded (with ``+rnn-fp32`` where the LSTM's
recurrence stayed fp32), the peak memory was read from the CUDA allocator and the device column names the
GPU, driver, CUDA and cuDNN; and the local pool gives each worker its own device. The output (facts, one
line per run with its measured steps/s, one line per check) is meant to be attached to a bug report. On a
machine without CUDA it says so in one line and exits 2, before any work.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..cli import args, command


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _smoke_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="paper", help="whose suite's models to try (default paper)")
    p.add_argument("--backbone", default=None, help="replace the suite's backbone (e.g. minilm-l6 without hub access)")
    p.add_argument("--task", default="bit-xor", help="the task every model trains on (default bit-xor: 10 tokens)")
    p.add_argument("--steps", type=int, default=30, help="training steps per model (default 30)")
    p.add_argument("--results", default=None, help="keep the smoke runs here (default: a temporary directory)")


def run_checks(rows: list[dict], expect_rnn_fp32: set[str]) -> list[Check]:
    """The checks over the smoke runs' result rows (one dict per run: model, status, precision, peak_mem_mb, device).

    ``expect_rnn_fp32``: models whose recorded precision must say the recurrence stayed fp32 (the fused LSTM
    under bf16 autocast on CUDA)."""
    checks = [Check("every run finished", all(r["status"] == "finished" for r in rows),
                    ", ".join(f"{r['model']}: {r['status']}" for r in rows))]
    bad_prec = [r["model"] for r in rows if not r.get("precision")]
    wrong_rnn = [r["model"] for r in rows if r["model"] in expect_rnn_fp32 and str(r.get("precision", "")).startswith("bf16")
                 and "rnn-fp32" not in str(r["precision"])]
    checks.append(Check("precision recorded (LSTM recurrence fp32 under bf16)", not bad_prec and not wrong_rnn,
                        ", ".join(f"{r['model']}: {r.get('precision')}" for r in rows)))
    not_cuda = [r["model"] for r in rows if not str(r.get("device", "")).startswith("cuda (")]
    no_mem = [r["model"] for r in rows if not (r.get("peak_mem_mb") or 0) > 0]
    checks.append(Check("memory read from CUDA, GPU facts recorded", not not_cuda and not no_mem,
                        f"not on CUDA: {not_cuda or 'none'}; no CUDA peak: {no_mem or 'none'}"))
    return checks


def pool_check(results: Path, task: str) -> Check:
    """One worker per visible GPU, each pinned to its own: two short runs through the local pool."""
    from ..cuda_env import visible_gpus
    from ..executors.local import LocalExecutor
    from ..executors.placement import DeviceRequest, place
    from ..grid import Job, Resources
    from ..runner import make_config

    gpus = visible_gpus()
    jobs = []
    for seed in range(max(2, len(gpus))):
        cfg = make_config(task, "lstm", seed=seed, profile="ci", max_steps=2, options={"hidden": 16, "layers": 1})
        jobs.append(Job(cfg, "", cfg.budget.lr, Resources(), pin_threads=False))
    jobs, _ = place(jobs, DeviceRequest("auto"), len(gpus), "this machine")
    pool = LocalExecutor()
    outs = pool.run(jobs, results / "pool", lambda o: None)
    by_pid: dict[int, set[str]] = {}
    for o in outs:
        by_pid.setdefault(o.pid, set()).add(o.gpu)
    own = all(len(g) == 1 for g in by_pid.values()) and len({next(iter(g)) for g in by_pid.values()}) == len(by_pid)
    ok = own and pool.parallelism(jobs) == len(gpus) and all(o.status == "finished" for o in outs)
    return Check("one device per worker", ok, f"{len(gpus)} visible GPU(s), {pool.parallelism(jobs)} workers, "
                 + "; ".join(f"pid {p}: GPU {','.join(sorted(g))}" for p, g in by_pid.items())
                 + "".join(f"; {o.run_id}: {o.error}" for o in outs if o.error))


@command("gpu-smoke", "a five-minute check of the CUDA path (every paper model a few steps; precision, memory, devices)")
@args(_smoke_args)
def cmd_gpu_smoke(a: argparse.Namespace) -> int:
    import torch

    from ..cuda_env import cuda_available, cuda_facts, describe_facts
    from ..errors import FptError

    if a.steps < 1:
        raise FptError(f"--steps must be >= 1, got {a.steps}")
    if not cuda_available():
        raise FptError(f"no CUDA device: torch {torch.__version__} (built for CUDA {torch.version.cuda or 'none'}) sees no "
                       "GPU here; run `fptbench gpu-smoke` on the machine with the GPU")
    from ..profiles import get_profile
    from ..results import read_table
    from ..runner import make_config, run

    print(describe_facts(cuda_facts()))
    suite = get_profile(a.profile).suite
    models = list(dict.fromkeys((e.model, e.backbone) for e in suite))
    with tempfile.TemporaryDirectory(prefix="fptbench-gpu-smoke-") as tmp:
        results = Path(a.results or tmp)
        rows, expect = [], set()
        for model, backbone in models:
            bb = (a.backbone or backbone) if backbone else None
            budget = {"eval_every": a.steps, "checkpoint_every": max(1, a.steps // 2), "eval_at_start": False}
            cfg = make_config(a.task, model, backbone=bb, profile=a.profile, max_steps=a.steps, device="cuda",
                              budget_overrides=budget)
            status = run(cfg, results, progress=False)
            r = read_table([results], "runs")
            r = r[r.run_id == cfg.run_id].iloc[0]
            rows.append({"model": model, "status": status, "precision": r.precision, "peak_mem_mb": r.peak_mem_mb,
                         "device": r.device, "steps_per_s": r.steps_per_s, "backbone": cfg.backbone})
            if model == "lstm":
                expect.add(model)
            print(f"  {model:<16} {cfg.backbone:<10} {status:<9} {r.steps_per_s:8.1f} steps/s  {r.precision:<18} "
                  f"peak {r.peak_mem_mb:8.1f} MiB")
        checks = run_checks(rows, expect) + [pool_check(results, a.task)]
    for c in checks:
        print(f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}")
    return 0 if all(c.ok for c in checks) else 1
