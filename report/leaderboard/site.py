"""Write the static leaderboard site: ``index.html``, ``leaderboard.json``, ``efficiency.html``,
``models/<row>.html`` and ``plots/*.svg`` (accuracy against cost with Pareto fronts, data efficiency).

The site is written into a temporary directory and swapped in whole, so a browser never sees a
half-written site; output is byte-identical for identical results (no timestamps), which lets a
committed site be checked against a regeneration.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from benchmark.atomic import atomic_dir
from benchmark.errors import FptError
from benchmark.hashing import sha256_text
from benchmark.results import read_table

from .data import Leaderboard, build_leaderboard
from .html import render_index
from .pages import render_efficiency, render_row_page
from .plots import cost_points, efficiency_svg, pareto_svg

MARKER = ".fptbench-leaderboard"


def _check_out(out: Path) -> None:
    """Refuse to replace a directory that is not a leaderboard site we wrote (``--out .`` must not wipe a repo)."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise FptError(f"--out {out} exists and is not a leaderboard site written by fptbench; "
                       "choose a new or empty directory")


def build_site(results: Iterable[Path | str], out: Path | str) -> tuple[Leaderboard, list[Path]]:
    """Render the leaderboard of ``results`` into ``out``; returns the board and the files written."""
    results = [Path(r) for r in results]
    out = Path(out)
    _check_out(out)
    board = build_leaderboard(results)
    data_json = board.to_json()
    curves = read_table(results, "curves")
    curves = curves[(curves.split == "val") & (curves.metric != "loss")]
    curves = curves.drop_duplicates(subset=["run_id", "step", "metric"]).sort_values(["run_id", "step"])
    runs = read_table(results, "runs")
    seeds = {str(r): int(s) for r, s in zip(runs.run_id, runs.seed)}
    written = []
    with atomic_dir(out) as tmp:
        (tmp / MARKER).write_text("written by `fptbench leaderboard`; the whole directory is regenerated\n")
        (tmp / "plots").mkdir()
        cost_plots, eff_plots = _write_plots(board, tmp / "plots")
        written += [out / "plots" / f for fs in cost_plots.values() for _, _, f in fs]
        written += [out / f for f in eff_plots.values()]
        headline = _write_headline(board, curves, tmp / "plots")
        if headline is not None:
            written.append(out / headline.file)
        from report.claims.html import claims_section  # the paper's claims, checked (report/claims/)

        claims = claims_section(runs, str(results[0]) if results else "RESULTS") if len(runs) else ""
        index_html = render_index(board, data_json, cost_plots, headline, claims)  # claims below the ranking
        (tmp / "index.html").write_text(index_html, encoding="utf-8")
        (tmp / "efficiency.html").write_text(render_efficiency(board, eff_plots), encoding="utf-8")
        (tmp / "leaderboard.json").write_text(data_json + "\n", encoding="utf-8")
        (tmp / "models").mkdir()
        written += [out / "index.html", out / "efficiency.html", out / "leaderboard.json"]
        for track in board.tracks:
            for row in track.rows:
                ids = {i for c in row.cells.values() for i in c.run_ids}
                page = render_row_page(row, track, curves[curves.run_id.isin(ids)], seeds)
                (tmp / "models" / f"{row.slug}.html").write_text(page, encoding="utf-8")
                written.append(out / "models" / f"{row.slug}.html")
    return board, written


@dataclass(frozen=True)
class _HeadlineFile:
    file: str  # relative to the site
    caption: str
    alt: str


def _write_headline(board: Leaderboard, curves, plots_dir: Path) -> _HeadlineFile | None:
    """The headline figure (report/leaderboard/headline.py) as plots/headline.svg."""
    from .headline import headline

    h = headline(board, curves)
    if h is None:
        return None
    (plots_dir / "headline.svg").write_text(h.svg, encoding="utf-8")
    return _HeadlineFile("plots/headline.svg", h.caption, h.alt)


def _plot_name(*parts: str) -> str:
    """A file name for a plot (task names may contain anything)."""
    return f"{'-'.join(p for p in parts if p.replace('-', '').replace('_', '').isalnum())[:50]}-{sha256_text('/'.join(parts))[:8]}.svg"


def _write_plots(board: Leaderboard, plots_dir: Path) -> tuple[dict[str, list[tuple[str, str, str]]], dict[str, str]]:
    """Write every plot; return {track: [(task, axis, 'plots/<file>')]} and {task: 'plots/<file>'}."""
    cost: dict[str, list[tuple[str, str, str]]] = {}
    for track in board.tracks:
        for task in track.tasks:
            for axis, label in (("params", "trainable parameters"), ("flops", "training FLOPs")):
                points = cost_points(track, task, axis)
                if not points:
                    continue
                name = _plot_name(track.name, task, axis)
                svg = pareto_svg(points, f"{task} ({track.title})", f"{label} (log scale)")
                (plots_dir / name).write_text(svg, encoding="utf-8")
                cost.setdefault(track.name, []).append((task, axis, f"plots/{name}"))
    eff: dict[str, str] = {}
    for task in sorted({p.task for p in board.data_efficiency}):
        name = _plot_name("efficiency", task)
        (plots_dir / name).write_text(efficiency_svg(task, [p for p in board.data_efficiency if p.task == task]),
                                      encoding="utf-8")
        eff[task] = f"plots/{name}"
    return cost, eff
