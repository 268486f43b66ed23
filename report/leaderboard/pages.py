"""The leaderboard's other pages: one per row (metadata and validation curves as inline SVG) and
the data-efficiency page. Shared formatting comes from ``html.py``."""

from __future__ import annotations

import math

import pandas as pd

from .data import Leaderboard, Row, Track
from .html import DASH, PALETTE, SORT_JS, _badges, _missing_td, ci_text, esc, fmt, meta_dl, page, pct


def render_efficiency(board: Leaderboard, plots: dict[str, str]) -> str:
    """The data-efficiency page: accuracy against train_fraction per task, pretrained vs control."""
    tasks = sorted({p.task for p in board.data_efficiency})
    parts = ['<p><a href="index.html">\u2190 leaderboard</a></p><h1>Data efficiency</h1>',
             '<p class="note">Test accuracy (%) against the fraction of the training split a run trained on (budget '
             "field <code>train_fraction</code>: a fixed, seeded, nested subset of the task's training split, the same "
             "for every model and seed). Pretrained rows beside their controls; bars are 95% bootstrap intervals over "
             "seeds. Run a point with <code>fptbench run --task T --model M --budget train_fraction=0.1</code>.</p>"]
    if not tasks:
        parts.append('<p class="small" id="no-efficiency">No run with a train_fraction below 1 yet: run e.g. '
                     "<code>fptbench run --task mnist --model fpt --budget train_fraction=0.1</code> and its control "
                     "<code>fptbench run --task mnist --model random-frozen --budget train_fraction=0.1</code>.</p>")
    for t in tasks:
        pts = [p for p in board.data_efficiency if p.task == t]
        img = plots.get(t)
        fig = (f'<figure class="plot"><img src="{esc(img)}" alt="{esc(f"accuracy against training fraction on {t}")}">'
               f"<figcaption>{esc(t)}</figcaption></figure>") if img else ""
        rows = "".join(
            f'<tr><td>{esc(p.model)}</td><td>{esc(p.backbone)}</td><td>{esc(p.profile)}</td>'
            f'<td class="num" data-v="{p.fraction!r}">{p.fraction:g}</td>'
            f'<td data-v="{esc(p.precision or "")}">{esc(p.precision or DASH)}</td>'
            + (f'<td class="num" data-v="{p.mean!r}">{pct(p.mean)}<small class="ci">{esc(ci_text(p.ci95, p.n))}</small>'
               f"<small> n={p.n}</small></td>" if p.mean is not None else _missing_td("no finished seed"))
            + "</tr>" for p in pts)
        parts.append(f'<section id="eff-{esc(t)}"><h2>{esc(t)}</h2>{fig}'
                     f'<table class="lb efficiency"><thead><tr><th data-type="text">model</th><th data-type="text">backbone</th>'
                     f'<th data-type="text">profile</th><th data-type="num">train fraction</th><th data-type="text">precision</th>'
                     f'<th data-type="num">accuracy %</th>'
                     f"</tr></thead><tbody>{rows}</tbody></table></section>")
    parts.append(f"<script>{SORT_JS}</script>")
    return page("data efficiency \u2014 fptbench leaderboard", "".join(parts))


# -- per-row pages -----------------------------------------------------------------------------------
def svg_curves(task: str, metric: str, curves: pd.DataFrame, seeds: dict[str, int], width: int = 380,
               height: int = 220) -> str:
    """Validation metric against steps, one polyline per seed, as self-contained inline SVG."""
    left, right, top, bottom = 46, 10, 12, 34
    pw, ph = width - left - right, height - top - bottom
    if curves.empty:
        return f'<p class="small">No curve recorded for {esc(task)}.</p>'
    max_step = max(1, int(curves.step.max()))
    curves = curves.assign(value=curves.value.astype(float) * 100.0)  # percent, the unit of the whole site
    vals = curves.value
    vals = vals[vals.apply(math.isfinite)]
    lo = min(0.0, float(vals.min())) if len(vals) else 0.0
    hi = max(100.0, float(vals.max())) if len(vals) else 100.0

    def xy(step: float, v: float) -> str:
        return f"{left + pw * step / max_step:.1f},{top + ph * (1 - (v - lo) / (hi - lo)):.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{esc(f"validation {metric} of {task} against steps")}">',
             f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fbfbfd" stroke="#ccc"/>']
    for frac in (0.0, 0.5, 1.0):
        y = top + ph * (1 - frac)
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{lo + frac * (hi - lo):.0f}%</text>')
    parts.append(f'<text x="{left}" y="{height - 18}" font-size="10">0</text>')
    parts.append(f'<text x="{left + pw}" y="{height - 18}" font-size="10" text-anchor="end">{max_step}</text>')
    parts.append(f'<text x="{left + pw / 2:.0f}" y="{height - 4}" font-size="10" text-anchor="middle">step</text>')
    for run_id, g in curves.groupby("run_id", sort=True):
        g = g[g.value.apply(lambda v: math.isfinite(float(v)))]
        if g.empty:
            continue
        seed = seeds.get(str(run_id), 0)
        color = PALETTE[seed % len(PALETTE)]
        pts = " ".join(xy(float(s), float(v)) for s, v in zip(g.step, g.value))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.6" points="{pts}">'
                     f"<title>{esc(f'seed {seed}')}</title></polyline>")
        if len(g) == 1:  # a one-point curve draws no line: mark the point
            x, y = xy(float(g.step.iloc[0]), float(g.value.iloc[0])).split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{color}"><title>{esc(f"seed {seed}")}</title></circle>')
    parts.append("</svg>")
    shown = sorted({seeds.get(str(r), 0) for r in curves.run_id.unique()})
    legend = ", ".join(f'<span style="color:{PALETTE[s % len(PALETTE)]}">seed {s}</span>' for s in shown)
    return "".join(parts) + f'<div class="small">{legend}</div>'


def render_row_page(row: Row, track: Track, curves: pd.DataFrame, seeds: dict[str, int]) -> str:
    charts = []
    for t in track.tasks:
        cell = row.cells[t]
        sub = curves[curves.run_id.isin(cell.run_ids)]
        value = (f"test {esc(cell.metric)} {pct(cell.mean)}% {esc(ci_text(cell.ci95, cell.n))}"
                 + f" (n={cell.n})") if cell.mean is not None else f"missing: {esc(cell.reason)}"
        if cell.mean is not None and cell.reason:
            value += f" \u2014 {esc(cell.reason)}"
        charts.append(f'<figure id="curve-{esc(t)}"><figcaption><b>{esc(t)}</b>: {value}</figcaption>'
                      f"{svg_curves(t, cell.metric, sub, seeds) if cell.run_ids else ''}</figure>")
    badge = _badges(row)
    body = (f'<p><a href="../index.html">\u2190 leaderboard</a></p>'
            f"<h1>{esc(row.model)}{badge}</h1>"
            f'<p class="note">track: {esc(track.title)}; backbone {esc(row.backbone)}; profile {esc(row.profile_label)}; '
            f"mean rank: {esc(fmt(row.mean_rank, 2)) or DASH} {esc(ci_text(row.rank_ci95, 0, 2))} ({esc(row.mean_rank_reason)}); "
            f"normalized mean: {esc(pct(row.norm_mean)) or DASH}</p>"
            f"{meta_dl(row)}<h2>Validation curves</h2><div class=\"charts\">{''.join(charts)}</div>")
    return page(f"{row.model} \u2014 fptbench leaderboard", body)
