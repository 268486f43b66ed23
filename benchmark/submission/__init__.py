"""Submission files: a finished sweep packed into one zip that another machine can verify and import.

Format (``format_version`` 1), a zip archive holding only Parquet and JSON (no pickle anywhere)::

    manifest.json             name, environment, adapters (class, source sha256), run configs,
                              sha256 and size of every other member, and a checksum over itself
    runs/<run_id>.parquet     the harness's runs rows, as written (schema RUNS_SCHEMA)
    curves/<run_id>.parquet   the matching validation curves (schema CURVES_SCHEMA)

The checksums detect corruption and edits made without recomputing them; they are not a signature
(anyone can recompute a sha256), so a submitted row stays marked ``submitted:<name>`` on the
leaderboard until the harness has rerun the same configuration itself. Import re-validates every
row (schema, config hash, run id, value ranges, string lengths, no control characters, curve rows
finite and inside the run's budget), type-checks the manifest, and rewrites the rows with the
harness's own writer, so nothing from the file reaches the results store unparsed. Provenance the
harness cannot check (device, library versions, git commit) is stored prefixed ``claimed:``.

Modules, one responsibility each: ``format`` (names, limits, text checks), ``pack`` (``fptbench
submit``), ``validate`` (open and check a file), ``importer`` (all-or-nothing import), ``verdicts``
(each run's own checks and the sidecar the leaderboard reads), ``rerun`` (rerun a sample drawn from
the verifier's seed, never the bundle's). Each run shows its own verdict: ``submitted`` (not rerun),
``verified`` (a rerun of this run agrees) or ``contradicted`` (its curves, its parameter counts
rebuilt from the adapter, or a rerun disagree); compute numbers are marked self-reported.
"""

from __future__ import annotations

from .format import (CLAIMED, CLAIMED_COLUMNS, FORMAT, FORMAT_VERSION, MANIFEST, STATUSES, SUBMITTED_SUBDIR,
                     check_name, check_text, control_char)
from .importer import check_tasks, claimed, import_submission
from .pack import adapter_source, pack
from .validate import Submission, load, read_manifest, summarize
from .verdicts import (consistency_problems, param_checks, read_verification, submission_status, verification_path,
                       verification_status, write_verification)

__all__ = ["CLAIMED", "CLAIMED_COLUMNS", "FORMAT", "FORMAT_VERSION", "MANIFEST", "STATUSES", "SUBMITTED_SUBDIR",
           "Submission", "adapter_source", "check_name", "check_tasks", "check_text", "claimed",
           "consistency_problems", "control_char", "import_submission", "load", "pack", "param_checks",
           "read_manifest", "read_verification", "submission_status", "summarize", "verification_path",
           "verification_status", "write_verification"]
