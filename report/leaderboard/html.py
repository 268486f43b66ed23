"""Static HTML for the leaderboard: an index with, per track, a sortable table, a transfer-gain table,
a compute table and accuracy-against-cost plots; one page per row with its metadata and validation
curves as inline SVG; a data-efficiency page.

Everything is rendered here in Python with every string passed through ``esc`` (model names come
from submitters and may contain HTML); the page's only script sorts rows already in the DOM. No
CDN, no external request: the site works from ``file://``.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any, Iterable

import pandas as pd

from .data import Cell, Leaderboard, Row, Track

DASH = "\u2014"
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem auto;max-width:1400px;
padding:0 1rem;color:#1d1d1f;background:#fff}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.25rem;margin-top:2rem}
p.note,p.small{color:#555;margin:.3rem 0}
table.lb{border-collapse:collapse;width:100%;margin-top:.6rem}
table.lb th,table.lb td{border-bottom:1px solid #ddd;padding:.3rem .45rem;text-align:left;vertical-align:top}
table.lb th{background:#f4f4f6;position:sticky;top:0;white-space:nowrap}
table.lb th[data-type]{cursor:pointer;user-select:none}
table.lb th[data-type]:hover{background:#e8e8ee}
table.lb th[aria-sort=ascending]::after{content:" \\25B2"}
table.lb th[aria-sort=descending]::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.num small{color:#777;margin-left:.25rem}
td.missing{text-align:center;color:#999;background:#fafafa}
td.flag{background:#fff8e6}
span.badge{display:inline-block;font-size:.75rem;padding:0 .35rem;border-radius:.6rem;margin-left:.3rem}
span.badge.submitted{background:#fde7c4;color:#7a4b00}
span.badge.modified{background:#e6e9ff;color:#28328c}
details summary{cursor:pointer;color:#245}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:.1rem .8rem;margin:.4rem 0;font-size:.85rem}
dl.meta dt{color:#555}dl.meta dd{margin:0;word-break:break-word}
.charts{display:flex;flex-wrap:wrap;gap:1rem}
figure{margin:0;border:1px solid #ddd;padding:.4rem}
figcaption{font-size:.85rem;color:#333}
code{font-size:.85em;background:#f4f4f6;padding:0 .2rem}
small.ci{display:block;color:#666;font-size:.75rem}
span.tie{display:block;font-size:.75rem;color:#8a5a00}
tr.tied td:first-child{border-left:3px solid #f0c36d}
td.gain.pos{background:#e9f7ec}td.gain.neg{background:#fdecec}
td.gain-missing{font-size:.8rem;text-align:left}
code.cmd{display:block;font-size:.7rem;white-space:normal;word-break:break-all;color:#333;max-width:22rem}
p.warn{color:#8a3b00}
span.badge.verified{background:#d8f3dc;color:#1b5e20}
span.badge.contradicted{background:#f8d7da;color:#842029}
figure.plot img{max-width:520px;width:100%;height:auto}
dl.defs{font-size:.9rem}
"""

SORT_JS = """
(function () {
  "use strict";
  function key(cell) {
    var v = cell.getAttribute("data-v");
    return v === null ? "" : v;
  }
  function sortTable(table, col, th) {
    var type = th.getAttribute("data-type");
    var current = th.getAttribute("aria-sort");
    var first = th.getAttribute("data-first") || "ascending";
    var dir = current === null ? first : (current === "ascending" ? "descending" : "ascending");
    var heads = table.tHead.rows[0].cells;
    for (var h = 0; h < heads.length; h++) { heads[h].removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", dir);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (r, i) { r.setAttribute("data-i", String(i)); });
    var sign = dir === "ascending" ? 1 : -1;
    rows.sort(function (a, b) {
      var va = key(a.cells[col]), vb = key(b.cells[col]);
      if (va === "" && vb !== "") { return 1; }   /* missing cells always sort last */
      if (vb === "" && va !== "") { return -1; }
      var c = 0;
      if (va !== "" && vb !== "") {
        c = type === "num" ? (parseFloat(va) - parseFloat(vb)) : va.localeCompare(vb);
      }
      if (c === 0) { return parseInt(a.getAttribute("data-i"), 10) - parseInt(b.getAttribute("data-i"), 10); }
      return sign * c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  var tables = document.querySelectorAll("table.lb");
  Array.prototype.forEach.call(tables, function (table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      if (!th.hasAttribute("data-type")) { return; }
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortTable(table, col, th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortTable(table, col, th); }
      });
    });
  });
})();
"""


