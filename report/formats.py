"""Output formats (md, tex, csv, html): each lays out the same computed tables; a registry, not if/elif.

A format is ``(filename, write(ReportData) -> str)``. Every text format is a pure function of the
computed tables, so a re-render from the same Parquet files is byte-identical (``--check`` relies on it).
"""

from __future__ import annotations

import csv
import html as _html
import io
from dataclasses import dataclass, field
from typing import Callable

from benchmark.registry import Registry

from . import markup as M
from .cells import HARNESS, NO_HARNESS_RUN, Cell, RowResult, TableResult
from .markup import code, from_backticks
from .paper_values import SOURCES, PaperValue
from .plateau import CAPTION as CURVE_CAPTION


@dataclass(frozen=True)
class Figure:
    group_slug: str
    profile: str
    backbone: str
    task: str
    png: str  # paths relative to the report directory
    svg: str
    data: str
    curve_ends: tuple[str, ...] = ()  # per series: flat / rising at the end of training (report/plateau.py)


@dataclass
class ReportData:
    tables: list[TableResult]
    figures: list[Figure] = field(default_factory=list)
    command: str = ""
    coverage: list[str] = field(default_factory=list)  # report/coverage.py: how much of each profile's suite is here


@dataclass(frozen=True)
class Format:
    name: str
    filename: str
    write: Callable[[ReportData], str]


FORMATS: Registry[Format] = Registry("report format", "fptbench.formats", of=Format)


def register_format(fmt: Format) -> Format:
    FORMATS.add(fmt.name, fmt)
    return fmt


get_format = FORMATS.get


# -- shared cell text --------------------------------------------------------------------------
DIVERGED_MARK = "†"
DIVERGED_NOTE = (f"{DIVERGED_MARK} some seeds of this cell diverged (non-finite training loss): each is scored at its "
                 "best validation state before the divergence, as the paper reports its diverged runs; "
                 "`(n=…, k†)` says how many")


def num(x: float, decimals: int) -> str:
    """A number as shown; one that rounds to zero never prints as -0.0."""
    text = f"{x:,.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text.replace(",", "")) == 0 else text


def signed(x: float, decimals: int) -> str:
    """A difference with its sign; a value that rounds to zero prints as 0.0, never -0.0 or +0.0."""
    text = f"{x:+,.{decimals}f}"
    return text[1:] if float(text.replace(",", "")) == 0 else text


def ours_text(cell: Cell, decimals: int, pm: str = "±") -> str:
    if cell.derived:
        text = f"{'≥ ' if cell.bound == '>=' else ''}{num(cell.values[0], 1)}x"
        return text + (f" [{'; '.join(cell.notes)}]" if cell.bound and cell.notes else "")
    n = f"n={cell.n}" + (f", {cell.diverged}{DIVERGED_MARK}" if cell.diverged else "")
    if cell.std is not None:
        text = f"{num(cell.mean, decimals)} {pm} {num(cell.std, decimals)} ({n})"  # type: ignore[arg-type]
    else:
        text = f"{num(cell.mean, decimals)} ({n})"  # type: ignore[arg-type]
    if cell.diverged:
        text += f" {DIVERGED_MARK}"
    if cell.notes:
        text += f" [{'; '.join(cell.notes)}]"
    return text


def paper_text(pv: PaperValue | None, decimals: int, with_source: bool) -> str:
    if pv is None:
        return "not in paper"
    text = f"{pv.value:g}"
    return f"{text} ({pv.source})" if with_source else text


def row_source(row: RowResult) -> str | None:
    """The single source of a row's paper values, or None when they are mixed (shown per cell)."""
    sources = {pv.source for pv in row.paper.values() if pv is not None}
    return sources.pop() if len(sources) == 1 else None


def delta_value(cell: Cell, pv: PaperValue | None) -> float | None:
    if not cell.ok or pv is None or cell.bound:
        return None  # a bound minus the paper's value is no difference
    return (cell.mean if not cell.derived else cell.values[0]) - pv.value  # type: ignore[operator]


def delta_text(cell: Cell, pv: PaperValue | None, decimals: int) -> str:
    d = delta_value(cell, pv)
    return "" if d is None else signed(d, decimals)


class Legend:
    """Footnote letters for missing-cell reasons and paper notes, in order of first use."""

    def __init__(self) -> None:
        self.items: dict[str, str] = {}

    def mark(self, text: str) -> str:
        if text not in self.items:
            i = sum(1 for m in self.items.values() if m != DIVERGED_MARK)
            self.items[text] = chr(ord("a") + i) if i < 26 else f"z{i}"
        return self.items[text]

    def diverged(self) -> None:
        self.items.setdefault(from_backticks(DIVERGED_NOTE), DIVERGED_MARK)


