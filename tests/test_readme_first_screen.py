"""The README's first screen answers a newcomer (issue 25): what this is, the two set-up commands with
how long each takes, the headline figure (a committed file), and where the claims table is."""

from __future__ import annotations

import re

from benchmark.paths import REPO_ROOT

README = REPO_ROOT / "README.md"


def test_first_40_lines_hold_commands_durations_and_the_headline_figure():
    text = README.read_text(encoding="utf-8")
    head = text.splitlines()[:40]
    first = "\n".join(head)
    for cmd in ("make test", "make reproduce"):
        line = next(x for x in head if x.startswith(cmd))
        assert re.search(r"~\d+(-\d+)? min", line), f"{cmd}: no duration on its line: {line!r}"
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", first)
    assert images and all((REPO_ROOT / i).is_file() for i in images)
    assert "#does-the-paper-hold-computed-not-typed" in first and "## Does the paper hold?" in text
    assert text.index("## Does the paper hold?") < text.index("<!-- fptbench:claims:begin")
    assert "TESTMIN" not in text  # a placeholder never ships


def test_readme_links_lead_somewhere():
    text = README.read_text(encoding="utf-8")
    for link in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (REPO_ROOT / link).exists(), link
