"""Input layers and the read-out head shared by every adapter, as the paper defines them."""

from __future__ import annotations

import torch
from torch import nn

from benchmark.task import TaskSpec


#: What the input layer is, as recorded in every adapter's metadata (``input_layer``): the reference
#: code's choices, so a reader can check them against the paper's code without reading this file.
INPUT_LAYER_NOTE = {
    "continuous": "Linear(input_dim, d_model), orthogonal init gain 1.41, zero bias, dropout 0.1 (as the FPT code)",
    "tokens": "Embedding(vocab, d_model), init N(0, 1), no dropout (as the FPT code's nn.Embedding defaults); "
    "the pad row is zero and gets no gradient (padding_idx), which only matters where the mask removes it anyway",
}
#: Appended to the note for a continuous input into a body without a learned position table (RoPE).
NO_POSITIONS_BIAS_NOTE = ("; no learned positions (RoPE), so the bias starts at N(0, std of the body's token-embedding "
                          "table) instead of zero: an all-zero input vector would stay exactly zero through a "
                          "bias-free causal RMSNorm decoder, whose backward at zero scales gradients by "
                          "1/sqrt(eps) per layer (non-finite at step 0)")


class InputLayer(nn.Module):
    """The FPT code's input layer.

    Vectors: Linear with orthogonal init (gain 1.41), zero bias, then dropout 0.1. Tokens: an
    ``nn.Embedding`` with torch's default init N(0, 1) and no dropout, because that is what the
    reference ran (``nn.Embedding(input_dim, embedding_size)`` with no dropout after it); GPT-2's own
    std 0.02 would feed the frozen body inputs 50x smaller than the paper's. The pad row (``pad_id``)
    is zero and frozen: with the attention mask and right padding it never reaches a read token.
    """

    def __init__(self, spec: TaskSpec, d_model: int, generator: torch.Generator | None = None, dropout: float = 0.1) -> None:
        super().__init__()
        self.kind = spec.input_kind
        if self.kind == "continuous":
            self.proj: nn.Module = nn.Linear(spec.input_dim, d_model)
            nn.init.orthogonal_(self.proj.weight, gain=1.41, generator=generator)
            nn.init.zeros_(self.proj.bias)
            self.dropout: nn.Module = nn.Dropout(dropout)
        else:
            self.proj = nn.Embedding(spec.input_dim, d_model, padding_idx=spec.pad_id)
            nn.init.normal_(self.proj.weight, mean=0.0, std=1.0, generator=generator)
            if spec.pad_id is not None:
                with torch.no_grad():
                    self.proj.weight[spec.pad_id].zero_()
            self.dropout = nn.Identity()

    def start_bias(self, std: float, generator: torch.Generator | None = None) -> None:
        """Draw the (continuous) input bias from N(0, std) instead of zero, after the weight's init.

        Why: with learned positions (BERT, GPT-2) an all-zero input vector (a 0 bit, a black MNIST patch)
        enters the body as its position vector; a RoPE body adds nothing, and a bias-free causal decoder
        with RMSNorm (Llama, SmolLM2) then keeps the first token exactly zero through every layer, where
        RMSNorm's gradient is 1/sqrt(eps) per layer: 30 layers overflow fp32 on the first backward pass.
        Only such bodies call this, so every other model's initialisation (and run) is unchanged."""
        if self.kind != "continuous":
            return
        with torch.no_grad():
            bias = self.proj.bias
            bias.copy_(torch.randn(bias.shape, generator=generator) * std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.proj(x))


def last_positions(mask: torch.Tensor | None, batch: int, seq_len: int, k: int, device: torch.device) -> torch.Tensor:
    """Indices (B, k) of the last k real tokens: with right padding they end at length-1."""
    if mask is None:
        lengths = torch.full((batch,), seq_len, device=device, dtype=torch.long)
    else:
        lengths = mask.long().sum(dim=1)
    offsets = torch.arange(k - 1, -1, -1, device=device)
    return (lengths[:, None] - 1 - offsets[None, :]).clamp_min(0)


class ReadHead(nn.Module):
    """Linear read-out of the last ``output_tokens`` real tokens -> (B, output_tokens, output_dim)."""

    def __init__(self, spec: TaskSpec, d_model: int) -> None:
        super().__init__()
        self.k = spec.output_tokens
        self.linear = nn.Linear(d_model, spec.output_dim)

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        idx = last_positions(mask, h.shape[0], h.shape[1], self.k, h.device)
        picked = torch.gather(h, 1, idx[..., None].expand(-1, -1, h.shape[-1]))
        return self.linear(picked)
