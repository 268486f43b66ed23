"""Which precision a run computes in: ``auto`` decided by what the machine measurably does, cached.

On a CPU, whether bf16 autocast pays is a property of the processor *and* the oneDNN build: AMD Zen 4/5
(AVX512-BF16) run bf16 matmuls about 4x fp32, AMX Xeons more, while an Intel guest hiding AMX ran bf16
steps at 0.6-0.9x fp32. A rule on the CPU flags got this wrong on three of the project's four machine
kinds, so ``auto`` times it instead:

* **Alternating pairs.** fp32 and bf16 matmuls at transformer shapes are timed in turn, round after
  round (order swapped every round), and each dtype keeps its fastest time. Load from other processes
  then hits both dtypes alike, and the minimum discards the slices where it did.
* **A stated margin.** bf16 is chosen when the geometric mean over shapes of ``fp32 time / bf16 time``
  is at least ``MARGIN``; autocast's casts and the fp32 reductions eat part of the matmul gain, so a
  ratio just above 1 would not speed a training step up.
* **One thread.** The ratio is a property of a core's vector units and the oneDNN kernels, so it is
  timed on one intra-op thread whatever the run uses: on a loaded 2-core machine, two-thread timings
  of the same matmuls ranged 1.5x-2.3x within a minute while one-thread timings gave 4.5x (AMD EPYC,
  AVX512-BF16, load 5), because a two-thread matmul waits for both threads to be scheduled.
* **Cached per machine fingerprint** (CPU model, flags, torch and oneDNN versions, the measuring
  thread count), under a file lock, so every run on one machine resolves the same way and concurrent
  sweep workers calibrate once. The cache lives in ``$FPTBENCH_CACHE_DIR`` (default ``~/.cache/fptbench``).
* **Recorded**: each run stores the precision it used and the measured ratio behind ``auto``.
* **Per workload.** The default workload is the matmuls of a transformer step. A model whose time goes
  elsewhere declares its own (``ModelAdapter.precision_workload``): the fused LSTM's recurrence ran
  1.9x *slower* under bf16 autocast than in fp32 on an AMX Xeon whose bf16 matmuls ran 7x faster, so
  the LSTM times LSTM steps, not matmuls, and its decision is cached beside the matmul one.
* **Unsupported is an answer.** Where oneDNN has no bf16 kernel for a workload (the fused LSTM on an
  AVX2-only AMD EPYC: "could not create a primitive descriptor"), the calibration records that bf16
  does not run there and ``auto`` picks fp32; an explicit ``bf16`` request for that model is refused
  before training, with the fix.

CUDA keeps a rule (bf16 where the GPU computes it natively, TF32 for what stays fp32): there the
answer does not depend on a guest's hidden features. Profiles that pin ``fp32`` (``ci``) never calibrate.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import Callable, Iterator

import torch

from .atomic import atomic_path
from .errors import FptError

MARGIN = 1.5  # bf16 when fp32 matmuls take at least 1.5x as long as bf16 ones
# (M, K, N) of the matmuls an FPT step spends its time in: MiniLM (384 wide) and GPT-2 small (768).
SHAPES: tuple[tuple[int, int, int], ...] = ((784, 384, 384), (196, 384, 1536), (480, 768, 768))
ROUNDS = 5
SAMPLE_S = 0.02  # each timed sample repeats a matmul for about this long
CACHE_VERSION = 1
THREADS = 1  # the calibration's intra-op threads (see the module docstring)


Timer = Callable[[torch.dtype, tuple[int, ...]], float]


@dataclasses.dataclass(frozen=True)
class Workload:
    """What ``auto`` times for a kind of model: ``timer(dtype, shape)`` seconds at each of ``shapes``."""

    name: str  # part of the cache file's name; "matmul" is the default workload
    timer: Timer
    shapes: tuple[tuple[int, ...], ...]
    what: str  # how the reason names it, e.g. "matmuls", "LSTM steps"


@dataclasses.dataclass(frozen=True)
class Calibration:
    """What the timing found on this machine, and what ``auto`` therefore uses on the CPU."""

    ratio: float  # geometric mean over SHAPES of fp32 time / bf16 time (higher: bf16 faster)
    margin: float
    per_shape: tuple[float, ...]
    fingerprint: str
    threads: int
    measured_at: str
    what: str = "matmuls"
    unsupported: str = ""  # why bf16 could not run this workload here ("" when it could and was timed)

    @property
    def precision(self) -> str:
        return "bf16" if not self.unsupported and self.ratio >= self.margin else "fp32"

    def reason(self) -> str:
        if self.unsupported:
            return (f"auto -> fp32: bf16 {self.what} do not run on this machine ({self.unsupported}); "
                    f"cached for machine {self.fingerprint}")
        side = ">=" if self.precision == "bf16" else "<"
        return (f"auto -> {self.precision}: bf16 {self.what} measured {self.ratio:.2f}x fp32 on {self.threads} thread "
                f"({side} margin {self.margin}); cached for machine {self.fingerprint}")


@dataclasses.dataclass(frozen=True)
class Decision:
    """The precision a run computes in, and the measurement behind it (None when none was needed)."""

    precision: str
    ratio: float | None
    reason: str


class Bf16Unsupported(RuntimeError):
    """bf16 autocast could not run a workload on this machine (no kernel for it): an answer, not a fault."""


# -- measuring ------------------------------------------------------------------------------------
def time_call(fn: Callable[[], object]) -> float:
    """Seconds per call of ``fn``: one sample of about SAMPLE_S, after a warm-up call (which a timer
    outside the loop would count: first-call allocation and kernel selection)."""
    fn()
    reps, elapsed = 1, 0.0
    while True:
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= SAMPLE_S or reps >= 1 << 16:
            return elapsed / reps
        reps *= 2


def time_matmul(dtype: torch.dtype, shape: tuple[int, ...]) -> float:
    """Seconds per matmul of ``shape`` (M, K, N) in ``dtype``."""
    m, k, n = shape
    gen = torch.Generator().manual_seed(0)  # local: calibration leaves no global RNG state changed
    a = torch.randn(m, k, generator=gen).to(dtype)
    b = torch.randn(k, n, generator=gen).to(dtype)
    return time_call(lambda: torch.mm(a, b))


MATMUL = Workload("matmul", time_matmul, SHAPES, "matmuls")


def measure_ratio(timer: Timer = time_matmul, shapes=SHAPES, rounds: int = ROUNDS) -> tuple[float, tuple[float, ...]]:
    """(geometric-mean ratio, per-shape ratios) of fp32 time over bf16 time, alternating the dtypes."""
    best: dict[tuple[tuple[int, ...], torch.dtype], float] = {}
    for r in range(rounds):
        order = (torch.float32, torch.bfloat16) if r % 2 == 0 else (torch.bfloat16, torch.float32)
        for shape in shapes:
            for dtype in order:
                try:
                    t = timer(dtype, shape)
                except RuntimeError as err:
                    if dtype == torch.float32:
                        raise
                    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
                    raise Bf16Unsupported(f"{type(err).__name__}: {first.split('. ')[0]}") from err
                if not (t > 0 and math.isfinite(t)):
                    raise ValueError(f"matmul timing {t!r} for {dtype} {shape} is not a positive number")
                best[shape, dtype] = min(best.get((shape, dtype), math.inf), t)
    per_shape = tuple(best[s, torch.float32] / best[s, torch.bfloat16] for s in shapes)
    ratio = math.exp(sum(math.log(x) for x in per_shape) / len(per_shape))
    return ratio, per_shape


# -- the machine's fingerprint and the cache --------------------------------------------------------
def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), else what the platform says: part of the machine fingerprint."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def _onednn_version() -> str:
    for line in torch.__config__.show().splitlines():
        if "MKL-DNN" in line or "oneDNN" in line:
            return line.strip().lstrip("- ")
    return "none"


def fingerprint(threads: int) -> dict[str, object]:
    """What the measured ratio depends on; a change in any of it calibrates again."""
    from .provenance import cpu_flags

    return {"cpu": cpu_model(), "flags": sorted(cpu_flags()), "torch": torch.__version__,
            "onednn": _onednn_version(), "threads": threads, "cache_version": CACHE_VERSION}


def fingerprint_id(fp: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(fp, sort_keys=True).encode()).hexdigest()[:12]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (POSIX): concurrent workers wait for one calibration."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, a second worker may measure too (and write the same answer)
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cache_dir() -> Path:
    from .paths import cache_dir  # FPTBENCH_CACHE_DIR, default ~/.cache/fptbench

    try:
        return cache_dir()
    except OSError:
        return Path(os.devnull)  # unwritable: calibrate() then measures without caching


def _read(path: Path, fp_id: str) -> Calibration | None:
    try:
        data = json.loads(path.read_text())
        cal = Calibration(ratio=float(data["ratio"]), margin=float(data["margin"]),
                          per_shape=tuple(float(x) for x in data["per_shape"]), fingerprint=str(data["fingerprint"]),
                          threads=int(data["threads"]), measured_at=str(data["measured_at"]),
                          what=str(data.get("what", "matmuls")), unsupported=str(data.get("unsupported", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent or damaged: measure again and overwrite
    return cal if cal.fingerprint == fp_id and cal.margin == MARGIN else None


def calibrate(threads: int = THREADS, *, timer: Timer | None = None, directory: Path | None = None,
              workload: Workload = MATMUL) -> Calibration:
    """This machine's calibration for ``workload``: read from the cache, or measured once (at
    ``threads``) and cached. ``timer`` replaces the workload's (tests inject timings)."""
    fp = fingerprint(threads)
    fp_id = fingerprint_id(fp)
    folder = directory or _cache_dir()
    stem = f"precision-{fp_id}" if workload.name == MATMUL.name else f"precision-{fp_id}-{workload.name}"
    path = folder / f"{stem}.json"
    cached = _read(path, fp_id)
    if cached is not None:
        return cached
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock: contextlib.AbstractContextManager = _locked(folder / f"precision-{fp_id}.lock")
    except OSError:
        lock = contextlib.nullcontext()  # unwritable cache: measure, use, and say nothing is cached
    with lock:
        cached = _read(path, fp_id)  # another worker may have measured while this one waited
        if cached is not None:
            return cached
        old = torch.get_num_threads()
        torch.set_num_threads(threads)
        unsupported = ""
        try:
            ratio, per_shape = measure_ratio(timer or workload.timer, workload.shapes)
        except Bf16Unsupported as err:
            ratio, per_shape, unsupported = 0.0, (), str(err)
        finally:
            torch.set_num_threads(old)
        cal = Calibration(ratio=ratio, margin=MARGIN, per_shape=per_shape, fingerprint=fp_id, threads=threads,
                          measured_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), what=workload.what,
                          unsupported=unsupported)
        with contextlib.suppress(OSError):
            with atomic_path(path) as tmp:
                Path(tmp).write_text(json.dumps({**dataclasses.asdict(cal), "machine": fp}, indent=1))
    return cal


