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

from benchmark import submission
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
def _edit_runs(files: dict[str, bytes], edit, kind: str = "runs") -> dict[str, bytes]:
    """Apply ``edit(rows)`` to every ``kind`` member's rows and reseal (a careful forger)."""
    out = dict(files)
    for name, data in files.items():
        if not name.startswith(f"{kind}/"):
            continue
        table = pq.read_table(io.BytesIO(data))
        rows = table.to_pylist()
        edit(rows)
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), buf)
        out[name] = buf.getvalue()
    return reseal(out)


def _edit_manifest(files: dict[str, bytes], edit) -> dict[str, bytes]:
    """Edit the manifest, recompute the member hashes, then apply the edit again (it may target them)."""
    m = json.loads(reseal(files)[MANIFEST])
    edit(m)
    m.pop("checksum")
    m["checksum"] = sha256_json(m)
    return {**files, MANIFEST: json.dumps(m).encode()}


@pytest.mark.parametrize("column", ["model", "device", "stand_in_for"])
def test_control_characters_in_any_string_are_refused(packed: Path, tmp_path: Path, column: str) -> None:
    def edit(rows):
        for r in rows:
            r[column] = f"{r[column]}\x1b[2J"

    with pytest.raises(FptError, match="control character U\\+001B"):
        load(write_zip(tmp_path / "c.zip", _edit_runs(members(packed), edit)))


def test_control_characters_in_the_manifest_and_note_are_refused(sweep: Path, packed: Path, tmp_path: Path) -> None:
    with pytest.raises(FptError, match="control character"):
        pack(sweep, "alice", tmp_path / "n.zip", note="hi\x1b]0;pwned\x07")
    bad = _edit_manifest(members(packed), lambda m: m["environment"].update(python="3.11\u202e"))
    with pytest.raises(FptError, match="control character U\\+202E"):
        load(write_zip(tmp_path / "m.zip", bad))


@pytest.mark.parametrize("name", ["harness", "Harness"])
def test_reserved_submitter_names_are_refused(sweep: Path, packed: Path, tmp_path: Path, name: str) -> None:
    with pytest.raises(FptError, match="reserved"):
        pack(sweep, name, tmp_path / "h.zip")
    with pytest.raises(FptError, match="reserved"):
        load(write_zip(tmp_path / "h.zip", _edit_manifest(members(packed), lambda m: m.update(name=name))))


@pytest.mark.parametrize("change, match", [
    ({"value": float("inf")}, "not finite"),
    ({"value": float("nan")}, "not finite"),
    ({"wall_time_s": float("-inf")}, "wall time"),
    ({"step": 10_000}, "outside its budget of 10 steps"),
    ({"value": 3.0}, r"outside \[0, 1\]"),
])
def test_non_finite_or_out_of_budget_curve_rows_are_refused(packed: Path, tmp_path: Path, change: dict, match: str) -> None:
    def edit(rows):
        target = next(r for r in rows if r["metric"] != "loss" and r["step"] > 0)
        target.update(change)

    with pytest.raises(FptError, match=match):
        load(write_zip(tmp_path / "c.zip", _edit_runs(members(packed), edit, kind="curves")))


@pytest.mark.parametrize("edit, match", [
    (lambda m: m.update(note=5), "field 'note' is missing or not a str"),
    (lambda m: m.update(format_version="1"), "format_version '1' is not supported"),
    (lambda m: m.update(extra={"x": 1}), "unknown fields"),
    (lambda m: m["adapters"].update(lstm={"class": 3}), "adapter 'lstm'"),
    (lambda m: m["runs"].update({k: {"config": {}, "status": 1} for k in list(m["runs"])[:1]}), "needs a 'config'"),
    (lambda m: m["members"].update({k: {"sha256": "zz", "size": 1} for k in list(m["members"])[:1]}), "hex 'sha256'"),
    (lambda m: m.update(note="x" * 600), "note is 600 characters"),
])
def test_manifest_fields_are_type_checked(packed: Path, tmp_path: Path, edit, match: str) -> None:
    with pytest.raises(FptError, match=match):
        load(write_zip(tmp_path / "t.zip", _edit_manifest(members(packed), edit)))


