"""The portal page (acrctl.portal): GET /portal and GET /portal/{asset}, public (the page
signs in from the browser and calls the same ARM routes the CLI does, with a bearer token).

Every answer carries a strict Content-Security-Policy: scripts, styles and fetches from this
origin only, no inline script or style, no eval, no framing. Off (404) when the server's
`portal_enabled` setting is false."""

from __future__ import annotations

import functools
from importlib import resources

from acrctl.backend.errors import PathNotFound, PortalDisabled
from acrctl.server.http import Ctx, Response

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
ASSETS = {
    "portal.js": "text/javascript; charset=utf-8",
    "portal.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
HTML = "text/html; charset=utf-8"
MAP_MARK = "<!--MAP-->"


@functools.cache
def _static(name: str) -> str:
    return resources.files("acrctl.portal").joinpath("static", name).read_text("utf-8")


@functools.cache
def page_html() -> str:
    """index.html with the region map drawn in (acrctl.portal.worldmap)."""
    from acrctl.portal import worldmap

    return _static("index.html").replace(MAP_MARK, worldmap.svg())


def _enabled(c: Ctx) -> None:
    if not c.b.settings.portal_enabled:
        raise PortalDisabled("The portal is off on this server (setting portal_enabled = false).")


def _answer(text: str, media: str) -> Response:
    return Response(
        200,
        text,
        {
            "Content-Type": media,
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        },
        text,
    )


def page(c: Ctx) -> Response:
    """GET /portal: the map page."""
    _enabled(c)
    return _answer(page_html(), HTML)


def asset(c: Ctx) -> Response:
    """GET /portal/{asset}: the page's script, style sheet and icon (a fixed list)."""
    _enabled(c)
    name = c.p["asset"]
    if name not in ASSETS:
        raise PathNotFound(f"The portal has no file '{name[:100]}'.")
    return _answer(_static(name), ASSETS[name])
