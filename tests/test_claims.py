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
from report.claims import (FAILS, HOLDS, INCONCLUSIVE, NOT_MEASURED, all_claims, evaluate_claims, readme_block,
                           render_claims, to_json)
from report.claims.base import EARLY, GRID_EDGE, TIE
from report.claims.paper import LR_GRID
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
def modality(lang, img, bitmem, rnd):
    return frame(seeds("mnist", "fpt", lang), seeds("mnist", "fpt", img, backbone="dinov2-s", pretrained_on="images"),
                 seeds("mnist", "bit-memory-pretrained", bitmem), seeds("mnist", "random-frozen", rnd))


def test_modality_ordering_holds_and_a_swapped_step_fails():
    ok = claim(modality([0.90, 0.91, 0.90], [0.89, 0.90, 0.90], [0.80, 0.81, 0.80], [0.60, 0.61, 0.60]), "modality-ordering")
    assert ok.verdict == HOLDS, [f.note for f in ok.findings]
    assert any(f.what.startswith("Language - Images") for f in ok.findings)  # shown, not decisive
    bad = claim(modality([0.80, 0.81, 0.80], [0.89, 0.90, 0.90], [0.90, 0.91, 0.90], [0.60, 0.61, 0.60]), "modality-ordering")
    assert bad.verdict == FAILS


def test_modality_ordering_with_all_rows_tied_is_not_a_holds():
    tied = claim(modality([1.0] * 3, [1.0] * 3, [1.0] * 3, [1.0] * 3), "modality-ordering")
    assert tied.verdict == INCONCLUSIVE and finding(tied, "mnist").open_reason == TIE  # every row at the ceiling
    low = claim(modality([0.7] * 3, [0.7] * 3, [0.7] * 3, [0.7] * 3), "modality-ordering")
    assert low.verdict == FAILS  # tied below the ceiling: the strict end (Language > Random) is at 0


def test_image_backbone_runs_do_not_form_a_group_of_their_own():
    checked = evaluate_claims(modality([0.9] * 3, [0.9] * 3, [0.8] * 3, [0.6] * 3), ABSENCE)
    assert [(g.profile, g.backbone) for g, _ in checked] == [("cpu", "minilm-l6")]


def ablation(values: dict[str, list[float]]):
    return frame(*[seeds("bit-xor", "fpt", v, options={"preset": p}) for p, v in values.items()])


def test_ablation_ordering_holds_and_reversed_fails():
    up = {"output-only": [0.55, 0.56, 0.55], "+ln": [0.97, 0.98, 0.97], "+input": [0.98, 0.98, 0.99], "+pos": [1.0, 1.0, 1.0]}
    assert claim(ablation(up), "ablation-ordering").verdict == HOLDS
    down = dict(zip(up, reversed(list(up.values()))))
    assert claim(ablation(down), "ablation-ordering").verdict == FAILS


# -- claim 7: tuned lr ----------------------------------------------------------------------------
def grid(task, model, by_lr: dict[float, list[float]], val_by_lr: dict[float, float]):
    return [r for lr, vals in by_lr.items() for s, v in enumerate(vals)
            for r in run_rows(task, model, s, v, lr=lr, val=val_by_lr[lr])]


