"""Lookups shared by the services-tier tests."""

from __future__ import annotations

import json

from config.model import CustomScalingMetric, ServiceConfig
from tests.synth import SynthesizedStack

#: A fourth service, beside the example's three (tests/test_services_units.py,
#: tests/test_diagram.py): adding it is one configuration entry.
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
    listener_priority=40,
    secrets=("api-keys",),
    uses_database=True,
    custom_metric=CustomScalingMetric(namespace="Payment/Fraud", name="Backlog", target_value=10),
)


def services_stack(stacks: dict[str, SynthesizedStack], env: str) -> SynthesizedStack:
    return stacks[f"payment-{env}-services"]


def ref(resource_type: str, key: str, attribute: str) -> str:
    return "${" + f"{resource_type}.{key}.{attribute}" + "}"


def path_of(resource: dict) -> str:
    return resource["//"]["metadata"]["path"]


def find(stack: SynthesizedStack, resource_type: str, path_suffix: str) -> tuple[str, dict]:
    """The one resource of a type whose construct path ends with the suffix."""
    found = [
        (k, v)
        for k, v in stack.resources(resource_type).items()
        if path_of(v).endswith("/" + path_suffix)
    ]
    assert len(found) == 1, f"{stack.name}: {len(found)} {resource_type} at */{path_suffix}"
    return found[0]


def of_service(stack: SynthesizedStack, resource_type: str, service: str) -> dict[str, dict]:
    prefix = f"{stack.name}/service-{service}/"
    return {
        k: v for k, v in stack.resources(resource_type).items() if path_of(v).startswith(prefix)
    }


def containers(task_definition: dict) -> dict[str, dict]:
    return {c["name"]: c for c in json.loads(task_definition["container_definitions"])}


def statements(policy_resource: dict) -> list[dict]:
    return json.loads(policy_resource["policy"])["Statement"]


def actions(statement: dict) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)


def resolve(stacks: dict[str, SynthesizedStack], token: str) -> tuple[str, str, str, str]:
    """``${type.key.attr}`` or a cross-stack reference -> (stack, type, key, attr).

    Cross-stack references are followed to the output of the producing stack,
    so a test can say *which* resource a value comes from, in any stack.
    """
    assert token.startswith("${") and token.endswith("}"), token
    inner = token[2:-1]
    if inner.startswith("data.terraform_remote_state."):
        _, _, source, _, output = inner.split(".", 4)
        stack_name = source.removeprefix("cross-stack-reference-input-")
        value = stacks[stack_name].json["output"][output]["value"]
        rtype, key, attr = value[2:-1].split(".", 2)
        return stack_name, rtype, key, attr
    rtype, key, attr = inner.split(".", 2)
    return "", rtype, key, attr


def resolved_path(stacks: dict[str, SynthesizedStack], token: str, here: str) -> str:
    """Construct path (``stack/.../id``) of the resource a reference points at."""
    stack_name, rtype, key, _ = resolve(stacks, token)
    return path_of(stacks[stack_name or here].resources(rtype)[key])


# -- security groups as a graph ---------------------------------------------------
#: AWS default quota of inbound (and, separately, outbound) rules per group.
RULES_PER_GROUP_QUOTA = 60


def sg_ref(stack: SynthesizedStack, path_suffix: str) -> str:
    """``${aws_security_group.<key>.id}`` of the group at */path_suffix."""
    key, _ = find(stack, "aws_security_group", path_suffix)
    return ref("aws_security_group", key, "id")


def interfaces(
    stacks: dict[str, SynthesizedStack], stack: SynthesizedStack
) -> dict[str, frozenset[str]]:
    """Network interfaces of the services tier -> the groups they carry.

    ``task:<service>`` (an ECS service's tasks), ``alb:<kind>`` (a load
    balancer) and ``database`` (the Aurora cluster; its group is referenced
    from this stack through a cross-stack reference).
    """
    found: dict[str, frozenset[str]] = {}
    for body in stack.resources("aws_ecs_service").values():
        name = path_of(body).split("/")[1].removeprefix("service-")
        found[f"task:{name}"] = frozenset(body["network_configuration"]["security_groups"])
    for body in stack.resources("aws_lb").values():
        found[f"alb:{path_of(body).split('/')[1].removesuffix('-alb')}"] = frozenset(
            body["security_groups"]
        )
    database = set()
    for rtype in ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"):
        for body in stack.resources(rtype).values():
            for token in (body["security_group_id"], body.get("referenced_security_group_id")):
                if token and resolved_path(stacks, token, stack.name).endswith(
                    "data/database/security-group"
                ):
                    database.add(token)
    if database:
        found["database"] = frozenset(database)
    return found


def reachability(
    stacks: dict[str, SynthesizedStack], stack: SynthesizedStack
) -> set[tuple[str, str, int]]:
    """(source, destination, port) of every TCP connection the security
    group rules of ``stack`` allow between its interfaces.

    A connection needs an egress rule on some group of the source that names
    a group of the destination, and an ingress rule on some group of the
    destination that names a group of the source (rules of all groups on an
    interface add up). CIDR and prefix-list rules name no interface here.
    """

    def rules(rtype: str) -> list[dict]:
        return [
            r
            for r in stack.resources(rtype).values()
            if r.get("referenced_security_group_id") and r["ip_protocol"] in ("tcp", "-1")
        ]

    ingress, egress = (
        rules("aws_vpc_security_group_ingress_rule"),
        rules("aws_vpc_security_group_egress_rule"),
    )
    ports = {r[k] for r in ingress + egress for k in ("from_port", "to_port") if k in r}

    def allows(rule: dict, port: int, own: frozenset[str], other: frozenset[str]) -> bool:
        in_range = rule["ip_protocol"] == "-1" or rule["from_port"] <= port <= rule["to_port"]
        return (
            in_range
            and rule["security_group_id"] in own
            and rule["referenced_security_group_id"] in other
        )

    enis = interfaces(stacks, stack)
    return {
        (src, dst, port)
        for src, src_groups in enis.items()
        for dst, dst_groups in enis.items()
        for port in ports
        if any(allows(r, port, src_groups, dst_groups) for r in egress)
        and any(allows(r, port, dst_groups, src_groups) for r in ingress)
    }
