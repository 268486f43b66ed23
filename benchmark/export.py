"""Results as a Hugging Face dataset: Parquet shards per table plus a dataset card, loadable with
``datasets.load_dataset(OUT, "runs")`` (or, once pushed, with the hub id).

Layout of an export::

    README.md                                dataset card: YAML metadata (configs, license, schema
                                             version, provenance) and a body derived from the results
    runs/train-00000-of-00001.parquet        the rows of ``benchmark.results.read_table(dirs, "runs")``
    curves/train-00000-of-00001.parquet      ... "curves"
    predictions/train-0000i-of-0000n.parquet ... "predictions" (only with ``--predictions``)

Every table is exactly what ``read_table`` returns for the results directories (so schema upgrades of
older files apply here too), written with the store's Arrow types. Nothing in the card is typed by
hand: the license comes from the package metadata, and counts, profiles, versions, commits and the
stand-in backbones come from the rows. ``check_export`` regenerates and compares, like
``fptbench report --check``; Parquet files are compared by content (schema and rows), since their
bytes carry the writer's version. ``datasets`` is not needed to write an export, only to load one.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .atomic import atomic_dir
from .errors import FptError
from .results import SCHEMA_VERSION, TABLES, read_table

CARD = "README.md"
BASE_TABLES = ("runs", "curves")
SHARD_ROWS = 100_000  # rows per Parquet shard: one shard for runs and curves, a few for big predictions
MARKER = "fptbench_export:"  # the YAML key that identifies a folder this module wrote (so it may replace it)


def export_tables(predictions: bool) -> tuple[str, ...]:
    return BASE_TABLES + (("predictions",) if predictions else ())


def arrow_table(dirs: list[Path], table: str) -> pa.Table:
    """``read_table(dirs, table)`` as Arrow with the store's types (ints stay ints where nulls made pandas
    use floats); columns outside the schema (none today) keep pandas' inferred type."""
    frame = read_table(dirs, table)
    schema = TABLES[table]
    fields = [schema.field(n) for n in frame.columns if n in schema.names]
    fields += [pa.field(n, pa.Table.from_pandas(frame[[n]], preserve_index=False).schema.field(n).type)
               for n in frame.columns if n not in schema.names]
    try:
        tab = pa.Table.from_pandas(frame, schema=pa.schema(fields), preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise FptError(f"the {table} table of {', '.join(map(str, dirs))} does not fit the results schema ({exc}); "
                       "this is a harness bug or a damaged results file") from exc
    return tab.replace_schema_metadata(None)  # pandas' metadata names its version: not part of the data


def _shards(tab: pa.Table) -> list[pa.Table]:
    n = max(1, -(-tab.num_rows // SHARD_ROWS))
    return [tab.slice(i * SHARD_ROWS, SHARD_ROWS) for i in range(n)]


def _distinct(frame: pd.DataFrame, column: str) -> list:
    if column not in frame:
        return []
    return sorted({v for v in frame[column].tolist() if v is not None and not (isinstance(v, float) and v != v)},
                  key=str)


def _license() -> str:
    """The project's license as a hub license id, from the installed package's metadata."""
    try:
        from importlib.metadata import PackageNotFoundError, metadata

        text = metadata("fptbench").get("License-Expression") or metadata("fptbench").get("License") or ""
    except PackageNotFoundError:
        text = ""
    return text.strip().lower() or "other"


def _yaml_list(items: Iterable, indent: str) -> str:
    items = list(items)
    if not items:
        return " []\n"
    plain = [i if isinstance(i, (int, float)) and not isinstance(i, bool) else str(i) for i in items]
    return "\n" + "".join(f"{indent}- {json.dumps(i)}\n" for i in plain)


def provenance(runs: pd.DataFrame) -> dict:
    """Facts about how the numbers were produced, read from the runs table."""
    stand_ins = []
    if "stand_in_for" in runs:
        pairs = runs[["backbone", "stand_in_for"]].drop_duplicates()
        stand_ins = sorted(f"{b} stands in for {s}" for b, s in zip(pairs.backbone, pairs.stand_in_for) if s)
    dirty = int(runs.drop_duplicates("run_id")["git_dirty"].sum()) if "git_dirty" in runs and len(runs) else 0
    return {
        "runs": len(_distinct(runs, "run_id")),
        "tasks": _distinct(runs, "task"), "models": _distinct(runs, "model"), "backbones": _distinct(runs, "backbone"),
        "seeds": _distinct(runs, "seed"), "profiles": _distinct(runs, "profile"), "devices": _distinct(runs, "device"),
        "sources": _distinct(runs, "source"), "package_versions": _distinct(runs, "package_version"),
        "torch_versions": _distinct(runs, "torch_version"),
        "transformers_versions": _distinct(runs, "transformers_version"),
        "git_commits": _distinct(runs, "git_commit"), "runs_from_dirty_tree": dirty,
        "schema_versions": _distinct(runs, "schema_version"), "stand_ins": stand_ins,
        "pretrained_on": sorted({f"{b}: {p}" for b, p in zip(runs.get("backbone", []), runs.get("pretrained_on", []))
                                 if p}),
    }


def render_card(tables: dict[str, pa.Table], runs: pd.DataFrame) -> str:
    """The dataset card: YAML metadata for the hub and ``load_dataset``, then a body for people."""
    prov = provenance(runs)
    lines = ["---", f"license: {_license()}", "pretty_name: fptbench results", "tags:",
             "- fptbench", "- benchmark-results", "- cross-modal-transfer", "configs:"]
    for i, name in enumerate(tables):
        lines += [f"- config_name: {name}", "  data_files:", "  - split: train", f"    path: {name}/train-*"]
        if i == 0:
            lines.append("  default: true")
    head = "\n".join(lines) + "\n"
    head += (f"{MARKER}\n  results_schema_version: {SCHEMA_VERSION}\n"
             f"  row_schema_versions:{_yaml_list(prov['schema_versions'], '  ')}"
             f"  tables:\n" + "".join(f"    {n}: {t.num_rows}\n" for n, t in tables.items()) +
             f"  profiles:{_yaml_list(prov['profiles'], '  ')}"
             f"  package_versions:{_yaml_list(prov['package_versions'], '  ')}"
             f"  git_commits:{_yaml_list(prov['git_commits'], '  ')}"
             f"  stand_ins:{_yaml_list(prov['stand_ins'], '  ')}---\n")

    def bullets(key: str) -> str:
        return ", ".join(f"`{v}`" for v in prov[key]) or "none"

    body = [
        "# fptbench results",
        "",
        "Results of the fptbench suite (a benchmark reproducing Lu et al. 2021, *Pretrained Transformers as "
        "Universal Computation Engines*), exported from the Parquet results store with `fptbench export`. "
        "Every number comes from the rows below; nothing here was typed by hand.",
        "",
        "## Loading",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
    ]
    body += [f'{n} = load_dataset("path/to/this/folder", "{n}", split="train")  # or the hub id once pushed'
             for n in tables]
    body += [
        "```",
        "",
        "Each config is one table of the results store; `load_dataset` returns exactly the rows of "
        "`benchmark.results.read_table(dirs, \"<table>\")` for the exported results directories.",
        "",
        "| config | rows | shards |",
        "|---|---|---|",
    ]
    body += [f"| `{n}` | {t.num_rows} | {len(_shards(t))} |" for n, t in tables.items()]
    body += [
        "",
        "## How the numbers were produced",
        "",
        f"- {prov['runs']} runs over tasks {bullets('tasks')}; models {bullets('models')}; backbones "
        f"{bullets('backbones')}; seeds {bullets('seeds')}.",
        f"- Profiles {bullets('profiles')} on devices {bullets('devices')}; sources {bullets('sources')} "
        "(`harness`: run by `fptbench sweep`/`fptbench run`; `submitted:<name>`: packed by others).",
        f"- fptbench {bullets('package_versions')}, torch {bullets('torch_versions')}, transformers "
        f"{bullets('transformers_versions')}; git commits {bullets('git_commits')} "
        f"({prov['runs_from_dirty_tree']} run(s) from a tree with uncommitted changes).",
        f"- Results schema version {SCHEMA_VERSION} (rows written at versions {bullets('schema_versions')}; older "
        "rows are upgraded by `read_table`). Each run's full configuration is the JSON in `runs.config`, its hash "
        "in `runs.config_hash`.",
        "",
        "## Stand-ins",
        "",
    ]
    body += [f"- {s}" for s in prov["stand_ins"]] or ["- none: every backbone is the paper's"]
    body += ["", "What each backbone was pretrained on:", ""]
    body += [f"- {p}" for p in prov["pretrained_on"]] or ["- (no pretrained backbones)"]
    body += ["", "## Schema", ""]
    for name, tab in tables.items():
        body += [f"`{name}`: " + ", ".join(f"`{f.name}` ({f.type})" for f in tab.schema), ""]
    return head + "\n" + "\n".join(body).rstrip() + "\n"


def _write(dirs: list[Path], folder: Path, predictions: bool) -> list[Path]:
    tables = {name: arrow_table(dirs, name) for name in export_tables(predictions)}
    if tables["runs"].num_rows == 0:
        raise FptError(f"no runs in {', '.join(map(str, dirs))}: nothing to export (is --results the right folder?)")
    written = []
    for name, tab in tables.items():
        shards = _shards(tab)
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i, shard in enumerate(shards):
            path = folder / name / f"train-{i:05d}-of-{len(shards):05d}.parquet"
            pq.write_table(shard, path)
            written.append(path)
    (folder / CARD).write_text(render_card(tables, read_table(dirs, "runs")), encoding="utf-8")
    return [folder / CARD] + written


def is_export(folder: Path) -> bool:
    card = Path(folder) / CARD
    return card.is_file() and f"\n{MARKER}\n" in card.read_text(encoding="utf-8", errors="replace")


def export_results(dirs: list[Path], out: Path, *, predictions: bool = False, fmt: str = "hf") -> list[Path]:
    """Write the export of ``dirs`` into ``out`` atomically (a reader sees the old export or the new one)."""
    if fmt != "hf":
        raise FptError(f"unknown export format '{fmt}': the only format is hf (Parquet shards + dataset card)")
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not is_export(out):
        raise FptError(f"{out} exists and is not an fptbench export (no {CARD} with '{MARKER}'); choose an empty or "
                       "new --out folder")
    with atomic_dir(out) as tmp:
        written = _write([Path(d) for d in dirs], tmp, predictions)
        rel = [p.relative_to(tmp) for p in written]
    return [out / r for r in rel]


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def check_export(dirs: list[Path], out: Path, *, predictions: bool | None = None) -> list[str]:
    """Regenerate the export of ``dirs`` and list how ``out`` differs (empty: up to date).

    ``predictions`` defaults to whether ``out`` has a predictions table. The card is compared byte for
    byte; Parquet files by schema and rows.
    """
    out = Path(out)
    if not is_export(out):
        raise FptError(f"{out} is not an fptbench export; write it with `fptbench export --results ... --out {out}`")
    if predictions is None:
        predictions = (out / "predictions").is_dir()
    diffs = []
    with tempfile.TemporaryDirectory(prefix="fptbench-export-check-") as tmp:
        fresh = Path(tmp)
        _write([Path(d) for d in dirs], fresh, predictions)
        old, new = _files(out), _files(fresh)
        diffs += [f"{f}: missing from {out} (the results produce it)" for f in sorted(new - old)]
        diffs += [f"{f}: in {out} but the results do not produce it" for f in sorted(old - new)]
        for f in sorted(old & new):
            a, b = out / f, fresh / f
            if f.endswith(".parquet"):
                try:
                    same = pq.read_table(a).equals(pq.read_table(b), check_metadata=False)
                except (pa.ArrowInvalid, OSError) as exc:
                    diffs.append(f"{f}: unreadable ({exc})")
                    continue
            else:
                same = a.read_bytes() == b.read_bytes()
            if not same:
                diffs.append(f"{f}: differs")
    return diffs


__all__ = ["export_results", "check_export", "arrow_table", "render_card", "provenance", "is_export"]
