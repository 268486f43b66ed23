"""``fptbench report``: every registered table and the convergence figures, from Parquet results only.

``render_report`` writes the whole report directory atomically (a stale figure never survives a
re-render) plus a ``manifest.json`` naming the formats, results directories and files, so that
``check_report`` can regenerate it in a temporary directory and diff it against the committed copy.
"""

from __future__ import annotations

import filecmp
import json
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

from benchmark.atomic import atomic_dir
from benchmark.errors import FptError
from benchmark.results import read_table

from .compute import absence_reasons, compute_all
from .coverage import coverage_lines
from .formats import FORMATS, ReportData, get_format
from .specs import all_tables, get_table

MANIFEST = "manifest.json"
DEFAULT_FORMATS = ("md", "csv", "tex", "html")
IMAGE_SUFFIXES = (".png", ".svg")


def parse_formats(text: str | Iterable[str] | None) -> tuple[str, ...]:
    if text is None:
        return DEFAULT_FORMATS
    items = [x.strip() for x in (text.split(",") if isinstance(text, str) else text) if x.strip()]
    if not items:
        raise FptError(f"--format is empty; choose from {', '.join(sorted(FORMATS))}")
    for name in items:
        get_format(name)
    return tuple(dict.fromkeys(items))


def _command(results: Sequence[str], out: str, formats: Sequence[str], tables: Sequence[str] | None) -> str:
    parts = ["fptbench report"] + [f"--results {r}" for r in results] + [f"--out {out}"]
    if tuple(formats) != DEFAULT_FORMATS:
        parts.append(f"--format {','.join(formats)}")
    if tables:
        parts.append(f"--tables {','.join(tables)}")
    return " ".join(parts)


