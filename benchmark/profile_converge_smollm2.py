"""The ``cpu-converge-smollm2`` profile: the claims' decisive comparisons on a second, causal backbone.

Every verdict of ``cpu-long`` / ``cpu-converge`` rests on ``minilm-l6``, a 6-layer bidirectional sentence
encoder; the paper's claim is about a causal language model. ``smollm2-135m`` (a 30-layer Llama-architecture
decoder, 135M parameters, the closest installable model to GPT-2 small) checks whether a verdict is a
property of language pretraining or of that one encoder. What is specific to it, and recorded with every
run through its backbone registration: 4-bit GGUF weights dequantized to float, instruct-tuned, RoPE (the
FPT recipe's "train the positions" has nothing to train: the runs record ``pos`` false, the ``+pos``
ablation preset is refused, and the input bias starts at the body's embedding scale, baselines/layers.py),
and a 2,048-token context (no position tiling for 1,024-token tasks).

The rows are the ones the claims decide on (report/claims/): FPT and random-frozen on bit-xor, Bit Memory
and MNIST (claims 1, 3, 4), 3 seeds, each task's rows at one budget so every comparison is at equal steps.
From scratch (claims 2 and 8) runs at a validation-selected rate (grid ``cpu-converge-smollm2-lr-scratch``),
the ablation presets that apply (claim 6: output-only, +ln, +input) as grid
``cpu-converge-smollm2-ablation``. Not here: the LSTM (no backbone: ``cpu-converge``'s rows serve both
backbones), the modality rows and the tuned-lr full finetuning (claims 5 and 7 stay ``minilm-l6``'s).

Budgets from measured throughput on the 2-core AMX Xeon (bf16 by calibration, one thread, the machine shared
with two other jobs; docs/claims.md has the sizing table): FPT 0.63 steps/s on bit-xor (batch 16), 0.13 on
MNIST (batch 16), 0.11 on Bit Memory (batch 8), so 1,000 steps per task (bit-xor: FPT solves it in a few
hundred steps on MiniLM; MNIST and Bit Memory: short of MiniLM's 3,000 / 4,000, whose curves the claims check
for flatness) are what fits: about 31 h of training in one worker, 16 h with two, plus evaluations.
Runs go beside the others' in ``results/cpu-long``; seed 0 of every row first::

    export OMP_NUM_THREADS=1
    fptbench sweep --profile cpu-converge-smollm2 --results results/cpu-long --workers 2
"""

from __future__ import annotations

from .profiles import Budget, Profile, SuiteEntry, register_profile

BACKBONE = "smollm2-135m"
ROWS = (("bit-xor", "fpt"), ("bit-xor", "random-frozen"), ("mnist", "fpt"), ("mnist", "random-frozen"),
        ("bit-memory", "fpt"), ("bit-memory", "random-frozen"))
SUITE = tuple(SuiteEntry(task, model, BACKBONE, (seed,)) for seed in (0, 1, 2) for task, model in ROWS)

register_profile(Profile(
    name="cpu-converge-smollm2",
    description="The claims' decisive comparisons on a second, causal backbone: SmolLM2-135M (30-layer Llama "
    "decoder, RoPE, 4-bit weights dequantized, instruct-tuned) standing in for GPT-2. FPT and random-frozen on "
    "bit-xor, MNIST and Bit Memory (batch 8) 1000 steps each; 3 seeds; from scratch and the ablation presets as "
    "grid files cpu-converge-smollm2-*. NOT the paper protocol.",
    base=Budget(steps=1000, batch_size=16, lr=1e-3, eval_every=50, eval_batch_size=64, checkpoint_every=100),
    rules=(
        ("bit-xor", "*", {"steps": 1000}),
        ("mnist", "*", {"steps": 1000, "eval_every": 250, "eval_at_start": False}),
        ("bit-memory", "*", {"steps": 1000, "batch_size": 8, "eval_every": 250, "eval_at_start": False}),
    ),
    suite=SUITE,
))
