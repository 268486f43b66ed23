"""Data subcommands: ``fptbench data status|prepare|checksums`` and ``fptbench validate``.

``checksums`` was ``data verify`` (kept as an alias): ``verify`` alone names rerunning a sample of runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..cli import args, command
from ..errors import FptError, NeedsData


def _data_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, default=None,
                        help="where prepared copies live (default: $FPTBENCH_DATA_DIR or ~/.cache/fptbench/data)")
    s = sub.add_parser("status", parents=[common], help="table: dataset, present?, source, size, checksum ok")
    s.add_argument("--json", action="store_true", help="print the table as JSON")
    s.add_argument("--no-verify", action="store_true", help="skip re-hashing the prepared files")
    pr = sub.add_parser("prepare", parents=[common], help="build prepared copies (user dir, offline package, download)")
    pr.add_argument("names", nargs="*", metavar="NAME", help="datasets to prepare (`fptbench data status` lists them)")
    pr.add_argument("--source-dir", type=Path, default=None, help="a folder holding the raw files (tried first)")
    pr.add_argument("--offline-available", action="store_true",
                    help="prepare every dataset that can be built offline; skip the others with a note")
    pr.add_argument("--all", action="store_true", help="prepare every registered dataset")
    pr.add_argument("--force", action="store_true", help="rebuild even when a prepared copy exists")
    pr.add_argument("--source", choices=("auto", "url", "hub"), default="auto",
                    help="url: the canonical builder (--source-dir, offline package, canonical download); hub: the "
                    "dataset's pinned Hugging Face hub copy (same prepared files); auto (default): url, falling back "
                    "to the hub copy when that fails")
    v = sub.add_parser("checksums", aliases=["verify"], parents=[common],
                       help="re-hash prepared copies against their manifests (old name: verify)")
    v.add_argument("names", nargs="*", metavar="NAME", help="datasets to re-hash (default: every prepared one)")


@command("data", "datasets: status, prepare (download or offline copy), checksums (re-hash prepared copies)", group="start")
@args(_data_args)
def cmd_data(a: argparse.Namespace) -> int:
    return {"status": _status, "prepare": _prepare, "checksums": _verify, "verify": _verify}[a.action](a)


def _status(a: argparse.Namespace) -> int:
    from ..data import DATASETS
    from ..data.status import dataset_status, human_bytes

    rows = [dataset_status(n, a.data_dir, verify=not a.no_verify) for n in DATASETS.names()]
    bad = [r.name for r in rows if r.checksum.startswith("BAD")]
    if a.json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
        return 1 if bad else 0
    print(f"{'dataset':<16} {'present':<8} {'size':>9}  {'checksum':<10} {'via':<5} source")
    for r in rows:
        size = human_bytes(r.bytes) if r.present else "-"
        print(f"{r.name:<16} {'yes' if r.present else 'no':<8} {size:>9}  {r.checksum:<10} {r.via:<5} {r.source}")
    if bad:  # a damaged copy is an error, not a table entry: scripts and CI must see it
        print(f"BAD prepared data: {', '.join(bad)}; fix: fptbench data prepare {' '.join(bad)} --force")
        return 1
    return 0


def _check_names(names: list[str]) -> None:
    from ..data import DATASETS

    for n in names:
        DATASETS.get(n)  # unknown names fail here with the close-match error


def _prepare(a: argparse.Namespace) -> int:
    from ..data import DATASETS, prepare

    _check_names(a.names)
    names = list(a.names) or (DATASETS.names() if (a.all or a.offline_available) else [])
    if not names:
        raise FptError("name the datasets to prepare (" + ", ".join(DATASETS.names()) + "), or pass --all or "
                       "--offline-available")
    failures = 0
    for name in names:
        spec = DATASETS.get(name)
        if a.offline_available and not spec.offline:
            print(f"skip {name}: not available offline; to get it: {spec.how_to_get or f'fptbench data prepare {name}'}")
            continue
        if a.source == "hub" and spec.hub is None and not a.names:
            print(f"skip {name}: no hub source (prepare it with --source url)")
            continue
        try:
            path = prepare(name, a.data_dir, a.source_dir, force=a.force, source=a.source)
        except FptError as exc:
            print(f"FAILED {name}: {exc}")
            failures += 1
            continue
        from ..data.manifest import read_manifest
        from ..data.status import source_kind

        print(f"ready {name}: {path} (via {source_kind((read_manifest(path) or {}).get('source'))})")
    return 1 if failures else 0


def _verify(a: argparse.Namespace) -> int:
    from ..data import DATASETS, is_prepared
    from ..data.status import dataset_status

    _check_names(a.names)
    bad = 0
    for name in a.names or DATASETS.names():
        if not is_prepared(name, a.data_dir):
            print(f"{name}: not prepared")
            bad += bool(a.names)  # only a dataset asked for by name counts as a failure
            continue
        st = dataset_status(name, a.data_dir, verify=True)
        if st.checksum == "ok":
            print(f"{name}: ok")
        else:
            from ..data.manifest import verify_manifest

            bad += 1
            print(f"{name}: {st.checksum.split(':')[0]}")
            for problem in verify_manifest(Path(st.path)) or [st.checksum]:
                print(f"  {problem}")
            print(f"  fix: fptbench data prepare {name} --force")
    return 1 if bad else 0


# -- task split validation -----------------------------------------------------------------------------
def _validate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("tasks", nargs="*", metavar="TASK", help="default: every registered task")
    p.add_argument("--write", action="store_true", help="(re)write tasks/stats/<task>.json from the current splits")
    p.add_argument("--stats-dir", type=Path, default=None, help="default: tasks/stats in the repository")


@command("validate", "old name of `tasks validate` (kept as an alias)", group="start", hidden=True)
@args(_validate_args)
def cmd_validate(a: argparse.Namespace) -> int:
    from ..data.stats import validate_task, write_stats
    from ..task import TASKS

    names = a.tasks or TASKS.names()
    for n in a.tasks:
        TASKS.get(n)
    failures = 0
    for name in names:
        try:
            if a.write:
                print(f"wrote {write_stats(name, a.stats_dir)}")
                continue
            problems = validate_task(name, a.stats_dir)
        except NeedsData as exc:
            print(f"{name}: needs data ({exc})")
            failures += bool(a.tasks)
            continue
        if problems:
            failures += 1
            print(f"{name}: {'NO STATS' if problems[0].startswith('no stats file') else 'MISMATCH'}")
            for p in problems:
                print(f"  {p}")
        else:
            print(f"{name}: ok")
    return 1 if failures else 0
