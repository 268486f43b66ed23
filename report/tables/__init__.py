"""Built-in table specs. Importing this package imports every module in it (found by
``benchmark.registry.import_plugins``, not listed) and each registers its specs; the package is the
``table`` entry of the ``fptbench.builtins`` entry-point group, so ``report.specs.TABLE_SPECS`` loads
it on first use.

``paper_tables`` holds Table 1 and Table 6, ``selection`` the lr tuned-vs-fixed table, ``modality`` the
pretraining-modality, ablation, unfreezing and initialization tables, ``gain`` the transfer gains. Specs name models and backbones as strings: report/ never imports baselines/.
Packages outside the repository declare their specs in the ``fptbench.tables`` entry-point group;
``register_external`` registers a list of specs, skipping any whose content (rows, tasks, metric,
derived rows, paper table) equals an already registered one, so one table is never rendered twice
under two names.
"""

from __future__ import annotations

from benchmark.registry import import_plugins

from ..specs import TABLE_SPECS, TableSpec, get_table, register_table


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


import_plugins(__name__)
