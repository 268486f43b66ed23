"""Where a number came from: package versions, git state, device. Recorded with every result."""

from __future__ import annotations

import contextlib
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

    Without these, oneDNN emulates bf16 through fp32 and autocast would only add conversions, so
    ``auto`` stays fp32. torch's own capability string names AMX on builds that detect it.
    """
    flags = cpu_flags()
    if flags & {"avx512_bf16", "amx_bf16"}:
        return True
    capability = str(getattr(torch.backends.cpu, "get_cpu_capability", lambda: "")())
    return "AMX" in capability.upper() or "BF16" in capability.upper()


BF16_MIN_SPEEDUP = 1.2  # auto picks bf16 on a CPU without AMX only if its matmuls are this much faster


def cpu_bf16_faster() -> bool:
    """Whether bf16 autocast pays off on this CPU: AMX yes; AVX512-BF16 alone only if measured so.

    AVX512-BF16 without AMX is not reliably faster than MKL's fp32 (a 2-core Xeon VM that hides AMX
    ran bf16 matmuls at half the fp32 rate), so that case is decided by a short matmul measurement,
    made once per (CPU, flags, torch, threads) and kept in the cache directory so every later run on
    the machine resolves ``auto`` the same way. The precision used is recorded with every run.
    """
    flags = cpu_flags()
    capability = str(getattr(torch.backends.cpu, "get_cpu_capability", lambda: "")()).upper()
    if "amx_bf16" in flags or "AMX" in capability:
        return True
    if not cpu_native_bf16():
        return False
    return measured_bf16_speedup() >= BF16_MIN_SPEEDUP


def measured_bf16_speedup() -> float:
    """fp32 time / bf16 time of a transformer-sized matmul here, cached on disk per machine."""
    import hashlib
    import json

    from .atomic import atomic_path
    from .paths import cache_dir

    model = ""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    key = hashlib.sha256(json.dumps([model, sorted(cpu_flags()), torch.__version__, torch.get_num_threads()]).encode()).hexdigest()[:16]
    path = cache_dir() / "cpu_bf16_speedup.json"
    known: dict = {}
    with contextlib.suppress(OSError, ValueError):
        known = json.loads(path.read_text())
    if key in known:
        return float(known[key])
    speedup = _time_matmul(torch.float32) / _time_matmul(torch.bfloat16)
    known[key] = speedup
    with contextlib.suppress(OSError):
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(known))
    return speedup


def _time_matmul(dtype: torch.dtype, reps: int = 8) -> float:
    """Best-of time of (2048 x 768) @ (768 x 768), the shape of a GPT-2 small projection."""
    import time

    g = torch.Generator().manual_seed(0)  # local generator: no global RNG state is touched
    a = torch.randn(2048, 768, generator=g).to(dtype)
    b = torch.randn(768, 768, generator=g).to(dtype)
    a @ b
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return best


def resolve_precision(requested: str, device: torch.device) -> str:
    """The precision a run actually uses: ``auto`` becomes bf16 where the hardware makes it pay, else fp32.

    An explicit request is honoured or refused with the fix; the result is recorded with the run,
    because ``auto`` alone does not say what was computed.
    """
    from .errors import FptError

    if requested == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
        if device.type == "cpu":
            return "bf16" if cpu_bf16_faster() else "fp32"
        return "fp32"
    if requested == "fp16" and device.type != "cuda":
        raise FptError(f"precision fp16 needs a CUDA device (this run is on {device.type}); use --budget precision=bf16 or auto")
    if requested == "bf16" and device.type not in ("cuda", "cpu"):
        raise FptError(f"precision bf16 is not supported on {device.type}; use --budget precision=fp32")
    return requested
