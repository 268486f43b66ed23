"""Where fptbench keeps caches and prepared data. Overridable so CI and users can relocate them."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SUBMITTED_SUBDIR = "submitted"  # submitted runs live in <results>/submitted, apart from harness runs


def cache_dir() -> Path:
    """Converted weights and other derived artifacts (``FPTBENCH_CACHE_DIR``, default ``~/.cache/fptbench``)."""
    path = Path(os.environ.get("FPTBENCH_CACHE_DIR", Path.home() / ".cache" / "fptbench"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """Prepared datasets (``FPTBENCH_DATA_DIR``, default ``<cache>/data``)."""
    path = Path(os.environ.get("FPTBENCH_DATA_DIR", cache_dir() / "data"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def package_dir(module: str) -> Path | None:
    """Folder of an installed package *without importing it* (asset wheels have broken imports)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])
