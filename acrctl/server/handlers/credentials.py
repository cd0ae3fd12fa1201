"""Handlers for the registry admin user: listCredentials and regenerateCredential."""

from __future__ import annotations

from acrctl.server.http import Ctx, Response


def list_(c: Ctx) -> Response:
    return c.ok(c.b.registries.list_credentials(c.p["sub"], c.p["rg"], c.p["registry"]))


def regenerate(c: Ctx) -> Response:
    return c.ok(
        c.b.registries.regenerate_credential(c.p["sub"], c.p["rg"], c.p["registry"], c.body())
    )
