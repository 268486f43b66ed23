"""Whether a validation curve had flattened when training stopped, computed from the plotted series.

"The budget reaches a flat validation curve" is a statement about every long-profile result, so the
report states it per figure and series instead of leaving it to a reader's eye: the change of the
mean-over-seeds validation metric from the last evaluation at or before 75% of the series' final step
to the final step. Under ``FLAT_POINTS`` either way it is *flat*; above, *rising*; below minus, *falling*
(e.g. overfitting; the harness restores the best validation step, so the score is not the end point).
A series with no evaluation that early (one evaluation only) is *too few evaluations to tell*.
"""

from __future__ import annotations

import math

import pandas as pd

FLAT_POINTS = 1.0  # display units: accuracy points (the series are in %); other metrics their own units
LATE_FRACTION = 0.75  # the window starts at the last evaluation at or before this share of the final step


def curve_end(series: pd.DataFrame) -> tuple[str, float | None, int | None, int]:
    """(verdict, change, from step, to step) of one series (columns ``step``, ``value_mean``)."""
    s = series.sort_values("step")
    last_step = int(s.step.iloc[-1])
    early = s[s.step <= LATE_FRACTION * last_step]
    if early.empty or int(early.step.iloc[-1]) == last_step:
        return "too few evaluations to tell", None, None, last_step
    start = early.iloc[-1]
    change = float(s.value_mean.iloc[-1]) - float(start.value_mean)
    if not math.isfinite(change):
        return "not finite", None, int(start.step), last_step
    verdict = "flat" if abs(change) < FLAT_POINTS else ("rising" if change > 0 else "falling")
    return verdict, change, int(start.step), last_step


def describe(series: pd.DataFrame) -> str:
    """One series' end of training in words, e.g. ``flat (+0.3 pts, steps 2250-3000)``."""
    verdict, change, start, end = curve_end(series)
    if change is None:
        return verdict if start is None else f"{verdict} (steps {start}-{end})"
    unit = " pts" if series.metric.iloc[0] == "accuracy" else ""
    return f"{verdict} ({change:+.1f}{unit}, steps {start}-{end})"


def curve_ends(table: pd.DataFrame, order) -> tuple[str, ...]:
    """``series (n=k): description`` for each series of one figure's table, in ``order`` (a sort key)."""
    out = []
    for label in sorted(table.series.unique(), key=order):
        s = table[table.series == label]
        out.append(f"{label} (n={int(s.n_seeds.max())}): {describe(s)}")
    return tuple(out)


MIN_FLAT_EVALS = 3  # evaluations in the late window (its start included) before a flat curve counts as converged


def converged_curve(series: pd.DataFrame) -> tuple[bool, str]:
    """Whether a validation curve (``step``, ``value_mean``) is flat enough to call training converged,
    and the end of training in words.

    The figures' rule (:func:`curve_end`) with one more demand: the late window holds at least
    ``MIN_FLAT_EVALS`` evaluations. Two evaluations (600 steps evaluated every 200) cannot tell a
    plateau that training is about to leave from convergence: FPT on Bit Memory sat flat at 75% from
    step 200 to 600 and reached 99.6% by step 3,500 (results/cpu-long, profiles cpu-long and cpu-converge).
    """
    if series.empty:
        return False, "not stored (no curves in these results)"
    verdict, _, start, end = curve_end(series)
    text = describe(series) if "metric" in series else verdict
    if verdict != "flat":
        return False, text
    evals = int(((series.step >= start) & (series.step <= end)).sum())
    if evals < MIN_FLAT_EVALS:
        return False, f"{text}, but from {evals} evaluations (at least {MIN_FLAT_EVALS} needed to call it converged)"
    return True, text


CAPTION = (f"End of training, mean over seeds, from the last evaluation at or before {LATE_FRACTION:.0%} of the "
           f"final step: flat when it moved less than {FLAT_POINTS:g} point either way")

__all__ = ["CAPTION", "FLAT_POINTS", "MIN_FLAT_EVALS", "converged_curve", "curve_end", "curve_ends", "describe"]


def cost_to_train(steps: int, fin: pd.DataFrame) -> str:
    """What training ``steps`` would cost per seed at the speed these runs recorded (the price of the
    measurement that would settle an early-training comparison); '' when no speed was recorded."""
    rates = pd.to_numeric(fin.get("steps_per_s", pd.Series(dtype=float)), errors="coerce").dropna()
    rates = rates[rates > 0]
    if rates.empty:
        return ""
    rate = float(rates.median())
    return f" (~{steps / rate / 3600:.1f} h of training per seed at the {rate:.2f} steps/s these runs recorded)"
