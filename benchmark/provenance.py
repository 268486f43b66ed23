"""Where a number came from: package versions, git state, device. Recorded with every result."""

from __future__ import annotations

import functools
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version

import torch

from . import __version__
from .paths import REPO_ROOT


def _version(pkg: str) -> str:
    try:
        return version(pkg)
    except PackageNotFoundError:
        return "absent"


@functools.lru_cache(maxsize=1)
def git_state() -> tuple[str, bool]:
    """(commit, dirty). 'unknown' outside a git checkout. Dirty means uncommitted tracked changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                                capture_output=True, text=True, check=True).stdout
        return commit, bool(status.strip())
    except (OSError, subprocess.CalledProcessError):
        return "unknown", False


def environment() -> dict[str, object]:
    commit, dirty = git_state()
    return {
        "torch_version": torch.__version__,
        "transformers_version": _version("transformers"),
        "package_version": __version__,
        "python_version": platform.python_version(),
        "git_commit": commit,
        "git_dirty": dirty,
    }


def pick_device(requested: str = "auto") -> torch.device:
    """cuda if present, then mps, else cpu; an explicit request is honoured or refused clearly."""
    from .errors import FptError

    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise FptError(f"device '{requested}' requested but no CUDA device is available; use --device cpu")
    return torch.device(requested)
