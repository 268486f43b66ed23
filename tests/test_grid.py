"""Grid files and the local sweep: a grid run is exactly the run `fptbench run` makes.

Checked: grid validation errors name the key; expansion gives the same run ids (config hashes) as
`fptbench run` with the equivalent flags; backbone-free models run once; the built-in grids parse; a
local sweep runs, reruns skip everything, the ledger records each run finishing once, `--dry-run`
estimates from existing results or a probe; a pool of spawned processes gives the same numbers as
one in-process worker; the CI gate's `cmd_sweep` import from `benchmark.commands.core` still works.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from benchmark.cli import main, parse_options
from benchmark.commands.core import parse_budget
from benchmark.errors import FptError
from benchmark.grid import expand, load_grid, parse_grid
from benchmark.results import read_table
from benchmark.runner import make_config

BASE = {"profile": "ci", "tasks": ["bit-xor"], "models": ["fpt"], "backbones": ["tiny-gpt2"]}


@pytest.mark.parametrize("change, word", [
    ({"colour": "red"}, "colour"),
    ({"profile": None}, "profile"),
    ({"tasks": []}, "tasks"),
    ({"seeds": [0, 0]}, "repeats"),
    ({"lrs": [-1.0]}, "positive"),
    ({"budget": {"lr": 1e-3}}, "lrs"),
    ({"budget": {"stepz": 3}}, "stepz"),
    ({"options": {"preset": "+ln"}}, "presets"),
    ({"resources": {"gpus": 1}}, "gpus"),
    ({"seeds": ["0"]}, "seeds"),
])
def test_bad_grids_are_refused_naming_the_key(change: dict, word: str) -> None:
    data = {k: v for k, v in {**BASE, **change}.items() if v is not None}
    with pytest.raises(FptError, match=word):
        parse_grid(data, "g.toml")


def test_expansion_is_exactly_what_run_makes() -> None:
    grid = parse_grid({**BASE, "seeds": [0, 1], "lrs": [1e-3, 3e-3], "presets": ["", "+ln"], "budget": {"steps": 40}})
    jobs = expand(grid)
    assert len(jobs) == 8
    want = []
    for preset in ("", "+ln"):
        for lr in ("0.001", "3e-3"):
            for seed in (0, 1):
                # exactly what `fptbench run ... --budget steps=40 --budget lr=LR [--option preset=P]` passes
                options = parse_options([f"preset={preset}"] if preset else None)
                cfg = make_config("bit-xor", "fpt", backbone="tiny-gpt2", seed=seed, profile="ci", options=options,
                                  budget_overrides=parse_budget(["steps=40", f"lr={lr}"]))
                want.append(cfg.run_id)
    assert [j.run_id for j in jobs] == want
    assert {j.preset for j in jobs} == {"", "+ln"} and {j.lr for j in jobs} == {1e-3, 3e-3}
    # The profile's own lr leaves the budget as it was: the fixed-lr run is the plain `fptbench run`.
    plain = make_config("bit-xor", "fpt", backbone="tiny-gpt2", seed=0, profile="ci", budget_overrides={"steps": 40})
    assert plain.budget.lr == 1e-3 and plain.run_id == jobs[0].run_id


def test_backbone_free_models_run_once() -> None:
    grid = parse_grid({**BASE, "models": ["lstm"], "backbones": ["tiny-gpt2", "tiny-bert"], "seeds": [0, 1]})
    jobs = expand(grid)
    assert [j.config.backbone for j in jobs] == ["none", "none"]


def test_builtin_grids_parse() -> None:
    cpu, paper = load_grid("cpu-lr"), load_grid("paper-lr")
    assert cpu.profile == "cpu" and len(cpu.lrs) >= 2 and 1e-3 in cpu.lrs  # holds the cpu profile's fixed lr
    assert paper.profile == "paper" and paper.seeds == (0, 1, 2)
    assert min(paper.lrs) == 1e-6 and max(paper.lrs) == 1e-2  # the re-evaluation's range
    assert {1e-4, 3e-4, 1e-3} <= set(paper.lrs)  # the paper's fixed lrs are in the grid
    assert paper.resources.num_gpus == 1
    with pytest.raises(FptError, match="cpu-lr"):
        load_grid("no-such-grid")
    from benchmark.grid import builtin_grids

    for name in builtin_grids():  # every shipped grid is valid
        assert load_grid(name).name


GRID = """
profile = "ci"
tasks = ["bit-xor"]
models = ["full"]
backbones = ["tiny-gpt2"]
seeds = [0]
lrs = [1e-3, 1e-2]
[budget]
steps = 10
eval_every = 5
eval_batch_size = 256
"""


@pytest.fixture
def grid_file(tmp_path: Path) -> Path:
    path = tmp_path / "g.toml"
    path.write_text(GRID)
    return path


def test_local_sweep_rerun_ledger_dry_run_and_select(grid_file: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "r"
    capsys.readouterr()
    assert main(["sweep", "--grid", str(grid_file), "--dry-run", "--probe-steps", "2", "--results", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.count("todo") == 2 and "probe (" in text and not out.exists()  # a dry run writes nothing

    assert main(["sweep", "--grid", str(grid_file), "--results", str(out), "--no-progress"]) == 0
    assert main(["sweep", "--grid", str(grid_file), "--results", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "2 already done" in text
    ledger = [json.loads(x) for x in (out / "sweep-log.jsonl").read_text().splitlines()]
    ids = {j.run_id for j in expand(load_grid(grid_file))}
    assert sorted(r["run_id"] for r in ledger if r["status"] == "finished") == sorted(ids)
    assert {p.stem for p in (out / "runs").glob("*.parquet")} == ids

    assert main(["sweep", "--grid", str(grid_file), "--dry-run", "--results", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.count("done ") >= 2 and "0 runs left" in text

    assert main(["select", "--results", str(out), "--json"]) == 0
    (rec,) = json.loads(capsys.readouterr().out)
    runs = read_table([out], "runs")
    val = runs[(runs.split == "val") & (runs.metric == "accuracy")]
    by_lr = {json.loads(c)["budget"]["lr"]: v for c, v in zip(val.config, val.value)}
    assert rec["lr_selected"] == min(lr for lr, v in by_lr.items() if v == max(by_lr.values()))


@pytest.mark.slow
def test_process_pool_gives_the_same_numbers_as_one_worker(grid_file: Path, tmp_path: Path) -> None:
    one, pool = tmp_path / "one", tmp_path / "pool"
    assert main(["sweep", "--grid", str(grid_file), "--results", str(one), "--workers", "1", "--no-progress"]) == 0
    assert main(["sweep", "--grid", str(grid_file), "--results", str(pool), "--workers", "2", "--no-progress"]) == 0
    a, b = read_table([one], "runs"), read_table([pool], "runs")
    key = ["run_id", "split", "metric"]
    a, b = a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True)
    assert list(a.run_id) == list(b.run_id) and list(a.value) == list(b.value)
    pids = {json.loads(x)["pid"] for x in (pool / "sweep-log.jsonl").read_text().splitlines()}
    assert len(pids) == 2  # the runs really executed in two other processes


def test_gate_calls_cmd_sweep_from_core(tmp_path: Path) -> None:
    from benchmark.commands.core import cmd_sweep
    from benchmark.profiles import PROFILES, Budget, Profile, SuiteEntry

    name = "h5-sweep-compat"
    out = tmp_path / "gate"
    with PROFILES.temporarily(name, Profile(name, "test only", Budget(steps=5, eval_every=5, eval_batch_size=256),
                                            suite=(SuiteEntry("bit-xor", "full", "tiny-gpt2", (0,)),))):
        assert cmd_sweep(argparse.Namespace(profile=name, results=str(out), device="auto", no_progress=True)) == 0
    assert len(list((out / "runs").glob("*.parquet"))) == 1
    assert not (out / "sweep-log.jsonl").exists()  # a profile sweep leaves its results directory as before


def test_only_the_ray_executor_imports_ray() -> None:
    """Ray is an optional extra: nothing but benchmark/executors/ray_cluster.py may import it."""
    import ast

    root = Path(__file__).resolve().parents[1]
    found = []
    for layer in ("benchmark", "tasks", "baselines", "report"):
        for path in (root / layer).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
                if any(n == "ray" or n.startswith("ray.") for n in names):
                    found.append(path.relative_to(root).as_posix())
    assert sorted(set(found)) == ["benchmark/executors/ray_cluster.py"]
