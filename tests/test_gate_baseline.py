"""`fptbench baseline update`: deliberate regeneration, the diff, the atomic swap, and no ratcheting."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmark.cli import main
from benchmark.gate.reference import load_runs
from benchmark.profiles import PROFILES, Budget, Profile, SuiteEntry

PROFILE = "test-gate-tiny"


@pytest.fixture(scope="module", autouse=True)
def tiny_profile():
    with PROFILES.temporarily(PROFILE, Profile(
        name=PROFILE, description="two 12-step runs for the baseline-update tests",
        base=Budget(steps=12, batch_size=8, lr=3e-3, eval_every=6, eval_batch_size=1000, checkpoint_every=1000),
        suite=(SuiteEntry("bit-xor", "full", "tiny-gpt2", (0, 1)),),
    )):
        yield


def _files(ref: Path) -> set[str]:
    return {p.relative_to(ref).as_posix() for p in ref.rglob("*") if p.is_file()}


def test_update_creates_diffs_and_replaces_atomically(tmp_path: Path, capsys):
    ref = tmp_path / "reference" / "tiny"
    assert main(["baseline", "update", "--profile", PROFILE, "--reference", str(ref)]) == 0
    out = capsys.readouterr().out
    assert "no previous reference" in out
    first = load_runs(ref)
    assert sorted(set(first.seed)) == [0, 1] and set(first.profile) == {PROFILE}
    assert {f.split("/")[0] for f in _files(ref)} == {"runs", "curves", "README.md", "fingerprint.json"}
    assert not list(ref.parent.glob(".tiny.*")), "scratch directories must be cleaned up"

    # The reference records the machine that made it.
    assert set(json.loads((ref / "fingerprint.json").read_text())) >= {"cpu_model", "isa_flags", "torch",
                                                                       "transformers", "blas", "threads", "precision"}
    # Same code, same machine: a deliberate update prints a diff that is bit-identical and passes.
    assert main(["baseline", "update", "--profile", PROFILE, "--reference", str(ref), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "diff against the old reference" in out and "2/2 runs" in out and "PASS" in out
    assert "tier: strict" in out
    assert "dry run" in out

    # Adopting an existing sweep keeps only that profile's runs.
    fresh = tmp_path / "fresh"
    assert main(["sweep", "--profile", PROFILE, "--results", str(fresh), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["baseline", "update", "--profile", PROFILE, "--reference", str(ref), "--from-results", str(fresh)]) == 0
    assert set(load_runs(ref).run_id) == set(first.run_id)


def test_check_never_ratchets(tmp_path: Path, capsys):
    """A real improvement passes, is reported as one, and the reference stays as it was until someone
    runs baseline update. The improvement: the reference's test scores are lowered by 0.3 in place,
    so the fresh sweep (the same code) is genuinely better than what the reference says."""
    ref = tmp_path / "ref"
    assert main(["baseline", "update", "--profile", PROFILE, "--reference", str(ref)]) == 0
    for f in sorted((ref / "runs").glob("*.parquet")):
        t = pq.read_table(f).to_pandas()
        test = (t.split == "test") & (t.metric != "loss")
        t.loc[test, "value"] = (t.loc[test, "value"] - 0.3).clip(lower=0.0)
        pq.write_table(pa.Table.from_pandas(t, schema=pq.read_schema(f), preserve_index=False), f)
    before = {p: p.read_bytes() for p in ref.rglob("*.parquet")}
    fresh = tmp_path / "fresh"
    assert main(["sweep", "--profile", PROFILE, "--results", str(fresh), "--no-progress"]) == 0
    capsys.readouterr()
    # --determinism report: the edited reference no longer matches bit for bit (as after a real code change)
    assert main(["check", "--reference", str(ref), "--results", str(fresh), "--determinism", "report"]) == 0
    out = capsys.readouterr().out
    assert "improvement bit-xor/full/tiny-gpt2: accuracy" in out and "PASS" in out and "(1 improved)" in out
    assert {p: p.read_bytes() for p in ref.rglob("*.parquet")} == before


def test_update_refuses_a_failed_sweep_and_keeps_the_reference(tmp_path: Path, capsys):
    ref = tmp_path / "ref"
    assert main(["baseline", "update", "--profile", PROFILE, "--reference", str(ref)]) == 0
    before = sorted(_files(ref))
    assert main(["baseline", "update", "--profile", PROFILE, "--reference", str(ref),
                 "--from-results", str(tmp_path / "empty")]) == 2
    assert "no runs/ folder" in capsys.readouterr().err
    assert sorted(_files(ref)) == before
