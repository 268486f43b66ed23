"""Turn a finished run into Parquet rows with full provenance (runs, curves, predictions)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq
import torch

from .config import RunConfig
from .model import ModelAdapter
from .provenance import environment
from .results import SCHEMA_VERSION, run_path, write_table
from .task import Task

if TYPE_CHECKING:
    from .trainer import RunState


def finished_run_exists(results_dir: Path, cfg: RunConfig) -> bool:
    """A run is done when its runs file exists and carries this exact config hash."""
    path = run_path(results_dir, cfg.run_id)
    if not path.exists():
        return False
    hashes = set(pq.read_table(path, columns=["config_hash"]).column("config_hash").to_pylist())
    return hashes == {cfg.config_hash}


def compute_columns(compute: dict) -> dict:
    """The compute columns (v2, v3), null where the caller did not measure them."""
    keys = ("precision", "train_flops", "wall_time_s", "eval_time_s", "threads", "precision_ratio")
    unknown = set(compute) - set(keys)
    if unknown:
        raise ValueError(f"unknown compute fields {sorted(unknown)}")
    return {k: compute.get(k) for k in keys}


def write_run_records(results_dir: Path, cfg: RunConfig, adapter: ModelAdapter, task: Task, *, status: str,
                      state: "RunState", values: dict[tuple[str, str], float], n_params: tuple[int, int],
                      peak_mem_mb: float, device: str, scores: torch.Tensor | None,
                      preds: list[torch.Tensor] | None, compute: dict | None = None) -> None:
    """Write curves, predictions, then the runs rows (last: their presence marks completion).

    ``compute`` carries what the run cost beside what it scored: precision actually used, training
    FLOPs, wall and evaluation time, intra-op threads (columns of RUNS_SCHEMA v2).
    """
    info = adapter.info()
    env = environment()
    run_id = cfg.run_id
    curve_rows = []
    for point in state.curve:
        for metric, key in ((task.spec.metric, "value"), ("loss", "val_loss")):
            curve_rows.append({"schema_version": SCHEMA_VERSION, "run_id": run_id, "step": point["step"], "split": "val",
                               "metric": metric, "value": float(point[key]), "train_loss": float(point["train_loss"]),
                               "wall_time_s": float(point["wall_time_s"])})
    write_table(results_dir, "curves", run_id, curve_rows)
    if scores is not None and preds is not None:
        flat = torch.cat(preds).tolist()
        write_table(results_dir, "predictions", run_id, [
            {"run_id": run_id, "split": "test", "example": i, "score": float(s), "prediction": p}
            for i, (s, p) in enumerate(zip(scores.tolist(), flat))
        ])
    steps_per_s = state.step / state.train_time_s if state.train_time_s > 0 else math.nan
    base = {
        "schema_version": SCHEMA_VERSION, "run_id": run_id, "status": status, "task": cfg.task,
        "task_version": cfg.task_version, "task_fingerprint": cfg.task_fingerprint, "model": cfg.model,
        "model_family": info.get("model_family", ""), "backbone": cfg.backbone,
        "pretrained_on": str(info.get("pretrained_on", "")), "stand_in_for": str(info.get("stand_in_for", "")),
        "seed": cfg.seed, "profile": cfg.profile, "selected_step": state.best_step, "steps_trained": state.step,
        "steps_to_threshold": state.steps_to_threshold, "threshold": task.spec.threshold,
        "n_params_total": n_params[0], "n_params_trainable": n_params[1], "train_time_s": state.train_time_s,
        "steps_per_s": steps_per_s, "peak_mem_mb": peak_mem_mb, "device": device,
        **env, "config": cfg.to_json(), "config_hash": cfg.config_hash, "source": "harness",
        **compute_columns(compute or {}),
    }
    rows = []
    for (split, metric), value in values.items():
        n = task.spec.splits[split].size
        rows.append({**base, "split": split, "metric": metric, "value": float(value), "n_examples": n})
    write_table(results_dir, "runs", run_id, rows)
