"""The ARM wire contract of every resource route, in-process and against a real server:
resource groups, registries, replications, webhooks, the envelope, long-running
operations and conditional requests. One behaviour per test; negative tests assert the
status and the ARM error code (and the message where it carries information)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytest.register_assert_rewrite("api_harness")
pytest_plugins = ("api_harness",)

from api_harness import ACR, API_VERSION, NO_TOKEN, Api, op_id  # noqa: E402

# The fields of arm-examples/RegistryGet.json (2025-11-01), which a GET must carry.
REGISTRY_GET_TOP = {"id", "name", "type", "location", "tags", "sku", "properties"}
REGISTRY_GET_PROPERTIES = {
    "loginServer",
    "creationDate",
    "provisioningState",
    "adminUserEnabled",
    "networkRuleSet",
    "policies",
    "encryption",
    "status",
    "dataEndpointEnabled",
    "dataEndpointHostNames",
    "privateEndpointConnections",
    "publicNetworkAccess",
    "networkRuleBypassOptions",
    "networkRuleBypassAllowedForTasks",
    "zoneRedundancy",
    "anonymousPullEnabled",
    "roleAssignmentMode",
}
REGISTRY_GET_POLICIES = {
    "quarantinePolicy",
    "trustPolicy",
    "retentionPolicy",
    "exportPolicy",
    "azureADAuthenticationAsArmPolicy",
}
SYSTEM_DATA = {
    "createdBy",
    "createdByType",
    "createdAt",
    "lastModifiedBy",
    "lastModifiedByType",
    "lastModifiedAt",
}


def error(resp: httpx.Response, status: int, code: str) -> str:
    """Assert an ARM error response; returns its message."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    body = resp.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return str(body["error"]["message"])


@pytest.fixture
def rg(api: Api) -> Api:
    """The API with resource group rg1 (westus)."""
    api.create_group()
    return api


@pytest.fixture
def basic(rg: Api) -> Api:
    """rg1 with a Basic registry myreg1 in westus."""
    rg.create_registry()
    return rg


@pytest.fixture
def premium(rg: Api) -> Api:
    """rg1 with a Premium registry myreg1 in westus (and so its home replica)."""
    rg.create_registry(sku="Premium")
    return rg


# == health, subscriptions, locations ====================================================


def test_healthz_needs_no_token_and_no_api_version(api: Api) -> None:
    resp = api.get("/healthz", token=NO_TOKEN, api_version=None)
    assert (resp.status_code, resp.json()) == (200, {"status": "ok"})


def test_list_subscriptions_shows_the_bootstrapped_one(api: Api) -> None:
    resp = api.get("/subscriptions")
    assert resp.status_code == 200
    assert [s["subscriptionId"] for s in resp.json()["value"]] == [api.sub]


def test_get_subscription(api: Api) -> None:
    resp = api.get(api.sub_path)
    assert resp.status_code == 200
    assert resp.json()["id"] == api.sub_path
    assert resp.json()["state"] == "Enabled"


def test_list_locations_marks_zone_regions(api: Api) -> None:
    resp = api.get(f"{api.sub_path}/locations")
    assert resp.status_code == 200
    by_name = {loc["name"]: loc for loc in resp.json()["value"]}
    assert by_name["eastus"]["availabilityZoneMappings"]
    assert by_name["westus"]["availabilityZoneMappings"] == []
    assert by_name["westus"]["id"] == f"{api.sub_path}/locations/westus"


# == resource groups =======================================================================


def test_put_group_answers_201_then_200(api: Api) -> None:
    first = api.put(api.rg_path(), {"location": "westus"})
    second = api.put(api.rg_path(), {"location": "westus", "tags": {"a": "b"}})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["tags"] == {"a": "b"}
    assert first.json()["id"] == api.rg_path()


def test_put_group_normalises_the_location(api: Api) -> None:
    resp = api.put(api.rg_path(), {"location": "West US"})
    assert resp.json()["location"] == "westus"


def test_put_group_refuses_a_location_change(rg: Api) -> None:
    resp = rg.put(rg.rg_path(), {"location": "eastus"})
    msg = error(resp, 400, "InvalidResourceGroupLocation")
    assert "westus" in msg


def test_put_group_refuses_an_invalid_name(api: Api) -> None:
    error(api.put(api.rg_path("bad.name."), {"location": "westus"}), 400, "InvalidResourceGroup")


def test_put_group_refuses_an_unknown_location(api: Api) -> None:
    error(
        api.put(api.rg_path(), {"location": "atlantis"}), 400, "LocationNotAvailableForResourceType"
    )


def test_get_group(rg: Api) -> None:
    resp = rg.get(rg.rg_path())
    assert resp.status_code == 200
    assert resp.json()["properties"] == {"provisioningState": "Succeeded"}
    assert resp.json()["type"] == "Microsoft.Resources/resourceGroups"


def test_get_group_is_case_insensitive(rg: Api) -> None:
    resp = rg.get(rg.rg_path("RG1"))
    assert resp.status_code == 200
    assert resp.json()["name"] == "rg1"


def test_get_missing_group_is_404_resource_group_not_found(api: Api) -> None:
    msg = error(api.get(api.rg_path("nosuchrg")), 404, "ResourceGroupNotFound")
    assert msg == "Resource group 'nosuchrg' could not be found."


def test_head_group_is_204_or_404(rg: Api) -> None:
    assert rg.request("HEAD", rg.rg_path()).status_code == 204
    assert rg.request("HEAD", rg.rg_path("nosuchrg")).status_code == 404


def test_list_groups(rg: Api) -> None:
    rg.create_group("rg2", "eastus")
    items, _ = rg.collect(f"{rg.sub_path}/resourcegroups")
    assert sorted(g["name"] for g in items) == ["rg1", "rg2"]


def test_delete_group_cascades_to_its_registries(basic: Api) -> None:
    basic.create_webhook()
    assert basic.delete(basic.rg_path()).status_code == 200
    error(basic.get(basic.reg_path()), 404, "ResourceGroupNotFound")
    basic.create_group()
    error(basic.get(basic.reg_path()), 404, "ResourceNotFound")
    body = {"name": "myreg1", "type": f"{ACR}/registries"}
    resp = basic.post(f"{basic.sub_path}/providers/{ACR}/checkNameAvailability", body)
    assert resp.json()["nameAvailable"] is True


def test_delete_missing_group_is_204(api: Api) -> None:
    assert api.delete(api.rg_path("nosuchrg")).status_code == 204


# == registries: create, get, update, delete ==================================================


def test_put_registry_201_with_async_operation_and_retry_after(rg: Api) -> None:
    resp = rg.put(rg.reg_path(), {"location": "westus", "sku": {"name": "Basic"}})
    assert resp.status_code == 201
    status_url = resp.headers["Azure-AsyncOperation"]
    assert status_url.startswith(f"{rg.base_url}{rg.reg_path()}/operationStatuses/")
    assert f"api-version={API_VERSION}" in status_url
    assert resp.headers["Retry-After"] == "1"


