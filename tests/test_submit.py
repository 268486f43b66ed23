"""Submission files: round trip into the leaderboard, and rejection of malformed or tampered files."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from benchmark.cli import main
from benchmark.errors import FptError
from benchmark.hashing import sha256_json
from benchmark.results import read_table
from benchmark.submission import MANIFEST, import_submission, load, pack
from benchmark.submission.format import member_digest
from benchmark.submission import validate
from report.leaderboard import build_leaderboard


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """A finished two-run sweep made by the real harness (small LSTM on bit-xor, seeds 0 and 1)."""
    from benchmark.runner import make_config, run

    out = tmp_path_factory.mktemp("sweep") / "results"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for seed in (0, 1):
            cfg = make_config("bit-xor", "lstm", seed=seed, profile="ci", max_steps=10, options={"hidden": 8, "layers": 1},
                              budget_overrides={"eval_every": 5, "eval_batch_size": 1000, "batch_size": 8})
            assert run(cfg, out, progress=False) == "finished"
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.fixture
def packed(sweep: Path, tmp_path: Path) -> Path:
    out = tmp_path / "alice.fptbench.zip"
    pack(sweep, "alice", out)
    return out


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def reseal(files: dict[str, bytes], *, fix_member_hashes: bool = True) -> dict[str, bytes]:
    """What a careful forger would do: recompute every member sha256 and the manifest checksum."""
    m = json.loads(files[MANIFEST])
    if fix_member_hashes:
        m["members"] = {n: member_digest(d) for n, d in files.items() if n != MANIFEST}
    m.pop("checksum")
    m["checksum"] = sha256_json(m)
    return {**files, MANIFEST: json.dumps(m).encode()}


def test_round_trip_into_leaderboard(sweep: Path, packed: Path, tmp_path: Path) -> None:
    manifest = json.loads(members(packed)[MANIFEST])
    assert manifest["name"] == "alice" and len(manifest["runs"]) == 2
    assert manifest["adapters"]["lstm"]["class"] == "baselines.lstm:LSTM"
    assert len(manifest["adapters"]["lstm"]["module_source_sha256"]) == 64
    assert manifest["environment"]["torch_version"] == torch.__version__
    assert set(members(packed)) == {MANIFEST} | set(manifest["members"])
    dest = tmp_path / "submitted"
    sub, imported, skipped, notes = import_submission(packed, dest)
    assert len(imported) == 2 and skipped == [] and notes == []
    got, orig = read_table([dest], "runs"), read_table([sweep], "runs")
    assert set(got.source) == {"submitted:alice"}
    cols = ["run_id", "split", "metric", "value", "config_hash"]
    assert got[cols].sort_values(cols[:3]).reset_index(drop=True).equals(orig[cols].sort_values(cols[:3]).reset_index(drop=True))
    assert len(read_table([dest], "curves")) == len(read_table([sweep], "curves"))
    # importing again is a no-op; the leaderboard marks the row as submitted
    assert import_submission(packed, dest)[2] == sorted(imported)
    rows = build_leaderboard([dest]).tracks[1].rows
    assert [(r.model, r.submitted_by, r.cells["bit-xor"].n) for r in rows] == [("lstm", "alice", 2)]
    # another submitter cannot claim the same runs
    other = tmp_path / "bob.zip"
    pack(sweep, "bob", other)
    with pytest.raises(FptError, match="already in"):
        import_submission(other, dest)


def test_cli_submit_and_add(sweep: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "carol.zip"
    assert main(["submit", "--results", str(sweep), "--name", "carol", "--out", str(out)]) == 0
    site = tmp_path / "site"
    assert main(["leaderboard", "--results", str(tmp_path / "none"), "--submissions", str(tmp_path / "sub"),
                 "--add", str(out), "--out", str(site)]) == 0
    assert "submitted by carol" in (site / "index.html").read_text()
    bad = write_zip(tmp_path / "bad.zip", {"runs/../../evil.parquet": b"x"})
    capsys.readouterr()
    assert main(["leaderboard", "--submissions", str(tmp_path / "sub"), "--add", str(bad), "--out", str(site)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "rejected" in err and "not allowed" in err


@pytest.mark.parametrize("name", ["<b>x</b>", "", "a" * 65, "../up", "-lead"])
def test_bad_names_refused(sweep: Path, tmp_path: Path, name: str) -> None:
    with pytest.raises(FptError, match="submission name"):
        pack(sweep, name, tmp_path / "x.zip")


def test_tampered_member_rejected(packed: Path, tmp_path: Path) -> None:
    files = members(packed)
    name = next(n for n in files if n.startswith("runs/"))
    data = bytearray(files[name])
    data[len(data) // 2] ^= 0xFF
    bad = write_zip(tmp_path / "t.zip", {**files, name: bytes(data)})
    with pytest.raises(FptError, match=f"checksum mismatch for {name}"):
        load(bad)


def test_tampered_manifest_rejected(packed: Path, tmp_path: Path) -> None:
    files = members(packed)
    m = json.loads(files[MANIFEST])
    m["name"] = "mallory"
    bad = write_zip(tmp_path / "t.zip", {**files, MANIFEST: json.dumps(m).encode()})
    with pytest.raises(FptError, match="manifest checksum mismatch"):
        load(bad)


def test_resealed_edited_values_rejected(packed: Path, tmp_path: Path) -> None:
    """Checksums recomputed after editing a number still fail: rows must match their config hash and ranges."""
    files = members(packed)
    name = next(n for n in files if n.startswith("runs/"))
    table = pq.read_table(io.BytesIO(files[name]))
    rows = table.to_pylist()
    for r in rows:
        if r["metric"] == "accuracy":
            r["value"] = 1.5  # out of range
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), buf)
    with pytest.raises(FptError, match="out of range"):
        load(write_zip(tmp_path / "v.zip", reseal({**files, name: buf.getvalue()})))
    for r in rows:
        r["value"] = 0.5
        r["seed"] = 7  # contradicts the config
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), buf)
    with pytest.raises(FptError, match="contradicts its config"):
        load(write_zip(tmp_path / "s.zip", reseal({**files, name: buf.getvalue()})))


def test_wrong_schema_rejected(packed: Path, tmp_path: Path) -> None:
    files = members(packed)
    name = next(n for n in files if n.startswith("curves/"))
    buf = io.BytesIO()
    pq.write_table(pa.table({"run_id": ["x"], "evil": [1]}), buf)
    with pytest.raises(FptError, match="does not match the results schema"):
        load(write_zip(tmp_path / "w.zip", reseal({**files, name: buf.getvalue()})))


@pytest.mark.parametrize("member", ["../evil.parquet", "/abs/runs/x.parquet", "runs/../../x.parquet",
                                    "runs\\x.parquet", "runs/x.pkl", "runs/sub/x.parquet", "payload.pickle"])
def test_path_traversal_and_foreign_members_rejected(packed: Path, tmp_path: Path, member: str) -> None:
    files = members(packed)
    files[member] = pickle.dumps({"boom": 1})
    with pytest.raises(FptError, match="is not allowed"):
        load(write_zip(tmp_path / "p.zip", reseal(files)))


def test_undeclared_member_rejected(packed: Path, tmp_path: Path) -> None:
    files = members(packed)
    name = next(n for n in files if n.startswith("curves/"))
    files["curves/extra.parquet"] = files[name]
    with pytest.raises(FptError, match="differ from the manifest"):
        load(write_zip(tmp_path / "u.zip", files))


def test_oversized_rejected(packed: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(validate, "MAX_MEMBER_BYTES", 256)
    with pytest.raises(FptError, match="limit 256"):
        load(packed)
    monkeypatch.undo()
    monkeypatch.setattr(validate, "MAX_FILE_BYTES", 100)
    with pytest.raises(FptError, match="limit 100"):
        load(packed)
    monkeypatch.undo()
    monkeypatch.setattr(validate, "MAX_STRING", 3)
    with pytest.raises(FptError, match="characters, limit 3"):
        load(packed)


def test_zip_bomb_rejected(packed: Path, tmp_path: Path) -> None:
    files = members(packed)
    name = next(n for n in files if n.startswith("curves/"))
    files[name] = b"\0" * (4 * 2**20)  # compresses ~1000:1
    with pytest.raises(FptError, match="zip bomb"):
        load(write_zip(tmp_path / "b.zip", reseal(files)))


def test_not_a_zip_and_garbage_manifest(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(FptError, match="not a zip archive"):
        load(junk)
    with pytest.raises(FptError, match="not valid JSON"):
        load(write_zip(tmp_path / "m.zip", {MANIFEST: b"\x80not json"}))
    with pytest.raises(FptError, match="not an fptbench submission"):
        load(write_zip(tmp_path / "f.zip", {MANIFEST: b'{"format": "other"}'}))
    with pytest.raises(FptError, match="does not exist"):
        load(tmp_path / "nope.zip")


def test_consistent_forgery_on_another_task_version_rejected(packed: Path, tmp_path: Path) -> None:
    """Rows re-keyed to a different task fingerprint (config hash and run id recomputed, files resealed)
    pass the format checks but not the comparison with this harness's task."""
    from benchmark.config import RunConfig
    from benchmark.profiles import Budget

    files = members(packed)
    manifest = json.loads(files[MANIFEST])
    out: dict[str, bytes] = {MANIFEST: files[MANIFEST]}
    runs_decl = {}
    for name, data in files.items():
        if not name.startswith("runs/"):
            continue
        table = pq.read_table(io.BytesIO(data))
        rows = table.to_pylist()
        raw = json.loads(rows[0]["config"])
        raw["task_fingerprint"] = "0" * 16
        cfg = RunConfig(**{**raw, "budget": Budget(**raw["budget"])})
        old_id = rows[0]["run_id"]
        for r in rows:
            r.update(run_id=cfg.run_id, task_fingerprint=cfg.task_fingerprint, config=cfg.to_json(),
                     config_hash=cfg.config_hash)
        curves = pq.read_table(io.BytesIO(files[f"curves/{old_id}.parquet"]))
        crow = [{**r, "run_id": cfg.run_id} for r in curves.to_pylist()]
        for kind, tab in (("runs", pa.Table.from_pylist(rows, schema=table.schema)),
                          ("curves", pa.Table.from_pylist(crow, schema=curves.schema))):
            buf = io.BytesIO()
            pq.write_table(tab, buf)
            out[f"{kind}/{cfg.run_id}.parquet"] = buf.getvalue()
        runs_decl[cfg.run_id] = {"config": json.loads(cfg.to_json()), "status": manifest["runs"][old_id]["status"]}
    manifest["runs"] = runs_decl
    out[MANIFEST] = json.dumps(manifest).encode()
    forged = write_zip(tmp_path / "forged.zip", reseal(out))
    load(forged)  # structurally valid
    with pytest.raises(FptError, match="task 'bit-xor' fingerprint .* differs from this harness's"):
        import_submission(forged, tmp_path / "dest")
    assert not (tmp_path / "dest" / "runs").exists()


def test_too_many_rows_rejected_from_the_footer(packed: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(validate, "MAX_CURVE_ROWS", 2)
    with pytest.raises(FptError, match=r"rows \(expected 1..2\)"):
        load(packed)


# -- honest submissions: strings, names, curves, manifest types, provenance, consistency, verification --
