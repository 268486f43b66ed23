"""The ``ci`` profile: a tiny, fast grid for regression gating (see ``fptbench check``)."""

from __future__ import annotations

from .profiles import Budget, Profile, SuiteEntry, register_profile

register_profile(Profile(
    name="ci",
    description="A tiny, fast grid for regression gating in CI (tiny random and embedded backbones, several seeds).",
    base=Budget(steps=200, batch_size=16, lr=1e-3, eval_every=25, eval_batch_size=256, checkpoint_every=100),
    rules=(("*", "lstm", {"lr": 3e-3}),),
    suite=tuple(SuiteEntry("bit-xor", m, "tiny-gpt2", (0, 1, 2)) for m in ("fpt", "full")),
))
