"""Static HTML for the leaderboard: an index with one sortable table per track, and one page per row
with its metadata and validation curves as inline SVG.

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


# -- index -----------------------------------------------------------------------------------------
def _cell_html(cell: Cell) -> str:
    if cell.mean is None:
        return f'<td class="missing" data-v="" title="{esc(cell.reason)}"><span aria-label="missing">\u2014</span></td>'
    parts = [f"mean of {cell.n} seed(s)"]
    if cell.std is not None:
        parts.append(f"std {cell.std:.4f}")
    if cell.rank is not None:
        parts.append(f"rank {cell.rank:g}")
    if cell.reason:
        parts.append(cell.reason)
    if cell.budget_changes:
        parts.append("budget changed from the profile: " + json.dumps(cell.budget_changes, sort_keys=True))
    std = f"\u00b1{cell.std:.3f}" if cell.std is not None else ""
    flag = " flag" if cell.reason else ""
    mark = "\u2020" if cell.reason else ""
    return (f'<td class="num{flag}" data-v="{cell.mean!r}" title="{esc("; ".join(parts))}">'
            f"{cell.mean:.4f}{mark}<small>{esc(std)} n={cell.n}</small></td>")


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
        ("runs", esc(m["n_runs"])),
    ]
    return '<dl class="meta">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _badges(row: Row) -> str:
    out = ""
    if row.submitted_by is not None:
        out += (f'<span class="badge submitted" title="submitted results, not yet rerun by the harness">'
                f"submitted by {esc(row.submitted_by)}</span>")
    return out


def _profile_cell(row: Row) -> str:
    if row.budget_changes:
        title = "budget differs from the profile: " + json.dumps(row.budget_changes, sort_keys=True)
        return (f'<td data-v="{esc(row.profile_label)}">{esc(row.profile)}'
                f'<span class="badge modified" title="{esc(title)}">modified budget</span></td>')
    return f'<td data-v="{esc(row.profile_label)}">{esc(row.profile)}</td>'


def track_table(track: Track) -> str:
    if not track.rows:
        return '<p class="small">No runs in this track yet.</p>'
    head = ['<th data-type="num" data-first="ascending" title="position by mean rank">#</th>',
            '<th data-type="text">model</th>', '<th data-type="text">backbone</th>', '<th data-type="text">profile</th>']
    for t in track.tasks:
        head.append(f'<th data-type="num" data-first="descending" title="test {esc(track.metrics[t])}, mean over seeds">'
                    f"{esc(t)}<br><small>{esc(track.metrics[t])}</small></th>")
    head.append('<th data-type="num" data-first="ascending" title="mean rank over all tasks; only rows with every '
                'task are ranked">mean rank</th>')
    head.append('<th data-type="num" data-first="descending" title="tasks with a number">coverage</th>')
    head.append("<th>details</th>")
    body = []
    for i, row in enumerate(track.rows, 1):
        opts = (f'<br><small title="model options">{esc(json.dumps(row.options, sort_keys=True))}</small>'
                if row.options else "")
        model_td = (f'<td data-v="{esc(row.model)}"><a href="models/{esc(row.slug)}.html">{esc(row.model)}</a>'
                    f"{_badges(row)}{opts}</td>")
        cells = "".join(_cell_html(row.cells[t]) for t in track.tasks)
        if row.mean_rank is None:
            rank_td = f'<td class="missing" data-v="" title="{esc(row.mean_rank_reason)}"><span aria-label="missing">\u2014</span></td>'
        else:
            rank_td = f'<td class="num" data-v="{row.mean_rank!r}" title="{esc(row.mean_rank_reason)}">{row.mean_rank:.2f}</td>'
        cov = f'<td class="num" data-v="{row.coverage}">{row.coverage}/{len(track.tasks)}</td>'
        details = f'<td><details><summary>metadata</summary>{meta_dl(row)}<a href="models/{esc(row.slug)}.html">curves</a></details></td>'
        body.append(f'<tr data-slug="{esc(row.slug)}"><td class="num" data-v="{i}">{i}</td>{model_td}'
                    f'<td data-v="{esc(row.backbone)}">{esc(row.backbone)}</td>{_profile_cell(row)}{cells}{rank_td}{cov}{details}</tr>')
    return (f'<table class="lb" id="table-{esc(track.name)}"><thead><tr>{"".join(head)}</tr></thead>\n'
            f'<tbody>\n{chr(10).join(body)}\n</tbody></table>')


def render_index(board: Leaderboard, data_json: str) -> str:
    sections = []
    for track in board.tracks:
        sections.append(f'<section id="track-{esc(track.name)}"><h2>{esc(track.title)}</h2>'
                        f'<p class="note">{esc(track.note)}</p>{track_table(track)}</section>')
    sources = ", ".join(board.sources) or "none"
    body = (
        "<h1>fptbench leaderboard</h1>\n"
        '<p class="note">Cross-modal transfer of pretrained transformers (Lu et al. 2021, "Pretrained Transformers as '
        "Universal Computation Engines\"). Every number is read from the harness's Parquet results: test metric, mean "
        "over seeds (\u00b1 sample standard deviation, n seeds). Click a column header to sort.</p>\n"
        f'<p class="small">{board.n_runs} run(s); sources: {esc(sources)}. '
        "\u2014 marks a missing cell (hover for why); \u2020 marks a qualified number (hover). Rows marked "
        "<em>submitted by</em> come from a submission file and stay marked until the harness reruns them. "
        'Data: <a href="leaderboard.json">leaderboard.json</a>.</p>\n'
        + "\n".join(sections)
        + f'\n<script type="application/json" id="leaderboard-data">{json_for_script(data_json)}</script>\n'
        + f"<script>{SORT_JS}</script>"
    )
    return page("fptbench leaderboard", body)


# -- per-row pages -----------------------------------------------------------------------------------
def svg_curves(task: str, metric: str, curves: pd.DataFrame, seeds: dict[str, int], width: int = 380,
               height: int = 220) -> str:
    """Validation metric against steps, one polyline per seed, as self-contained inline SVG."""
    left, right, top, bottom = 46, 10, 12, 34
    pw, ph = width - left - right, height - top - bottom
    if curves.empty:
        return f'<p class="small">No curve recorded for {esc(task)}.</p>'
    max_step = max(1, int(curves.step.max()))
    vals = curves.value.astype(float)
    vals = vals[vals.apply(math.isfinite)]
    lo = min(0.0, float(vals.min())) if len(vals) else 0.0
    hi = max(1.0, float(vals.max())) if len(vals) else 1.0

    def xy(step: float, v: float) -> str:
        return f"{left + pw * step / max_step:.1f},{top + ph * (1 - (v - lo) / (hi - lo)):.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{esc(f"validation {metric} of {task} against steps")}">',
             f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fbfbfd" stroke="#ccc"/>']
    for frac in (0.0, 0.5, 1.0):
        y = top + ph * (1 - frac)
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{lo + frac * (hi - lo):.2f}</text>')
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
    parts.append("</svg>")
    shown = sorted({seeds.get(str(r), 0) for r in curves.run_id.unique()})
    legend = ", ".join(f'<span style="color:{PALETTE[s % len(PALETTE)]}">seed {s}</span>' for s in shown)
    return "".join(parts) + f'<div class="small">{legend}</div>'


def render_row_page(row: Row, track: Track, curves: pd.DataFrame, seeds: dict[str, int]) -> str:
    charts = []
    for t in track.tasks:
        cell = row.cells[t]
        sub = curves[curves.run_id.isin(cell.run_ids)]
        value = (f"test {esc(cell.metric)} {cell.mean:.4f}" + (f" \u00b1 {cell.std:.4f}" if cell.std is not None else "")
                 + f" (n={cell.n})") if cell.mean is not None else f"missing: {esc(cell.reason)}"
        if cell.mean is not None and cell.reason:
            value += f" \u2014 {esc(cell.reason)}"
        charts.append(f'<figure id="curve-{esc(t)}"><figcaption><b>{esc(t)}</b>: {value}</figcaption>'
                      f"{svg_curves(t, cell.metric, sub, seeds) if cell.run_ids else ''}</figure>")
    badge = _badges(row)
    body = (f'<p><a href="../index.html">\u2190 leaderboard</a></p>'
            f"<h1>{esc(row.model)}{badge}</h1>"
            f'<p class="note">track: {esc(track.title)}; backbone {esc(row.backbone)}; profile {esc(row.profile_label)}; '
            f"mean rank: {esc(fmt(row.mean_rank, 2)) or DASH} ({esc(row.mean_rank_reason)})</p>"
            f"{meta_dl(row)}<h2>Validation curves</h2><div class=\"charts\">{''.join(charts)}</div>")
    return page(f"{row.model} \u2014 fptbench leaderboard", body)