def test_reput_registry_is_200(basic: Api) -> None:
    resp = basic.put(
        basic.reg_path(), {"location": "westus", "sku": {"name": "Basic"}, "tags": {"env": "test"}}
    )
    assert resp.status_code == 200
    assert resp.json()["tags"] == {"env": "test"}


def test_reput_registry_keeps_creation_date(basic: Api) -> None:
    before = basic.get(basic.reg_path()).json()
    basic.put(basic.reg_path(), {"location": "westus", "sku": {"name": "Standard"}})
    after = basic.get(basic.reg_path()).json()
    assert after["properties"]["creationDate"] == before["properties"]["creationDate"]
    assert after["sku"]["name"] == "Standard"


def test_get_registry_has_the_registry_get_example_fields(basic: Api) -> None:
    resp = basic.get(basic.reg_path())
    assert resp.status_code == 200
    doc = resp.json()
    assert set(doc) >= REGISTRY_GET_TOP
    assert set(doc["properties"]) >= REGISTRY_GET_PROPERTIES
    assert set(doc["properties"]["policies"]) >= REGISTRY_GET_POLICIES
    assert doc["id"] == basic.reg_path()
    assert doc["type"] == f"{ACR}/registries"
    assert doc["sku"] == {"name": "Basic", "tier": "Basic"}
    assert doc["properties"]["loginServer"] == "myreg1.azurecr.io"
    assert doc["properties"]["provisioningState"] == "Succeeded"
    assert doc["properties"]["status"] is None


def test_get_registry_defaults_match_the_example(basic: Api) -> None:
    props = basic.get(basic.reg_path()).json()["properties"]
    assert props["adminUserEnabled"] is False
    assert props["networkRuleSet"] == {"defaultAction": "Allow", "ipRules": []}
    assert props["publicNetworkAccess"] == "Enabled"
    assert props["zoneRedundancy"] == "Disabled"
    assert props["roleAssignmentMode"] == "LegacyRegistryPermissions"
    assert props["policies"]["retentionPolicy"]["days"] == 7


def test_get_missing_registry_is_404_resource_not_found(rg: Api) -> None:
    msg = error(rg.get(rg.reg_path("nosuchreg")), 404, "ResourceNotFound")
    assert msg == (
        "The Resource 'Microsoft.ContainerRegistry/registries/nosuchreg' under "
        "resource group 'rg1' was not found. For more details please go to "
        "https://aka.ms/ARMResourceNotFoundFix"
    )


def test_get_registry_in_missing_group_is_404_resource_group_not_found(api: Api) -> None:
    error(api.get(api.reg_path(rg="nosuchrg")), 404, "ResourceGroupNotFound")


def test_put_registry_in_missing_group_is_404(api: Api) -> None:
    resp = api.put(api.reg_path(rg="nosuchrg"), {"location": "westus", "sku": {"name": "Basic"}})
    error(resp, 404, "ResourceGroupNotFound")


def test_patch_registry_sku_tags_and_admin_user(basic: Api) -> None:
    resp = basic.patch(
        basic.reg_path(),
        {"sku": {"name": "Standard"}, "tags": {"k": "v"}, "properties": {"adminUserEnabled": True}},
    )
    assert resp.status_code == 200
    assert "Azure-AsyncOperation" in resp.headers
    doc = basic.get(basic.reg_path()).json()
    assert doc["sku"] == {"name": "Standard", "tier": "Standard"}
    assert doc["tags"] == {"k": "v"}
    assert doc["properties"]["adminUserEnabled"] is True


def test_patch_registry_leaves_unnamed_fields_alone(basic: Api) -> None:
    basic.patch(basic.reg_path(), {"tags": {"k": "v"}})
    basic.patch(basic.reg_path(), {"properties": {"adminUserEnabled": True}})
    assert basic.get(basic.reg_path()).json()["tags"] == {"k": "v"}


def test_patch_registry_rejects_a_non_boolean(basic: Api) -> None:
    resp = basic.patch(basic.reg_path(), {"properties": {"adminUserEnabled": "yes"}})
    msg = error(resp, 400, "InvalidRequestContent")
    assert "adminUserEnabled" in msg


def test_patch_missing_registry_is_404(rg: Api) -> None:
    error(rg.patch(rg.reg_path("nosuchreg"), {"tags": {}}), 404, "ResourceNotFound")


def test_delete_registry_202_with_location_then_204(basic: Api) -> None:
    resp = basic.delete(basic.reg_path())
    assert resp.status_code == 202
    assert resp.headers["Retry-After"] == "1"
    location = resp.headers["Location"]
    assert location.startswith(
        f"{basic.base_url}{basic.sub_path}/providers/{ACR}/locations/westus/operationResults/"
    )
    assert basic.follow(location).status_code == 204
    error(basic.get(basic.reg_path()), 404, "ResourceNotFound")
    assert basic.delete(basic.reg_path()).status_code == 204


def test_delete_missing_registry_is_204(rg: Api) -> None:
    resp = rg.delete(rg.reg_path("nosuchreg"))
    assert resp.status_code == 204
    assert resp.content == b""


def test_delete_registry_removes_its_children(premium: Api) -> None:
    premium.create_replication("eastus")
    premium.create_webhook()
    premium.delete(premium.reg_path())
    premium.create_registry(sku="Premium")
    assert [
        r["name"] for r in premium.get(f"{premium.reg_path()}/replications").json()["value"]
    ] == ["westus"]
    assert premium.get(f"{premium.reg_path()}/webhooks").json()["value"] == []


# == registries: lists, usages, names ======================================================


def test_list_registries_by_group_shows_only_that_group(basic: Api) -> None:
    basic.create_group("rg2")
    basic.create_registry("otherreg", rg="rg2")
    items, _ = basic.collect(f"{basic.rg_path()}/providers/{ACR}/registries")
    assert [r["name"] for r in items] == ["myreg1"]


def test_list_registries_by_missing_group_is_404(api: Api) -> None:
    resp = api.get(f"{api.rg_path('nosuchrg')}/providers/{ACR}/registries")
    error(resp, 404, "ResourceGroupNotFound")


def test_list_registries_in_subscription_spans_groups(basic: Api) -> None:
    basic.create_group("rg2")
    basic.create_registry("otherreg", rg="rg2")
    items, _ = basic.collect(f"{basic.sub_path}/providers/{ACR}/registries")
    assert sorted(r["name"] for r in items) == ["myreg1", "otherreg"]


def test_list_usages_rows_for_basic(basic: Api) -> None:
    basic.create_webhook()
    resp = basic.get(f"{basic.reg_path()}/listUsages")
    assert resp.status_code == 200
    assert "nextLink" not in resp.json()
    rows = {u["name"]: u for u in resp.json()["value"]}
    assert rows["Size"] == {
        "name": "Size",
        "limit": 10 * 1024**3,
        "currentValue": 0,
        "unit": "Bytes",
    }
    assert rows["Webhooks"] == {"name": "Webhooks", "limit": 2, "currentValue": 1, "unit": "Count"}
    assert rows["Geo-replications"]["currentValue"] == 0


