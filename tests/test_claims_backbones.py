"""The claims on two backbones: one verdict set per backbone, the agreement line, and a planned backbone
with no runs that reads open "no runs" (never a verdict). Frames are fabricated with test_claims' helpers
(the results schema), with the second backbone's runs carrying its own recorded stand-in text.
Mutations tried: ``agreement`` calling an open verdict comparable fails test_agreement_*; dropping the
planned group in ``claim_groups`` fails test_a_planned_backbone_*; the no-runs verdict set to holds fails it too.
"""

from __future__ import annotations

from report.claims import HOLDS, OPEN, evaluate_claims, readme_block, to_json
from report.claims.output import NO_RUNS, NOT_COMPARABLE, agreement, agreements
from report.claims.planned import planned_backbones
from test_claims import ABSENCE, flat_curves, frame, seeds, two_class_predictions

SMOL = "smollm2-135m"
SMOL_LANG = "language (HuggingFaceTB/SmolLM2-135M-Instruct, 4-bit GGUF dequantized)"


def _pretraining_rows(backbone: str, fpt: list[float], rnd: list[float], **kw) -> list[list[dict]]:
    pre = SMOL_LANG if backbone == SMOL else "language (sentence-transformers/all-MiniLM-L6-v2)"
    return [seeds("mnist", "fpt", fpt, backbone=backbone, pretrained_on=pre, **kw),
            seeds("mnist", "random-frozen", rnd, backbone=backbone, pretrained_on=pre, **kw)]


def _check(runs, planned=None):
    return evaluate_claims(runs, ABSENCE, curves=flat_curves(runs), predictions=two_class_predictions(runs),
                           names=["language-beats-random"], planned=planned)


def _verdicts(checked) -> dict[str, str]:
    return {g.backbone: results[0].verdict for g, results in checked}


def test_two_backbones_give_two_verdict_sets_and_agree():
    runs = frame(*_pretraining_rows("minilm-l6", [0.9, 0.91, 0.92], [0.6, 0.62, 0.61]),
                 *_pretraining_rows(SMOL, [0.8, 0.82, 0.81], [0.5, 0.52, 0.55]))
    checked = _check(runs)
    assert [g.backbone for g, _ in checked] == ["minilm-l6", SMOL]  # the headline backbone first
    assert _verdicts(checked) == {"minilm-l6": HOLDS, SMOL: HOLDS}
    assert agreements(checked) == {"language-beats-random": f"agree ({HOLDS})"}


def test_two_backbones_that_differ_disagree_in_the_readme_row():
    runs = frame(*_pretraining_rows("minilm-l6", [0.9, 0.91, 0.92], [0.6, 0.62, 0.61]),
                 *_pretraining_rows(SMOL, [0.5, 0.52, 0.51], [0.8, 0.82, 0.81]))
    checked = _check(runs)
    assert _verdicts(checked) == {"minilm-l6": HOLDS, SMOL: "does not hold"}
    block = readme_block(checked)
    row = next(line for line in block.splitlines() if line.startswith("| 3."))
    assert row.endswith("| disagree |") and len(row) < 220


def test_agreement_needs_decisive_verdicts_on_every_backbone():
    assert agreement([HOLDS, OPEN]) == NOT_COMPARABLE
    assert agreement([HOLDS, HOLDS]) == f"agree ({HOLDS})"
    assert agreement(["does not hold", HOLDS]) == "disagree"
    assert agreement([HOLDS]) == ""


def test_a_planned_backbone_without_runs_reads_open_no_runs():
    runs = frame(*_pretraining_rows("minilm-l6", [0.9, 0.91, 0.92], [0.6, 0.62, 0.61]))
    checked = _check(runs, planned={SMOL: ("cpu-converge-smollm2",)})
    (g1, r1), (g2, r2) = checked
    assert (g1.backbone, g1.has_runs, r1[0].verdict) == ("minilm-l6", True, HOLDS)
    assert (g2.backbone, g2.has_runs, r2[0].verdict) == (SMOL, False, OPEN)
    assert r2[0].reason.startswith(NO_RUNS) and r2[0].evidence == NO_RUNS
    assert any("--profile cpu-converge-smollm2" in c for c in r2[0].commands)
    assert agreements(checked)["language-beats-random"] == NOT_COMPARABLE
    row = next(line for line in readme_block(checked).splitlines() if line.startswith("| 3."))
    assert f"open: {NO_RUNS}" in row and NOT_COMPARABLE in row
    import json

    payload = json.loads(to_json(checked))
    assert [g["has_runs"] for g in payload["groups"]] == [True, False]


def test_the_registered_profiles_plan_smollm2_and_minilm_but_not_gpu_or_image_backbones():
    planned = planned_backbones()
    assert "cpu-converge-smollm2" in planned[SMOL] and "cpu-converge" in planned["minilm-l6"]
    assert "gpt2" not in planned and "dinov2-s" not in planned


def test_claim6_on_a_backbone_without_positions_ends_at_input_and_says_why():
    pre = dict(backbone=SMOL, pretrained_on=SMOL_LANG)
    rows = [seeds("bit-xor", "fpt", [0.99, 0.99, 0.99], **pre)]
    for preset, v in (("output-only", 0.6), ("+ln", 0.8), ("+input", 0.99)):
        rows.append(seeds("bit-xor", "fpt", [v, v + 0.005, v - 0.005], options={"preset": preset}, **pre))
    runs = frame(*rows)
    (g, (r,)), = evaluate_claims(runs, ABSENCE, curves=flat_curves(runs), predictions=two_class_predictions(runs),
                                 names=["ablation-ordering"])
    assert g.backbone == SMOL
    assert "+pos does not apply" in r.reason and r.verdict != "not measured"
    assert not any("+pos" in c for c in r.commands)
    bitxor = [f for f in r.findings if f.task == "bit-xor"]
    assert bitxor and bitxor[0].what == "+input >= +ln >= output-only"
