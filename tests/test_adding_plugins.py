"""Adding a task or a profile touches no existing file: a throwaway one is dropped into a copy of the
packages and found (package scan), resolved and run, with every existing file byte-identical.

The throwaway modules are the code blocks of docs/adding-a-task.md and docs/adding-a-profile.md, so
the guides are tested too. Also the static half of "one home per fact": a single per-run table
builder (benchmark/runview.py), which no other module re-implements.
"""

from __future__ import annotations

import ast
import filecmp
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchmark", "tasks", "baselines")


def code_block(doc: str) -> str:
    found = re.search(r"```python\n(.*?)```", (ROOT / "docs" / doc).read_text(), re.S)
    assert found, f"docs/{doc} lost its python example"
    return found.group(1)


def unchanged(copy: Path, new: set[str]) -> list[str]:
    """Files of the copy that differ from the repository's (new files excluded)."""
    diff = []
    for pkg in PACKAGES:
        for path in (copy / pkg).rglob("*.py"):
            rel = path.relative_to(copy)
            if str(rel) in new:
                continue
            if not filecmp.cmp(path, ROOT / rel, shallow=False):
                diff.append(str(rel))
    return diff


@pytest.mark.slow
def test_a_new_task_and_profile_are_found_without_editing_any_file(tmp_path: Path) -> None:
    copy = tmp_path / "src"
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, copy / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    new = {"tasks/zz_throwaway.py": code_block("adding-a-task.md"),
           "benchmark/profile_zz_throwaway.py": code_block("adding-a-profile.md")}
    for rel, text in new.items():
        (copy / rel).write_text(text)
    probe = """
import torch
from benchmark.task import TASKS
from benchmark.profiles import PROFILES, expected_budget
from benchmark.runner import make_config, run
assert "zz-parity" in TASKS.names() and "bit-xor" in TASKS.names(), TASKS.names()
assert "zz-tiny" in PROFILES.names() and "cpu" in PROFILES.names(), PROFILES.names()
assert expected_budget("zz-tiny", "zz-parity", "lstm").batch_size == 16
torch.set_num_threads(1)
cfg = make_config("zz-parity", "lstm", profile="zz-tiny", max_steps=4, options={"hidden": 8, "layers": 1})
print(run(cfg, "results", progress=False))
"""
    env = {**os.environ, "PYTHONPATH": str(copy), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "finished"
    assert unchanged(copy, set(new)) == []


# -- one per-run table builder ---------------------------------------------------------------------------
PER_RUN_BUILDERS = ("run_table", "run_records", "_run_frame", "_record")
VIEW = ROOT / "benchmark" / "runview.py"


def defined_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def config_parsers(path: Path) -> list[int]:
    """Lines that parse a stored run config (``json.loads`` of a ``.config`` / ``config`` value)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "json.loads" and node.args:
            arg = ast.unparse(node.args[0])
            if re.search(r"(^|\.)(config|c)$", arg) and ("config" in arg or ".config" in arg):
                lines.append(node.lineno)
    return lines


def test_one_per_run_table_builder() -> None:
    """Only the run view builds per-run rows from the runs table; readers filter its rows."""
    offenders = []
    for layer in ("benchmark", "report", "tasks", "baselines"):
        for path in sorted((ROOT / layer).rglob("*.py")):
            if path == VIEW:
                continue
            names = defined_functions(path) & set(PER_RUN_BUILDERS)
            if names:
                offenders.append(f"{path.relative_to(ROOT)} defines {sorted(names)}")
            if "report" in path.parts and config_parsers(path):
                offenders.append(f"{path.relative_to(ROOT)} parses stored run configs (lines {config_parsers(path)})")
    assert not offenders, "per-run rows come from benchmark.runview only: " + "; ".join(offenders)
    assert {"_record"} <= defined_functions(VIEW)


def test_the_static_check_sees_a_second_builder(tmp_path: Path) -> None:
    """Mutation guard for the check above: a module defining run_records, or parsing configs, is seen."""
    mod = tmp_path / "report" / "probe.py"
    mod.parent.mkdir()
    mod.write_text("import json\ndef run_records(runs):\n    return [json.loads(r.config) for r in runs]\n")
    assert "run_records" in defined_functions(mod) and config_parsers(mod) == [3]
