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
from importlib.resources import files
from typing import Any, Iterable

from .data import Cell, Leaderboard, Row, Track


def _static(name: str) -> str:
    """A file of ``report/leaderboard/static`` as text (exactly its bytes: the pages embed it)."""
    return files(__package__).joinpath("static", name).read_text(encoding="utf-8")


DASH = "\u2014"
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")

# The page's style and its one script (column sorting) are files of the package, not Python strings:
# editors, linters and diffs see CSS and JS as what they are. Read once at import; shipped as package data.
CSS = _static("leaderboard.css")
SORT_JS = _static("leaderboard.js")


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


def preset_of(row: Row) -> str:
    """The row's freezing preset (model option ``preset``), "default" without one."""
    return str(row.options.get("preset", "default"))


def lr_text(row: Row) -> str:
    return f"{row.lr:g}" if row.lr is not None else "profile"


def row_label(row: Row) -> str:
    """How plots and legends name a row: every field that tells it apart from its neighbours."""
    extra = [x for x in (preset_of(row) if row.options.get("preset") else "",
                         f"lr {row.lr:g}" if row.lr is not None else "") if x]
    return f"{row.model}{' ' + ' '.join(extra) if extra else ''} ({row.backbone}, {row.profile_label})"


def config_tds(row: Row) -> str:
    """The preset and learning-rate cells every table shows beside model, backbone and profile."""
    other = {k: v for k, v in row.options.items() if k != "preset"}
    more = (f'<br><small title="other model options">{esc(json.dumps(other, sort_keys=True))}</small>' if other else "")
    lr_title = "set by a grid (a budget change)" if row.lr is not None else "the profile's learning rate for each task"
    return (f'<td data-v="{esc(preset_of(row))}">{esc(preset_of(row))}{more}</td>'
            f'<td data-v="{esc(lr_text(row))}" title="{esc(lr_title)}">{esc(lr_text(row))}</td>')


CONFIG_HEADS = ('<th data-type="text" title="freezing preset (model option preset)">preset</th>'
                '<th data-type="text" title="learning rate: profile = the profile\'s own per task">lr</th>')


def track_table(track: Track) -> str:
    if not track.rows:
        return '<p class="small">No runs in this track yet.</p>'
    by_slug = {r.slug: r for r in track.rows}
    head = ['<th data-type="num" data-first="ascending" title="position by mean rank (ranked rows only)">#</th>',
            '<th data-type="text">model</th>', '<th data-type="text">backbone</th>', CONFIG_HEADS,
            '<th data-type="text">profile</th>']
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
    position = 0
    for row in track.rows:
        if row.mean_rank is not None:  # rows are sorted ranked-first: unranked rows get no number
            position += 1
        pos_td = (f'<td class="num" data-v="{position}">{position}</td>' if row.mean_rank is not None
                  else '<td class="num" data-v="" title="not ranked: not every declared task has a number"></td>')
        model_td = (f'<td data-v="{esc(row.model)}"><a href="models/{esc(row.slug)}.html">{esc(row.model)}</a>'
                    f"{_badges(row)}</td>")
        cells = "".join(_cell_html(row.cells[t]) for t in track.tasks)
        cov = f'<td class="num" data-v="{row.coverage}">{row.coverage}/{len(track.declared_tasks)}</td>'
        details = f'<td><details><summary>metadata</summary>{meta_dl(row)}<a href="models/{esc(row.slug)}.html">curves</a></details></td>'
        tied = " tied" if row.tied_with else ""
        body.append(f'<tr data-slug="{esc(row.slug)}" class="row{tied}">{pos_td}{model_td}'
                    f'<td data-v="{esc(row.backbone)}">{esc(row.backbone)}</td>{config_tds(row)}{_profile_cell(row)}{cells}'
                    f"{_rank_td(row, by_slug)}{_norm_td(row)}{cov}{details}</tr>")
    return (f'<div class="scroll"><table class="lb" id="table-{esc(track.name)}"><thead><tr>{"".join(head)}</tr></thead>\n'
            f'<tbody>\n{chr(10).join(body)}\n</tbody></table></div>')


