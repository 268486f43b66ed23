"""The learning-rate table in the re-evaluation's style: tuned on validation vs the fixed (paper) lr.

Rothermel et al. 2021 (arXiv 2107.12460) swept the learning rate, chose it on a validation split
and reran the paper's comparison; fully trained models then beat frozen ones on ListOps and CIFAR-10.
This table puts, per method, our result **tuned on validation** (``benchmark.selection``: the lr with
the best mean validation metric over seeds; ties to the smaller lr; test never used to choose) beside
the re-evaluation's number, and our result **at the profile's fixed lr** beside the paper's. Both
rows of a method come from the same sweep (``fptbench sweep --grid cpu-lr|paper-lr``), so they
differ only in how the lr was picked. The re-evaluation's numbers are marked ``transcription``.

Rows are selected with two named run selections (``report.specs.register_run_selection``):
``lr-tuned`` keeps a cell's runs at the lr chosen on validation, ``lr-fixed`` those at the profile's
own lr. A cell whose runs hold one lr only has no tuned number (nothing was tuned); its fixed-lr
number still shows.
"""

from __future__ import annotations

import math

import pandas as pd

from benchmark.runview import RunView, same_lr
from benchmark.selection import select

from ..specs import RowSpec, TableSpec, register_run_selection, register_table

# The re-evaluation's four tasks, and bit-xor, where the cpu stand-in grid (cpu-lr) runs.
TASKS = ("bit-xor", "listops", "mnist", "cifar10", "cifar10-lra")


def _keep(cell: pd.DataFrame, lr: float) -> pd.DataFrame:
    return cell[same_lr(cell.lr, lr)]


def lr_tuned(cell: pd.DataFrame, view: RunView) -> tuple[pd.DataFrame, str]:
    """Keep the runs at the lr chosen on validation (one budget per cell, else a conflict)."""
    chosen = select(view.narrow(cell))
    if len(chosen) != 1:
        return cell.iloc[0:0], f"conflict: {len(chosen)} budgets/options in one cell; render their results separately"
    row = chosen.iloc[0]
    if len(row.lrs_tried) < 2:
        return cell.iloc[0:0], (f"only lr {row.lrs_tried[0]:g} was run: nothing to tune "
                                "(`fptbench sweep --grid cpu-lr` or `paper-lr`)")
    if not math.isfinite(row.lr_selected):
        return cell.iloc[0:0], f"no lr finished on every seed (tried {', '.join(f'{x:g}' for x in row.lrs_tried)})"
    return _keep(cell, row.lr_selected), f"lr {row.lr_selected:g} chosen on val of {len(row.lrs_tried)}"


def lr_fixed(cell: pd.DataFrame, view: RunView) -> tuple[pd.DataFrame, str]:
    """Keep the runs at the profile's own lr for this (task, model): the paper's protocol."""
    chosen = select(view.narrow(cell))
    if len(chosen) != 1:
        return cell.iloc[0:0], f"conflict: {len(chosen)} budgets/options in one cell; render their results separately"
    fixed = float(chosen.iloc[0].fixed_lr)
    if not math.isfinite(fixed):
        return cell.iloc[0:0], "profile unknown here: no fixed lr"
    kept = _keep(cell, fixed)
    if kept.empty:
        return kept, f"not run at the profile's lr {fixed:g}"
    return kept, f"lr {fixed:g} fixed"


register_run_selection("lr-tuned", lr_tuned)
register_run_selection("lr-fixed", lr_fixed)


def _pair(label: str, model: str, reeval_row: str | None, paper_table: str | None, paper_row: str | None) -> tuple[RowSpec, RowSpec]:
    return (RowSpec(f"{label}, lr tuned on val", model, runs="lr-tuned", paper_table="rothermel2021", paper_row=reeval_row),
            RowSpec(f"{label}, fixed lr", model, runs="lr-fixed", paper_table=paper_table, paper_row=paper_row))


register_table(TableSpec(
    name="lr-selection",
    title="Learning rate tuned on validation vs fixed (re-evaluation protocol)",
    rows=(*_pair("FPT (frozen pretrained)", "fpt", "frozen-pretrained", "table1", "fpt"),
          *_pair("Frozen random", "random-frozen", "frozen-random", "table2", "random"),
          *_pair("Full (unfrozen pretrained)", "full", "unfrozen-pretrained", "table1", "full"),
          *_pair("Unfrozen random", "random-full", "unfrozen-random", None, None)),
    tasks=TASKS,
    paper_table="rothermel2021",
    average=False,
    description="Per method: ours with the lr chosen on validation (mean over seeds; the note names the lr and how "
    "many were tried) beside the re-evaluation (Rothermel et al. 2021, lr swept 1e-6..1e-2, 3 seeds: "
    "`transcription`), and ours at the profile's fixed lr beside the paper. Both rows come from one sweep "
    "(`fptbench sweep --grid cpu-lr` or `paper-lr`); `fptbench select` lists the same choice per configuration.",
    order=15,
))
