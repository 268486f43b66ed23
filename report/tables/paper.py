"""The paper's core tables as specs: Table 1 (FPT / Full / LSTM), Table 2 (pretrained vs random
initialization of the frozen transformer) and Table 6 (gradient steps to converge, FPT vs random)."""

from __future__ import annotations

from ..specs import DerivedRow, RowSpec, TableSpec, register_table

PAPER_TASKS = ("bit-memory", "bit-xor", "listops", "mnist", "cifar10", "cifar10-lra", "remote-homology")

register_table(TableSpec(
    name="table1",
    title="Table 1: test accuracy of FPT vs fully trained transformer vs LSTM",
    rows=(
        RowSpec("FPT", "fpt", paper_row="fpt"),
        RowSpec("Full", "full", paper_row="full"),
        RowSpec("LSTM", "lstm", paper_row="lstm"),
    ),
    tasks=PAPER_TASKS,
    paper_table="table1",
    description="Frozen pretrained transformer (only input, output, layer norms and positions train) against "
    "the same transformer fully trained and a 3-layer LSTM trained from scratch.",
    order=10,
))

register_table(TableSpec(
    name="table6",
    title="Table 6: gradient steps until the validation metric reaches the task's threshold",
    rows=(
        RowSpec("FPT", "fpt", paper_row="fpt"),
        RowSpec("Random init", "random-frozen", paper_row="random"),
    ),
    derived=(DerivedRow("Speed-up (random / FPT)", numerator="Random init", denominator="FPT", paper_row="speedup"),),
    tasks=PAPER_TASKS,
    metric="steps-to-threshold",
    paper_table="table6",
    average=False,
    description="Steps to reach the task's convergence threshold on validation (evaluated every eval_every "
    "steps, so a resolution of eval_every). The paper counts steps to convergence, a looser notion.",
    order=60,
))
