"""The ``fptbench`` command line (developer notes; users read ``fptbench --help``, built from USAGE).

Subcommands register with ``@command(name, help, group=...)``. The core's own live in
``benchmark/commands/`` (one module per area); commands that need a higher layer (``report``,
``leaderboard`` need report/; ``models`` and ``bench`` need baselines/) live in that layer's
``commands`` package and are declared in the ``fptbench.builtins`` entry-point group as
``command.<layer>``, so the core never imports them by name and adding a command never edits this
file. Command modules import torch, transformers and pandas inside their functions only, so
``--help``, ``--version`` and argument errors answer in well under two seconds
(tests/test_cli_conventions.py checks that ``--help`` imports no torch).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Any, Callable

from .errors import FptError

DEFAULT_RESULTS = "results/local"
COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], Callable[[argparse.ArgumentParser], None], str]] = {}
#: command name -> (group, hidden): how ``fptbench --help`` lists it (hidden: an old name kept as an alias)
LISTING: dict[str, tuple[str, bool]] = {}

# The groups ``fptbench --help`` lists commands under, in this order.
GROUPS = {
    "start": "Start here",
    "run": "Train and evaluate",
    "results": "Reports, leaderboard, claims",
    "share": "Submit, verify, export",
    "ci": "CI gate and maintenance",
    "other": "Other",
}

USAGE = """\
fptbench: a benchmark of cross-modal transfer with pretrained transformers.

It reproduces Lu et al. 2021, "Pretrained Transformers as Universal Computation Engines": a
language-pretrained transformer with frozen attention and feed-forward layers (FPT), trained only
at its input, output, norms and positions, on bit tasks, images, ListOps and protein folds, beside
a random-init frozen transformer, full finetuning, training from scratch and an LSTM. Results are
Parquet files; reports, the leaderboard and the paper's claims are rendered from them.

First steps (2 cores):  make install         (a few minutes)
                        fptbench run --task bit-xor --model fpt      (about a minute)
                        fptbench report --results results/local      (results/rendered/local/report)
"""


def command(name: str, help: str, group: str = "other", hidden: bool = False):
    """Register a subcommand: ``@command("run", "...", group="run")`` on a function taking parsed args."""

    def deco(fn):
        COMMANDS[name] = (fn, getattr(fn, "_args", lambda p: None), help)
        LISTING[name] = (group if group in GROUPS else "other", hidden)
        return fn

    return deco


def args(setup: Callable[[argparse.ArgumentParser], None]):
    def deco(fn):
        fn._args = setup
        return fn

    return deco


def parse_options(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise FptError(f"--option '{item}' is not KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def load_commands() -> None:
    import importlib
    import pkgutil

    from . import commands
    from .registry import builtin_modules

    packages = [commands] + [importlib.import_module(name) for name in builtin_modules("command")]
    for package in packages:
        for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
            importlib.import_module(f"{package.__name__}.{info.name}")


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("fptbench")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree without installing
        return "unknown (not installed)"


def command_listing() -> str:
    """The subcommands by group, one line each (hidden aliases left out)."""
    lines = []
    for group, title in GROUPS.items():
        names = [n for n, (g, hidden) in LISTING.items() if g == group and not hidden]
        if not names:
            continue
        lines.append(f"{title}:")
        for name in sorted(names, key=lambda n: (n != "run", n)):
            lines += textwrap.wrap(COMMANDS[name][2], width=100, initial_indent=f"  {name:<12} ",
                                   subsequent_indent=" " * 15)
        lines.append("")
    return "\n".join(lines)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the hand-written layout of the top-level help; subcommand help shows defaults."""


class _SubFormatter(argparse.RawDescriptionHelpFormatter):
    """Adds "(default: X)" to an option's help unless it has none, is a flag, or the help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (default is None or default is False or default == argparse.SUPPRESS or "default" in text.lower()
                or not action.option_strings
                or isinstance(action, argparse._StoreTrueAction)):
            return text
        return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"


def build_parser() -> argparse.ArgumentParser:
    load_commands()
    parser = argparse.ArgumentParser(
        prog="fptbench", description=USAGE, formatter_class=_Formatter,
        usage="fptbench [-h] [--version] COMMAND [options]",
        epilog=command_listing() + "Run `fptbench COMMAND --help` for a command's options and defaults. Docs: README.md, docs/.")
    parser.add_argument("--version", action="version", version=f"fptbench {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help=argparse.SUPPRESS,
                                prog="fptbench")
    for name, (fn, setup, help_text) in COMMANDS.items():
        p = sub.add_parser(name, description=help_text, formatter_class=_SubFormatter)
        setup(p)
        p.set_defaults(func=fn)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    a = parser.parse_args(argv)
    try:
        return a.func(a)
    except FptError as exc:
        print(f"fptbench: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":  # `python -m benchmark.cli`: use the importable module, where commands register
    from benchmark.cli import main as _main

    sys.exit(_main())
