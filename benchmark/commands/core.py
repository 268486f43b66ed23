"""Core subcommands: list tasks, run one configuration (sweeps: commands/sweep.py; models: baselines/commands; report: report/commands)."""

from __future__ import annotations

import argparse
import json

from ..cli import DEFAULT_RESULTS, args, command, parse_options
from .sweep import cmd_sweep  # noqa: F401  (kept importable here: benchmark.gate.reference runs it)

# -- listing -----------------------------------------------------------------------------------
def _tasks_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", choices=["list", "validate"], default="list",
                   help="'validate' rebuilds splits and checks them against tasks/stats (same as `fptbench validate`)")
    p.add_argument("names", nargs="*", help="tasks to validate (default: every task whose data is present)")
    p.add_argument("--json", action="store_true")


@command("tasks", "list the registered tasks, or `tasks validate` them against their committed stats")
@args(_tasks_args)
def cmd_tasks(a: argparse.Namespace) -> int:
    if a.action == "validate":
        from .data import cmd_validate

        return cmd_validate(argparse.Namespace(tasks=a.names, write=False, stats_dir=None))
    from ..task import TASKS, get_task

    rows = []
    for name in TASKS.names():
        t = get_task(name)
        ok, how = t.available()
        s = t.spec
        rows.append({"name": name, "version": s.version, "modality": s.modality, "input": s.input_kind,
                     "input_dim": s.input_dim, "seq_len": s.seq_len, "outputs": f"{s.output_tokens}x{s.output_dim}",
                     "splits": {k: v.size for k, v in s.splits.items()}, "metric": s.metric, "threshold": s.threshold,
                     "status": "ready" if ok else (f"BAD data: run `{how}`" if how.endswith("--force")
                                                   else f"needs data: {how}")})
    if a.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['name']:<20} v{r['version']:<5} {r['modality']:<10} {r['input']:<10} seq {r['seq_len']:<5} "
                  f"out {r['outputs']:<8} {r['status']}")
    return 0


def parse_budget(items: list[str] | None) -> dict:
    """``--budget KEY=VALUE`` items, each typed by its Budget field (refused in one line otherwise)."""
    from ..errors import FptError
    from ..profiles import Budget

    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise FptError(f"--budget '{item}' is not KEY=VALUE, e.g. --budget eval_every=50")
        out[key.strip()] = Budget.parse_field(key.strip(), value)
    return out


# -- running -----------------------------------------------------------------------------------
def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", required=True)
    p.add_argument("--model", required=True, help="a registered name or package.module:Class")
    p.add_argument("--backbone", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--profile", default="cpu")
    p.add_argument("--max-steps", type=int, default=None, help="override the profile's step budget (recorded)")
    p.add_argument("--results", default=DEFAULT_RESULTS)
    p.add_argument("--device", default="auto")
    p.add_argument("--option", action="append", help="model option KEY=VALUE (JSON values), repeatable")
    p.add_argument("--budget", action="append", help="budget override KEY=VALUE, e.g. eval_every=50 (recorded)")
    p.add_argument("--no-progress", action="store_true")


@command("run", "train and evaluate one (task, model, seed); resumes or skips when rerun")
@args(_run_args)
def cmd_run(a: argparse.Namespace) -> int:
    import pandas as pd

    from ..results import run_path
    from ..runner import plan, run

    planned = plan(a.task, a.model, backbone=a.backbone, seed=a.seed, profile=a.profile, max_steps=a.max_steps,
                   device=a.device, options=parse_options(a.option), budget_overrides=parse_budget(a.budget))
    cfg = planned.config
    status = run(planned, a.results, progress=not a.no_progress)
    df = pd.read_parquet(run_path(a.results, cfg.run_id))  # this run's own rows (others may be mid-write)
    print(f"{cfg.run_id}: {status}")
    for r in df.itertuples():
        print(f"  {r.split:<5} {r.metric:<9} {r.value:.4f}")
    stt = df.steps_to_threshold.dropna()
    print(f"  steps to threshold: {int(stt.iloc[0]) if len(stt) else 'not reached'}; "
          f"trainable params {int(df.n_params_trainable.iloc[0]):,} of {int(df.n_params_total.iloc[0]):,}")
    return 0 if status in ("finished", "skipped") else 1
