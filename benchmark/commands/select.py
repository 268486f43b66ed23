"""``fptbench select``: the learning rate chosen on validation per configuration, test at that choice.

Text output shows metrics in percent (as the report does); ``--json`` gives the records of
``benchmark.selection.select`` unchanged (fractions as stored, NaN as null).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from ..cli import DEFAULT_RESULTS, args, command


def _select_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", action="append", help=f"results directory, repeatable (default {DEFAULT_RESULTS})")
    p.add_argument("--json", action="store_true", help="print the selection records as JSON")


def _pct(mean: float, sd: float | None = None, n: int | None = None) -> str:
    if mean is None or not math.isfinite(mean):
        return "-"
    text = f"{100 * mean:.1f}"
    if sd is not None and math.isfinite(sd):
        text += f" ± {100 * sd:.1f}"
    return text + (f" (n={n})" if n else "")


def _lr(x: float) -> str:
    return f"{x:.0e}" if x is not None and math.isfinite(x) else "-"


@command("select", "per (task, model, backbone, preset): the lr with the best mean validation metric, test at that lr",
         group="results")
@args(_select_args)
def cmd_select(a: argparse.Namespace) -> int:
    from ..errors import FptError
    from ..selection import records, select_results

    dirs = a.results or [DEFAULT_RESULTS]
    for d in dirs:
        if not (Path(d) / "runs").is_dir():
            raise FptError(f"results directory {d} has no runs/; run `fptbench sweep --grid FILE --results {d}` first")
    df = select_results(dirs)
    if a.json:
        print(json.dumps(records(df), indent=2))
        return 0
    if df.empty:
        print("no runs found")
        return 0
    print(f"{'task':<14} {'model':<15} {'backbone':<11} {'preset':<8} {'profile':<7} {'steps':>6}  {'lr (val)':>8} "
          f"{'val %':>6}  {'test % at lr (val)':<20} {'fixed lr':>8}  {'test % at fixed':<20} {'lrs':>3}  same grid")
    for r in df.itertuples():
        print(f"{r.task:<14} {r.model:<15} {r.backbone:<11} {r.preset or '-':<8} {r.profile:<7} {r.budget_steps:>6}  "
              f"{_lr(r.lr_selected):>8} {_pct(r.val_mean):>6}  {_pct(r.test_mean, r.test_sd, r.n_seeds):<20} "
              f"{_lr(r.fixed_lr):>8}  {_pct(r.fixed_test_mean, r.fixed_test_sd, r.fixed_n_seeds):<20} "
              f"{len(r.lrs_tried):>3}  {'yes' if r.same_grid else 'no'}")
    print("lr (val): chosen by mean validation metric over seeds (ties: smaller lr); test is never used to choose. "
          "Fixed lr: the profile's own lr. Mean ± sample sd over seeds.")
    return 0
