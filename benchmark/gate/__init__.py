"""The CI regression gate: compare fresh results with a committed reference (``fptbench check``).

``compare`` holds the statistics (pure functions on result frames, unit-testable without
training), ``reference`` loads and regenerates references, ``table`` renders the verdicts.
"""

from .compare import (EXIT_NOT_COMPARABLE, EXIT_OK, EXIT_REGRESSION, GateConfig, GateReport, KeyVerdict,
                      NotComparable, compare_frames)

__all__ = ["EXIT_NOT_COMPARABLE", "EXIT_OK", "EXIT_REGRESSION", "GateConfig", "GateReport", "KeyVerdict",
           "NotComparable", "compare_frames"]
