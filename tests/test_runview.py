"""The run view (benchmark/runview.py): one row per run, one de-duplication policy, one submitted-runs
switch, one expected-budget derivation; built from hand-made runs files (no training)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from benchmark.config import RunConfig
from benchmark.errors import FptError
from benchmark.profiles import expected_budget, get_profile
from benchmark.results import RUNS_SCHEMA, read_table, write_table
from benchmark.runview import (APART, EXCLUDED, REPLACED, budget_changes, options_key, parse_config, profile_lr,
                               read_runs, view_of)

TASK, PROFILE = "bit-xor", "cpu"


def config(model: str = "fpt", seed: int = 0, options: dict | None = None, **budget) -> RunConfig:
    base = expected_budget(PROFILE, TASK, model)
    return RunConfig(task=TASK, task_version="1", task_fingerprint="fp", model=model,
                     backbone="none" if model == "lstm" else "minilm-l6", seed=seed, profile=PROFILE,
                     budget=replace(base, **budget), model_options=dict(options or {}))


def rows_of(cfg: RunConfig, val: float = 0.6, test: float = 0.5, source: str = "harness",
            status: str = "finished") -> list[dict]:
    base = {f.name: None for f in RUNS_SCHEMA}
    base.update(schema_version=2, run_id=cfg.run_id, status=status, task=cfg.task, task_version=cfg.task_version,
                task_fingerprint=cfg.task_fingerprint, model=cfg.model, model_family="f", backbone=cfg.backbone,
                pretrained_on="", stand_in_for="", seed=cfg.seed, profile=cfg.profile, n_examples=10,
                selected_step=5, steps_trained=10, steps_to_threshold=7, threshold=0.9, config=cfg.to_json(),
                config_hash=cfg.config_hash, source=source, precision="fp32", threads=1, wall_time_s=2.0,
                git_dirty=False)
    return [{**base, "split": s, "metric": m, "value": v}
            for s, m, v in (("val", "accuracy", val), ("test", "accuracy", test), ("val", "loss", 1.0),
                            ("test", "loss", 1.1))]


def store(root: Path, *runs: list[dict]) -> Path:
    for rows in runs:
        write_table(root, "runs", rows[0]["run_id"], rows)
    return root


def test_one_row_per_run_with_parsed_config(tmp_path: Path) -> None:
    plain, ln = config(), config(options={"preset": "+ln", "width": 2}, lr=0.5, steps=7)
    view = read_runs([store(tmp_path, rows_of(plain), rows_of(ln, val=0.7, test=0.8))])
    assert len(view.runs) == 2 and len(view.rows) == 8
    by = view.runs.set_index("run_id")
    a, b = by.loc[plain.run_id], by.loc[ln.run_id]
    assert a.config == plain and b.config == ln  # the config round trip
    assert (a.val, a.test, a.metric, a.steps_to_threshold) == (0.6, 0.5, "accuracy", 7.0)
    assert a.budget_changes == {} and b.budget_changes == {"lr": 0.5, "steps": 7}
    assert (b.preset, b.lr, b.budget_steps) == ("+ln", 0.5, 7)
    assert b.options_key == options_key({"width": 2, "preset": "+ln"}) and b.other_options == options_key({"width": 2})
    assert a.budget_key == b.budget_key.replace('"steps":7', f'"steps":{plain.budget.steps}')  # lr is not in it
    assert len(view.rows_of(ln.run_id)) == 4


def test_first_directory_wins_and_submitted_switch(tmp_path: Path) -> None:
    cfg = config()
    first = store(tmp_path / "a", rows_of(cfg, test=0.5))
    second = store(tmp_path / "b", rows_of(cfg, test=0.9))
    assert read_runs([first, second]).runs.test.tolist() == [0.5]
    assert read_runs([second, first]).runs.test.tolist() == [0.9]
    sub = store(tmp_path / "s", rows_of(cfg, test=0.7, source="submitted:ann"))
    other = config(seed=1)
    store(tmp_path / "s", rows_of(other, source="submitted:ann"))
    apart = read_runs([first, sub], submitted=APART).runs
    assert sorted(zip(apart.run_id, apart.source)) == sorted([(cfg.run_id, "harness"), (cfg.run_id, "submitted:ann"),
                                                              (other.run_id, "submitted:ann")])
    replaced = read_runs([first, sub], submitted=REPLACED).runs
    assert sorted(zip(replaced.run_id, replaced.source)) == sorted([(cfg.run_id, "harness"),
                                                                    (other.run_id, "submitted:ann")])
    assert read_runs([first, sub], submitted=EXCLUDED).runs.source.tolist() == ["harness"]
    with pytest.raises(FptError, match="policy"):
        read_runs([first], submitted="maybe")


def test_null_source_is_harness_and_view_passes_through(tmp_path: Path) -> None:
    rows = rows_of(config())
    for r in rows:
        r["source"] = None
    frame = read_table([store(tmp_path, rows)], "runs")
    view = view_of(frame)
    assert view.runs.source.tolist() == ["harness"] and not view.runs.submitted.any()
    assert view_of(view) is view


def test_expected_budget_is_the_profiles_rule_with_the_adapter_lr() -> None:
    from benchmark.model import MODELS

    lstm_lr = MODELS.get("lstm").default_lr
    assert lstm_lr is not None and expected_budget(PROFILE, TASK, "lstm").lr == get_profile(PROFILE).budget(
        TASK, "lstm", lstm_lr).lr
    assert profile_lr(PROFILE, TASK, "lstm") == expected_budget(PROFILE, TASK, "lstm").lr
    assert math.isnan(profile_lr("no-such-profile", TASK, "fpt"))
    with pytest.raises(FptError, match="no-such-model"):
        expected_budget(PROFILE, TASK, "no-such-model")


def test_budget_changes_unchecked_and_legacy_precision() -> None:
    budget = expected_budget(PROFILE, TASK, "fpt").to_dict()
    assert budget_changes("someone-elses", TASK, "fpt", budget) == {"profile": "not registered here (budget unchecked)"}
    assert budget_changes(PROFILE, TASK, "someone-elses", budget) == {"model": "not registered here (budget unchecked)"}
    old = {**budget, "precision": "fp32"}
    assert budget_changes(PROFILE, TASK, "fpt", old, legacy_schema=True) == {}
    assert budget_changes(PROFILE, TASK, "fpt", old) == ({} if budget["precision"] == "fp32" else {"precision": "fp32"})


def test_unparseable_config_keeps_the_run() -> None:
    assert parse_config("{not json") is None and parse_config(None) is None
    cfg = config()
    assert parse_config(cfg.to_json()) == cfg


def test_run_command_gives_the_missing_run() -> None:
    from benchmark.run_command import run_command

    one = run_command("bit-xor", "lstm", "cpu", [2], backbone="none", budget={"steps": 7, "lr": 0.0003})
    assert one == "fptbench run --task bit-xor --model lstm --profile cpu --budget lr=0.0003 --max-steps 7 --seed 2"
    loop = run_command("bit-xor", "fpt", "cpu", (0, 1), backbone="minilm-l6", options={"preset": "+ln"},
                       results="my results")
    assert loop == ("for s in 0 1; do fptbench run --task bit-xor --model fpt --backbone minilm-l6 --profile cpu "
                    "--option preset=+ln --results 'my results' --seed $s; done")


def test_a_view_narrows_but_never_widens(tmp_path: Path) -> None:
    cfg = config()
    store(tmp_path, rows_of(cfg))
    store(tmp_path / "s", rows_of(cfg, source="submitted:ann"), rows_of(config(seed=1), source="submitted:ann"))
    view = read_runs([tmp_path, tmp_path / "s"])
    replaced = view.with_submitted(REPLACED)
    assert len(replaced.runs) == 2 and set(replaced.rows.source) == {"harness", "submitted:ann"}
    assert set(zip(replaced.runs.run_id, replaced.runs.source)) == set(zip(replaced.rows.run_id, replaced.rows.source))
    with pytest.raises(FptError, match="cannot give 'apart'"):
        replaced.with_submitted(APART)
    one = view.narrow(view.runs[view.runs.source == "submitted:ann"].head(1))
    assert len(one.runs) == 1 and len(one.rows) == 4 and set(one.rows.source) == {"submitted:ann"}
