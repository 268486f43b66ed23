"""Built-in table specs. Importing this package registers them.

Specs declared elsewhere join at import time: a module listed in ``SPEC_MODULES`` (it belongs to
another area and may be absent from a checkout) either calls ``report.specs.register_table`` itself
or exposes ``as_table_specs() -> list[TableSpec]``, whose specs are registered here. A spec whose
content (rows, tasks, metric, derived rows, paper table) equals an already registered one is skipped,
so the same table is never rendered twice under two names. Packages outside the repository use the
``fptbench.tables`` entry point.
"""

from __future__ import annotations

import importlib
import importlib.util

from ..specs import TABLE_SPECS, TableSpec, get_table, register_table
from . import paper  # noqa: F401  (registers table1, table2, table6)

SPEC_MODULES = ("baselines.table_specs",)


def _content(spec: TableSpec) -> tuple:
    return (spec.rows, spec.tasks, spec.metric, spec.derived, spec.paper_table)


def register_external(specs: list[TableSpec]) -> list[str]:
    """Register specs from another module, skipping exact content duplicates; return the names added."""
    known = {_content(get_table(n)) for n in TABLE_SPECS._items}
    added = []
    for spec in specs:
        if _content(spec) in known:
            continue
        register_table(spec)
        known.add(_content(spec))
        added.append(spec.name)
    return added


for _name in SPEC_MODULES:
    try:
        _found = importlib.util.find_spec(_name) is not None
    except ModuleNotFoundError:
        _found = False
    if _found:
        _mod = importlib.import_module(_name)
        if callable(getattr(_mod, "as_table_specs", None)):
            register_external(list(_mod.as_table_specs()))
