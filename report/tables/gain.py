"""The transfer-gain table: does pretraining transfer, measured against controls at the same budget.

Why: a frozen pretrained transformer scoring well says nothing about *transfer* until it is set
beside what the same pipeline scores without the pretrained body. Tan et al. (NeurIPS 2024) found a
single attention layer often matches a pretrained body, so the table carries three controls: the same
architecture with random weights frozen like FPT (``random-frozen``), the input layer straight to the
head (``no-body``) and one trainable attention layer (``one-attention``); for the finetuned row, the
same architecture trained from scratch (``random-full``). Gains are paired differences over the
seeds both rows ran (``DerivedRow(op="diff")``): mean +- sd over matched seeds, with the paired
bootstrap 95% interval as a note; the leaderboard has the same gains with commands for missing controls.
"""

from __future__ import annotations

from ..specs import DerivedRow, RowSpec, TableSpec, register_table
from benchmark.profile_defs import PAPER_TASKS

register_table(TableSpec(
    name="transfer-gain",
    title="Transfer gain: pretrained minus control, test accuracy (percentage points, paired over seeds)",
    rows=(
        RowSpec("FPT", "fpt"),
        RowSpec("Random frozen (same architecture)", "random-frozen"),
        RowSpec("No body (input to head)", "no-body"),
        RowSpec("One attention layer", "one-attention"),
        RowSpec("Full (pretrained, finetuned)", "full"),
        RowSpec("From scratch (same architecture)", "random-full"),
    ),
    derived=(
        DerivedRow("FPT gain over random frozen", "FPT", "Random frozen (same architecture)", op="diff"),
        DerivedRow("FPT gain over no body", "FPT", "No body (input to head)", op="diff"),
        DerivedRow("FPT gain over one attention layer", "FPT", "One attention layer", op="diff"),
        DerivedRow("Full gain over from scratch", "Full (pretrained, finetuned)", "From scratch (same architecture)",
                   op="diff"),
    ),
    tasks=PAPER_TASKS,
    average=False,
    description="Each gain row is the row above minus its control, seed by seed over the seeds both ran (same "
    "task, profile and budget); a control that never ran leaves the gain missing (run it with e.g. `fptbench run "
    "--task mnist --model no-body --profile cpu --seed 0`). Controls train from scratch; no-body controls take no "
    "backbone.",
    order=15,
))
