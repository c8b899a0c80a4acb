"""The graph model of one environment built from its synthesized stacks: the
stacks, network, database, keys and secrets, services, alarms and grants."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tools.diagrams import DiagramError
from tools.diagrams.model import ROLLS_BACK, TIERS, Edge, Group, Model, Node, ancestors, stack_group
from tools.diagrams.synthesized import Address, Terraform, environments

# Attributes that carry the ARNs of alarm notifications, not what is watched.
_ALARM_ACTIONS = ("alarm_actions", "ok_actions", "insufficient_data_actions")


def _as_list(value: Any) -> list:
    """A nested block or list as a list of objects (cdktf writes both forms;
    guardrails.rules.tf.blocks does the same, but importing it starts cdktf)."""
    items = [value] if isinstance(value, dict) else value if isinstance(value, list) else []
    return [item for item in items if isinstance(item, dict)]


def _first(value: Any) -> dict:
    found = _as_list(value)
    return found[0] if found else {}


def build_model(stacks: Mapping[str, dict], environment: str) -> Model:
    """The graph model of one environment from its synthesized stacks."""
    by_environment = environments(stacks)
    if environment not in by_environment:
        raise DiagramError(
            f"--env: {environment!r} is not in the synthesized stacks; "
            f"allowed: {', '.join(sorted(by_environment)) or 'none (run make synth)'}"
        )
    tf = Terraform({name: stacks[name] for name in by_environment[environment]})
    model = Model(environment)
    _add_stacks(model, tf)
    _add_network(model, tf)
    _add_database(model, tf)
    _add_keys_and_secrets(model, tf)
    services = _add_services(model, tf)
    _add_alarms(model, tf, services)
    _add_grants(model, tf, services)
    _add_encryption(model, tf)
    collapse_into_groups(model)
    return model


def _add_stacks(model: Model, tf: Terraform) -> None:
    """A group per stack; its summary node carries the backend and the
    dependency edges (terraform_remote_state) and points at its state bucket."""
    state_buckets = {body.get("bucket"): address for address, body in tf.resources("aws_s3_bucket")}
    for stack in sorted(tf.stacks):
        backend_type, config = tf.backend(stack)
        state = config.get("key") if backend_type == "s3" else f"{backend_type or 'local'} state"
        model.add_group(Group(stack_group(stack), "stack", stack))
        model.add_node(
            Node(f"{stack}/stack", "stack", stack_group(stack), stack, (f"state: {state}",))
        )
        bucket = state_buckets.get(config.get("bucket")) if backend_type == "s3" else None
        if bucket is not None:
            model.add_edge(f"{stack}/stack", bucket.id, "state", "state")
    for address, body in tf.resources("aws_s3_bucket"):
        if address in state_buckets.values() and any(e.target == address.id for e in model.edges):
            versioned = any(
                (_first(b.get("versioning_configuration")).get("status") == "Enabled")
                for _, b in tf.referencing(address, "aws_s3_bucket_versioning")
            )
            details = ["Terraform state", "versioned" if versioned else "not versioned"]
            model.add_node(
                Node(
                    address.id,
                    "state_bucket",
                    stack_group(address.stack),
                    f"S3 {body.get('bucket')}",
                    tuple(details),
                )
            )
    for stack in sorted(tf.stacks):
        for upstream in sorted(tf.upstream(stack)):
            model.add_edge(f"{stack}/stack", f"{upstream}/stack", "remote_state", "remote state")


# -- network -------------------------------------------------------------------------------
def _route_targets(tf: Terraform, route_table: Address) -> list[tuple[str, Address]]:
    """(destination, gateway) of the table's routes, inline and separate."""
    routes = [(a.stack, b) for a, b in tf.referencing(route_table, "aws_route")] + [
        (route_table.stack, r) for r in _as_list(tf.body(route_table).get("route"))
    ]
    found = []
    for stack, route in routes:
        destination = (
            route.get("destination_cidr_block") or route.get("destination_ipv6_cidr_block") or "?"
        )
        for key in ("gateway_id", "nat_gateway_id"):
            for target in tf.refs(stack, route.get(key)):
                found.append((str(destination), target))
    return found


