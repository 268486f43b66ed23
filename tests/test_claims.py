"""The paper's claims (report/claims/): every verdict branch of every rule on small synthetic runs frames.

Frames are built with the results schema (benchmark.results.RUNS_SCHEMA), one finished run = val and
test rows of the main metric plus loss rows, so the claims read exactly what the harness writes.
``claim()`` gives every run a flat validation curve (ten evaluations) and predictions of two classes
unless a test passes its own: rows that trained and converged, so the statistics alone decide; the
tests of the gate (tests/test_claims_gate.py) take those away on purpose.
Mutation checks: flipping the sign of a gain, or moving a row across a threshold, flips the verdict.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from benchmark.results import RUNS_SCHEMA
from report.claims import (FAILS, HOLDS, INCONCLUSIVE, NOT_MEASURED, all_claims, evaluate_claims)
from report.claims.rules import MIN_SEEDS

PROFILE = "cpu"  # registered: its lr (1e-3; LSTM 3e-4) is what the plain rows accept
ABSENCE = {t: "never run" for t in ("bit-memory", "bit-xor", "listops", "mnist", "cifar10", "cifar10-lra",
                                    "remote-homology")}
ABSENCE["cifar10"] = "needs data (`fptbench data prepare cifar10`)"
LANGUAGE = "language (sentence-transformers/all-MiniLM-L6-v2)"


def run_rows(task: str, model: str, seed: int, test: float, *, backbone: str = "minilm-l6", val: float | None = None,
             options: dict | None = None, lr: float | None = None, status: str = "finished", stt: int | None = None,
             steps: int = 400, profile: str = PROFILE, pretrained_on: str = LANGUAGE,
             precision: str | None = None) -> list[dict]:
    """The runs-table rows of one run (test/val of the main metric and loss), schema-complete."""
    lr = lr if lr is not None else (3e-4 if model == "lstm" else 1e-3)
    options = options or {}
    config = {"task": task, "model": model, "backbone": backbone, "seed": seed, "profile": profile,
              "model_options": options, "budget": {"steps": steps, "lr": lr, "eval_every": 50, "batch_size": 16}}
    cfg_json = json.dumps(config, sort_keys=True)
    run_id = f"{task}__{model}__{backbone}__s{seed}__{profile}__{abs(hash(cfg_json)) % 10**10:010d}"
    base = {f.name: None for f in RUNS_SCHEMA}
    base.update(schema_version=1, run_id=run_id, status=status, task=task, task_version="1.0", task_fingerprint="fp-" + task,
                model=model, model_family=model, backbone=backbone, pretrained_on=pretrained_on,
                stand_in_for="gpt2" if backbone == "minilm-l6" else "", seed=seed, profile=profile, n_examples=100,
                selected_step=steps, steps_trained=steps, steps_to_threshold=stt, threshold=0.9, n_params_total=10,
                n_params_trainable=5, train_time_s=1.0, steps_per_s=1.0, peak_mem_mb=1.0, device="cpu",
                git_dirty=False, config=cfg_json, config_hash=run_id[-10:], source="harness", precision=precision)
    rows = []
    for split, value in (("val", test if val is None else val), ("test", test)):
        if status != "finished":
            value = float("nan")
        rows.append({**base, "split": split, "metric": "accuracy", "value": value})
        rows.append({**base, "split": split, "metric": "loss", "value": 0.5})
    return rows


def frame(*runs: list[dict]) -> pd.DataFrame:
    rows = [r for run in runs for r in run]
    return pd.DataFrame(rows, columns=[f.name for f in RUNS_SCHEMA])


def seeds(task: str, model: str, values, **kw) -> list[dict]:
    """One run per seed with the given test accuracies (fractions); ``stts``: per-seed steps to threshold."""
    stts = kw.pop("stts", [None] * len(values))
    return [r for s, (v, stt) in enumerate(zip(values, stts)) for r in run_rows(task, model, s, v, stt=stt, **kw)]


def flat_curves(runs: pd.DataFrame, rising: tuple[str, ...] = ()) -> pd.DataFrame:
    """Ten validation evaluations per finished run, flat at its val value (``rising``: run ids whose curve
    climbs 20 points over the last quarter instead, i.e. still training)."""
    rows = []
    for run_id, g in runs[(runs.split == "val") & (runs.metric == "accuracy")].groupby("run_id"):
        val, steps = float(g.value.iloc[0]), int(g.steps_trained.iloc[0])
        for i in range(1, 11):
            v = val - (0.2 * (10 - i) / 3 if run_id in rising and i > 7 else 0.2 if run_id in rising else 0.0)
            rows.append({"schema_version": 2, "run_id": run_id, "step": steps * i // 10, "split": "val",
                         "metric": "accuracy", "value": v, "train_loss": 0.1, "wall_time_s": 1.0})
    return pd.DataFrame(rows, columns=["schema_version", "run_id", "step", "split", "metric", "value", "train_loss",
                                       "wall_time_s"])


def two_class_predictions(runs: pd.DataFrame, single: tuple[str, ...] = ()) -> pd.DataFrame:
    """Test predictions per run: two classes, or one class for the run ids in ``single``."""
    rows = [{"run_id": rid, "split": "test", "example": i, "score": 1.0, "prediction": [0 if rid in single else i % 2]}
            for rid in sorted(set(runs.run_id)) for i in range(10)]
    return pd.DataFrame(rows, columns=["run_id", "split", "example", "score", "prediction"])


def checked(runs: pd.DataFrame, names=None, select=None, curves=None, predictions=None):
    """``evaluate_claims`` with the synthetic curves and predictions above unless given."""
    return evaluate_claims(runs, ABSENCE, "RESULTS", select=select, names=names,
                           curves=flat_curves(runs) if curves is None else curves,
                           predictions=two_class_predictions(runs) if predictions is None else predictions)


def claim(runs: pd.DataFrame, name: str, select=None, curves=None, predictions=None):
    (group, results), *_ = checked(runs, [name], select, curves, predictions)
    return results[0]


def finding(result, task: str, what: str | None = None):
    return next(f for f in result.findings if f.task == task and (what is None or f.what.startswith(what)))


# -- registry ------------------------------------------------------------------------------------
def test_registry_holds_the_paper_claims_each_with_a_stated_rule():
    claims = all_claims()
    assert [c.number for c in claims][:9] == [1, 9, 2, 3, 4, 5, 6, 7, 8]  # 9 (LSTM on Bit XOR) sits next to 1
    assert len({c.name for c in claims}) == len(claims)
    for c in claims:
        assert c.statement and c.rule and c.paper_ref
        assert f"at least {MIN_SEEDS}" in c.rule.lower()  # the seed rule is stated in every claim's own text


def test_no_runs_means_not_measured_with_commands_for_every_claim():
    empty = pd.DataFrame(columns=[f.name for f in RUNS_SCHEMA])
    (group, results), = evaluate_claims(empty, ABSENCE, "results/x")
    assert group.profile == "cpu-long" and group.backbone == "minilm-l6"
    for r in results:
        assert r.verdict == NOT_MEASURED, r.name
        assert r.commands and all(c.startswith(("fptbench", "for s in")) for c in r.commands), r.commands
    c1 = next(r for r in results if r.number == 1)
    assert any("--task bit-memory --model fpt" in c and "--profile cpu-long" in c and "--results results/x" in c
               for c in c1.commands)
    c2 = next(r for r in results if r.number == 2)
    assert "fptbench data prepare cifar10" in c2.commands  # the data command comes from the absence reason


# -- claim 1: levels ------------------------------------------------------------------------------
BIT_OK = (seeds("bit-memory", "fpt", [1.0, 0.995, 1.0]) + seeds("bit-xor", "fpt", [1.0, 1.0, 1.0]))


def test_bit_tasks_holds_when_fpt_solves_both_and_lstm_fails_bit_memory():
    r = claim(frame(BIT_OK, seeds("bit-memory", "lstm", [0.60, 0.62, 0.61], backbone="none")), "bit-tasks-solved")
    assert r.verdict == HOLDS, r.reason
    assert finding(r, "bit-memory", "LSTM").ci is not None


def test_bit_tasks_does_not_hold_when_lstm_solves_bit_memory():
    r = claim(frame(BIT_OK, seeds("bit-memory", "lstm", [0.99, 1.0, 1.0], backbone="none")), "bit-tasks-solved")
    assert r.verdict == FAILS


def test_bit_tasks_mutation_fpt_below_the_level_fails():
    bad = seeds("bit-memory", "fpt", [0.80, 0.82, 0.81]) + seeds("bit-xor", "fpt", [1.0, 1.0, 1.0])
    r = claim(frame(bad, seeds("bit-memory", "lstm", [0.60, 0.62, 0.61], backbone="none")), "bit-tasks-solved")
    assert r.verdict == FAILS and "bit-memory" in r.reason


def test_bit_tasks_one_seed_is_inconclusive_never_holds():
    one = seeds("bit-memory", "fpt", [1.0]) + seeds("bit-xor", "fpt", [1.0]) + seeds("bit-memory", "lstm", [0.6], backbone="none")
    r = claim(frame(one), "bit-tasks-solved")
    assert r.verdict == INCONCLUSIVE
    assert all(f.ci is None for f in r.findings)


def test_bit_tasks_missing_part_is_inconclusive_with_its_command():
    r = claim(frame(BIT_OK), "bit-tasks-solved")
    assert r.verdict == INCONCLUSIVE
    assert finding(r, "bit-memory", "LSTM").verdict == NOT_MEASURED
    assert any("--model lstm" in c for c in r.commands)


def test_level_interval_straddling_the_level_is_inconclusive():
    wide = seeds("bit-memory", "fpt", [1.0, 0.90, 1.0]) + seeds("bit-xor", "fpt", [1.0, 1.0, 1.0])
    r = claim(frame(wide, seeds("bit-memory", "lstm", [0.6, 0.6, 0.6], backbone="none")), "bit-tasks-solved")
    assert finding(r, "bit-memory", "FPT").verdict == INCONCLUSIVE
    assert r.verdict == INCONCLUSIVE


# -- claim 3: paired gain -------------------------------------------------------------------------
def test_gain_holds_and_the_sign_flip_mutation_fails():
    fpt, rnd = [0.90, 0.92, 0.91], [0.70, 0.71, 0.69]
    holds = claim(frame(seeds("mnist", "fpt", fpt), seeds("mnist", "random-frozen", rnd)), "language-beats-random")
    assert holds.verdict == HOLDS
    f = finding(holds, "mnist")
    assert f.estimate == pytest.approx(21.0) and f.ci[0] > 0 and f.n == 3
    flipped = claim(frame(seeds("mnist", "fpt", rnd), seeds("mnist", "random-frozen", fpt)), "language-beats-random")
    assert flipped.verdict == FAILS
    assert finding(flipped, "mnist").estimate == pytest.approx(-21.0)


def test_gain_interval_containing_zero_is_inconclusive():
    r = claim(frame(seeds("mnist", "fpt", [0.95, 0.85, 0.91]), seeds("mnist", "random-frozen", [0.90, 0.90, 0.90])),
              "language-beats-random")
    assert finding(r, "mnist").verdict == INCONCLUSIVE and r.verdict == INCONCLUSIVE


def test_gain_one_matched_seed_is_inconclusive():
    r = claim(frame(seeds("mnist", "fpt", [0.95]), seeds("mnist", "random-frozen", [0.5])), "language-beats-random")
    assert r.verdict == INCONCLUSIVE and finding(r, "mnist").ci is None


def test_one_task_failing_makes_the_claim_fail_even_if_another_holds():
    runs = frame(seeds("mnist", "fpt", [0.9, 0.9, 0.91]), seeds("mnist", "random-frozen", [0.5, 0.5, 0.52]),
                 seeds("bit-xor", "fpt", [0.5, 0.5, 0.51]), seeds("bit-xor", "random-frozen", [0.9, 0.9, 0.91]))
    r = claim(runs, "language-beats-random")
    assert r.verdict == FAILS and "bit-xor" in r.reason


def test_diverged_runs_give_no_numbers():
    runs = frame(seeds("mnist", "fpt", [0.9, 0.9, 0.9], status="diverged"), seeds("mnist", "random-frozen", [0.5, 0.5, 0.5]))
    r = claim(runs, "language-beats-random")
    assert finding(r, "mnist").verdict == NOT_MEASURED and "no finished run" in finding(r, "mnist").note


def test_lr_grid_runs_and_preset_runs_do_not_leak_into_plain_rows():
    plain = seeds("mnist", "fpt", [0.9, 0.91, 0.92]) + seeds("mnist", "random-frozen", [0.5, 0.5, 0.5])
    grid = seeds("mnist", "fpt", [0.1, 0.1, 0.1], lr=1e-2)  # another lr: only the tuned-lr claim reads it
    preset = seeds("mnist", "fpt", [0.1, 0.1, 0.1], options={"preset": "output-only"})
    r = claim(frame(plain, grid, preset), "language-beats-random")
    assert r.verdict == HOLDS
    assert finding(r, "mnist").estimate == pytest.approx(41.0)


def test_two_configs_for_one_seed_is_a_conflict_not_a_pick():
    runs = frame(seeds("mnist", "fpt", [0.9, 0.9]), seeds("mnist", "fpt", [0.2], steps=100),
                 seeds("mnist", "random-frozen", [0.5, 0.5]))
    f = finding(claim(runs, "language-beats-random"), "mnist")
    assert f.verdict == NOT_MEASURED and "conflict" in f.note


# -- claim 2: non-inferiority ---------------------------------------------------------------------
def test_matches_scratch_within_margin_holds_outside_fails():
    near = claim(frame(seeds("mnist", "fpt", [0.90, 0.91, 0.90]), seeds("mnist", "random-full", [0.91, 0.92, 0.91])),
                 "fpt-matches-scratch")
    assert near.verdict == HOLDS  # -1 pt, CI within [-2, ...)
    far = claim(frame(seeds("mnist", "fpt", [0.80, 0.81, 0.80]), seeds("mnist", "random-full", [0.91, 0.92, 0.91])),
                "fpt-matches-scratch")
    assert far.verdict == FAILS
    straddle = claim(frame(seeds("mnist", "fpt", [0.90, 0.87, 0.885]), seeds("mnist", "random-full", [0.91, 0.91, 0.91])),
                     "fpt-matches-scratch")
    assert straddle.verdict == INCONCLUSIVE


# -- claim 4: censored steps ----------------------------------------------------------------------
def test_faster_holds_with_a_censored_lower_bound_and_the_flip_fails():
    fast = seeds("bit-xor", "fpt", [1.0] * 3, stts=[100, 150, 100])
    slow = seeds("bit-xor", "random-frozen", [0.5] * 3, stts=[None] * 3, steps=1000)
    r = claim(frame(fast, slow), "fpt-converges-faster")
    assert r.verdict == HOLDS
    f = finding(r, "bit-xor")
    assert f.estimate == pytest.approx(1000 / 150) and ">=" in f.note
    flipped = claim(frame(seeds("bit-xor", "fpt", [0.5] * 3, stts=[None] * 3, steps=1000),
                          seeds("bit-xor", "random-frozen", [1.0] * 3, stts=[100, 150, 100])), "fpt-converges-faster")
    assert flipped.verdict == FAILS


def test_faster_neither_reaching_or_mixed_is_inconclusive():
    never = claim(frame(seeds("bit-xor", "fpt", [0.6] * 3, stts=[None] * 3),
                        seeds("bit-xor", "random-frozen", [0.5] * 3, stts=[None] * 3)), "fpt-converges-faster")
    assert never.verdict == INCONCLUSIVE and "budget" in finding(never, "bit-xor").note
    mixed = claim(frame(seeds("bit-xor", "fpt", [1.0] * 3, stts=[100, 300, 100]),
                        seeds("bit-xor", "random-frozen", [1.0] * 3, stts=[200, 200, 200])), "fpt-converges-faster")
    assert mixed.verdict == INCONCLUSIVE
    assert finding(mixed, "bit-xor").estimate == pytest.approx(200 / 300)


def test_faster_on_one_seed_never_holds():
    r = claim(frame(seeds("bit-xor", "fpt", [1.0], stts=[100]), seeds("bit-xor", "random-frozen", [0.5], stts=[None])),
              "fpt-converges-faster")
    assert r.verdict == INCONCLUSIVE and finding(r, "bit-xor").n == 1


# -- claims 5 and 6: orderings --------------------------------------------------------------------
