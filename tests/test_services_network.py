"""Load balancers, listeners, security groups, WAF and access logs of the
services tier."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from collections import Counter

import pytest

from config import ConfigError, load_environments
from config.model import is_private_range
from modules.blue_green_service import target_group_name
from modules.load_balancer import MANAGED_RULE_GROUPS, TLS_POLICY
from tests.fixtures.example import ENVIRONMENTS
from tests.services_helpers import (
    RULES_PER_GROUP_QUOTA,
    find,
    interfaces,
    of_service,
    path_of,
    reachability,
    ref,
    resolved_path,
    services_stack,
    sg_ref,
)
from tests.synth import synthesize
from tools.bench.bench_synth import scaled_services


def _albs(svc_stack) -> dict[str, tuple[str, dict]]:
    """``public``/``internal`` -> (key, aws_lb)."""
    return {
        path_of(v).split("/")[1].removesuffix("-alb"): (k, v)
        for k, v in svc_stack.resources("aws_lb").items()
    }


def _listeners(svc_stack, kind: str) -> dict[str, dict]:
    """listener construct id -> listener, of one ALB."""
    return {
        path_of(v).rsplit("/", 1)[1]: v
        for v in svc_stack.resources("aws_lb_listener").values()
        if path_of(v).split("/")[1] == f"{kind}-alb"
    }


# -- load balancers --------------------------------------------------------------
def test_only_albs_with_services_exist_in_the_right_subnets(stacks, svc_stack, env):
    albs = _albs(svc_stack)
    expected = {
        k
        for k, wanted in (
            ("public", any(s.public for s in env.services)),
            ("internal", any(not s.public for s in env.services)),
        )
        if wanted
    }
    assert set(albs) == expected
    for kind, (_, alb) in albs.items():
        assert alb["internal"] is (kind == "internal")
        assert alb["load_balancer_type"] == "application"
        tiers = {
            resolved_path(stacks, s, svc_stack.name).rsplit("/", 1)[1].split("-")[0]
            for s in alb["subnets"]
        }
        assert tiers == {"private" if kind == "internal" else "public"}
        assert len(alb["subnets"]) == 3


def test_alb_hardening(svc_stack, env):
    for _, alb in _albs(svc_stack).values():
        assert alb["drop_invalid_header_fields"] is True
        assert alb["desync_mitigation_mode"] in ("defensive", "strictest")
        assert alb["enable_deletion_protection"] is env.load_balancer.deletion_protection
        assert alb["idle_timeout"] == env.load_balancer.idle_timeout_seconds


def test_listeners_default_to_404_and_ignore_default_action(svc_stack, env):
    for kind in _albs(svc_stack):
        listeners = _listeners(svc_stack, kind)
        for name in ("production-listener", "test-listener"):
            listener = listeners[name]
            (action,) = listener["default_action"]
            assert action["type"] == "fixed-response"
            assert action["fixed_response"]["status_code"] == "404"
            assert listener["lifecycle"] == {"ignore_changes": ["default_action"]}
        assert listeners["test-listener"]["port"] == env.load_balancer.test_listener_port


def test_https_when_a_certificate_is_configured(svc_stack, env):
    cert = env.load_balancer.certificate_arn
    for kind in _albs(svc_stack):
        listeners = _listeners(svc_stack, kind)
        if cert is None:
            assert env.load_balancer.allow_plain_http
            assert set(listeners) == {"production-listener", "test-listener"}
            assert listeners["production-listener"]["port"] == 80
            assert {li["protocol"] for li in listeners.values()} == {"HTTP"}
            continue
        for name in ("production-listener", "test-listener"):
            assert listeners[name]["protocol"] == "HTTPS"
            assert listeners[name]["ssl_policy"] == TLS_POLICY
            assert listeners[name]["certificate_arn"] == cert
        assert listeners["production-listener"]["port"] == 443
        redirect = listeners["http-redirect-listener"]
        assert (redirect["port"], redirect["protocol"]) == (80, "HTTP")
        (action,) = redirect["default_action"]
        assert action["type"] == "redirect"
        assert action["redirect"] == {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}


def test_prod_synthesizes_no_plain_http_listener_except_the_redirect(example_stacks):
    prod = services_stack(example_stacks, "prod")
    plain = [li for li in prod.resources("aws_lb_listener").values() if li["protocol"] == "HTTP"]
    assert plain, "prod must redirect HTTP to HTTPS"
    for listener in plain:
        assert [a["type"] for a in listener["default_action"]] == ["redirect"]
        assert listener["default_action"][0]["redirect"]["protocol"] == "HTTPS"


def test_prod_config_refuses_plain_http():
    """The production tier refuses it, whatever the environment is called."""
    (prod,) = [e for e in ENVIRONMENTS if e.is_production]
    others = [e for e in ENVIRONMENTS if e is not prod]
    for lb in (
        dataclasses.replace(prod.load_balancer, allow_plain_http=True),
        dataclasses.replace(prod.load_balancer, certificate_arn=None, allow_plain_http=True),
    ):
        bad = dataclasses.replace(prod, load_balancer=lb)
        with pytest.raises(
            ConfigError,
            match=rf"{prod.name}\.load_balancer\.(allow_plain_http|certificate_arn): .*"
            "production tier",
        ):
            load_environments(defined=[*others, bad])


def test_prod_has_deletion_protection_access_logs_and_waf(example_stacks):
    prod = services_stack(example_stacks, "prod")
    bucket_key, _ = find(prod, "aws_s3_bucket", "access-logs/bucket")
    acl_key, _ = find(prod, "aws_wafv2_web_acl", "web-acl/web-acl")
    associations = prod.resources("aws_wafv2_web_acl_association").values()
    albs = _albs(prod)
    assert sorted(a["resource_arn"] for a in associations) == sorted(
        ref("aws_lb", k, "arn") for k, _ in albs.values()
    )
    assert all(a["web_acl_arn"] == ref("aws_wafv2_web_acl", acl_key, "arn") for a in associations)
    for _, alb in albs.values():
        assert alb["enable_deletion_protection"] is True
        assert alb["access_logs"] == {
            "bucket": ref("aws_s3_bucket", bucket_key, "bucket"),
            "prefix": "alb",
            "enabled": True,
        }


def test_access_and_waf_only_where_configured(svc_stack, env):
    lb = env.load_balancer
    assert bool(svc_stack.resources("aws_s3_bucket")) is lb.access_logs
    assert bool(svc_stack.resources("aws_wafv2_web_acl")) is lb.waf
    for _, alb in _albs(svc_stack).values():
        assert ("access_logs" in alb) is lb.access_logs


def test_access_log_bucket_is_private_versioned_tls_only_and_expiring(example_stacks):
    prod = services_stack(example_stacks, "prod")
    env = next(e for e in ENVIRONMENTS if e.name == "prod")
    sse = prod.only("aws_s3_bucket_server_side_encryption_configuration")
    assert sse["rule"][0]["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}
    assert prod.only("aws_s3_bucket_versioning")["versioning_configuration"] == {
        "status": "Enabled"
    }
    pab = prod.only("aws_s3_bucket_public_access_block")
    assert all(
        pab[k] is True
        for k in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        )
    )
    rule = prod.only("aws_s3_bucket_lifecycle_configuration")["rule"][0]
    assert rule["status"] == "Enabled" and rule["expiration"] == [{"days": env.log_retention_days}]
    policy = json.loads(prod.only("aws_s3_bucket_policy")["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    deny = by_sid["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }
    assert by_sid["ElbAccountWritesLogs"]["Principal"]["AWS"].startswith(
        "${data.aws_elb_service_account."
    )
    assert by_sid["LogDeliveryWritesLogs"]["Principal"] == {
        "Service": "logdelivery.elasticloadbalancing.amazonaws.com"
    }
    assert all(
        s["Action"] == "s3:PutObject" and s["Resource"].endswith(f"/alb/AWSLogs/{env.account_id}/*")
        for sid, s in by_sid.items()
        if sid != "DenyInsecureTransport"
    )


def test_web_acl_rules_and_logging(example_stacks):
    stacks = example_stacks
    prod = services_stack(stacks, "prod")
    acl_key, acl = find(prod, "aws_wafv2_web_acl", "web-acl/web-acl")
    assert acl["scope"] == "REGIONAL"
    assert acl["default_action"] == {"allow": {}}
    managed = [
        r["statement"]["managed_rule_group_statement"]
        for r in acl["rule"]
        if "managed_rule_group_statement" in r["statement"]
    ]
    assert sorted(m["name"] for m in managed) == sorted(MANAGED_RULE_GROUPS)
    assert {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesSQLiRuleSet",
    } == set(MANAGED_RULE_GROUPS)
    assert all(m["vendor_name"] == "AWS" for m in managed)
    (rate,) = [r for r in acl["rule"] if "rate_based_statement" in r["statement"]]
    assert rate["action"] == {"block": {}}
    assert rate["statement"]["rate_based_statement"]["aggregate_key_type"] == "IP"
    assert len({r["priority"] for r in acl["rule"]}) == len(acl["rule"]) == 6
    logging = prod.only("aws_wafv2_web_acl_logging_configuration")
    assert logging["resource_arn"] == ref("aws_wafv2_web_acl", acl_key, "arn")
    lg_key, log_group = find(prod, "aws_cloudwatch_log_group", "web-acl/log-group")
    assert logging["log_destination_configs"] == [ref("aws_cloudwatch_log_group", lg_key, "arn")]
    assert log_group["name"].startswith("aws-waf-logs-")
    assert resolved_path(stacks, log_group["kms_key_id"], prod.name).endswith("logs-key/key")


# -- target groups and listener rules ----------------------------------------------
def test_target_group_pairs(stacks, svc_stack, env):
    names = []
    for svc in env.services:
        groups = {
            path_of(v).rsplit("/", 1)[1]: v
            for v in of_service(svc_stack, "aws_lb_target_group", svc.name).values()
        }
        assert set(groups) == {"blue-target-group", "green-target-group"}
        for color, group in (
            ("blue", groups["blue-target-group"]),
            ("green", groups["green-target-group"]),
        ):
            assert group["name"] == target_group_name(env.name, svc.name, color)
            assert group["target_type"] == "ip"
            assert group["port"] == svc.port
            assert group["deregistration_delay"] == str(
                env.load_balancer.deregistration_delay_seconds
            )
            assert group["health_check"]["path"] == svc.health_check_path
            assert group["health_check"]["matcher"]
            names.append(group["name"])
    assert len(set(names)) == len(names) and all(len(n) <= 32 for n in names)


def test_listener_rules_route_the_prefix_and_ignore_action(svc_stack, env):
    priorities: dict[str, list[int]] = {}
    for svc in env.services:
        kind = "public" if svc.public else "internal"
        listeners = {
            path_of(v).rsplit("/", 1)[1]: k
            for k, v in svc_stack.resources("aws_lb_listener").items()
            if path_of(v).split("/")[1] == f"{kind}-alb"
        }
        # Production starts on blue, test on green (CodeDeploy needs both attached).
        for rule_id, listener_id, color in (
            ("production-rule", "production-listener", "blue"),
            ("test-rule", "test-listener", "green"),
        ):
            group_key, _ = find(
                svc_stack, "aws_lb_target_group", f"service-{svc.name}/{color}-target-group"
            )
            _, rule = find(svc_stack, "aws_lb_listener_rule", f"service-{svc.name}/{rule_id}")
            assert rule["listener_arn"] == ref("aws_lb_listener", listeners[listener_id], "arn")
            assert rule["condition"] == [
                {"path_pattern": {"values": [svc.path_prefix, f"{svc.path_prefix}/*"]}}
            ]
            assert rule["action"] == [
                {
                    "type": "forward",
                    "target_group_arn": ref("aws_lb_target_group", group_key, "arn"),
                }
            ]
            assert rule["lifecycle"] == {"ignore_changes": ["action"]}
            # The configured priority, never one derived from list order.
            assert rule["priority"] == svc.listener_priority
            priorities.setdefault(rule["listener_arn"], []).append(rule["priority"])
    assert all(len(set(p)) == len(p) for p in priorities.values())


def test_listener_priorities_of_the_three_services_are_unchanged(example_environments):
    """Explicit priorities kept the values list order gave them (10, 20, 30):
    no rule of an existing service changes."""
    for env in example_environments.values():
        assert [(s.name, s.listener_priority) for s in env.services] == [
            ("payment-api", 10),
            ("transaction-processor", 20),
            ("notification-service", 30),
        ]


# -- security groups ------------------------------------------------------------------
def _rules(svc_stack, rtype: str, security_group_key: str) -> list[dict]:
    sg = ref("aws_security_group", security_group_key, "id")
    return [r for r in svc_stack.resources(rtype).values() if r["security_group_id"] == sg]


def _nat_address_refs(stacks, svc_stack) -> set[str]:
    """``<public_ip of each NAT gateway>/32``, as the services stack reads them."""
    found = set()
    for rule in svc_stack.resources("aws_vpc_security_group_ingress_rule").values():
        cidr = rule.get("cidr_ipv4", "")
        if cidr.startswith("${") and cidr.endswith("}/32"):
            path = resolved_path(stacks, cidr.removesuffix("/32"), svc_stack.name)
            assert "/network/nat-" in path and cidr.endswith("public_ip}/32"), path
            found.add(cidr)
    return found


def test_alb_ingress_only_on_listener_ports(stacks, svc_stack, env):
    """Public ALB: production from its configured ranges; test listener from
    the configured public client ranges and the NAT gateways' addresses
    (in-VPC test hooks reach an internet-facing ALB through NAT, Day 2
    finding 9). Internal ALB: production only from the service tasks'
    callers group; test listener from the VPC."""
    lb = env.load_balancer
    prod_ports = {443, 80} if lb.certificate_arn else {80}
    nat = _nat_address_refs(stacks, svc_stack)
    # Admitted to the internet-facing ALB's test listener, when there is one.
    has_public = any(s.public for s in env.services)
    assert len(nat) == (env.nat_gateway_count if has_public else 0)
    for kind in _albs(svc_stack):
        sg_key, _ = find(svc_stack, "aws_security_group", f"{kind}-alb/security-group")
        ingress = _rules(svc_stack, "aws_vpc_security_group_ingress_rule", sg_key)
        seen = {
            (r["from_port"], r.get("cidr_ipv4") or r["referenced_security_group_id"])
            for r in ingress
        }
        assert all(r["from_port"] == r["to_port"] and r["ip_protocol"] == "tcp" for r in ingress)
        if kind == "public":
            expected = {(p, c) for p in prod_ports for c in lb.public_ingress_cidrs} | {
                (lb.test_listener_port, c) for c in (*lb.test_listener_cidrs, *nat)
            }
        else:
            internal_port = 443 if lb.certificate_arn else 80
            expected = {
                (internal_port, sg_ref(svc_stack, "service-mesh/security-group")),
                (lb.test_listener_port, env.vpc_cidr),
            }
        assert seen == expected, kind


def test_test_listener_is_never_open_to_the_world_nor_to_private_ranges_on_a_public_alb(stacks):
    for synthesized in stacks.values():
        public_groups = {
            g
            for lb in synthesized.resources("aws_lb").values()
            if not lb["internal"]
            for g in lb["security_groups"]
        }
        for rule in synthesized.resources("aws_vpc_security_group_ingress_rule").values():
            cidr = rule.get("cidr_ipv4", "")
            if rule.get("from_port") != 8443 or not cidr or cidr.startswith("${"):
                continue
            network = ipaddress.IPv4Network(cidr)
            assert network.prefixlen > 0
            if rule["security_group_id"] in public_groups:
                assert not is_private_range(network), cidr


def test_alb_egress_only_to_its_services_tasks(svc_stack, env):
    for kind in _albs(svc_stack):
        sg_key, _ = find(svc_stack, "aws_security_group", f"{kind}-alb/security-group")
        egress = _rules(svc_stack, "aws_vpc_security_group_egress_rule", sg_key)
        served = [s for s in env.services if s.public == (kind == "public")]
        expected = set()
        for svc in served:
            task_sg, _ = find(svc_stack, "aws_security_group", f"service-{svc.name}/security-group")
            expected.add((svc.port, ref("aws_security_group", task_sg, "id")))
        assert {(r["from_port"], r["referenced_security_group_id"]) for r in egress} == expected
        assert all(r["from_port"] == r["to_port"] for r in egress)


def _task_groups(svc_stack, env) -> dict[str, str]:
    """service name -> reference of its own task group."""
    return {s.name: sg_ref(svc_stack, f"service-{s.name}/security-group") for s in env.services}


def test_task_ingress_only_from_its_alb(svc_stack, env):
    """No task admits another task: internal calls go through the internal
    ALB, so they follow a release's traffic shift (Day 2 finding 8)."""
    own = _task_groups(svc_stack, env)
    for svc in env.services:
        kind = "public" if svc.public else "internal"
        ingress = _rules(
            svc_stack, "aws_vpc_security_group_ingress_rule", own[svc.name].split(".")[1]
        )
        assert [r["referenced_security_group_id"] for r in ingress] == [
            sg_ref(svc_stack, f"{kind}-alb/security-group")
        ]
        assert all(
            r["ip_protocol"] == "tcp" and r["from_port"] == r["to_port"] == svc.port
            for r in ingress
        )
        assert not any("cidr_ipv4" in r or "prefix_list_id" in r for r in ingress)


