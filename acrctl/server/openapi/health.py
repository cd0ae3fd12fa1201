"""Liveness, readiness, metrics and this document (public): schemas and path specs."""

from __future__ import annotations

from acrctl.server.openapi.base import STR, STR_MAP, Schema, Specs, enum, error, obj, ok, spec


def schemas() -> dict[str, Schema]:
    return {
        "Health": obj({"status": STR}, ("status",)),
        "Readiness": obj({"status": enum("ready", "not ready"), "checks": STR_MAP}, ("status",)),
    }


def specs() -> Specs:
    from acrctl.server import observability
    from acrctl.server.handlers import authz
    from acrctl.server.routes import openapi_document

    return {
        ("GET", authz.health): spec(
            "Health_Get", "Liveness (public).", "Health", {"200": ok("Health")}
        ),
        ("GET", openapi_document): spec(
            "OpenApi_Get", "This document (public).", "Health", {"200": ok("object")}
        ),
        ("GET", observability.readyz): spec(
            "Health_Ready",
            "Readiness (public): 200 ready, 503 not.",
            "Health",
            {"200": ok("Readiness"), "503": ok("Readiness", "Not ready.")},
        ),
        ("GET", observability.metrics): spec(
            "Metrics_Get",
            "Prometheus metrics (public; 404 unless enabled).",
            "Health",
            {
                "200": {
                    "description": "The exposition format.",
                    "content": {"text/plain": {"schema": STR}},
                },
                "404": error("Metrics are not enabled."),
            },
        ),
    }
