"""Modules a dependency imports at its top for code of its that we never run, imported
only when something first uses them. Piccolo imports `black` (with click, pathspec,
packaging and platformdirs: 60-100 ms of CPU with bytecode cached, three times that
without) for the migration files it writes; every process here imports Piccolo, and
`sandbox up` starts four of them at once (docs/benchmark.md, "The container image and
start-up").

`importlib.util.LazyLoader` is the standard library's way, but it cannot defer a compiled
extension module, and black ships compiled: so a stand-in module takes its place and
imports the real one on the first attribute asked of it."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

DEFERRED = ("black",)


class _StandIn(types.ModuleType):
    def __getattr__(self, attribute: str):
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]  # so the import below finds the real module
        return getattr(importlib.import_module(name), attribute)


def defer() -> None:
    for name in DEFERRED:
        if name not in sys.modules and importlib.util.find_spec(name) is not None:
            sys.modules[name] = _StandIn(name)
