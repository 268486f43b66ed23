"""The leaderboard's CSS and JS are files of the package (report/leaderboard/static), read with
importlib.resources, and declared as package data so a non-editable install (a wheel) has them too."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from report.leaderboard import html

try:
    import tomllib  # Python 3.11+
except ImportError:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "report" / "leaderboard" / "static"


def test_static_files_are_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"].get("report.leaderboard", [])
    files = sorted(p.relative_to(STATIC.parent).as_posix() for p in STATIC.iterdir())
    assert files == ["static/leaderboard.css", "static/leaderboard.js"]
    for f in files:
        assert any(fnmatch.fnmatch(f, pat) for pat in patterns), f"{f} would be missing from a wheel"


def test_pages_embed_the_files_exactly() -> None:
    assert html.CSS == (STATIC / "leaderboard.css").read_text(encoding="utf-8")
    assert html.SORT_JS == (STATIC / "leaderboard.js").read_text(encoding="utf-8")
    page = html.page("t", "<p>x</p>")
    assert f"<style>{html.CSS}</style>" in page
    source = (ROOT / "report" / "leaderboard" / "html.py").read_text(encoding="utf-8")
    assert "{font:" not in source and "function sortTable" not in source  # no CSS/JS left in Python strings
