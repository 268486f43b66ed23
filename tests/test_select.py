"""Learning-rate selection on validation (benchmark.selection) and its report table, on synthetic runs.

Synthetic runs tables make every rule checkable in milliseconds: the choice follows validation even
when test disagrees, ties go to the smaller lr, a diverged seed makes its lr ineligible, the fixed-lr
result is the profile's lr, and ``same_grid`` notices a method that got a different grid.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from benchmark.profiles import Budget
from benchmark.results import RUNS_SCHEMA
from benchmark.selection import profile_lr, records, select

PROFILE, TASK = "ci", "bit-xor"


def _runs(spec: list[tuple]) -> pd.DataFrame:
    """Runs-table rows from (model, lr, seed, status, val, test[, steps]) tuples, every schema column filled."""
    rows = []
    for item in spec:
        model, lr, seed, status, val, test = item[:6]
        steps = item[6] if len(item) > 6 else 40
        budget = {**Budget(steps=steps).to_dict(), "lr": lr}
        cfg = {"task": TASK, "task_version": "1.0", "task_fingerprint": "fp", "model": model, "backbone": "tiny-gpt2",
               "seed": seed, "profile": PROFILE, "budget": budget, "model_options": {}, "device": "cpu"}
        run_id = f"{TASK}__{model}__tiny-gpt2__s{seed}__{PROFILE}__{lr:g}_{steps}"
        base = {f.name: None for f in RUNS_SCHEMA}
        base.update(schema_version=1, run_id=run_id, status=status, task=TASK, task_version="1.0", task_fingerprint="fp",
                    model=model, model_family=model, backbone="tiny-gpt2", pretrained_on="", stand_in_for="", seed=seed,
                    profile=PROFILE, n_examples=100, selected_step=steps, steps_trained=steps, threshold=1.0,
                    n_params_total=10, n_params_trainable=5, train_time_s=1.0, steps_per_s=float(steps), peak_mem_mb=1.0,
                    device="cpu", config=json.dumps(cfg), config_hash=run_id, source="harness", git_dirty=False)
        for split, value in (("val", val), ("test", test)):
            rows.append({**base, "split": split, "metric": "accuracy", "value": value})
            rows.append({**base, "split": split, "metric": "loss", "value": 1.0 - value if math.isfinite(value) else value})
    return pd.DataFrame(rows)


def _one(df: pd.DataFrame, model: str = "fpt") -> pd.Series:
    got = df[df.model == model]
    assert len(got) == 1
    return got.iloc[0]


def test_chooses_on_validation_never_on_test() -> None:
    runs = _runs([("fpt", 1e-3, 0, "finished", 0.60, 0.90), ("fpt", 1e-3, 1, "finished", 0.62, 0.92),
                  ("fpt", 1e-2, 0, "finished", 0.70, 0.50), ("fpt", 1e-2, 1, "finished", 0.72, 0.52)])
    r = _one(select(runs))
    assert r.lr_selected == 1e-2  # best mean validation, although its test is worse
    assert r.val_mean == pytest.approx(0.71) and r.test_mean == pytest.approx(0.51)
    assert r.test_sd == pytest.approx(pd.Series([0.50, 0.52]).std(ddof=1))
    assert r.n_seeds == 2 and r.seeds == [0, 1] and r.lrs_tried == [1e-3, 1e-2]


def test_ties_go_to_the_smaller_lr() -> None:
    runs = _runs([("fpt", 3e-3, 0, "finished", 0.7, 0.1), ("fpt", 1e-3, 0, "finished", 0.7, 0.2)])
    assert _one(select(runs)).lr_selected == 1e-3


def test_a_diverged_or_missing_seed_makes_its_lr_ineligible() -> None:
    runs = _runs([("fpt", 1e-3, 0, "finished", 0.60, 0.6), ("fpt", 1e-3, 1, "finished", 0.60, 0.6),
                  ("fpt", 1e-2, 0, "finished", 0.99, 0.9), ("fpt", 1e-2, 1, "diverged", math.nan, math.nan),
                  ("fpt", 3e-2, 0, "finished", 0.99, 0.9)])  # seed 1 never ran at 3e-2
    r = _one(select(runs))
    assert r.lr_selected == 1e-3
    assert r.lrs_eligible == [1e-3] and r.n_diverged == 1
    only_bad = _runs([("fpt", 1e-2, 0, "diverged", math.nan, math.nan)])
    r = _one(select(only_bad))
    assert math.isnan(r.lr_selected) and r.n_seeds == 0
    assert records(select(only_bad))[0]["lr_selected"] is None  # JSON-safe


def test_fixed_lr_is_the_profiles_lr() -> None:
    fixed = profile_lr(PROFILE, TASK, "fpt")
    other = fixed * 10
    runs = _runs([("fpt", fixed, 0, "finished", 0.5, 0.40), ("fpt", fixed, 1, "finished", 0.5, 0.44),
                  ("fpt", other, 0, "finished", 0.9, 0.90), ("fpt", other, 1, "finished", 0.9, 0.90)])
    r = _one(select(runs))
    assert r.fixed_lr == fixed and r.lr_selected == other
    assert r.fixed_test_mean == pytest.approx(0.42) and r.fixed_n_seeds == 2
    # The lstm adapter's own default lr is the fixed lr wherever the profile has no rule for it.
    assert profile_lr("cpu", TASK, "lstm") == 3e-4


def test_same_grid_flags_a_method_with_another_grid() -> None:
    same = _runs([(m, lr, s, "finished", 0.5, 0.5) for m in ("fpt", "full") for lr in (1e-3, 1e-2) for s in (0, 1)])
    assert select(same).same_grid.all()
    fewer = same[~((same.model == "full") & same.run_id.str.contains("0.01"))]
    assert not select(fewer).same_grid.any()
    # A different budget is another configuration (its own row), not a mixed one.
    mixed = pd.concat([same, _runs([("fpt", 1e-3, 0, "finished", 0.9, 0.9, 80)])])
    sel = select(mixed)
    assert sorted(sel.budget_steps) == [40, 40, 80]


def _table_cells(runs: pd.DataFrame):
    from report.cells import Group, compute_table
    from report.specs import get_table

    table = compute_table(get_table("lr-selection"), Group(PROFILE, "tiny-gpt2"), runs)
    return {row.label: row.cells[TASK] for row in table.rows}


def test_report_table_tuned_and_fixed_rows() -> None:
    fixed = profile_lr(PROFILE, TASK, "fpt")
    runs = _runs([("fpt", fixed, 0, "finished", 0.5, 0.40), ("fpt", fixed, 1, "finished", 0.5, 0.44),
                  ("fpt", fixed * 10, 0, "finished", 0.9, 0.80), ("fpt", fixed * 10, 1, "finished", 0.9, 0.82)])
    cells = _table_cells(runs)
    tuned, at_fixed = cells["FPT (frozen pretrained), lr tuned on val"], cells["FPT (frozen pretrained), fixed lr"]
    assert tuned.mean == pytest.approx(81.0) and tuned.n == 2
    assert any("chosen on val" in n for n in tuned.notes)
    assert at_fixed.mean == pytest.approx(42.0) and at_fixed.n == 2


def test_report_table_has_no_tuned_number_without_a_sweep() -> None:
    fixed = profile_lr(PROFILE, TASK, "fpt")
    cells = _table_cells(_runs([("fpt", fixed, 0, "finished", 0.5, 0.40)]))
    assert "nothing to tune" in (cells["FPT (frozen pretrained), lr tuned on val"].missing or "")
    assert cells["FPT (frozen pretrained), fixed lr"].mean == pytest.approx(40.0)
