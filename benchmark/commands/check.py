"""CI-gate subcommands: ``fptbench check`` (compare with a reference) and ``fptbench reference update``
(``baseline update``, its old name, is a hidden alias).

Exit codes of ``check``: 0 no regression, 1 regression (or, on the reference's machine, a determinism
mismatch in strict mode), 2 bad input (missing reference, nothing to compare), 3 a task's data is not
prepared, 4 task fingerprints differ (not comparable), 5 ``--require-all`` and reference keys have no
fresh results (a regression among the others still exits 1). ``check --calibrate`` measures the gate's false-alarm rate and power instead.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from ..cli import DEFAULT_RESULTS, args, command

DEFAULT_REFERENCE = "results/reference/ci"


def _gate_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("gate tolerances")
    g.add_argument("--abs-tol", type=float, default=None,
                   help="override every key's floor for a drop of the mean (default: the per-key floors of the "
                   "reference's profile, sized from measured noise; the one-seed floor becomes 2x this)")
    g.add_argument("--k", type=float, default=2.0,
                   help="unpaired comparisons (other seeds): allow k reference seed SDs if larger (default 2)")
    g.add_argument("--factor", type=float, default=None,
                   help="override the allowed growth of the median steps-to-target (default: per key, 1.25)")
    g.add_argument("--determinism", choices=("strict", "report", "off"),
                   default=os.environ.get("FPTBENCH_DETERMINISM", "strict"),
                   help="on a machine whose fingerprint matches the reference's: strict fails unless "
                   "bit-identical (default, or $FPTBENCH_DETERMINISM), report only prints it, off skips it; on "
                   "any other machine the statistical tier decides alone")


def _gate_config(a: argparse.Namespace):
    from ..gate import GateConfig

    return GateConfig(abs_tol=a.abs_tol, k=a.k, factor=a.factor, determinism=a.determinism,
                      require_all=getattr(a, "require_all", False))


def _check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reference", default=DEFAULT_REFERENCE,
                   help=f"reference results dir or runs Parquet file (default {DEFAULT_REFERENCE})")
    p.add_argument("--results", default=DEFAULT_RESULTS, help=f"fresh results dir (default {DEFAULT_RESULTS})")
    p.add_argument("--require-all", action="store_true", help="fail (exit 5) when a reference key has no fresh results")
    p.add_argument("--json", action="store_true", help="print the verdicts as JSON instead of the table")
    p.add_argument("--calibrate", action="store_true",
                   help="instead of checking: run noise-only variants and injected regressions of the reference's "
                   "profile and print how often each trips the gate (costly: minutes of CPU per variant)")
    p.add_argument("--calibrate-dir", default=None, help="where --calibrate keeps its sweeps (default: a temp dir)")
    p.add_argument("--only", default=None, help="--calibrate: comma-separated variant names to run")
    p.add_argument("--no-train", action="store_true",
                   help="--calibrate: train nothing, re-judge the sweeps already in --calibrate-dir")
    _gate_args(p)


@command("check", "compare fresh results with a reference (the CI gate): exit 1 on a regression, 5 on missing keys with --require-all", group="ci")
@args(_check_args)
def cmd_check(a: argparse.Namespace) -> int:
    if a.calibrate:
        from ..gate.calibrate import run_calibration

        return run_calibration(a.reference, _gate_config(a), workdir=a.calibrate_dir,
                               only=a.only.split(",") if a.only else None, train=not a.no_train)
    report = check_dirs(a.reference, a.results, _gate_config(a))
    from ..gate.table import render, to_json

    print(to_json(report) if a.json else render(report))
    return report.exit_code


def check_dirs(reference: str | Path, results: str | Path, cfg):
    """Compare two results directories with curves and machine fingerprints (what `check` prints)."""
    from ..gate import compare_frames
    from ..gate.fingerprint import read_fingerprint
    from ..gate.reference import load_curves, load_fingerprint, load_runs, results_fingerprint

    ref = load_runs(reference, "reference")
    new = load_runs(results, "results")
    new_fp = read_fingerprint(results) if Path(results).is_dir() else None
    return compare_frames(ref, new, cfg, ref_curves=load_curves(reference), new_curves=load_curves(results),
                          ref_fingerprint=load_fingerprint(reference),
                          new_fingerprint=new_fp or results_fingerprint(new))


def _baseline_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    u = sub.add_parser("update", help="rerun the profile's suite and replace the reference (prints the diff)")
    u.add_argument("--profile", default="ci", help="the profile whose suite the reference holds")
    u.add_argument("--reference", default=None, help="reference dir (default results/reference/<profile>)")
    u.add_argument("--from-results", default=None,
                   help="adopt this finished sweep instead of rerunning (it must hold the whole suite)")
    u.add_argument("--device", default="auto", help="device of the rerun: auto, cpu, cuda, mps")
    u.add_argument("--dry-run", action="store_true", help="print the diff, keep the old reference")
    u.add_argument("--progress", action="store_true", help="show the sweep's progress bar")
    _gate_args(u)


@command("reference", "regenerate the CI gate's reference deliberately: `fptbench reference update [--profile ci]`", group="ci")
@command("baseline", "old name of `reference` (kept as an alias)", group="ci", hidden=True)
@args(_baseline_args)
def cmd_baseline(a: argparse.Namespace) -> int:
    from ..errors import FptError
    from ..gate.reference import fresh_dir, load_runs, replace_reference, results_fingerprint, run_profile
    from ..gate.table import render

    reference = Path(a.reference or f"results/reference/{a.profile}")
    if a.from_results:
        fresh, cleanup = Path(a.from_results), False
    else:
        fresh, cleanup = fresh_dir(reference), True
    try:
        if not a.from_results:
            print(f"running profile '{a.profile}' into {fresh} ...", flush=True)
            if run_profile(a.profile, fresh, a.device, a.progress) != 0:
                raise FptError(f"the '{a.profile}' sweep had failing runs; the reference was left unchanged")
        new = load_runs(fresh, "results")
        new = new[new.profile == a.profile]
        if new.empty:
            raise FptError(f"no runs of profile '{a.profile}' in {fresh}; the reference was left unchanged")
        if (reference / "runs").is_dir():
            print(f"diff against the old reference {reference} (control = old, treatment = new):")
            try:
                print(render(check_dirs(reference, fresh, _gate_config(a))))
            except FptError as exc:  # a changed task is exactly why one updates: show it, do not stop
                print(f"(not comparable with the old reference: {exc})")
        else:
            print(f"no previous reference at {reference}")
        if a.dry_run:
            print("dry run: reference left unchanged")
            return 0
        if a.from_results:  # copy only this profile's runs
            scratch = fresh_dir(reference)
            try:
                _copy_profile(fresh, scratch, set(new.run_id))
                n = replace_reference(reference, scratch, results_fingerprint(new))
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        else:
            n = replace_reference(reference, fresh, results_fingerprint(new))
        print(f"reference {reference} replaced with {n} runs and this machine's fingerprint "
              f"({reference / 'fingerprint.json'}); review and commit it", file=sys.stderr)
        return 0
    finally:
        if cleanup:
            shutil.rmtree(fresh, ignore_errors=True)


def _copy_profile(src: Path, dst: Path, run_ids: set[str]) -> None:
    for table in ("runs", "curves"):
        for run_id in run_ids:
            f = src / table / f"{run_id}.parquet"
            if f.exists():
                (dst / table).mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, dst / table / f.name)