def esc(value: Any) -> str:
    """HTML-escape any value for text or a double-quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def json_for_script(text: str) -> str:
    """JSON safe inside <script type="application/json">: no '<', '>' or '&' can close the element."""
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def fmt(x: float | None, digits: int = 4) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def page(title: str, body: str, extra_head: str = "") -> str:
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<link rel=\"icon\" href=\"data:,\">\n"
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n{extra_head}</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


# -- formatting ------------------------------------------------------------------------------------
def pct(x: float | None, digits: int = 1) -> str:
    """A percentage (or percentage points) for display; never '-0.0'."""
    if x is None:
        return ""
    out = f"{x:.{digits}f}"
    return out[1:] if out.startswith("-") and float(out) == 0 else out


def ci_text(ci: list[float] | None, n: int, digits: int = 1) -> str:
    """'[lo, hi]' for an interval; 'one seed' when there is a single seed (never a tight interval)."""
    if ci is None:
        return "one seed" if n == 1 else ""
    return f"[{pct(ci[0], digits)}, {pct(ci[1], digits)}]"


def human(x: float | None) -> str:
    """1234567 -> 1.23M: parameter and FLOP counts at a glance."""
    if x is None:
        return ""
    for div, suffix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{suffix}"
    return f"{x:.3g}"


def _missing_td(reason: str, extra: str = "") -> str:
    return (f'<td class="missing" data-v="" title="{esc(reason)}"><span aria-label="missing">{DASH}</span>'
            f"{extra}</td>")


# -- index -----------------------------------------------------------------------------------------
def _cell_html(cell: Cell) -> str:
    if cell.mean is None:
        return _missing_td(cell.reason)
    parts = [f"mean of {cell.n} seed(s) {cell.seeds}"]
    if cell.ci95 is not None:
        parts.append(f"95% bootstrap interval over seeds {ci_text(cell.ci95, cell.n, 2)}")
    else:
        parts.append("one seed: no interval")
    if cell.std is not None:
        parts.append(f"std {cell.std:.2f}")
    if cell.rank is not None:
        parts.append(f"rank {cell.rank:g}")
    if cell.norm_score is not None:
        parts.append(f"normalized score {pct(cell.norm_score)}")
    if cell.reason:
        parts.append(cell.reason)
    if cell.budget_changes:
        parts.append("budget changed from the profile: " + json.dumps(cell.budget_changes, sort_keys=True))
    flag = " flag" if cell.reason else ""
    mark = "\u2020" if cell.reason else ""
    ci = ci_text(cell.ci95, cell.n)
    return (f'<td class="num{flag}" data-v="{cell.mean!r}" title="{esc("; ".join(parts))}">'
            f'{pct(cell.mean)}{mark}<small class="ci">{esc(ci)}</small><small> n={cell.n}</small></td>')


def _list(values: Iterable[Any]) -> str:
    vals = [str(v) for v in values]
    return esc(", ".join(vals)) if vals else "\u2014"


def _params(meta: dict[str, Any]) -> str:
    parts = []
    for task, p in meta["params"].items():
        parts.append(f"{task}: {'/'.join(f'{x:,}' for x in p['trainable'])} of {'/'.join(f'{x:,}' for x in p['total'])}")
    return esc("; ".join(parts)) if parts else "\u2014"


def meta_dl(row: Row) -> str:
    m = row.meta
    items = [
        ("model", esc(row.model)),
        ("family", _list(m["model_family"])),
        ("backbone", esc(row.backbone)),
        ("pretrained on", _list(m["pretrained_on"])),
        ("stand-in for", _list(m["stand_in_for"])),
        ("params (trainable of total)", _params(m)),
        ("profile", esc(row.profile)),
        ("budget changes", esc(json.dumps(row.budget_changes, sort_keys=True)) if row.budget_changes else "none"),
        ("model options", esc(json.dumps(row.options, sort_keys=True)) if row.options else "none"),
        ("source", esc(row.source)),
        ("harness version", _list(m["package_version"])),
        ("git commit", _list(m["git_commit"])),
        ("torch / transformers", f"{_list(m['torch_version'])} / {_list(m['transformers_version'])}"),
        ("device", _list(m["device"])),
        ("precision", _list(m.get("precision", []))),
        ("runs", esc(m["n_runs"])),
    ]
    return '<dl class="meta">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


VERIFY_TITLES = {  # a row shows its weakest run's own verdict (benchmark.submission.verdicts)
    "submitted": "submitted results, not rerun by the harness (FLOPs, memory and times are self-reported)",
    "verified": "submitted results; the harness reran every run of this row and agrees (memory and times "
                "are self-reported)",
    "contradicted": "submitted results; a run contradicts its own curves, the parameter counts its adapter "
                    "builds, or a harness rerun",
}


def _badges(row: Row) -> str:
    out = ""
    if row.submitted_by is not None:
        status = row.verification or "submitted"
        out += (f'<span class="badge submitted {esc(status)}" title="{esc(VERIFY_TITLES.get(status, status))}">'
                f"{esc(status)} by {esc(row.submitted_by)}</span>")
    return out


def _profile_cell(row: Row) -> str:
    if row.budget_changes:
        title = "budget differs from the profile: " + json.dumps(row.budget_changes, sort_keys=True)
        return (f'<td data-v="{esc(row.profile_label)}">{esc(row.profile)}'
                f'<span class="badge modified" title="{esc(title)}">modified budget</span></td>')
    return f'<td data-v="{esc(row.profile_label)}">{esc(row.profile)}</td>'


def _rank_td(row: Row, by_slug: dict[str, Row]) -> str:
    if row.mean_rank is None:
        return _missing_td(row.mean_rank_reason)
    interval = ci_text(row.rank_ci95, 0, 2) or "no interval (one seed, one task)"
    tie = ""
    if row.tied_with:
        names = ", ".join(f"{by_slug[s].model} ({by_slug[s].backbone})" for s in row.tied_with if s in by_slug)
        tie = f'<span class="tie" title="{esc("rank interval overlaps: " + names)}">\u2248 tied</span>'
    title = f"{row.mean_rank_reason}; 95% bootstrap interval over seeds and tasks {interval}"
    return (f'<td class="num" data-v="{row.mean_rank!r}" title="{esc(title)}">{row.mean_rank:.2f}'
            f'<small class="ci">{esc(interval)}</small>{tie}</td>')


def _norm_td(row: Row) -> str:
    if row.norm_mean is None:
        return _missing_td("normalized mean needs every declared task and each task's chance rate")
    return f'<td class="num" data-v="{row.norm_mean!r}">{pct(row.norm_mean)}</td>'


def track_table(track: Track) -> str:
    if not track.rows:
        return '<p class="small">No runs in this track yet.</p>'
    by_slug = {r.slug: r for r in track.rows}
    head = ['<th data-type="num" data-first="ascending" title="position by mean rank">#</th>',
            '<th data-type="text">model</th>', '<th data-type="text">backbone</th>', '<th data-type="text">profile</th>']
    for t in track.tasks:
        extra = t not in track.declared_tasks
        note = " (not in the track's task set; not ranked)" if extra else ""
        chance = track.chance.get(t)
        ch = f"; chance (majority class) {pct(chance)}%" if chance is not None else ""
        head.append(f'<th data-type="num" data-first="descending" class="{"extra" if extra else "task"}" '
                    f'title="{esc(f"test {track.metrics[t]} (%), mean over seeds [95% bootstrap interval]{ch}{note}")}">'
                    f"{esc(t)}<br><small>{esc(track.metrics[t])} %{'; extra' if extra else ''}</small></th>")
    head.append('<th data-type="num" data-first="ascending" title="mean rank over the declared tasks [95% bootstrap '
                'interval]; only rows with every declared task are ranked; \u2248 marks a tie with a neighbour">'
                "mean rank</th>")
    head.append('<th data-type="num" data-first="descending" title="mean normalized score over the declared tasks '
                '(0 = majority-class rate, 100 = perfect)">norm. mean</th>')
    head.append('<th data-type="num" data-first="descending" title="declared tasks with a number">coverage</th>')
    head.append("<th>details</th>")
    body = []
    for i, row in enumerate(track.rows, 1):
        opts = (f'<br><small title="model options">{esc(json.dumps(row.options, sort_keys=True))}</small>'
                if row.options else "")
        model_td = (f'<td data-v="{esc(row.model)}"><a href="models/{esc(row.slug)}.html">{esc(row.model)}</a>'
                    f"{_badges(row)}{opts}</td>")
        cells = "".join(_cell_html(row.cells[t]) for t in track.tasks)
        cov = f'<td class="num" data-v="{row.coverage}">{row.coverage}/{len(track.declared_tasks)}</td>'
        details = f'<td><details><summary>metadata</summary>{meta_dl(row)}<a href="models/{esc(row.slug)}.html">curves</a></details></td>'
        tied = " tied" if row.tied_with else ""
        body.append(f'<tr data-slug="{esc(row.slug)}" class="row{tied}"><td class="num" data-v="{i}">{i}</td>{model_td}'
                    f'<td data-v="{esc(row.backbone)}">{esc(row.backbone)}</td>{_profile_cell(row)}{cells}'
                    f"{_rank_td(row, by_slug)}{_norm_td(row)}{cov}{details}</tr>")
    return (f'<table class="lb" id="table-{esc(track.name)}"><thead><tr>{"".join(head)}</tr></thead>\n'
            f'<tbody>\n{chr(10).join(body)}\n</tbody></table>')


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
    head = ['<th data-type="text">model</th>', '<th data-type="text">backbone</th>', '<th data-type="text">profile</th>',
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
                    f"{_profile_cell(r)}{mg}{tds}</tr>")
    return (f'<table class="lb gain" id="gain-{esc(track.name)}"><thead><tr>{"".join(head)}</tr></thead>\n'
            f'<tbody>\n{chr(10).join(body)}\n</tbody></table>')


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
    heads = [("text", "model"), ("text", "backbone"), ("text", "task"), ("num", "accuracy %"),
             ("num", "trainable params"), ("num", "total params"), ("num", "training FLOPs"),
             ("num", "train time (s)"), ("num", "peak memory (MB)"), ("text", "device"), ("text", "precision")]
    head = "".join(f'<th data-type="{k}">{esc(n)}</th>' for k, n in heads)
    return (f'<table class="lb compute" id="compute-{esc(track.name)}"><thead><tr>{head}</tr></thead>\n'
            f'<tbody>\n{chr(10).join(lines)}\n</tbody></table>')


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


def definitions_html(board: Leaderboard) -> str:
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in sorted(board.definitions.items()))
    return f'<section id="definitions"><h2>Definitions</h2><dl class="meta defs">{items}</dl></section>'


def render_index(board: Leaderboard, data_json: str, plots: dict[str, list[tuple[str, str, str]]] | None = None) -> str:
    plots = plots or {}
    sections = []
    for track in board.tracks:
        declared = ", ".join(track.declared_tasks) or "none"
        sections.append(
            f'<section id="track-{esc(track.name)}"><h2>{esc(track.title)}</h2>'
            f'<p class="note">{esc(track.note)} Task set ({esc(track.task_set_from)}): {esc(declared)}.</p>'
            f"{track_table(track)}"
            f'<h3 id="gain-title-{esc(track.name)}">Transfer gain over controls ({esc(track.title)})</h3>'
            '<p class="small">Pretrained minus control in percentage points, over matched seeds, with the paired 95% '
            "bootstrap interval; green = the interval excludes 0 in favour of pretraining, red = against. A missing "
            "control shows the command that runs it.</p>"
            f"{gain_table(track)}"
            f'<h3>Compute ({esc(track.title)})</h3>{compute_table(track)}'
            f'<h3>Accuracy against cost ({esc(track.title)})</h3>{plots_html(plots, track)}</section>')
    sources = ", ".join(board.sources) or "none"
    notes = "".join(f'<p class="small warn">{esc(n)}</p>' for n in board.notes)
    body = (
        "<h1>fptbench leaderboard</h1>\n"
        '<p class="note">Cross-modal transfer of pretrained transformers (Lu et al. 2021, "Pretrained Transformers as '
        "Universal Computation Engines\"). Every number is read from the harness's Parquet results: test accuracy in "
        "percent, mean over seeds with its 95% bootstrap interval over seeds in brackets (\u201cone seed\u201d: a "
        "single seed gives no interval), n seeds. Click a column header to sort.</p>\n"
        f'<p class="small">{board.n_runs} run(s); sources: {esc(sources)}. '
        "\u2014 marks a missing cell (hover for why); \u2020 marks a qualified number (hover); \u2248 marks rows whose "
        "rank intervals overlap a neighbour's. Rows marked <em>submitted by</em> come from a submission file and stay "
        "marked until the harness reruns them. "
        'Data: <a href="leaderboard.json">leaderboard.json</a>; '
        '<a href="efficiency.html">data efficiency</a>; <a href="#definitions">definitions</a>.</p>\n'
        + notes
        + "\n".join(sections)
        + definitions_html(board)
        + f'\n<script type="application/json" id="leaderboard-data">{json_for_script(data_json)}</script>\n'
        + f"<script>{SORT_JS}</script>"
    )
    return page("fptbench leaderboard", body)


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
