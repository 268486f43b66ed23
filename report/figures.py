"""Convergence figures: validation metric against steps and against wall time, one figure per
(profile, backbone, task), each model a line (mean over seeds) with a min..max band over seeds.

A line needs ``MIN_POINTS`` evaluations to show a shape: a series with fewer is not drawn (the report
names it under the figure), and a (profile, backbone, task) with no such series gets no figure at all
(e.g. cpu-long evaluates MNIST twice: its numbers are in the tables, not drawn as curves). A panel
holds at most ``MAX_LINES`` lines; more series continue on further rows of panels, each line with a
colour of its own in its panel, the legend beside the panels, never over the data.

Byte-reproducible on one machine: the object API only (no pyplot global state), matplotlib's default
style (a user's matplotlibrc cannot leak in), a fixed ``svg.hashsalt``, and no date, creator or
software stamps in the SVG/PNG metadata. Every figure gets a CSV sidecar of exactly the plotted
series; ``--check`` compares that strictly even where image bytes differ across matplotlib versions.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import matplotlib
import pandas as pd

from benchmark.runview import same_lr, view_of

from .cells import profile_lr
from .formats import Figure
from .plateau import curve_ends

MODEL_ORDER = ("fpt", "random-frozen", "full", "lstm")
MIN_POINTS = 5  # evaluations a series needs to be drawn as a line
MAX_LINES = 8  # lines per panel; more series go to further panels
# 20 distinct colours: matplotlib's tab10, then tab20's light halves (a panel has at most MAX_LINES lines)
COLORS = tuple(f"C{i}" for i in range(10)) + ("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
                                               "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5")
RC = {"svg.hashsalt": "fptbench", "svg.fonttype": "path", "path.simplify": False, "figure.dpi": 100,
      "font.family": "DejaVu Sans", "axes.grid": True, "grid.alpha": 0.3}
PNG_META = {"Software": None}
SVG_META = {"Date": None, "Creator": None}


def renderer_info() -> dict[str, str]:
    """What the image bytes depend on, recorded in the manifest so --check knows when to compare them."""
    from matplotlib import ft2font

    return {"matplotlib": matplotlib.__version__, "freetype": getattr(ft2font, "__freetype_version__", "?")}


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", s)


def _label(model: str, options: dict) -> str:
    if not options:
        return model
    return model + "[" + ",".join(f"{k}={options[k]}" for k in sorted(options)) + "]"


def _series(run) -> str:
    """A line's label: model and options, plus the budget changes that make it another config (a grid's
    learning rate, a data-efficiency fraction), so runs of two configs never average into one line."""
    label = _label(run.model, run.options)
    want = profile_lr(run.profile, run.task, run.model)
    if want is not None and not math.isnan(run.lr) and not same_lr(run.lr, want):
        label += f" lr={run.lr:g}"
    if getattr(run, "train_fraction", 1.0) < 1.0:
        label += f" train={run.train_fraction:g}"
    return label


def _base(label: str) -> str:
    """The model of a line label (``fpt[preset=+ln]`` and ``fpt lr=0.0001`` are fpt's)."""
    return re.split(r"[\[ ]", label, maxsplit=1)[0]


def _order(label: str) -> tuple[int, str]:
    base = _base(label)
    return (MODEL_ORDER.index(base) if base in MODEL_ORDER else len(MODEL_ORDER), label)


def _color(label: str, labels: list[str]) -> str:
    """Known models keep one colour in every figure; the other series of a panel take the next unused ones."""
    base = _base(label)
    if base in MODEL_ORDER and label == base:
        return f"C{MODEL_ORDER.index(base)}"
    fixed = {f"C{MODEL_ORDER.index(x)}" for x in labels if x in MODEL_ORDER}
    free = [c for c in COLORS if c not in fixed]
    extra = [x for x in labels if _base(x) not in MODEL_ORDER or x != _base(x)]
    return free[extra.index(label) % len(free)]


def drawable(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(series with at least MIN_POINTS evaluations, one row per series left out with its point count)."""
    if table.empty:
        return table, pd.DataFrame(columns=["profile", "backbone", "task", "series", "points"])
    keys = ["profile", "backbone", "task", "series"]
    points = table.groupby(keys).step.nunique().rename("points").reset_index()
    keep = points[points.points >= MIN_POINTS][keys]
    return table.merge(keep, on=keys), points[points.points < MIN_POINTS].reset_index(drop=True)


def panels(labels: list[str]) -> list[list[str]]:
    """Ordered series split into panels of at most MAX_LINES lines."""
    return [labels[i:i + MAX_LINES] for i in range(0, len(labels), MAX_LINES)] or [[]]


def series_table(runs: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """Tidy per-(profile, backbone group, task, series, step) statistics over seeds: what gets plotted."""
    cols = ["profile", "backbone", "task", "series", "metric", "step", "wall_time_mean_s", "value_mean", "value_min",
            "value_max", "n_seeds"]
    rec = view_of(runs).runs
    curves = curves.drop_duplicates(["run_id", "step", "split", "metric"], keep="first")
    if rec.empty or curves.empty:
        return pd.DataFrame(columns=cols)
    # Finished harness runs only: submitted curves are claims (the leaderboard shows them, marked), and a
    # curve of a submitted run would otherwise be averaged into the harness's line.
    rec = rec[(rec.status == "finished") & (rec.source == "harness")].copy()
    rec["series"] = [_series(r) for r in rec.itertuples()]
    cur = curves[(curves.split == "val") & (curves.metric != "loss")]
    cur = cur.merge(rec[["run_id", "profile", "backbone", "task", "series", "seed"]], on="run_id")
    out = []
    for profile in sorted(cur.profile.unique()):
        prof = cur[cur.profile == profile]
        backbones = sorted(b for b in prof.backbone.unique() if b != "none") or ["none"]
        for bb in backbones:
            grp = prof[prof.backbone.isin([bb, "none"])]
            for (task, series, metric), df in grp.groupby(["task", "series", "metric"], sort=True):
                scale = 100.0 if metric == "accuracy" else 1.0
                stats = df.groupby("step").agg(wall=("wall_time_s", "mean"), mean=("value", "mean"),
                                               lo=("value", "min"), hi=("value", "max"), n=("seed", "nunique"))
                for step, r in stats.sort_index().iterrows():
                    out.append([profile, bb, task, series, metric, int(step), float(r.wall), scale * float(r["mean"]),
                                scale * float(r.lo), scale * float(r.hi), int(r.n)])
    return pd.DataFrame(out, columns=cols)


def draw(df: pd.DataFrame, title: str):
    """The matplotlib figure of one (profile, backbone, task) series table (not saved): one row of two
    panels (steps, wall time) per MAX_LINES series, the legend beside each row."""
    from matplotlib.figure import Figure as MplFigure

    groups = panels(sorted(df.series.unique(), key=_order))
    fig = MplFigure(figsize=(12, 3.8 * len(groups)))
    axes = fig.subplots(len(groups), 2, sharey=True, squeeze=False)
    metric = df.metric.iloc[0]
    for row, labels in zip(axes, groups):
        for label in labels:
            s = df[df.series == label].sort_values("step")
            color = _color(label, labels)
            n = int(s.n_seeds.max())
            for ax, x in ((row[0], s.step.to_numpy()), (row[1], s.wall_time_mean_s.to_numpy())):
                ax.plot(x, s.value_mean.to_numpy(), color=color, lw=1.5, label=f"{label} (n={n})")
                if n > 1:
                    ax.fill_between(x, s.value_min.to_numpy(), s.value_max.to_numpy(), color=color, alpha=0.2, lw=0)
        row[0].set_xlabel("gradient steps")
        row[1].set_xlabel("training wall time (s, mean over seeds)")
        row[0].set_ylabel(f"validation {metric}" + (" (%)" if metric == "accuracy" else ""))
        row[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, borderaxespad=0)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _plot(df: pd.DataFrame, title: str, png: Path, svg: Path) -> None:
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(RC)
        fig = draw(df, title)
        fig.savefig(png, format="png", metadata=PNG_META)
        fig.savefig(svg, format="svg", metadata=SVG_META)


def sparse_notes(sparse: pd.DataFrame) -> list[str]:
    """One line per (profile, backbone, task) with series too sparse to draw, naming them."""
    out = []
    for (profile, bb, task), g in sparse.groupby(["profile", "backbone", "task"], sort=True):
        counts = sorted(set(int(p) for p in g.points))
        what = ", ".join(sorted(g.series, key=_order))
        out.append(f"profile `{profile}`, backbone `{bb}`, {task}: not drawn, {len(g)} series with only "
                   f"{'/'.join(map(str, counts))} evaluation(s) each (fewer than {MIN_POINTS}): {what}")
    return out


def render_figures(runs: pd.DataFrame, curves: pd.DataFrame, out_dir: Path
                   ) -> tuple[list[Figure], list[Path], list[str]]:
    """Write PNG, SVG and CSV per (profile, backbone, task); return the figure index, written paths and
    the notes naming series too sparse to draw."""
    table, sparse = drawable(series_table(runs, curves))
    figures: list[Figure] = []
    written: list[Path] = []
    notes = sparse_notes(sparse)
    if table.empty:
        return figures, written, notes
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    for (profile, bb, task), df in table.groupby(["profile", "backbone", "task"], sort=True):
        stem = f"{_slug(profile)}__{_slug(bb)}__{_slug(task)}"
        png, svg, data = fig_dir / f"{stem}.png", fig_dir / f"{stem}.svg", fig_dir / f"{stem}.csv"
        _plot(df, f"{task} — profile {profile}, backbone {bb}", png, svg)
        buf = io.StringIO()
        df.to_csv(buf, index=False, float_format="%.6f", lineterminator="\n")
        data.write_text(buf.getvalue(), encoding="utf-8")
        figures.append(Figure(f"{profile}__{bb}", profile, bb, task, f"figures/{png.name}", f"figures/{svg.name}",
                              f"figures/{data.name}", curve_ends(df, _order)))
        written += [png, svg, data]
    return figures, written, notes


__all__ = ["draw", "render_figures", "renderer_info", "series_table"]
