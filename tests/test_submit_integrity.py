"""Tampered bundles never show as verified (issue 23, items 1-4 and 9).

Each test is a forger's move, resealed with fresh checksums (what anyone can recompute): a note
edited until the rerun sample skips a tampered run, a bundle whose later run clashes after its
tampered run, a short run relabelled with a longer budget, edited parameter counts and FLOPs.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import test_submit
from test_submit import members, reseal, write_zip

from benchmark import submission
from benchmark.cli import main
from benchmark.config import RunConfig
from benchmark.errors import FptError
from benchmark.results import read_table
from benchmark.submission import MANIFEST, import_submission, load
from benchmark.submission.rerun import pick_sample, verify_submission


sweep, packed = test_submit.sweep, test_submit.packed  # the same fixtures: a real two-run sweep, packed


def _tables(files: dict[str, bytes], kind: str) -> dict[str, list[dict]]:
    return {n: pq.read_table(pa.BufferReader(d)).to_pylist() for n, d in files.items() if n.startswith(f"{kind}/")}


def _parquet(rows: list[dict], like: bytes) -> bytes:
    schema = pq.read_table(pa.BufferReader(like)).schema
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), buf)
    return buf.getvalue()


def forge(files: dict[str, bytes], edit_rows=None, edit_config=None, note: str | None = None) -> dict[str, bytes]:
    """Edit rows and/or configs the way a careful forger would: new config -> new hash and run id,
    members renamed, manifest rewritten, every checksum recomputed."""
    out = {n: d for n, d in files.items() if n == MANIFEST}
    manifest = json.loads(files[MANIFEST])
    runs_decl = {}
    for name, rows in _tables(files, "runs").items():
        old_id = rows[0]["run_id"]
        raw = json.loads(rows[0]["config"])
        if edit_config:
            edit_config(raw)
        cfg = RunConfig.from_json(raw)
        for r in rows:
            r.update(run_id=cfg.run_id, config=cfg.to_json(), config_hash=cfg.config_hash, profile=cfg.profile,
                     seed=cfg.seed)
        if edit_rows:
            edit_rows(rows)
        out[f"runs/{cfg.run_id}.parquet"] = _parquet(rows, files[name])
        curves = pq.read_table(pa.BufferReader(files[f"curves/{old_id}.parquet"])).to_pylist()
        for c in curves:
            c["run_id"] = cfg.run_id
        out[f"curves/{cfg.run_id}.parquet"] = _parquet(curves, files[f"curves/{old_id}.parquet"])
        runs_decl[cfg.run_id] = {"config": json.loads(cfg.to_json()), "status": rows[0]["status"]}
    manifest["runs"] = runs_decl
    if note is not None:
        manifest["note"] = note
    out[MANIFEST] = json.dumps(manifest).encode()
    return reseal(out)


# -- item 1: a sample the submitter cannot steer; no inherited verdicts -----------------------------------
def test_the_sample_ignores_everything_the_submitter_controls(packed: Path, tmp_path: Path) -> None:
    """Editing the free-text note (which changes the manifest checksum) never moves the sample."""
    a = load(packed)
    b = load(write_zip(tmp_path / "n.zip", forge(members(packed), note="try 9")))
    assert a.manifest["checksum"] != b.manifest["checksum"]
    for seed in range(24):
        assert pick_sample(a, 1, seed) == pick_sample(b, 1, seed)
    seeds = {pick_sample(a, 1)[1] for _ in range(8)}  # no seed given: a fresh one each time
    assert len(seeds) > 1


def test_runs_outside_the_sample_stay_not_rerun(packed: Path, tmp_path: Path) -> None:
    dest = tmp_path / "subs"
    sub, ids, _, _ = import_submission(packed, dest)
    res = verify_submission(packed, dest, sample=1, seed=3)
    status = submission.verification_status([dest])
    (rerun,) = res.sample
    assert status[rerun] == "verified"
    assert [status[r] for r in ids if r != rerun] == ["submitted"]
    assert status["submitted:alice"] == "submitted"  # a sample of 1 of 2 does not verify the submission


# -- item 2: all or nothing -------------------------------------------------------------------------------
def test_a_clash_on_a_later_run_writes_nothing(sweep: Path, packed: Path, tmp_path: Path) -> None:
    dest = tmp_path / "subs"
    _, ids, _, _ = import_submission(packed, dest)
    first, second = sorted(ids)
    for kind in ("runs", "curves"):  # dest keeps only alice's second run
        (dest / kind / f"{first}.parquet").unlink()
    files = members(packed)

    def tamper(rows):
        if rows[0]["run_id"] == first:
            for r in rows:
                if r["metric"] == "accuracy" and r["split"] == "test":
                    r["value"] = 0.99

    mallory = write_zip(tmp_path / "m.zip", forge(files, edit_rows=tamper))
    renamed = json.loads(members(mallory)[MANIFEST])
    renamed["name"] = "mallory"
    mallory = write_zip(tmp_path / "m2.zip", reseal({**members(mallory), MANIFEST: json.dumps(renamed).encode()}))
    with pytest.raises(FptError, match="already in .* nothing imported"):
        import_submission(mallory, dest)
    runs = read_table([dest], "runs")
    assert set(runs.run_id) == {second} and set(runs.source) == {"submitted:alice"}
    assert not (dest / "verification" / "mallory.json").exists()


def test_a_failed_write_leaves_nothing_behind(packed: Path, tmp_path: Path, monkeypatch) -> None:
    from benchmark.submission import importer

    calls = []
    real = importer.write_table

    def flaky(*a, **k):
        calls.append(a)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(*a, **k)

    monkeypatch.setattr(importer, "write_table", flaky)
    dest = tmp_path / "subs"
    with pytest.raises(OSError):
        import_submission(packed, dest)
    assert read_table([dest], "runs").empty and read_table([dest], "curves").empty


def test_the_verdict_is_on_disk_before_any_run(packed: Path, tmp_path: Path, monkeypatch) -> None:
    """A tampered run interrupted mid-import is never on disk without its mark."""
    from benchmark.submission import importer

    forged = write_zip(tmp_path / "f.zip", forge(members(packed), edit_rows=lambda rows: [
        r.update(value=0.99) for r in rows if r["metric"] == "accuracy" and r["split"] == "test"]))
    dest = tmp_path / "subs"
    seen = []
    real = importer.write_table

    def spy(d, table, run_id, rows):
        seen.append(submission.verification_status([dest]).get(run_id))
        return real(d, table, run_id, rows)

    monkeypatch.setattr(importer, "write_table", spy)
    import_submission(forged, dest)
    assert seen and set(seen) == {"contradicted"}


def test_a_second_bundle_never_erases_the_first_ones_marks(packed: Path, sweep: Path, tmp_path: Path) -> None:
    dest = tmp_path / "subs"
    forged = write_zip(tmp_path / "f.zip", forge(members(packed), edit_rows=lambda rows: [
        r.update(value=0.99) for r in rows if r["metric"] == "accuracy" and r["split"] == "test"]))
    _, ids, _, _ = import_submission(forged, dest)
    other = write_zip(tmp_path / "o.zip", forge(members(packed), edit_config=lambda c: c.update(seed=c["seed"] + 10)))
    import_submission(other, dest)
    status = submission.verification_status([dest])
    assert all(status[r] == "contradicted" for r in ids)
    with pytest.raises(FptError, match="other numbers"):  # the honest numbers cannot replace the forged rows
        import_submission(packed, dest)


# -- item 3: a short run relabelled with a longer budget ---------------------------------------------------
def test_a_short_run_relabelled_with_a_longer_budget_is_refused(packed: Path, tmp_path: Path) -> None:
    def relabel(cfg):
        cfg["profile"] = "paper"
        cfg["budget"]["steps"] = 1000

    forged = write_zip(tmp_path / "r.zip", forge(members(packed), edit_config=relabel))
    with pytest.raises(FptError, match="finished after 10 steps but its budget is 1000"):
        load(forged)


# -- item 4: parameter counts rebuilt, FLOPs recounted, the rest marked self-reported -----------------------
def test_edited_parameter_counts_are_contradicted_at_import(packed: Path, tmp_path: Path) -> None:
    forged = write_zip(tmp_path / "p.zip", forge(members(packed), edit_rows=lambda rows: [
        r.update(n_params_trainable=100, n_params_total=100) for r in rows]))
    dest = tmp_path / "subs"
    _, ids, _, notes = import_submission(forged, dest)
    status = submission.verification_status([dest])
    assert all(status[r] == "contradicted" for r in ids)
    assert any("the adapter builds" in n for n in notes)
    _, honest_ids, _, notes = import_submission(packed, tmp_path / "honest")
    record = json.loads((tmp_path / "honest" / "verification" / "alice.json").read_text())
    kinds = {c["kind"]: c["status"] for c in record["runs"][honest_ids[0]]["checks"]}
    assert kinds == {"curves": "consistent", "params": "consistent", "compute": "self-reported"}


def test_edited_flops_are_contradicted_by_a_rerun(packed: Path, tmp_path: Path) -> None:
    forged = write_zip(tmp_path / "fl.zip", forge(members(packed), edit_rows=lambda rows: [
        r.update(train_flops=1) for r in rows]))
    dest = tmp_path / "subs"
    import_submission(forged, dest)
    res = verify_submission(forged, dest, sample=2, seed=0)
    assert [c.status for c in res.checks] == ["contradicted", "contradicted"]
    assert all("train_flops claimed 1," in c.detail for c in res.checks)


# -- item 9: a verdict always lands where the leaderboard reads ----------------------------------------------
def test_verify_file_needs_the_directory_it_was_imported_into(packed: Path, tmp_path: Path, monkeypatch,
                                                              capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["verify", str(packed)]) == 2
    assert "--results DIR" in capsys.readouterr().err
    res = tmp_path / "board"
    assert main(["verify", str(packed), "--results", str(res), "--sample", "1"]) == 2
    assert "not imported into" in capsys.readouterr().err
    assert not (tmp_path / "results").exists() and not (res / "submitted" / "verification").exists()
    assert main(["leaderboard", "--results", str(res), "--add", str(packed), "--out", str(tmp_path / "site")]) == 0
    assert main(["verify", str(packed), "--results", str(res), "--sample", "1", "--seed", "1"]) == 0
    assert "verified" in set(submission.verification_status([res / "submitted"]).values())
