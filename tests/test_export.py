"""`fptbench export`: the committed results as a Hugging Face dataset that `datasets.load_dataset` reads back
row for row, a card derived from the rows, and `--check` catching an export that no longer matches."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmark.cli import main
from benchmark.errors import FptError
from benchmark.export import check_export, export_results
from benchmark.results import read_table

datasets = pytest.importorskip("datasets")

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "results" / "cpu"
COMMITTED_EXPORT = ROOT / "results" / "cpu-hf"


def rows(frame) -> tuple[list[str], list[tuple]]:
    """Columns and rows as plain values: null (None/NaN) as None, arrays as lists; 3 == 3.0 compares equal."""

    def plain(v):
        if isinstance(v, np.ndarray):
            return [plain(x) for x in v.tolist()]
        if isinstance(v, list):
            return [plain(x) for x in v]
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        return v.item() if isinstance(v, np.generic) else v

    return list(frame.columns), [tuple(plain(v) for v in r) for r in frame.itertuples(index=False, name=None)]


@pytest.fixture
def results(tmp_path) -> Path:
    """A copy of the committed CPU results, to alter without touching them."""
    if not (COMMITTED / "runs").is_dir():
        pytest.skip("no committed results/cpu")
    dest = tmp_path / "results"
    shutil.copytree(COMMITTED, dest, ignore=shutil.ignore_patterns("checkpoints"))
    return dest


@pytest.mark.parametrize("table", ["runs", "curves", "predictions"])
def test_load_dataset_returns_exactly_the_rows_of_read_table(results, tmp_path, table):
    out = tmp_path / "export"
    export_results([results], out, predictions=True)
    loaded = datasets.load_dataset(str(out), table, split="train", cache_dir=str(tmp_path / "hf-cache"))
    want_cols, want = rows(read_table([results], table))
    got_cols, got = rows(loaded.to_pandas())
    assert got_cols == want_cols and len(got) == len(want) > 0
    assert got == want
    # the store's types survive (a nullable int stays an int, not pandas' float)
    assert pq.read_schema(next((out / table).glob("*.parquet"))).field("run_id").type == pa.string()
    if table == "runs":
        assert str(loaded.features["steps_to_threshold"].dtype) == "int64"


def test_card_is_derived_from_the_rows(results, tmp_path):
    out = tmp_path / "export"
    export_results([results], out)
    card = (out / "README.md").read_text()
    assert card.startswith("---\nlicense: apache-2.0\n") and "config_name: runs" in card and "predictions" not in card
    runs = read_table([results], "runs")
    assert f"{runs.run_id.nunique()} runs over tasks" in card and f"runs: {len(runs)}\n" in card
    # change who a backbone stands in for in one results file: the card follows
    f = sorted((results / "runs").glob("*minilm*.parquet"))[0]
    tab = pq.read_table(f)
    tab = tab.set_column(tab.schema.get_field_index("stand_in_for"), "stand_in_for",
                         [["a made-up model"] * tab.num_rows])
    pq.write_table(tab, f)
    export_results([results], out)
    assert "minilm-l6 stands in for a made-up model" in (out / "README.md").read_text()


def test_check_passes_then_catches_changes(results, tmp_path, capsys):
    out = tmp_path / "export"
    assert main(["export", "--results", str(results), "--out", str(out)]) == 0
    assert check_export([results], out) == []
    assert main(["export", "--results", str(results), "--out", str(out), "--check"]) == 0
    assert "up to date" in capsys.readouterr().out
    # a curve file gone from the results: the curves shard differs
    sorted((results / "curves").glob("*.parquet"))[0].unlink()
    assert check_export([results], out) == ["README.md: differs", "curves/train-00000-of-00001.parquet: differs"]
    # an edited card, and a stray file
    export_results([results], out)
    (out / "README.md").write_text((out / "README.md").read_text().replace("fptbench results", "my results"))
    (out / "extra.parquet").write_bytes(b"")
    assert main(["export", "--results", str(results), "--out", str(out), "--check"]) == 1
    printed = capsys.readouterr().out
    assert "README.md: differs" in printed and "extra.parquet: in" in printed and "out of date" in printed


def test_writes_are_atomic_and_never_replace_other_folders(results, tmp_path):
    out = tmp_path / "export"
    export_results([results], out)
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(FptError, match="no runs"):
        export_results([tmp_path / "empty"], out)  # fails while writing: the old export stays whole
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(FptError, match="not an fptbench export"):
        export_results([results], other)
    assert (other / "notes.txt").read_text() == "keep me"


def test_committed_export_matches_committed_results():
    """The committed export (written by the lead with `fptbench export --results results/cpu --out
    results/cpu-hf`) is what the committed results produce; `make check-outputs` runs the same check."""
    if not (COMMITTED_EXPORT / "README.md").is_file():
        pytest.skip("results/cpu-hf is not committed yet")
    assert check_export([COMMITTED], COMMITTED_EXPORT) == []
