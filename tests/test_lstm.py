"""The LSTM baseline: the layer-normalised cell computes the reference's recurrence."""

from __future__ import annotations

import pytest
import torch

from benchmark.errors import FptError
from benchmark.model import get_adapter
from benchmark.task import get_task


def _reference_step(layer, x_t, h, c):
    """The authors' LayerNormLSTM.forward for one step, written out from their description:
    per step LN(i2h(x)) + LN(h2h(h)), gates i,f,o sigmoid and g tanh, c = LN(f*c + i*g), h = o*tanh(c);
    their LayerNorm is (x - mean) / sqrt(var_unbiased + 1e-6) * alpha + beta."""

    def ln(mod, v):
        v = (v - v.mean(1, keepdim=True)) / torch.sqrt(v.var(1, keepdim=True) + 1e-6)
        return mod.weight * v + mod.bias

    hd = layer.hidden
    pre = ln(layer.ln_i2h, layer.i2h(x_t)) + ln(layer.ln_h2h, layer.h2h(h))
    gates = pre[:, :3 * hd].sigmoid()
    g = pre[:, 3 * hd:].tanh()
    c = ln(layer.ln_cell, gates[:, hd:2 * hd] * c + gates[:, :hd] * g)
    return gates[:, 2 * hd:] * c.tanh(), c


def test_layer_norm_cell_matches_the_reference_recurrence():
    spec = get_task("bit-xor").spec
    model = get_adapter("lstm", None, hidden=8, layers=2, layer_norm=True).build(spec, 0).eval()
    x = torch.randn(3, 6, 8)
    with torch.no_grad():
        fast = x
        for cell in model.cells:
            fast = cell(fast)
        ref = x
        for cell in model.cells:
            h = torch.zeros(3, 8)
            c = torch.zeros(3, 8)
            outs = []
            for t in range(ref.shape[1]):
                h, c = _reference_step(cell, ref[:, t], h, c)
                outs.append(h)
            ref = torch.stack(outs, 1)
    assert torch.allclose(fast, ref, atol=1e-5)


def test_default_cell_is_fused_and_says_what_it_omits():
    adapter = get_adapter("lstm", None, hidden=8, layers=1)
    model = adapter.build(get_task("bit-xor").spec, 0)
    assert isinstance(model.lstm, torch.nn.LSTM)
    assert "omits" in adapter.info()["cell"]
    assert "per-step" in get_adapter("lstm", None, layer_norm="true").info()["cell"]


def test_layer_norm_lstm_trains():
    spec = get_task("bit-xor").spec
    model = get_adapter("lstm", None, hidden=8, layers=1, layer_norm=True).build(spec, 0)
    x = torch.randn(2, spec.seq_len, spec.input_dim)
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_unknown_options_are_refused():
    with pytest.raises(FptError, match="layer_norm"):
        get_adapter("lstm", None, layernorm=True).build(get_task("bit-xor").spec, 0)
