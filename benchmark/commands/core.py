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
    p.add_argument("--json", action="store_true", help="print the task list as JSON")


@command("tasks", "list the tasks and whether their data is ready; `tasks validate` checks splits against committed stats",
         group="start")
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
class _ProfileNames:
    """The registered profiles as argparse ``choices``, loaded only when a profile is checked or help is shown
    (registering the ci profile imports the tasks, hence torch: ``fptbench --help`` must not)."""

    def _names(self) -> list[str]:
        from ..profiles import PROFILES

        return PROFILES.names()

    def __iter__(self):
        return iter(self._names())

    def __contains__(self, name: object) -> bool:
        return name in self._names()


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", required=True, help="task name (`fptbench tasks` lists them), e.g. bit-xor")
    p.add_argument("--model", required=True,
                   help="model adapter: fpt, full, random-frozen, random-full, lstm, ... (`fptbench models`), "
                   "or package.module:Class")
    p.add_argument("--backbone", default=None, metavar="NAME|FOLDER|hf:ID",
                   help="a registered backbone (`fptbench models`), a folder saved with transformers' "
                   "save_pretrained, or hf:ORG/NAME from the hub; GPT-2, BERT-like, Llama-like, ViT and DINOv2 "
                   "models (docs/own-backbone.md). Default: the model's own (minilm-l6 for the transformers)")
    p.add_argument("--seed", type=int, default=0, help="seed of data order, init and dropout")
    p.add_argument("--profile", default="cpu", choices=_ProfileNames(), metavar="PROFILE",
                   help="budget profile, one of %(choices)s: steps, batch size, learning rate, evaluation cadence "
                   "(README, 'Profiles and budgets')")
    p.add_argument("--max-steps", type=int, default=None, help="override the profile's step budget (recorded)")
    p.add_argument("--results", default=DEFAULT_RESULTS, help="results directory the run's Parquet files go to")
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N, mps")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="model option (JSON values), repeatable, e.g. preset=+input (recorded, part of the run id)")
    p.add_argument("--budget", action="append", metavar="KEY=VALUE",
                   help="budget override, e.g. eval_every=50 (recorded, part of the run id)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (plain output for logs)")
    p.add_argument("--json", action="store_true", help="print the run's id, status, scores and paths as JSON")


def run_target(cfg, threshold: float) -> tuple[float, str]:
    """The validation level whose first crossing `run` reports: the one `fptbench check` counts steps to
    (a per-key CI target where the profile's gate sets one, else the task's threshold)."""
    from ..gate.settings import gates_for, key_name

    target = gates_for(cfg.profile).get(key_name((cfg.task, cfg.model, cfg.backbone)))
    if target is not None and target.target is not None:
        return float(target.target), f"{cfg.profile} gate target"
    return float(threshold), "task threshold"


@command("run", "train and evaluate one (task, model, backbone, seed); resumes or skips when rerun", group="run")
@args(_run_args)
def cmd_run(a: argparse.Namespace) -> int:
    from pathlib import Path

    import pandas as pd

    from ..gate.compare import first_crossing
    from ..results import run_path
    from ..runner import plan, run

    planned = plan(a.task, a.model, backbone=a.backbone, seed=a.seed, profile=a.profile, max_steps=a.max_steps,
                   device=a.device, options=parse_options(a.option), budget_overrides=parse_budget(a.budget))
    cfg = planned.config
    status = run(planned, a.results, progress=not (a.no_progress or a.json))
    runs_path = run_path(Path(a.results), cfg.run_id)
    # this run's own rows only (other runs in the directory may be mid-write)
    df = pd.read_parquet(runs_path) if runs_path.exists() else pd.DataFrame(columns=["threshold"])
    curves_path = runs_path.parent.parent / "curves" / runs_path.name
    curves = pd.read_parquet(curves_path) if curves_path.exists() else pd.DataFrame(columns=["metric", "step", "value"])
    curve = curves[curves.metric != "loss"].sort_values("step")
    level, what = run_target(cfg, float(df.threshold.iloc[0])) if len(df) else (float("nan"), "task threshold")
    crossing = first_crossing(list(zip(curve.step.astype(int), curve.value.astype(float))), level) if len(curve) else float("inf")
    reached = None if crossing == float("inf") else int(crossing)
    runs_file = run_path(Path(a.results), cfg.run_id)
    out = {
        "run_id": cfg.run_id, "status": status, "backbone": cfg.backbone, "backbone_id": cfg.backbone_id,
        "scores": [{"split": r.split, "metric": r.metric, "value": float(r.value)} for r in df.itertuples()],
        "target": {"level": level, "what": what, "split": "val", "steps_to_target": reached},
        "params": {"trainable": int(df.n_params_trainable.iloc[0]), "total": int(df.n_params_total.iloc[0])} if len(df) else {},
        "paths": {"runs": str(runs_file), "curves": str(runs_file.parent.parent / "curves" / runs_file.name)},
    }
    if a.json:
        print(json.dumps(out, indent=2))
        return 0 if status in ("finished", "skipped") else 1
    print(f"{cfg.run_id}: {status}")
    for r in out["scores"]:
        print(f"  {r['split']:<5} {r['metric']:<9} {r['value']:.4f}")
    print(f"  steps to val {level:g} ({what}, as `fptbench check` counts): {reached if reached is not None else 'not reached'}")
    if out["params"]:
        print(f"  trainable params {out['params']['trainable']:,} of {out['params']['total']:,}")
    print(f"  wrote {out['paths']['runs']} and {out['paths']['curves']}")
    return 0 if status in ("finished", "skipped") else 1