def test_task_egress_is_narrow(svc_stack, env):
    own = _task_groups(svc_stack, env)
    for svc in env.services:
        egress = _rules(
            svc_stack, "aws_vpc_security_group_egress_rule", own[svc.name].split(".")[1]
        )
        assert not any("cidr_ipv4" in r for r in egress), "no CIDR egress at all"
        https = [r for r in egress if r["from_port"] == 443]
        assert len(https) == 2
        assert any("prefix_list_id" in r for r in https)
        assert any("endpoints-sg" in r.get("referenced_security_group_id", "") for r in https)
        db = [r for r in egress if r["from_port"] == 5432]
        assert len(db) == (1 if svc.uses_database else 0)
        # Calls to other services leave through the callers group, not this one.
        assert len(egress) == len(https) + len(db)


def test_callers_group_only_reaches_the_internal_alb_production_listener(svc_stack, env):
    mesh_key, group = find(svc_stack, "aws_security_group", "service-mesh/security-group")
    assert group["name"] == f"{env.prefix}-service-mesh"
    assert "ingress" not in group and "egress" not in group
    assert _rules(svc_stack, "aws_vpc_security_group_ingress_rule", mesh_key) == []
    egress = _rules(svc_stack, "aws_vpc_security_group_egress_rule", mesh_key)
    if all(s.public for s in env.services):
        assert egress == []  # no internal ALB, nothing to call
        return
    internal_port = 443 if env.load_balancer.certificate_arn else 80
    assert [
        (r["ip_protocol"], r["from_port"], r["to_port"], r["referenced_security_group_id"])
        for r in egress
    ] == [("tcp", internal_port, internal_port, sg_ref(svc_stack, "internal-alb/security-group"))]


