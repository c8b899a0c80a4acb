"""Architecture diagrams drawn from the synthesized Terraform (issue #19).

Reads the stacks in ``cdktf.out`` -- never the configuration or the stack
code -- and builds one graph model per environment: nodes, edges and the
groups (clusters) they sit in, found by following the Terraform references
(``${type.name.attr}``, and ``terraform_remote_state`` outputs across
stacks). From the model it writes, per environment, into ``docs/diagrams``:

* ``<env>.json``: the model, sorted, so a stale diagram is a diff of data
  (``--check``, part of ``make checks``, compares it with the synthesis);
* ``<env>.svg`` and ``<env>.png``: the model drawn by Graphviz's ``dot``
  layout (the ``graphviz-pure`` command, docs/decisions.md D38), each
  carrying the model's SHA-256 so a picture cannot pass for another model.

Usage::

    .venv/bin/python tools/diagram.py                      # every environment in cdktf.out
    .venv/bin/python tools/diagram.py --env prod --to /tmp/diagrams
    .venv/bin/python tools/diagram.py --check               # make checks: fresh?

``--check`` writes nothing and needs no renderer: for every environment in
``--outdir`` (or each ``--env``) the committed model in ``--to`` must equal
the one built from the synthesis, and every picture must carry the
committed model's digest. Stale or missing ones are named in one line, exit
code 1, with the fix (``make diagram``). The diagrams describe the
configuration they were drawn from: after changing config/environments.py,
run ``make diagram`` and commit docs/diagrams/.

Bad input (no ``cdktf.out``, an unknown environment, a missing renderer)
stops with one line naming the value and what is allowed, exit code 2, and
writes nothing. Outputs are written to temporary files first and moved into
place model last, after every picture is done (docs/diagrams.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from guardrails.cdktf_out import environment_of, stack_files  # noqa: E402  (stdlib only)
from guardrails.hcl import interpolation_end  # noqa: E402  (stdlib only: no cdktf start)

RENDERER = "graphviz-pure"
FORMATS = ("svg", "png")
MODEL_DIGEST = "model_sha256"

# ``aws_x.name`` inside an interpolation; a match counts only when that
# resource exists in the stack.
_RESOURCE_REF = re.compile(r"(?<![\w.-])([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)")
_REMOTE_REF = re.compile(
    r"data\.terraform_remote_state\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)"
)
# Attributes that carry the ARNs of alarm notifications, not what is watched.
_ALARM_ACTIONS = ("alarm_actions", "ok_actions", "insufficient_data_actions")
TIERS = ("public", "private", "isolated")
ROLLS_BACK = " (rolls back)"


class DiagramError(Exception):
    """Bad input: one line naming the field or value and what is allowed."""


# -- reading the synthesized stacks ----------------------------------------------------
def read_stacks(outdir: Path) -> dict[str, dict]:
    """stack name -> synthesized JSON of every stack in ``outdir``."""
    if not (outdir / "stacks").is_dir():
        raise DiagramError(
            f"--outdir: {outdir} has no synthesized stacks (no {outdir / 'stacks'}); "
            "run make synth first"
        )
    stacks = {}
    for path in stack_files(outdir).values():
        try:
            stacks[path.parent.name] = json.loads(path.read_text())
        except ValueError as error:
            raise DiagramError(f"{path}: not JSON ({error}); run make synth again") from None
    if not stacks:
        raise DiagramError(f"--outdir: {outdir}/stacks holds no cdk.tf.json; run make synth first")
    return stacks


def environments(stacks: Mapping[str, dict]) -> dict[str, list[str]]:
    """environment -> names of its stacks (sorted)."""
    found: dict[str, list[str]] = defaultdict(list)
    for name in sorted(stacks):
        environment = environment_of(stacks[name])
        if environment is not None:
            found[environment].append(name)
    return dict(found)


def _as_list(value: Any) -> list:
    """A nested block or list as a list of objects (cdktf writes both forms;
    guardrails.rules.tf.blocks does the same, but importing it starts cdktf)."""
    items = [value] if isinstance(value, dict) else value if isinstance(value, list) else []
    return [item for item in items if isinstance(item, dict)]


def _first(value: Any) -> dict:
    found = _as_list(value)
    return found[0] if found else {}


@dataclass(frozen=True, order=True)
class Address:
    """One resource of one stack."""

    stack: str
    type: str
    name: str

    @property
    def id(self) -> str:
        return f"{self.stack}/{self.type}.{self.name}"


class Terraform:
    """The stacks of one environment, with references resolved across them."""

    def __init__(self, stacks: Mapping[str, dict]):
        self.stacks = dict(stacks)
        self._by_state = {
            (config.get("bucket"), config.get("key")): name
            for name, config in ((n, self.backend(n)[1]) for n in self.stacks)
            if config
        }

    def resources(self, *types: str) -> list[tuple[Address, dict]]:
        found = []
        for stack_name in sorted(self.stacks):
            resources = self.stacks[stack_name].get("resource") or {}
            for resource_type in types:
                for name, body in sorted((resources.get(resource_type) or {}).items()):
                    found.append((Address(stack_name, resource_type, name), body))
        return found

    def body(self, address: Address) -> dict:
        resources = self.stacks[address.stack].get("resource") or {}
        return (resources.get(address.type) or {})[address.name]

    def exists(self, stack: str, resource_type: str, name: str) -> bool:
        resources = self.stacks[stack].get("resource") or {}
        return name in (resources.get(resource_type) or {})

    def backend(self, stack: str) -> tuple[str, dict]:
        """(type, configuration) of the stack's backend; ("", {}) if none."""
        for backend_type, config in (
            (self.stacks[stack].get("terraform") or {}).get("backend") or {}
        ).items():
            return backend_type, dict(config or {})
        return "", {}

    def remote_stack(self, stack: str, data_name: str) -> str | None:
        """The stack whose state a ``terraform_remote_state`` data source reads."""
        data = ((self.stacks[stack].get("data") or {}).get("terraform_remote_state") or {}).get(
            data_name
        )
        if not data:
            return None
        config = data.get("config") or {}
        return self._by_state.get((config.get("bucket"), config.get("key")))

    def upstream(self, stack: str) -> set[str]:
        """The stacks this one reads through terraform_remote_state."""
        remote = (self.stacks[stack].get("data") or {}).get("terraform_remote_state") or {}
        found = {self.remote_stack(stack, name) for name in remote}
        return {name for name in found if name is not None}

    def refs(self, stack: str, value: Any) -> set[Address]:
        """Every resource ``value`` references, outputs of other stacks followed."""
        found: set[Address] = set()
        for expression in _interpolations(value):
            for data_name, output in _REMOTE_REF.findall(expression):
                other = self.remote_stack(stack, data_name)
                if other is not None:
                    exported = (self.stacks[other].get("output") or {}).get(output) or {}
                    found |= self.refs(other, exported.get("value"))
            for resource_type, name in _RESOURCE_REF.findall(_REMOTE_REF.sub("", expression)):
                if self.exists(stack, resource_type, name):
                    found.add(Address(stack, resource_type, name))
        return found

    def refs_of(self, address: Address, *attributes: str) -> set[Address]:
        """References in the named attributes of a resource (all when none named)."""
        body = self.body(address)
        if attributes:
            body = {key: body[key] for key in attributes if key in body}
        return self.refs(address.stack, {k: v for k, v in body.items() if k != "//"})

    def referencing(self, target: Address, *types: str) -> list[tuple[Address, dict]]:
        """Resources of ``types`` that reference ``target``."""
        return [(a, b) for a, b in self.resources(*types) if target in self.refs_of(a)]


