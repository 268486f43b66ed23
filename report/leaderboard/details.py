"""The leaderboard's per-track details below the ranking: transfer gain over controls, compute, and
accuracy against cost. Shared formatting comes from ``html.py``."""

from __future__ import annotations

import math

from .data import Cell, Row, Track
from .html import CONFIG_HEADS, DASH, _badges, _list, _missing_td, _profile_cell, ci_text, config_tds, esc, human, pct


CONTROL_GROUPS = (("random", ("random-frozen", "random-full"), "same architecture, random weights, trained like it"),
                  ("no-body", ("no-body",), "input layer straight to the head"),
                  ("one-attention", ("one-attention",), "one trainable attention layer (Tan et al. 2024)"))


def _gain_td(cell: Cell, row: Row, models: tuple[str, ...]) -> str:
    if cell.mean is None:
        return _missing_td(f"no pretrained number on {cell.task}: {cell.reason}")
    g = next((cell.gains[m] for m in models if m in cell.gains), None)
    if g is None:
        return _missing_td("no control of this kind for this family")
    if g.gain is None:
        cmd = g.missing.split("run: ", 1)[1] if "run: " in g.missing else ""
        extra = f'<details class="cmd"><summary>run it</summary><code class="cmd">{esc(cmd)}</code></details>' if cmd else ""
        return (f'<td class="missing gain-missing" data-v="" title="{esc(g.missing)}">'
                f'<span aria-label="missing">{DASH}</span> <small>control missing</small>{extra}</td>')
    ci = ci_text(g.gain_ci95, g.n_pairs)
    title = (f"{row.model} minus {g.control_model} on {cell.task}, over {g.n_pairs} matched seed(s); paired 95% "
             f"bootstrap interval {ci}" + (f"; {g.missing}" if g.missing else ""))
    sign = "+" if g.gain > 0 else ""
    positive = g.gain_ci95 is not None and g.gain_ci95[0] > 0
    negative = g.gain_ci95 is not None and g.gain_ci95[1] < 0
    cls = " pos" if positive else (" neg" if negative else "")
    return (f'<td class="num gain{cls}" data-v="{g.gain!r}" title="{esc(title)}">{sign}{pct(g.gain)}'
            f'<small class="ci">{esc(ci)}</small></td>')


def _partial_gain(row: Row) -> float:
    """Mean of the gains a row has against its primary control (sort key for incomplete rows)."""
    gains = [c.gain for c in row.cells.values() if c.gain is not None]
    return sum(gains) / len(gains) if gains else -math.inf


def gain_table(track: Track) -> str:
    """Pretrained rows against their controls: per task and control kind, gain in percentage points."""
    rows = [r for r in track.rows if r.is_pretrained]
    if not rows:
        return '<p class="small">No pretrained-transformer row in this track.</p>'
    rows.sort(key=lambda r: (r.mean_gain is None, -(r.mean_gain or 0.0), -_partial_gain(r), r.model, r.backbone, r.slug))
    tasks = [t for t in track.tasks if any(r.cells[t].mean is not None for r in rows)]
    head = ['<th data-type="text">model</th>', '<th data-type="text">backbone</th>', CONFIG_HEADS,
            '<th data-type="text">profile</th>',
            '<th data-type="num" data-first="descending" aria-sort="descending" title="mean gain over the declared tasks '
            'against the same-architecture random control (complete rows only); the table is sorted by it">'
            "mean gain vs random<br><small>pp</small></th>"]
    for t in tasks:
        for name, _, what in CONTROL_GROUPS:
            head.append(f'<th data-type="num" data-first="descending" title="{esc(f"{t}: pretrained minus {what}, percentage points")}">'
                        f"{esc(t)}<br><small>vs {esc(name)}</small></th>")
    body = []
    for r in rows:
        mg = (f'<td class="num" data-v="{r.mean_gain!r}">{"+" if r.mean_gain > 0 else ""}{pct(r.mean_gain)}</td>'
              if r.mean_gain is not None else _missing_td("needs a gain against the random control on every declared task"))
        tds = "".join(_gain_td(r.cells[t], r, models) for t in tasks for _, models, _ in CONTROL_GROUPS)
        body.append(f'<tr data-slug="{esc(r.slug)}"><td data-v="{esc(r.model)}"><a href="models/{esc(r.slug)}.html">'
                    f"{esc(r.model)}</a>{_badges(r)}</td><td data-v=\"{esc(r.backbone)}\">{esc(r.backbone)}</td>"
                    f"{config_tds(r)}{_profile_cell(r)}{mg}{tds}</tr>")
    return (f'<div class="scroll"><table class="lb gain" id="gain-{esc(track.name)}"><thead><tr>{"".join(head)}</tr></thead>\n'
            f'<tbody>\n{chr(10).join(body)}\n</tbody></table></div>')