def subnet_tiers(tf: Terraform) -> dict[Address, tuple[str, list[tuple[str, Address]]]]:
    """subnet -> (tier, its routes out): public routes to an internet gateway,
    private through a NAT gateway, isolated has no route out of the VPC."""
    tiers = {}
    for subnet, _ in tf.resources("aws_subnet"):
        routes = []
        for association, _ in tf.referencing(subnet, "aws_route_table_association"):
            for table in tf.refs_of(association, "route_table_id"):
                routes += _route_targets(tf, table)
        kinds = {target.type for _, target in routes}
        if "aws_internet_gateway" in kinds:
            tier = "public"
        elif "aws_nat_gateway" in kinds:
            tier = "private"
        else:
            tier = "isolated"
        tiers[subnet] = (tier, sorted(routes))
    return tiers


def tier_group(vpc: Address, tier: str) -> str:
    return f"tier:{vpc.id}:{tier}"


def _add_network(model: Model, tf: Terraform) -> None:
    tiers = subnet_tiers(tf)
    for vpc, body in tf.resources("aws_vpc"):
        vpc_group = model.add_group(
            Group(f"vpc:{vpc.id}", "vpc", f"VPC {body.get('cidr_block')}", stack_group(vpc.stack))
        )
        subnets = {s: tiers[s] for s, _ in tf.referencing(vpc, "aws_subnet")}
        for tier in TIERS:
            members = sorted(s for s, (t, _) in subnets.items() if t == tier)
            if not members:
                continue
            model.add_group(Group(tier_group(vpc, tier), "tier", f"{tier} subnets", vpc_group.id))
            for subnet in members:
                body_s = tf.body(subnet)
                model.add_node(
                    Node(
                        subnet.id,
                        f"subnet_{tier}",
                        tier_group(vpc, tier),
                        str(body_s.get("availability_zone")),
                        (str(body_s.get("cidr_block")),),
                    )
                )
            for subnet in members:
                for destination, target in subnets[subnet][1]:
                    model.add_edge(subnet.id, target.id, "route", destination)
        for gateway, _ in tf.referencing(vpc, "aws_internet_gateway"):
            model.add_node(Node(gateway.id, "internet_gateway", vpc_group.id, "internet gateway"))
        endpoints = [b for _, b in tf.referencing(vpc, "aws_vpc_endpoint")]
        if endpoints:
            names = sorted(
                f"{str(e.get('service_name', '')).split('.', 3)[-1]} ({str(e.get('vpc_endpoint_type', 'Gateway')).lower()})"
                for e in endpoints
            )
            model.add_node(
                Node(
                    f"{vpc.id}/endpoints",
                    "endpoints",
                    vpc_group.id,
                    f"{len(names)} VPC endpoints",
                    tuple(names),
                )
            )
    for nat, _ in tf.resources("aws_nat_gateway"):
        where = next(
            (
                model.nodes[s.id]
                for s in sorted(tf.refs_of(nat, "subnet_id"))
                if s.id in model.nodes
            ),
            None,
        )
        zone = where.title if where else "?"
        model.add_node(
            Node(
                nat.id,
                "nat_gateway",
                where.group if where else stack_group(nat.stack),
                "NAT gateway",
                (zone,),
            )
        )


def _add_edges_to_drawn(
    model: Model, source: str, targets: Iterable[Address], kind: str, label: str = ""
) -> None:
    for target in sorted(targets):
        if target.id in model.nodes:
            model.add_edge(source, target.id, kind, label)


