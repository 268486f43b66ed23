"""Convergence figures: validation metric against steps and against wall time, one figure per
(profile, backbone, task), each model a line (mean over seeds) with a min..max band over seeds.

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
    """Known models keep one colour in every figure; others follow in order."""
    base = _base(label)
    if base in MODEL_ORDER and label == base:
        return f"C{MODEL_ORDER.index(base)}"
    extra = [x for x in labels if _base(x) not in MODEL_ORDER or x != _base(x)]
    return f"C{(len(MODEL_ORDER) + extra.index(label)) % 10}"


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
    """The matplotlib figure of one (profile, backbone, task) series table (not saved).

    A series with a single evaluation gets a marker: a line through one point draws nothing."""
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(10, 3.8))
    axes = fig.subplots(1, 2, sharey=True)
    labels = sorted(df.series.unique(), key=_order)
    metric = df.metric.iloc[0]
    for label in labels:
        s = df[df.series == label].sort_values("step")
        color = _color(label, labels)
        n = int(s.n_seeds.max())
        style = {"marker": "o", "markersize": 4} if len(s) == 1 else {}
        for ax, x in ((axes[0], s.step.to_numpy()), (axes[1], s.wall_time_mean_s.to_numpy())):
            ax.plot(x, s.value_mean.to_numpy(), color=color, lw=1.5, label=f"{label} (n={n})", **style)
            if n > 1:
                ax.fill_between(x, s.value_min.to_numpy(), s.value_max.to_numpy(), color=color, alpha=0.2, lw=0)
    axes[0].set_xlabel("gradient steps")
    axes[1].set_xlabel("training wall time (s, mean over seeds)")
    axes[0].set_ylabel(f"validation {metric}" + (" (%)" if metric == "accuracy" else ""))
    axes[0].legend(loc="best", fontsize=8)
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


def render_figures(runs: pd.DataFrame, curves: pd.DataFrame, out_dir: Path) -> tuple[list[Figure], list[Path]]:
    """Write PNG, SVG and CSV per (profile, backbone, task); return the figure index and written paths."""
    table = series_table(runs, curves)
    figures: list[Figure] = []
    written: list[Path] = []
    if table.empty:
        return figures, written
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
    return figures, written


__all__ = ["draw", "render_figures", "renderer_info", "series_table"]