def heading(t: TableResult) -> str:
    return f"{t.spec.title} — profile {code(t.group.profile)}, backbone {code(t.group.backbone)}"


def protocol_note(t: TableResult) -> str:
    if t.paper_protocol:
        return f"Paper protocol: profile {code('paper')}, backbone {code(t.group.backbone)}."
    if t.group.stand_in_for == NO_HARNESS_RUN:
        stand = " (no harness run of this backbone here: what it stands in for is not known)"
    else:
        stand = f" (stand-in for {t.group.stand_in_for})" if t.group.stand_in_for else ""
    return (f"NOT the paper protocol: profile {code(t.group.profile)}, backbone {code(t.group.backbone)}{stand}. "
            f"The paper's numbers come from {t.spec.paper_backbone} under its own protocol; compare trends, not values.")


def comparability_mark(t: TableResult, task: str, legend: Legend) -> str:
    """The footnote mark of a task whose evaluation here differs from the paper's ('' if it does not)."""
    note = t.comparability.get(task)
    return f" [{legend.mark(f'{task}: not the paper evaluation, compare with care: {note}')}]" if note else ""


def grid(t: TableResult, legend: Legend, pm: str = "±") -> tuple[list[str], list[list[str]]]:
    """Header and body cells of one table (report text: see ``report.markup``); missing cells, paper
    notes, divergence and tasks not evaluated as in the paper get legend marks."""
    d = t.metric.decimals
    tasks = t.spec.tasks
    header = ["row", "backbone", *(task + comparability_mark(t, task, legend) for task in tasks)]
    if t.spec.average:
        header.append("average")
    header.append("coverage")
    body: list[list[str]] = []
    for row in t.rows:
        ours = []
        for task in tasks:
            c = row.cells[task]
            if c.diverged:
                legend.diverged()
            ours.append(ours_text(c, d, pm) if c.ok else f"missing [{legend.mark(from_backticks(c.missing or 'no value'))}]")
        line = [f"{row.label} — ours" if row.source == HARNESS else row.label, row.backbone or "", *ours]
        if t.spec.average:
            avg = row.average(tasks)
            line.append(num(avg, d) if avg is not None else "")
        got, n = row.coverage()
        line.append(f"{got}/{n}" if not row.derived else "")
        body.append(line)
        if any(pv is not None for pv in row.paper.values()):
            src = row_source(row)
            plabel = f"{row.label} — paper ({src})" if src else f"{row.label} — paper"
            cells = []
            for task in tasks:
                pv = row.paper[task]
                text = paper_text(pv, d, with_source=src is None)
                if pv is not None and pv.note:
                    text += f" [{legend.mark('paper note: ' + pv.note)}]"
                cells.append(text)
            pline = [plabel, row.paper_backbone, *cells]
            if t.spec.average:
                pavg = row.paper_average(tasks)
                pline.append(num(pavg, d) if pavg is not None else "")
            pline.append("")
            body.append(pline)
            deltas = []
            for x in tasks:
                text = delta_text(row.cells[x], row.paper[x], d)
                deltas.append(text + comparability_mark(t, x, legend) if text else "")
            dline = [f"{row.label} — Δ (ours − paper)", "", *deltas]
            if t.spec.average:
                avg, pavg = row.average(tasks), row.paper_average(tasks)
                dline.append(signed(avg - pavg, d) if avg is not None and pavg is not None else "")
            dline.append("")
            body.append(dline)
    return header, body


def _caption(t: TableResult) -> list[str]:
    got, n = t.coverage()
    return [
        protocol_note(t),
        f"Metric: {t.metric.label}. Ours: mean ± sample std over seeds (n = scored seeds: finished, and diverged ones "
        f"scored at their best validation state, marked {DIVERGED_MARK}); only the harness's own runs fill a row, "
        f"submitted runs are rows of their own. Δ = ours − paper. An average is empty unless every task of the row "
        f"has a number.",
        f"Coverage: {got}/{n} cells have a number.",
    ]


def _legend_lines(legend: Legend) -> list[tuple[str, str]]:
    return [(m, text) for text, m in legend.items.items()]


