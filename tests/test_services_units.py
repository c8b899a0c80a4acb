"""Unit rules of the services tier, and one small separate app that proves
"add a service" is one configuration entry."""
from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, strategies as st

from config import load_environments
from config.environments import DEV, ENVIRONMENTS, STAGING
from config.model import CustomScalingMetric, ServiceConfig
from config.naming import ecr_repository_name, task_family
from modules.blue_green_service import (
    MAX_ROLLBACK_ALARMS,
    BlueGreenService,
    image_reference,
    secret_variable,
    target_group_name,
)
from modules.ecr import lifecycle_policy
from tests.services_helpers import find, of_service, path_of
from tests.synth import synthesize

SERVICE_NAMES = st.from_regex(r"[a-z][a-z0-9-]{1,30}[a-z0-9]", fullmatch=True)

FOURTH = ServiceConfig(
    name="fraud-scoring",
    port=8090,
    cpu=512,
    memory_mib=1024,
    desired_count=1,
    min_count=1,
    max_count=4,
    public=False,
    path_prefix="/fraud",
    secrets=("api-keys",),
    uses_database=True,
    custom_metric=CustomScalingMetric(namespace="Payment/Fraud", name="Backlog", target_value=10),
)


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


@pytest.mark.parametrize("keep, expiry, field", [
    (0, 7, "keep_tagged_images"), (30, 0, "untagged_expiry_days"), (True, 7, "keep_tagged_images"),
])
def test_lifecycle_policy_rejects_bad_counts(keep, expiry, field):
    with pytest.raises(ValueError, match=field):
        lifecycle_policy(keep, expiry)


# -- rollback_on_alarms validation (on the session's constructs; nothing is changed) --
@pytest.mark.parametrize("alarms, message", [
    ([], r"0 alarms given .* allowed: 1-10"),
    ([f"alarm-{i}" for i in range(MAX_ROLLBACK_ALARMS + 1)], r"11 alarms given"),
    (["a", "a"], r"given more than once"),
    ([""], r"1-255 characters"),
    ("one-alarm", r"give a list"),
])
def test_rollback_on_alarms_rejects_bad_input(built_stacks, alarms, message):
    service = built_stacks["dev"].services.services["payment-api"]
    with pytest.raises(ValueError, match=message):
        service.rollback_on_alarms(alarms)
    assert service.deployment_group.alarm_configuration_input is None


# -- the small separate app ---------------------------------------------------------
@pytest.fixture(scope="module")
def small_app(tmp_path_factory):
    """dev with a fourth service and rollback alarms on it; staging with only
    public services (so no internal ALB)."""
    dev = dataclasses.replace(DEV, services=DEV.services + (FOURTH,))
    staging = dataclasses.replace(STAGING, services=tuple(
        dataclasses.replace(s, public=True) for s in STAGING.services))
    load_environments(defined=[dev, staging, *(e for e in ENVIRONMENTS if e.name == "prod")])

    def fourth_rolls_back_on_alarms(built):
        built["dev"].services.services[FOURTH.name].rollback_on_alarms(["fraud-5xx", "fraud-latency"])

    built, stacks = synthesize([dev, staging], tmp_path_factory.mktemp("services-small"),
                               prepare=fourth_rolls_back_on_alarms)
    return dev, built, stacks


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
    for rtype, expected in (("aws_ecr_repository", 1), ("aws_ecs_task_definition", 1),
                            ("aws_ecs_service", 1), ("aws_lb_target_group", 2),
                            ("aws_lb_listener_rule", 2), ("aws_codedeploy_deployment_group", 1),
                            ("aws_appautoscaling_target", 1), ("aws_appautoscaling_policy", 4),
                            ("aws_service_discovery_service", 1), ("aws_iam_role", 2),
                            ("aws_cloudwatch_log_group", 1), ("aws_security_group", 1)):
        assert counts[rtype] == expected, rtype
    _, repo = find(synthesized, "aws_ecr_repository", f"service-{FOURTH.name}/repository/repository")
    assert repo["name"] == ecr_repository_name(dev, FOURTH)
    _, td = find(synthesized, "aws_ecs_task_definition", f"service-{FOURTH.name}/task-definition")
    assert td["family"] == task_family(dev, FOURTH)
    outputs = synthesized.json["output"]
    assert FOURTH.name in outputs["release_manifest"]["value"]
    assert FOURTH.name in outputs["task_families"]["value"]
    # It may call the other services and they may call it: its tasks carry
    # the mesh group, which gains one egress rule for its port.
    mesh_key, _ = find(synthesized, "aws_security_group", "service-mesh/security-group")
    mesh = f"${{aws_security_group.{mesh_key}.id}}"
    _, from_mesh = find(synthesized, "aws_vpc_security_group_ingress_rule", f"service-{FOURTH.name}/from-mesh")
    assert (from_mesh["referenced_security_group_id"], from_mesh["from_port"]) == (mesh, FOURTH.port)
    _, to_port = find(synthesized, "aws_vpc_security_group_egress_rule", f"service-mesh/to-port-{FOURTH.port}")
    assert to_port["security_group_id"] == to_port["referenced_security_group_id"] == mesh
    _, service = find(synthesized, "aws_ecs_service", f"service-{FOURTH.name}/service")
    assert mesh in service["network_configuration"]["security_groups"]


