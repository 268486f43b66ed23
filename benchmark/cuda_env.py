"""CUDA facts, rules and timing helpers, in one place so a GPU run is described, scheduled and timed alike.

- ``cuda_facts`` / ``device_description``: the GPU model, driver, CUDA and cuDNN versions recorded in the
  ``device`` column of every CUDA run (CPU runs keep recording ``cpu``).
- ``deterministic_cuda``: the settings that make a CUDA run repeatable where torch has deterministic
  kernels (warn-only where it has none), applied by the trainer to every CUDA run.
- ``visible_gpus``: the device ids this process may use (the local pool pins one worker per id).
- ``synchronize`` / ``reset_cuda_peak`` / ``cuda_mem_mb`` / ``cuda_peak_mem_mb`` / ``cuda_matmul_peak``:
  what ``fptbench bench --device cuda`` needs to time GPU work honestly (kernels are asynchronous: a
  timer without a synchronize measures the launch, not the work; the process's RSS says nothing about
  what a step holds on the card).

The "bf16 only where native" rule (never ``including_emulation=True``) lives with the precision decision,
``benchmark/precision.py:cuda_bf16_native``. Everything here is safe to call on a CPU-only build: it
answers "no CUDA" instead of raising.
"""

from __future__ import annotations

import functools
import os
import subprocess
import time

import torch

CUBLAS_WORKSPACE = ":4096:8"  # what torch's reproducibility notes require for deterministic cuBLAS (CUDA >= 10.2)
DETERMINISM_NOTE = "deterministic algorithms requested (warn-only)"


def cuda_available() -> bool:
    return bool(torch.cuda.is_available())


def visible_gpus() -> list[str]:
    """Device ids a worker may be pinned to: the entries of CUDA_VISIBLE_DEVICES when set, else 0..n-1.

    Ids (not ordinals) because a pinned worker gets ``CUDA_VISIBLE_DEVICES=<id>`` and sees it as cuda:0.
    """
    n = torch.cuda.device_count() if cuda_available() else 0
    if n <= 0:
        return []
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env:
        ids = [x.strip() for x in env.split(",") if x.strip()]
        return ids[:n]
    return [str(i) for i in range(n)]


@functools.lru_cache(maxsize=None)
def _driver_version() -> str:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
        return out.strip().splitlines()[0] if out.strip() else "unknown"
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def cuda_facts(device: torch.device | int | None = None) -> dict[str, str]:
    """GPU model, compute capability, driver, CUDA (torch's build) and cuDNN versions; {} without CUDA."""
    if not cuda_available():
        return {}
    idx = device.index if isinstance(device, torch.device) else device
    idx = torch.cuda.current_device() if idx is None else idx
    major, minor = torch.cuda.get_device_capability(idx)
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {
        "gpu": torch.cuda.get_device_name(idx),
        "capability": f"{major}.{minor}",
        "driver": _driver_version(),
        "cuda": str(torch.version.cuda),
        "cudnn": str(cudnn) if cudnn else "absent",
    }


def describe_facts(facts: dict[str, str]) -> str:
    """The one-line form stored in the ``device`` column: 'cuda (NVIDIA A100; sm 8.0; driver ...; ...)'."""
    return (f"cuda ({facts['gpu']}; sm {facts['capability']}; driver {facts['driver']}; CUDA {facts['cuda']}; "
            f"cuDNN {facts['cudnn']}; {DETERMINISM_NOTE})")


def device_description(device: torch.device) -> str:
    """What a run records as its device: ``cpu`` (unchanged), or CUDA with its facts."""
    if device.type != "cuda":
        return str(device)
    return describe_facts(cuda_facts(device))


def deterministic_cuda() -> None:
    """Ask torch for deterministic CUDA kernels (cuBLAS workspace, cuDNN, deterministic algorithms).

    ``warn_only=True``: an op without a deterministic CUDA kernel warns instead of ending a run that
    cannot be tested here (no GPU lent to the project). The resume promise on CUDA is therefore "exact
    where every op of the model has a deterministic kernel" and is recorded as such in ``device``.
    CUBLAS_WORKSPACE_CONFIG must be set before cuBLAS initialises, so call this before the first CUDA work.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=True)


# -- for `fptbench bench --device cuda` ----------------------------------------------------------
def synchronize(device: torch.device) -> None:
    """Wait for the device's queued kernels (a no-op on CPU): call before reading any timer."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_cuda_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def cuda_mem_mb(device: torch.device) -> float:
    """Bytes the CUDA caching allocator holds for tensors now, in MiB (the base a step's growth is read from)."""
    return torch.cuda.memory_allocated(device) / 2**20


def cuda_peak_mem_mb(device: torch.device) -> float:
    """Peak bytes the CUDA caching allocator handed out since the last reset, in MiB."""
    return torch.cuda.max_memory_allocated(device) / 2**20


def cuda_matmul_peak(dtype: torch.dtype, n: int = 4096, seconds: float = 1.0,
                     device: torch.device | None = None, tf32: bool = False) -> float:
    """Achieved GFLOP/s of an n x n matmul on the GPU in ``dtype`` (synchronized timing).

    ``tf32`` allows TF32 for an fp32 matmul while it is timed (what ``auto`` runs on CUDA use for
    what stays fp32), restoring the process-wide flag afterwards.
    """
    device = device or torch.device("cuda")
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    try:
        return _timed_matmul(dtype, n, seconds, device)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


def _timed_matmul(dtype: torch.dtype, n: int, seconds: float, device: torch.device) -> float:
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    synchronize(device)
    reps, t0 = 0, time.perf_counter()
    while True:
        for _ in range(10):
            a @ b
        reps += 10
        synchronize(device)
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return 2 * n**3 * reps / elapsed / 1e9
