"""Submission files, continued: every string and manifest field checked, provenance marked as claimed, and
numbers contradicting their own curves or a verifier's rerun. Fixtures are test_submit.py's (imported)."""

# ruff: noqa: F811
from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmark import submission
from benchmark.cli import main
from benchmark.errors import FptError
from benchmark.hashing import sha256_json
from benchmark.results import read_table
from benchmark.submission import MANIFEST, import_submission, load, pack
from test_submit import sweep, packed, members, write_zip, reseal  # noqa: F401 (fixtures and helpers)


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
