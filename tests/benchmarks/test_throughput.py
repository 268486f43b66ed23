"""Training-step throughput (steps/s) of every baseline adapter on every task shape.

``make test`` runs these with ``--benchmark-disable``: each step runs once as a plain smoke test.
With ``--benchmark-enable --benchmark-storage=file://results/reference/bench --benchmark-compare``
they are timed and compared with the committed baseline (reported, never failing: a shared
runner's timings are noise); adding ``--benchmark-compare-fail=mean:25%`` is the opt-in mode that
fails on a slowdown, for dedicated machines. Exact commands: docs/ci.md.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from benchmark.model import get_adapter
from benchmark.task import TASKS, get_task
from benchmark.trainer import seeded

BATCH = 16  # the paper's batch size
TRANSFORMER_ADAPTERS = ("fpt", "full", "random-frozen")
EMBEDDED_ADAPTERS = ("fpt", "full")  # random-frozen has fpt's architecture and trainable set: same step cost
# A MiniLM or 768-wide LSTM step on a long sequence costs seconds to a minute on a CPU, a tiny-body
# step on 2000 tokens ~13 s; those cases run only when asked (FPTBENCH_BENCH_LONG=1).
LONG_SEQ = 128  # MiniLM and LSTM cases beyond this
VERY_LONG_SEQ = 512  # tiny-body cases beyond this (listops-lra: ~13 s per step on one core)
RUN_LONG = os.environ.get("FPTBENCH_BENCH_LONG") == "1"


def _task_names() -> list[str]:
    return sorted(TASKS.names())


def _cases():
    for task in _task_names():
        for model in TRANSFORMER_ADAPTERS:
            yield pytest.param(task, model, "tiny-gpt2", id=f"{task}-{model}-tiny-gpt2")
        for model in EMBEDDED_ADAPTERS:
            yield pytest.param(task, model, "minilm-l6", id=f"{task}-{model}-minilm-l6", marks=pytest.mark.assets)
        yield pytest.param(task, "lstm", None, id=f"{task}-lstm")


def make_step(task_name: str, model_name: str, backbone: str | None):
    """One training step exactly as the trainer takes it: forward, loss, backward, clip, Adam."""
    task = get_task(task_name)
    limit = LONG_SEQ if (model_name == "lstm" or backbone == "minilm-l6") else VERY_LONG_SEQ
    if task.spec.seq_len > limit and not RUN_LONG:
        pytest.skip(f"seq_len {task.spec.seq_len} > {limit}: slow on a CPU; set FPTBENCH_BENCH_LONG=1")
    ok, how = task.available()
    if not ok:
        pytest.skip(f"task '{task_name}' needs data: {how}")
    adapter = get_adapter(model_name, backbone)
    with seeded(0, torch.device("cpu")):
        model = adapter.build(task.spec, 0)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-3)
    batch = task.train_batch(np.random.default_rng([0, 0]), BATCH, 0, 0)

    def step() -> float:
        out = model(batch.x, batch.mask)
        loss = task.loss(out.float(), batch.y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return float(loss.detach())

    return step


@pytest.mark.parametrize(("task_name", "model_name", "backbone"), list(_cases()))
def test_train_step_throughput(benchmark, task_name: str, model_name: str, backbone: str | None):
    step = make_step(task_name, model_name, backbone)
    benchmark.group = f"{task_name} (batch {BATCH})"
    benchmark.extra_info["unit"] = "one training step; OPS = steps/s"
    # Disabled (plain `pytest`): pedantic runs the step once. Enabled: 1 warm-up step, then 5 timed ones.
    loss = benchmark.pedantic(step, rounds=5, iterations=1, warmup_rounds=1)
    assert np.isfinite(loss)