def collapse_into_groups(model: Model) -> None:
    """Edges of one kind and label from one node to every node of a group
    (of the kinds reached) become one edge to the group, and likewise into
    one node from every node of a group: "the public subnets route to the
    internet gateway", "the data key encrypts the Aurora cluster"."""
    for end in ("target", "source"):
        fans: dict[tuple[str, str, str], set[Edge]] = defaultdict(set)
        for edge in model.edges:
            other = edge.source if end == "target" else edge.target
            fans[(other, edge.kind, edge.label)].add(edge)
        for edges in fans.values():
            reached = {getattr(e, end): e for e in edges if getattr(e, end) in model.nodes}
            by_group: dict[str, set[str]] = defaultdict(set)
            for node_id in reached:
                by_group[model.nodes[node_id].group].add(node_id)
            for group, node_ids in sorted(by_group.items()):
                kinds = {model.nodes[n].kind for n in node_ids}
                members = {
                    n.id for n in model.nodes.values() if n.group == group and n.kind in kinds
                }
                other = next(iter(edges)).source if end == "target" else next(iter(edges)).target
                inside = other in model.nodes and group in ancestors(
                    model, model.nodes[other].group
                )
                if (
                    len(node_ids) < 2
                    or members != node_ids
                    or inside
                    or model.groups[group].kind == "stack"
                ):
                    continue
                for node_id in node_ids:
                    edge = reached[node_id]
                    model.edges.discard(edge)
                    if end == "target":
                        model.add_edge(edge.source, group, edge.kind, edge.label)
                    else:
                        model.add_edge(group, edge.target, edge.kind, edge.label)


# -- database --------------------------------------------------------------------------
def _add_database(model: Model, tf: Terraform) -> None:
    for cluster, body in tf.resources("aws_rds_cluster"):
        group = model.add_group(
            Group(
                f"db:{cluster.id}",
                "database",
                f"Aurora {body.get('cluster_identifier')}",
                stack_group(cluster.stack),
            )
        )
        scaling = _first(body.get("serverlessv2_scaling_configuration"))
        details = [f"{body.get('engine')} {body.get('engine_version', '')}".strip()]
        if scaling:
            details.append(
                f"Serverless v2 {scaling.get('min_capacity')}-{scaling.get('max_capacity')} ACU"
            )
        model.add_node(Node(cluster.id, "database", group.id, "Aurora cluster", tuple(details)))
        instances = tf.referencing(cluster, "aws_rds_cluster_instance")
        tiers = [int(b.get("promotion_tier", 1)) for _, b in instances]
        writer_tier = min(tiers) if tiers.count(min(tiers or [0])) == 1 else None
        for instance, instance_body in instances:
            tier = int(instance_body.get("promotion_tier", 1))
            role = "writer" if tier == writer_tier else "reader"
            zone = str(instance_body.get("availability_zone", "?"))
            model.add_node(
                Node(
                    instance.id,
                    f"db_{role}",
                    group.id,
                    f"{role} {instance_body.get('identifier', instance.name)}",
                    (zone, f"promotion tier {tier}"),
                )
            )
            model.add_edge(cluster.id, instance.id, "instance")
            subnets = set()
            for subnet_group in tf.refs_of(instance, "db_subnet_group_name") or tf.refs_of(
                cluster, "db_subnet_group_name"
            ):
                subnets |= tf.refs_of(subnet_group, "subnet_ids")
            for subnet in sorted(subnets):
                if tf.body(subnet).get("availability_zone") == zone:
                    model.add_edge(instance.id, subnet.id, "placed", "")


# -- keys and secrets --------------------------------------------------------------------
def _add_keys_and_secrets(model: Model, tf: Terraform) -> None:
    for key, body in tf.resources("aws_kms_key"):
        aliases = sorted(str(b.get("name")) for _, b in tf.referencing(key, "aws_kms_alias"))
        details = ["rotation on" if body.get("enable_key_rotation") else "rotation off"]
        model.add_node(
            Node(
                key.id,
                "kms_key",
                stack_group(key.stack),
                aliases[0] if aliases else f"KMS key {key.name}",
                tuple(details),
            )
        )
    for secret, body in tf.resources("aws_secretsmanager_secret"):
        model.add_node(
            Node(
                secret.id,
                "secret",
                stack_group(secret.stack),
                f"secret {body.get('name', secret.name)}",
            )
        )