def test_tuned_lr_uses_the_validation_selection_and_flips_with_the_sign():
    pytest.importorskip("benchmark.selection")
    full = grid("mnist", "full", {1e-5: [0.9] * 3, 1e-4: [0.97, 0.975, 0.97], 1e-3: [0.5, 0.5, 0.5]},
                {1e-5: 0.9, 1e-4: 0.97, 1e-3: 0.5})
    fpt = grid("mnist", "fpt", {1e-4: [0.80, 0.8, 0.8], 1e-3: [0.93, 0.935, 0.93], 1e-2: [0.6] * 3},
               {1e-4: 0.8, 1e-3: 0.93, 1e-2: 0.6})
    r = claim(frame(full, fpt), "tuned-lr-full-overtakes")
    f = finding(r, "mnist")
    assert f.verdict == HOLDS and "lr 0.0001" in f.what and "lr 0.001" in f.what
    assert finding(r, "listops").verdict == NOT_MEASURED and r.verdict == HOLDS and "listops" in r.reason
    # a test-set winner that validation does not pick must not be chosen: full's best *test* lr is hidden by val
    trap = grid("mnist", "full", {1e-5: [0.9] * 3, 1e-4: [0.97, 0.975, 0.97], 1e-3: [0.99, 0.99, 0.99]},
                {1e-5: 0.9, 1e-4: 0.97, 1e-3: 0.1})
    fpt_hi = grid("mnist", "fpt", {1e-4: [0.8, 0.8, 0.8], 1e-3: [0.99, 0.99, 0.995], 1e-2: [0.6] * 3},
                  {1e-4: 0.8, 1e-3: 0.93, 1e-2: 0.6})
    assert finding(claim(frame(trap, fpt_hi), "tuned-lr-full-overtakes"), "mnist").verdict == FAILS


def test_tuned_lr_at_the_edge_of_its_grid_is_open_until_the_grid_is_widened():
    pytest.importorskip("benchmark.selection")
    full = grid("mnist", "full", {1e-4: [0.97, 0.975, 0.97], 1e-3: [0.5] * 3}, {1e-4: 0.97, 1e-3: 0.5})
    fpt = grid("mnist", "fpt", {1e-4: [0.80] * 3, 1e-3: [0.93] * 3, 1e-2: [0.6] * 3}, {1e-4: 0.8, 1e-3: 0.93, 1e-2: 0.6})
    f = finding(claim(frame(full, fpt), "tuned-lr-full-overtakes"), "mnist")
    assert f.verdict == INCONCLUSIVE and f.open_reason == GRID_EDGE and "lowest tried" in f.note
    r = claim(frame(full, fpt), "tuned-lr-full-overtakes")
    assert any("--model full" in c and "lr=1e-05" in c for c in r.commands)  # the widening run


def test_tuned_lr_without_a_grid_is_not_measured_with_the_grid_commands():
    r = claim(frame(seeds("mnist", "fpt", [0.9, 0.9, 0.9]), seeds("mnist", "full", [0.9, 0.9, 0.9])),
              "tuned-lr-full-overtakes")
    assert r.verdict == NOT_MEASURED
    mnist = [c for c in r.commands if "--task mnist" in c]
    assert any("--model full" in c and "--budget lr=0.0001" in c for c in mnist)
    assert not any("--model fpt" in c and "lr=0.001 " in c for c in mnist)  # the lr it already has
    listops_fpt = [c for c in r.commands if "--task listops --model fpt" in c]
    assert len(listops_fpt) == len(LR_GRID) and sum("--budget" not in c for c in listops_fpt) == 1  # profile's lr: no override


def test_tuned_lr_with_an_injected_selector_reads_its_documented_fields():
    def pick_middle(runs):  # a stand-in selector: the documented record fields only
        rec = []
        for (task, model, backbone), g in runs.groupby(["task", "model", "backbone"]):
            lrs = sorted({json.loads(c)["budget"]["lr"] for c in g.config})
            rec.append({"task": task, "model": model, "backbone": backbone, "lr_selected": lrs[1]})
        return pd.DataFrame(rec)

    full = grid("mnist", "full", {1e-5: [0.1] * 3, 1e-4: [0.9, 0.9, 0.91], 1e-3: [0.1] * 3}, {1e-5: 0.1, 1e-4: 0.9, 1e-3: 0.1})
    fpt = grid("mnist", "fpt", {1e-5: [0.9] * 3, 1e-4: [0.5, 0.5, 0.51], 1e-3: [0.99] * 3}, {1e-5: 0.9, 1e-4: 0.5, 1e-3: 0.99})
    assert finding(claim(frame(full, fpt), "tuned-lr-full-overtakes", select=pick_middle), "mnist").verdict == HOLDS


