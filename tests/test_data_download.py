"""Downloads against a real HTTP server on 127.0.0.1: good, checksum mismatch, cut and resumed, mirrors."""

from __future__ import annotations

import hashlib
import os

import pytest
from data_fixtures import FileServer

from benchmark.data.download import RemoteFile, download, fetch
from benchmark.errors import FptError

PAYLOAD = os.urandom(300_000)
MD5 = hashlib.md5(PAYLOAD).hexdigest()
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def remote(**kw) -> RemoteFile:
    return RemoteFile(**{"key": "fixture-set", "filename": "blob.bin", "url": "http://example.invalid/blob.bin",
                         "md5": MD5, **kw})


@pytest.fixture
def server():
    with FileServer({"blob.bin": PAYLOAD}) as s:
        yield s


def test_good_download_verifies_and_moves_into_place(server, tmp_path):
    path = download(remote(), tmp_path, base_url=server.url, progress=False)
    assert path == tmp_path / "blob.bin" and path.read_bytes() == PAYLOAD
    assert not (tmp_path / "blob.bin.part").exists()
    n = len(server.requests)
    assert download(remote(), tmp_path, base_url=server.url, progress=False) == path  # cached: no new request
    assert len(server.requests) == n


def test_sha256_is_checked_too(server, tmp_path):
    path = download(remote(md5=None, sha256=SHA), tmp_path, base_url=server.url, progress=False)
    assert path.read_bytes() == PAYLOAD


def test_checksum_mismatch_names_file_expected_actual_and_leaves_nothing(server, tmp_path):
    wrong = "0" * 32
    with pytest.raises(FptError) as err:
        download(remote(md5=wrong), tmp_path, base_url=server.url, progress=False)
    msg = str(err.value)
    assert "blob.bin" in msg and wrong in msg and MD5 in msg
    assert not (tmp_path / "blob.bin").exists() and not (tmp_path / "blob.bin.part").exists()


def test_connection_cut_midway_then_resumed_by_next_call(server, tmp_path):
    server.cut_first = 100_000
    with pytest.raises(FptError, match="rerun to resume"):
        download(remote(), tmp_path, base_url=server.url, progress=False, retries=0)
    part = tmp_path / "blob.bin.part"
    assert part.exists() and 0 < part.stat().st_size < len(PAYLOAD)
    assert not (tmp_path / "blob.bin").exists()  # a truncated file never becomes the download
    have = part.stat().st_size
    path = download(remote(), tmp_path, base_url=server.url, progress=False, retries=0)
    assert path.read_bytes() == PAYLOAD
    assert server.requests[-1][1] == f"bytes={have}-"  # the second request asked only for the rest


def test_connection_cut_is_resumed_within_one_call(server, tmp_path):
    server.cut_first = 50_000
    path = download(remote(), tmp_path, base_url=server.url, progress=False, retries=2, backoff=0)
    assert path.read_bytes() == PAYLOAD
    assert [r for _, r in server.requests] == [None, "bytes=50000-"]


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    (tmp_path / "blob.bin.part").write_bytes(PAYLOAD[:1234])
    server.ignore_range = True
    path = download(remote(), tmp_path, base_url=server.url, progress=False)
    assert path.read_bytes() == PAYLOAD


def test_corrupt_part_from_an_earlier_run_is_discarded_on_mismatch(server, tmp_path):
    (tmp_path / "blob.bin.part").write_bytes(b"x" * 1000)  # garbage prefix: resuming yields a wrong file
    with pytest.raises(FptError, match="checksum mismatch"):
        download(remote(), tmp_path, base_url=server.url, progress=False)
    assert not (tmp_path / "blob.bin.part").exists()
    assert download(remote(), tmp_path, base_url=server.url, progress=False).read_bytes() == PAYLOAD


def test_bad_cached_file_is_refetched(server, tmp_path):
    (tmp_path / "blob.bin").write_bytes(b"tampered")
    assert download(remote(), tmp_path, base_url=server.url, progress=False).read_bytes() == PAYLOAD


def test_mirror_environment_variable(server, tmp_path, monkeypatch):
    r = remote()
    assert r.mirror_var == "FPTBENCH_MIRROR_FIXTURE_SET"
    assert r.resolve_url() == "http://example.invalid/blob.bin"
    monkeypatch.setenv(r.mirror_var, server.url + "/")
    assert r.resolve_url() == f"{server.url}/blob.bin"
    assert download(r, tmp_path, progress=False).read_bytes() == PAYLOAD


def test_http_404_is_one_clear_line(server, tmp_path):
    with pytest.raises(FptError, match="HTTP 404.*--source-dir"):
        download(remote(filename="missing.bin"), tmp_path, base_url=server.url, progress=False)


def test_unreachable_host_fails_with_resume_hint(tmp_path):
    with pytest.raises(FptError, match="failed"):
        download(remote(), tmp_path, base_url="http://127.0.0.1:9", progress=False, retries=0, timeout=2)


def test_fetch_prefers_the_user_directory_and_checks_it(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "blob.bin").write_bytes(PAYLOAD)
    path, where = fetch(remote(), src, tmp_path / "dl", progress=False)
    assert path == src / "blob.bin" and "user directory" in where
    (src / "blob.bin").write_bytes(PAYLOAD[:-1])
    with pytest.raises(FptError, match="checksum mismatch.*--source-dir"):
        fetch(remote(), src, tmp_path / "dl", progress=False)
