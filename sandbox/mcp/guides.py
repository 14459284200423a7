"""The sandbox's guides (docs/*.md) as MCP resources, so an agent reads the documentation
of the sandbox it drives, not a stale copy from its training.

A checkout reads them from the repository's docs/; an installed wheel carries them as
sandbox/mcp/guides/ (pyproject's force-include), so `pip install mypay-sandbox[mcp]`
serves the guides of the version installed."""

from __future__ import annotations

from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.resources import FileResource

from sandbox.settings import INSTALL_ROOT

SCHEME = "mypay-sandbox://guides/"
SHIPPED = Path(__file__).resolve().parent / "guides"
CHECKOUT = INSTALL_ROOT / "docs"


def folder() -> Path | None:
    return next((f for f in (SHIPPED, CHECKOUT) if f.is_dir() and any(f.glob("*.md"))), None)


def register(app: MCPServer) -> list[str]:
    """Each guide as a resource; the URIs, in name order (none if no guide is found)."""
    found = folder()
    uris = []
    for page in sorted(found.glob("*.md")) if found else []:
        title = _title(page)
        uri = SCHEME + page.stem
        app.add_resource(FileResource(uri=uri, name=page.stem, title=title, path=page, mime_type="text/markdown",
                                      description=f"MyPay Sandbox guide: {title}"))
        uris.append(uri)
    return uris


def _title(page: Path) -> str:
    with page.open(encoding="utf-8") as text:
        for line in text:
            if line.startswith("# "):
                return line[2:].strip()
    return page.stem