@functools.lru_cache(maxsize=8)
def process_calibration(workload: Workload = MATMUL) -> Calibration:
    """The calibration this process uses for ``workload`` (read or measured once per process)."""
    return calibrate(workload=workload)


# -- the decision ---------------------------------------------------------------------------------
def cuda_bf16_native() -> bool:
    """bf16 computed by the GPU itself (Ampere and newer), not emulated through fp32 as on V100/T4."""
    try:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except TypeError:  # older torch without the keyword
        return bool(torch.cuda.is_bf16_supported())


def decide(requested: str, device: torch.device, workload: Workload | None = None) -> Decision:
    """The precision a run uses: an explicit request honoured (or refused with the fix), ``auto`` decided
    on the CPU by timing ``workload`` (the model's own, else a transformer's matmuls)."""
    if requested == "auto":
        if device.type == "cuda":
            native = cuda_bf16_native()
            return Decision("bf16" if native else "fp32", None,
                            "auto on CUDA: bf16 where the GPU computes it natively" if native
                            else "auto on CUDA: fp32 (no native bf16 on this GPU), TF32 matmuls")
        if device.type == "cpu":
            cal = process_calibration(workload or MATMUL)
            return Decision(cal.precision, None if cal.unsupported else cal.ratio, cal.reason())
        return Decision("fp32", None, f"auto on {device.type}: fp32")
    if requested == "fp16" and device.type != "cuda":
        raise FptError(f"precision fp16 needs a CUDA device (this run is on {device.type}); use --budget precision=bf16 or auto")
    if requested == "bf16" and device.type not in ("cuda", "cpu"):
        raise FptError(f"precision bf16 is not supported on {device.type}; use --budget precision=fp32")
    if requested == "bf16" and device.type == "cpu" and workload is not None and workload is not MATMUL:
        cal = process_calibration(workload)  # a model with its own kernels: can bf16 run them here at all?
        if cal.unsupported:
            raise FptError(f"precision bf16: {cal.what} do not run in bf16 on this machine ({cal.unsupported}); "
                           "use --budget precision=fp32 or auto")
    return Decision(requested, None, f"{requested}, as the run's budget asks")
