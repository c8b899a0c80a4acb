"""PCI DSS 4.0 controls this repository provides (issue #15, docs/pci.md):
each test fails if the control it names breaks."""

from __future__ import annotations

import json

import pytest

from modules.network import INTERFACE_ENDPOINT_SERVICES, NO_RESOURCE_ACTIONS
from tests.conftest import ENVIRONMENTS, stack


def policy_of(body: dict) -> dict:
    return json.loads(body["policy"])


# --- 1.3.2: VPC endpoints only reach this account ---------------------------


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_every_endpoint_limits_principals_and_resources_to_the_account(stacks, env_name):
    endpoints = stack(stacks, env_name, "network").resources("aws_vpc_endpoint")
    assert len(endpoints) == 1 + len(INTERFACE_ENDPOINT_SERVICES)
    for name, body in endpoints.items():
        statements = policy_of(body)["Statement"]
        own = statements[0]
        assert own["Action"] == "*" and own["Resource"] == "*", name
        equals = own["Condition"]["StringEquals"]
        assert equals["aws:PrincipalAccount"] == equals["aws:ResourceAccount"], name
        for extra in statements[1:]:
            # Narrow statements only: named actions, this account's principals.
            assert extra["Action"] != "*", name
            assert (
                extra["Condition"]["StringEquals"]["aws:PrincipalAccount"]
                == (equals["aws:PrincipalAccount"])
            )


def test_prod_endpoint_policies_name_the_configured_account(stacks, environments):
    account = environments["prod"].account_id
    for body in stack(stacks, "prod", "network").resources("aws_vpc_endpoint").values():
        equals = policy_of(body)["Statement"][0]["Condition"]["StringEquals"]
        assert equals == {"aws:PrincipalAccount": account, "aws:ResourceAccount": account}


def test_calls_without_resource_and_ecr_layers_are_the_only_exceptions(stacks, environments):
    prefix = f"com.amazonaws.{environments['prod'].region}."
    endpoints = stack(stacks, "prod", "network").resources("aws_vpc_endpoint")
    by_service = {b["service_name"].removeprefix(prefix): b for b in endpoints.values()}
    for service in INTERFACE_ENDPOINT_SERVICES:
        statements = policy_of(by_service[service])["Statement"]
        expected = 2 if service in NO_RESOURCE_ACTIONS else 1
        assert len(statements) == expected, service
        if service in NO_RESOURCE_ACTIONS:
            assert statements[1]["Action"] == list(NO_RESOURCE_ACTIONS[service])
    s3 = policy_of(by_service["s3"])["Statement"]
    assert len(s3) == 2
    assert s3[1]["Action"] == "s3:GetObject"
    region = environments["prod"].region
    assert s3[1]["Resource"].endswith(f":s3:::prod-{region}-starport-layer-bucket/*")