# -- claim 8: FPT vs from scratch, each at its tuned lr ------------------------------------------------
def test_tuned_scratch_claim_selects_each_methods_lr_and_applies_the_margin():
    pytest.importorskip("benchmark.selection")
    # from scratch collapses at the paper's 1e-3 and solves the task at 1e-4; FPT is best at 1e-3
    scratch = grid("bit-xor", "random-full", {1e-5: [0.9] * 3, 1e-4: [1.0, 1.0, 0.999], 1e-3: [0.505] * 3},
                   {1e-5: 0.9, 1e-4: 1.0, 1e-3: 0.505})
    fpt = grid("bit-xor", "fpt", {1e-4: [0.9, 0.9, 0.91], 1e-3: [0.99, 0.99, 0.99], 1e-2: [0.6] * 3},
               {1e-4: 0.9, 1e-3: 0.99, 1e-2: 0.6})
    r = claim(frame(scratch, fpt), "tuned-lr-fpt-matches-scratch")
    f = finding(r, "bit-xor")
    assert f.verdict == HOLDS and "FPT (lr 0.001)" in f.what and "random-full (lr 0.0001)" in f.what
    # FPT far below the tuned from-scratch model: does not hold
    weak = grid("bit-xor", "fpt", {1e-4: [0.6, 0.6, 0.61], 1e-3: [0.7, 0.7, 0.71], 1e-2: [0.5] * 3},
                {1e-4: 0.6, 1e-3: 0.7, 1e-2: 0.5})
    assert finding(claim(frame(scratch, weak), "tuned-lr-fpt-matches-scratch"), "bit-xor").verdict == FAILS
    # a half-finished grid (one seed at 1e-4) leaves one eligible rate: not measured, never a selection among one
    partial = grid("bit-xor", "random-full", {1e-4: [1.0], 1e-3: [0.505] * 3}, {1e-4: 1.0, 1e-3: 0.505})
    f = finding(claim(frame(partial, fpt), "tuned-lr-fpt-matches-scratch"), "bit-xor")
    assert f.verdict == NOT_MEASURED and "at least 2 are needed" in f.note
    # one lr for from scratch: not measured, with the grid's commands for the rates it lacks
    r = claim(frame(seeds("bit-xor", "random-full", [0.5] * 3), fpt), "tuned-lr-fpt-matches-scratch")
    assert finding(r, "bit-xor").verdict == NOT_MEASURED
    assert any("--task bit-xor --model random-full" in c and "--budget lr=0.0001" in c for c in r.commands)


# -- one verdict per claim and backbone, every profile as evidence ----------------------------------------
def test_two_profiles_give_one_verdict_decided_by_the_longer_budget():
    runs = frame(seeds("mnist", "fpt", [0.2, 0.2, 0.21], profile="cpu-long", steps=700),
                 seeds("mnist", "random-frozen", [0.5, 0.5, 0.5], profile="cpu-long", steps=700),
                 seeds("mnist", "fpt", [0.9, 0.9, 0.91], profile="cpu-converge", steps=3000),
                 seeds("mnist", "random-frozen", [0.5, 0.5, 0.5], profile="cpu-converge", steps=3000))
    (group, (r,)), = checked(runs, ["language-beats-random"])
    assert group.profiles == ("cpu-long", "cpu-converge") and group.backbone == "minilm-l6"
    assert r.verdict == HOLDS  # cpu-long's 700 steps said "does not hold"; cpu-converge's 3000 decide
    live = [f for f in r.findings if f.task == "mnist" and not f.superseded]
    old = [f for f in r.findings if f.task == "mnist" and f.superseded]
    assert [f.profile for f in live] == ["cpu-converge"] and [f.profile for f in old] == ["cpu-long"]
    assert old[0].verdict == FAILS and "cpu-converge (3,000 steps)" in old[0].superseded
    assert "3,000 steps" in r.evidence and "700" not in r.evidence
    block = readme_block(checked(runs, ["language-beats-random"]))
    assert block.count("| 3. ") == 1 and "superseded" not in block


