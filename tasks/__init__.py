"""Built-in task plugins, one module per task. Importing this package imports every module in it
(``benchmark.registry.import_plugins``: found, not listed), and each registers its tasks; adding a task
is adding a file here (docs/adding-a-task.md)."""

from benchmark.registry import import_plugins

import_plugins(__name__)