def definitions_html(board: Leaderboard) -> str:
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in sorted(board.definitions.items()))
    return f'<section id="definitions"><h2>Definitions</h2><dl class="meta defs">{items}</dl></section>'


def _headline_html(headline) -> str:
    if headline is None:
        return ('<p class="small" id="headline-none">No headline figure: no pretrained row has a gain over its '
                "random-init control in these results.</p>")
    return (f'<figure class="headline" id="headline"><img src="{esc(headline.file)}" alt="{esc(headline.alt)}">'
            f"<figcaption>{esc(headline.caption)}</figcaption></figure>")


def render_index(board: Leaderboard, data_json: str, plots: dict[str, list[tuple[str, str, str]]] | None = None,
                 headline=None, claims_html: str = "") -> str:
    """The index: what this is, the headline figure and the ranking first; claims, then each track's details.

    ``headline``: an object with ``file`` (relative path of the figure), ``caption`` and ``alt``, or None."""
    from .details import gain_table, compute_table, plots_html

    plots = plots or {}
    ranking, empty, details = [], [], []
    for track in board.tracks:
        declared = ", ".join(track.declared_tasks) or "none"
        if not track.rows:  # an empty track is one line, not three empty sections
            empty.append(f'<p class="small empty-track" id="track-{esc(track.name)}"><b>{esc(track.title)}</b> track: '
                         f"no runs yet ({esc(track.note)})</p>")
            continue
        ranking.append(
            f'<section id="track-{esc(track.name)}"><h2>Ranking: {esc(track.title)}</h2>'
            f'<p class="small">{esc(track.note)} Task set ({esc(track.task_set_from)}): {esc(declared)}. '
            f'Details below: <a href="#details-{esc(track.name)}">gain over controls, compute, cost</a>.</p>'
            f"{track_table(track)}</section>")
        details.append(
            f'<section id="details-{esc(track.name)}"><h2>Details: {esc(track.title)}</h2>'
            f'<h3 id="gain-title-{esc(track.name)}">Transfer gain over controls ({esc(track.title)})</h3>'
            '<p class="small">Pretrained minus control in percentage points, over matched seeds, with the paired 95% '
            "bootstrap interval; green = the interval excludes 0 in favour of pretraining, red = against. A missing "
            "control shows the command that runs it.</p>"
            f"{gain_table(track)}"
            f'<h3>Compute ({esc(track.title)})</h3>{compute_table(track)}'
            f'<h3>Accuracy against cost ({esc(track.title)})</h3>{plots_html(plots, track)}</section>')
    sources = ", ".join(board.sources) or "none"
    notes = "".join(f'<p class="small warn">{esc(n)}</p>' for n in board.notes)
    efficiency = ('<a href="efficiency.html">data efficiency</a>; ' if board.data_efficiency else "")
    body = (
        "<h1>fptbench leaderboard</h1>\n"
        '<p class="note">Cross-modal transfer of pretrained transformers (Lu et al. 2021, "Pretrained Transformers as '
        "Universal Computation Engines\"): test accuracy in percent, mean over seeds [95% bootstrap interval over "
        "seeds], n seeds, read from the harness's Parquet results. Click a column header to sort.</p>\n"
        f'<div class="hero">{_headline_html(headline)}</div>\n'
        + "\n".join(ranking) + "".join(empty)
        + f'<p class="small">{board.n_runs} run(s); sources: {esc(sources)}. '
        "\u2014 marks a missing cell (hover for why); \u2020 marks a qualified number (hover); \u2248 marks rows whose "
        "rank intervals overlap a neighbour's. Rows marked <em>submitted by</em> come from a submission file and stay "
        "marked until the harness reruns them. "
        f'Data: <a href="leaderboard.json">leaderboard.json</a>; {efficiency}<a href="#definitions">definitions</a>.</p>\n'
        + notes + claims_html
        + "\n".join(details)
        + definitions_html(board)
        + f'\n<script type="application/json" id="leaderboard-data">{json_for_script(data_json)}</script>\n'
        + f"<script>{SORT_JS}</script>"
    )
    return page("fptbench leaderboard", body)
