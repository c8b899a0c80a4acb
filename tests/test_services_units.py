"""Unit rules of the services tier, and one small separate app that proves
"add a service" is one configuration entry."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config import load_environments
from config.naming import ecr_repository_name, task_family
from modules.blue_green_service import MAX_ROLLBACK_ALARMS, BlueGreenService, target_group_name
from modules.container_definition import image_reference, secret_variable
from modules.ecr import lifecycle_policy
from tests.fixtures.example import DEV, ENVIRONMENTS, STAGING
from tests.services_helpers import FOURTH, find, of_service, path_of
from tests.synth import synthesize

SERVICE_NAMES = st.from_regex(r"[a-z][a-z0-9-]{1,30}[a-z0-9]", fullmatch=True)


# -- names ----------------------------------------------------------------------
def test_target_group_names_short_names_are_readable():
    assert target_group_name("staging", "payment-api", "blue") == "staging-payment-api-b"
    assert target_group_name("staging", "payment-api", "green") == "staging-payment-api-g"


@given(env=st.sampled_from(["dev", "staging", "prod"]), a=SERVICE_NAMES, b=SERVICE_NAMES)
def test_target_group_names_fit_and_stay_unique(env, a, b):
    names = {target_group_name(env, s, c) for s in (a, b) for c in ("blue", "green")}
    assert all(len(n) <= 32 and not n.startswith("-") and not n.endswith("-") for n in names)
    assert len(names) == (2 if a == b else 4)


def test_target_group_name_rejects_unknown_color():
    with pytest.raises(ValueError, match="color: 'red' is not allowed"):
        target_group_name("dev", "payment-api", "red")


def test_long_names_differ_even_with_a_shared_prefix():
    a = target_group_name("staging", "transaction-processor-eu-west-aa", "blue")
    b = target_group_name("staging", "transaction-processor-eu-west-ab", "blue")
    assert a != b and len(a) == len(b) == 32


def test_image_reference_and_secret_variable():
    assert image_reference("repo", "v1.2.3") == "repo:v1.2.3"
    digest = "sha256:" + "a" * 64
    assert image_reference("repo", digest) == f"repo@{digest}"
    assert secret_variable("api-keys") == "API_KEYS"


def test_container_definition_module_on_its_own():
    """The container definition is its own unit (no construct, no resource)."""
    from modules.container_definition import (
        EXEC_AGENT_VOLUMES,
        ContainerDefinitionProps,
        DatabaseConnection,
        container_definitions,
    )

    svc = dataclasses.replace(FOURTH, enable_execute_command=True)
    props = ContainerDefinitionProps(
        service=svc,
        environment_name="dev",
        region="eu-west-1",
        image="repo:v1",
        collector_image="cache/otel:v1",
        log_group_name="/logs",
        namespace_name="dev.internal",
        secret_arns={"api-keys": "arn:secret"},
        internal_service_urls={FOURTH.name: "http://own", "ledger": "http://alb/ledger"},
    )
    app, collector = container_definitions(props)
    variables = {e["name"]: e["value"] for e in app["environment"]}
    assert variables["LEDGER_URL"] == "http://alb/ledger" and "FRAUD_SCORING_URL" not in variables
    assert not [name for name in variables if name.startswith("DB_")]
    assert app["secrets"] == [{"name": "API_KEYS", "valueFrom": "arn:secret"}]
    assert {m["containerPath"] for m in app["mountPoints"]} == {
        "/tmp",
        *EXEC_AGENT_VOLUMES.values(),
    }
    assert (app["image"], collector["image"]) == ("repo:v1", "cache/otel:v1")
    (app, _) = container_definitions(
        dataclasses.replace(
            props,
            database=DatabaseConnection(
                host="db", port=5432, name="payments", user="fraud_scoring"
            ),
        )
    )
    variables = {e["name"]: e["value"] for e in app["environment"]}
    assert {k: v for k, v in variables.items() if k.startswith("DB_")} == {
        "DB_HOST": "db",
        "DB_PORT": "5432",
        "DB_NAME": "payments",
        "DB_USER": "fraud_scoring",
        "DB_IAM_AUTH": "true",
    }


@pytest.mark.parametrize(
    "keep, expiry, field",
    [
        (0, 7, "keep_tagged_images"),
        (30, 0, "untagged_expiry_days"),
        (True, 7, "keep_tagged_images"),
    ],
)
def test_lifecycle_policy_rejects_bad_counts(keep, expiry, field):
    with pytest.raises(ValueError, match=field):
        lifecycle_policy(keep, expiry, release_tag_prefix="release-dev-", keep_released_images=10)


@pytest.mark.parametrize("released", [0, 1001, True])
def test_lifecycle_policy_rejects_bad_released_counts(released):
    with pytest.raises(ValueError, match="keep_released_images"):
        lifecycle_policy(30, 7, release_tag_prefix="release-dev-", keep_released_images=released)


# -- rollback_on_alarms validation (on the session's constructs; nothing is changed) --
@pytest.mark.parametrize(
    "alarms, message",
    [
        ([], r"0 alarms given .* allowed: 1-10"),
        ([f"alarm-{i}" for i in range(MAX_ROLLBACK_ALARMS + 1)], r"11 alarms given"),
        (["a", "a"], r"given more than once"),
        ([""], r"1-255 characters"),
        ("one-alarm", r"give a list"),
    ],
)
def test_rollback_on_alarms_rejects_bad_input(example_built_stacks, alarms, message):
    # The example's dev rolls back on no alarm: nothing may be set by a refusal.
    service = example_built_stacks["dev"].services.services["payment-api"]
    with pytest.raises(ValueError, match=message):
        service.rollback_on_alarms(alarms)
    assert service.deployment_group.alarm_configuration_input is None


# -- the small separate app ---------------------------------------------------------
@pytest.fixture(scope="module")
def small_app(tmp_path_factory):
    """dev with a fourth service and rollback alarms on it; staging with only
    public services (so no internal ALB)."""
    dev = dataclasses.replace(DEV, services=DEV.services + (FOURTH,))
    staging = dataclasses.replace(
        STAGING, services=tuple(dataclasses.replace(s, public=True) for s in STAGING.services)
    )
    load_environments(defined=[dev, staging, *(e for e in ENVIRONMENTS if e.name == "prod")])

    def fourth_rolls_back_on_alarms(built):
        built["dev"].services.services[FOURTH.name].rollback_on_alarms(
            ["fraud-5xx", "fraud-latency"]
        )

    built, stacks = synthesize(
        [dev, staging],
        tmp_path_factory.mktemp("services-small"),
        prepare=fourth_rolls_back_on_alarms,
    )
    return dev, built, stacks


@pytest.mark.app_synthesis  # synthesizes its own variant (D79)
def test_a_fourth_service_is_one_configuration_entry(small_app):
    dev, _, stacks = small_app
    synthesized = stacks["payment-dev-services"]
    per_type = {}
    for svc in (FOURTH, dev.service("transaction-processor")):
        per_type[svc.name] = {
            rtype: len(of_service(synthesized, rtype, svc.name))
            for rtype in synthesized.json["resource"]
        }
    assert per_type[FOURTH.name] == per_type["transaction-processor"]
    counts = per_type[FOURTH.name]
    for rtype, expected in (
        ("aws_ecr_repository", 1),
        ("aws_ecs_task_definition", 1),
        ("aws_ecs_service", 1),
        ("aws_lb_target_group", 2),
        ("aws_lb_listener_rule", 2),
        ("aws_codedeploy_deployment_group", 1),
        ("aws_appautoscaling_target", 1),
        ("aws_appautoscaling_policy", 4),
        ("aws_service_discovery_service", 1),
        ("aws_iam_role", 2),
        ("aws_cloudwatch_log_group", 1),
        ("aws_security_group", 1),
    ):
        assert counts[rtype] == expected, rtype
    _, repo = find(
        synthesized, "aws_ecr_repository", f"service-{FOURTH.name}/repository/repository"
    )
    assert repo["name"] == ecr_repository_name(dev, FOURTH)
    _, td = find(synthesized, "aws_ecs_task_definition", f"service-{FOURTH.name}/task-definition")
    assert td["family"] == task_family(dev, FOURTH)
    outputs = synthesized.json["output"]
    assert FOURTH.name in outputs["release_manifest"]["value"]
    assert FOURTH.name in outputs["task_families"]["value"]
    # It may call the internal services through the internal ALB (its tasks
    # carry the callers group, which gains no rule), and it gets their URLs.
    callers_key, _ = find(synthesized, "aws_security_group", "service-mesh/security-group")
    callers = f"${{aws_security_group.{callers_key}.id}}"
    own_ingress = of_service(synthesized, "aws_vpc_security_group_ingress_rule", FOURTH.name)
    assert own_ingress and all(
        r.get("referenced_security_group_id") != callers for r in own_ingress.values()
    )
    _, service = find(synthesized, "aws_ecs_service", f"service-{FOURTH.name}/service")
    _, fourth_td = find(
        synthesized, "aws_ecs_task_definition", f"service-{FOURTH.name}/task-definition"
    )
    names = {e["name"] for e in json.loads(fourth_td["container_definitions"])[0]["environment"]}
    internal = {s.name for s in dev.services if not s.public and s.name != FOURTH.name}
    assert {f"{n.upper().replace('-', '_')}_URL" for n in internal} <= names
    assert callers in service["network_configuration"]["security_groups"]


@pytest.mark.app_synthesis  # synthesizes its own variant (D79)
def test_rollback_on_alarms_sets_alarms_and_stop_on_alarm(small_app):
    _, _, stacks = small_app
    synthesized = stacks["payment-dev-services"]
    _, group = find(
        synthesized, "aws_codedeploy_deployment_group", f"service-{FOURTH.name}/deployment-group"
    )
    assert group["alarm_configuration"] == {
        "alarms": ["fraud-5xx", "fraud-latency"],
        "enabled": True,
    }
    assert group["auto_rollback_configuration"] == {
        "enabled": True,
        "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
    }
    _, other = find(
        synthesized, "aws_codedeploy_deployment_group", "service-payment-api/deployment-group"
    )
    assert "alarm_configuration" not in other


@pytest.mark.app_synthesis  # synthesizes its own variant (D79)
def test_only_albs_that_have_services_are_created(small_app):
    _, _, stacks = small_app
    staging = stacks["payment-staging-services"]
    assert [path_of(v).split("/")[1] for v in staging.resources("aws_lb").values()] == [
        "public-alb"
    ]
    assert not any("internal" in k for k in staging.json["output"])
    assert len(stacks["payment-dev-services"].resources("aws_lb")) == 2


@pytest.mark.app_synthesis  # synthesizes its own variant (D79)
def test_service_construct_refuses_inconsistent_props(small_app):
    dev, built, _ = small_app
    services = built["dev"].services
    existing = services.services["payment-api"].props
    with pytest.raises(ValueError, match=r"database: None is not allowed when uses_database=True"):
        BlueGreenService(
            services,
            "invalid-1",
            dataclasses.replace(
                existing, service=dataclasses.replace(FOURTH, name="no-db"), database=None
            ),
        )
    with pytest.raises(ValueError, match=r"public=True needs the internet-facing ALB"):
        BlueGreenService(
            services,
            "invalid-2",
            dataclasses.replace(existing, load_balancer=services.load_balancers["internal"]),
        )
    with pytest.raises(ValueError, match=r"secrets: api-keys not among the given secrets"):
        BlueGreenService(services, "invalid-3", dataclasses.replace(existing, secrets={}))
    with pytest.raises(
        ValueError, match=r"service.listener_priority: 0 is not allowed; use 1-50000"
    ):
        BlueGreenService(
            services,
            "invalid-4",
            dataclasses.replace(
                existing, service=dataclasses.replace(existing.service, listener_priority=0)
            ),
        )


@pytest.mark.app_synthesis  # synthesizes its own variant (D79)
def test_load_balancer_refuses_plain_http_without_opt_in(small_app):
    from modules.load_balancer import ApplicationLoadBalancer

    _, built, _ = small_app
    services = built["dev"].services
    props = services.load_balancers["public"].props
    with pytest.raises(ValueError, match=r"certificate_arn: None needs allow_plain_http=True"):
        ApplicationLoadBalancer(
            services,
            "invalid-alb-1",
            dataclasses.replace(props, certificate_arn=None, allow_plain_http=False),
        )
    with pytest.raises(ValueError, match=r"desync_mitigation_mode: 'monitor' is not allowed"):
        ApplicationLoadBalancer(
            services, "invalid-alb-2", dataclasses.replace(props, desync_mitigation_mode="monitor")
        )
    with pytest.raises(ValueError, match=r"name: .* use 1-32 characters"):
        ApplicationLoadBalancer(
            services, "invalid-alb-3", dataclasses.replace(props, name="x" * 33)
        )


@pytest.mark.app_synthesis  # synthesizes its own variant (D79)
def test_release_manifest_parses_with_the_release_tool(small_app):
    from release.target import MANIFEST_FIELDS

    _, _, stacks = small_app
    manifest = stacks["payment-dev-services"].json["output"]["release_manifest"]["value"]
    for entry in manifest.values():
        assert tuple(sorted(entry)) == tuple(sorted(MANIFEST_FIELDS))
        json.dumps(entry)


# -- the callers group (callers_security_group.py) on a small unit stack ----------
def _callers_unit():
    """A bare stack with the callers group and a stand-in ALB of each kind
    (the group reads only their group id, kind and production port)."""
    from types import SimpleNamespace

    from framework import TerraformStack
    from framework import Testing as CdktfTesting
    from framework.aws import aws
    from modules.callers_security_group import CallersSecurityGroup, CallersSecurityGroupProps

    stack = TerraformStack(CdktfTesting.app(), "callers-unit")
    network = SimpleNamespace(vpc_id="vpc-0123456789abcdef0")
    callers = CallersSecurityGroup(
        stack, "service-mesh", CallersSecurityGroupProps(name="unit-service-mesh", network=network)
    )

    def alb(kind: str):
        group = aws.security_group.SecurityGroup(
            stack, f"{kind}-alb-sg", name=f"unit-{kind}-alb", vpc_id=network.vpc_id
        )
        return SimpleNamespace(
            internal=kind == "internal", production_port=443, security_group_id=group.id
        )

    return stack, callers, alb, CdktfTesting


def test_callers_group_reaches_only_the_internal_alb_production_listener():
    """Day 2 (#12, finding 8): internal calls go through the internal ALB, so
    they follow the traffic shift and count in the rollback alarms; Cloud Map
    keeps both task sets registered during a release (containers-roadmap #648)."""
    stack, callers, alb, testing = _callers_unit()
    callers.call_through(alb("internal"))
    resources = json.loads(testing.synth(stack))["resource"]
    groups = {
        g["name"]: f"${{aws_security_group.{k}.id}}"
        for k, g in resources["aws_security_group"].items()
    }
    callers_ref, alb_ref = groups["unit-service-mesh"], groups["unit-internal-alb"]
    (egress,) = resources["aws_vpc_security_group_egress_rule"].values()
    (ingress,) = resources["aws_vpc_security_group_ingress_rule"].values()
    assert (egress["security_group_id"], egress["referenced_security_group_id"]) == (
        callers_ref,
        alb_ref,
    )
    assert (ingress["security_group_id"], ingress["referenced_security_group_id"]) == (
        alb_ref,
        callers_ref,
    )
    for rule in (egress, ingress):
        assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 443, 443)
    assert sorted(callers.egress_rules) == sorted(callers.alb_ingress_rules) == [443]


@pytest.mark.parametrize(
    "kind, twice, message",
    [
        ("public", False, r"the internet-facing ALB is not allowed"),
        ("internal", True, r"already called; the environment has one internal ALB"),
    ],
)
def test_callers_group_refuses_a_public_alb_and_a_second_call(kind, twice, message):
    _, callers, alb, _ = _callers_unit()
    target = alb(kind)
    if twice:
        callers.call_through(target)
    with pytest.raises(ValueError, match=message):
        callers.call_through(target)
