"""Built-in backbones and model adapters. Importing this package imports every module in it (found by
``benchmark.registry.import_plugins``, not listed), and each registers what it defines."""

from benchmark.registry import import_plugins

import_plugins(__name__)