def _add_encryption(model: Model, tf: Terraform) -> None:
    """key -> what it encrypts, for what the diagram shows: attributes whose
    name says kms, and a bucket's separate encryption configuration."""
    for node_id in sorted(model.nodes):
        address = _address(node_id)
        if address is None:
            continue
        body = tf.body(address)
        keys = tf.refs_of(address, *(k for k in body if "kms" in k))
        if address.type == "aws_s3_bucket":
            for config, _ in tf.referencing(
                address, "aws_s3_bucket_server_side_encryption_configuration"
            ):
                keys |= tf.refs_of(config, "rule")
        for key in sorted(k for k in keys if k.type == "aws_kms_key"):
            model.add_edge(key.id, node_id, "encrypts", "encrypts")


def _address(node_id: str) -> Address | None:
    stack, _, rest = node_id.partition("/")
    resource_type, dot, name = rest.partition(".")
    return Address(stack, resource_type, name) if dot and "/" not in rest else None


# -- services ---------------------------------------------------------------------------
@dataclass
class Service:
    """One ECS service and what belongs to it, found by references."""

    address: Address
    group: str
    target_groups: set[Address] = field(default_factory=set)
    deployment_groups: set[Address] = field(default_factory=set)
    roles: set[Address] = field(default_factory=set)


def _add_services(model: Model, tf: Terraform) -> list[Service]:
    _add_load_balancers(model, tf)
    services = []
    for address, body in tf.resources("aws_ecs_service"):
        name = str(body.get("name", address.name))
        group = model.add_group(
            Group(f"service:{address.id}", "service", f"service {name}", stack_group(address.stack))
        )
        service = Service(address, group.id)
        services.append(service)
        model.add_node(Node(address.id, "ecs_service", group.id, f"ECS {name}", _capacity(body)))
        _add_edges_to_drawn(
            model, address.id, tf.refs_of(address, "network_configuration"), "placed", ""
        )
        for task_definition in tf.refs_of(address, "task_definition"):
            service.roles |= {r for r in tf.refs_of(task_definition) if r.type == "aws_iam_role"}
        service.target_groups |= {
            t for t in tf.refs_of(address, "load_balancer") if t.type == "aws_lb_target_group"
        }
        for deployment_group, dg_body in tf.referencing(address, "aws_codedeploy_deployment_group"):
            service.deployment_groups.add(deployment_group)
            service.target_groups |= {
                t
                for t in tf.refs_of(deployment_group, "load_balancer_info")
                if t.type == "aws_lb_target_group"
            }
            model.add_node(
                Node(
                    deployment_group.id,
                    "deployment_group",
                    group.id,
                    "CodeDeploy",
                    _deployment(dg_body),
                )
            )
            model.add_edge(deployment_group.id, address.id, "deploys", "deploys")
        live = {t for t in tf.refs_of(address, "load_balancer") if t.type == "aws_lb_target_group"}
        for target_group in sorted(service.target_groups):
            tg_body = tf.body(target_group)
            colour = "blue" if target_group in live else "green"
            details = [
                f"port {tg_body.get('port')}",
                f"health {_first(tg_body.get('health_check')).get('path', '?')}",
            ]
            model.add_node(
                Node(
                    target_group.id,
                    f"target_group_{colour}",
                    group.id,
                    f"{colour} {tg_body.get('name', '')}",
                    tuple(details),
                )
            )
            model.add_edge(target_group.id, address.id, "targets", "")
            for rule, rule_body in tf.referencing(target_group, "aws_lb_listener_rule"):
                for listener in tf.refs_of(rule, "listener_arn"):
                    model.add_edge(listener.id, target_group.id, "rule", _rule_label(rule_body))
        for registry in tf.refs_of(address, "service_registries"):
            model.add_node(
                Node(
                    registry.id,
                    "cloud_map",
                    group.id,
                    "Cloud Map",
                    (_cloud_map_name(tf, registry),),
                )
            )
            model.add_edge(address.id, registry.id, "registers", "")
        for target, target_body in tf.referencing(address, "aws_appautoscaling_target"):
            policies = sorted(
                _scaling_policy(b) for _, b in tf.referencing(target, "aws_appautoscaling_policy")
            )
            model.add_node(
                Node(
                    target.id,
                    "autoscaling",
                    group.id,
                    f"autoscaling {target_body.get('min_capacity')}-{target_body.get('max_capacity')} tasks",
                    tuple(policies),
                )
            )
            model.add_edge(target.id, address.id, "scales", "scales")
    return services


