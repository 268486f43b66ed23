"""Built-in backbones and model adapters. Importing this package registers them."""

from . import backbones, fpt, lstm  # noqa: F401
