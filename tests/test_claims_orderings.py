"""The claims' rules, continued: orderings (modality, ablation), tuned learning rates, two profiles, and the
rendered outputs. Fixtures are test_claims.py's (fabricated runs with edited values)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from report.claims import (FAILS, HOLDS, INCONCLUSIVE, NOT_MEASURED, all_claims, evaluate_claims, readme_block,
                           render_claims, to_json)
from report.claims.base import EARLY, GRID_EDGE, TIE
from report.claims.paper import LR_GRID
from test_claims import ABSENCE, BIT_OK, checked, claim, finding, flat_curves, frame, run_rows, seeds


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
