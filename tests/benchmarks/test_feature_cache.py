"""The reservoir feature cache: one training epoch of the output-only model, cached vs uncached.

Uncached is ``fpt --option preset=output-only`` (the body runs forward every step; nothing upstream
of the head needs gradients, so there is no backward through it). Cached is the ``reservoir``
adapter after its first epoch has filled the cache. ``make bench`` times both (pytest-benchmark);
``test_feature_cache_speedup_side_by_side`` measures them alternately in one process and prints the
ratio; as a timing comparison it runs only with ``--benchmark-enable`` (``make bench``), never in the
default test run, where the benchmarks themselves run once as smoke tests.
"""

from __future__ import annotations

import math
import statistics
import time

import pytest
import torch

from benchmark.model import get_adapter
from benchmark.task import get_task
from benchmark.trainer import seeded

BATCH = 16
EPOCH_BATCHES = 8
VARIANTS = {"uncached": ("fpt", {"preset": "output-only"}), "cached": ("reservoir", {})}
SETTINGS = [
    pytest.param("bit-xor", "tiny-bert", id="bit-xor-tiny-bert"),
    pytest.param("mnist", "minilm-l6", id="mnist-minilm-l6", marks=pytest.mark.assets),
]


def make_epoch(task_name: str, backbone: str, variant: str):
    """An epoch over a fixed set of EPOCH_BATCHES batches (the first ones of the val split), one Adam
    step per batch, exactly as the trainer takes it; the cached variant is warmed by one epoch."""
    task = get_task(task_name)
    ok, how = task.available()
    if not ok:
        pytest.skip(f"task '{task_name}' needs data: {how}")
    model_name, options = VARIANTS[variant]
    adapter = get_adapter(model_name, backbone, **options)
    with seeded(0, torch.device("cpu")):
        model = adapter.build(task.spec, 0)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-3)
    batches = [b for _, b in zip(range(EPOCH_BATCHES), task.eval_batches("val", BATCH))]

    def epoch() -> float:
        total = 0.0
        for b in batches:
            out = model(b.x, b.mask)
            loss = task.loss(out.float(), b.y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            total += float(loss.detach())
        return total

    if variant == "cached":
        epoch()
    return epoch


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("task_name,backbone", SETTINGS)
def test_output_only_epoch(benchmark, task_name, backbone, variant):
    epoch = make_epoch(task_name, backbone, variant)
    benchmark.extra_info.update({"task": task_name, "backbone": backbone, "variant": variant,
                                 "batches": EPOCH_BATCHES, "batch_size": BATCH})
    loss = benchmark(epoch)
    assert math.isfinite(loss) and loss > 0.0  # a real cross-entropy sum: neither NaN, inf nor zero


@pytest.mark.parametrize("task_name,backbone", SETTINGS)
def test_feature_cache_speedup_side_by_side(task_name, backbone, request):
    if not request.config.getoption("benchmark_enable", False):
        pytest.skip("a timing comparison: runs only with --benchmark-enable (make bench)")
    epochs = {v: make_epoch(task_name, backbone, v) for v in VARIANTS}
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(3):  # alternate, so load changes on a shared machine hit both alike
        for v, epoch in epochs.items():
            t0 = time.perf_counter()
            epoch()
            times[v].append(time.perf_counter() - t0)
    med = {v: statistics.median(t) for v, t in times.items()}
    ratio = med["uncached"] / med["cached"]
    print(f"\n{task_name}/{backbone}: epoch of {EPOCH_BATCHES}x{BATCH} uncached {med['uncached'] * 1e3:.1f} ms, "
          f"cached {med['cached'] * 1e3:.1f} ms, speed-up x{ratio:.1f}")
    assert ratio > 1.0  # the cache must at least not be slower than recomputing the body
