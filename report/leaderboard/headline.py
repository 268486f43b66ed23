"""The leaderboard's headline figure: the clearest transfer result in the results, in the first viewport.

Chosen by a rule, never by hand: among (task, profile, backbone) where the default ``fpt`` row and its
``random-frozen`` control both have validation curves of at least ``MIN_POINTS`` evaluations on every
seed and the gain in test accuracy has a 95% bootstrap interval excluding 0, the longest-trained one
(the closest to convergence, so its gain owes least to the budget), then the largest gain (on the
cpu-long results: Bit Memory under cpu-converge, FPT climbing to ~99.6% while random-frozen stays at
75%). The figure is that pair's validation curves, mean over seeds with the range over seeds shaded.
Without such a pair it falls back to the transfer gain per task with its intervals, and without any
gain to no figure (the page then says so).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

from .data import Leaderboard, Row, Track
from .plots import RC, _svg

MIN_POINTS = 5  # a line from fewer evaluations shows no shape (the same floor as report/figures.py)
PRETRAINED, CONTROL = "fpt", "random-frozen"
COLORS = {PRETRAINED: "#1f77b4", CONTROL: "#d62728"}


@dataclass(frozen=True)
class Headline:
    svg: str
    caption: str  # plain text
    alt: str


def _plain(row: Row) -> bool:
    return not row.options and row.lr is None and row.source == "harness"


def _pairs(track: Track):
    """(pretrained row, control row, task, gain) for every task where both default rows have a number."""
    rows = [r for r in track.rows if _plain(r)]
    for pre in (r for r in rows if r.model == PRETRAINED):
        ctl = next((r for r in rows if r.model == CONTROL and r.backbone == pre.backbone
                    and r.profile_label == pre.profile_label), None)
        if ctl is None:
            continue
        for task in track.tasks:
            g = pre.cells[task].gains.get(CONTROL)
            if g is not None and g.gain is not None:
                yield pre, ctl, task, g


def _curve_points(curves: pd.DataFrame, run_ids: list[str]) -> pd.DataFrame:
    return curves[curves.run_id.isin(run_ids)]


def _enough(curves: pd.DataFrame, run_ids: list[str]) -> bool:
    sub = _curve_points(curves, run_ids)
    return bool(run_ids) and all((sub.run_id == r).sum() >= MIN_POINTS for r in run_ids)


def headline(board: Leaderboard, curves: pd.DataFrame) -> Headline | None:
    """The headline figure of ``board`` (``curves``: validation metric rows of the results)."""
    best = None
    for track in board.tracks:
        for pre, ctl, task, g in _pairs(track):
            clear = g.gain_ci95 is not None and g.gain_ci95[0] > 0
            ids = (pre.cells[task].run_ids, ctl.cells[task].run_ids)
            if clear and all(_enough(curves, i) for i in ids):
                steps = int(_curve_points(curves, ids[0] + ids[1]).step.max())
                key = (steps, g.gain, task, pre.profile_label)
                if best is None or key > best[0]:
                    best = (key, pre, ctl, task, g)
    if best is not None:
        return _curve_figure(curves, *best[1:])
    return _gain_figure(board)


def _curve_figure(curves: pd.DataFrame, pre: Row, ctl: Row, task: str, g) -> Headline:
    with_rc = {**RC}
    import matplotlib

    with matplotlib.rc_context(with_rc):
        fig = Figure(figsize=(5.0, 2.6))
        ax = fig.add_subplot()
        for row in (pre, ctl):
            cell = row.cells[task]
            sub = _curve_points(curves, cell.run_ids)
            by_step = sub.assign(value=sub.value.astype(float) * 100).groupby("step").value
            mean, lo, hi = by_step.mean(), by_step.min(), by_step.max()
            color = COLORS[row.model]
            ax.plot(mean.index, mean.values, color=color, lw=2,
                    label=f"{row.model}: test {cell.mean:.1f}% (n={cell.n})")
            ax.fill_between(mean.index, lo.values, hi.values, color=color, alpha=0.2, lw=0)
        ax.set_xlabel("training steps")
        ax.set_ylabel("validation accuracy (%)")
        ax.set_title(f"{task}: language-pretrained vs random-init frozen transformer", fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        svg = _svg(fig)
    ci = g.gain_ci95
    caption = (f"{task}, profile {pre.profile_label}, backbone {pre.backbone}: validation accuracy of FPT (frozen "
               f"pretrained) and its random-init frozen control, mean over seeds, shaded: range over seeds. Test gain "
               f"{g.gain:+.1f} points [95% bootstrap interval {ci[0]:+.1f}, {ci[1]:+.1f}] over {g.n_pairs} matched seeds. "
               "Chosen by rule: the longest-trained pair with curves whose gain interval excludes 0.")
    return Headline(svg, caption, f"validation accuracy against steps on {task}: fpt and random-frozen")


def _gain_figure(board: Leaderboard) -> Headline | None:
    """Fallback: FPT minus random-frozen per task with 95% intervals (the first track that has any)."""
    for track in board.tracks:
        pairs = [(task, g, pre) for pre, _, task, g in _pairs(track)]
        if not pairs:
            continue
        pre = pairs[0][2]
        pairs = [(t, g) for t, g, p in pairs if p is pre]
        import matplotlib

        with matplotlib.rc_context(RC):
            fig = Figure(figsize=(5.0, 2.6))
            ax = fig.add_subplot()
            for i, (task, g) in enumerate(pairs):
                ci = g.gain_ci95 or (g.gain, g.gain)
                ax.errorbar([i], [g.gain], yerr=[[g.gain - ci[0]], [ci[1] - g.gain]], fmt="o", color=COLORS[PRETRAINED],
                            capsize=3)
            ax.axhline(0, color="#333", lw=0.8)
            ax.set_xticks(range(len(pairs)), [t for t, _ in pairs], fontsize=7)
            ax.set_ylabel("FPT minus random-frozen (points)")
            ax.set_title(f"transfer gain per task ({track.title}, {pre.profile_label}, {pre.backbone})", fontsize=9)
            ax.grid(True, alpha=0.3)
            svg = _svg(fig)
        caption = (f"Test accuracy of FPT minus its random-init frozen control per task (profile {pre.profile_label}, "
                   f"backbone {pre.backbone}), with 95% bootstrap intervals over matched seeds (no bar: one seed). "
                   f"No task has validation curves of at least {MIN_POINTS} evaluations for both models.")
        return Headline(svg, caption, "transfer gain per task with intervals")
    return None
