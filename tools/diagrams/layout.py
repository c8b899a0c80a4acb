"""What each picture draws of the model (the views) and how: the Graphviz DOT
text of one view, its clusters, stack headers and zone rows."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from tools.diagrams.model import (
    MODEL_DIGEST,
    ROLLS_BACK,
    TIERS,
    Edge,
    Group,
    Model,
    Node,
    ancestors,
)


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
    groups_with = {a for n in drawn for a in ancestors(model, model.nodes[n].group)}
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
    groups = {a for n in nodes for a in ancestors(model, n.group)}
    return Projection(nodes, context, edges, groups)


def _representative(model: Model, group: str) -> str:
    """The node standing for a group a view does not otherwise draw."""
    inside = [n for n in model.nodes.values() if group in ancestors(model, n.group)]
    return min(inside, key=_node_key).id if inside else group


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
        for ancestor in ancestors(model, node.group):
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
        for group in ancestors(model, node.group):
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
