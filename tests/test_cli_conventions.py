"""The command line follows the conventions a newcomer expects (issue 25).

``--help`` answers without importing torch, transformers or pandas (start-up in well under 2 s: the
commands import them inside their functions); the top-level help lists every visible command under a
group; every option of every command has a help text; ``--version``; ``--json`` on the commands that
print results; ``report`` and ``leaderboard`` default to sibling folders, never one inside the other.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.cli import COMMANDS, LISTING, build_parser, main

HEAVY = ("torch", "transformers", "pandas", "pyarrow")


def test_help_imports_no_torch():
    code = ("import sys\nfrom benchmark.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY=\n" in out or out.rstrip().endswith("HEAVY="), out[-300:]
    assert "Train and evaluate:" in out and "--version" in out


def test_argument_errors_import_no_torch():
    code = ("import sys\nfrom benchmark.cli import main\n"
            "for argv in (['run', '--task', 'bit-xor'], ['sweep', '--workers', 'two']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print('HEAVY=' + ','.join(m for m in ('torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.rstrip().endswith("HEAVY="), out[-300:]


def test_top_level_help_groups_every_visible_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: fptbench") and "@command" not in out and "entry-point" not in out
    for name, (group, hidden) in LISTING.items():
        listed = any(line.startswith(f"  {name} ") for line in out.splitlines())
        assert listed != hidden, f"command {name!r}: hidden={hidden} but listed={listed}"
    assert out.index("Start here:") < out.index("Train and evaluate:") < out.index("Reports, leaderboard, claims:")


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.startswith("fptbench ")


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_option_of_every_command_has_help():
    undocumented = []
    for name, p in _subparsers().items():
        for act in p._actions:
            if isinstance(act, argparse._HelpAction) or isinstance(act, argparse._SubParsersAction):
                continue
            if not (act.help or "").strip():
                undocumented.append(f"{name} {'/'.join(act.option_strings) or act.dest}")
        for sub in (a for a in p._actions if isinstance(a, argparse._SubParsersAction)):
            for sname, sp in sub.choices.items():
                for act in sp._actions:
                    if not isinstance(act, argparse._HelpAction) and not (act.help or "").strip():
                        undocumented.append(f"{name} {sname} {'/'.join(act.option_strings) or act.dest}")
    assert not undocumented, f"options without help: {undocumented}"


def test_run_help_shows_choices_and_defaults(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")  # no line breaks inside a choice
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "one of ci, cpu, cpu-converge, cpu-converge-smollm2, cpu-long, paper" in out and "(default: cpu)" in out
    assert "hf:ORG/NAME" in out and "(default: results/local)" in out


@pytest.mark.parametrize("name", ["run", "report", "leaderboard", "data", "mock-run", "sweep", "check", "tasks",
                                  "models", "select", "claims", "submit"])
def test_result_printing_commands_take_json(name):
    p = _subparsers()[name]
    flags = {s for act in p._actions for s in act.option_strings}
    for sub in (a for a in p._actions if isinstance(a, argparse._SubParsersAction)):
        flags |= {s for sp in sub.choices.values() for act in sp._actions for s in act.option_strings}
    assert "--json" in flags


def test_report_and_leaderboard_default_folders_cannot_collide():
    from report.commands.leaderboard import DEFAULT_OUT as board
    from report.commands.report import DEFAULT_OUT as report

    a, b = Path(report).resolve(), Path(board).resolve()
    assert a != b and a not in b.parents and b not in a.parents


def test_run_json_reports_paths_and_the_check_target(tmp_path, capsys):
    code = main(["run", "--task", "bit-xor", "--model", "fpt", "--backbone", "tiny-gpt2", "--profile", "ci",
                 "--max-steps", "20", "--budget", "eval_every=10", "--results", str(tmp_path), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and Path(out["paths"]["runs"]).is_file() and Path(out["paths"]["curves"]).is_file()
    assert out["target"]["what"] == "task threshold" and out["target"]["level"] == 1.0


def test_run_target_is_the_gate_target_where_the_profile_sets_one():
    from benchmark.commands.core import run_target
    from benchmark.gate.settings import gates_for

    class Cfg:
        profile, task, model, backbone = "ci", "bit-xor", "fpt", "minilm-l6"

    assert run_target(Cfg, 1.0) == (gates_for("ci")["bit-xor/fpt/minilm-l6"].target, "ci gate target")


def test_old_names_are_hidden_aliases():
    assert LISTING["baseline"][1] and not LISTING["reference"][1] and COMMANDS["baseline"][0] is COMMANDS["reference"][0]
    assert LISTING["validate"][1]