def test_render_writes_identical_markdown_and_json_twice(tmp_path):
    runs = frame(BIT_OK, seeds("bit-memory", "lstm", [0.6, 0.6, 0.61], backbone="none"))
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    pa = render_claims(runs, a, ABSENCE)
    pb = render_claims(runs, b, ABSENCE)
    assert [p.read_bytes() for p in pa] == [p.read_bytes() for p in pb]
    data = json.loads((a / "claims.json").read_text())
    # the backbone with runs, then each backbone a registered profile plans (no runs here: open, "no runs")
    assert [g["backbone"] for g in data["groups"]][0] == "minilm-l6" and data["groups"][0]["profiles"] == ["cpu"]
    assert all(not g["has_runs"] for g in data["groups"][1:])
    verdicts = {c["name"]: c["verdict"] for c in data["groups"][0]["claims"]}
    assert len(verdicts) == len(all_claims())
    # no curves or predictions stored: nothing shows the rows converged, so nothing is decided against them
    assert verdicts["bit-tasks-solved"] != FAILS
    md = (a / "claims.md").read_text()
    assert "backbone `minilm-l6` (stand-in for gpt2), profiles `cpu`" in md
    from report.claims.planned import planned_backbones

    assert json.loads(to_json(evaluate_claims(runs, ABSENCE, planned=planned_backbones()))) == data


# -- README block ---------------------------------------------------------------------------------
def test_readme_block_is_one_table_with_short_rows_spliced_between_markers_and_checked(tmp_path):
    from benchmark.errors import FptError
    from report.claims.readme import BEGIN, END, update_readme

    runs = frame(BIT_OK, seeds("bit-memory", "lstm", [0.6, 0.6, 0.61], backbone="none"))
    block = readme_block(checked(runs), "report/x/claims.md")
    rows = [ln for ln in block.splitlines() if ln.startswith("| ")]
    assert len(rows) == 1 + len(all_claims()) and all(len(r) <= 210 for r in rows)
    assert "FPT 99.8% on bit-memory" in block  # the evidence: numbers in plain words
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n{BEGIN}\nstale text\n{END}\n\nrest\n", encoding="utf-8")
    assert update_readme(readme, block, check=True) is False
    assert "stale text" in readme.read_text()  # --check never writes
    assert update_readme(readme, block) is False
    text = readme.read_text()
    assert "stale text" not in text and text.startswith("# title\n") and text.endswith("\nrest\n")
    assert "report/x/claims.md" in text and "✅ holds" in text
    assert update_readme(readme, block, check=True) is True
    readme.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(FptError, match="no claims block"):
        update_readme(readme, block)


def test_the_report_renders_the_claims_and_check_covers_them(tmp_path):
    from benchmark.results import write_table
    from report.render import check_report, render_report

    results = tmp_path / "results"
    runs = frame(BIT_OK, seeds("bit-memory", "lstm", [0.6, 0.6, 0.61], backbone="none"))
    for run_id, rows in runs.groupby("run_id"):
        write_table(results, "runs", run_id, rows.to_dict("records"))
    for run_id, rows in flat_curves(runs).groupby("run_id"):
        write_table(results, "curves", run_id, rows.to_dict("records"))
    out = tmp_path / "report"
    written = render_report([results], out, formats="md", figures=False)
    assert out / "claims.md" in written and out / "claims.json" in written
    assert "bit-tasks-solved" in (out / "claims.json").read_text()
    assert check_report(out) == []
    (out / "claims.md").write_text("edited\n", encoding="utf-8")
    assert check_report(out) == ["claims.md: differs"]


def test_leaderboard_section_goes_before_the_first_track_and_names_the_group():
    from report.claims.html import insert_claims_section

    runs = frame(BIT_OK, seeds("bit-memory", "lstm", [0.6, 0.6, 0.61], backbone="none"))
    page = '<html><body><h1>x</h1>\n<section id="track-open">t</section></body></html>'
    out = insert_claims_section(page, runs)
    assert out.index('<section id="claims">') < out.index('<section id="track-open">')
    assert "backbone minilm-l6" in out and "profiles cpu" in out and 'class="claim-' in out
    assert insert_claims_section(page, runs) == out  # deterministic (the site is checked byte for byte)
    assert "needs data" not in out  # machine-independent reasons only