def test_rollback_on_alarms_sets_alarms_and_stop_on_alarm(small_app):
    _, _, stacks = small_app
    synthesized = stacks["payment-dev-services"]
    _, group = find(synthesized, "aws_codedeploy_deployment_group",
                    f"service-{FOURTH.name}/deployment-group")
    assert group["alarm_configuration"] == {"alarms": ["fraud-5xx", "fraud-latency"], "enabled": True}
    assert group["auto_rollback_configuration"] == {
        "enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}
    _, other = find(synthesized, "aws_codedeploy_deployment_group", "service-payment-api/deployment-group")
    assert "alarm_configuration" not in other


def test_only_albs_that_have_services_are_created(small_app):
    _, _, stacks = small_app
    staging = stacks["payment-staging-services"]
    assert [path_of(v).split("/")[1] for v in staging.resources("aws_lb").values()] == ["public-alb"]
    assert not any("internal" in k for k in staging.json["output"])
    assert len(stacks["payment-dev-services"].resources("aws_lb")) == 2


def test_service_construct_refuses_inconsistent_props(small_app):
    dev, built, _ = small_app
    services = built["dev"].services
    existing = services.services["payment-api"].props
    with pytest.raises(ValueError, match=r"database: None is not allowed when uses_database=True"):
        BlueGreenService(services, "invalid-1", dataclasses.replace(
            existing, service=dataclasses.replace(FOURTH, name="no-db"), database=None))
    with pytest.raises(ValueError, match=r"public=True needs the internet-facing ALB"):
        BlueGreenService(services, "invalid-2", dataclasses.replace(
            existing, load_balancer=services.load_balancers["internal"]))
    with pytest.raises(ValueError, match=r"secrets: api-keys not among the given secrets"):
        BlueGreenService(services, "invalid-3", dataclasses.replace(existing, secrets={}))
    with pytest.raises(ValueError, match=r"listener_rule_priority: 0 is not allowed"):
        BlueGreenService(services, "invalid-4", dataclasses.replace(existing, listener_rule_priority=0))


def test_load_balancer_refuses_plain_http_without_opt_in(small_app):
    from modules.load_balancer import ApplicationLoadBalancer

    _, built, _ = small_app
    services = built["dev"].services
    props = services.load_balancers["public"].props
    with pytest.raises(ValueError, match=r"certificate_arn: None needs allow_plain_http=True"):
        ApplicationLoadBalancer(services, "invalid-alb-1", dataclasses.replace(
            props, certificate_arn=None, allow_plain_http=False))
    with pytest.raises(ValueError, match=r"desync_mitigation_mode: 'monitor' is not allowed"):
        ApplicationLoadBalancer(services, "invalid-alb-2", dataclasses.replace(
            props, desync_mitigation_mode="monitor"))
    with pytest.raises(ValueError, match=r"name: .* use 1-32 characters"):
        ApplicationLoadBalancer(services, "invalid-alb-3", dataclasses.replace(props, name="x" * 33))


def test_release_manifest_parses_with_the_release_tool(small_app):
    from release.target import MANIFEST_FIELDS

    _, _, stacks = small_app
    manifest = stacks["payment-dev-services"].json["output"]["release_manifest"]["value"]
    for entry in manifest.values():
        assert tuple(sorted(entry)) == tuple(sorted(MANIFEST_FIELDS))
        json.dumps(entry)


# -- the service mesh construct on a small unit stack ------------------------------
def _mesh_unit():
    """A bare stack with a mesh; ``service(name)`` adds a service's construct
    and own group, as the app does."""
    from types import SimpleNamespace

    from framework import Construct, TerraformStack, Testing as CdktfTesting
    from framework.aws import aws
    from modules.service_mesh import ServiceMesh, ServiceMeshProps

    stack = TerraformStack(CdktfTesting.app(), "mesh-unit")
    # The mesh only reads the network's VPC id.
    network = SimpleNamespace(vpc_id="vpc-0123456789abcdef0")
    mesh = ServiceMesh(stack, "service-mesh", ServiceMeshProps(name="unit-service-mesh", network=network))

    def service(name: str):
        scope = Construct(stack, f"service-{name}")
        group = aws.security_group.SecurityGroup(scope, "security-group", name=f"unit-{name}",
                                                 description=f"Tasks of {name}", vpc_id=network.vpc_id)
        return scope, group

    return stack, mesh, service, CdktfTesting


def test_mesh_shares_one_egress_rule_per_port_and_names_its_services():
    stack, mesh, service, testing = _mesh_unit()
    for name, port in (("api", 8080), ("worker", 8080), ("notifier", 8082)):
        scope, group = service(name)
        mesh.admit(scope, service_name=name, security_group_id=group.id, port=port)
    assert mesh.members == {"api": 8080, "worker": 8080, "notifier": 8082}
    assert sorted(mesh.egress_rules) == [8080, 8082]
    resources = json.loads(testing.synth(stack))["resource"]
    groups = {g["name"]: f"${{aws_security_group.{k}.id}}" for k, g in resources["aws_security_group"].items()}
    mesh_ref = groups.pop("unit-service-mesh")
    # One rule per distinct port: AWS rejects two identical rules.
    egress = {r["from_port"]: r for r in resources["aws_vpc_security_group_egress_rule"].values()}
    assert len(egress) == len(resources["aws_vpc_security_group_egress_rule"]) == 2
    assert egress[8080]["description"] == "Service tasks to api, worker on port 8080"
    assert egress[8082]["description"] == "Service tasks to notifier on port 8082"
    assert all(r["security_group_id"] == r["referenced_security_group_id"] == mesh_ref
               and r["to_port"] == port for port, r in egress.items())
    ingress = sorted((r["security_group_id"], r["from_port"], r["referenced_security_group_id"])
                     for r in resources["aws_vpc_security_group_ingress_rule"].values())
    assert ingress == sorted([(groups["unit-api"], 8080, mesh_ref), (groups["unit-worker"], 8080, mesh_ref),
                              (groups["unit-notifier"], 8082, mesh_ref)])


@pytest.mark.parametrize("name, port, message", [
    ("api", 0, r"port 0 of 'api' is not allowed; use an integer 1-65535"),
    ("api", 70000, r"port 70000 of 'api' is not allowed"),
    ("api", True, r"port True of 'api' is not allowed"),
    ("api", "8080", r"port '8080' of 'api' is not allowed"),
    ("", 8080, r"service_name '' is not allowed"),
    ("first", 8081, r"service_name 'first' is already admitted \(port 8080\)"),
])
def test_mesh_refuses_bad_members(name, port, message):
    _, mesh, service, _ = _mesh_unit()
    scope, group = service("first")
    mesh.admit(scope, service_name="first", security_group_id=group.id, port=8080)
    other_scope, other_group = service("second")
    with pytest.raises(ValueError, match=message):
        mesh.admit(other_scope, service_name=name, security_group_id=other_group.id, port=port)
    assert mesh.members == {"first": 8080}