# -- markdown ----------------------------------------------------------------------------------
def write_md(data: ReportData) -> str:
    out = ["# fptbench report", "", "Generated from the Parquet results by the harness; do not edit by hand.", ""]
    if data.command:
        out += [f"Regenerate: {M.md(code(data.command))}", ""]
    out += [f"- {M.md(from_backticks(line))}" for line in data.coverage]
    out += [""] if data.coverage else []
    out += ["Paper-value sources: " + "; ".join(f"{M.md(code(k))} = {M.md(v)}" for k, v in SOURCES.items()) + ".", ""]
    for t in data.tables:
        legend = Legend()
        header, body = grid(t, legend)
        out += [f"## {M.md(heading(t))}", ""]
        out += [f"> {M.md(line)}" for line in _caption(t)]
        out += [""]
        if t.spec.description:
            out += [M.md(from_backticks(t.spec.description)), ""]
        out.append("| " + " | ".join(M.md(h, in_table=True) for h in header) + " |")
        out.append("|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|")
        for line in body:
            out.append("| " + " | ".join(M.md(c, in_table=True) for c in line) + " |")
        out.append("")
        for mark, text in _legend_lines(legend):
            out.append(f"- {M.md('[' + mark + ']')} {M.md(text)}")
        out.append("")
    if data.figures:
        out += ["## Convergence figures", "",
                "Validation metric against gradient steps (left) and training wall time (right); line = mean over "
                "seeds, band = min..max over seeds, a dot where a series has one evaluation. Each figure links its "
                "SVG and the CSV of the plotted series.", ""]
        current = None
        for f in data.figures:
            if f.group_slug != current:
                current = f.group_slug
                out += [f"### profile {M.md(code(f.profile))}, backbone {M.md(code(f.backbone))}", ""]
            out += [f"#### {M.md(f.task)}", "", f"![{M.md(f.task)}: validation metric vs steps and wall time]({f.png})",
                    "", f"[SVG]({f.svg}) · [data]({f.data})", ""]
            if f.curve_ends:
                out += [M.md(CURVE_CAPTION) + ": " + "; ".join(M.md(c) for c in f.curve_ends) + ".", ""]
    return "\n".join(out).rstrip() + "\n"


# -- csv ---------------------------------------------------------------------------------------
CSV_COLUMNS = ["table", "profile", "backbone_group", "stand_in_for", "paper_protocol", "row", "model", "row_backbone",
               "source", "task", "unit", "ours_mean", "ours_std", "n_seeds", "seeds", "values", "diverged_seeds",
               "missing_reason", "notes", "paper_table", "paper_value", "paper_source", "delta", "comparability",
               "coverage"]


def _f(x: float | None) -> str:
    if x is None:
        return ""
    text = f"{x:.6f}"
    return "0.000000" if float(text) == 0 else text  # never -0.000000


def write_csv(data: ReportData) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    p = M.plain
    for t in data.tables:
        for row in t.rows:
            got, n = row.coverage()
            for task in [*t.spec.tasks, *(["(average)"] if t.spec.average else [])]:
                if task == "(average)":
                    mean, std, cell = row.average(t.spec.tasks), None, None
                    pav = row.paper_average(t.spec.tasks)
                    pv = None if pav is None else PaperValue(pav, row_source(row) or "mixed", "")
                else:
                    cell, pv = row.cells[task], row.paper[task]
                    mean = (cell.values[0] if cell.derived else cell.mean) if cell.ok else None
                    std = cell.std
                # a cell's difference is delta_value's (which knows a bound has none); the average's is plain
                delta = delta_value(cell, pv) if cell is not None else (None if mean is None or pv is None else mean - pv.value)
                w.writerow([
                    p(t.spec.name), p(t.group.profile), p(t.group.backbone), p(t.group.stand_in_for), t.paper_protocol,
                    p(row.label), p(row.model), p(row.backbone), p(row.source), p(task), p(t.metric.unit), _f(mean),
                    _f(std), "" if cell is None else cell.n,
                    "" if cell is None else " ".join(map(str, cell.seeds)),
                    "" if cell is None else " ".join(f"{v:.6f}" for v in cell.values),
                    "" if cell is None else cell.diverged,
                    "" if cell is None else p(cell.missing or ""), "" if cell is None else p("; ".join(cell.notes)),
                    p(t.spec.paper_table or ""), _f(None if pv is None else pv.value), "" if pv is None else p(pv.source),
                    _f(delta),
                    p(t.comparability.get(task, "")), "" if row.derived else f"{got}/{n}",
                ])
    return buf.getvalue()


# -- LaTeX -------------------------------------------------------------------------------------
tex_escape = M.tex_escape


