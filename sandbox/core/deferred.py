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
    # Also where the module is not installed at all: the image leaves black out (nothing a
    # running sandbox does needs it), and a first use there fails as the import would have.
    for name in DEFERRED:
        if name not in sys.modules:
            sys.modules[name] = _StandIn(name)
