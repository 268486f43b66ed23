"""The submission format: names, limits, member layout, and the text checks every field passes.

Why a module of its own: packing, validation, import and verdicts all speak this format; its
bounds (generous for a real sweep, small enough that a hostile file cannot exhaust memory or disk)
and its refusal of control characters live in one place.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from ..errors import FptError
from ..paths import SUBMITTED_SUBDIR  # noqa: F401  (re-exported: the submission format names it)


FORMAT = "fptbench-submission"
FORMAT_VERSION = 1

# Bounds: generous for a real sweep (hundreds of runs), small enough that a hostile file cannot
# exhaust memory or disk. Parquet of one run is a few KiB.
MAX_FILE_BYTES = 64 * 2**20
MAX_MEMBERS = 4001
MAX_MEMBER_BYTES = 8 * 2**20
MAX_TOTAL_BYTES = 256 * 2**20
MAX_COMPRESSION_RATIO = 200
MAX_MANIFEST_BYTES = 4 * 2**20
MAX_RUN_ROWS = 64
MAX_CURVE_ROWS = 200_000
MAX_STRING = 512  # any string cell, except the config JSON
MAX_CONFIG_STRING = 16_384

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
RESERVED_NAMES = frozenset({"harness"})  # the source value of the harness's own runs: a submitter is never it
CLAIMED = "claimed:"  # prefix of provenance values the harness cannot check (device, versions, commit)
CLAIMED_COLUMNS = ("device", "torch_version", "transformers_version", "package_version", "git_commit")
VERIFICATION_DIR = "verification"
STATUSES = ("submitted", "verified", "contradicted")
MANIFEST_KEYS = {"format": str, "format_version": int, "name": str, "note": str, "environment": dict,
                 "adapters": dict, "runs": dict, "members": dict, "checksum": str}
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_BIDI = set(range(0x200E, 0x2010)) | set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A)) | {0x2028, 0x2029}
MEMBER_RE = re.compile(r"^(runs|curves)/([A-Za-z0-9_.+=-]{1,240})\.parquet$")
MANIFEST = "manifest.json"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise FptError(f"submission name {name!r} is invalid; use 1-64 letters, digits, '.', '_' or '-', "
                       "starting with a letter or digit")
    if name.lower() in RESERVED_NAMES:
        raise FptError(f"submission name {name!r} is reserved (it labels the harness's own runs); choose another --name")
    return name


def control_char(text: str) -> str | None:
    """The first control character of ``text`` (C0, DEL, C1, line separators, bidi overrides), if any.

    Such a character in a model name or a note would reach a terminal (escape sequences) or rewrite
    the order of text on a page (bidi overrides); a submission carries none anywhere."""
    for ch in text:
        o = ord(ch)
        if o < 0x20 or 0x7F <= o < 0xA0 or o in _BIDI:
            return ch
    return None


def check_text(text: str, where: str) -> str:
    bad = control_char(text)
    if bad is not None:
        raise FptError(f"{where} contains the control character U+{ord(bad):04X}; remove it")
    return text


def _walk_strings(obj: Any, where: str) -> None:
    """Every string (keys included) of a JSON value must be free of control characters."""
    if isinstance(obj, str):
        check_text(obj, where)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            check_text(str(k), f"{where}: a key")
            _walk_strings(v, f"{where}.{k}" if len(where) < 120 else where)
    elif isinstance(obj, list):
        for v in obj:
            _walk_strings(v, where)


def _reject(path: Path | str, why: str) -> FptError:
    return FptError(f"submission {path} rejected: {why}")



def member_digest(data: bytes) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
