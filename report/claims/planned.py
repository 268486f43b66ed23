"""Which backbones the claims are checked on beyond those with runs: the ones registered profiles plan.

A profile added for a new backbone (``benchmark/profile_converge_smollm2.py``) makes every claims output
show that backbone beside the others, open with the reason "no runs" until its runs are in; nothing here
names a backbone.
"""

from __future__ import annotations

from .evidence import IMAGE_BACKBONES, order_profiles


def planned_backbones() -> dict[str, tuple[str, ...]]:
    """Language backbones the registered CPU profiles run FPT on (backbone -> those profiles), read from
    their suites: a profile added for a new backbone makes the claims show that backbone (open, "no runs",
    until its runs are in). GPU profiles (``device="cuda"``) are left out: their backbone (GPT-2) is the
    paper's own, not a CPU stand-in, and a CPU results directory never holds it. Image backbones are the
    modality claim's rows, never a claims column."""
    from benchmark.profiles import PROFILES, get_profile

    out: dict[str, list[str]] = {}
    for name in PROFILES.names():
        profile = get_profile(name)
        if profile.device == "cuda":
            continue
        for e in profile.suite:
            if e.model == "fpt" and e.backbone and e.backbone not in IMAGE_BACKBONES:
                out.setdefault(e.backbone, [])
                if name not in out[e.backbone]:
                    out[e.backbone].append(name)
    return {b: order_profiles(p) for b, p in out.items()}
