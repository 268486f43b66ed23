"""The last layer computed only at the read positions is the same function as the full layer."""

from __future__ import annotations

import pytest
import torch

from baselines.backbones import get_backbone
from baselines.layers import last_positions
from benchmark.trainer import seeded


def _body(name: str):
    with seeded(0, torch.device("cpu")):
        return get_backbone(name).build(pretrained=False)


@pytest.mark.parametrize("name", ["tiny-bert", "tiny-gpt2"])
@pytest.mark.parametrize("padded", [False, True])
def test_restricted_last_layer_matches_the_full_layer(name, padded):
    body = _body(name).eval()
    g = torch.Generator().manual_seed(1)
    b, t, k = 3, 11, 2
    h = torch.randn(b, t, body.info.d_model, generator=g)
    mask = None
    if padded:
        mask = torch.ones(b, t, dtype=torch.bool)
        mask[1, 7:] = False
        mask[2, 9:] = False
    idx = last_positions(mask, b, t, k, h.device)
    with torch.no_grad():
        full = torch.gather(body(h, mask), 1, idx[..., None].expand(-1, -1, h.shape[-1]))
        body.read_tokens(k)
        fast = body(h, mask)
        picked = torch.gather(fast, 1, idx[..., None].expand(-1, -1, h.shape[-1]))
    assert torch.allclose(picked, full, atol=1e-5, rtol=1e-4)
    others = torch.ones(b, t, dtype=torch.bool)
    others.scatter_(1, idx, False)
    if name == "tiny-bert":  # BERT's output is the last layer's: the skipped positions are not computed
        assert (fast[others] == 0).all()


def test_gradients_flow_through_the_restricted_layer():
    body = _body("tiny-gpt2").train()
    body.read_tokens(1)
    h = torch.randn(2, 5, body.info.d_model, requires_grad=True)
    w = torch.randn(body.info.d_model)  # a plain sum of a final LayerNorm's output has zero gradient
    with seeded(3, torch.device("cpu")):
        (body(h, None)[:, -1] * w).sum().backward()
    assert h.grad is not None and h.grad.abs().sum() > 0


def test_a_deep_copy_of_a_body_computes_with_its_own_weights():
    """The restricted forward keeps its state on the layer: a copy never reaches back to the original."""
    import copy

    body = _body("tiny-bert").eval()
    body.read_tokens(1)
    twin = copy.deepcopy(body)
    twin.read_tokens(None)
    with torch.no_grad():
        for p in twin.parameters():
            p.mul_(0.5)
    h = torch.randn(2, 5, body.info.d_model)
    with torch.no_grad():
        assert not torch.allclose(twin(h, None)[:, -1], body(h, None)[:, -1])
    # the twin's last layer really is the twin's: changing it changes the twin's output
    before = twin(h, None)[:, -1].detach().clone()
    with torch.no_grad():
        twin.model.encoder.layer[-1].output.dense.weight.zero_()
    assert not torch.allclose(twin(h, None)[:, -1], before)
    assert body.model.encoder.layer[-1].output.dense.weight.abs().sum() > 0