def write_tex(data: ReportData) -> str:
    out = ["% fptbench report: generated from the Parquet results; do not edit by hand.",
           "% Needs \\usepackage{booktabs}.", ""]
    for t in data.tables:
        legend = Legend()
        header, body = grid(t, legend)
        out += [r"\begin{table}[t]", r"\centering", r"\scriptsize",
                r"\caption{" + M.tex(heading(t) + ". " + " ".join(_caption(t))) + "}",
                r"\label{tab:" + M.tex(f"{t.spec.name}-{t.group.slug}") + "}",
                r"\begin{tabular}{ll" + "r" * (len(header) - 2) + "}", r"\toprule",
                " & ".join(M.tex(h) for h in header) + r" \\", r"\midrule"]
        for line in body:
            out.append(" & ".join(M.tex(c) for c in line) + r" \\")
        out += [r"\bottomrule", r"\end{tabular}"]
        if legend.items:
            out.append(r"\par\smallskip\raggedright " + "; ".join(
                M.tex(f"[{m}] {text}") for m, text in _legend_lines(legend)))
        out += [r"\end{table}", ""]
    return "\n".join(out)


# -- HTML --------------------------------------------------------------------------------------
_CSS = ("body{font-family:system-ui,sans-serif;margin:2rem;max-width:100rem}table{border-collapse:collapse;"
        "margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .4rem;text-align:right;font-size:.85rem}"
        "td:first-child,td:nth-child(2),th:first-child{text-align:left}.missing{color:#a33}"
        ".warn{background:#fff4d6;padding:.4rem}.paper{color:#555}.submitted{background:#fdf3e1}img{max-width:100%}")


def write_html(data: ReportData) -> str:
    e = M.html
    out = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8"><title>fptbench report</title>',
           f"<style>{_CSS}</style></head><body>", "<h1>fptbench report</h1>",
           "<p>Generated from the Parquet results by the harness; do not edit by hand.</p>"]
    if data.command:
        out.append(f"<p>Regenerate: {e(code(data.command))}</p>")
    if data.coverage:
        out.append("<ul>" + "".join(f"<li>{e(from_backticks(line))}</li>" for line in data.coverage) + "</ul>")
    for t in data.tables:
        legend = Legend()
        header, body = grid(t, legend)
        out.append(f"<h2>{e(heading(t))}</h2>")
        cap = _caption(t)
        out.append(f'<p class="{"" if t.paper_protocol else "warn"}">{e(cap[0])}</p>')
        out += [f"<p>{e(c)}</p>" for c in cap[1:]]
        if t.spec.description:
            out.append(f"<p>{e(from_backticks(t.spec.description))}</p>")
        out.append("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr></thead><tbody>")
        for row_cells, row in zip(body, _body_rows(t)):
            cls = {"paper": ' class="paper"', "submitted": ' class="submitted"'}.get(row, "")
            cells = "".join(f'<td class="missing">{e(c)}</td>' if c.startswith("missing [") else f"<td>{e(c)}</td>"
                            for c in row_cells)
            out.append(f"<tr{cls}>{cells}</tr>")
        out.append("</tbody></table>")
        if legend.items:
            out.append("<ul>" + "".join(f"<li>[{e(m)}] {e(text)}</li>" for m, text in _legend_lines(legend)) + "</ul>")
    if data.figures:
        out.append("<h2>Convergence figures</h2>")
        for f in data.figures:
            out.append(f"<h3>{e(f.profile)} / {e(f.backbone)} / {e(f.task)}</h3>"
                       f'<p><img src="{_html.escape(f.png)}" alt="{_html.escape(f.task)} convergence"></p>'
                       f'<p><a href="{_html.escape(f.svg)}">SVG</a> · <a href="{_html.escape(f.data)}">data</a></p>')
            if f.curve_ends:
                out.append(f"<p class=\"small\">{e(CURVE_CAPTION)}: {e('; '.join(f.curve_ends))}.</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _body_rows(t: TableResult) -> list[str]:
    """The kind of each body line of ``grid``, in order: ours, paper, delta or submitted."""
    kinds = []
    for row in t.rows:
        kinds.append("ours" if row.source == HARNESS else "submitted")
        if any(pv is not None for pv in row.paper.values()):
            kinds += ["paper", "delta"]
    return kinds


register_format(Format("md", "README.md", write_md))
register_format(Format("csv", "tables.csv", write_csv))
register_format(Format("tex", "tables.tex", write_tex))
register_format(Format("html", "index.html", write_html))
