"""How every Litestar app of ours is built (the API's and the IPN's)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

# Litestar adds a plugin for each of these to every app when it can import the library.
UNSEEN = ("pydantic", "attr")


@contextlib.contextmanager
def optional_plugins_unseen() -> Iterator[None]:
    """Litestar adds its pydantic and attrs plugins to every app when it can import those
    libraries (both are installed, for Piccolo's optional helpers and by other packages),
    and importing them took 0.2-0.25 s of an API process's start, and 0.1 s of the IPN's.
    No route takes or returns a pydantic or attrs type (msgspec Structs only), so each app
    is built as Litestar builds it where they are not installed; anything that imports
    them later still can. (In a process that imported one already, the app gets its
    plugin, which changes nothing for msgspec types: the OpenAPI document is the same.)"""
    hidden = [name for name in UNSEEN if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  (then `import <name>` raises ImportError)
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name) is None:
                del sys.modules[name]
