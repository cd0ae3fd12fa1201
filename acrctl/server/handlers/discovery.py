"""Discovery: what az and scripts ask ARM before (or instead of) the resource itself.

* `GET /metadata/endpoints` (public; also `//metadata/endpoints`, what `az cloud register
  --endpoint-resource-manager https://host:port/` requests): the cloud's endpoints.
* `GET /subscriptions/{sub}/resources`: generic resources, with ARM's `$filter`
  (`resourceType eq`, `name eq`, `resourceGroup eq`, `location eq`, joined by `and`), `$top`
  and nextLink paging, only what the caller may read. az finds a registry's resource group
  this way when `-g` is not given.
* `GET /subscriptions/{sub}/providers[/{namespace}]` and `POST .../register`: resource
  providers with their resource types, locations and api-versions.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from acrctl.backend import regions
from acrctl.backend.errors import (
    InvalidFilterInQueryString,
    InvalidResourceNamespace,
    InvalidSkipToken,
)
from acrctl.backend.registries import REGISTRY
from acrctl.backend.replications import REPLICATION
from acrctl.backend.webhooks import WEBHOOK
from acrctl.server.http import ACR_API_VERSIONS, Ctx, Response

ACR = "Microsoft.ContainerRegistry"
# the DNS suffix of the login servers this server hands out without a data plane
# (<name>.azurecr.io, acrctl.backend.registries); with one, Settings.login_server_suffix
ACR_LOGIN_SUFFIX = "azurecr.io"
RESOURCE_KINDS = (
    (f"{ACR}/registries", REGISTRY),
    (f"{ACR}/registries/replications", REPLICATION),
    (f"{ACR}/registries/webhooks", WEBHOOK),
)
MAX_TOP = 1000
FILTER_KEYS = ("resourcetype", "name", "resourcegroup", "location")
_CLAUSE = re.compile(r"\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*", re.IGNORECASE)
_AND = re.compile(r"and\s+", re.IGNORECASE)


# -- the cloud's endpoints ---------------------------------------------------------------------
def metadata_endpoints(c: Ctx) -> Response:
    """The keys az's `cloud register` reads (azure.cli.core.cloud._arm_to_cli_mapper); the
    identity provider is this server too (acrctl.server.handlers.identity)."""
    from acrctl.backend.jwt_tokens import AUDIENCES

    base = c.req.base_url.rstrip("/") + "/"
    return Response(
        200,
        {
            "name": "acrctl",
            "authentication": {
                "loginEndpoint": base,
                "audiences": list(AUDIENCES),
                "tenant": "common",
                "identityProvider": "AAD",
            },
            "resourceManager": base,
            "suffixes": {"acrLoginServer": login_suffix(c)},
        },
    )


def login_suffix(c: Ctx) -> str:
    """What follows `<name>.` in the loginServer of the registries this server writes."""
    return str(getattr(c.b.settings, "login_server_suffix", "") or "") or ACR_LOGIN_SUFFIX


# -- generic resources -------------------------------------------------------------------------
def parse_filter(text: str) -> dict[str, str]:
    """`a eq 'x' and b eq 'y'` -> {"a": "x", "b": "y"} (keys lower-cased, '' unescaped)."""
    out: dict[str, str] = {}
    pos = 0
    while True:
        m = _CLAUSE.match(text, pos)
        key = m.group(1).lower() if m else ""
        if m is None or key not in FILTER_KEYS or key in out:
            raise InvalidFilterInQueryString(
                f"The $filter '{text[:200]}' is not supported. Use resourceType eq '...', "
                "name eq '...', resourceGroup eq '...' or location eq '...', each at most "
                "once, joined with 'and'.",
            )
        out[key] = m.group(2).replace("''", "'")
        pos = m.end()
        if pos >= len(text):
            return out
        more = _AND.match(text, pos)
        pos = more.end() if more else -1
        if pos < 0:
            raise InvalidFilterInQueryString(
                f"The $filter '{text[:200]}' is not supported: join clauses with 'and'.",
            )


def _skip(c: Ctx) -> tuple[int, int | None, int]:
    """(kind index, seq after which to go on, page size) from $skipToken and $top."""
    token, top = c.req.query.get("$skipToken"), c.req.query.get("$top")
    try:
        index, after = (int(x) for x in token.split(":", 1)) if token else (0, None)
        limit = min(int(top), MAX_TOP) if top else int(c.b.settings.page_size)
    except ValueError:
        raise InvalidSkipToken("The $skipToken or $top query parameter is invalid.") from None
    if not 0 <= index < len(RESOURCE_KINDS) or (after is not None and not 0 <= after < 2**63):
        raise InvalidSkipToken("The $skipToken query parameter is invalid.")
    if limit < 1:
        raise InvalidSkipToken("$top must be a positive number.")
    return index, after, limit


def generic(doc: dict[str, Any]) -> dict[str, Any]:
    """A resource as ARM's generic list shows it: nested names joined with '/'."""
    rid = str(doc["id"])
    tail = rid.split(f"/providers/{ACR}/", 1)[-1].split("/")
    out: dict[str, Any] = {
        "id": rid,
        "name": "/".join(tail[1::2]),
        "type": doc["type"],
        "location": doc.get("location"),
    }
    if doc.get("sku"):
        out["sku"] = doc["sku"]
    out["tags"] = doc.get("tags") or {}
    return out


