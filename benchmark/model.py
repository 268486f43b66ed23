"""The model-adapter plugin API.

An adapter builds an ``nn.Module`` for a task spec and a seed. The module maps a batch's inputs
``(x, mask)`` to logits of shape ``(B, spec.output_tokens, spec.output_dim)``; the harness checks
that shape, counts parameters and owns the training loop, so adapters stay small and comparable.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from torch import nn

from .errors import FptError
from .registry import Registry
from .task import TaskSpec


class ModelAdapter(abc.ABC):
    """Base class of a model adapter. Subclass, set the class attributes, implement ``build``."""

    name: ClassVar[str] = ""
    family: ClassVar[str] = ""  # e.g. "frozen-pretrained-transformer", "lstm"
    description: ClassVar[str] = ""
    default_lr: ClassVar[float | None] = None  # overrides the profile's lr unless the profile pins one
    uses_backbone: ClassVar[bool] = True
    default_backbone: ClassVar[str | None] = "minilm-l6"
    # The control models a row of this adapter is compared with (first = the primary one): a pretrained
    # transformer declares the same architecture at random init and the body-free controls, and the
    # leaderboard reports its transfer gain over each. Declared here, never guessed from ``family``.
    controls: ClassVar[tuple[str, ...]] = ()

    def __init__(self, backbone: str | None = None, **options: Any) -> None:
        self.backbone = (backbone or self.default_backbone) if self.uses_backbone else None
        self.options = dict(options)

    @abc.abstractmethod
    def build(self, spec: TaskSpec, seed: int) -> nn.Module:
        """Return a fresh module for ``spec``. The harness calls this under an RNG forked and seeded
        with ``seed``; use ``seed`` for any generator of your own."""

    def info(self) -> dict[str, Any]:
        """Metadata recorded with every result and shown on the leaderboard."""
        return {
            "model": self.name,
            "model_family": self.family,
            "backbone": self.backbone or "none",
            "description": self.description,
            "options": self.options,
        }


MODELS: Registry[type[ModelAdapter]] = Registry("model", "fptbench.models", declared_builtins=True, of=ModelAdapter)


def register_model(name: str):
    """Class decorator: ``@register_model("fpt")`` (sets ``cls.name`` if it is empty)."""

    def deco(cls: type[ModelAdapter]) -> type[ModelAdapter]:
        if not cls.name:
            cls.name = name
        MODELS.add(name, cls)
        return cls

    return deco


def get_adapter(name: str, backbone: str | None = None, **options: Any) -> ModelAdapter:
    cls = MODELS.get(name)  # the registry checked it is a ModelAdapter subclass
    if not cls.name:
        cls.name = name
    if backbone is not None and not cls.uses_backbone:
        raise FptError(f"model '{name}' takes no backbone; drop --backbone {backbone}")
    return cls(backbone=backbone, **options)
