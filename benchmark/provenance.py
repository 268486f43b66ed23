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


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags the kernel reports (empty where /proc/cpuinfo does not exist)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_native_bf16() -> bool:
    """True when the CPU computes bf16 matmuls natively (AVX512-BF16 or AMX-BF16).

    Reported beside the calibration (``fptbench bench``); ``auto`` itself decides by timing
    (benchmark/precision.py), because native bf16 is not always faster than MKL's fp32.
    torch's own capability string names AMX on builds that detect it.
    """
    flags = cpu_flags()
    if flags & {"avx512_bf16", "amx_bf16"}:
        return True
    capability = str(getattr(torch.backends.cpu, "get_cpu_capability", lambda: "")())
    return "AMX" in capability.upper() or "BF16" in capability.upper()


def resolve_precision(requested: str, device: torch.device) -> str:
    """The precision a run actually uses (``auto`` decided by benchmark/precision.py's calibration)."""
    from .precision import decide

    return decide(requested, device).precision