def compute_table(track: Track) -> str:
    """One line per (row, task) with a number: parameters, training FLOPs, time, memory, device, precision."""
    lines = []
    for r in track.rows:
        for t in track.tasks:
            c = r.cells[t]
            if c.mean is None:
                continue
            def num(v: float | None, text: str, why: str) -> str:
                return _missing_td(why) if v is None else f'<td class="num" data-v="{v!r}">{esc(text)}</td>'
            lines.append(
                f'<tr><td data-v="{esc(r.model)}">{esc(r.model)}</td><td data-v="{esc(r.backbone)}">{esc(r.backbone)}</td>'
                + config_tds(r) + f'<td data-v="{esc(r.profile_label)}">{esc(r.profile_label)}</td>'
                f'<td data-v="{esc(t)}">{esc(t)}</td><td class="num" data-v="{c.mean!r}">{pct(c.mean)}</td>'
                + num(c.n_params_trainable, human(c.n_params_trainable), "seeds differ in parameter count")
                + num(c.n_params_total, human(c.n_params_total), "seeds differ in parameter count")
                + num(c.train_flops, human(c.train_flops), "not recorded: these runs predate the harness's FLOP count")
                + num(c.train_time_s, f"{c.train_time_s:.1f}" if c.train_time_s is not None else "", "not recorded")
                + num(c.peak_mem_mb, f"{c.peak_mem_mb:.0f}" if c.peak_mem_mb is not None else "", "not recorded")
                + f'<td data-v="{esc(", ".join(r.meta["device"]))}">{_list(r.meta["device"])}</td>'
                + (f'<td data-v="{esc(c.precision)}">{esc(c.precision)}</td>' if c.precision else _missing_td("not recorded"))
                + "</tr>")
    if not lines:
        return '<p class="small">No runs in this track yet.</p>'
    heads = [("text", "model"), ("text", "backbone"), ("text", "preset"), ("text", "lr"), ("text", "profile"), ("text", "task"), ("num", "accuracy %"),
             ("num", "trainable params"), ("num", "total params"), ("num", "training FLOPs"),
             ("num", "train time (s)"), ("num", "peak memory (MB)"), ("text", "device"), ("text", "precision")]
    head = "".join(f'<th data-type="{k}">{esc(n)}</th>' for k, n in heads)
    return (f'<div class="scroll"><table class="lb compute" id="compute-{esc(track.name)}"><thead><tr>{head}</tr></thead>\n'
            f'<tbody>\n{chr(10).join(lines)}\n</tbody></table></div>')


def plots_html(plots: dict[str, list[tuple[str, str, str]]], track: Track) -> str:
    """<img> of the track's Pareto plots; ``plots[track]`` = [(task, axis, relative file)]."""
    mine = plots.get(track.name, [])
    figs = []
    for axis, label in (("params", "trainable parameters"), ("flops", "training FLOPs")):
        files = [(t, f) for t, a, f in mine if a == axis]
        if not files:
            figs.append(f'<p class="small">accuracy against {label}: no run of this track records {label}'
                        f"{' (runs predating the compute record)' if axis == 'flops' else ''}.</p>")
            continue
        for t, f in files:
            figs.append(f'<figure class="plot" data-axis="{axis}"><img src="{esc(f)}" alt="{esc(f"test accuracy against {label} on {t}, Pareto front dashed")}">'
                        f"<figcaption>{esc(t)}: accuracy against {esc(label)}; dashed = Pareto front "
                        "(no other row has both fewer and more accurate)</figcaption></figure>")
    return f'<div class="charts">{"".join(figs)}</div>'


