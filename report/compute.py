"""Old import names for modules rewritten concurrently (report/claims, report/render.py, report/figures.py).

``report/compute.py`` was split: table cells live in ``report.cells``, missing-cell and comparability
reasons in ``report.reasons``, and per-run rows in ``benchmark.runview`` (the run view). Nothing here
computes anything; delete this module once no module imports ``report.compute``.
"""

from __future__ import annotations

import pandas as pd

from benchmark.runview import APART, keep_runs, same_lr

from .cells import (HARNESS, NO_HARNESS_RUN, Cell, Group, RowResult, TableResult, at_profile_lr, compute_all,
                    compute_table, groups_for, on_full_training_split, precision_mix, profile_lr, seeds_per_precision)
from .reasons import absence_reasons, empty_reason, task_absence_reason, task_comparability


def dedupe_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The run view's de-duplication policy (``benchmark.runview.keep_runs``, submitted runs kept apart)."""
    return keep_runs(runs, APART)


__all__ = ["HARNESS", "NO_HARNESS_RUN", "Cell", "Group", "RowResult", "TableResult", "absence_reasons", "at_profile_lr",
           "compute_all", "compute_table", "dedupe_runs", "empty_reason", "groups_for", "on_full_training_split",
           "precision_mix", "profile_lr", "same_lr", "seeds_per_precision", "task_absence_reason", "task_comparability"]