def test_list_usages_geo_replications_count_the_home_replica(premium: Api) -> None:
    premium.create_replication("eastus")
    rows = {u["name"]: u for u in premium.get(f"{premium.reg_path()}/listUsages").json()["value"]}
    assert rows["Geo-replications"]["currentValue"] == 2
    assert rows["Geo-replications"]["unit"] == "Count"
    assert rows["Webhooks"]["limit"] == 500


def check_name(api: Api, name: str, rtype: str = f"{ACR}/registries") -> httpx.Response:
    return api.post(
        f"{api.sub_path}/providers/{ACR}/checkNameAvailability", {"name": name, "type": rtype}
    )


def test_check_name_available(api: Api) -> None:
    resp = check_name(api, "freshname")
    assert (resp.status_code, resp.json()) == (200, {"nameAvailable": True})


def test_check_name_already_exists_case_insensitively(basic: Api) -> None:
    body = check_name(basic, "MYREG1").json()
    assert body["nameAvailable"] is False
    assert body["reason"] == "AlreadyExists"


def test_check_name_invalid(api: Api) -> None:
    body = check_name(api, "bad-name").json()
    assert (body["nameAvailable"], body["reason"]) == (False, "Invalid")


def test_check_name_of_another_type_is_400(api: Api) -> None:
    error(check_name(api, "freshname", "Microsoft.Foo/bars"), 400, "InvalidResourceType")


def test_check_name_without_name_is_400(api: Api) -> None:
    resp = api.post(
        f"{api.sub_path}/providers/{ACR}/checkNameAvailability", {"type": f"{ACR}/registries"}
    )
    error(resp, 400, "InvalidRequestContent")


def test_registry_names_are_unique_across_groups(basic: Api) -> None:
    basic.create_group("rg2")
    resp = basic.put(
        basic.reg_path("MyReg1", "rg2"), {"location": "westus", "sku": {"name": "Basic"}}
    )
    msg = error(resp, 409, "AlreadyInUse")
    assert msg.startswith("The registry DNS name myreg1.azurecr.io is already in use.")


def test_registry_names_are_case_insensitive(rg: Api) -> None:
    rg.create_registry("MyReg1")
    got = rg.get(rg.reg_path("myreg1"))
    assert got.status_code == 200
    assert got.json()["name"] == "MyReg1"
    again = rg.put(rg.reg_path("MYREG1"), {"location": "westus", "sku": {"name": "Basic"}})
    assert again.status_code == 200
    assert again.json()["name"] == "MyReg1"


@pytest.mark.parametrize("name", ["abcd", "a" * 51, "my-reg", "my_reg", "myreg!"])
def test_invalid_registry_names_are_400(rg: Api, name: str) -> None:
    resp = rg.put(rg.reg_path(name), {"location": "westus", "sku": {"name": "Basic"}})
    msg = error(resp, 400, "RegistryNameInvalid")
    assert "5 to 50" in msg


@pytest.mark.parametrize("name", ["abcde", "A1" * 25])
def test_registry_names_of_5_to_50_alphanumerics_are_accepted(rg: Api, name: str) -> None:
    assert (
        rg.put(rg.reg_path(name), {"location": "westus", "sku": {"name": "Basic"}}).status_code
        == 201
    )


def test_unknown_registry_location_is_400(rg: Api) -> None:
    resp = rg.put(rg.reg_path(), {"location": "atlantis", "sku": {"name": "Basic"}})
    msg = error(resp, 400, "LocationNotAvailableForResourceType")
    assert "'atlantis'" in msg and "westus" in msg


@pytest.mark.parametrize("location", [1, True, ["westus"], {"name": "westus"}])
def test_registry_location_that_is_not_a_string_is_400(rg: Api, location: Any) -> None:
    resp = rg.put(rg.reg_path(), {"location": location, "sku": {"name": "Basic"}})
    error(resp, 400, "LocationNotAvailableForResourceType")


def test_group_location_that_is_not_a_string_is_400(api: Api) -> None:
    error(api.put(api.rg_path(), {"location": 42}), 400, "LocationNotAvailableForResourceType")


def test_replication_location_that_is_not_a_string_is_400(premium: Api) -> None:
    error(
        premium.put(premium.repl_path("eastus"), {"location": ["eastus"]}),
        400,
        "LocationNotAvailableForResourceType",
    )


def test_registry_without_sku_is_400(rg: Api) -> None:
    error(rg.put(rg.reg_path(), {"location": "westus"}), 400, "SkuRequired")


def test_registry_with_unknown_sku_is_400(rg: Api) -> None:
    error(
        rg.put(rg.reg_path(), {"location": "westus", "sku": {"name": "Gold"}}),
        400,
        "InvalidSkuName",
    )


def test_zone_redundancy_needs_premium(rg: Api) -> None:
    resp = rg.put(
        rg.reg_path(),
        {
            "location": "eastus",
            "sku": {"name": "Standard"},
            "properties": {"zoneRedundancy": "Enabled"},
        },
    )
    error(resp, 400, "ZoneRedundancyNotSupportedForSku")


def test_zone_redundancy_needs_a_region_with_zones(rg: Api) -> None:
    resp = rg.put(
        rg.reg_path(),
        {
            "location": "westus",
            "sku": {"name": "Premium"},
            "properties": {"zoneRedundancy": "Enabled"},
        },
    )
    msg = error(resp, 400, "ZoneRedundancyNotSupportedInLocation")
    assert "westus" in msg


def test_zone_redundant_premium_registry_in_a_zone_region(rg: Api) -> None:
    doc = rg.create_registry(
        sku="Premium", location="eastus", properties={"zoneRedundancy": "Enabled"}
    )
    assert doc["properties"]["zoneRedundancy"] == "Enabled"
    home = rg.get(rg.repl_path("eastus")).json()
    assert home["properties"]["zoneRedundancy"] == "Enabled"


def test_location_cannot_change_on_reput(basic: Api) -> None:
    resp = basic.put(basic.reg_path(), {"location": "eastus", "sku": {"name": "Basic"}})
    msg = error(resp, 400, "InvalidResourceLocation")
    assert "'westus'" in msg


def test_location_cannot_change_on_patch(basic: Api) -> None:
    error(basic.patch(basic.reg_path(), {"location": "eastus"}), 400, "LocationCannotBeChanged")


def test_zone_redundancy_cannot_change_on_patch(rg: Api) -> None:
    rg.create_registry(sku="Premium", location="eastus")
    resp = rg.patch(rg.reg_path(), {"properties": {"zoneRedundancy": "Enabled"}})
    error(resp, 400, "ZoneRedundancyCannotBeChanged")


def test_zone_redundancy_cannot_change_on_reput(rg: Api) -> None:
    rg.create_registry(sku="Premium", location="eastus")
    resp = rg.put(
        rg.reg_path(),
        {
            "location": "eastus",
            "sku": {"name": "Premium"},
            "properties": {"zoneRedundancy": "Enabled"},
        },
    )
    error(resp, 400, "ZoneRedundancyCannotBeChanged")


