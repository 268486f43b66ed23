"""Ablation presets: each preset's exact trainable parameter set (names and counts), and refusals."""

from __future__ import annotations

import pytest
import torch

from benchmark.errors import FptError
from benchmark.model import get_adapter
from benchmark.task import get_task

LAYERS = (0, 1)
# tiny-gpt2 (d=32, 2 layers, 2048 positions), parameter names inside TransferModel, by group.
GPT2 = {
    "input": ["input.proj.weight", "input.proj.bias"],
    "output": ["head.linear.weight", "head.linear.bias"],
    "norm": [f"body.model.h.{i}.{ln}.{p}" for i in LAYERS for ln in ("ln_1", "ln_2") for p in ("weight", "bias")]
    + ["body.model.ln_f.weight", "body.model.ln_f.bias"],
    "pos": ["body.model.wpe.weight"],
    "attn": [f"body.model.h.{i}.attn.{m}.{p}" for i in LAYERS for m in ("c_attn", "c_proj") for p in ("weight", "bias")],
    "ff": [f"body.model.h.{i}.mlp.{m}.{p}" for i in LAYERS for m in ("c_fc", "c_proj") for p in ("weight", "bias")],
}
BERT = {
    "input": GPT2["input"],
    "output": GPT2["output"],
    "norm": ["body.model.embeddings.LayerNorm.weight", "body.model.embeddings.LayerNorm.bias"]
    + [f"body.model.encoder.layer.{i}.{m}.LayerNorm.{p}" for i in LAYERS for m in ("attention.output", "output")
       for p in ("weight", "bias")],
    "pos": ["body.model.embeddings.position_embeddings.weight"],
    "attn": [f"body.model.encoder.layer.{i}.attention.{m}.{p}" for i in LAYERS
             for m in ("self.query", "self.key", "self.value", "output.dense") for p in ("weight", "bias")],
    "ff": [f"body.model.encoder.layer.{i}.{m}.dense.{p}" for i in LAYERS for m in ("intermediate", "output")
           for p in ("weight", "bias")],
}
PRESET_GROUPS = {
    "output-only": ("output",),
    "+ln": ("output", "norm"),
    "+input": ("output", "norm", "input"),
    "+pos": ("output", "norm", "input", "pos"),
    "+ff": ("output", "norm", "input", "pos", "ff"),
    "+attn": ("output", "norm", "input", "pos", "attn"),
    "+both": ("output", "norm", "input", "pos", "ff", "attn"),
}
# Trainable counts on bit-xor (input_dim 1, output_dim 2), worked out by hand from the configs:
# output 32*2+2=66; norms 10 LayerNorms x 64 = 320 (gpt2: 2x2 + ln_f; bert: embeddings + 2x2); input 32+32=64;
# pos 2048*32=65536; gpt2 attn 2*(32*96+96 + 32*32+32)=8448, ff 2*(32*128+128 + 128*32+32)=16704;
# bert attn 2*4*(32*32+32)=8448, ff 2*(32*64+64 + 64*32+32)=8384.
COUNTS = {
    "tiny-gpt2": {"output-only": 66, "+ln": 386, "+input": 450, "+pos": 65986, "+ff": 82690, "+attn": 74434,
                  "+both": 91138},
    "tiny-bert": {"output-only": 66, "+ln": 386, "+input": 450, "+pos": 65986, "+ff": 74370, "+attn": 74434,
                  "+both": 82818},
}


def trainable(model: torch.nn.Module) -> dict[str, int]:
    return {n: p.numel() for n, p in model.named_parameters() if p.requires_grad}


@pytest.mark.parametrize("backbone,names", [("tiny-gpt2", GPT2), ("tiny-bert", BERT)])
@pytest.mark.parametrize("preset", list(PRESET_GROUPS))
@pytest.mark.parametrize("model_name", ["fpt", "random-frozen"])
def test_preset_trainable_set_is_exact(backbone, names, preset, model_name):
    spec = get_task("bit-xor").spec
    adapter = get_adapter(model_name, backbone, preset=preset)
    got = trainable(adapter.build(spec, seed=0))
    want = sorted(n for g in PRESET_GROUPS[preset] for n in names[g])
    assert sorted(got) == want
    assert sum(got.values()) == COUNTS[backbone][preset]
    info = adapter.info()
    assert info["options"] == {"preset": preset}
    assert [g for g, on in info["trainable"].items() if on] == [g for g in ("input", "pos", "norm", "attn", "ff", "output")
                                                               if g in PRESET_GROUPS[preset]]


def test_pos_preset_equals_default_fpt_and_both_equals_full():
    spec = get_task("bit-xor").spec
    assert trainable(get_adapter("fpt", "tiny-gpt2", preset="+pos").build(spec, 0)) == \
        trainable(get_adapter("fpt", "tiny-gpt2").build(spec, 0))
    assert trainable(get_adapter("fpt", "tiny-gpt2", preset="+both").build(spec, 0)).keys() == \
        {n for n, c in trainable(get_adapter("full", "tiny-gpt2").build(spec, 0)).items()}


def test_pos_preset_refused_without_learned_positions():
    spec = get_task("bit-xor").spec
    with pytest.raises(FptError, match="no learned position embeddings"):
        get_adapter("fpt", "tiny-llama", preset="+pos").build(spec, 0)
    with pytest.raises(FptError, match="no learned position embeddings"):
        get_adapter("random-frozen", "tiny-llama", preset="+pos").build(spec, 0)


def test_other_presets_on_rope_model_record_pos_not_applicable():
    spec = get_task("bit-xor").spec
    adapter = get_adapter("fpt", "tiny-llama", preset="+ff")
    adapter.build(spec, 0)
    assert adapter.info()["trainable"]["pos"] is False
    assert adapter.info()["trainable"]["ff"] is True


def test_unknown_preset_and_mixing_with_train_flags_are_refused():
    spec = get_task("bit-xor").spec
    with pytest.raises(FptError, match="preset='\\+layernorm' is not one of.*output-only"):
        get_adapter("fpt", "tiny-gpt2", preset="+layernorm")  # refused when the adapter is made, before any build
    with pytest.raises(FptError, match="cannot be combined with train_attn"):
        get_adapter("fpt", "tiny-gpt2", preset="+ln", train_attn=True).build(spec, 0)


def test_preset_is_recorded_in_results(tiny_run):
    import json

    from benchmark.results import read_table

    cfg, status, out = tiny_run(model="fpt", steps=2, options={"preset": "+ln"})
    assert status == "finished"
    runs = read_table([out], "runs")
    assert json.loads(runs.config.iloc[0])["model_options"] == {"preset": "+ln"}
    assert int(runs.n_params_trainable.iloc[0]) == COUNTS["tiny-gpt2"]["+ln"]
