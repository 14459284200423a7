"""The sandbox's guides (docs/*.md) as MCP resources, so an agent reads the documentation
of the sandbox it drives, not a stale copy from its training.

A checkout reads them from the repository's docs/; an installed wheel carries them as
sandbox/mcp/guides/ (pyproject's force-include), so `pip install mypay-sandbox[mcp]`
serves the guides of the version installed.

A read answers at most PAGE_BYTES of text, cut at a line's end, as every tool's answer
is bounded: `mypay-sandbox://guides/NAME` is a guide's first page, and a longer guide
ends each page saying where the next one is (`…/NAME/page/2`, a resource template)."""

from __future__ import annotations

from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.server.mcpserver.resources import TextResource

from sandbox.mcp.bounds import PART_BYTES
from sandbox.settings import INSTALL_ROOT

SCHEME = "mypay-sandbox://guides/"
SHIPPED = Path(__file__).resolve().parent / "guides"
CHECKOUT = INSTALL_ROOT / "docs"
PAGE_BYTES = PART_BYTES * 2 - 2_000  # a resource has no structured copy: its text alone, under MAX_BYTES


def folder() -> Path | None:
    return next((f for f in (SHIPPED, CHECKOUT) if f.is_dir() and any(f.glob("*.md"))), None)


def pages(text: str, most: int = PAGE_BYTES) -> list[str]:
    """The text in pages of at most `most` bytes, each cut after a line (a line longer
    than a page is cut within)."""
    found, page, size = [], [], 0
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > most:  # a line alone longer than a page
            head = line.encode()[:most].decode(errors="ignore")
            line = line[len(head):]
            if page:
                found.append("".join(page))
                page, size = [], 0
            found.append(head)
        if size + len(line.encode()) > most:
            found.append("".join(page))
            page, size = [], 0
        page.append(line)
        size += len(line.encode())
    return [*found, "".join(page)] if page or not found else found


def register(app: MCPServer) -> list[str]:
    """Each guide as a resource (its first page) and the template of its further pages;
    the URIs, in name order (none if no guide is found)."""
    found = folder()
    paged: dict[str, list[str]] = {}
    uris = []
    for guide in sorted(found.glob("*.md")) if found else []:
        text = guide.read_text(encoding="utf-8")
        title = _title(text, guide.stem)
        paged[guide.stem] = _footed(guide.stem, pages(text, PAGE_BYTES - 200))
        uri = SCHEME + guide.stem
        count = len(paged[guide.stem])
        app.add_resource(TextResource(
            uri=uri, name=guide.stem, title=title, text=paged[guide.stem][0], mime_type="text/markdown",
            description=f"MyPay Sandbox guide: {title}" + (f" (page 1 of {count}; {uri}/page/N for the rest)"
                                                            if count > 1 else "")))
        uris.append(uri)

    @app.resource(SCHEME + "{name}/page/{page}", name="guide-page", title="A page of a guide",
                  mime_type="text/markdown",
                  description="Page N of a long guide (the first page, and each page's last line, say how many)")
    def guide_page(name: str, page: str) -> str:
        if name not in paged:
            raise ResourceError("no guide by that name: resources/list names them")
        if not page.isdigit() or not 1 <= int(page) <= len(paged[name]):
            raise ResourceError(f"this guide has pages 1 to {len(paged[name])}")
        return paged[name][int(page) - 1]

    return uris


def _footed(name: str, texts: list[str]) -> list[str]:
    if len(texts) == 1:
        return texts
    return [text + (f"\n\n[page {n} of {len(texts)}: the next is {SCHEME}{name}/page/{n + 1}]" if n < len(texts)
                    else f"\n\n[page {n} of {len(texts)}, the last]") for n, text in enumerate(texts, 1)]


def _title(text: str, stem: str) -> str:
    return next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), stem)