def _task_to_task_rules(svc_stack) -> list[dict]:
    """Rules whose group and referenced group are both carried by tasks."""
    task_groups = {
        g
        for s in svc_stack.resources("aws_ecs_service").values()
        for g in s["network_configuration"]["security_groups"]
    }
    return [
        r
        for rtype in ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule")
        for r in svc_stack.resources(rtype).values()
        if r["security_group_id"] in task_groups
        and r.get("referenced_security_group_id") in task_groups
    ]


def test_no_task_to_task_rule(svc_stack):
    assert _task_to_task_rules(svc_stack) == []


def test_internal_services_are_called_by_url_through_the_internal_alb(svc_stack, env):
    """Each task gets ``<NAME>_URL`` of every other internal service: the
    internal ALB's name and the service's path (the rule that routes it)."""
    internal = {s.name: s for s in env.services if not s.public}
    albs = _albs(svc_stack)
    assert ("internal" in albs) is bool(internal)
    alb_key = albs["internal"][0] if internal else None
    scheme = "https" if env.load_balancer.certificate_arn else "http"
    for svc in env.services:
        _, td = find(svc_stack, "aws_ecs_task_definition", f"service-{svc.name}/task-definition")
        environment = {
            e["name"]: e["value"] for e in json.loads(td["container_definitions"])[0]["environment"]
        }
        urls = {k: v for k, v in environment.items() if k.endswith("_URL")}
        assert urls == {
            f"{name.upper().replace('-', '_')}_URL": f"{scheme}://${{aws_lb.{alb_key}.dns_name}}{callee.path_prefix}"
            for name, callee in internal.items()
            if name != svc.name
        }


