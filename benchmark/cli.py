"""The ``fptbench`` command line.

Subcommands register with ``@command``. The core's own live in ``benchmark/commands/`` (one module
per area); commands that need a higher layer (``report``, ``leaderboard`` need report/; ``models`` and
``bench`` need baselines/) live in that layer's ``commands`` package and are declared in the
``fptbench.builtins`` entry-point group as ``command.<layer>``, so the core never imports them by
name and adding a command never edits this file.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

from .errors import FptError

DEFAULT_RESULTS = "results/local"
COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], Callable[[argparse.ArgumentParser], None], str]] = {}


def command(name: str, help: str):
    """Register a subcommand: ``@command("run", "...")`` on a function taking parsed args."""

    def deco(fn):
        COMMANDS[name] = (fn, getattr(fn, "_args", lambda p: None), help)
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


def build_parser() -> argparse.ArgumentParser:
    load_commands()
    parser = argparse.ArgumentParser(prog="fptbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (fn, setup, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
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
