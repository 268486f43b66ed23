"""Which parts of a transformer-based model train: named flags, applied by parameter group.

The paper's default FPT trains the input layer, output layer, norms and position embeddings and
freezes attention and feed-forward weights. Flags are explicit booleans (the reference parsed
``type=bool`` flags, so ``--freeze_attn False`` meant True) applied to the body's typed groups.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from torch import nn

from benchmark.errors import FptError

from .body import Body


@dataclass(frozen=True)
class Trainable:
    input: bool = True
    pos: bool = True
    norm: bool = True
    attn: bool = False
    ff: bool = False
    output: bool = True

    def to_dict(self) -> dict[str, bool]:
        return asdict(self)


FPT_DEFAULT = Trainable()
EVERYTHING = Trainable(attn=True, ff=True)


def apply_trainable(body: Body, flags: Trainable, *, strict_pos: bool) -> dict[str, bool]:
    """Set requires_grad on ``body`` from ``flags``; returns the flags actually in force.

    A body without learned positions cannot train them: with ``strict_pos`` that is an error
    (an explicit preset asked for it), otherwise the flag is recorded as not applicable.
    """
    effective = flags.to_dict()
    if flags.pos and body.info.max_positions is None:
        if strict_pos:
            raise FptError(
                f"backbone '{body.info.backbone}' has no learned position embeddings, so 'pos' cannot be trained; "
                "choose a preset without +pos"
            )
        effective["pos"] = False
    groups = body.param_groups()
    for name, param in body.named_parameters():
        group = groups[name]
        param.requires_grad_(group != "embed" and bool(effective.get(group, False)))
    return effective


def set_trainable(module: nn.Module, on: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(on)
