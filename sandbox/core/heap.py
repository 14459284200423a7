"""The long-running processes (`sandbox api`, `sandbox worker`) freeze what they built
while starting (imported modules, the app, its routes and schemas: about 150,000 objects
in the API) once they are ready to serve.

CPython's full garbage collection walks every tracked object each time it runs; frozen
objects are left out of it (they stay alive, as they would anyway). In the API that made a
full collection about 70 ms, dozens of times a minute under load (figures in
docs/benchmark.md). Only the server processes do it: a test process that builds many apps
keeps them collectable."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    gc.collect()  # what start-up left behind is freed, not frozen
    gc.freeze()
