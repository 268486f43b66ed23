"""The one builder of ``fptbench run`` command lines: what a report, claim or leaderboard prints to fill a gap.

Why one: a printed command must give the very run (same config hash) the reader is missing, so the
mapping from a budget change or a model option to a CLI flag lives here and nowhere else. Budget
changes map to flags as the CLI reads them: ``steps`` -> ``--max-steps``, any other field ->
``--budget k=v``; model options -> ``--option k=v``. Every token is shell-quoted when it needs it.
"""

from __future__ import annotations

import json
import shlex
from typing import Any, Mapping, Sequence


def _value(v: Any) -> str:
    """An option or budget value as the CLI parses it back: strings bare, everything else as JSON."""
    return v if isinstance(v, str) else json.dumps(v)


def run_command(task: str, model: str, profile: str, seeds: Sequence[int] = (0,), *, backbone: str | None = None,
                options: Mapping[str, Any] | None = None, budget: Mapping[str, Any] | None = None,
                results: str | None = None) -> str:
    """``fptbench run ...`` for one seed, or a shell loop over ``seeds``.

    ``backbone`` None or "none": no ``--backbone`` (backbone-free models). ``budget``: fields that differ
    from the profile's budget (as ``benchmark.runview.budget_changes`` gives them), sorted by name.
    """
    parts = ["fptbench", "run", "--task", task, "--model", model]
    if backbone and backbone != "none":
        parts += ["--backbone", backbone]
    parts += ["--profile", profile]
    for k, v in (options or {}).items():
        parts += ["--option", f"{k}={_value(v)}"]
    for k, v in sorted((budget or {}).items()):
        parts += ["--max-steps", str(v)] if k == "steps" else ["--budget", f"{k}={_value(v)}"]
    if results:
        parts += ["--results", results]
    cmd = " ".join(shlex.quote(p) for p in parts)
    seed_list = list(seeds) or [0]
    if len(seed_list) == 1:
        return f"{cmd} --seed {seed_list[0]}"
    return f"for s in {' '.join(map(str, seed_list))}; do {cmd} --seed $s; done"
