"""Render a GateReport: a control / treatment / delta table, improvements marked apart from regressions."""

from __future__ import annotations

import json
import math
from dataclasses import asdict

from .compare import GateReport, KeyVerdict


def _stt(x: float) -> str:
    if math.isnan(x):
        return "-"
    return "never" if math.isinf(x) else f"{x:.0f}"


def _row(v: KeyVerdict) -> list[str]:
    ratio = v.stt_ratio
    return [
        v.task, v.model, v.backbone, f"{len(v.ref_values)}/{len(v.new_values)}",
        f"{v.ref_mean:.4f}±{v.ref_sd:.4f}", f"{v.new_mean:.4f}±{v.new_sd:.4f}",
        f"{v.delta:+.4f}" + ("p" if v.paired else ""), f"{v.tol:.4f}", f"{v.worst:+.4f}", f"{v.tol_seed:.4f}",
        _stt(v.ref_stt), _stt(v.new_stt), "-" if math.isnan(ratio) else ("inf" if math.isinf(ratio) else f"x{ratio:.2f}"),
        v.label,
    ]


HEADER = ["task", "model", "backbone", "seeds", "control", "treatment", "delta", "tol", "worst", "tol1",
          "stt ctl", "stt trt", "ratio", "verdict"]


def render(report: GateReport) -> str:
    """The table plus one line per finding and a final PASS/FAIL line."""
    rows = [HEADER] + [_row(v) for v in report.verdicts]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    cfg = report.config
    lines.append("")
    lines.append(f"control = reference, treatment = these results; metric = test {report.verdicts[0].metric} "
                 "(mean±sd over seeds). delta: paired mean difference over matching seeds (p), else difference "
                 "of means; worst: worst paired seed difference, else worst seed minus the reference's worst seed. "
                 f"tol / tol1: allowed drop of the mean / of one seed (per-key floors sized from measured noise; "
                 f"unpaired: at least {cfg.k:g} reference seed SDs). stt: median steps to the key's target "
                 "(every reference seed reaches it: every fresh seed must; 'never' fails)")
    ex = report.exact
    lines.append(f"tier: {ex.tier} -- {ex.reason}")
    for v in report.regressions:
        lines.append(f"REGRESSION {v.task}/{v.model}/{v.backbone}: " + "; ".join(v.reasons))
    for v in report.improvements:
        lines.append(f"improvement {v.task}/{v.model}/{v.backbone}: {v.label[len('improved '):]} "
                     "(not a failure; run `fptbench reference update` to adopt it as the new reference)")
    if ex.applied:
        state = "bit-identical" if not ex.mismatches else f"{len(ex.mismatches)} DIFFER"
        lines.append(f"determinism ({ex.reason}): {ex.identical}/{ex.runs} runs with the reference's exact "
                     f"configuration reproduced exactly; {state}" + (" (report only)" if ex.mode == "report" else ""))
        for m in ex.mismatches[:10]:
            lines.append(f"  not reproduced: {m}")
        if ex.failed:
            lines.append("  on the reference's machine (same CPU and ISA flags, versions, BLAS, threads, precision) the "
                         "same config must give the same numbers: a mismatch is a numerics change in the code; if it "
                         "is intended, `fptbench reference update`")
    for key in report.missing:
        lines.append(f"missing: {'/'.join(key)} is in the reference but not in the results"
                     + (" (fails with --require-all)" if not cfg.require_all else " (REQUIRED)"))
    for key in report.unreferenced:
        lines.append(f"no reference: {'/'.join(key)} (not gated; `fptbench reference update` adds it)")
    n = len(report.verdicts)
    if report.failed:
        lines.append(f"FAIL: {len(report.regressions)} of {n} comparisons regressed"
                     + ("; determinism check failed" if ex.failed else "")
                     + ("; reference keys missing" if cfg.require_all and report.missing else ""))
    else:
        lines.append(f"PASS: no regression in {n} comparisons ({len(report.improvements)} improved)")
    return "\n".join(lines)


def to_json(report: GateReport) -> str:
    def clean(x):
        if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
            return None if math.isnan(x) else "inf"
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    out = {
        "failed": report.failed,
        "exit_code": report.exit_code,
        "verdicts": [{**asdict(v), "delta": v.delta, "label": v.label} for v in report.verdicts],
        "determinism": asdict(report.exact),
        "missing": [list(k) for k in report.missing],
        "unreferenced": [list(k) for k in report.unreferenced],
        "config": asdict(report.config),
    }
    return json.dumps(clean(out), indent=2)