def _expected_reachability(env) -> set[tuple[str, str, int]]:
    """Every service from its ALB on its port; the internal ALB's production
    listener from every task; the database from services with uses_database.
    No task reaches another task directly."""
    internal_port = 443 if env.load_balancer.certificate_arn else 80
    expected = set()
    for svc in env.services:
        expected.add(
            (f"alb:{'public' if svc.public else 'internal'}", f"task:{svc.name}", svc.port)
        )
        if any(not s.public for s in env.services):
            expected.add((f"task:{svc.name}", "alb:internal", internal_port))
        if svc.uses_database:
            expected.add((f"task:{svc.name}", "database", 5432))
    return expected


def test_reachability_between_tasks_albs_and_database(stacks, svc_stack, env):
    assert set(interfaces(stacks, svc_stack)) == (
        {f"task:{s.name}" for s in env.services}
        | {f"alb:{k}" for k in _albs(svc_stack)}
        | ({"database"} if any(s.uses_database for s in env.services) else set())
    )
    for name, groups in interfaces(stacks, svc_stack).items():
        if name.startswith("task:"):
            (own,) = groups - {sg_ref(svc_stack, "service-mesh/security-group")}
            assert len(groups) == 2 and own == sg_ref(
                svc_stack, f"service-{name[5:]}/security-group"
            )
    assert reachability(stacks, svc_stack) == _expected_reachability(env)
    # Nothing outside that graph reaches a task: no CIDR or prefix-list ingress.
    task_groups = {
        g for n, gs in interfaces(stacks, svc_stack).items() if n.startswith("task:") for g in gs
    }
    for rule in svc_stack.resources("aws_vpc_security_group_ingress_rule").values():
        if rule["security_group_id"] in task_groups:
            assert "referenced_security_group_id" in rule, path_of(rule)