def _add_load_balancers(model: Model, tf: Terraform) -> None:
    """A group per load balancer with its listeners; a listener is named by
    the role deployment groups give it (production, test)."""
    roles: dict[Address, str] = {}
    for deployment_group, body in tf.resources("aws_codedeploy_deployment_group"):
        pair = _first(_first(body.get("load_balancer_info")).get("target_group_pair_info"))
        for route, role in (("prod_traffic_route", "production"), ("test_traffic_route", "test")):
            for listener in tf.refs(deployment_group.stack, _first(pair.get(route))):
                roles[listener] = role
    for lb, body in tf.resources("aws_lb"):
        internal = body.get("internal") in (True, "true")
        group = model.add_group(
            Group(
                f"lb:{lb.id}",
                "load_balancer",
                f"ALB {body.get('name', lb.name)}",
                stack_group(lb.stack),
            )
        )
        details = ["internal" if internal else "internet-facing"]
        if tf.referencing(lb, "aws_wafv2_web_acl_association"):
            details.append("WAF")
        if _first(body.get("access_logs")).get("enabled") in (True, "true"):
            details.append("access logs")
        model.add_node(
            Node(
                lb.id,
                "load_balancer",
                group.id,
                f"ALB {body.get('name', lb.name)}",
                (", ".join(details),),
            )
        )
        _add_edges_to_drawn(model, lb.id, tf.refs_of(lb, "subnets", "subnet_mapping"), "placed")
        for listener, listener_body in tf.referencing(lb, "aws_lb_listener"):
            listener_role = roles.get(listener)
            port = f"{listener_body.get('protocol', '')} :{listener_body.get('port')}"
            action = _first(listener_body.get("default_action"))
            title = f"{listener_role or 'listener'} {port}"
            redirect_to: tuple[str, ...] = ()
            if listener_role is None and action.get("type") == "redirect":
                redirect = _first(action.get("redirect"))
                where = f"{redirect.get('protocol', '')} :{redirect.get('port', '')}"
                title, redirect_to = port, (f"redirect to {where}",)
            model.add_node(
                Node(
                    listener.id,
                    f"listener_{listener_role or 'other'}",
                    group.id,
                    title,
                    redirect_to,
                )
            )


def _capacity(body: dict) -> tuple[str, ...]:
    strategy = [
        f"{s.get('capacity_provider')} base {s.get('base', 0)} weight {s.get('weight', 0)}"
        for s in _as_list(body.get("capacity_provider_strategy"))
    ]
    if not strategy and body.get("launch_type"):
        strategy = [str(body.get("launch_type"))]
    controller = _first(body.get("deployment_controller")).get("type", "ECS")
    return (*strategy, f"desired {body.get('desired_count', '?')}, {controller}")