def test_imported_provenance_is_marked_claimed_and_the_note_is_shown(sweep: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "erin.zip"
    pack(sweep, "erin", out, note="trained on my <b>laptop</b>")
    res = tmp_path / "res"
    res.mkdir()
    assert main(["leaderboard", "--results", str(res), "--add", str(out), "--out", str(tmp_path / "site")]) == 0
    printed = capsys.readouterr().out
    assert "submitter's note: trained on my <b>laptop</b>" in printed
    got = read_table([res / "submitted"], "runs")
    for col in submission.CLAIMED_COLUMNS:
        assert all(v is None or v.startswith("claimed:") for v in got[col]), col
    assert set(got.device) == {f"claimed:{d}" for d in read_table([sweep], "runs").device}


def test_add_writes_where_the_option_says_and_prints_it(sweep: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    """Default: <first --results>/submitted, never results/submitted under the working directory."""
    out = tmp_path / "fay.zip"
    pack(sweep, "fay", out)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    res = tmp_path / "harness-results"
    res.mkdir()
    assert main(["leaderboard", "--results", str(res), "--add", str(out), "--out", str(tmp_path / "site")]) == 0
    assert len(read_table([res / "submitted"], "runs").run_id.unique()) == 2
    assert not (cwd / "results").exists()
    assert f"into {(res / 'submitted').resolve()}" in capsys.readouterr().out
    explicit = tmp_path / "elsewhere"
    assert main(["leaderboard", "--results", str(res), "--submissions", str(explicit), "--add", str(out),
                 "--out", str(tmp_path / "site")]) == 0
    assert len(read_table([explicit], "runs").run_id.unique()) == 2
    assert f"into {explicit.resolve()}" in capsys.readouterr().out


def _set_accuracy(value: float, curves_too: bool):
    def runs_edit(rows):
        for r in rows:
            if r["metric"] == "accuracy" and (curves_too or r["split"] == "test"):
                r["value"] = value

    def curves_edit(rows):
        for r in rows:
            if r["metric"] == "accuracy":
                r["value"] = value

    return runs_edit, curves_edit


def test_numbers_contradicting_their_own_curves_are_marked_without_a_rerun(packed: Path, tmp_path: Path) -> None:
    """An LSTM at 0.99 whose curves sit at 0.5: valid format, resealed, imported, and marked contradicted."""
    runs_edit, _ = _set_accuracy(0.99, curves_too=False)
    forged = write_zip(tmp_path / "f.zip", _edit_runs(members(packed), runs_edit))
    dest = tmp_path / "sub"
    sub, imported, _, notes = import_submission(forged, dest)
    assert len(imported) == 2 and any("contradicts its own curves" in n for n in notes)
    status = submission.verification_status([dest])
    assert status["submitted:alice"] == "contradicted" and all(status[r] == "contradicted" for r in imported)
    honest = tmp_path / "honest"
    sub, ids, _, notes = import_submission(packed, honest)
    assert not any("contradicts" in n for n in notes)
    assert submission.verification_status([honest]) == {"submitted:alice": "submitted", **{r: "submitted" for r in ids}}
    sidecar = json.loads((honest / "verification" / "alice.json").read_text())
    assert sidecar["note"] == "" and sidecar["checksum"] == sub.manifest["checksum"]


def test_verify_reruns_a_sample_marks_honest_verified_and_tampered_contradicted(packed: Path, tmp_path: Path,
                                                                                capsys) -> None:
    from benchmark.submission.rerun import pick_sample, verify_submission

    sub = load(packed)
    assert pick_sample(sub, 1, seed=0) == pick_sample(sub, 1, seed=0) and len(pick_sample(sub, 5)[0]) == 2
    honest = tmp_path / "honest"
    import_submission(packed, honest)
    res = verify_submission(packed, honest, sample=1, seed=0)
    assert res.status == "submitted" and [c.status for c in res.checks] == ["verified"], res.checks
    status = submission.verification_status([honest])
    # the rerun run is verified; the other was not rerun and says so (no verdict inherited from the sample)
    assert status[res.sample[0]] == "verified" and status["submitted:alice"] == "submitted"
    assert sorted(status[r] for r in sub.runs) == ["submitted", "verified"]
    res = verify_submission(packed, honest, sample=5)  # every run rerun: only then is the submission verified
    assert res.status == "verified" and submission.verification_status([honest])["submitted:alice"] == "verified"
    # curves edited to agree with the forged numbers: only a rerun can tell
    runs_edit, curves_edit = _set_accuracy(0.99, curves_too=True)
    files = _edit_runs(members(packed), runs_edit)
    forged = write_zip(tmp_path / "f.zip", _edit_runs(files, curves_edit, kind="curves"))
    dest = tmp_path / "forged"
    _, _, _, notes = import_submission(forged, dest)
    assert not any("contradicts" in n for n in notes)  # consistent with its own (forged) curves
    assert submission.verification_status([dest])["submitted:alice"] == "submitted"
    capsys.readouterr()
    assert main(["leaderboard", "--results", str(tmp_path / "none"), "--submissions", str(dest), "--verify", str(forged),
                 "--verify-sample", "1", "--out", str(tmp_path / "site")]) == 0
    printed = capsys.readouterr().out
    assert "contradicted" in printed and str(dest / "verification" / "alice.json") in printed
    status = submission.verification_status([dest])
    assert status["submitted:alice"] == "contradicted" and sorted(status.values()).count("contradicted") == 2
    record = json.loads((dest / "verification" / "alice.json").read_text())
    assert "gate" in record["method"] or "local rule" in record["method"]


def test_a_test_score_below_validation_is_not_a_contradiction(packed: Path, tmp_path: Path) -> None:
    """An honest test split may be harder than validation (TAPE's fold holdout): only 'above' is suspicious."""
    runs_edit, _ = _set_accuracy(0.05, curves_too=False)
    harder = write_zip(tmp_path / "h.zip", _edit_runs(members(packed), runs_edit))
    assert submission.consistency_problems(load(harder)) == {}
    runs_edit, _ = _set_accuracy(0.95, curves_too=False)
    assert len(submission.consistency_problems(load(write_zip(tmp_path / "e.zip", _edit_runs(members(packed), runs_edit))))) == 2


def test_fptbench_verify_file_marks_a_tampered_bundle_contradicted_and_exits_1(packed: Path, tmp_path: Path,
                                                                              capsys) -> None:
    """The issue's own words: `fptbench verify FILE` (the same path as `leaderboard --verify`)."""
    runs_edit, curves_edit = _set_accuracy(0.99, curves_too=True)
    forged = write_zip(tmp_path / "f.zip", _edit_runs(_edit_runs(members(packed), runs_edit), curves_edit, kind="curves"))
    dest = tmp_path / "subs"
    assert main(["verify", str(forged), "--submissions", str(dest), "--sample", "1"]) == 2  # not imported there
    assert "not imported into" in capsys.readouterr().err
    import_submission(forged, dest)
    assert main(["verify", str(forged), "--submissions", str(dest), "--sample", "1"]) == 1
    assert "contradicted" in capsys.readouterr().out
    assert submission.verification_status([dest])["submitted:alice"] == "contradicted"
    import_submission(packed, tmp_path / "honest")
    assert main(["verify", str(packed), "--submissions", str(tmp_path / "honest"), "--sample", "2"]) == 0
    assert submission.verification_status([tmp_path / "honest"])["submitted:alice"] == "verified"