def _interpolations(value: Any) -> Iterator[str]:
    """The text of every ``${...}`` in every string inside ``value``."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _interpolations(item)
    elif isinstance(value, list):
        for item in value:
            yield from _interpolations(item)
    elif isinstance(value, str):
        start = value.find("${")
        while start != -1:
            end = interpolation_end(value, start)
            if end is None:
                return
            yield value[start + 2 : end - 1]
            start = value.find("${", end)


# -- the model ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Group:
    id: str
    kind: str
    label: str
    parent: str | None = None


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    group: str
    title: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str
    label: str = ""


@dataclass
class Model:
    environment: str
    groups: dict[str, Group] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: set[Edge] = field(default_factory=set)

    def add_group(self, group: Group) -> Group:
        self.groups[group.id] = group
        return group

    def add_node(self, node: Node) -> Node:
        self.nodes[node.id] = node
        return node

    def add_edge(self, source: str, target: str, kind: str, label: str = "") -> None:
        self.edges.add(Edge(source, target, kind, label))

    def to_json(self) -> dict:
        """Sorted, so the same Terraform always gives the same bytes."""
        return {
            "environment": self.environment,
            "groups": [
                {"id": g.id, "kind": g.kind, "label": g.label, "parent": g.parent}
                for g in sorted(self.groups.values(), key=lambda g: g.id)
            ],
            "nodes": [
                {
                    "id": n.id,
                    "kind": n.kind,
                    "group": n.group,
                    "title": n.title,
                    "details": list(n.details),
                }
                for n in sorted(self.nodes.values(), key=lambda n: n.id)
            ],
            "edges": [
                {"source": e.source, "target": e.target, "kind": e.kind, "label": e.label}
                for e in sorted(self.edges, key=lambda e: (e.source, e.target, e.kind, e.label))
            ],
        }

    def text(self) -> str:
        return json.dumps(self.to_json(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"

    def digest(self) -> str:
        return hashlib.sha256(self.text().encode()).hexdigest()

    def of_kind(self, kind: str) -> list[Node]:
        return sorted((n for n in self.nodes.values() if n.kind == kind), key=lambda n: n.id)


def stack_group(stack: str) -> str:
    return f"stack:{stack}"


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
                inside = other in model.nodes and group in _ancestors(
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
    custom = _first(config.get("customized_metric_specification")).get("metric_name")
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


# -- views ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class View:
    """One picture of the model: the node and edge kinds it draws. A node of
    another kind at the end of a drawn edge comes along, greyed, as context."""

    name: str
    title: str
    node_kinds: frozenset[str]
    edge_kinds: frozenset[str]
    rankdir: str = "LR"


VIEWS = (
    View(
        "stacks",
        "stacks, state, keys and secrets: who reads what",
        frozenset({"stack", "state_bucket", "kms_key", "secret", "role"}),
        frozenset({"remote_state", "state", "grant", "encrypts"}),
        rankdir="TB",
    ),
    View(
        "network",
        "network: tiers per availability zone, routes out, what runs where",
        frozenset(
            {
                "subnet_public",
                "subnet_private",
                "subnet_isolated",
                "nat_gateway",
                "internet_gateway",
                "endpoints",
                "load_balancer",
                "ecs_service",
                "database",
                "db_writer",
                "db_reader",
            }
        ),
        frozenset({"route", "placed", "instance"}),
    ),
    View(
        "services",
        "services: listeners, blue/green target groups, deployments, scaling, alarms",
        frozenset(
            {
                "load_balancer",
                "listener_production",
                "listener_test",
                "listener_other",
                "target_group_blue",
                "target_group_green",
                "ecs_service",
                "deployment_group",
                "cloud_map",
                "autoscaling",
                "alarms",
                "topic",
            }
        ),
        frozenset(
            {
                "rule",
                "targets",
                "deploys",
                "registers",
                "scales",
                "notifies",
                "rolls_back",
                "watches",
            }
        ),
    ),
)


@dataclass
class Projection:
    """What one view draws of a model."""

    nodes: list[Node]
    context: set[str]
    edges: list[Edge]
    groups: set[str]


def project(model: Model, view: View) -> Projection:
    drawn = {n.id for n in model.nodes.values() if n.kind in view.node_kinds}
    groups_with = {a for n in drawn for a in _ancestors(model, model.nodes[n].group)}
    edges, context = [], set()
    for edge in sorted(model.edges, key=lambda e: (e.source, e.target, e.kind, e.label)):
        if edge.kind not in view.edge_kinds:
            continue
        ends = [edge.source, edge.target]
        if not any(end in drawn or end in groups_with for end in ends):
            continue
        for end in ends:
            if end in model.groups and end not in groups_with:
                end = _representative(model, end)
            if end in model.nodes and end not in drawn:
                context.add(end)
        edges.append(edge)
    nodes = [model.nodes[n] for n in sorted(drawn | context)]
    groups = {a for n in nodes for a in _ancestors(model, n.group)}
    return Projection(nodes, context, edges, groups)


def _representative(model: Model, group: str) -> str:
    """The node standing for a group a view does not otherwise draw."""
    inside = [n for n in model.nodes.values() if group in _ancestors(model, n.group)]
    return min(inside, key=_node_key).id if inside else group


def _ancestors(model: Model, group: str | None) -> list[str]:
    found = []
    while group is not None:
        found.append(group)
        group = model.groups[group].parent
    return found


# -- drawing ------------------------------------------------------------------------------
FONT = "Arial"  # graphviz-pure bundles Arimo, metric-compatible with Arial
# kind -> (shape, fill colour); a kind not listed is a plain box.
NODE_STYLE: dict[str, tuple[str, str]] = {
    "stack": ("note", "#f4f4f4"),
    "state_bucket": ("cylinder", "#fff2cc"),
    "internet_gateway": ("octagon", "#b6d7a8"),
    "nat_gateway": ("octagon", "#d9ead3"),
    "subnet_public": ("box", "#d9ead3"),
    "subnet_private": ("box", "#cfe2f3"),
    "subnet_isolated": ("box", "#e6e6e6"),
    "endpoints": ("box", "#ffffff"),
    "load_balancer": ("box", "#fce5cd"),
    "listener_production": ("box", "#f9cb9c"),
    "listener_test": ("box", "#fff2cc"),
    "listener_other": ("box", "#ffffff"),
    "target_group_blue": ("box", "#c9daf8"),
    "target_group_green": ("box", "#d9ead3"),
    "ecs_service": ("box3d", "#ffffff"),
    "deployment_group": ("box", "#ead1dc"),
    "cloud_map": ("box", "#ffffff"),
    "autoscaling": ("box", "#ffffff"),
    "alarms": ("box", "#f4cccc"),
    "topic": ("box", "#f4cccc"),
    "database": ("cylinder", "#d0e0e3"),
    "db_writer": ("cylinder", "#a2c4c9"),
    "db_reader": ("cylinder", "#d0e0e3"),
    "kms_key": ("box", "#fff2cc"),
    "secret": ("box", "#fff2cc"),
    "role": ("box", "#ffffff"),
}
CONTEXT_FILL = "#f0f0f0"
# kind -> edge attributes. ``dir=back``: drawn from target to source so the
# layout puts the target first (left), the arrow still pointing at it.
EDGE_STYLE: dict[str, str] = {
    "remote_state": 'color="#555555" penwidth=2 dir=back',
    "state": 'color="#999999" style=dashed dir=back',
    "route": 'color="#38761d" dir=back',
    "placed": 'color="#999999" style=dotted',
    "rule": 'color="#b45f06"',
    "targets": 'color="#3c78d8"',
    "deploys": 'color="#741b47"',
    "registers": 'color="#666666"',
    "scales": 'color="#666666"',
    "notifies": 'color="#cc0000" constraint=false',
    "rolls_back": 'color="#cc0000" penwidth=2',
    "watches": 'color="#cc0000" style=dashed',
    "grant": 'color="#bf9000" dir=back',
    "encrypts": 'color="#bf9000" style=dashed',
    "instance": 'color="#45818e"',
}
REVERSED = frozenset(kind for kind, style in EDGE_STYLE.items() if "dir=back" in style)
GROUP_STYLE: dict[str, str] = {
    "stack": 'style="rounded,bold" color="#444444" fontsize=18',
    "vpc": 'style="rounded" color="#38761d" fontsize=16',
    "tier": 'style="rounded,dashed" color="#6aa84f"',
    "database": 'style="rounded" color="#45818e"',
    "load_balancer": 'style="rounded" color="#b45f06"',
    "service": 'style="rounded,filled" fillcolor="#f8f8ff" color="#3c78d8" fontsize=16',
}


def _html(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _shortened(details: tuple[str, ...]) -> list[str]:
    """Alarm names without the prefix they all share (``payment-prod-api-``)."""
    if len(details) < 2:
        return list(details)
    prefix = os.path.commonprefix(list(details))
    prefix = prefix[: prefix.rfind("-") + 1]
    return [d[len(prefix) :] for d in details]


def _label(node: Node) -> str:
    rows = [f"<tr><td><b>{_html(node.title)}</b></td></tr>"]
    details = _shortened(node.details) if node.kind == "alarms" else list(node.details)
    for detail in details:
        if detail.endswith(ROLLS_BACK):
            text = f'<font color="#cc0000">{_html(detail.removesuffix(ROLLS_BACK))} (rolls back)</font>'
        else:
            text = _html(detail)
        rows.append(f'<tr><td><font point-size="11">{text}</font></td></tr>')
    return f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="1">{"".join(rows)}</table>>'


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _stack_order(model: Model) -> list[str]:
    """Stack groups, upstream first."""
    stacks = sorted(g.id for g in model.groups.values() if g.kind == "stack")
    reads = defaultdict(set)
    for edge in model.edges:
        if edge.kind == "remote_state":
            reads[model.nodes[edge.source].group].add(model.nodes[edge.target].group)
    ordered: list[str] = []
    while len(ordered) < len(stacks):
        ready = [s for s in stacks if s not in ordered and reads[s] <= set(ordered)]
        ordered.append((ready or [s for s in stacks if s not in ordered])[0])
    return ordered


def _group_key(group: Group) -> tuple:
    tier = group.label.split()[0]
    return (
        TIERS.index(tier) if group.kind == "tier" and tier in TIERS else -1,
        group.kind,
        group.label,
    )


def _node_key(node: Node) -> tuple:
    return (
        list(NODE_STYLE).index(node.kind) if node.kind in NODE_STYLE else 99,
        node.title,
        node.id,
    )


def to_dot(model: Model, view: View) -> str:
    """One view of the model in Graphviz's DOT language, left to right."""
    shown = project(model, view)
    clusters = _clusters(model, shown)
    members: dict[str, list[Node]] = defaultdict(list)
    for node in shown.nodes:
        members[_drawn_in(model, node.group, clusters)].append(node)
    children: dict[str | None, list[Group]] = defaultdict(list)
    for group_id in clusters:
        group = model.groups[group_id]
        children[_drawn_in(model, group.parent, clusters) if group.parent else None].append(group)
    title = f"payment platform {model.environment}: {view.title} (make diagram, from cdktf.out)"
    lines = [
        "digraph architecture {",
        f"  comment={_quote(f'{MODEL_DIGEST} {model.digest()}')}",
        f'  graph [rankdir={view.rankdir} compound=true newrank=true fontname="{FONT}" fontsize=20 '
        f"labelloc=t labeljust=l nodesep=0.2 ranksep=0.5 pad=0.3 label={_quote(title)}]",
        f'  node [fontname="{FONT}" fontsize=13 style="filled,rounded" margin="0.12,0.05"]',
        f'  edge [fontname="{FONT}" fontsize=11]',
    ]

    def emit(group: Group, indent: str) -> None:
        lines.append(f"{indent}subgraph {_quote('cluster_' + group.id)} {{")
        lines.append(f"{indent}  label={_quote(group.label)} {GROUP_STYLE.get(group.kind, '')}")
        for node in sorted(members[group.id], key=_node_key):
            shape, fill = NODE_STYLE.get(node.kind, ("box", "#ffffff"))
            if node.id in shown.context:
                fill = CONTEXT_FILL
            lines.append(
                f'{indent}  {_quote(node.id)} [shape={shape} fillcolor="{fill}" label={_label(node)}]'
            )
        for child in sorted(children[group.id], key=_group_key):
            emit(child, indent + "  ")
        lines.append(f"{indent}}}")

    for stack in _stack_order(model):
        if stack in clusters:
            emit(model.groups[stack], "  ")
    lines += _zone_rows(model, shown)
    lines += _stack_headers(model, shown, members)
    anchors: dict[str, list[str]] = defaultdict(list)
    for node in shown.nodes:
        for ancestor in _ancestors(model, node.group):
            anchors[ancestor].append(node.id)
    for edge in shown.edges:
        source, target = edge.source, edge.target
        if edge.kind in REVERSED:
            source, target = target, source
        attributes = [EDGE_STYLE.get(edge.kind, "")]
        if source in model.groups:
            if source in clusters:
                attributes.append(f"ltail={_quote('cluster_' + source)}")
            source = sorted(anchors[source])[len(anchors[source]) // 2]
        if target in model.groups:
            if target in clusters:
                attributes.append(f"lhead={_quote('cluster_' + target)}")
            target = sorted(anchors[target])[len(anchors[target]) // 2]
        if edge.label:
            attributes.append(f"label={_quote(edge.label)}")
        lines.append(
            f"  {_quote(source)} -> {_quote(target)} [{' '.join(a for a in attributes if a)}]"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _clusters(model: Model, shown: Projection) -> set[str]:
    """The groups drawn as boxes: stacks, and groups showing two nodes or more
    (a box around one node says nothing its label does not)."""
    count: dict[str, int] = defaultdict(int)
    for node in shown.nodes:
        for group in _ancestors(model, node.group):
            count[group] += 1
    return {g for g in shown.groups if model.groups[g].kind == "stack" or count[g] > 1}


def _drawn_in(model: Model, group: str, clusters: set[str]) -> str:
    while group not in clusters:
        parent = model.groups[group].parent
        if parent is None:
            return group
        group = parent
    return group


def _stack_headers(model: Model, shown: Projection, members: Mapping[str, list[Node]]) -> list[str]:
    """Layout hints, invisible: a stack's summary node before everything else
    in its box, so each stack is a column and dependencies run left to right."""
    lines = []
    for _, nodes in sorted(members.items()):
        headers = [n for n in nodes if n.kind == "stack"]
        for header in headers:
            for node in sorted(nodes, key=_node_key):
                if node.kind != "stack":
                    lines.append(f"  {_quote(header.id)} -> {_quote(node.id)} [style=invis]")
    return lines


def _zone(node: Node) -> str:
    """The availability zone a subnet (its title) or NAT gateway (its detail) is in."""
    return node.title if node.kind.startswith("subnet_") else (node.details or ("",))[0]


def _zone_rows(model: Model, shown: Projection) -> list[str]:
    """Layout hints, invisible: the subnets of one zone in a row, public ->
    private -> isolated, and each tier's subnets (and NAT gateways) in
    zone order, so tiers are columns and zones rows."""
    by_zone: dict[tuple[str | None, str], dict[str, str]] = defaultdict(dict)
    by_tier: dict[str, list[Node]] = defaultdict(list)
    for node in shown.nodes:
        if node.kind.startswith("subnet_") or node.kind == "nat_gateway":
            by_tier[node.group].append(node)
        if node.kind.startswith("subnet_"):
            vpc = model.groups[node.group].parent
            by_zone[(vpc, node.title)][node.kind.removeprefix("subnet_")] = node.id
    lines = []
    for _, tiers in sorted(by_zone.items(), key=lambda item: (str(item[0][0]), item[0][1])):
        chain = [tiers[t] for t in TIERS if t in tiers]
        for left, right in zip(chain, chain[1:], strict=False):
            lines.append(f"  {_quote(left)} -> {_quote(right)} [style=invis weight=10]")
    for _, nodes in sorted(by_tier.items()):
        # Left to right within a rank is bottom to top once rotated by
        # rankdir=LR. graphviz-pure keeps each NAT gateway beside its subnet
        # this way, though not always the zones in order.
        ordered = sorted(nodes, key=lambda n: (_zone(n), n.kind), reverse=True)
        if len(ordered) > 1:
            order = " -> ".join(_quote(n.id) for n in ordered)
            lines.append(f"  {{rank=same; {order} [style=invis]}}")
    return lines


def renderer() -> str:
    """The graphviz-pure binary installed beside this Python (make setup), else on PATH."""
    beside = Path(sys.executable).parent / RENDERER
    found = str(beside) if beside.exists() else shutil.which(RENDERER)
    if found is None:
        raise DiagramError(
            f"renderer: {RENDERER} is not installed beside {sys.executable} nor on PATH; "
            "run make setup (it is in Pipfile.lock)"
        )
    return found


def render(dot: str, fmt: str, binary: str) -> bytes:
    """``dot`` drawn as ``fmt`` (svg or png) by graphviz-pure."""
    result = subprocess.run(
        [binary, f"-T{fmt}"], input=dot.encode(), capture_output=True, check=False, timeout=300
    )
    if result.returncode != 0 or not result.stdout:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise DiagramError(
            f"{RENDERER} -T{fmt}: failed ({message[-1] if message else result.returncode})"
        )
    return result.stdout


def with_png_text(png: bytes, keyword: str, text: str) -> bytes:
    """The PNG with a tEXt chunk ``keyword: text`` right after its header."""
    signature, header_end = 8, 8 + 4 + 4 + 13 + 4  # signature, IHDR length/type/data/crc
    payload = keyword.encode("latin-1") + b"\0" + text.encode("latin-1")
    chunk = struct.pack(">I", len(payload)) + b"tEXt" + payload
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + payload) & 0xFFFFFFFF)
    if png[:signature] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise DiagramError(f"{RENDERER} -Tpng: output is not a PNG")
    return png[:header_end] + chunk + png[header_end:]


def embedded_digest(picture: bytes) -> str | None:
    """The model digest an SVG or PNG written by this tool carries."""
    found = re.search(rb"%s[ \0]([0-9a-f]{64})" % MODEL_DIGEST.encode(), picture)
    return found.group(1).decode() if found else None


def outputs(model: Model, binary: str) -> dict[str, bytes]:
    """file name suffix -> content: every view's pictures first, the model last."""
    files = {}
    for view in VIEWS:
        dot = to_dot(model, view)
        files[f"-{view.name}.svg"] = render(dot, "svg", binary)
        png = render(dot, "png", binary)
        files[f"-{view.name}.png"] = with_png_text(png, MODEL_DIGEST, model.digest())
    files[".json"] = model.text().encode()
    return files


STALE = "run `make diagram` and commit docs/diagrams/"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _difference(committed: str, fresh: Model) -> str:
    """What changed between a committed model and a fresh one, in a few words."""
    try:
        old_model = json.loads(committed)
    except ValueError:
        return "not JSON"
    new_model = fresh.to_json()
    parts = []
    for section in ("groups", "nodes", "edges"):
        old = {json.dumps(item, sort_keys=True) for item in old_model.get(section, [])}
        new = {json.dumps(item, sort_keys=True) for item in new_model[section]}
        if old != new:
            parts.append(f"{section}: {len(new - old)} new or changed, {len(old - new)} gone")
    return ", ".join(parts) or "formatting only"


def stale(models: Iterable[Model], to: Path) -> list[str]:
    """What in ``to`` does not show ``models``: one phrase per environment."""
    found = []
    for model in models:
        path = to / f"{model.environment}.json"
        if not path.is_file():
            found.append(f"{model.environment}.json is missing")
            continue
        committed = path.read_bytes()
        if committed != model.text().encode():
            difference = _difference(committed.decode(errors="replace"), model)
            found.append(f"{model.environment}.json differs ({difference})")
        digest = hashlib.sha256(committed).hexdigest()
        pictures = [f"{model.environment}-{view.name}.{fmt}" for view in VIEWS for fmt in FORMATS]
        missing = [name for name in pictures if not (to / name).is_file()]
        other = [
            name
            for name in pictures
            if name not in missing and embedded_digest((to / name).read_bytes()) != digest
        ]
        if missing:
            found.append(f"{', '.join(missing)} missing")
        if other:
            found.append(f"{', '.join(other)} drawn from another model")
    return found


def write_atomically(files: Mapping[Path, bytes]) -> None:
    """Every file written beside its target, then each moved into place in
    order; nothing is replaced unless every file could be written."""
    staged: list[tuple[Path, Path]] = []
    try:
        for target, content in files.items():
            handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            with os.fdopen(handle, "wb") as stream:
                stream.write(content)
            os.chmod(name, 0o644)
            staged.append((Path(name), target))
        for temporary, target in staged:
            os.replace(temporary, target)
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--outdir",
        type=Path,
        default=ROOT / "cdktf.out",
        help="synthesized app (default cdktf.out)",
    )
    parser.add_argument(
        "--to",
        type=Path,
        default=ROOT / "docs" / "diagrams",
        help="where the diagrams go (default docs/diagrams)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        help="environment to draw (repeatable; default: every one in --outdir)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check that the diagrams in --to show --outdir; writes nothing (make checks)",
    )
    args = parser.parse_args(argv)
    try:
        if not args.to.is_dir():
            raise DiagramError(f"--to: {args.to} is not a directory")
        if args.check:
            stacks = read_stacks(args.outdir)
            wanted = args.env or sorted(environments(stacks))
            problems = stale([build_model(stacks, env) for env in wanted], args.to)
            if problems:
                print(
                    f"diagram: {_display(args.to)} is stale: {'; '.join(problems)}; {STALE}",
                    file=sys.stderr,
                )
                return 1
            print(f"diagram: {_display(args.to)} shows {', '.join(wanted)} as synthesized")
            return 0
        binary = renderer()
        stacks = read_stacks(args.outdir)
        wanted = args.env or sorted(environments(stacks))
        models = [build_model(stacks, environment) for environment in wanted]
        files: dict[Path, bytes] = {}
        for model in models:
            for suffix, content in outputs(model, binary).items():
                files[args.to / f"{model.environment}{suffix}"] = content
        write_atomically(files)
    except DiagramError as error:
        print(f"diagram: {error}", file=sys.stderr)
        return 2
    for model in models:
        views = ",".join(view.name for view in VIEWS)
        print(
            f"diagram: {model.environment}: {len(model.nodes)} nodes, {len(model.edges)} edges"
            f" -> {args.to}/{model.environment}.json, {model.environment}-{{{views}}}.svg/.png"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