def test_network_rules_need_premium(basic: Api) -> None:
    resp = basic.patch(
        basic.reg_path(), {"properties": {"networkRuleSet": {"defaultAction": "Deny"}}}
    )
    error(resp, 400, "NetworkRulesNotSupportedForSku")


def test_upgrade_to_premium_creates_the_home_replica(basic: Api) -> None:
    basic.patch(basic.reg_path(), {"sku": {"name": "Premium"}})
    items, _ = basic.collect(f"{basic.reg_path()}/replications")
    assert [(r["name"], r["location"]) for r in items] == [("westus", "westus")]


def test_downgrade_from_premium_is_refused_naming_the_replicas(premium: Api) -> None:
    premium.create_replication("eastus")
    premium.create_replication("northeurope")
    resp = premium.patch(premium.reg_path(), {"sku": {"name": "Standard"}})
    msg = error(resp, 400, "RegistrySkuDowngradeNotAllowed")
    assert "eastus, northeurope" in msg
    assert "westus" not in msg


def test_downgrade_from_premium_by_reput_is_refused(premium: Api) -> None:
    premium.create_replication("eastus")
    resp = premium.put(premium.reg_path(), {"location": "westus", "sku": {"name": "Basic"}})
    error(resp, 400, "RegistrySkuDowngradeNotAllowed")


def test_downgrade_with_only_the_home_replica_drops_it(premium: Api) -> None:
    resp = premium.patch(premium.reg_path(), {"sku": {"name": "Standard"}})
    assert resp.status_code == 200
    error(premium.get(premium.repl_path("westus")), 404, "ResourceNotFound")


def test_downgrade_over_the_webhook_quota_is_refused(rg: Api) -> None:
    rg.create_registry(sku="Standard")
    for i in range(3):
        rg.create_webhook(f"hook{i}x")
    msg = error(
        rg.patch(rg.reg_path(), {"sku": {"name": "Basic"}}), 400, "RegistrySkuDowngradeNotAllowed"
    )
    assert "3 webhooks" in msg


# == replications ===========================================================================


def test_replications_need_premium(basic: Api) -> None:
    msg = error(
        basic.put(basic.repl_path("eastus"), {"location": "eastus"}),
        400,
        "ReplicationNotSupportedForSku",
    )
    assert "Premium" in msg


def test_home_replica_is_created_with_a_premium_registry(premium: Api) -> None:
    resp = premium.get(premium.repl_path("westus"))
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["type"] == f"{ACR}/registries/replications"
    assert doc["properties"]["provisioningState"] == "Succeeded"
    assert doc["properties"]["status"]["displayStatus"] == "Ready"
    assert doc["properties"]["regionEndpointEnabled"] is True


def test_home_replica_cannot_be_deleted(premium: Api) -> None:
    msg = error(premium.delete(premium.repl_path("westus")), 400, "HomeReplicationCannotBeDeleted")
    assert "westus" in msg


def test_replication_in_the_home_location_is_refused(premium: Api) -> None:
    resp = premium.put(premium.repl_path("homecopy"), {"location": "westus"})
    msg = error(resp, 400, "ReplicationInHomeLocation")
    assert "westus" in msg


def test_second_replication_in_a_location_is_refused(premium: Api) -> None:
    premium.create_replication("eastus")
    error(
        premium.put(premium.repl_path("eastcopy"), {"location": "eastus"}),
        400,
        "ReplicationLocationAlreadyExists",
    )


def test_create_replication_201(premium: Api) -> None:
    resp = premium.put(premium.repl_path("eastus"), {"location": "eastus", "tags": {"a": "b"}})
    assert resp.status_code == 201
    assert "Azure-AsyncOperation" in resp.headers
    doc = premium.get(premium.repl_path("eastus")).json()
    assert (doc["location"], doc["tags"]) == ("eastus", {"a": "b"})


def test_replication_in_unknown_location_is_400(premium: Api) -> None:
    error(
        premium.put(premium.repl_path("atlantis"), {"location": "atlantis"}),
        400,
        "LocationNotAvailableForResourceType",
    )


def test_replication_zone_redundancy_needs_a_zone_region(premium: Api) -> None:
    resp = premium.put(
        premium.repl_path("westus2x"),
        {"location": "northcentralus", "properties": {"zoneRedundancy": "Enabled"}},
    )
    error(resp, 400, "ZoneRedundancyNotSupportedInLocation")


def test_patch_replication_region_endpoint_and_tags(premium: Api) -> None:
    premium.create_replication("eastus")
    resp = premium.patch(
        premium.repl_path("eastus"),
        {"tags": {"t": "1"}, "properties": {"regionEndpointEnabled": False}},
    )
    assert resp.status_code == 200
    doc = premium.get(premium.repl_path("eastus")).json()
    assert doc["properties"]["regionEndpointEnabled"] is False
    assert doc["tags"] == {"t": "1"}


def test_patch_replication_refuses_other_properties(premium: Api) -> None:
    premium.create_replication("eastus")
    resp = premium.patch(premium.repl_path("eastus"), {"properties": {"zoneRedundancy": "Enabled"}})
    msg = error(resp, 400, "InvalidRequestContent")
    assert "zoneRedundancy" in msg


def test_list_replications(premium: Api) -> None:
    premium.create_replication("eastus")
    items, _ = premium.collect(f"{premium.reg_path()}/replications")
    assert sorted(r["name"] for r in items) == ["eastus", "westus"]


def test_get_missing_replication_is_404(premium: Api) -> None:
    error(premium.get(premium.repl_path("nosuchrepl")), 404, "ResourceNotFound")


def test_delete_replication_202_then_gone(premium: Api) -> None:
    premium.create_replication("eastus")
    resp = premium.delete(premium.repl_path("eastus"))
    assert resp.status_code == 202
    assert premium.follow(resp.headers["Location"]).status_code == 204
    error(premium.get(premium.repl_path("eastus")), 404, "ResourceNotFound")
    assert premium.delete(premium.repl_path("eastus")).status_code == 204


def test_delete_replication_removes_its_regional_webhooks(premium: Api) -> None:
    premium.create_replication("eastus")
    premium.create_webhook("easthook", location="eastus")
    premium.create_webhook("westhook", location="westus")
    premium.delete(premium.repl_path("eastus"))
    names = [w["name"] for w in premium.get(f"{premium.reg_path()}/webhooks").json()["value"]]
    assert names == ["westhook"]


# == webhooks ===============================================================================

SECRET_URI = "http://127.0.0.1:9/hook?code=s3cret"
SECRET_HEADERS = {"Authorization": "Bearer hook-secret"}


def assert_no_secrets(doc: dict[str, Any]) -> None:
    assert "serviceUri" not in doc["properties"]
    assert "customHeaders" not in doc["properties"]
    assert "s3cret" not in str(doc) and "hook-secret" not in str(doc)


def test_create_webhook_201_without_secrets_in_the_response(basic: Api) -> None:
    resp = basic.put(
        basic.hook_path(),
        {
            "location": "westus",
            "properties": {
                "serviceUri": SECRET_URI,
                "customHeaders": SECRET_HEADERS,
                "actions": ["push"],
                "scope": "hello:*",
            },
        },
    )
    assert resp.status_code == 201
    assert_no_secrets(resp.json())
    assert resp.json()["properties"]["actions"] == ["push"]
    assert resp.json()["properties"]["status"] == "enabled"
    assert resp.json()["properties"]["scope"] == "hello:*"


