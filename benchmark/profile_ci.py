"""The ``ci`` profile: a tiny, fast grid for the regression gate (``fptbench check``, docs/ci.md).

Budgets were chosen so that each gated configuration *reaches its task's threshold* well inside
its budget on every seed, which makes steps-to-threshold a meaningful convergence-speed signal
(bit-xor's threshold is 1.0: a frozen *random* tiny body never gets there in a few hundred steps,
so the tiny-backbone rows train the whole model; the embedded MiniLM row is the real FPT).
Rows whose reference never reaches the threshold are gated on accuracy only.

Tasks whose data is not prepared are skipped by ``fptbench sweep`` (and reported as missing by
``fptbench check``); tasks that are not registered at all are left out of the suite here.
"""

from __future__ import annotations

from .profiles import Budget, Profile, SuiteEntry, register_profile

SEEDS = (0, 1, 2)


def _registered(task: str) -> bool:
    from .task import TASKS

    return task in TASKS.names()


def _suite() -> tuple[SuiteEntry, ...]:
    entries = [
        SuiteEntry("bit-xor", "full", "tiny-gpt2", SEEDS),  # converges in ~150 steps: the speed gate
        SuiteEntry("bit-xor", "fpt", "minilm-l6", SEEDS),  # the embedded pretrained body: accuracy gate
        SuiteEntry("bit-memory", "fpt", "tiny-gpt2", SEEDS),  # the long-sequence, many-output shape
    ]
    if _registered("mnist"):  # registered by tasks/mnist.py; skipped by sweep when the data is absent
        entries.append(SuiteEntry("mnist", "fpt", "tiny-gpt2", SEEDS))
    return tuple(entries)


register_profile(Profile(
    name="ci",
    description="A tiny, fast grid for regression gating in CI (tiny random and embedded backbones, 3 seeds); "
    "numbers are for change detection, not for comparison with the paper.",
    base=Budget(steps=200, batch_size=16, lr=1e-3, eval_every=25, eval_batch_size=500, checkpoint_every=1000),
    rules=(
        ("*", "lstm", {"lr": 3e-3}),
        ("bit-xor", "*", {"steps": 300, "eval_every": 10}),
        ("bit-xor", "full", {"lr": 3e-3}),
        ("bit-xor", "fpt", {"steps": 60, "eval_every": 20}),  # MiniLM: the accuracy gate only
        ("bit-memory", "*", {"steps": 60, "batch_size": 8, "eval_every": 20}),
        ("mnist", "*", {"steps": 200, "eval_every": 25}),
    ),
    suite=_suite(),
))
