"""Frozen matmul weights stored in bf16 once (benchmark/frozen_cast.py): same numbers, less work.

Autocast recasts frozen weights at every forward; converting them once must not change a single bit of
a training run, must leave every trainable parameter (and so the optimizer) in fp32, and must touch only
layers whose forward autocast lowers anyway.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.frozen_cast import cast_frozen_matmul_weights
from benchmark.runner import make_config
from benchmark.trainer import Trainer, seeded


def _trained(tmp_path, backbone: str, cast: bool, steps: int = 3):
    cfg = make_config("bit-xor", "fpt", backbone=backbone, profile="ci", max_steps=steps, device="cpu",
                      budget_overrides={"precision": "bf16"})
    trainer = Trainer(cfg, tmp_path / f"{backbone}-{cast}", progress=False)
    trainer.cast_frozen = cast
    with seeded(0, trainer.device):
        model = trainer.adapter.build(trainer.task.spec, 0)
    model.train()
    trainer.prepare_model(model)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-3)
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    losses = []
    for t in range(steps):
        batch = trainer.task.train_batch(np.random.default_rng([0, t]), 8, t, 0)
        loss, _ = trainer.train_step(model, opt, scaler, params, batch, t)
        losses.append(float(loss))
    return model, losses


@pytest.mark.parametrize("backbone", ["tiny-gpt2", "tiny-bert"])
def test_casting_frozen_weights_once_changes_no_number(tmp_path, backbone):
    cast_model, cast_losses = _trained(tmp_path, backbone, cast=True)
    plain_model, plain_losses = _trained(tmp_path, backbone, cast=False)
    frozen_bf16 = [n for n, p in cast_model.named_parameters() if p.dtype == torch.bfloat16]
    assert frozen_bf16, "nothing was converted: the lever is off"
    assert cast_losses == plain_losses  # bit for bit: autocast's cast is the same rounding, done once
    plain = dict(plain_model.named_parameters())
    for name, p in cast_model.named_parameters():
        if p.requires_grad:
            assert p.dtype == torch.float32 and torch.equal(p, plain[name]), name  # trained weights identical


def test_only_frozen_autocast_lowered_layers_are_converted():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4), torch.nn.Embedding(5, 4),
                                torch.nn.Linear(4, 4))
    model[0].requires_grad_(False)
    model[1].requires_grad_(False)  # a frozen norm: autocast keeps norms in fp32, so must we
    model[2].requires_grad_(False)  # embeddings are not lowered by autocast
    n = cast_frozen_matmul_weights(model, torch.bfloat16)
    assert n == 4 * 4 + 4
    assert model[0].weight.dtype == model[0].bias.dtype == torch.bfloat16
    assert {p.dtype for m in list(model)[1:] for p in m.parameters()} == {torch.float32}


def test_fp32_runs_are_never_converted(tmp_path):
    cfg = make_config("bit-xor", "fpt", backbone="tiny-gpt2", profile="ci", max_steps=1, device="cpu")
    trainer = Trainer(cfg, tmp_path, progress=False)
    with seeded(0, trainer.device):
        model = trainer.adapter.build(trainer.task.spec, 0)
    trainer.prepare_model(model)
    assert trainer.precision == "fp32" and {p.dtype for p in model.parameters()} == {torch.float32}
