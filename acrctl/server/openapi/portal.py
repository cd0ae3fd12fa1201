"""The portal's map page and its files: path specs (acrctl.server.handlers.portal)."""

from __future__ import annotations

from acrctl.server.openapi.base import Schema, Specs, ok, spec


def specs() -> Specs:
    """The portal's page and files (public)."""
    from acrctl.server.handlers import portal

    def text(description: str, *media: str) -> Schema:
        return {
            "description": description,
            "content": {m: {"schema": {"type": "string"}} for m in media},
        }

    off = ok("ErrorResponse", "The portal is off (portal_enabled) or no such file.")
    return {
        ("GET", portal.page): spec(
            "Portal_Page",
            "The map page (public; HTML under a strict Content-Security-Policy).",
            "Portal",
            {"200": text("The page.", "text/html"), "404": off},
        ),
        ("GET", portal.asset): spec(
            "Portal_Asset",
            "The page's script, style sheet or icon (public).",
            "Portal",
            {
                "200": text(
                    "portal.js, portal.css or icon.svg.",
                    "text/javascript",
                    "text/css",
                    "image/svg+xml",
                ),
                "404": off,
            },
        ),
    }
