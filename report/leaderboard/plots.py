"""Static plots of the leaderboard (matplotlib, SVG): accuracy against cost with the Pareto front, and
accuracy against the training fraction (data efficiency).

Why SVG with a fixed hash salt and no date: the site is regenerated and compared byte for byte
(``fptbench leaderboard --check``), so a figure must come out identical for identical results. Figures
are built on ``matplotlib.figure.Figure`` directly (no pyplot global state).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

from .data import EfficiencyPoint, Track  # noqa: E402

# 18 distinct colours (tab10, then tab20's light halves): up to 18 rows per plot never share one
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
           "#bcbd22", "#aec7e8", "#ff9896", "#98df8a", "#c5b0d5", "#ffbb78", "#c49c94", "#f7b6d2", "#9edae5")
MARKERS = ("o", "s", "^", "D", "v", "P")  # beyond the palette, a marker tells rows apart
RC = {"svg.hashsalt": "fptbench-leaderboard", "svg.fonttype": "none", "font.size": 8}


@dataclass(frozen=True)
class Point:
    label: str
    cost: float
    acc: float
    ci95: tuple[float, float] | None = None


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both axes (lower cost, higher accuracy),
    ordered by cost. A point with equal cost and equal accuracy to a front point is on the front too."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front: list[int] = []
    best = -math.inf
    for i in order:
        if points[i][1] > best or (front and points[i] == points[front[-1]]):
            front.append(i)
            best = max(best, points[i][1])
    return front


def _svg(fig: Figure) -> str:
    with matplotlib.rc_context(RC):
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    return buf.getvalue()


def cost_points(track: Track, task: str, axis: str) -> list[Point]:
    """One point per row with a number on ``task``: (trainable params | training FLOPs, mean accuracy)."""
    from .html import row_label

    out = []
    seen: dict[str, int] = {}
    for row in track.rows:
        c = row.cells[task]
        cost = c.n_params_trainable if axis == "params" else c.train_flops
        if c.mean is None or cost is None or cost <= 0:
            continue
        label = row_label(row)
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:  # rows that differ only in what a label leaves out (e.g. other options, source)
            label = f"{label} #{seen[label]}"
        out.append(Point(label, float(cost), c.mean, tuple(c.ci95) if c.ci95 else None))  # type: ignore[arg-type]
    return out


def pareto_svg(points: list[Point], title: str, xlabel: str) -> str:
    """Scatter of accuracy against cost (log x) with 95% intervals and the Pareto front as a step line."""
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(5.2, 3.4))
        ax = fig.add_subplot()
        for i, p in enumerate(points):
            color, marker = PALETTE[i % len(PALETTE)], MARKERS[(i // len(PALETTE)) % len(MARKERS)]
            if p.ci95:
                ax.errorbar([p.cost], [p.acc], yerr=[[p.acc - p.ci95[0]], [p.ci95[1] - p.acc]], fmt=marker, color=color,
                            ms=5, capsize=2, label=p.label)
            else:
                ax.plot([p.cost], [p.acc], marker, color=color, ms=5, label=p.label + " (one seed)")
        front = [points[i] for i in pareto_front([(p.cost, p.acc) for p in points])]
        if front:
            xs = [p.cost for p in front]
            ys = [p.acc for p in front]
            ax.step(xs, ys, where="post", color="#333", lw=1, ls="--", label="Pareto front")
            ax.plot(xs, ys, "s", mfc="none", mec="#333", ms=9)
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)  # beside, never over the data
        return _svg(fig)


def efficiency_svg(task: str, points: list[EfficiencyPoint]) -> str:
    """Accuracy against training fraction (log x), one line per (model, backbone, profile), markers always
    drawn so a single fraction still shows."""
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(5.2, 3.4))
        ax = fig.add_subplot()
        keys = sorted({(p.model, p.backbone, p.profile) for p in points})
        for i, key in enumerate(keys):
            ps = [p for p in points if (p.model, p.backbone, p.profile) == key and p.mean is not None]
            if not ps:
                continue
            xs = [p.fraction for p in ps]
            ys = [p.mean for p in ps]
            lo = [p.mean - p.ci95[0] if p.ci95 else 0.0 for p in ps]  # type: ignore[operator]
            hi = [p.ci95[1] - p.mean if p.ci95 else 0.0 for p in ps]  # type: ignore[operator]
            ax.errorbar(xs, ys, yerr=[lo, hi], fmt="-o", color=PALETTE[i % len(PALETTE)], ms=4, capsize=2,
                        label=f"{key[0]} ({key[1]}, {key[2]})")
        ax.set_xscale("log")
        ax.set_xlabel("fraction of the training split")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{task}: data efficiency")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=6, loc="best")
        return _svg(fig)
