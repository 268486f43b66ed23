"""A RoPE body (Llama family) has no position table: its FPT input bias starts at the body's embedding scale,
the recipe's positions are recorded as nothing to train, and an all-zero first token no longer makes the first
backward pass non-finite. Bodies with learned positions keep the FPT code's zero bias (their runs unchanged).
Mutation tried: ``LlamaBody.input_bias_std`` returning None fails the first test (zero bias)."""

from __future__ import annotations

import torch

from benchmark.model import get_adapter
from benchmark.task import TaskSpec


def _spec() -> TaskSpec:
    from benchmark.task import TASKS

    return TASKS.get("bit-xor")().spec


def test_rope_body_input_bias_is_not_zero_and_positions_are_recorded_as_nothing_to_train():
    adapter = get_adapter("fpt", "tiny-llama")
    model = adapter.build(_spec(), 0)
    assert model.input.proj.bias.abs().sum() > 0
    info = adapter.info()
    assert info["trainable"]["pos"] is False and "nothing to train" in info["positions"]
    assert "no learned positions (RoPE)" in info["input_layer"]


def test_learned_position_bodies_keep_the_zero_bias():
    adapter = get_adapter("fpt", "tiny-gpt2")
    model = adapter.build(_spec(), 0)
    assert model.input.proj.bias.abs().sum() == 0 and "positions" not in adapter.info()


def test_an_all_zero_first_token_gives_finite_gradients_on_a_rope_body():
    model = get_adapter("fpt", "tiny-llama").build(_spec(), 0)
    x = torch.zeros(4, _spec().seq_len, _spec().input_dim)
    x[:, 1:] = 1.0
    model(x, None).float().pow(2).mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