def _deployment(body: dict) -> tuple[str, ...]:
    config = str(body.get("deployment_config_name", "")).removeprefix("CodeDeployDefault.")
    rollback = _first(body.get("auto_rollback_configuration"))
    events = (
        ", ".join(str(e) for e in rollback.get("events", [])) if rollback.get("enabled") else "none"
    )
    details = [str(body.get("deployment_group_name", "")), config, f"rollback: {events}"]
    terminate = _first(
        _first(body.get("blue_green_deployment_config")).get(
            "terminate_blue_instances_on_deployment_success"
        )
    )
    if terminate.get("action") == "TERMINATE":
        details.append(
            f"blue ends after {terminate.get('termination_wait_time_in_minutes', 0)} min"
        )
    return tuple(details)


def _rule_label(body: dict) -> str:
    paths = [
        str(p)
        for condition in _as_list(body.get("condition"))
        for p in _first(condition.get("path_pattern")).get("values", [])
    ]
    return f"{' '.join(paths) or 'any path'} #{body.get('priority', '?')}"


def _cloud_map_name(tf: Terraform, registry: Address) -> str:
    body = tf.body(registry)
    names = [
        str(tf.body(n).get("name"))
        for n in tf.refs_of(registry, "dns_config")
        if n.type.startswith("aws_service_discovery_") and n.type.endswith("_namespace")
    ]
    return ".".join([str(body.get("name", registry.name)), *names[:1]])


def _scaling_policy(body: dict) -> str:
    config = _first(body.get("target_tracking_scaling_policy_configuration"))
    predefined = _first(config.get("predefined_metric_specification")).get("predefined_metric_type")
    customized = _first(config.get("customized_metric_specification"))
    # Metric math (D58): the policy holds its returned expression's label.
    returned = [m for m in customized.get("metrics", []) if m.get("return_data")]
    custom = customized.get("metric_name") or (returned[0].get("label") if returned else None)
    metric = str(predefined or custom or body.get("policy_type", "policy")).removeprefix(
        "ECSServiceAverage"
    )
    return f"{metric} {config.get('target_value', '')}".strip()


# -- alarms -----------------------------------------------------------------------------
def _add_alarms(model: Model, tf: Terraform, services: list[Service]) -> None:
    """Alarms grouped by what they watch (a service, a load balancer, the
    database), each group to the topics it notifies and to the deployment
    groups that roll back on any of them."""
    owners: dict[Address, Service] = {}
    for service in services:
        for owned in {service.address, *service.target_groups}:
            owners[owned] = service
    rollback: dict[str, set[Address]] = defaultdict(set)  # alarm name -> deployment groups
    for service in services:
        for deployment_group in service.deployment_groups:
            alarms = _first(tf.body(deployment_group).get("alarm_configuration")).get("alarms", [])
            for alarm in alarms:
                for ref in tf.refs(deployment_group.stack, alarm):
                    rollback[str(tf.body(ref).get("alarm_name"))].add(deployment_group)
                if "${" not in str(alarm):
                    rollback[str(alarm)].add(deployment_group)
    grouped: dict[tuple[str, str], list[tuple[Address, dict]]] = defaultdict(list)
    for alarm, body in tf.resources("aws_cloudwatch_metric_alarm"):
        watched = tf.refs(
            alarm.stack, {k: v for k, v in body.items() if k not in (*_ALARM_ACTIONS, "//")}
        )
        grouped[_alarm_subject(model, alarm, watched, owners)].append((alarm, body))
    for (group_id, subject), alarms in sorted(grouped.items()):
        node_id = f"{group_id}/alarms"
        names = []
        for alarm, body in alarms:
            name = str(body.get("alarm_name", alarm.name))
            names.append(f"{name}{ROLLS_BACK}" if rollback.get(name) else name)
            for topic in tf.refs(alarm.stack, [body.get(k) for k in _ALARM_ACTIONS]):
                if topic.type == "aws_sns_topic":
                    _add_topic(model, tf, topic)
                    model.add_edge(node_id, topic.id, "notifies", "notify")
            for deployment_group in rollback.get(name, ()):
                model.add_edge(node_id, deployment_group.id, "rolls_back", "")
        title = f"{len(names)} alarm{'' if len(names) == 1 else 's'}"
        model.add_node(Node(node_id, "alarms", group_id, title, tuple(sorted(names))))
        if subject:
            model.add_edge(node_id, subject, "watches", "")
    for edge in [e for e in model.edges if e.kind == "rolls_back"]:
        count = sum(1 for n in model.nodes[edge.source].details if n.endswith(ROLLS_BACK))
        model.edges.discard(edge)
        model.add_edge(edge.source, edge.target, edge.kind, f"{count} roll back")


