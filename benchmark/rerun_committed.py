"""``fptbench verify --results DIR``: rerun a seeded sample of committed harness runs and compare.

Why: committed numbers are only as good as the code that is supposed to produce them. A results
directory records each run's full configuration (the ``config`` JSON column); rebuilding that config,
training it again and comparing the fresh test score with the committed one (paired, same seed,
within the statistical gate's tolerance) catches numbers that came from a dirty tree, another code
version, or a hand edit. The sample is seeded (the same runs every time for the same results) and
drawn from the cheapest third of the runs by recorded training time, so it can run in ``make test``.
Runs whose body comes from another harness run's pretraining are left out (that pretraining would
have to run first). Bit-identity is not demanded: committed results record no machine fingerprint.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .config import RunConfig
from .errors import FptError
from .results import read_table


@dataclass
class Verified:
    run_id: str
    committed: float
    fresh: float
    tol: float
    hash_same: bool
    git_dirty: bool

    @property
    def ok(self) -> bool:
        if math.isnan(self.committed) and math.isnan(self.fresh):
            return True
        return not math.isnan(self.fresh) and abs(self.fresh - self.committed) <= self.tol


def pick_sample(runs: pd.DataFrame, n: int, seed: int = 0) -> list[str]:
    """``n`` run ids, seeded, from the cheapest third (by recorded training time) of the finished runs."""
    first = runs[(runs.status == "finished")].drop_duplicates("run_id")
    first = first[~first.pretrained_on.fillna("").str.contains("harness run")]
    if first.empty:
        raise FptError("no finished runs to verify in these results")
    first = first.sort_values(["train_time_s", "run_id"])
    pool = first.run_id.tolist()[:max(n, math.ceil(len(first) / 3))]
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(pool, size=min(n, len(pool)), replace=False).tolist())


def verify(results: Path | str, n: int = 2, seed: int = 0, run_ids: list[str] | None = None,
           workdir: Path | str | None = None, tol: float | None = None) -> list[Verified]:
    """Rerun the sampled runs into ``workdir`` (a temp dir by default) and compare each with its committed row."""
    from .gate.settings import DEFAULT, gates_for
    from .runner import run
    from .task import get_task

    runs = read_table([results], "runs")
    if runs.empty:
        raise FptError(f"{results} holds no runs (no {results}/runs/*.parquet); nothing to verify")
    chosen = run_ids or pick_sample(runs, n, seed)
    out = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="fptbench-verify-"))
    done = []
    for rid in chosen:
        rows = runs[runs.run_id == rid]
        if rows.empty:
            raise FptError(f"run {rid} is not in {results}")
        row = rows.iloc[0]
        cfg = RunConfig.from_json(row.config)
        current = get_task(cfg.task).fingerprint
        if current != cfg.task_fingerprint:
            from .gate.compare import NotComparable

            raise NotComparable(f"task '{cfg.task}' changed since {rid} was recorded (fingerprint {cfg.task_fingerprint} "
                                f"-> {current}): its committed numbers must be regenerated, not verified")
        print(f"verify: rerunning {rid} ({cfg.budget.steps} steps) ...", flush=True)
        status = run(cfg, out, progress=False)
        fresh_rows = read_table([out], "runs")
        fresh_rows = fresh_rows[fresh_rows.run_id == cfg.run_id]
        if status not in ("finished", "skipped", "diverged") or fresh_rows.empty:
            raise FptError(f"rerunning {rid} failed (status {status})")
        metric = (rows.split == "test") & (rows.metric != "loss")
        fmetric = (fresh_rows.split == "test") & (fresh_rows.metric != "loss")
        key = f"{cfg.task}/{cfg.model}/{cfg.backbone}"
        limit = tol if tol is not None else gates_for(cfg.profile).get(key, DEFAULT).floor_seed
        done.append(Verified(rid, float(rows[metric].value.iloc[0]), float(fresh_rows[fmetric].value.iloc[0]), limit,
                             cfg.config_hash == row.config_hash, bool(row.git_dirty)))
    return done


def render(results: Path | str, checked: list[Verified]) -> str:
    lines = [f"verify {results}: {len(checked)} committed run(s) rerun from their stored configs "
             "(test metric; a paired same-seed comparison, tolerance = the gate's one-seed floor)"]
    for v in checked:
        mark = "ok" if v.ok else "CONTRADICTED"
        notes = [] if v.hash_same else ["config hash differs: the harness added budget fields since"]
        if v.git_dirty:
            notes.append("committed from a dirty tree")
        lines.append(f"  {mark:<12} {v.run_id}: committed {v.committed:.4f}, fresh {v.fresh:.4f}, "
                     f"|diff| {abs(v.fresh - v.committed):.4f} (tol {v.tol:.4f})" + (f"  [{'; '.join(notes)}]" if notes else ""))
    bad = [v for v in checked if not v.ok]
    lines.append(f"FAIL: {len(bad)} committed run(s) not reproduced within tolerance" if bad else
                 "PASS: every sampled committed run reproduced within tolerance")
    return "\n".join(lines)


__all__ = ["Verified", "pick_sample", "render", "verify"]
