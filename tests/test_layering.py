"""The layers of the design card, checked on the source: which folder may import which.

benchmark/ (the harness core) names no task, model or report module; tasks/ and baselines/ know only
the core; report/ reads results and finds specs through registries (it may use the core only). The
command-line packages of a layer (``<layer>/commands``) sit on top and may import anything.
Checked statically (every ``import`` statement, including ones inside functions), so a lazy import
cannot hide a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("benchmark", "tasks", "baselines", "report")
ALLOWED = {
    "benchmark": {"benchmark"},
    "tasks": {"benchmark", "tasks"},
    "baselines": {"benchmark", "baselines"},
    "report": {"benchmark", "report"},
}


def imported_layers(path: Path, root: Path = ROOT) -> set[str]:
    """Top-level project packages a module imports (absolute imports and relative ones resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = path.relative_to(root).parts[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add(package if node.level else (node.module or "").split(".")[0])
    return found & set(LAYERS)


def layer_modules(layer: str) -> list[Path]:
    return [p for p in sorted((ROOT / layer).rglob("*.py")) if "commands" not in p.relative_to(ROOT).parts]


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_what_it_may(layer: str) -> None:
    bad = []
    for path in layer_modules(layer):
        extra = imported_layers(path) - ALLOWED[layer]
        if extra:
            bad.append(f"{path.relative_to(ROOT)} imports {sorted(extra)}")
    assert not bad, f"{layer}/ may import only {sorted(ALLOWED[layer])}: " + "; ".join(bad)


def test_checker_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    """The checker itself: an import inside a function counts (mutation guard for the rule above)."""
    mod = tmp_path / "benchmark" / "probe.py"
    mod.parent.mkdir()
    mod.write_text("def f():\n    from report.render import render_report\n    from . import cli\n")
    assert imported_layers(mod, tmp_path) == {"report", "benchmark"}