def test_get_webhook_has_no_secrets(basic: Api) -> None:
    basic.create_webhook(uri=SECRET_URI, headers=SECRET_HEADERS)
    resp = basic.get(basic.hook_path())
    assert resp.status_code == 200
    assert resp.json()["type"] == f"{ACR}/registries/webhooks"
    assert_no_secrets(resp.json())


def test_list_webhooks_has_no_secrets(basic: Api) -> None:
    basic.create_webhook(uri=SECRET_URI, headers=SECRET_HEADERS)
    items, _ = basic.collect(f"{basic.reg_path()}/webhooks")
    assert [w["name"] for w in items] == ["hook1"]
    assert_no_secrets(items[0])


def test_patch_webhook_updates_without_echoing_secrets(basic: Api) -> None:
    basic.create_webhook()
    resp = basic.patch(
        basic.hook_path(),
        {
            "properties": {
                "status": "disabled",
                "actions": ["push", "delete"],
                "serviceUri": SECRET_URI,
                "customHeaders": SECRET_HEADERS,
            }
        },
    )
    assert resp.status_code == 200
    assert_no_secrets(resp.json())
    doc = basic.get(basic.hook_path()).json()
    assert doc["properties"]["status"] == "disabled"
    assert doc["properties"]["actions"] == ["push", "delete"]


def test_get_callback_config_returns_the_secrets(basic: Api) -> None:
    basic.create_webhook(uri=SECRET_URI, headers=SECRET_HEADERS)
    resp = basic.post(f"{basic.hook_path()}/getCallbackConfig")
    assert resp.status_code == 200
    assert resp.json() == {"serviceUri": SECRET_URI, "customHeaders": SECRET_HEADERS}


def test_patched_service_uri_shows_in_callback_config(basic: Api) -> None:
    basic.create_webhook()
    basic.patch(basic.hook_path(), {"properties": {"serviceUri": "https://example.com/x"}})
    resp = basic.post(f"{basic.hook_path()}/getCallbackConfig")
    assert resp.json()["serviceUri"] == "https://example.com/x"


def test_delete_webhook(basic: Api) -> None:
    basic.create_webhook()
    resp = basic.delete(basic.hook_path())
    assert resp.status_code == 202
    assert basic.follow(resp.headers["Location"]).status_code == 204
    error(basic.get(basic.hook_path()), 404, "ResourceNotFound")
    assert basic.delete(basic.hook_path()).status_code == 204


def test_get_missing_webhook_is_404(basic: Api) -> None:
    msg = error(basic.get(basic.hook_path("nosuchhook")), 404, "ResourceNotFound")
    assert "registries/myreg1/webhooks/nosuchhook" in msg


def test_webhook_location_must_be_home_or_a_replica_region(premium: Api) -> None:
    premium.create_replication("eastus")
    resp = premium.put(
        premium.hook_path(),
        {
            "location": "northeurope",
            "properties": {"serviceUri": "http://127.0.0.1:9/x", "actions": ["push"]},
        },
    )
    msg = error(resp, 400, "WebhookLocationNotAllowed")
    assert "'northeurope'" in msg and "westus, eastus" in msg


def test_webhook_in_a_replica_region_is_allowed(premium: Api) -> None:
    premium.create_replication("eastus")
    doc = premium.create_webhook(location="eastus")
    assert doc["location"] == "eastus"


def test_webhook_needs_a_service_uri(basic: Api) -> None:
    resp = basic.put(basic.hook_path(), {"location": "westus", "properties": {"actions": ["push"]}})
    error(resp, 400, "WebhookInvalidParameterValue")


def test_webhook_needs_known_actions(basic: Api) -> None:
    resp = basic.put(
        basic.hook_path(),
        {
            "location": "westus",
            "properties": {"serviceUri": "http://127.0.0.1:9/x", "actions": ["explode"]},
        },
    )
    msg = error(resp, 400, "WebhookInvalidParameterValue")
    assert "'explode'" in msg


@pytest.mark.parametrize(("sku", "quota"), [("Basic", 2), ("Standard", 10)])
def test_webhook_quota_per_sku_is_409(rg: Api, sku: str, quota: int) -> None:
    rg.create_registry(sku=sku)
    for i in range(quota):
        rg.create_webhook(f"hook{i:02d}")
    resp = rg.put(
        rg.hook_path("onetoomany"),
        {
            "location": "westus",
            "properties": {"serviceUri": "http://127.0.0.1:9/x", "actions": ["push"]},
        },
    )
    msg = error(resp, 409, "QuotaExceeded")
    assert sku in msg


def test_webhook_quota_allows_replacing_an_existing_webhook(basic: Api) -> None:
    basic.create_webhook("hook1")
    basic.create_webhook("hook2")
    resp = basic.put(
        basic.hook_path("hook2"),
        {
            "location": "westus",
            "properties": {"serviceUri": "http://127.0.0.1:9/y", "actions": ["delete"]},
        },
    )
    assert resp.status_code == 200


def test_ping_returns_an_event_id_that_list_events_shows(basic: Api) -> None:
    basic.create_webhook(uri=SECRET_URI, headers=SECRET_HEADERS)
    resp = basic.post(f"{basic.hook_path()}/ping")
    assert resp.status_code == 200
    event_id = resp.json()["id"]
    events, _ = basic.collect(f"{basic.hook_path()}/listEvents", method="POST")
    assert [e["id"] for e in events] == [event_id]
    request = events[0]["eventRequestMessage"]
    assert request["content"]["action"] == "ping"
    assert request["method"] == "POST"
    assert request["headers"]["Authorization"] == "******"
    assert "s3cret" not in str(events)


def test_list_events_pages_post_then_get_with_top(basic: Api) -> None:
    basic.create_webhook()
    ids = [basic.post(f"{basic.hook_path()}/ping").json()["id"] for _ in range(5)]
    first = basic.post(f"{basic.hook_path()}/listEvents", params={"$top": "2"})
    assert first.status_code == 200
    assert len(first.json()["value"]) == 2
    seen = [e["id"] for e in first.json()["value"]]
    link = first.json()["nextLink"]
    sizes = [2]
    while link:
        page = basic.follow(link)
        assert page.status_code == 200
        sizes.append(len(page.json()["value"]))
        seen += [e["id"] for e in page.json()["value"]]
        link = page.json().get("nextLink")
    assert seen == list(reversed(ids))
    assert all(n <= 2 for n in sizes)


def test_ping_missing_webhook_is_404(basic: Api) -> None:
    error(basic.post(f"{basic.hook_path('nosuchhook')}/ping"), 404, "ResourceNotFound")


# == the envelope ==========================================================================


def test_system_data_has_all_fields(basic: Api) -> None:
    data = basic.get(basic.reg_path()).json()["systemData"]
    assert set(data) == SYSTEM_DATA
    assert data["createdBy"] == data["lastModifiedBy"] == "admin"
    assert data["createdByType"] == "User"
    assert data["createdAt"].endswith("Z")


