"""The machine fingerprint: what must be equal for two runs of one config to be bit-identical.

Why: bit-identity holds on one machine, not across machines. Another CPU picks other kernels
(AVX-512 vs AVX2 vs AMX tiles give other summation orders), another transformers or numpy may
change an op, another thread count splits reductions differently, and ``precision=auto`` trains in
bf16 only where the CPU has native bf16. The reference records this fingerprint
(``fingerprint.json`` beside its runs); ``fptbench check`` demands bit-identity only when the
machine running the check matches it in every field of ``STRICT_FIELDS``, and otherwise says which
fields differ and lets the statistical tier decide alone.
"""

from __future__ import annotations

import json
import os
import platform
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

FINGERPRINT_FILE = "fingerprint.json"
# Instruction-set flags that select different CPU kernels (oneDNN/MKL dispatch on these).
KERNEL_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx512_fp16",
                "amx_tile", "amx_bf16", "amx_int8", "amx_fp16")
PACKAGES = ("torch", "transformers", "numpy", "tokenizers", "safetensors")
# Every field here must match for the strict (bit-identity) tier to apply.
STRICT_FIELDS = ("cpu_model", "isa_flags", "torch", "transformers", "numpy", "tokenizers", "safetensors",
                 "blas", "cpu_capability", "threads", "precision")


def _pkg(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def _cpuinfo() -> tuple[str, list[str]]:
    """(model name, kernel-relevant flags) from /proc/cpuinfo; platform fallbacks elsewhere."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine(), []
    model = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    flags = re.search(r"^(?:flags|Features)\s*:\s*(.+)$", text, re.M)
    have = set(flags.group(1).split()) if flags else set()
    return (model.group(1).strip() if model else platform.machine()), [f for f in KERNEL_FLAGS if f in have]


def _blas() -> str:
    """BLAS / MKL / oneDNN builds from ``torch.__config__.show()`` (one line, versions only)."""
    import torch

    show = torch.__config__.show()
    parts = []
    blas = re.search(r"BLAS_INFO=(\w+)", show)
    if blas:
        parts.append(f"BLAS_INFO={blas.group(1)}")
    mkl = re.search(r"Math Kernel Library Version ([\w.]+)", show)
    if mkl:
        parts.append(f"MKL {mkl.group(1)}")
    dnn = re.search(r"MKL-DNN (v[\w.]+)", show)
    if dnn:
        parts.append(f"oneDNN {dnn.group(1)}")
    return ", ".join(parts) or "unknown"


def resolved_precision(requested: str = "auto") -> str:
    """The precision a run with budget ``precision=requested`` actually trains in on this machine.

    Asks the harness's rule (``provenance.resolve_precision``) when it exists; otherwise ``auto`` means bf16
    where the CPU has native bf16 kernels (``avx512_bf16`` or AMX) and fp32 elsewhere.
    """
    if requested != "auto":
        return requested
    from .. import provenance

    fn = getattr(provenance, "resolve_precision", None)
    if callable(fn):
        import torch

        return str(fn("auto", torch.device("cpu")))
    _, flags = _cpuinfo()
    return "bf16" if {"avx512_bf16", "amx_bf16"} & set(flags) else "fp32"


def threads() -> int:
    """Intra-op threads a sweep started from this environment uses (OMP_NUM_THREADS, else torch's default)."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    import torch

    return int(torch.get_num_threads())


def machine_fingerprint(precision: str = "auto") -> dict[str, Any]:
    """This machine's fingerprint for runs whose budget asks for ``precision``."""
    import torch

    model, flags = _cpuinfo()
    fp: dict[str, Any] = {"cpu_model": model, "isa_flags": flags, "machine": platform.machine()}
    fp.update({p: (torch.__version__ if p == "torch" else _pkg(p)) for p in PACKAGES})
    fp["blas"] = _blas()
    fp["cpu_capability"] = str(getattr(torch.backends.cpu, "get_cpu_capability", lambda: "unknown")())
    fp["threads"] = threads()
    fp["precision"] = resolved_precision(precision)
    return fp


def precision_of(runs: Any) -> str:
    """The budget precision a runs table asked for (``auto`` when absent or mixed), from its config JSON."""
    seen = set()
    for cfg in getattr(runs, "config", []):
        try:
            seen.add(json.loads(cfg).get("budget", {}).get("precision", "fp32"))
        except (TypeError, ValueError):
            continue
    return seen.pop() if len(seen) == 1 else "auto"


def differences(ref: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """Human-readable differences in the strict fields; a missing reference fingerprint is one."""
    if not ref:
        return ["the reference records no machine fingerprint"]
    out = []
    for key in STRICT_FIELDS:
        a, b = ref.get(key), new.get(key)
        if a != b:
            if isinstance(a, list) and isinstance(b, list):
                gone, added = sorted(set(a) - set(b)), sorted(set(b) - set(a))
                out.append(f"{key}: " + ", ".join([f"-{x}" for x in gone] + [f"+{x}" for x in added]))
            else:
                out.append(f"{key} {a!r} -> {b!r}")
    return out


def read_fingerprint(results: Path | str) -> dict[str, Any] | None:
    """The fingerprint stored beside a results directory, or None."""
    p = Path(results)
    f = p / FINGERPRINT_FILE if p.is_dir() else p.with_name(FINGERPRINT_FILE)
    if not f.is_file():
        return None
    return json.loads(f.read_text())


def write_fingerprint(results: Path | str, fp: dict[str, Any]) -> Path:
    """Write ``fp`` beside the runs of ``results`` (atomically)."""
    from ..atomic import atomic_path

    target = Path(results) / FINGERPRINT_FILE
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(fp, indent=2, sort_keys=True) + "\n")
    return target


__all__ = ["FINGERPRINT_FILE", "STRICT_FIELDS", "differences", "machine_fingerprint", "precision_of",
           "read_fingerprint", "resolved_precision", "write_fingerprint"]
