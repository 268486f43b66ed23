"""The model-adapter plugin API.

An adapter builds an ``nn.Module`` for a task spec and a seed. The module maps a batch's inputs
``(x, mask)`` to logits of shape ``(B, spec.output_tokens, spec.output_dim)``; the harness checks
that shape, counts parameters and owns the training loop, so adapters stay small and comparable.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import Any, ClassVar

from torch import nn

from .errors import FptError
from .registry import Registry
from .task import TaskSpec


BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


@dataclass(frozen=True)
class Option:
    """One declared adapter option: its type, allowed values and range.

    Why: options enter the run's config hash and are shown on every result. Parsed by the adapter
    itself they went wrong silently (``bool("False")`` is True, so ``train_norm=False`` trained the
    norms; a misspelt option became a separate row). Declared, each value is typed once, here, and a
    wrong one is refused in one line before anything is built.
    """

    kind: type  # bool | int | float | str
    help: str = ""
    choices: tuple[Any, ...] = ()
    positive: bool = False  # numbers: > 0

    def parse(self, where: str, value: Any) -> Any:
        v = self._typed(where, value)
        if self.choices and v not in self.choices:
            raise FptError(f"{where}={value!r} is not one of {', '.join(map(str, self.choices))}")
        if self.positive and v <= 0:
            raise FptError(f"{where}={value!r} must be a positive {'integer' if self.kind is int else 'number'}")
        return v

    def _typed(self, where: str, value: Any) -> Any:
        text = value.strip() if isinstance(value, str) else None
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            if text is not None and text.lower() in BOOL_WORDS:
                return BOOL_WORDS[text.lower()]
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            raise FptError(f"{where}={value!r} is not true or false")
        if self.kind is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            try:
                if text is not None:
                    return int(text)
            except ValueError:
                pass
            raise FptError(f"{where}={value!r} is not an integer")
        if self.kind is float:
            v: Any = None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                v = value
            elif text is not None:
                try:
                    v = float(text)
                except ValueError:
                    v = None
            if v is None or not math.isfinite(v):
                raise FptError(f"{where}={value!r} is not a finite number")
            return v
        if not isinstance(value, str):
            raise FptError(f"{where}={value!r} is not text")
        return value


class ModelAdapter(abc.ABC):
    """Base class of a model adapter. Subclass, set the class attributes, implement ``build``."""

    name: ClassVar[str] = ""
    family: ClassVar[str] = ""  # e.g. "frozen-pretrained-transformer", "lstm"
    description: ClassVar[str] = ""
    default_lr: ClassVar[float | None] = None  # overrides the profile's lr unless the profile pins one
    uses_backbone: ClassVar[bool] = True
    default_backbone: ClassVar[str | None] = "minilm-l6"
    #: The options this adapter takes (``--option KEY=VALUE``), typed. None: undeclared (an older
    #: third-party adapter): its options are recorded as given and the adapter checks them itself.
    option_specs: ClassVar[dict[str, Option] | None] = None
    options_note: ClassVar[str] = ""  # appended when an unknown option is refused (e.g. why a flag does not apply)
    # The control models a row of this adapter is compared with (first = the primary one): a pretrained
    # transformer declares the same architecture at random init and the body-free controls, and the
    # leaderboard reports its transfer gain over each. Declared here, never guessed from ``family``.
    controls: ClassVar[tuple[str, ...]] = ()
    #: What ``precision=auto`` times on the CPU for this model (benchmark.precision.Workload); None: a
    #: transformer's matmuls. A model whose time goes elsewhere (the LSTM's recurrence) declares its own.
    precision_workload: ClassVar[Any] = None

    def __init__(self, backbone: str | None = None, **options: Any) -> None:
        self.backbone = (backbone or self.default_backbone) if self.uses_backbone else None
        self.options = self.check_options(options)

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Options typed by the declarations; unknown names refused with the list of known ones."""
        if cls.option_specs is None:
            return dict(options)
        name = cls.name or cls.__name__
        unknown = sorted(set(options) - set(cls.option_specs))
        if unknown:
            known = ", ".join(sorted(cls.option_specs)) or "none"
            note = f" ({cls.options_note})" if cls.options_note else ""
            raise FptError(f"unknown option {unknown[0]!r} for model '{name}'{note}; its options are: {known}")
        return {k: cls.option_specs[k].parse(f"model '{name}' option {k}", v) for k, v in options.items()}

    @abc.abstractmethod
    def build(self, spec: TaskSpec, seed: int) -> nn.Module:
        """Return a fresh module for ``spec``. The harness calls this under an RNG forked and seeded
        with ``seed``; use ``seed`` for any generator of your own."""

    def resolve_backbone(self) -> str:
        """Pin the backbone down before the run is named: normalise ``self.backbone`` and return its
        identity (e.g. ``sha256:...`` of a folder's config and weights), which the run id then depends
        on. "" when the backbone's name already pins its weights (registered, versioned backbones)."""
        return ""

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
