"""Named freeze presets: the paper's ablations as one option, ``--option preset=NAME``.

Cumulative ablation (in the paper's order; its ablation tables): ``output-only`` -> ``+ln`` -> ``+input``
-> ``+pos`` (which equals the default FPT). Unfreezing more (its Table 13), each on top of the
default FPT: ``+ff``, ``+attn``, ``+both`` (= full finetuning of the body).

Every transformer adapter (``fpt``, ``random-frozen``, ``statistics-only``, ``bit-memory-pretrained``)
accepts ``preset``; it enters the run's options, so it is hashed and recorded with every result.
A preset whose defining step does not exist on a backbone is refused, not silently changed: ``+pos``
on a RoPE model (smollm2-135m, tiny-llama) has nothing to unfreeze. For the other presets a missing
position table is recorded as ``pos: false`` in the effective trainable flags, as for the default FPT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from benchmark.errors import FptError

from .freeze import Trainable

NONE = dict(input=False, pos=False, norm=False, attn=False, ff=False, output=False)


@dataclass(frozen=True)
class Preset:
    name: str
    trainable: Trainable
    adds: str  # the group this preset's step makes trainable ("output" for output-only)
    paper_table: str
    description: str


def _t(**on: bool) -> Trainable:
    return Trainable(**{**NONE, **on})


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("output-only", _t(output=True), "output", "ablation", "only the output layer trains (a reservoir)"),
    Preset("+ln", _t(output=True, norm=True), "norm", "ablation", "output layer and layer norms"),
    Preset("+input", _t(output=True, norm=True, input=True), "input", "ablation", "+ the input layer"),
    Preset("+pos", _t(output=True, norm=True, input=True, pos=True), "pos", "ablation",
           "+ position embeddings (= the default FPT)"),
    Preset("+ff", _t(output=True, norm=True, input=True, pos=True, ff=True), "ff", "table13",
           "default FPT + feed-forward layers"),
    Preset("+attn", _t(output=True, norm=True, input=True, pos=True, attn=True), "attn", "table13",
           "default FPT + self-attention layers"),
    Preset("+both", _t(output=True, norm=True, input=True, pos=True, ff=True, attn=True), "attn+ff", "table13",
           "default FPT + feed-forward and attention (everything)"),
)}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise FptError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None


def preset_trainable(options: Mapping[str, Any], default: Trainable) -> Trainable:
    """The trainable flags named by ``options['preset']`` (or ``default``). A preset and explicit
    ``train_*`` flags together are refused: the recorded preset name would no longer say what trained."""
    if "preset" not in options:
        return default
    explicit = sorted(k for k in options if k.startswith("train_"))
    if explicit:
        raise FptError(f"option preset={options['preset']} cannot be combined with {', '.join(explicit)}; "
                       "use either a preset or train_* flags")
    return get_preset(str(options["preset"])).trainable


def preset_requires_pos(options: Mapping[str, Any]) -> bool:
    """True when the chosen preset's own step is the position table (so a body without one must refuse)."""
    return "preset" in options and get_preset(str(options["preset"])).adds == "pos"
