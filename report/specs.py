"""Declarative table specs: which runs fill which cell, and which paper numbers sit beside them.

A table is data, not code: a frozen ``TableSpec`` names its rows (a model, a backbone or ``"any"``,
and the exact model options a run must carry), its columns (tasks), the metric that fills a cell and
the paper table whose numbers are shown beside ours. Specs register in ``TABLE_SPECS``; built-ins live
in ``report/tables/``, other modules register with ``register_table`` (or the ``fptbench.tables``
entry point), so a new table never needs an edit to the renderer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

from benchmark.errors import FptError
from benchmark.registry import Registry
from benchmark.runview import options_key

if TYPE_CHECKING:
    import pandas as pd

    from benchmark.runview import RunView

ANY = "any"


@dataclass(frozen=True)
class RowSpec:
    """One row of ours: runs of ``model`` on ``backbone`` whose model options equal ``options``.

    ``backbone="any"`` takes the backbone of the table group being rendered (one table per
    (profile, backbone) group); a named backbone pins it. ``options=None`` accepts any options;
    the default ``{}`` accepts only runs without options, so an ablation run (``preset=+ln``) never
    leaks into the plain FPT row. Options are held as their key (``benchmark.runview.options_key``, the
    run view's ``options_key`` column), so a row and a run compare options one way only. ``paper_row`` is
    the ``row`` value in the paper's table CSV.
    """

    label: str
    model: str
    backbone: str = ANY
    options: str | None = "{}"  # a dict is accepted and stored as its key
    paper_row: str | None = None
    paper_backbone: str | None = None  # what the paper's number for this row used; None: the table's
    paper_table: str | None = None  # the paper CSV table of this row's ``paper_row``; None: the table's
    runs: str | None = None  # a named run selection (``register_run_selection``) narrowing a cell's runs

    def __post_init__(self) -> None:
        if not self.label or not self.model:
            raise FptError("a table row needs a label and a model")
        if self.options is not None and not isinstance(self.options, str):
            object.__setattr__(self, "options", options_key(self.options))  # accept a plain dict

    def matches_options(self, model_options: Mapping[str, Any]) -> bool:
        return self.options is None or options_key(model_options) == self.options


@dataclass(frozen=True)
class DerivedRow:
    """A row computed from two rows of ours, e.g. Table 6's speed-up = random / fpt steps.

    ``op="ratio"``: numerator mean / denominator mean (one number). ``op="diff"``: numerator minus
    denominator seed by seed over the seeds both ran (a paired difference, e.g. the transfer gain of a
    pretrained row over its control): the cell holds the per-seed differences, so it shows their mean,
    spread and count, with the paired bootstrap interval as a note."""

    label: str
    numerator: str  # label of a RowSpec
    denominator: str
    paper_row: str | None = None
    op: str = "ratio"

    def __post_init__(self) -> None:
        if self.op not in ("ratio", "diff"):
            raise FptError(f"derived row '{self.label}': op must be 'ratio' or 'diff', got {self.op!r}")


@dataclass(frozen=True)
class TableSpec:
    """A table: rows x tasks, one metric, optionally the paper's table beside it."""

    name: str
    title: str
    rows: tuple[RowSpec, ...]
    tasks: tuple[str, ...]
    metric: str = "test-metric"  # a name in report.metrics.METRICS
    paper_table: str | None = None  # the ``table`` value in the paper CSV
    paper_backbone: str = "gpt2"  # the backbone the paper's numbers were made with (for the protocol warning)
    derived: tuple[DerivedRow, ...] = ()
    average: bool = True
    description: str = ""
    order: int = 100  # position in the report (smaller first), then name

    def __post_init__(self) -> None:
        if not self.rows or not self.tasks:
            raise FptError(f"table '{self.name}' needs at least one row and one task")
        labels = [r.label for r in self.rows] + [d.label for d in self.derived]
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise FptError(f"table '{self.name}' repeats row labels {dup}; labels must be unique")
        for d in self.derived:
            for ref in (d.numerator, d.denominator):
                if ref not in labels[: len(self.rows)]:
                    raise FptError(f"table '{self.name}': derived row '{d.label}' refers to unknown row '{ref}'")
        if len(set(self.tasks)) != len(self.tasks):
            raise FptError(f"table '{self.name}' repeats a task column")


TABLE_SPECS: Registry[TableSpec] = Registry("table", "fptbench.tables", declared_builtins=True, of=TableSpec)

# A run selection narrows the runs matching a row in one cell (one task, one group) before the cell's
# statistics, e.g. to the learning rate chosen on validation (report/tables/selection.py). It gets the
# cell's run records (rows of ``RunView.runs``) and the whole run view, and returns the kept records and
# a note shown with the cell (or, when nothing is kept, the missing reason).
RunSelection = Callable[["pd.DataFrame", "RunView"], "tuple[pd.DataFrame, str]"]
RUN_SELECTIONS: Registry[RunSelection] = Registry("run selection", "fptbench.run_selections")


def register_run_selection(name: str, fn: RunSelection) -> RunSelection:
    """Register ``fn(cell_records, run_view) -> (kept_records, note)`` under ``name`` for ``RowSpec.runs``."""
    RUN_SELECTIONS.add(name, fn)
    return fn


get_run_selection = RUN_SELECTIONS.get


def register_table(spec: TableSpec) -> TableSpec:
    """Register a table spec (call at import time of the module that declares it)."""
    TABLE_SPECS.add(getattr(spec, "name", "?"), spec)
    return spec


get_table = TABLE_SPECS.get  # typed: the registry checked every entry is a TableSpec


def all_tables() -> list[TableSpec]:
    specs = [get_table(n) for n in TABLE_SPECS.names()]
    return sorted(specs, key=lambda s: (s.order, s.name))


__all__ = ["ANY", "DerivedRow", "RUN_SELECTIONS", "RowSpec", "TableSpec", "TABLE_SPECS", "all_tables", "get_run_selection",
           "get_table", "register_run_selection", "register_table"]