def _render_into(target: Path, results_dirs: Sequence[Path], shown_results: Sequence[str], shown_out: str,
                 formats: Sequence[str], tables: Sequence[str] | None, figures: bool,
                 absence: dict[str, str] | None = None) -> list[Path]:
    from .figures import render_figures, renderer_info

    for d in results_dirs:
        if not Path(d).is_dir():
            raise FptError(f"results directory {d} does not exist; run `fptbench sweep --results {d}` first "
                           "or pass the right --results")
    runs = read_table(results_dirs, "runs")
    specs = [get_table(n) for n in tables] if tables else all_tables()
    live = absence_reasons([t for s in specs for t in s.tasks])
    absence = {**live, **(absence or {})}
    data = ReportData(compute_all(specs, runs, absence), command=_command(shown_results, shown_out, formats, tables),
                      coverage=coverage_lines(runs, shown_results[0] if shown_results else "RESULTS"))
    written: list[Path] = []
    if figures:
        data.figures, written = render_figures(runs, read_table(results_dirs, "curves"), target)
    for name in formats:
        fmt = get_format(name)
        path = target / fmt.filename
        path.write_text(fmt.write(data), encoding="utf-8")
        written.append(path)
    if not tables:  # the paper's claims checked on these results: claims.md, claims.json (report/claims/)
        from .claims import render_claims

        written += render_claims(runs, target, absence, shown_results[0] if shown_results else "RESULTS",
                                 results_dirs=results_dirs)
    manifest = {
        "fptbench_report": 1,
        "formats": list(formats),
        "tables": [s.name for s in specs] if tables else None,
        "figures": figures,
        "results": list(shown_results),
        "missing_reasons": absence,
        "renderer": renderer_info(),
        "files": sorted(p.relative_to(target).as_posix() for p in written),
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return written + [target / MANIFEST]


def render_report(results_dirs: list[Path], out_dir: Path, formats: Sequence[str] | str | None = None,
                  tables: Sequence[str] | None = None, figures: bool = True) -> list[Path]:
    """Render every registered table (or ``tables``) and the figures into ``out_dir``; return the files.

    ``out_dir`` is replaced as a whole; it must be empty, absent, or a previous report (has a manifest),
    so a mistyped ``--out`` never wipes a source directory.
    """
    out_dir = Path(out_dir)
    fmts = parse_formats(formats)
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file():
        raise FptError(f"{out_dir} is not empty and holds no {MANIFEST}; refusing to replace it, choose another --out")
    with atomic_dir(out_dir) as tmp:
        written = _render_into(tmp, [Path(d) for d in results_dirs], [str(d) for d in results_dirs], str(out_dir),
                               fmts, tables, figures)
        rel = [p.relative_to(tmp) for p in written]
    return [out_dir / r for r in rel]


def read_manifest(report_dir: Path) -> dict:
    path = Path(report_dir) / MANIFEST
    if not path.is_file():
        raise FptError(f"{report_dir} holds no {MANIFEST}: it is not a rendered report; render it with "
                       f"`fptbench report --out {report_dir}` first")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FptError(f"{path} is not valid JSON ({exc}); re-render the report") from exc


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def check_report(report_dir: Path, results_dirs: list[Path] | None = None) -> list[str]:
    """Regenerate ``report_dir`` in a temporary directory and list what differs (empty: identical).

    Why a never-run cell is empty (not implemented / needs data) depends on the machine, not on the
    results, so the regenerated report reuses the reasons recorded in the committed manifest: the check
    is the same on a fresh clone and on a machine with every dataset prepared.

    Text outputs, figure data sidecars and the manifest (minus the renderer versions) are compared
    byte for byte. PNG/SVG bytes are compared only when the committed manifest was rendered with the
    same matplotlib and FreeType as now; otherwise only their presence is checked (and said so).
    """
    from .figures import renderer_info

    report_dir = Path(report_dir)
    manifest = read_manifest(report_dir)
    shown = [str(d) for d in results_dirs] if results_dirs else list(manifest.get("results") or [])
    if not shown:
        raise FptError(f"{report_dir}/{MANIFEST} names no results directories; pass --results")
    same_renderer = manifest.get("renderer") == renderer_info()
    diffs: list[str] = []
    with tempfile.TemporaryDirectory(prefix="fptbench-report-check-") as tmp:
        fresh = Path(tmp) / "report"
        fresh.mkdir()
        _render_into(fresh, [Path(d) for d in shown], shown, str(report_dir), manifest.get("formats") or DEFAULT_FORMATS,
                     manifest.get("tables"), bool(manifest.get("figures", True)), manifest.get("missing_reasons"))
        old, new = _files(report_dir), _files(fresh)
        for f in sorted(new - old):
            diffs.append(f"{f}: missing from {report_dir} (the results produce it)")
        for f in sorted(old - new):
            diffs.append(f"{f}: in {report_dir} but the results do not produce it")
        for f in sorted(old & new):
            a, b = report_dir / f, fresh / f
            if f == MANIFEST:
                ja, jb = json.loads(a.read_text(encoding="utf-8")), json.loads(b.read_text(encoding="utf-8"))
                ja.pop("renderer", None), jb.pop("renderer", None)
                if ja != jb:
                    diffs.append(f"{f}: differs")
            elif f.endswith(IMAGE_SUFFIXES) and not same_renderer:
                continue  # bytes depend on the matplotlib/FreeType build; the CSV sidecar is compared instead
            elif not filecmp.cmp(a, b, shallow=False):
                diffs.append(f"{f}: differs")
    return diffs


def check_note(report_dir: Path) -> str:
    """One line saying how strictly images were compared (printed by ``fptbench report --check``)."""
    from .figures import renderer_info

    manifest = read_manifest(report_dir)
    if manifest.get("renderer") == renderer_info():
        return "images compared byte for byte (same matplotlib/FreeType as the committed render)"
    return (f"images compared by presence only: committed with {manifest.get('renderer')}, now {renderer_info()}; "
            "their plotted data (figures/*.csv) was compared strictly")
