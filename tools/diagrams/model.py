"""The graph model of one environment: groups (clusters), nodes and edges,
written as sorted JSON so the same Terraform always gives the same bytes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

#: The key under which the pictures carry the model's SHA-256.
MODEL_DIGEST = "model_sha256"
TIERS = ("public", "private", "isolated")
ROLLS_BACK = " (rolls back)"


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


def ancestors(model: Model, group: str | None) -> list[str]:
    found = []
    while group is not None:
        found.append(group)
        group = model.groups[group].parent
    return found
