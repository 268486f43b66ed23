"""Registers the built-in backbones and model adapters: imports every module of ``baselines`` (found by
``benchmark.registry.import_plugins``, not listed), each of which registers what it defines. Declared as
the ``model`` and ``backbone`` entries of the ``fptbench.builtins`` entry points (pyproject.toml)."""

from benchmark.registry import import_plugins

import_plugins("baselines")
