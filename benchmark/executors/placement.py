"""Which device a sweep's runs use and how many GPUs each asks for: decided once, before any run starts.

Why one function: Ray gives a task with ``num_gpus=0`` an empty ``CUDA_VISIBLE_DEVICES``, so a run whose
device is ``auto`` silently trains on the CPU, and one whose device is ``cuda`` fails. Every sweep (a
profile's suite or a grid) therefore goes through ``place``, which

- resolves ``auto`` against what the executor can hand out (the local machine's visible GPUs, the Ray
  cluster's declared ``GPU`` resource): GPUs there means CUDA, and the runs' device becomes ``cuda`` so a
  worker that cannot see its GPU fails loudly instead of falling back to the CPU;
- on CUDA, asks for ``--gpus-per-run``, else the grid's ``[resources] num_gpus`` or the profile's own
  default, else 1 GPU per run; on a CPU, for none (unless ``--gpus-per-run`` says otherwise);
- refuses, before any compute, a profile meant for CUDA (``paper``) where there is no GPU unless
  ``--device cpu`` was given, ``--device cuda`` where there is no GPU, and a request the executor can
  never satisfy (a Ray task asking more GPUs than the cluster has would wait forever).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import FptError
from ..grid import Job


@dataclass(frozen=True)
class DeviceRequest:
    """What the sweep was asked for: the device (flag, else grid, else profile default) and GPU counts."""

    device: str = "auto"
    explicit: bool = False  # the user gave --device
    gpus_per_run: float | None = None  # --gpus-per-run
    default_gpus: float = 0.0  # the grid's [resources] num_gpus or the profile's gpus_per_run
    owner: str = ""  # "profile paper" / "grid paper-lr": named in refusals


def is_cuda(device: str) -> bool:
    return device == "cuda" or device.startswith("cuda:")


def resolve_device(req: DeviceRequest, gpus_here: int, where: str) -> str:
    """The device every run of the sweep uses, or a one-line refusal."""
    device = req.device
    if device == "auto":
        return "cuda" if gpus_here > 0 else "cpu"
    if is_cuda(device) and gpus_here <= 0:
        if req.explicit:
            raise FptError(f"--device {device} but {where} has no GPU; run where there is one or use --device cpu")
        raise FptError(f"{req.owner or 'this sweep'} runs on CUDA and {where} has no GPU; run it where there is one "
                       "(or on a Ray cluster with GPUs), or add --device cpu to run it on this CPU anyway")
    return device


def gpus_per_run(req: DeviceRequest, device: str) -> float:
    """GPUs each run asks the executor for on ``device``."""
    if req.gpus_per_run is not None and req.gpus_per_run < 0:
        raise FptError(f"--gpus-per-run must be >= 0, got {req.gpus_per_run}")
    if is_cuda(device):
        n = req.gpus_per_run if req.gpus_per_run is not None else (req.default_gpus or 1.0)
        if n <= 0:
            raise FptError(f"--gpus-per-run {req.gpus_per_run:g} with device {device} would give each run no GPU; "
                           "drop it (1 GPU per run) or use --device cpu")
        return float(n)
    return float(req.gpus_per_run or 0.0)


def place(jobs: list[Job], req: DeviceRequest, gpus_here: int | None, where: str) -> tuple[list[Job], str]:
    """``jobs`` with their device and GPU request set, and one line saying what was decided.

    ``gpus_here=None`` (a dry run): nothing is checked against the hardware; ``auto`` stays as it is and
    a CUDA device keeps its GPU request, so the estimate prices what the sweep would ask for.
    """
    if gpus_here is None:
        device = req.device
    else:
        device = resolve_device(req, gpus_here, where)
    n = gpus_per_run(req, device)
    if gpus_here is not None and n > gpus_here and n > 0:
        raise FptError(f"each run asks for {n:g} GPUs but {where} has {gpus_here}; lower --gpus-per-run")
    out = []
    for job in jobs:
        # auto that resolved to CUDA becomes cuda (a worker that cannot see its GPU then fails loudly); a
        # CPU sweep's configs stay exactly as they were (the CI gate's recorded configs say auto)
        cfg = replace(job.config, device=device) if is_cuda(device) and job.config.device != device else job.config
        out.append(replace(job, config=cfg, resources=replace(job.resources, num_gpus=n)))
    note = f"device {device}" + (f", {n:g} GPU per run" if n else "") + (f" ({where}: {gpus_here} GPU)" if gpus_here is not None else "")
    return out, note
