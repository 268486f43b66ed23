"""Streaming downloads that resume, verify, and only then move into place.

A download streams into ``<file>.part`` with a progress bar. When interrupted, the next attempt
asks the server for the rest with an HTTP ``Range`` header and appends. The finished ``.part`` is
checksummed (md5 or sha256, whichever the source publishes) and only a match is moved onto the
final name with ``os.replace``: a truncated or wrong file never becomes the cached archive. A
mismatch deletes the ``.part`` (a wrong complete file cannot be fixed by resuming) and the error
names the file, the expected and the actual checksum.

Base URLs are overridable per source (``FPTBENCH_MIRROR_<NAME>``, or ``base_url=``), which is how
the tests point downloads at a server on 127.0.0.1 and how a user points them at a mirror.

A source that publishes no checksum is still pinned by sha256: ``FPTBENCH_SHA256_<NAME>`` supplies
one (enforced like a published checksum); without it, the first verified download writes its sha256
to ``<file>.sha256`` beside the cached file (trust on first use) and every later use of that cache or
of a ``--source-dir`` copy must match it.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..errors import FptError

CHUNK = 1 << 16


@dataclass(frozen=True)
class RemoteFile:
    """One canonical file of a dataset. ``md5``/``sha256`` are the *published* checksums; when the
    source publishes none, both are None and ``checksum_note`` says so (the sha256 of what was
    downloaded is still recorded in the prepared copy's manifest)."""

    key: str  # names the mirror variable: FPTBENCH_MIRROR_<KEY>
    filename: str
    url: str
    md5: str | None = None
    sha256: str | None = None
    checksum_note: str = ""

    @property
    def mirror_var(self) -> str:
        return "FPTBENCH_MIRROR_" + "".join(c if c.isalnum() else "_" for c in self.key.upper())

    def resolve_url(self, base_url: str | None = None) -> str:
        """The canonical URL, or ``<base>/<filename>`` when a base URL is given or set in the environment."""
        base = base_url or os.environ.get(self.mirror_var)
        return f"{base.rstrip('/')}/{self.filename}" if base else self.url

    @property
    def sha256_var(self) -> str:
        return "FPTBENCH_SHA256_" + "".join(c if c.isalnum() else "_" for c in self.key.upper())

    @property
    def has_checksum(self) -> bool:
        return bool(self.md5 or self.sha256)


def pin_path(remote: RemoteFile, dest_dir: Path) -> Path:
    return Path(dest_dir) / (remote.filename + ".sha256")


def expected_digest(remote: RemoteFile, pin_dir: Path | None = None) -> tuple[str, str, str] | None:
    """(algorithm, hex digest, where it comes from) that a copy of ``remote`` must match, or None.

    Order: a sha256 given in ``FPTBENCH_SHA256_<KEY>``, the published sha256, the published md5, the
    sha256 pinned by the first download into ``pin_dir`` (only for sources that publish nothing)."""
    env = os.environ.get(remote.sha256_var, "").strip().lower()
    if env:
        if len(env) != 64 or any(c not in "0123456789abcdef" for c in env):
            raise FptError(f"{remote.sha256_var} must be a 64-character hex sha256, got {env!r}")
        return "sha256", env, remote.sha256_var
    if remote.sha256:
        return "sha256", remote.sha256, "published sha256"
    if remote.md5:
        return "md5", remote.md5, "published md5"
    if pin_dir is not None and pin_path(remote, pin_dir).exists():
        return "sha256", pin_path(remote, pin_dir).read_text().strip(), f"pinned in {pin_path(remote, pin_dir)}"
    return None


def file_digests(path: Path, chunk: int = 1 << 20) -> dict[str, str]:
    """md5 and sha256 of a file in one pass."""
    md5, sha = hashlib.md5(), hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            md5.update(block)
            sha.update(block)
    return {"md5": md5.hexdigest(), "sha256": sha.hexdigest()}


def checksum_problem(path: Path, remote: RemoteFile, pin_dir: Path | None = None) -> str | None:
    """None when ``path`` matches the expected checksum (``expected_digest``; none known: None), else the message."""
    expected = expected_digest(remote, pin_dir)
    if expected is None:
        return None
    algo, digest, origin = expected
    actual = file_digests(path)[algo]
    if actual != digest:
        return f"checksum mismatch for {path.name} ({path}): expected {algo} {digest} ({origin}), got {actual}"
    return None


def _pin_first_download(remote: RemoteFile, target: Path) -> None:
    """Trust on first use: a source without any known checksum gets the sha256 of its first download."""
    if expected_digest(remote, target.parent) is None:
        from ..atomic import atomic_path

        with atomic_path(pin_path(remote, target.parent)) as tmp:
            tmp.write_text(file_digests(target)["sha256"] + "\n")


def _open(url: str, offset: int, timeout: float):
    req = urllib.request.Request(url, headers={"User-Agent": "fptbench", **({"Range": f"bytes={offset}-"} if offset else {})})
    return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 (http/https only, checked by caller)


def _stream_once(url: str, part: Path, *, progress: bool, timeout: float) -> None:
    """Append the rest of ``url`` to ``part``. Raises on a short read, leaving ``part`` to resume from."""
    from tqdm import tqdm

    offset = part.stat().st_size if part.exists() else 0
    try:
        resp = _open(url, offset, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to fetch: the part file is already complete
            return
        raise
    with resp:
        if offset and resp.status != 206:  # the server ignored Range: start over
            offset = 0
        length = resp.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        mode = "ab" if offset else "wb"
        got = offset
        with open(part, mode) as f, tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                                         desc=part.name[: -len(".part")], disable=not progress, leave=False) as bar:
            while True:
                block = resp.read(CHUNK)
                if not block:
                    break
                f.write(block)
                got += len(block)
                bar.update(len(block))
    if total is not None and got < total:
        raise ConnectionError(f"connection closed after {got} of {total} bytes")


def download(remote: RemoteFile, dest_dir: Path, *, base_url: str | None = None, progress: bool = True,
             retries: int = 3, timeout: float = 60.0, backoff: float = 1.0) -> Path:
    """Fetch ``remote`` into ``dest_dir/<filename>`` (resuming a ``.part``), verify, move into place.

    An existing final file is re-verified and returned when it matches; a mismatching one is
    removed and fetched again. ``retries`` resumes after a dropped connection within this call; a
    failure after that leaves the ``.part`` so the next call resumes where this one stopped.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / remote.filename
    if target.exists():
        if checksum_problem(target, remote, dest_dir) is None:
            _pin_first_download(remote, target)
            return target
        target.unlink()  # a bad cached archive is never used; fetch it again
    url = remote.resolve_url(base_url)
    if not url.startswith(("http://", "https://")):
        raise FptError(f"{remote.mirror_var or 'url'}: '{url}' is not an http(s) URL")
    part = dest_dir / (remote.filename + ".part")
    attempt = 0
    while True:
        try:
            _stream_once(url, part, progress=progress, timeout=timeout)
            break
        except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, cut connections
            if isinstance(exc, urllib.error.HTTPError) and exc.code < 500:
                raise FptError(f"cannot download {url}: HTTP {exc.code} {exc.reason}; get {remote.filename} another "
                               f"way and pass its folder with --source-dir, or set {remote.mirror_var} to a mirror") from exc
            attempt += 1
            if attempt > retries:
                have = part.stat().st_size if part.exists() else 0
                raise FptError(f"download of {remote.filename} from {url} failed ({exc}); {have} bytes kept in {part}: "
                               f"rerun to resume, or pass a folder holding {remote.filename} with --source-dir") from exc
            time.sleep(backoff * attempt)
    problem = checksum_problem(part, remote, dest_dir)
    if problem:
        part.unlink()
        raise FptError(problem + f" (downloaded from {url}; the partial file was deleted, rerun to fetch it again)")
    os.replace(part, target)
    _pin_first_download(remote, target)
    return target


def fetch(remote: RemoteFile, source_dir: Path | None, downloads: Path, *, progress: bool = True) -> tuple[Path, str]:
    """The file from the user's folder when it holds it (checked against the published checksum),
    else from the cache of downloads, else downloaded. Returns (path, a description of the source)."""
    if source_dir is not None:
        candidate = Path(source_dir) / remote.filename
        if candidate.exists():
            problem = checksum_problem(candidate, remote, downloads)
            if problem:
                raise FptError(problem + "; replace the file in --source-dir with the original")
            return candidate, f"user directory {source_dir}"
    path = download(remote, downloads, progress=progress)
    return path, f"download {remote.resolve_url()}"


__all__ = ["RemoteFile", "download", "fetch", "file_digests", "checksum_problem", "expected_digest", "pin_path"]
