"""Transformer adapters: FPT (frozen pretrained), full finetuning, random-frozen, and from scratch.

One module, ``TransferModel``: input layer -> body -> read-out head. The adapters differ only in
whether the body is pretrained and which parameter groups train:

=================  ==========  ====================  =============================================
adapter            body init   trains                what it is
=================  ==========  ====================  =============================================
``fpt``            pretrained  input, output, norms,  the paper's Frozen Pretrained Transformer
                               positions
``full``           pretrained  everything            pretrained then finetuned (a row of its own;
                                                     NOT the paper's Table 1 "Full")
``random-frozen``  random      as ``fpt``            Table 2 / 6 "random init"
``random-full``    random      everything            trained from scratch: the paper's Table 1
                                                     "Full" kind (a transformer trained from
                                                     scratch, as LRA and TAPE report)
=================  ==========  ====================  =============================================
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from benchmark.errors import FptError
from benchmark.model import ModelAdapter, Option, register_model
from benchmark.task import TaskSpec

from .backbones import get_backbone
from .body import Body
from .freeze import EVERYTHING, FPT_DEFAULT, Trainable, apply_trainable, set_trainable
from .layers import INPUT_LAYER_NOTE, NO_POSITIONS_BIAS_NOTE, InputLayer, ReadHead
from .presets import PRESETS, preset_requires_pos, preset_trainable


class TransferModel(nn.Module):
    """nanoGPT-style: one readable forward pass, no hidden state."""

    def __init__(self, spec: TaskSpec, body: Body, generator: torch.Generator) -> None:
        super().__init__()
        body.check_length(spec.seq_len)
        self.input = InputLayer(spec, body.info.d_model, generator)
        self.input_bias_std = body.input_bias_std()  # None: a learned position table (or none needed)
        if self.input_bias_std is not None:
            self.input.start_bias(self.input_bias_std, generator)
        self.body = body
        self.head = ReadHead(spec, body.info.d_model)
        body.read_tokens(spec.output_tokens)  # last layer only where the head reads (baselines/hf_bodies.py)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.body(self.input(x), mask), mask)


class TransformerAdapter(ModelAdapter):
    """Shared build logic; subclasses choose pretrained weights and trainable groups."""

    pretrained: ClassVar[bool] = True
    trainable: ClassVar[Trainable] = FPT_DEFAULT
    #: How reports name the kind of model (the Table 1 column it belongs to); recorded in ``info()``.
    kind_label: ClassVar[str] = ""
    strict_pos: ClassVar[bool] = False  # explicit presets refuse inapplicable flags; defaults adapt
    option_specs: ClassVar[dict[str, Option] | None] = {
        **{f"train_{g}": Option(bool, f"train the {g} parameters (overrides the default)") for g in Trainable().to_dict()},
        "preset": Option(str, "a named freeze preset (baselines/presets.py)", choices=tuple(PRESETS)),
        "extend_positions": Option(bool, "extend the position table to the task's sequence length"),
    }

    def flags(self) -> Trainable:
        base = preset_trainable(self.options, self.trainable)  # option preset=NAME (baselines/presets.py)
        overrides = {k: bool(v) for k, v in self.options.items() if k.startswith("train_")}
        unknown = set(overrides) - {f"train_{f}" for f in Trainable().to_dict()}
        if unknown:
            raise FptError(f"model '{self.name}': unknown option(s) {sorted(unknown)}; flags are "
                           f"{', '.join('train_' + f for f in Trainable().to_dict())}")
        fields = {k[len("train_"):]: v for k, v in overrides.items()}
        return Trainable(**{**base.to_dict(), **fields})

    def resolve_backbone(self) -> str:
        """A folder or ``hf:`` backbone: its absolute folder / id as the name, its content hash as identity."""
        backbone = get_backbone(self.backbone)
        self.backbone = backbone.name  # a folder by its absolute path, so a resumed run finds it again
        return backbone.identity

    def make_body(self, seed: int) -> Body:
        """The body before freezing; subclasses change where its weights come from (statistics-only, ...)."""
        backbone = get_backbone(self.backbone)
        expected = getattr(self, "expected_backbone_id", "")
        if expected and backbone.identity != expected:  # e.g. a folder's weights changed between plan and (re)run
            raise FptError(f"backbone '{self.backbone}' now hashes to {backbone.identity[:19]}..., not the "
                           f"{expected[:19]}... its run id was made from; rerun the command to plan a new run")
        return backbone.build(pretrained=self.pretrained)

    def build(self, spec: TaskSpec, seed: int) -> nn.Module:
        body = self.make_body(seed)
        if self.options.get("extend_positions"):
            body.extend_positions(spec.seq_len)
        g = torch.Generator().manual_seed(seed)
        model = TransferModel(spec, body, g)
        flags = self.flags()
        self.effective_trainable = apply_trainable(body, flags, strict_pos=self.strict_pos or "train_pos" in self.options
                                               or preset_requires_pos(self.options))
        set_trainable(model.input, flags.input)
        set_trainable(model.head, flags.output)
        self.body_info = body.info
        self.input_kind = spec.input_kind
        self.bias_std = model.input_bias_std
        return model

    def info(self) -> dict[str, Any]:
        out = super().info()
        out["trainable"] = getattr(self, "effective_trainable", self.flags().to_dict())
        out["pretrained"] = self.pretrained
        if self.kind_label:
            out["kind_label"] = self.kind_label
        if hasattr(self, "input_kind"):
            out["input_layer"] = INPUT_LAYER_NOTE[self.input_kind] + (
                NO_POSITIONS_BIAS_NOTE if self.input_kind == "continuous" and getattr(self, "bias_std", None) is not None else "")
        if hasattr(self, "body_info"):
            out["pretrained_on"] = self.body_info.pretrained_on
            out["stand_in_for"] = self.body_info.stand_in_for
            out["weights"] = self.body_info.weights
            if self.body_info.max_positions is None:  # RoPE: the recipe's "train positions" has nothing to train
                out["positions"] = ("nothing to train: rotary (RoPE), computed from the position, no parameters; "
                                    "the FPT recipe's position step is recorded as trainable pos=false")
            out.update(self.body_info.extra)
        return out


@register_model("fpt")
class FPT(TransformerAdapter):
    family = "frozen-pretrained-transformer"
    controls = ("random-frozen", "no-body", "one-attention")  # same architecture random and frozen, then no body
    description = "Frozen pretrained transformer: attention and feed-forward frozen; input, output, norms, positions train."
    kind_label = "frozen pretrained"


@register_model("full")
class Full(TransformerAdapter):
    family = "finetuned-pretrained-transformer"
    controls = ("random-full", "no-body", "one-attention")  # same architecture from scratch, then no body
    description = ("The same pretrained transformer with nothing frozen (pretrained, then finetuned). Not the paper's "
                   "Table 1 'Full', which is trained from scratch: that is 'random-full'.")
    trainable = EVERYTHING
    kind_label = "pretrained + finetuned"


@register_model("random-frozen")
class RandomFrozen(TransformerAdapter):
    family = "frozen-random-transformer"
    description = "Same architecture, random init, frozen like FPT (isolates what pretraining contributes)."
    pretrained = False
    kind_label = "random init, frozen"


@register_model("random-full")
class RandomFull(RandomFrozen):
    """The paper's Table 1 "Full" kind: a transformer trained from scratch, nothing frozen.

    The paper's Full numbers come from other people's from-scratch transformers (LRA's for ListOps and
    CIFAR-10 LRA, TAPE's for homology, a 3-layer transformer for CIFAR-10); here the architecture is
    the run's backbone (random init), so the comparison isolates training from scratch, not size.
    The bit-memory pretraining of ``bit-memory-pretrained`` is also a ``random-full`` run.
    """

    family = "scratch-transformer"
    description = ("Same architecture, random init, everything trained: a transformer trained from scratch (the kind of "
                   "model behind the paper's Table 1 'Full' column).")
    trainable = EVERYTHING
    kind_label = "from scratch"

    def build(self, spec: TaskSpec, seed: int) -> nn.Module:
        model = super().build(spec, seed)
        self.built_model = model  # the trainer restores the best weights into this module before testing
        return model

    def info(self) -> dict[str, Any]:
        out = super().info()
        out["from_scratch"] = True
        if "pretrained_on" in out:
            out["pretrained_on"] = "nothing (random init, trained from scratch)"
        return out
