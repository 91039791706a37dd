"""Static files picgraph serves itself: the gallery at / and GraphiQL's vendored assets.

GraphiQL's JavaScript and CSS are fetched from the npm registry at build time
(scripts/vendor_assets.py, run by `make install`) into static/vendor/, laid out as on
unpkg.com, so Strawberry's page only needs its origin swapped to work offline. Where
they were not fetched (the Lambda package leaves them out: 4 MB), the page keeps
Strawberry's unpkg URLs, whose integrity attributes the browser checks either way.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
GALLERY_DIR = STATIC_DIR / "gallery"
UNPKG = "https://unpkg.com/"
VENDOR_URL = "/static/vendor/"

# Vendored paths carry their version (react@18.2.0/...): they never change.
IMMUTABLE = "public, max-age=31536000, immutable"
# The gallery's own files change with picgraph: revalidate (ETag) on every use.
REVALIDATE = "no-cache"
GALLERY_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src * data: blob:; connect-src *; base-uri 'none'; frame-ancestors 'none'"
)


def graphiql_html(strawberry_html: str) -> str:
    """Strawberry's GraphiQL page, loading its assets from picgraph when vendored."""
    paths = re.findall(r'"https://unpkg\.com/([^"]+)"', strawberry_html)
    if paths and all((VENDOR_DIR / path).is_file() for path in paths):
        return strawberry_html.replace(UNPKG, VENDOR_URL)
    return strawberry_html


class _CachedStaticFiles(StaticFiles):
    def __init__(self, *, directory: Path, cache_control: str) -> None:
        super().__init__(directory=directory, check_dir=False)
        self._cache_control = cache_control

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = self._cache_control
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def static_routes() -> list[BaseRoute]:
    return [
        Mount(
            "/static/gallery",
            app=_CachedStaticFiles(directory=GALLERY_DIR, cache_control=REVALIDATE),
        ),
        Mount(
            VENDOR_URL.rstrip("/"),
            app=GZipMiddleware(_CachedStaticFiles(directory=VENDOR_DIR, cache_control=IMMUTABLE)),
        ),
    ]


async def gallery_page(_: Request) -> Response:
    return FileResponse(
        GALLERY_DIR / "index.html",
        headers={
            "Cache-Control": REVALIDATE,
            "Content-Security-Policy": GALLERY_CSP,
            "X-Content-Type-Options": "nosniff",
        },
    )
