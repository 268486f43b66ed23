"""The paper's numbers, read from a CSV (never typed into code).

``report/paper_tables.csv`` is a byte copy of ``shared/paper/fpt_tables.csv`` kept in the repository
so a fresh clone renders the same report; ``FPTBENCH_PAPER_TABLES`` points elsewhere. Each value
keeps its ``source``: ``paper-summary`` (checked against the paper's summary) or ``transcription``
(a third-party transcription, unverified) — the report shows which.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from benchmark.errors import FptError

DEFAULT_PATH = Path(__file__).resolve().parent / "paper_tables.csv"
SOURCES = {"paper-summary": "checked against the paper's summary", "transcription": "third-party transcription, unverified"}


@dataclass(frozen=True)
class PaperValue:
    value: float
    source: str
    note: str


def paper_path() -> Path:
    return Path(os.environ.get("FPTBENCH_PAPER_TABLES", DEFAULT_PATH))


@lru_cache(maxsize=4)
def _load(path: str) -> dict[tuple[str, str, str], PaperValue]:
    p = Path(path)
    if not p.is_file():
        raise FptError(f"paper tables CSV {p} not found; restore report/paper_tables.csv or set FPTBENCH_PAPER_TABLES")
    out: dict[tuple[str, str, str], PaperValue] = {}
    with p.open(newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh), start=2):
            try:
                key = (row["table"], row["row"], row["task"])
                value = float(row["value"])
            except (KeyError, ValueError) as exc:
                raise FptError(f"{p}:{i}: bad paper-table row ({exc}); expected table,row,task,value,source,note") from exc
            if row["source"] not in SOURCES:
                raise FptError(f"{p}:{i}: unknown source {row['source']!r}; expected one of {sorted(SOURCES)}")
            out[key] = PaperValue(value, row["source"], row.get("note") or "")
    return out


def paper_value(table: str | None, row: str | None, task: str) -> PaperValue | None:
    if table is None or row is None:
        return None
    return _load(str(paper_path())).get((table, row, task))
