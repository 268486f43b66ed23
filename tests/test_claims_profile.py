"""The ``cpu-long`` profile and its grids produce every row the claims compare (no training here).

A synthetic runs frame is built from the profile's suite and the ``cpu-long-*`` grid files exactly as
they expand (task, model, backbone, seed, preset, lr), and the claims are checked on it: every claim
must be *measured* on the tasks the profile is for. Dropping a row from the suite (a mutation) leaves
a claim unmeasured, which the second test proves.
"""

from __future__ import annotations

import pandas as pd

from benchmark.grid import load_grid
from benchmark.profiles import get_profile
from report.claims import NOT_MEASURED, evaluate_claims
from test_claims import ABSENCE, frame, run_rows

GRIDS = ("cpu-long-ablation-bitxor", "cpu-long-ablation-mnist", "cpu-long-lr-fpt", "cpu-long-lr-full",
         "cpu-long-lr-scratch")
# (claim, tasks it must be measured on by cpu-long)
COVERAGE = {
    "bit-tasks-solved": ("bit-memory", "bit-xor"),
    "fpt-matches-scratch": ("bit-memory", "bit-xor", "mnist", "listops"),
    "language-beats-random": ("bit-memory", "bit-xor", "mnist", "listops"),
    "fpt-converges-faster": ("bit-memory", "bit-xor", "mnist"),
    "modality-ordering": ("bit-xor", "mnist"),
    "ablation-ordering": ("bit-xor", "mnist"),
    "tuned-lr-full-overtakes": ("mnist",),
    "tuned-lr-fpt-matches-scratch": ("bit-xor", "mnist"),
}


def _lr(profile, task: str, model: str) -> float:
    return profile.budget(task, model, 3e-4 if model == "lstm" else None).lr


def cpu_long_frame(drop: tuple[str, str] | None = None) -> pd.DataFrame:
    """What `fptbench sweep --profile cpu-long` plus the cpu-long grids would write (values are placeholders)."""
    profile = get_profile("cpu-long")
    runs, seen = [], set()

    def add(task, model, backbone, seed, lr, options):
        key = (task, model, backbone, seed, lr, tuple(sorted(options.items())))
        if key in seen or (task, model) == drop:
            return  # a grid run at the profile's lr is the suite's own run
        seen.add(key)
        pre = "images" if backbone == "dinov2-s" else "language"
        runs.append(run_rows(task, model, seed, 0.5 + 0.01 * seed, backbone=backbone, lr=lr, options=options,
                             profile="cpu-long", pretrained_on=pre, stt=100))

    for e in profile.suite:
        for s in e.seeds:
            add(e.task, e.model, e.backbone or "none", s, _lr(profile, e.task, e.model), {})
    for name in GRIDS:
        g = load_grid(name)
        assert g.profile == "cpu-long"
        for task in g.tasks:
            for model in g.models:
                for bb in g.backbones:
                    for preset in g.presets:
                        for lr in g.lrs:
                            for s in g.seeds:
                                add(task, model, bb, s, lr if lr is not None else _lr(profile, task, model),
                                    {"preset": preset} if preset else {})
    return frame(*runs)


def _unmeasured(runs: pd.DataFrame) -> dict[str, list[str]]:
    (group, results), = evaluate_claims(runs, ABSENCE)
    assert (group.profile, group.backbone) == ("cpu-long", "minilm-l6")
    out = {}
    for r in results:
        if r.name in COVERAGE:
            out[r.name] = [t for t in COVERAGE[r.name]
                           if any(f.task == t and f.verdict == NOT_MEASURED for f in r.findings)
                           or not any(f.task == t for f in r.findings)]
    return out


def test_cpu_long_measures_every_claim_on_its_tasks():
    missing = _unmeasured(cpu_long_frame())
    assert missing == {name: [] for name in COVERAGE}, missing


def test_dropping_a_suite_row_leaves_a_claim_unmeasured():
    missing = _unmeasured(cpu_long_frame(drop=("bit-memory", "lstm")))
    assert missing["bit-tasks-solved"] == ["bit-memory"]


def test_cpu_long_budgets_pin_the_lstm_lr_and_keep_batch_sizes():
    p = get_profile("cpu-long")
    assert p.budget("mnist", "lstm", 3e-4).lr == 3e-4
    assert p.budget("bit-memory", "fpt").batch_size == 8 and p.budget("listops", "fpt").batch_size == 8
    seeds: dict[tuple, set] = {}
    for e in p.suite:
        seeds.setdefault((e.task, e.model, e.backbone), set()).update(e.seeds)
    assert all(len(s) >= 2 for s in seeds.values())  # fewer seeds could never settle a claim


# -- cpu-converge: Table 6 (claim 4) and claim 3 after longer training ------------------------------------
CONVERGE_TASKS = ("bit-memory", "bit-xor", "mnist")


def cpu_converge_frame() -> pd.DataFrame:
    """What `fptbench sweep --profile cpu-converge` would write (values and steps are placeholders)."""
    profile = get_profile("cpu-converge")
    runs = [run_rows(e.task, e.model, s, 0.9 if e.model == "fpt" else 0.6, profile="cpu-converge",
                     lr=_lr(profile, e.task, e.model), steps=profile.budget(e.task, e.model).steps,
                     stt=500 if e.model == "fpt" else None)
            for e in profile.suite for s in e.seeds]
    return frame(*runs)


def _converge_findings(runs: pd.DataFrame, claim_name: str) -> dict[str, str]:
    groups = {g.profile: results for g, results in evaluate_claims(runs, ABSENCE)}
    result = next(r for r in groups["cpu-converge"] if r.name == claim_name)
    return {f.task: f.verdict for f in result.findings}


def test_cpu_converge_measures_table6_and_pretraining_on_the_bit_tasks_and_mnist():
    runs = cpu_converge_frame()
    for name in ("fpt-converges-faster", "language-beats-random"):
        found = _converge_findings(runs, name)
        assert all(found.get(t) not in (None, NOT_MEASURED) for t in CONVERGE_TASKS), (name, found)


def test_cpu_converge_gives_both_rows_of_a_task_one_budget_and_three_seeds():
    """Table 2 and claim 3 compare FPT with random-frozen in this profile: unequal steps would be unfair."""
    p = get_profile("cpu-converge")
    for task in CONVERGE_TASKS:
        assert p.budget(task, "fpt") == p.budget(task, "random-frozen"), task
        assert p.budget(task, "fpt").steps > get_profile("cpu-long").budget(task, "fpt").steps
        # the evidence rows (LSTM, from scratch) train exactly as long as FPT on the same task
        for model in {e.model for e in p.suite if e.task == task}:
            assert p.budget(task, model).steps == p.budget(task, "fpt").steps, (task, model)
    planned = {(e.task, e.model, s) for e in p.suite for s in e.seeds}
    table6 = {(t, m, s) for t in CONVERGE_TASKS for m in ("fpt", "random-frozen") for s in (0, 1, 2)}
    assert table6 <= planned
    assert {(t, m, s) for t, m, s in planned - table6} == {
        (t, m, s) for t, m in (("bit-memory", "lstm"), ("bit-memory", "random-full"), ("mnist", "lstm")) for s in (0, 1, 2)}
    first = [(e.task, e.model, e.seeds) for e in p.suite[:18]]
    assert {(t, m, s) for t, m, (s,) in first} == table6  # Table 6's runs first, as they were committed
    assert [e.seeds for e in p.suite[:6]] == [(0,)] * 6  # seed 0 of every row first: a cut sitting has whole columns
