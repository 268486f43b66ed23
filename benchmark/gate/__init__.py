"""The CI regression gate: compare fresh results with a committed reference (``fptbench check``).

``compare`` holds the statistics (pure functions on result frames, unit-testable without
training), ``reference`` loads and regenerates references, ``table`` renders the verdicts.
The names below load ``compare`` (pandas) on first use, so profiles can import ``gate.settings``
and ``fptbench --help`` stays free of pandas and torch.
"""

from __future__ import annotations

import importlib

__all__ = ["EXIT_MISSING", "EXIT_NOT_COMPARABLE", "EXIT_OK", "EXIT_REGRESSION", "GateConfig", "GateReport",
           "KeyVerdict", "NotComparable", "compare_frames"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module(".compare", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
