"""Training invariants no other test noticed when broken on purpose (issue 23, item 10).

* gradients are clipped to the budget's ``grad_clip`` on every step (mutation: the clip removed);
* the last step is evaluated when the budget is not a multiple of ``eval_every`` (mutation: only
  multiples evaluated, so the test split is scored on weights from before the last steps);
* the training stream depends on the run's seed (mutation: ``default_rng([0, step])``);
* train, validation and test rows are disjoint for every dataset task, on the prepared data
  (mutation: MNIST's validation rows drawn from its training rows).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from benchmark.array_task import ArrayTask
from benchmark.results import read_table
from benchmark.runner import make_config, run, trainer_for
from benchmark.task import TASKS, get_task

TINY = {"eval_batch_size": 256, "checkpoint_every": 1000, "precision": "fp32"}


def test_every_step_clips_gradients_to_the_budget(tmp_path) -> None:
    clip = 1e-3
    cfg = make_config("bit-xor", "full", backbone="tiny-gpt2", profile="ci",
                      budget_overrides={**TINY, "steps": 2, "grad_clip": clip, "lr": 1e-2})
    trainer = trainer_for(cfg, tmp_path, progress=False)
    torch.manual_seed(0)
    model = trainer.adapter.build(trainer.task.spec, 0)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.budget.lr)
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    for step in range(2):
        batch = trainer.task.train_batch(np.random.default_rng([0, step]), 32, step, 0)
        trainer.train_step(model, opt, scaler, params, batch, step)
        norm = torch.sqrt(sum((p.grad.float() ** 2).sum() for p in params if p.grad is not None))
        assert float(norm) <= clip * (1 + 1e-4), f"step {step}: gradient norm {float(norm):.3g} above grad_clip {clip}"


def test_the_last_step_is_evaluated_when_the_budget_is_not_a_multiple(tmp_path) -> None:
    cfg = make_config("bit-xor", "full", backbone="tiny-gpt2", profile="ci",
                      budget_overrides={**TINY, "steps": 13, "eval_every": 5})
    assert run(cfg, tmp_path, progress=False) == "finished"
    curve = read_table([tmp_path], "curves")
    assert sorted(set(curve.step)) == [0, 5, 10, 13]
    runs = read_table([tmp_path], "runs")
    assert set(runs.steps_trained) == {13}


def _first_batches(seed: int, tmp_path, n: int = 3) -> list[torch.Tensor]:
    """The batches the trainer draws in its first ``n`` steps of a real run with ``seed``."""
    cfg = make_config("bit-xor", "full", backbone="tiny-gpt2", profile="ci", seed=seed,
                      budget_overrides={**TINY, "steps": n, "eval_every": n, "eval_at_start": False})
    trainer = trainer_for(cfg, tmp_path / f"s{seed}-{len(list(tmp_path.iterdir()))}", progress=False)
    seen: list[torch.Tensor] = []
    original = trainer.task.train_batch

    def spy(*args, **kwargs):
        batch = original(*args, **kwargs)
        seen.append(batch.x.clone())
        return batch

    trainer.task.train_batch = spy
    assert trainer.run() == "finished"
    return seen


def test_the_training_stream_follows_the_seed(tmp_path) -> None:
    a0, b0, a1 = _first_batches(0, tmp_path), _first_batches(0, tmp_path), _first_batches(1, tmp_path)
    assert len(a0) == 3 and all(torch.equal(x, y) for x, y in zip(a0, b0)), "same seed, same stream"
    assert not any(torch.equal(x, y) for x, y in zip(a0, a1)), "another seed must draw other batches"


def _row_hashes(x) -> set[bytes]:
    return {hashlib.blake2b(np.asarray(x[i]).tobytes(), digest_size=16).digest() for i in range(len(x))}


DATASET_TASKS = sorted(n for n in TASKS.names() if issubclass(TASKS.get(n), ArrayTask))


@pytest.mark.parametrize("name", DATASET_TASKS)
def test_train_val_and_test_rows_are_disjoint_on_the_prepared_data(name: str) -> None:
    """Measured on every prepared dataset (mnist, listops, listops-lra: no row in two splits); a task whose
    data is not prepared here is skipped with the command that prepares it (`make pytest` prepares
    mnist and listops)."""
    task = get_task(name)
    ok, how = task.available()
    if not ok:
        pytest.skip(f"data not prepared: {how}")
    rows = {s: _row_hashes(task.arrays(s)[0]) for s in ("train", "val", "test")}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        shared = len(rows[a] & rows[b])
        assert shared == 0, f"{name}: {shared} rows are in both {a} and {b}"
