"""Submitting a model: ``fptbench mock-run`` (check an adapter in seconds) and ``fptbench submit``
(pack a finished sweep into one verifiable file for ``fptbench leaderboard --add``)."""

from __future__ import annotations

import argparse
import sys

from ..cli import args, command, parse_options


def _mock_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="a registered name or package.module:Class")
    p.add_argument("--backbone", default=None, metavar="NAME|FOLDER|hf:ID",
                   help="as for `fptbench run` (default: the model's own)")
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="model option (JSON values), repeatable")
    p.add_argument("--task", action="append", help="check only this task (repeatable; default: every registered task)")
    p.add_argument("--seed", type=int, default=0, help="seed of the mock data and the model's init")
    p.add_argument("--json", action="store_true", help="print the verdict, tasks, notes and failures as JSON")


@command("mock-run", "check a model adapter on tiny mock versions of every task (no data needed, seconds on a CPU)",
         group="run")
@args(_mock_args)
def cmd_mock_run(a: argparse.Namespace) -> int:
    from ..mock_run import mock_run

    report = mock_run(a.model, a.backbone, parse_options(a.option), a.task, a.seed)
    if a.json:
        import json

        print(json.dumps({"model": a.model, "backbone": report.backbone, "ok": report.ok, "tasks": list(report.tasks),
                          "notes": list(report.notes), "failures": list(report.failures),
                          "seconds": round(report.seconds, 2)}, indent=2))
        return 0 if report.ok else 1
    for note in report.notes:
        print(f"note: {note}")
    for line in report.failures:
        print(f"FAIL {line}", file=sys.stderr)
    verdict = "ok" if report.ok else f"{len(report.failures)} failure(s)"
    print(f"mock-run {a.model} (backbone {report.backbone}): {len(report.tasks)} task(s) checked, {verdict} "
          f"in {report.seconds:.1f}s")
    return 0 if report.ok else 1


def _submit_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", required=True, help="the results directory of your finished sweep")
    p.add_argument("--name", required=True, help="who submits (letters, digits, . _ -), shown on the leaderboard")
    p.add_argument("--out", default=None, help="submission file to write (default <name>.fptbench.zip)")
    p.add_argument("--note", default="", help="free text stored in the manifest (max 512 characters)")
    p.add_argument("--json", action="store_true", help="print the file, run count and adapters as JSON")


@command("submit", "pack a finished sweep (results, configs, environment, adapter source hash) into one file",
         group="share")
@args(_submit_args)
def cmd_submit(a: argparse.Namespace) -> int:
    from ..submission import check_name, pack

    out = a.out or f"{check_name(a.name)}.fptbench.zip"
    manifest = pack(a.results, a.name, out, note=a.note)
    if a.json:
        import json

        print(json.dumps({"file": str(out), "name": a.name, "runs": len(manifest["runs"]), "adapters": manifest["adapters"]},
                         indent=2, default=str))
        return 0
    models = ", ".join(f"{m} ({v['class']}, source sha256 {v['module_source_sha256'][:12]})"
                       for m, v in manifest["adapters"].items())
    print(f"wrote {out}: {len(manifest['runs'])} runs by '{a.name}'; adapters: {models}")
    print(f"add it with: fptbench leaderboard --add {out}")
    return 0