def test_no_security_group_exceeds_the_rule_quota(stacks):
    for synthesized in stacks.values():
        for direction in ("ingress", "egress"):
            per_group = Counter(
                r["security_group_id"]
                for r in synthesized.resources(f"aws_vpc_security_group_{direction}_rule").values()
            )
            assert all(n <= RULES_PER_GROUP_QUOTA for n in per_group.values()), (
                synthesized.name,
                per_group,
            )


# -- linear scaling: a separate one-environment app with many services ---------------
SCALED_SERVICES = 8


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    """dev with SCALED_SERVICES services cloned from its own three (as the
    benchmark's scaling series builds them)."""
    (env,) = load_environments(defined=[scaled_services(SCALED_SERVICES)])
    _, stacks = synthesize([env], tmp_path_factory.mktemp("services-scaled"))
    return env, stacks


@pytest.mark.app_synthesis  # synthesizes its own variant (D79)
def test_rules_grow_linearly_and_no_task_reaches_another(scaled):
    env, stacks = scaled
    svc_stack = services_stack(stacks, env.name)
    assert len(env.services) == SCALED_SERVICES
    assert _task_to_task_rules(svc_stack) == []
    assert reachability(stacks, svc_stack) == _expected_reachability(env)


def test_database_is_opened_only_to_services_that_use_it(stacks, svc_stack, env):
    db_rules = [
        r
        for r in svc_stack.resources("aws_vpc_security_group_ingress_rule").values()
        if r.get("from_port") == 5432
    ]
    assert len(db_rules) == sum(s.uses_database for s in env.services)
    for rule in db_rules:
        assert resolved_path(stacks, rule["security_group_id"], svc_stack.name).endswith(
            "data/database/security-group"
        )
        assert "service-" in rule["referenced_security_group_id"]
