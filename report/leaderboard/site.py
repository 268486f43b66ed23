"""Write the static leaderboard site: ``index.html``, ``leaderboard.json`` and ``models/<row>.html``.

The site is written into a temporary directory and swapped in whole, so a browser never sees a
half-written site; output is byte-identical for identical results (no timestamps), which lets a
committed site be checked against a regeneration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from benchmark.atomic import atomic_dir
from benchmark.errors import FptError
from benchmark.results import read_table

from .data import Leaderboard, build_leaderboard
from .html import render_index, render_row_page

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
        (tmp / "index.html").write_text(render_index(board, data_json), encoding="utf-8")
        (tmp / "leaderboard.json").write_text(data_json + "\n", encoding="utf-8")
        (tmp / "models").mkdir()
        written += [out / "index.html", out / "leaderboard.json"]
        for track in board.tracks:
            for row in track.rows:
                ids = {i for c in row.cells.values() for i in c.run_ids}
                page = render_row_page(row, track, curves[curves.run_id.isin(ids)], seeds)
                (tmp / "models" / f"{row.slug}.html").write_text(page, encoding="utf-8")
                written.append(out / "models" / f"{row.slug}.html")
    return board, written