def test_a_task_with_several_parts_names_the_part_each_verdict_is_about():
    # FPT fails Bit Memory while the LSTM row there was never run: the reason must not read
    # "does not hold on bit-memory; not measured: bit-memory"
    runs = frame(seeds("bit-memory", "fpt", [0.75, 0.76, 0.75]), seeds("bit-xor", "fpt", [1.0, 1.0, 1.0]))
    r = claim(runs, "bit-tasks-solved")
    assert r.verdict == FAILS
    assert "does not hold on bit-memory (FPT)" in r.reason
    assert "not measured: bit-memory (LSTM)" in r.reason
    # a task with one finding keeps its bare name
    r3 = claim(frame(seeds("bit-xor", "fpt", [0.9, 0.92, 0.91]), seeds("bit-xor", "random-frozen", [0.5, 0.5, 0.52])),
               "language-beats-random")
    assert r3.reason.startswith("holds on bit-xor;") and "not measured: bit-memory, " in r3.reason


def test_a_claim_that_fails_on_one_task_still_names_where_it_holds():
    """'does not hold on bit-xor' alone hides that the claim held on Bit Memory and MNIST."""
    from report.claims.rules import Finding, combine

    verdict, reason = combine([Finding("bit-xor", "gain", FAILS), Finding("bit-memory", "gain", HOLDS),
                               Finding("mnist", "gain", HOLDS), Finding("listops", "gain", INCONCLUSIVE, open_reason=EARLY),
                               Finding("cifar10", "gain", NOT_MEASURED)])
    assert verdict == FAILS
    assert reason == ("does not hold on bit-xor; holds on bit-memory, mnist; open on listops (early training); "
                      "not measured: cifar10")


def test_claim_2_takes_from_scratch_at_its_validation_selected_rate_where_a_grid_exists():
    pytest.importorskip("benchmark.selection")
    fpt = seeds("bit-xor", "fpt", [1.0, 1.0, 0.999])
    scratch = grid("bit-xor", "random-full", {1e-5: [0.9] * 3, 1e-4: [1.0, 0.999, 1.0], 1e-3: [0.505] * 3},
                   {1e-5: 0.9, 1e-4: 1.0, 1e-3: 0.505})
    f = finding(claim(frame(fpt, scratch), "fpt-matches-scratch"), "bit-xor")
    assert f.verdict == HOLDS and "lr 0.0001, selected on validation" in f.what and f.means["random-full"] > 99
    edge = grid("bit-xor", "random-full", {1e-4: [1.0, 0.999, 1.0], 1e-3: [0.505] * 3}, {1e-4: 1.0, 1e-3: 0.505})
    f = finding(claim(frame(fpt, edge), "fpt-matches-scratch"), "bit-xor")
    assert f.verdict == INCONCLUSIVE and f.open_reason == GRID_EDGE
    plain = finding(claim(frame(fpt, seeds("bit-xor", "random-full", [0.99, 1.0, 1.0])), "fpt-matches-scratch"), "bit-xor")
    assert plain.verdict == HOLDS and "selected" not in plain.what  # one rate: the profile's own


def test_the_details_page_states_every_deciding_rows_status_per_task():
    from report.claims import to_markdown

    runs = frame(seeds("mnist", "fpt", [0.9, 0.91, 0.9]), seeds("mnist", "random-frozen", [0.5, 0.5, 0.51]),
                 seeds("bit-xor", "fpt", [1.0, 1.0, 1.0]), seeds("bit-xor", "random-frozen", [0.6, 0.6, 0.61]))
    md = to_markdown(checked(runs, ["language-beats-random"]))
    for task in ("bit-xor", "mnist"):
        assert f"- {task}, `cpu`, FPT: trained; validation curve flat" in md
        assert f"- {task}, `cpu`, random-frozen: trained" in md
