"""Adapters: exact trainable groups by module type, LSTM shape, parameter counting by the harness."""

from __future__ import annotations

import pytest
import torch

from baselines.backbones import get_backbone
from benchmark.errors import FptError
from benchmark.model import get_adapter
from benchmark.trainer import count_params, seeded
from tasks.bits import BitMemory, BitXor


@pytest.mark.parametrize("backbone", ["tiny-bert", "tiny-gpt2", "tiny-llama"])
def test_every_body_parameter_has_a_group(backbone):
    body = get_backbone(backbone).build(pretrained=False)
    groups = body.param_groups()
    assert set(groups) == {n for n, _ in body.named_parameters()}
    assert {"attn", "ff", "norm", "embed"} <= set(groups.values())


def _trainable(model) -> set[str]:
    return {n for n, p in model.named_parameters() if p.requires_grad}


def test_fpt_trains_exactly_input_output_norms_positions_on_gpt2():
    adapter = get_adapter("fpt", "tiny-gpt2")
    model = adapter.build(BitXor.spec, 0)
    names = _trainable(model)
    expected = {n for n, _ in model.named_parameters()
                if n.startswith(("input.", "head.")) or n == "body.model.wpe.weight"
                or ".ln_" in n or n.startswith("body.model.ln_f")}
    assert names == expected
    assert not any(".attn." in n or ".mlp." in n for n in names)


def test_fpt_on_bert_freezes_attention_output_dense_but_trains_its_layernorm():
    model = get_adapter("fpt", "tiny-bert").build(BitXor.spec, 0)
    names = _trainable(model)
    assert "body.model.encoder.layer.0.attention.output.LayerNorm.weight" in names
    assert "body.model.encoder.layer.0.attention.output.dense.weight" not in names
    assert "body.model.encoder.layer.0.output.dense.weight" not in names
    assert "body.model.embeddings.position_embeddings.weight" in names
    assert "body.model.embeddings.word_embeddings.weight" not in names


def test_fpt_on_a_rope_backbone_records_positions_as_not_applicable_but_an_explicit_flag_is_refused():
    adapter = get_adapter("fpt", "tiny-llama")
    adapter.build(BitXor.spec, 0)
    assert adapter.info()["trainable"]["pos"] is False
    with pytest.raises(FptError, match="no learned position embeddings"):
        get_adapter("fpt", "tiny-llama", train_pos=True).build(BitXor.spec, 0)


def test_full_trains_everything_but_unused_token_tables_and_random_frozen_matches_fpt_groups():
    full = get_adapter("full", "tiny-gpt2").build(BitXor.spec, 0)
    assert _trainable(full) == {n for n, _ in full.named_parameters()} - {"body.model.wte.weight"}
    fpt = get_adapter("fpt", "tiny-gpt2").build(BitXor.spec, 0)
    rnd = get_adapter("random-frozen", "tiny-gpt2").build(BitXor.spec, 0)
    assert _trainable(fpt) == _trainable(rnd)


def test_named_flags_switch_groups():
    model = get_adapter("fpt", "tiny-gpt2", train_norm=False, train_input=False).build(BitXor.spec, 0)
    names = _trainable(model)
    assert not any(".ln_" in n or n.startswith("input.") for n in names)
    assert "body.model.wpe.weight" in names


def test_parameter_counts_come_from_the_harness():
    model = get_adapter("fpt", "tiny-gpt2").build(BitMemory.spec, 0)
    total, trainable = count_params(model)
    assert total == sum(p.numel() for p in model.parameters())
    assert trainable == sum(p.numel() for n, p in model.named_parameters() if n in _trainable(model))


def test_lstm_output_shape_and_zero_initial_state_is_deterministic():
    adapter = get_adapter("lstm", None, hidden=16)
    with seeded(0, torch.device("cpu")):
        model = adapter.build(BitMemory.spec, 0)
    model.eval()
    x = torch.randn(3, 120, 50)
    out = model(x)
    assert out.shape == (3, 20, 100)
    assert torch.equal(out, model(x))  # no fresh noise in the initial state


def test_same_seed_same_init():
    with seeded(5, torch.device("cpu")):
        a = get_adapter("random-frozen", "tiny-bert").build(BitXor.spec, 5)
    with seeded(5, torch.device("cpu")):
        b = get_adapter("random-frozen", "tiny-bert").build(BitXor.spec, 5)
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(pa, pb), na


def test_input_layer_orthogonal_init():
    model = get_adapter("fpt", "tiny-gpt2").build(BitMemory.spec, 0)
    w = model.input.proj.weight  # (d_model=32, 50): orthogonal columns... rows of W^T
    gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    assert torch.allclose(gram, 1.41**2 * torch.eye(gram.shape[0]), atol=1e-4)
    assert torch.count_nonzero(model.input.proj.bias) == 0


def test_extend_positions_is_explicit_and_tiles_the_pretrained_table():
    from dataclasses import replace as dc_replace


    long_spec = dc_replace(BitXor.spec, seq_len=3000)
    with pytest.raises(FptError, match="extend_positions=true"):
        get_adapter("fpt", "tiny-bert").build(long_spec, 0)
    adapter = get_adapter("fpt", "tiny-bert", extend_positions=True)
    model = adapter.build(long_spec, 0)
    table = model.body.model.embeddings.position_embeddings.weight
    assert table.shape[0] == 3000 and table.requires_grad
    assert torch.equal(table[2048], table[0])
    assert adapter.info()["positions_extended_from"] == 2048
    out = model(torch.randn(2, 2100, 1), None)
    assert out.shape == (2, 5, 2)


def test_unknown_train_flag_is_refused():
    with pytest.raises(FptError, match="unknown option"):
        get_adapter("fpt", "tiny-gpt2", train_attention=True).build(BitXor.spec, 0)
