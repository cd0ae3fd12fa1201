"""ArmView (acrctl.client.views): the CLI's results without pydantic read like the models."""

from __future__ import annotations

import copy

import pytest


def test_arm_view_reads_like_the_models() -> None:
    from acrctl import models
    from acrctl.client.views import ArmView

    doc = {
        "id": "/subscriptions/s/resourceGroups/Rg1/providers/Microsoft.ContainerRegistry/"
        "registries/r1",
        "name": "r1",
        "type": "t",
        "location": "westus",
        "sku": {"name": "Premium"},
        "extraField": [{"innerKey": 1}],
        "properties": {
            "provisioningState": "Succeeded",
            "loginServer": "r1.io",
            "status": {"displayStatus": "Ready"},
        },
    }
    view, model = ArmView(copy.deepcopy(doc)), models.Registry.model_validate(doc)
    for attr in ("name", "location", "resource_group"):
        assert getattr(view, attr) == getattr(model, attr)
    assert view.sku.name == model.sku.name == "Premium"
    assert view.properties.provisioning_state == model.properties.provisioning_state
    assert view.properties.login_server == "r1.io"
    assert view.properties.status.display_status == "Ready"
    assert view.tags is None and view.properties.get("loginServer") == "r1.io"
    assert view.extra_field[0].inner_key == 1
    assert view.to_arm() == doc == model.to_arm() and type(view.to_arm()) is dict
    with pytest.raises(AttributeError):
        view.__missing_dunder__  # noqa: B018


def test_a_callback_config_without_a_service_uri_parses() -> None:
    """The server answers serviceUri null when it holds no secret for the webhook."""
    from acrctl import models

    config = models.CallbackConfig.model_validate({"serviceUri": None, "customHeaders": {}})
    assert config.service_uri is None
    assert config.to_arm() == {"serviceUri": None, "customHeaders": {}}
