"""Built-in table specs. Importing this package registers them.

Specs declared beside the baselines they compare (``baselines.table_specs``: Table 2 by pretraining
modality, Table 6, the ablations, unfreezing more, initialization) expose
``as_table_specs() -> list[TableSpec]`` and are registered here. A spec whose
content (rows, tasks, metric, derived rows, paper table) equals an already registered one is skipped,
so the same table is never rendered twice under two names. Packages outside the repository use the
``fptbench.tables`` entry point.
"""

from __future__ import annotations

from ..specs import TABLE_SPECS, TableSpec, get_table, register_table
from . import paper  # noqa: F401  (registers table1, table6)


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


def _register_baseline_tables() -> None:
    from baselines.table_specs import as_table_specs

    register_external(list(as_table_specs()))


_register_baseline_tables()
