"""The results store: one Parquet file per run and table, written atomically.

Layout under a results directory::

    runs/<run_id>.parquet         one row per (split, metric) of a finished or diverged run
    curves/<run_id>.parquet       one row per evaluation (step, split, metric, value, train loss, time)
    predictions/<run_id>.parquet  per-example test scores and predictions, to re-score offline
    checkpoints/<run_id>.pt       resume state while a run is in progress (git-ignored)

One file per run means concurrent runs never write the same file; the runs file is written last,
so its presence marks a completed run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .atomic import atomic_path
from .errors import FptError

# v2 added the compute columns at the end (precision, train_flops, wall_time_s, eval_time_s,
# threads); read_table fills them for v1 files (precision from the run's config, the rest null).
# v3 added precision_ratio (the calibration behind precision=auto; null for older files and explicit requests).
# Versions only ever append columns, so an older file's columns are a prefix of the current ones.
SCHEMA_VERSION = 3

RUNS_SCHEMA = pa.schema([
    ("schema_version", pa.int32()),
    ("run_id", pa.string()),
    ("status", pa.string()),  # finished | diverged
    ("task", pa.string()),
    ("task_version", pa.string()),
    ("task_fingerprint", pa.string()),
    ("model", pa.string()),
    ("model_family", pa.string()),
    ("backbone", pa.string()),
    ("pretrained_on", pa.string()),
    ("stand_in_for", pa.string()),
    ("seed", pa.int64()),
    ("profile", pa.string()),
    ("split", pa.string()),
    ("metric", pa.string()),
    ("value", pa.float64()),
    ("n_examples", pa.int64()),
    ("selected_step", pa.int64()),
    ("steps_trained", pa.int64()),
    ("steps_to_threshold", pa.int64()),  # null: threshold never reached on validation
    ("threshold", pa.float64()),
    ("n_params_total", pa.int64()),
    ("n_params_trainable", pa.int64()),
    ("train_time_s", pa.float64()),
    ("steps_per_s", pa.float64()),
    ("peak_mem_mb", pa.float64()),
    ("device", pa.string()),
    ("torch_version", pa.string()),
    ("transformers_version", pa.string()),
    ("package_version", pa.string()),
    ("git_commit", pa.string()),
    ("git_dirty", pa.bool_()),
    ("config", pa.string()),  # JSON of the RunConfig
    ("config_hash", pa.string()),
    ("source", pa.string()),  # "harness" or "submitted:<name>" for results packed by others
    ("precision", pa.string()),  # computed in: fp32 | bf16 | fp16, "+tf32" when TF32 matmuls were on
    ("train_flops", pa.int64()),  # torch's FLOP counter on one training step x steps trained
    ("wall_time_s", pa.float64()),  # the whole run: training, evaluation, checkpoints
    ("eval_time_s", pa.float64()),  # full-split validation and test evaluations
    ("threads", pa.int64()),  # torch intra-op threads
    ("precision_ratio", pa.float64()),  # auto on CPU: measured fp32/bf16 matmul time ratio that decided it
])


CURVES_SCHEMA = pa.schema([
    ("schema_version", pa.int32()),
    ("run_id", pa.string()),
    ("step", pa.int64()),
    ("split", pa.string()),
    ("metric", pa.string()),
    ("value", pa.float64()),
    ("train_loss", pa.float64()),
    ("wall_time_s", pa.float64()),
])

PREDICTIONS_SCHEMA = pa.schema([
    ("run_id", pa.string()),
    ("split", pa.string()),
    ("example", pa.int64()),
    ("score", pa.float64()),
    ("prediction", pa.list_(pa.int64())),
])

TABLES = {"runs": RUNS_SCHEMA, "curves": CURVES_SCHEMA, "predictions": PREDICTIONS_SCHEMA}


def older_schema(schema: pa.Schema, table: str) -> bool:
    """True when ``schema`` is this table's schema at the current or an earlier version (a prefix of it)."""
    current = TABLES[table]
    n = len(schema)
    return 0 < n <= len(current) and all(schema.field(i).equals(current.field(i)) for i in range(n))


def complete(tab: pa.Table, table: str) -> pa.Table:
    """An older-version table with the columns added since filled with nulls (the current schema)."""
    current = TABLES[table]
    for field in list(current)[len(tab.schema):]:
        tab = tab.append_column(field, pa.nulls(tab.num_rows, type=field.type))
    return tab


def _table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    missing = [f.name for f in schema if any(f.name not in r for r in rows)]
    if missing:
        raise FptError(f"result rows lack columns {missing}; this is a harness bug")
    return pa.Table.from_pylist(rows, schema=schema)


def write_table(results_dir: Path, table: str, run_id: str, rows: list[dict]) -> Path:
    path = Path(results_dir) / table / f"{run_id}.parquet"
    tab = _table(rows, TABLES[table])
    with atomic_path(path) as tmp:
        pq.write_table(tab, tmp)
    return path


def run_path(results_dir: Path, run_id: str) -> Path:
    return Path(results_dir) / "runs" / f"{run_id}.parquet"


def checkpoint_path(results_dir: Path, run_id: str) -> Path:
    return Path(results_dir) / "checkpoints" / f"{run_id}.pt"


def read_table(dirs: Iterable[Path | str], table: str = "runs") -> pd.DataFrame:
    """Concatenate one table over results directories; an empty frame with the schema if none."""
    schema = TABLES[table]
    frames = []
    for d in dirs:
        folder = Path(d) / table
        if not folder.is_dir():
            continue
        for f in sorted(folder.glob("*.parquet")):
            try:
                frames.append(pq.read_table(f).to_pandas())
            except (pa.ArrowInvalid, OSError) as exc:
                raise FptError(f"results file {f} is unreadable ({exc}); delete it and rerun that run") from exc
    if not frames:
        return schema.empty_table().to_pandas()
    frame = pd.concat([upgrade(f, table) for f in frames], ignore_index=True)
    return frame


def upgrade(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Bring a frame read from an older schema version to the current columns, in schema order.

    v1 runs files lack the compute columns: precision comes from the budget in the run's config
    (v1 computed in exactly what it asked for: autocast acted only on CUDA, and CPU runs asked fp32),
    the measurements stay null.
    """
    names = TABLES[table].names
    if list(frame.columns) == names:
        return frame
    frame = frame.copy()
    if table == "runs" and "precision" not in frame and "config" in frame:
        import json

        def _precision(cfg: str, device: str) -> str | None:
            try:
                asked = json.loads(cfg)["budget"].get("precision", "fp32")
            except (TypeError, ValueError, KeyError):
                return None
            return asked if str(device).startswith("cuda") else "fp32"

        frame["precision"] = [_precision(c, d) for c, d in zip(frame["config"], frame.get("device", [""] * len(frame)))]
    for name in names:
        if name not in frame:
            frame[name] = None
    extra = [c for c in frame.columns if c not in names]
    return frame[names + extra]