def test_system_data_tracks_the_last_modifier(basic: Api) -> None:
    other = basic.principal("ci-bot", role="Contributor")
    basic.patch(basic.reg_path(), {"tags": {"x": "y"}}, token=other)
    data = basic.get(basic.reg_path()).json()["systemData"]
    assert (data["createdBy"], data["lastModifiedBy"]) == ("admin", "ci-bot")
    assert data["lastModifiedByType"] == "Application"


def test_every_response_has_a_request_id(rg: Api) -> None:
    ok = rg.get(rg.rg_path())
    bad = rg.get(rg.reg_path("nosuchreg"))
    assert ok.headers["x-ms-request-id"] != bad.headers["x-ms-request-id"]
    assert len(ok.headers["x-ms-request-id"]) == 36


def test_client_request_id_is_echoed(rg: Api) -> None:
    resp = rg.get(rg.rg_path(), headers={"x-ms-client-request-id": "abc-123"})
    assert resp.headers["x-ms-client-request-id"] == "abc-123"


def test_json_responses_declare_their_content_type(rg: Api) -> None:
    assert rg.get(rg.rg_path()).headers["Content-Type"].startswith("application/json")


def test_missing_api_version_is_400(rg: Api) -> None:
    msg = error(rg.get(rg.reg_path(), api_version=None), 400, "MissingApiVersionParameter")
    assert msg == ("The api-version query parameter (?api-version=) is required for all requests.")


def test_unsupported_api_version_lists_the_supported_ones(rg: Api) -> None:
    resp = rg.get(rg.reg_path(), api_version="2019-01-01")
    msg = error(resp, 400, "NoRegisteredProviderFound")
    assert "'2019-01-01'" in msg
    assert "2025-11-01" in msg and "2025-04-01" in msg


def test_malformed_api_version_is_400(rg: Api) -> None:
    error(rg.get(rg.reg_path(), api_version="latest"), 400, "InvalidApiVersionParameter")


def test_older_supported_api_version_is_served(basic: Api) -> None:
    assert basic.get(basic.reg_path(), api_version="2025-04-01").status_code == 200


def test_malformed_json_is_400_invalid_request_content(rg: Api) -> None:
    resp = rg.request(
        "PUT",
        rg.reg_path(),
        content=b'{"location": "westus",',
        headers={"Content-Type": "application/json"},
    )
    msg = error(resp, 400, "InvalidRequestContent")
    assert msg.startswith("The request content was invalid and could not be deserialized")


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"42", b"null"])
def test_body_that_is_not_an_object_is_400(rg: Api, body: bytes) -> None:
    resp = rg.request(
        "PUT", rg.reg_path(), content=body, headers={"Content-Type": "application/json"}
    )
    msg = error(resp, 400, "InvalidRequestContent")
    assert "object" in msg


def test_empty_body_on_put_is_400(rg: Api) -> None:
    error(rg.request("PUT", rg.reg_path(), content=b""), 400, "InvalidRequestContent")


def test_oversized_body_is_413(rg: Api) -> None:
    big = b'{"tags": {"a": "' + b"x" * (1024 * 1024) + b'"}}'
    resp = rg.request(
        "PUT", rg.reg_path(), content=big, headers={"Content-Type": "application/json"}
    )
    error(resp, 413, "RequestEntityTooLarge")


def test_no_token_is_401(rg: Api) -> None:
    resp = rg.get(rg.rg_path(), token=NO_TOKEN)
    error(resp, 401, "AuthenticationFailed")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_bad_token_is_401(rg: Api) -> None:
    error(rg.get(rg.rg_path(), token="acr_not-a-real-token"), 401, "InvalidAuthenticationToken")


def test_non_bearer_authorization_is_401(rg: Api) -> None:
    resp = rg.get(
        rg.rg_path(), token=NO_TOKEN, headers={"Authorization": f"Basic {rg.admin_token}"}
    )
    error(resp, 401, "AuthenticationFailed")


def test_unknown_path_is_404(api: Api) -> None:
    error(api.get(f"{api.sub_path}/providers/Microsoft.Nope/things"), 404, "NotFound")


def test_unsupported_method_on_a_known_path_is_405(basic: Api) -> None:
    resp = basic.post(basic.reg_path())
    assert error(resp, 405, "MethodNotAllowed") == (
        f"The HTTP method 'POST' is not supported on the resource '{basic.reg_path()}'."
    )
    assert resp.headers["Allow"] == "DELETE, GET, PATCH, PUT"


def list_fixture(api: Api, kind: str) -> tuple[str, str, int]:
    """Create 5 items of one list kind; returns (method, path, count)."""
    if kind == "groups":
        for i in range(4):
            api.create_group(f"grp{i}")
        return "GET", f"{api.sub_path}/resourcegroups", 5
    if kind in ("registriesByGroup", "registries"):
        for i in range(5):
            api.create_registry(f"listreg{i}")
        path = (
            f"{api.rg_path()}/providers/{ACR}/registries"
            if kind == "registriesByGroup"
            else f"{api.sub_path}/providers/{ACR}/registries"
        )
        return "GET", path, 5
    api.create_registry(sku="Premium")
    if kind == "replications":
        for loc in ("eastus", "eastus2", "centralus", "northeurope"):
            api.create_replication(loc)
        return "GET", f"{api.reg_path()}/replications", 5
    if kind == "webhooks":
        for i in range(5):
            api.create_webhook(f"listhook{i}")
        return "GET", f"{api.reg_path()}/webhooks", 5
    api.create_webhook()
    for _ in range(5):
        api.post(f"{api.hook_path()}/ping")
    return "POST", f"{api.hook_path()}/listEvents", 5


LIST_KINDS = ["groups", "registriesByGroup", "registries", "replications", "webhooks", "events"]


@pytest.mark.parametrize("kind", LIST_KINDS)
def test_every_list_pages_with_next_link_over_the_page_size(rg: Api, kind: str) -> None:
    method, path, count = list_fixture(rg, kind)
    rg.set_settings(page_size=2)
    first = rg.request(method, path)
    assert len(first.json()["value"]) == 2
    assert first.json()["nextLink"].startswith(rg.base_url)
    items, pages = rg.collect(path, method=method)
    assert len(items) == count
    assert len({i["id"] for i in items}) == count
    assert pages >= 3


@pytest.mark.parametrize("kind", LIST_KINDS)
def test_every_list_honours_top_on_every_page(rg: Api, kind: str) -> None:
    method, path, count = list_fixture(rg, kind)
    first = rg.request(method, path, params={"$top": "2"})
    assert len(first.json()["value"]) == 2
    second = rg.follow(first.json()["nextLink"])
    assert len(second.json()["value"]) == 2


@pytest.mark.parametrize("kind", LIST_KINDS)
def test_every_list_has_no_next_link_when_it_fits(rg: Api, kind: str) -> None:
    method, path, count = list_fixture(rg, kind)
    resp = rg.request(method, path)
    assert len(resp.json()["value"]) == count
    assert "nextLink" not in resp.json()


