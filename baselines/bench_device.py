"""``fptbench bench``'s clock, memory reader and matmul peak, chosen once from the device.

On a CPU a step is done when the call returns and its memory is the process's resident set. On CUDA
neither holds: kernels are queued asynchronously (a timer read without a synchronize measures the
launch, not the work) and what a step holds lives in the caching allocator, not in RSS. A
``DeviceProbe`` bundles the three things that differ (``sync``, ``reset_peak``/``peak_mb``/``now_mb``,
and the clock) so that ``Side`` and ``alternate`` are written once and a test can hand in recording
fakes instead of patching torch.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from benchmark import cuda_env
from benchmark.errors import FptError
from benchmark.precision import cuda_bf16_native
from benchmark.trainer import peak_mem_mb, reset_peak_mem


def _nothing() -> None:
    """The CPU's synchronize: a returned call has done its work."""


def _rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass(frozen=True)
class DeviceProbe:
    """How to time and weigh work on one device: wait for it, read the clock, read its memory.

    ``memory`` names where the MB figures come from (``rss`` or ``cuda``), so a record says it.
    """

    device: torch.device
    sync: Callable[[], None]
    reset_peak: Callable[[], None]
    peak_mb: Callable[[], float]
    now_mb: Callable[[], float]
    memory: str
    clock: Callable[[], float] = time.perf_counter


def cpu_probe() -> DeviceProbe:
    cpu = torch.device("cpu")
    return DeviceProbe(cpu, _nothing, lambda: reset_peak_mem(cpu), lambda: peak_mem_mb(cpu), _rss_mb, "rss")


def cuda_probe(device: torch.device | None = None) -> DeviceProbe:
    """The CUDA probe; the helpers are looked up at call time (module attributes), so tests can swap them."""
    dev = device or torch.device("cuda")
    return DeviceProbe(dev, lambda: cuda_env.synchronize(dev), lambda: cuda_env.reset_cuda_peak(dev),
                       lambda: cuda_env.cuda_peak_mem_mb(dev), lambda: cuda_env.cuda_mem_mb(dev), "cuda")


def probe_for(device: str) -> DeviceProbe:
    """The probe for ``--device``; CUDA without a CUDA device is refused in one line, before any model is built."""
    if device == "cpu":
        return cpu_probe()
    if device == "cuda":
        if not cuda_env.cuda_available():
            raise FptError("bench: --device cuda needs a CUDA device; torch.cuda.is_available() is False on this "
                           f"machine (torch {torch.__version__}, CUDA build: {torch.version.cuda or 'none'}; a CPU build "
                           "or no GPU); drop --device or run on a GPU machine")
        return cuda_probe()
    raise FptError(f"bench: --device {device!r} is not one of cpu, cuda")


# -- timing --------------------------------------------------------------------------------------
@dataclass
class Side:
    """One side of a comparison: a step function (does one whole step) plus its memory.

    Every timed call is bracketed by the probe's ``sync``: the device is idle when the clock starts
    (no earlier work is charged to this step) and has finished when it stops.
    """

    step: Callable[[], None]
    probe: DeviceProbe = field(default_factory=cpu_probe)
    times: list[float] = field(default_factory=list)
    mem_mb: float = 0.0
    peak_mb: float = 0.0

    def run(self, measure_mem: bool = False) -> None:
        """One timed step; with ``measure_mem`` also its peak memory (window reset just before it)."""
        p = self.probe
        p.sync()
        if measure_mem:
            p.reset_peak()
            base = p.now_mb()
        t0 = p.clock()
        self.step()
        p.sync()
        self.times.append(p.clock() - t0)
        if measure_mem:
            self.peak_mb = p.peak_mb()
            self.mem_mb = max(self.peak_mb - base, 0.0)

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else math.nan


def alternate(ours: Side, theirs: Side, rounds: int, warmup: int = 1, slow_s: float = 20.0) -> None:
    """Warm both up, then alternate ``rounds`` times (the first round also measures memory).

    Steps slower than ``slow_s`` get at most 2 rounds; each record says how many it got.
    """
    p = ours.probe
    for _ in range(warmup):
        p.sync()
        t0 = p.clock()
        ours.step()
        theirs.step()
        p.sync()
        if p.clock() - t0 > 2 * slow_s:
            rounds = min(rounds, 2)
    for i in range(rounds):
        ours.run(measure_mem=i == 0)
        theirs.run(measure_mem=i == 0)


# -- the machine's matmul peak --------------------------------------------------------------------
def matmul_peak(dtype: torch.dtype, n: int, seconds: float = 1.0) -> float:
    """Sustained GFLOP/s of an n x n matmul in ``dtype`` on this CPU, with torch's threads."""
    gen = torch.Generator().manual_seed(0)  # local: the bench leaves the global RNG as it found it
    a = torch.randn(n, n, generator=gen).to(dtype)
    b = torch.randn(n, n, generator=gen).to(dtype)
    a @ b
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        reps += 1
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9


def measure_peaks(seconds: float, n: int, probe: DeviceProbe | None = None) -> dict[str, float]:
    """The device's matmul peak per precision a step can compute in (CUDA adds TF32 and fp16)."""
    if probe is None or probe.device.type != "cuda":
        return {"fp32": matmul_peak(torch.float32, n, seconds), "bf16": matmul_peak(torch.bfloat16, n, seconds)}
    dev, n = probe.device, max(n, 4096)  # smaller matmuls do not fill a GPU
    out = {"fp32": cuda_env.cuda_matmul_peak(torch.float32, n, seconds, dev),
           "tf32": cuda_env.cuda_matmul_peak(torch.float32, n, seconds, dev, tf32=True),
           "fp16": cuda_env.cuda_matmul_peak(torch.float16, n, seconds, dev)}
    if cuda_bf16_native():  # emulated bf16 (V100, T4) is no peak to compare with
        out["bf16"] = cuda_env.cuda_matmul_peak(torch.bfloat16, n, seconds, dev)
    return out


def peak_for(precision: str, peaks: dict[str, float]) -> float:
    """The peak a step's recorded precision (``bf16``, ``fp16``, ``fp32+tf32``, ...) is measured against."""
    head = precision.split("+")[0]
    if head == "fp32" and "tf32" in precision.split("+"):
        head = "tf32"
    return peaks.get(head, peaks.get("fp32", math.nan) if head == "tf32" else math.nan)


def device_meta(probe: DeviceProbe) -> dict[str, Any]:
    """What the bench's meta record says about the device: ``cpu``, or the GPU, CUDA and cuDNN (one helper
    for this, ``cuda_env.cuda_facts``, the same that every CUDA run records)."""
    if probe.device.type != "cuda":
        return {"device": "cpu", "memory": probe.memory}
    facts = cuda_env.cuda_facts(probe.device)
    return {"device": cuda_env.describe_facts(facts) if facts else str(probe.device), "memory": probe.memory, **facts}
