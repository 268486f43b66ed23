"""What fills a cell: metric extractors, one per table kind, in a registry (plugins, not if/elif).

An extractor reads the runs-table rows of one *finished* run and returns the cell value in display
units, or ``None`` and the reason it has none (e.g. a threshold never reached).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from benchmark.errors import FptError
from benchmark.registry import Registry

Extract = Callable[[pd.DataFrame], "tuple[float | None, str]"]


@dataclass(frozen=True)
class Metric:
    name: str
    label: str  # column-group caption, e.g. "test accuracy (%)"
    decimals: int
    higher_is_better: bool
    extract: Extract
    paper_scale: float = 1.0  # paper CSV value * paper_scale = display units
    unit: str = ""  # display unit of a cell ("%" for accuracies: the report shows percentages throughout)
    # A lower bound on the value of a run that ``extract`` gives none for (a censored observation), or None
    # where there is no such bound. Steps to a threshold never reached: at least the steps trained.
    censor: "Callable[[pd.DataFrame], float | None] | None" = None


METRICS: Registry[Metric] = Registry("report metric", "fptbench.metrics", of=Metric)


def register_metric(metric: Metric) -> Metric:
    METRICS.add(metric.name, metric)
    return metric


get_metric = METRICS.get


def main_metric_row(run: pd.DataFrame, split: str) -> pd.Series:
    """The task's main metric (the one that is not 'loss') on ``split`` of one run."""
    rows = run[(run.split == split) & (run.metric != "loss")]
    if len(rows) != 1:
        rid = run.run_id.iloc[0] if len(run) else "?"
        raise FptError(f"run {rid} has {len(rows)} main-metric rows on '{split}' (expected 1); its results file is damaged")
    return rows.iloc[0]


def _test_metric(run: pd.DataFrame) -> tuple[float | None, str]:
    value = float(main_metric_row(run, "test").value)
    if not math.isfinite(value):
        return None, "test metric is not finite"
    return 100.0 * value, ""


def _steps_to_threshold(run: pd.DataFrame) -> tuple[float | None, str]:
    row = main_metric_row(run, "test")
    stt = row.steps_to_threshold
    if stt is None or pd.isna(stt):
        return None, f"threshold {row.threshold:g} not reached in {int(row.steps_trained)} steps"
    return float(stt), ""


def _steps_trained(run: pd.DataFrame) -> float | None:
    """A run that never reached its threshold needed more steps than it trained: a lower bound."""
    trained = main_metric_row(run, "test").steps_trained
    return None if trained is None or pd.isna(trained) else float(trained)


register_metric(Metric("test-metric", "test accuracy (%)", 1, True, _test_metric, unit="%"))
register_metric(Metric("steps-to-threshold", "gradient steps to the validation threshold", 0, False,
                       _steps_to_threshold, unit="steps", censor=_steps_trained))