def test_invalid_skip_token_is_400(basic: Api) -> None:
    resp = basic.get(
        f"{basic.rg_path()}/providers/{ACR}/registries", params={"$skipToken": "garbage"}
    )
    error(resp, 400, "InvalidSkipToken")


def test_zero_top_is_400(basic: Api) -> None:
    resp = basic.get(f"{basic.rg_path()}/providers/{ACR}/registries", params={"$top": "0"})
    error(resp, 400, "InvalidSkipToken")


# == long-running operations =================================================================


def test_polls_mode_put_answers_201_creating(rg: Api) -> None:
    rg.set_settings(lro_mode="polls", lro_polls=2)
    resp = rg.put(rg.reg_path(), {"location": "westus", "sku": {"name": "Basic"}})
    assert resp.status_code == 201
    assert resp.json()["properties"]["provisioningState"] == "Creating"


def test_polls_mode_status_is_in_progress_until_n_polls(rg: Api) -> None:
    rg.set_settings(lro_mode="polls", lro_polls=3)
    resp = rg.put(rg.reg_path(), {"location": "westus", "sku": {"name": "Basic"}})
    url = resp.headers["Azure-AsyncOperation"]
    statuses = [rg.follow(url).json()["status"] for _ in range(4)]
    assert statuses == ["InProgress", "InProgress", "Succeeded", "Succeeded"]


def test_operation_status_body_shape(rg: Api) -> None:
    rg.set_settings(lro_mode="polls", lro_polls=2)
    resp = rg.put(rg.reg_path(), {"location": "westus", "sku": {"name": "Basic"}})
    url = resp.headers["Azure-AsyncOperation"]
    running = rg.follow(url)
    assert running.status_code == 200
    body = running.json()
    assert body["name"] == op_id(url)
    assert (body["status"], body["percentComplete"]) == ("InProgress", 50)
    assert body["resourceId"] == rg.reg_path()
    assert "startTime" in body and "endTime" not in body
    done = rg.follow(url).json()
    assert (done["status"], done["percentComplete"]) == ("Succeeded", 100)
    assert "endTime" in done


def test_polls_mode_get_shows_creating_then_succeeded(rg: Api) -> None:
    rg.set_settings(lro_mode="polls", lro_polls=2)
    resp = rg.put(rg.reg_path(), {"location": "westus", "sku": {"name": "Basic"}})
    url = resp.headers["Azure-AsyncOperation"]
    assert rg.get(rg.reg_path()).json()["properties"]["provisioningState"] == "Creating"
    rg.follow(url)
    assert rg.get(rg.reg_path()).json()["properties"]["provisioningState"] == "Creating"
    rg.follow(url)
    assert rg.get(rg.reg_path()).json()["properties"]["provisioningState"] == "Succeeded"


def test_polls_mode_patch_shows_updating(basic: Api) -> None:
    basic.set_settings(lro_mode="polls", lro_polls=2)
    resp = basic.patch(basic.reg_path(), {"tags": {"a": "b"}})
    assert resp.status_code == 200
    assert resp.json()["properties"]["provisioningState"] == "Updating"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_second_write_while_in_flight_is_409(rg: Api, method: str) -> None:
    rg.set_settings(lro_mode="polls", lro_polls=2)
    rg.put(rg.reg_path(), {"location": "westus", "sku": {"name": "Basic"}})
    body = {
        "PUT": {"location": "westus", "sku": {"name": "Standard"}},
        "PATCH": {"tags": {"a": "b"}},
        "DELETE": None,
    }[method]
    resp = rg.request(method, rg.reg_path(), json=body)
    msg = error(resp, 409, "OperationInProgress")
    assert "myreg1" in msg


def test_write_is_accepted_once_the_operation_finished(rg: Api) -> None:
    rg.set_settings(lro_mode="polls", lro_polls=1)
    resp = rg.put(rg.reg_path(), {"location": "westus", "sku": {"name": "Basic"}})
    rg.follow(resp.headers["Azure-AsyncOperation"])
    assert rg.patch(rg.reg_path(), {"tags": {"a": "b"}}).status_code == 200


@pytest.mark.parametrize("child", ["replication", "webhook"])
def test_child_write_while_in_flight_is_409(premium: Api, child: str) -> None:
    premium.set_settings(lro_mode="polls", lro_polls=2)
    body: dict[str, Any]
    if child == "replication":
        path, body = premium.repl_path("eastus"), {"location": "eastus"}
    else:
        path, body = (
            premium.hook_path(),
            {
                "location": "westus",
                "properties": {"serviceUri": "http://127.0.0.1:9/x", "actions": ["push"]},
            },
        )
    assert premium.put(path, body).status_code == 201
    error(premium.patch(path, {"tags": {"a": "b"}}), 409, "OperationInProgress")
    error(premium.delete(path), 409, "OperationInProgress")


@pytest.mark.parametrize("child", ["replication", "webhook"])
def test_child_status_endpoint_reaches_succeeded(premium: Api, child: str) -> None:
    premium.set_settings(lro_mode="polls", lro_polls=2)
    body: dict[str, Any]
    if child == "replication":
        path, body = premium.repl_path("eastus"), {"location": "eastus"}
    else:
        path, body = (
            premium.hook_path(),
            {
                "location": "westus",
                "properties": {"serviceUri": "http://127.0.0.1:9/x", "actions": ["push"]},
            },
        )
    url = premium.put(path, body).headers["Azure-AsyncOperation"]
    assert url.startswith(f"{premium.base_url}{path}/operationStatuses/")
    assert [premium.follow(url).json()["status"] for _ in range(2)] == ["InProgress", "Succeeded"]
    assert premium.get(path).json()["properties"]["provisioningState"] == "Succeeded"


def test_replication_shows_provisioning_while_creating(premium: Api) -> None:
    premium.set_settings(lro_mode="polls", lro_polls=1)
    resp = premium.put(premium.repl_path("eastus"), {"location": "eastus"})
    assert resp.json()["properties"]["status"]["displayStatus"] == "Provisioning"
    premium.follow(resp.headers["Azure-AsyncOperation"])
    doc = premium.get(premium.repl_path("eastus")).json()
    assert doc["properties"]["status"]["displayStatus"] == "Ready"


def test_polls_mode_delete_location_202_then_204(basic: Api) -> None:
    basic.set_settings(lro_mode="polls", lro_polls=2)
    resp = basic.delete(basic.reg_path())
    assert resp.status_code == 202
    assert basic.get(basic.reg_path()).json()["properties"]["provisioningState"] == "Deleting"
    location = resp.headers["Location"]
    running = basic.follow(location)
    assert running.status_code == 202
    assert running.content == b""
    assert running.headers["Location"] == location
    assert basic.follow(location).status_code == 204
    error(basic.get(basic.reg_path()), 404, "ResourceNotFound")


