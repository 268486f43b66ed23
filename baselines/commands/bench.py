"""``fptbench bench``: time our training step against a re-creation of the authors' step (baselines/speed.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmark.cli import args, command
from benchmark.errors import FptError


def _bench_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object {meta, records} instead of the table")
    p.add_argument("--quick", action="store_true",
                   help="a 1-2 minute subset on an idle machine (MiniLM, MNIST shape, batch 4, 2 rounds, "
                   "64-example evaluation, levers on the MNIST shape, no torch.compile)")
    p.add_argument("--models", nargs="+", help="subset of fpt, full, lstm")
    p.add_argument("--backbones", nargs="+", help="subset of gpt2-small-random, minilm-l6 (or any registered backbone)")
    p.add_argument("--shapes", nargs="+", help="subset of bit-memory, mnist, cifar10, cifar10-lra")
    p.add_argument("--batches", nargs="+", type=int, help="batch sizes (default 4 16)")
    p.add_argument("--rounds", type=int, help="timed alternations per configuration (default 3, quick 2)")
    p.add_argument("--eval-examples", type=int, help="examples per evaluation pass (default 512, quick 64)")
    p.add_argument("--no-levers", action="store_true", help="skip the one-lever-at-a-time rows")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="where both steps run (default cpu); cuda: synchronized timings, CUDA peak memory, the GPU's "
                   "matmul peak")
    p.add_argument("--out", type=Path, help="also append each record as a JSON line to this file as it finishes")


@command("bench", "time our training step and evaluation against the authors' step, side by side", group="ci")
@args(_bench_args)
def cmd_bench(a: argparse.Namespace) -> int:
    from baselines import speed

    probe = speed.probe_for(a.device)  # refuses cuda without a CUDA device, before any model is built
    quick = a.quick
    models = tuple(a.models or speed.MODELS)
    backbones = tuple(a.backbones or (("minilm-l6",) if quick else tuple(speed.BACKBONES)))
    shapes = tuple(a.shapes or (("mnist",) if quick else speed.SHAPES))
    batches = tuple(a.batches or ((4,) if quick else speed.BATCHES))
    for name, given, known in (("model", models, speed.MODELS), ("shape", shapes, speed.SHAPES)):
        bad = sorted(set(given) - set(known))
        if bad:
            raise FptError(f"bench: unknown {name}(s) {bad}; choose from {', '.join(known)}")
    rounds = a.rounds or (2 if quick else 3)
    eval_examples = a.eval_examples or (64 if quick else 512)
    cfgs = speed.configs(models, backbones, shapes, batches)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
    emit_file = speed.write_jsonl(a.out)
    printed_header = False

    def emit(rec: dict) -> None:
        nonlocal printed_header
        emit_file(rec)
        if not a.json:
            if not printed_header:
                print(speed.TABLE_HEADER)
                printed_header = True
            print(speed.fmt_row(rec), flush=True)

    if not a.json:
        m = speed.machine(probe)
        print(f"machine: {m['cpu']}; flags {' '.join(m['flags'])}; native bf16: {m['native_bf16']}; "
              f"threads {m['threads']}; torch {m['torch']}", flush=True)
        print(f"device: {m['device']}; memory read from {'the CUDA allocator' if m['memory'] == 'cuda' else 'RSS'}",
              flush=True)
        print(f"precision: {m['auto_reason']}", flush=True)
        print("ratio = reference s / ours s (above 1: ours faster); lever rows: reference = ours with that lever off\n",
              flush=True)
    result = speed.run_bench(cfgs, rounds=rounds, eval_examples=eval_examples, levers=not a.no_levers,
                             lever_backbone=backbones[0], quick=quick, emit=emit, matmul_n=1024 if quick else 2048,
                             probe=probe)
    if a.json:
        json.dump(result, sys.stdout, indent=1, default=float)
        print()
    else:
        peaks = result["meta"]["matmul_peak_gflops"]
        print("\nmeasured matmul peak: " + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in peaks.items()))
    return 0