def _matches(res: dict[str, Any], flt: dict[str, str]) -> bool:
    if "name" in flt and res["name"].lower() != flt["name"].lower():
        return False
    if "resourcegroup" in flt:
        rg = res["id"].split("/")[4] if res["id"].count("/") > 4 else ""
        if rg.lower() != flt["resourcegroup"].lower():
            return False
    if "location" in flt:
        want = flt["location"].replace(" ", "").lower()
        return str(res.get("location") or "").replace(" ", "").lower() == want
    return True


def list_resources(c: Ctx) -> Response:
    flt = parse_filter(c.req.query["$filter"]) if c.req.query.get("$filter") else {}
    start, after, limit = _skip(c)
    budget, out, next_token = limit, [], None
    for i in range(start, len(RESOURCE_KINDS)):
        rtype, kind = RESOURCE_KINDS[i]
        if "resourcetype" in flt and flt["resourcetype"].lower() != rtype.lower():
            continue
        if kind == REGISTRY and "/" not in flt.get("name", "/"):
            items = c.b.resources.named(
                REGISTRY, c.p["sub"], flt["name"], after if i == start else None
            )
        else:
            items = c.b.resources.page(
                kind, c.p["sub"], after if i == start else None, limit=budget
            )
        budget -= len(items)
        out += [
            res
            for res in map(generic, (it.doc for it in items))
            if _matches(res, flt) and c.b.rbac.allowed(c.caller, f"{rtype}/read", res["id"])
        ]
        if budget <= 0:
            next_token = f"{i}:{items[-1].seq}"
            break
    body: dict[str, Any] = {"value": out}
    if next_token is not None:
        body["nextLink"] = _next_link(c, next_token, limit)
    return Response(200, body)


def _next_link(c: Ctx, token: str, limit: int) -> str:
    query = {k: v for k, v in c.req.query.items() if k not in ("$skipToken", "$top")}
    query.update({"$top": str(limit), "$skipToken": token})
    q = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
    return f"{c.req.base_url}{quote(c.req.path)}?{q}"


# -- resource providers ------------------------------------------------------------------------
def _acr_types(locations: list[str]) -> list[dict[str, Any]]:
    def rt(name: str, locs: list[str], caps: str = "None") -> dict[str, Any]:
        return {
            "resourceType": name,
            "locations": locs,
            "apiVersions": list(ACR_API_VERSIONS),
            "defaultApiVersion": ACR_API_VERSIONS[1],
            "capabilities": caps,
        }

    tracked = (
        "CrossResourceGroupResourceMove, CrossSubscriptionResourceMove, SupportsTags, "
        "SupportsLocation"
    )
    return [
        rt("registries", locations, tracked),
        rt("registries/replications", locations, "SupportsTags, SupportsLocation"),
        rt("registries/webhooks", locations, "SupportsTags, SupportsLocation"),
        rt("checkNameAvailability", []),
        rt("locations", []),
        rt("locations/operationResults", locations),
        rt("operations", []),
    ]


def _simple_types(*names: str) -> list[dict[str, Any]]:
    return [
        {"resourceType": n, "locations": [], "apiVersions": ["2022-09-01"], "capabilities": "None"}
        for n in names
    ]


def providers_catalog() -> dict[str, list[dict[str, Any]]]:
    """Namespace -> resource types served by this server."""
    locations = sorted(r["displayName"] for r in regions.catalog().values())
    return {
        ACR: _acr_types(locations),
        "Microsoft.Resources": _simple_types(
            "subscriptions", "resourceGroups", "deployments", "resources", "providers"
        ),
        "Microsoft.Authorization": _simple_types("roleDefinitions", "roleAssignments"),
        "Microsoft.Insights": _simple_types("eventtypes"),
    }


def _provider(sub: str, namespace: str, types: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub}/providers/{namespace}",
        "namespace": namespace,
        "registrationState": "Registered",
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": types,
    }


def list_providers(c: Ctx) -> Response:
    c.b.subscription(c.p["sub"])
    return c.ok(
        {"value": [_provider(c.p["sub"], ns, types) for ns, types in providers_catalog().items()]}
    )


def get_provider(c: Ctx) -> Response:
    c.b.subscription(c.p["sub"])
    for ns, types in providers_catalog().items():
        if ns.lower() == c.p["namespace"].lower():
            return c.ok(_provider(c.p["sub"], ns, types))
    raise InvalidResourceNamespace(f"The resource namespace '{c.p['namespace'][:100]}' is invalid.")


def register_acr(c: Ctx) -> Response:
    """`az provider register -n Microsoft.ContainerRegistry`: already registered."""
    c.b.subscription(c.p["sub"])
    return c.ok(_provider(c.p["sub"], ACR, providers_catalog()[ACR]))


def metadata_endpoints_slash(c: Ctx) -> Response:
    """GET //metadata/endpoints: what az requests for an endpoint given with its slash."""
    return metadata_endpoints(c)
