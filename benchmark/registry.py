"""A small typed registry: decorator registration, lazy entry points, close-match errors.

Built-ins register with a decorator; other packages declare entry points in the groups
``fptbench.tasks`` / ``fptbench.models`` / ``fptbench.backbones`` and are imported only when
first needed; ``"pkg.module:Object"`` names load an object directly (``--model pkg.mod:Cls``).

The core never names the packages that hold the built-in plugins (tasks/, baselines/, report/):
they are declared in the ``fptbench.builtins`` entry-point group of ``pyproject.toml``, one entry per
(registry kind, module), named ``KIND`` or ``KIND.anything`` (e.g. ``model = "baselines"``,
``command.report = "report.commands"``). A registry imports the modules declared for its kind the
first time it is asked for a name, so importing the core stays cheap and acyclic.
"""

from __future__ import annotations

import difflib
import importlib
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Callable, Generic, Iterator, TypeVar

from .errors import FptError

T = TypeVar("T")


def load_object(spec: str) -> object:
    """Import ``"pkg.module:attr"``; errors name the spec and what failed."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise FptError(f"'{spec}' is not of the form 'package.module:Object'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise FptError(f"cannot import module '{module_name}' for '{spec}': {exc}; is the package installed?") from exc
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise FptError(f"module '{module_name}' has no attribute '{attr}' (from '{spec}')") from exc


BUILTINS_GROUP = "fptbench.builtins"


def plugin_modules(package: str, prefix: str = "") -> list[str]:
    """The modules (not subpackages) of ``package`` whose names start with ``prefix``, sorted.

    A plugin package is found, not listed: every module in it is imported, so adding a plugin is adding
    one file, and no import list can forget it. Private modules (``_name``) are skipped.
    """
    import pkgutil

    pkg = importlib.import_module(package)
    return sorted(f"{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)
                  if not m.ispkg and m.name.startswith(prefix) and not m.name.startswith("_"))


def import_plugins(package: str, prefix: str = "") -> list[str]:
    """Import every module of ``plugin_modules(package, prefix)`` (each registers its plugins); their names."""
    names = plugin_modules(package, prefix)
    for name in names:
        importlib.import_module(name)
    return names


def builtin_modules(kind: str) -> list[str]:
    """Modules declared (entry-point group ``fptbench.builtins``) to register the built-ins of ``kind``."""
    return sorted(ep.value for ep in entry_points(group=BUILTINS_GROUP) if ep.name.split(".")[0] == kind)


class Registry(Generic[T]):
    """Name -> object registry for one kind of plugin.

    Collisions are errors (two plugins silently shadowing each other is how numbers change without
    anybody noticing). Entry points are scanned lazily, once. ``of``: the type every entry must be (an
    instance of it, or for class registries a subclass), checked once when the entry is added, so a
    ``get`` needs no wrapper re-checking it.
    """

    def __init__(self, kind: str, group: str, builtins: tuple[str, ...] = (), *, declared_builtins: bool = False,
                 scan: tuple[str, str] | None = None, of: type | None = None) -> None:
        self.kind = kind
        self.group = group
        self.of = of
        self._builtins = builtins  # core modules whose import registers built-in plugins
        self._scan = scan  # (package, module-name prefix): core modules found by a package scan (plugin_modules)
        self._declared = declared_builtins  # expects fptbench.builtins entry points for this kind
        self._items: dict[str, T] = {}
        self._lazy: dict[str, str] = {}
        self._loaded = False

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            self.add(name, obj)
            return obj

        return deco

    def add(self, name: str, obj: T) -> None:
        if self.of is not None and not (isinstance(obj, self.of) or (isinstance(obj, type) and issubclass(obj, self.of))):
            raise FptError(f"{self.kind} '{name}' is a {type(obj).__name__} ({obj!r}), not a {self.of.__module__}."
                           f"{self.of.__qualname__}; build or subclass that")
        if name in self._items and self._items[name] is not obj:
            raise FptError(f"{self.kind} '{name}' is registered twice ({self._items[name]!r} and {obj!r}); rename one")
        self._items[name] = obj

    @contextmanager
    def temporarily(self, name: str, obj: T) -> Iterator[T]:
        """``obj`` registered as ``name`` inside the block only: a test's throwaway plugin must not change
        what every later caller lists (``names()`` feeds the command line's choices)."""
        self.add(name, obj)
        try:
            yield obj
        finally:
            self._items.pop(name, None)

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        declared = builtin_modules(self.kind)
        if self._declared and not declared:
            # Stale metadata (e.g. an old *.egg-info in the working directory shadowing the install)
            # would otherwise surface as "unknown model 'fpt'" far from the cause.
            raise FptError(f"no built-in {self.kind}s are declared in the '{BUILTINS_GROUP}' entry points: the installed "
                           "fptbench metadata is stale or shadowed by a fptbench.egg-info folder in the working "
                           "directory; delete that folder and run `make install`")
        scanned = plugin_modules(*self._scan) if self._scan else []
        for module in (*self._builtins, *scanned, *declared):
            importlib.import_module(module)
        if self._declared and not self._items:  # e.g. metadata older than a move of the declaring module
            raise FptError(f"the modules declared for built-in {self.kind}s ({', '.join(declared)}) registered none: the "
                           "installed fptbench metadata is stale; run `make install`")
        self._scan_entry_points()

    def _scan_entry_points(self) -> None:
        for ep in entry_points(group=self.group):
            if ep.name not in self._items:
                self._lazy[ep.name] = ep.value

    def names(self) -> list[str]:
        self._load()
        return sorted(set(self._items) | set(self._lazy))

    def get(self, name: str) -> T:
        self._load()
        if name in self._items:
            return self._items[name]
        if name in self._lazy:
            obj = load_object(self._lazy.pop(name))
            self.add(name, obj)  # type: ignore[arg-type]
            return obj  # type: ignore[return-value]
        self._scan_entry_points()  # a package installed since the first scan
        if name in self._lazy:
            return self.get(name)
        if ":" in name:
            obj = load_object(name)
            self.add(name, obj)  # type: ignore[arg-type]
            return obj  # type: ignore[return-value]
        close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else f"known: {', '.join(self.names())}"
        raise FptError(f"unknown {self.kind} '{name}': {hint} (or pass 'package.module:Object')")

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __contains__(self, name: str) -> bool:
        self._load()
        return name in self._items or name in self._lazy
