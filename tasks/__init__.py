"""Built-in task plugins. Importing this package registers them (one module per task)."""

from . import bits  # noqa: F401
