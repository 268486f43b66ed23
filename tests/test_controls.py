"""The no-body controls (baselines/controls.py): they train through the harness, and their parameter
counts are exactly what their definition says (counted here by hand from the task spec)."""

from __future__ import annotations

import pytest
import torch

from benchmark.errors import FptError
from benchmark.model import get_adapter
from benchmark.results import read_table
from benchmark.task import get_task


def _count(module: torch.nn.Module) -> tuple[int, int]:
    params = list(module.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


@pytest.mark.parametrize("task", ["bit-xor", "bit-memory"])
def test_no_body_parameter_count(task: str) -> None:
    spec = get_task(task).spec
    d = 16
    model = get_adapter("no-body", d_model=d).build(spec, seed=0)
    # continuous input: Linear(input_dim -> d) with bias; head: Linear(d -> output_dim) with bias
    want = (spec.input_dim * d + d) + (d * spec.output_dim + spec.output_dim)
    assert _count(model) == (want, want)  # everything trains


def test_one_attention_parameter_count() -> None:
    spec = get_task("bit-xor").spec
    d, heads = 16, 4
    model = get_adapter("one-attention", d_model=d, heads=heads).build(spec, seed=0)
    input_layer = spec.input_dim * d + d
    positions = spec.seq_len * d
    norm = 2 * d
    attention = 3 * d * d + 3 * d + d * d + d  # fused q/k/v projection + output projection, with biases
    head = d * spec.output_dim + spec.output_dim
    want = input_layer + positions + norm + attention + head
    assert _count(model) == (want, want)


def test_controls_output_shape_and_options() -> None:
    spec = get_task("bit-xor").spec
    x = torch.randn(3, spec.seq_len, spec.input_dim)
    for name in ("no-body", "one-attention"):
        out = get_adapter(name, d_model=8, heads=2).build(spec, seed=1)(x, None) if name == "one-attention" else \
            get_adapter(name, d_model=8).build(spec, seed=1)(x, None)
        assert out.shape == (3, spec.output_tokens, spec.output_dim)
    with pytest.raises(FptError, match="divisible"):
        get_adapter("one-attention", d_model=10, heads=4).build(spec, seed=0)
    with pytest.raises(FptError, match="positive integer"):
        get_adapter("no-body", d_model=0).build(spec, seed=0)
    with pytest.raises(FptError, match="takes no backbone"):
        get_adapter("no-body", backbone="tiny-gpt2")


def test_one_attention_sees_other_positions_no_body_does_not() -> None:
    """no-body's output depends only on the read positions; one attention layer mixes in the others."""
    spec = get_task("bit-xor").spec
    x = torch.randn(2, spec.seq_len, spec.input_dim)
    y = x.clone()
    y[:, 0] += 5.0  # change a position the head does not read (bit-xor reads the last tokens)
    for name, mixes in (("no-body", False), ("one-attention", True)):
        model = get_adapter(name, d_model=8, heads=2).build(spec, seed=0) if name == "one-attention" else \
            get_adapter(name, d_model=8).build(spec, seed=0)
        model.eval()
        with torch.no_grad():
            changed = not torch.allclose(model(x, None), model(y, None))
        assert changed == mixes, name


@pytest.mark.parametrize("model", ["no-body", "one-attention"])
def test_controls_train_through_the_harness(tiny_run, model: str) -> None:
    cfg, status, results = tiny_run("bit-xor", model, backbone=None, steps=20, options={"d_model": 16})
    assert status == "finished"
    runs = read_table([results], "runs")
    test = runs[(runs.split == "test") & (runs.metric == "accuracy")]
    assert len(test) == 1 and test.backbone.iloc[0] == "none"
    assert 0.0 <= float(test.value.iloc[0]) <= 1.0
    assert int(test.n_params_trainable.iloc[0]) == int(test.n_params_total.iloc[0]) > 0
    # the loss moved: the controls are trained, not just built
    curves = read_table([results], "curves")
    losses = curves[curves.train_loss.notna()].sort_values("step").train_loss
    assert len(losses) >= 2 and losses.iloc[-1] != losses.iloc[0]
