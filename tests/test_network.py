"""The three-AZ network of each environment."""

from __future__ import annotations

import ipaddress

import pytest

from framework import Testing as CdktfTesting
from modules.network import INTERFACE_ENDPOINT_SERVICES, subnet_cidrs
from tests.conftest import ENVIRONMENTS, stack
from tests.helpers import log_groups_but_findings


@pytest.fixture(params=ENVIRONMENTS)
def net(request, stacks, environments):
    return stack(stacks, request.param, "network"), environments[request.param]


def test_vpc_has_dns_and_configured_cidr(net):
    synthesized, env = net
    assert CdktfTesting.to_have_resource_with_properties(
        synthesized.text,
        "aws_vpc",
        {
            "cidr_block": env.vpc_cidr,
            "enable_dns_support": True,
            "enable_dns_hostnames": True,
        },
    )


def test_nine_subnets_three_tiers_three_azs_no_public_ips(net):
    synthesized, env = net
    subnets = list(synthesized.resources("aws_subnet").values())
    assert len(subnets) == 9
    expected = subnet_cidrs(env.vpc_cidr)
    for tier in ("public", "private", "isolated"):
        tier_subnets = [s for s in subnets if s["tags"]["tier"] == tier]
        assert sorted(s["availability_zone"] for s in tier_subnets) == sorted(env.azs)
        assert sorted(s["cidr_block"] for s in tier_subnets) == sorted(expected[tier])
    assert all(s["map_public_ip_on_launch"] is False for s in subnets)


def test_subnet_cidrs_are_disjoint_and_inside_vpc():
    cidrs = subnet_cidrs("10.30.0.0/16")
    nets = [ipaddress.IPv4Network(c) for tier in cidrs.values() for c in tier]
    assert len(nets) == 9
    assert all(n.subnet_of(ipaddress.IPv4Network("10.30.0.0/16")) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
    assert subnet_cidrs("10.0.0.0/24")["isolated"][2] == "10.0.0.128/28"


def test_nat_gateways_follow_config(net):
    synthesized, env = net
    assert len(synthesized.resources("aws_nat_gateway")) == env.nat_gateway_count
    assert len(synthesized.resources("aws_eip")) == env.nat_gateway_count
    routes = synthesized.resources("aws_route").values()
    nat_refs = {r["nat_gateway_id"] for r in routes if "nat_gateway_id" in r}
    assert len(nat_refs) == env.nat_gateway_count
    if env.is_production:
        assert env.nat_gateway_count == 3


@pytest.mark.parametrize("env_name, expected", [("dev", 1), ("staging", 1), ("prod", 3)])
def test_example_nat_gateway_counts(example_stacks, example_environments, env_name, expected):
    assert example_environments[env_name].nat_gateway_count == expected
    synthesized = stack(example_stacks, env_name, "network")
    assert len(synthesized.resources("aws_nat_gateway")) == expected


def test_routes(net):
    synthesized, env = net
    routes = list(synthesized.resources("aws_route").values())
    to_igw = [r for r in routes if "gateway_id" in r]
    to_nat = [r for r in routes if "nat_gateway_id" in r]
    azs = len(env.azs)
    assert len(to_igw) == 1 and "aws_internet_gateway" in to_igw[0]["gateway_id"]
    assert len(to_nat) == azs  # one private route table per AZ
    assert all(r["destination_cidr_block"] == "0.0.0.0/0" for r in routes)
    # Public + one private per AZ + isolated; isolated has no route at all.
    assert len(synthesized.resources("aws_route_table")) == 1 + azs + 1
    # Each AZ's public, private and isolated subnet.
    assert len(synthesized.resources("aws_route_table_association")) == 3 * azs
    isolated = [k for k in synthesized.resources("aws_route_table") if "isolated" in k]
    assert len(isolated) == 1
    assert not any(isolated[0] in r["route_table_id"] for r in routes)


def test_prod_gives_each_az_its_own_nat(example_stacks):
    routes = stack(example_stacks, "prod", "network").resources("aws_route").values()
    nat_refs = {r["nat_gateway_id"] for r in routes if "nat_gateway_id" in r}
    assert len(nat_refs) == 3


def test_default_security_group_has_no_rules(net):
    synthesized, _ = net
    sg = synthesized.only("aws_default_security_group")
    assert sg["ingress"] == [] and sg["egress"] == []


def test_flow_logs_to_kms_encrypted_log_group(net):
    synthesized, env = net
    flow = synthesized.only("aws_flow_log")
    assert flow["traffic_type"] == "ALL"
    assert flow["log_destination_type"] == "cloud-watch-logs"
    (group,) = log_groups_but_findings(synthesized).values()
    assert group["retention_in_days"] == env.log_retention_days
    # The key comes from the security stack through remote state.
    assert "payment-" + env.name + "-security" in group["kms_key_id"]
    assert "logs-key" in group["kms_key_id"]
    assert "aws_cloudwatch_log_group" in flow["log_destination"]


def test_vpc_endpoints_for_private_tasks(net):
    synthesized, env = net
    endpoints = list(synthesized.resources("aws_vpc_endpoint").values())
    names = {e["service_name"] for e in endpoints}
    for service in ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "s3"):
        assert f"com.amazonaws.{env.region}.{service}" in names
    assert len(endpoints) == len(INTERFACE_ENDPOINT_SERVICES) + 1
    s3 = [e for e in endpoints if e["service_name"].endswith(".s3")][0]
    assert s3["vpc_endpoint_type"] == "Gateway" and len(s3["route_table_ids"]) == 3
    for endpoint in endpoints:
        if endpoint["vpc_endpoint_type"] == "Interface":
            assert endpoint["private_dns_enabled"] is True
            assert len(endpoint["subnet_ids"]) == 3


def test_endpoint_security_group_only_https_from_vpc(net):
    synthesized, env = net
    (rule,) = synthesized.resources("aws_vpc_security_group_ingress_rule").values()
    assert (rule["from_port"], rule["to_port"], rule["ip_protocol"]) == (443, 443, "tcp")
    assert rule["cidr_ipv4"] == env.vpc_cidr
