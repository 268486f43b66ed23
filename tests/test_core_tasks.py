"""Bit tasks match the paper's definitions; fixed splits and fingerprints are stable."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from benchmark.errors import FptError
from benchmark.task import SplitSpec, TaskSpec, get_task
from tasks.bits import bit_memory_examples, bit_xor_examples


def test_bit_memory_shapes_and_query_is_a_masked_copy_of_one_string():
    x, y = bit_memory_examples(np.random.default_rng(0), 8)
    assert x.shape == (8, 120, 50) and y.shape == (8, 1000)
    strings = x.reshape(8, 6, 1000)
    for i in range(8):
        query = strings[i, 5]
        target = 2 * y[i] - 1
        visible = query != 0
        assert np.array_equal(query[visible], target[visible])
        assert 0.4 < visible.mean() < 0.6
        assert any(np.array_equal(strings[i, k], target) for k in range(5))


def test_bit_memory_copy_baseline_scores_about_75_percent():
    x, y = bit_memory_examples(np.random.default_rng(1), 64)
    query = x.reshape(64, 6, 1000)[:, 5]
    guess = np.where(query == 0, np.random.default_rng(2).integers(0, 2, query.shape), (query + 1) // 2)
    assert abs((guess == y).mean() - 0.75) < 0.01


def test_bit_xor_targets():
    x, y = bit_xor_examples(np.random.default_rng(0), 100)
    assert x.shape == (100, 10, 1) and set(np.unique(x)) <= {0.0, 1.0}
    assert np.array_equal(y, np.logical_xor(x[:, :5, 0], x[:, 5:, 0]).astype(int))


@pytest.mark.parametrize("name", ["bit-xor", "bit-memory"])
def test_fixed_splits_and_fingerprint_are_stable(name):
    a, b = get_task(name), get_task(name)
    assert torch.equal(a.fixed_split("test").x, b.fixed_split("test").x)
    assert a.fingerprint == b.fingerprint and len(a.fingerprint) == 16
    assert not torch.equal(a.fixed_split("val").x, a.fixed_split("test").x)


def test_fingerprint_changes_with_the_spec():
    task = get_task("bit-xor")
    other = type("BitXorV2", (type(task),), {"spec": dataclasses.replace(task.spec, version="1.1")})()
    assert other.fingerprint != task.fingerprint


def test_training_stream_depends_on_seed_and_step_only():
    task = get_task("bit-xor")
    a = task.train_batch(np.random.default_rng([0, 5]), 16, 5, 0)
    b = task.train_batch(np.random.default_rng([0, 5]), 16, 5, 0)
    c = task.train_batch(np.random.default_rng([0, 6]), 16, 6, 0)
    assert torch.equal(a.x, b.x) and not torch.equal(a.x, c.x)


def test_spec_validation():
    with pytest.raises(FptError, match="no 'val' split"):
        TaskSpec(name="t", version="1", modality="m", input_kind="continuous", input_dim=1, seq_len=2,
                 output_tokens=1, output_dim=2, splits={"train": SplitSpec(1), "test": SplitSpec(1)})
    with pytest.raises(FptError, match="input_kind"):
        TaskSpec(name="t", version="1", modality="m", input_kind="pixels", input_dim=1, seq_len=2,  # type: ignore[arg-type]
                 output_tokens=1, output_dim=2, splits={k: SplitSpec(1) for k in ("train", "val", "test")})
