"""The ``cpu-long`` profile: the evidence behind the paper's claims (report/claims/) on 2 CPU cores.

Sized from measured throughput to about 8 CPU-hours on 2 cores (docs/claims.md has the sizing table:
steps/s per row, steps, evaluations, minutes per run), run resumably in as many sittings as needed::

    export OMP_NUM_THREADS=1   # two one-thread runs at once beat one two-thread run on 2 cores
    fptbench sweep --profile cpu-long --results results/cpu-long --workers 2   # the suite below (~7.0 h)
    fptbench sweep --grid cpu-long-ablation-bitxor --results results/cpu-long --workers 2   # presets, bit-xor
    fptbench sweep --grid cpu-long-ablation-mnist --results results/cpu-long --workers 2    # presets, MNIST
    fptbench sweep --grid cpu-long-lr-fpt --results results/cpu-long --workers 2    # lr grid, MNIST: FPT (3 seeds)
    fptbench sweep --grid cpu-long-lr-full --results results/cpu-long --workers 2   # and full finetuning (2 seeds)

A profile's suite names (task, model, backbone, seeds) only, so the ablation presets and the
learning-rate grid are grid files (``benchmark/grids/cpu-long-*.toml``) on this profile: their runs
are exactly the runs ``fptbench run --profile cpu-long --option preset=P`` / ``--budget lr=X`` make,
and the grid's 1e-3 FPT runs are the suite's own runs (same config hash), never run twice.

Budgets: the bit tasks run far enough that FPT's validation curve is flat (bit-xor reaches 100% in a
few hundred steps); MNIST and Bit Memory cannot reach the paper's convergence (5k and 10k steps) in
this budget, so their curves still rise at the end, and the report says so; Table 6 on them is
``cpu-converge``'s (benchmark/profile_converge.py), whose runs sit beside these. ListOps (0.28 steps/s,
1M validation tokens per evaluation) gets what is left: FPT, random-frozen, from-scratch and LSTM,
3 seeds, 100 steps, one evaluation at the end: early training only (last in the suite). MNIST evaluates every 350 steps (its 5,000-image
validation split costs ~40 s per pass), so its steps-to-threshold has a resolution of 350 steps.
"""

from __future__ import annotations

from .profiles import Budget, Profile, SuiteEntry, register_profile

SEEDS = (0, 1, 2)
LANGUAGE = "minilm-l6"  # the embedded stand-in for GPT-2 (a 6-layer bidirectional BERT)
IMAGES = "dinov2-s"  # the embedded stand-in for the paper's ViT-B/16 (self-supervised ViT-S/14)

# Most claim-critical first, so an interrupted sitting has already settled the most claims.
SUITE = (
    # bit-xor: Table 1 (fpt, random-full, lstm), Table 2 (random-frozen, bit-memory-pretrained, images), Table 6
    *(SuiteEntry("bit-xor", m, LANGUAGE, SEEDS) for m in ("fpt", "random-frozen", "random-full")),
    SuiteEntry("bit-xor", "lstm", None, SEEDS),
    SuiteEntry("bit-xor", "bit-memory-pretrained", LANGUAGE, SEEDS),
    SuiteEntry("bit-xor", "fpt", IMAGES, SEEDS),
    # MNIST: Table 1, Table 2 (random-frozen), Table 6
    *(SuiteEntry("mnist", m, LANGUAGE, SEEDS) for m in ("fpt", "random-frozen", "random-full")),
    SuiteEntry("mnist", "lstm", None, SEEDS),
    # Bit Memory: Table 1 (the LSTM row is claim 1's "does not solve"), Table 6
    *(SuiteEntry("bit-memory", m, LANGUAGE, SEEDS) for m in ("fpt", "random-frozen", "random-full")),
    SuiteEntry("bit-memory", "lstm", None, SEEDS),
    # MNIST modality rows (Table 2): bit-memory-pretrained 3 seeds; images 2 seeds (the costliest row: 12 layers)
    SuiteEntry("mnist", "bit-memory-pretrained", LANGUAGE, SEEDS),
    SuiteEntry("mnist", "fpt", IMAGES, (0, 1)),
    # ListOps as far as the budget allows: early training only (100 steps, one evaluation). FPT and
    # random-frozen seeds 0 and 1 first, then the third seed and the from-scratch and LSTM rows that
    # complete Table 1 with n = 3 (appended last, so the entries above keep their order and run ids)
    *(SuiteEntry("listops", m, LANGUAGE, (0, 1)) for m in ("fpt", "random-frozen")),
    *(SuiteEntry("listops", m, LANGUAGE, (2,)) for m in ("fpt", "random-frozen")),
    SuiteEntry("listops", "random-full", LANGUAGE, SEEDS),
    SuiteEntry("listops", "lstm", None, SEEDS),
)

register_profile(Profile(
    name="cpu-long",
    description="The claims profile: about 8 CPU-hours on 2 cores with the embedded 6-layer MiniLM standing in for "
    "GPT-2 (and DINOv2-S for the paper's ViT). bit-xor 1000 steps, bit-memory 600 (batch 8), MNIST 700, ListOps 100 "
    "(batch 8); 3 seeds (2 on the costliest rows); ablation presets and an lr grid as grid files cpu-long-*. Flat "
    "validation curves on the bit-xor task only; NOT the paper protocol.",
    base=Budget(steps=1000, batch_size=16, lr=1e-3, eval_every=50, eval_batch_size=128, checkpoint_every=100),
    rules=(
        ("bit-xor", "*", {"steps": 1000, "eval_every": 50}),
        ("bit-memory", "*", {"steps": 600, "batch_size": 8, "eval_every": 200, "eval_at_start": False}),
        ("mnist", "*", {"steps": 700, "eval_every": 350, "eval_at_start": False}),
        ("listops", "*", {"steps": 100, "batch_size": 8, "eval_every": 100, "eval_at_start": False,
                          "checkpoint_every": 20, "eval_batch_size": 32}),
        ("*", "lstm", {"lr": 3e-4}),
    ),
    suite=SUITE,
))