def test_status_url_of_another_resource_is_404(basic: Api) -> None:
    basic.create_registry("otherreg")
    url = basic.put(basic.reg_path(), {"location": "westus", "sku": {"name": "Basic"}}).headers[
        "Azure-AsyncOperation"
    ]
    other = f"{basic.reg_path('otherreg')}/operationStatuses/{op_id(url)}"
    error(basic.get(other), 404, "OperationNotFound")


def test_unknown_operation_is_404(basic: Api) -> None:
    error(basic.get(f"{basic.reg_path()}/operationStatuses/nosuchop"), 404, "OperationNotFound")


def test_seconds_mode_finishes_when_the_fake_clock_moves(rg: Api) -> None:
    if rg.clock is None:
        pytest.skip("the fake clock is only injectable in-process")
    rg.set_settings(lro_mode="seconds", lro_seconds=5.0)
    url = rg.put(rg.reg_path(), {"location": "westus", "sku": {"name": "Basic"}}).headers[
        "Azure-AsyncOperation"
    ]
    rg.clock.advance(4.9)
    assert rg.follow(url).json()["status"] == "InProgress"
    assert rg.get(rg.reg_path()).json()["properties"]["provisioningState"] == "Creating"
    rg.clock.advance(0.2)
    assert rg.get(rg.reg_path()).json()["properties"]["provisioningState"] == "Succeeded"
    assert rg.follow(url).json()["status"] == "Succeeded"


def test_seconds_mode_delete_drops_out_of_lists_when_due(basic: Api) -> None:
    if basic.clock is None:
        pytest.skip("the fake clock is only injectable in-process")
    basic.set_settings(lro_mode="seconds", lro_seconds=5.0)
    basic.delete(basic.reg_path())
    path = f"{basic.rg_path()}/providers/{ACR}/registries"
    assert [r["properties"]["provisioningState"] for r in basic.get(path).json()["value"]] == [
        "Deleting"
    ]
    basic.clock.advance(5)
    assert basic.get(path).json()["value"] == []


def test_retry_after_follows_the_setting(rg: Api) -> None:
    rg.set_settings(retry_after=7)
    resp = rg.put(rg.reg_path(), {"location": "westus", "sku": {"name": "Basic"}})
    assert resp.headers["Retry-After"] == "7"


# == conditional requests ==================================================================


def test_if_none_match_star_creates_a_missing_registry(rg: Api) -> None:
    resp = rg.put(
        rg.reg_path(),
        {"location": "westus", "sku": {"name": "Basic"}},
        headers={"If-None-Match": "*"},
    )
    assert resp.status_code == 201


def test_if_none_match_star_on_an_existing_registry_is_412(basic: Api) -> None:
    resp = basic.put(
        basic.reg_path(),
        {"location": "westus", "sku": {"name": "Basic"}},
        headers={"If-None-Match": "*"},
    )
    error(resp, 412, "PreconditionFailed")


def test_if_match_on_a_missing_registry_is_412(rg: Api) -> None:
    resp = rg.put(
        rg.reg_path(), {"location": "westus", "sku": {"name": "Basic"}}, headers={"If-Match": "*"}
    )
    error(resp, 412, "PreconditionFailed")


def test_if_match_star_on_an_existing_registry_is_200(basic: Api) -> None:
    resp = basic.put(
        basic.reg_path(),
        {"location": "westus", "sku": {"name": "Basic"}},
        headers={"If-Match": "*"},
    )
    assert resp.status_code == 200


def test_if_match_with_another_etag_is_412(basic: Api) -> None:
    resp = basic.put(
        basic.reg_path(),
        {"location": "westus", "sku": {"name": "Basic"}},
        headers={"If-Match": '"not-the-etag"'},
    )
    error(resp, 412, "PreconditionFailed")


def test_patch_if_match_with_another_etag_is_412(basic: Api) -> None:
    resp = basic.patch(basic.reg_path(), {"tags": {}}, headers={"If-Match": '"stale"'})
    error(resp, 412, "PreconditionFailed")


def test_get_returns_an_etag_that_if_match_accepts(basic: Api) -> None:
    etag = basic.get(basic.reg_path()).headers["ETag"]
    resp = basic.patch(basic.reg_path(), {"tags": {"a": "b"}}, headers={"If-Match": etag})
    assert resp.status_code == 200
    error(
        basic.patch(basic.reg_path(), {"tags": {}}, headers={"If-Match": etag}),
        412,
        "PreconditionFailed",
    )


@pytest.mark.parametrize("child", ["replication", "webhook"])
def test_child_get_returns_an_etag_that_if_match_accepts(premium: Api, child: str) -> None:
    if child == "replication":
        premium.create_replication("eastus")
        path = premium.repl_path("eastus")
    else:
        premium.create_webhook()
        path = premium.hook_path()
    etag = premium.get(path).headers["ETag"]
    assert premium.patch(path, {"tags": {"a": "b"}}, headers={"If-Match": etag}).status_code == 200
    error(premium.patch(path, {"tags": {}}, headers={"If-Match": etag}), 412, "PreconditionFailed")


def test_put_response_carries_the_new_etag(basic: Api) -> None:
    resp = basic.put(basic.reg_path(), {"location": "westus", "sku": {"name": "Basic"}})
    assert resp.headers["ETag"] == basic.get(basic.reg_path()).headers["ETag"]


@pytest.mark.parametrize("child", ["replication", "webhook"])
def test_child_if_none_match_star_on_existing_is_412(premium: Api, child: str) -> None:
    body: dict[str, Any]
    if child == "replication":
        path, body = premium.repl_path("westus"), {"location": "westus"}
    else:
        premium.create_webhook()
        path, body = (
            premium.hook_path(),
            {
                "location": "westus",
                "properties": {"serviceUri": "http://127.0.0.1:9/x", "actions": ["push"]},
            },
        )
    error(premium.put(path, body, headers={"If-None-Match": "*"}), 412, "PreconditionFailed")


# == admin endpoints ========================================================================


def test_settings_endpoint_switches_lro_mode(rg: Api) -> None:
    resp = rg.put(
        f"{rg.sub_path}/providers/Acrctl.Admin/settings",
        {"lroMode": "polls", "lroPolls": 3, "retryAfter": 0},
        api_version="2022-04-01",
    )
    assert resp.status_code == 200
    assert resp.json()["lroMode"] == "polls"
    created = rg.put(rg.reg_path(), {"location": "westus", "sku": {"name": "Basic"}})
    assert created.json()["properties"]["provisioningState"] == "Creating"
    assert created.headers["Retry-After"] == "0"


def test_settings_endpoint_refuses_an_unknown_mode(api: Api) -> None:
    resp = api.put(
        f"{api.sub_path}/providers/Acrctl.Admin/settings",
        {"lroMode": "never"},
        api_version="2022-04-01",
    )
    error(resp, 400, "InvalidSetting")


def test_reset_endpoint_empties_the_state_but_keeps_the_admin(basic: Api) -> None:
    resp = basic.post(f"{basic.sub_path}/providers/Acrctl.Admin/reset", api_version="2022-04-01")
    assert resp.status_code == 204
    error(basic.get(basic.rg_path()), 404, "ResourceGroupNotFound")
    assert basic.get(basic.sub_path).status_code == 200