def _alarm_subject(
    model: Model, alarm: Address, watched: set[Address], owners: dict[Address, Service]
) -> tuple[str, str]:
    """(group the alarm node goes in, node it watches outside that group or "")."""
    for ref in sorted(watched):
        if ref in owners:
            return owners[ref].group, ""
    for ref in sorted(watched):
        if ref.type == "aws_lb" and f"lb:{ref.id}" in model.groups:
            return f"lb:{ref.id}", ""
    for ref in sorted(watched):
        if ref.id in model.nodes:
            return stack_group(alarm.stack), ref.id
    return stack_group(alarm.stack), ""


def _add_topic(model: Model, tf: Terraform, topic: Address) -> None:
    if topic.id in model.nodes:
        return
    body = tf.body(topic)
    protocols = sorted(
        str(b.get("protocol")) for _, b in tf.referencing(topic, "aws_sns_topic_subscription")
    )
    details = [f"{p} x{protocols.count(p)}" for p in sorted(set(protocols))] or ["no subscriptions"]
    model.add_node(
        Node(
            topic.id,
            "topic",
            stack_group(topic.stack),
            f"SNS {body.get('name', topic.name)}",
            tuple(details),
        )
    )


# -- IAM grants on keys and secrets ------------------------------------------------------
def _add_grants(model: Model, tf: Terraform, services: list[Service]) -> None:
    """role -> key/secret for every Allow statement of a role's inline policy
    whose resources reference it, labelled with the actions."""
    role_group = {role: s.group for s in services for role in s.roles}
    for policy, body in tf.resources("aws_iam_role_policy"):
        roles = [r for r in tf.refs_of(policy, "role") if r.type == "aws_iam_role"]
        for role in roles:
            for target, actions in sorted(
                _policy_grants(tf, policy.stack, body.get("policy")).items()
            ):
                if target.id not in model.nodes:
                    continue
                role_body = tf.body(role)
                model.add_node(
                    Node(
                        role.id,
                        "role",
                        role_group.get(role, stack_group(role.stack)),
                        f"role {role_body.get('name', role.name)}",
                    )
                )
                model.add_edge(role.id, target.id, "grant", _actions_label(actions))


def _actions_label(actions: Iterable[str]) -> str:
    """``kms:Decrypt kms:GenerateDataKey`` as ``kms:Decrypt,GenerateDataKey``."""
    by_service: dict[str, list[str]] = defaultdict(list)
    for action in sorted(actions):
        service, _, name = action.partition(":")
        by_service[service].append(name)
    return " ".join(f"{service}:{','.join(names)}" for service, names in sorted(by_service.items()))


def _policy_grants(tf: Terraform, stack: str, policy: Any) -> dict[Address, set[str]]:
    try:
        document = json.loads(policy) if isinstance(policy, str) else policy
    except ValueError:
        return {}
    grants: dict[Address, set[str]] = defaultdict(set)
    for statement in _as_list((document or {}).get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        for target in tf.refs(stack, statement.get("Resource")):
            if target.type in ("aws_kms_key", "aws_secretsmanager_secret"):
                grants[target] |= {str(a) for a in actions}
    return grants
