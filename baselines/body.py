"""The backbone interface every adapter builds on: a transformer body over input embeddings.

A body maps (B, T, d_model) embeddings and a padding mask to hidden states, and sorts each of its
parameters into a named group (attn, ff, norm, pos, embed) by *module type*, so freezing is exact
and never depends on substrings of parameter names (a flaw of the reference code).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from benchmark.errors import FptError

GROUPS = ("attn", "ff", "norm", "pos", "embed")


@dataclass(frozen=True)
class BodyInfo:
    """What an adapter needs to know about a body, and what results record about it."""

    backbone: str
    family: str  # architecture family: bert, gpt2, llama, dinov2, ...
    d_model: int
    n_layers: int
    max_positions: int | None  # None: no learned position table (e.g. RoPE)
    pretrained_on: str  # "language", "images", "nothing (random init)", ...
    weights: str  # where the weights came from (package path, hub id, "random init seed N")
    stand_in_for: str = ""  # e.g. "gpt2 (paper)" when a smaller model replaces the paper's
    license: str = ""
    extra: dict = field(default_factory=dict)


class Body(nn.Module):
    """Base class: subclasses set ``info`` and ``group_rules`` and implement ``forward``."""

    info: BodyInfo
    # (module class, group): a parameter belongs to the group of its innermost matching module.
    group_rules: tuple[tuple[type, str], ...] = ()
    # parameter names (exact) that are position tables
    position_params: tuple[str, ...] = ()
    # parameter names (exact) that are token/type embedding tables, unused with inputs_embeds
    embed_params: tuple[str, ...] = ()

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def param_groups(self) -> dict[str, str]:
        """Parameter name -> group, for every parameter; an unclassified parameter is a bug."""
        module_group: dict[str, str] = {}
        for mname, module in self.named_modules():
            for cls, group in self.group_rules:
                if isinstance(module, cls):
                    module_group[mname] = group
                    break
        out: dict[str, str] = {}
        for pname, _ in self.named_parameters():
            if pname in self.position_params:
                out[pname] = "pos"
                continue
            if pname in self.embed_params:
                out[pname] = "embed"
                continue
            parts = pname.split(".")[:-1]
            group = None
            for i in range(len(parts), -1, -1):  # innermost module first
                prefix = ".".join(parts[:i])
                if prefix in module_group:
                    group = module_group[prefix]
                    break
            if group is None:
                raise FptError(f"backbone '{self.info.backbone}': parameter '{pname}' has no group; extend group_rules")
            out[pname] = group
        return out

    def read_tokens(self, k: int | None) -> None:
        """Tell the body that only the last ``k`` real positions of its output are read (None: all).

        Bodies that can, compute their last layer only there (see hf_bodies.py); the output is then
        valid at those positions only. The default computes everything, which is always correct.
        """

    def check_length(self, seq_len: int) -> None:
        if self.info.max_positions is not None and seq_len > self.info.max_positions:
            raise FptError(
                f"task sequence length {seq_len} exceeds backbone '{self.info.backbone}' with "
                f"{self.info.max_positions} positions; pick a backbone with more positions (e.g. gpt2) "
                "or pass --option extend_positions=true"
            )

    def input_bias_std(self) -> float | None:
        """None, or the std an adapter's continuous input bias should start from (see
        ``InputLayer.start_bias``): bodies whose all-zero input would stay exactly zero say so."""
        return None

    def position_table(self) -> nn.Embedding | None:
        """The learned position table module (None for bodies without one)."""
        if not self.position_params:
            return None
        path = self.position_params[0].rsplit(".", 1)[0]
        return self.get_submodule(path)  # type: ignore[return-value]

    def extend_positions(self, n: int) -> None:
        """Grow the position table to ``n`` rows by tiling the pretrained rows (row i <- row i mod old).

        An explicit, recorded adapter option (``extend_positions``), never applied silently: the
        extra positions are not pretrained, which matters for a transfer study.
        """
        import dataclasses

        table = self.position_table()
        if table is None or self.info.max_positions is None:
            raise FptError(f"backbone '{self.info.backbone}' has no learned position table to extend")
        old = table.weight.data
        if n <= old.shape[0]:
            return
        new = nn.Embedding(n, old.shape[1]).to(old.device, old.dtype)
        new.weight.data.copy_(old[torch.arange(n) % old.shape[0]])
        parent_path, attr = self.position_params[0].rsplit(".", 1)[0].rsplit(".", 1)
        parent = self.get_submodule(parent_path)
        setattr(parent, attr, new)
        for buf in ("position_ids", "token_type_ids"):  # BERT slices these buffers by length
            if hasattr(parent, buf):
                fill = torch.arange(n) if buf == "position_ids" else torch.zeros(n, dtype=torch.long)
                parent.register_buffer(buf, fill.expand(1, -1).to(old.device), persistent=False)
        self.info = dataclasses.replace(self.info, max_positions=n,
                                        extra={**self.info.extra, "positions_extended_from": int(old.shape[0])})
