"""Terraform plans in JSON (``terraform show -json``) made from our own
synthesized stacks, for the plan review tests and the stand-in terraform.

The shape follows Terraform's documented JSON output format
(``format_version`` 1.2, as Terraform 1.11 writes it): ``planned_values``,
``resource_changes`` (one entry per resource, ``no-op`` included, each with
``change.actions``, ``before``, ``after``, ``after_unknown``,
``before_sensitive``, ``after_sensitive`` and, for replacements,
``replace_paths`` and ``action_reason``), ``output_changes`` and
``configuration.provider_config``. Addresses and types are the synthesized
ones; attribute values are the synthesized arguments with references
resolved to stable stand-in values (``arn`` and ``id`` made up per resource),
as the state would hold them after an apply.

No import of the project: the stand-in terraform loads this file by path.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

FORMAT_VERSION = "1.2"
TERRAFORM_VERSION = "1.11.4"
PROVIDER = "registry.terraform.io/hashicorp/aws"
ACCOUNT = "000000000000"
#: Terraform meta-arguments and cdktf metadata: not resource attributes.
META = frozenset(
    {"//", "lifecycle", "depends_on", "provider", "count", "for_each", "provisioner", "connection"}
)
_REFERENCE = re.compile(r"\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_.-]+)\}")


def made_up(kind: str, name: str, attribute: str) -> str:
    """The value state would hold for an attribute not in the configuration."""
    if attribute == "arn":
        return f"arn:aws:{kind}:eu-west-1:{ACCOUNT}:{name}"
    return f"{name}-{attribute.replace('.', '-')}"


class Stack:
    """One synthesized stack (its cdk.tf.json) read as state values."""

    def __init__(self, config: dict, name: str | None = None):
        self.config = config
        tags = default_tags(config)
        self.name = name or tags.get("stack", "stack")

    def bodies(self) -> dict[str, tuple[str, str, dict]]:
        if not hasattr(self, "_bodies"):
            self._bodies = {
                f"{kind}.{name}": (kind, name, body)
                for kind, items in (self.config.get("resource") or {}).items()
                for name, body in items.items()
            }
        return self._bodies

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str):
            return _REFERENCE.sub(lambda m: self._lookup(m), value)
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def _lookup(self, match: re.Match) -> str:
        data, kind, name, attribute = match.groups()
        if not data:
            body = (self.config.get("resource") or {}).get(kind, {}).get(name)
            if body is not None and isinstance(body.get(attribute), (str, int)):
                return str(self.resolve(body[attribute]))
            return made_up(kind, name, attribute)
        return made_up("data-" + kind, name, attribute)

    def values(self, address: str) -> dict:
        kind, name, body = self.bodies()[address]
        values = {k: self.resolve(v) for k, v in body.items() if k not in META}
        values.setdefault("id", made_up(kind, name, "id"))
        values.setdefault("arn", made_up(kind, name, "arn"))
        if "tags" in values or kind.startswith("aws_"):
            values["tags_all"] = {**default_tags(self.config), **(values.get("tags") or {})}
        return values

    def outputs(self) -> dict[str, tuple[Any, bool]]:
        return {
            name: (self.resolve(body.get("value")), bool(body.get("sensitive")))
            for name, body in (self.config.get("output") or {}).items()
        }


def default_tags(config: dict) -> dict[str, str]:
    for provider in config.get("provider", {}).get("aws", []):
        for block in provider.get("default_tags") or []:
            return dict(block.get("tags") or {})
    return {}


class PlanBuilder:
    """A plan of one stack: every resource ``no-op`` (applied and unchanged)
    or ``create`` (``applied=False``) until a change says otherwise."""

    def __init__(self, config: dict, *, applied: bool = True, name: str | None = None):
        self.stack = Stack(config, name)
        self.applied = applied
        self.changes: dict[str, dict] = {}
        self.output_changes: dict[str, dict] = {}

    def values(self, address: str) -> dict:
        return copy.deepcopy(self.stack.values(address))

    def addresses(self, kind: str) -> list[str]:
        return sorted(a for a in self.stack.bodies() if a.startswith(kind + "."))

    def update(self, address: str, after: dict, unknown: dict | None = None) -> PlanBuilder:
        self.changes[address] = {
            "actions": ["update"],
            "before": self.values(address),
            "after": after,
            "after_unknown": unknown or {},
        }
        return self

    def replace(self, address: str, after: dict, paths: list[list]) -> PlanBuilder:
        self.changes[address] = {
            "actions": ["delete", "create"],
            "before": self.values(address),
            "after": after,
            "after_unknown": {"id": True, "arn": True},
            "replace_paths": paths,
            "action_reason": "replace_because_cannot_update",
        }
        return self

    def destroy(self, address: str) -> PlanBuilder:
        self.changes[address] = {
            "actions": ["delete"],
            "before": self.values(address),
            "after": None,
            "after_unknown": {},
            "action_reason": "delete_because_no_resource_config",
        }
        return self

    def create(self, kind: str, name: str, after: dict) -> PlanBuilder:
        self.changes[f"{kind}.{name}"] = {
            "actions": ["create"],
            "before": None,
            "after": after,
            "after_unknown": {"id": True, "arn": True},
        }
        return self

    def output(self, name: str, actions: list[str], after: Any = None, unknown: bool = False):
        before, sensitive = self.stack.outputs()[name]
        self.output_changes[name] = {
            "actions": actions,
            "before": before,
            "after": None if actions == ["delete"] else after,
            "after_unknown": unknown,
            "before_sensitive": sensitive,
            "after_sensitive": sensitive,
        }
        return self

    def _entry(self, address: str, change: dict) -> dict:
        kind, name = address.split(".", 1)
        return {
            "address": address,
            "mode": "managed",
            "type": kind,
            "name": name,
            "provider_name": PROVIDER,
            **({"action_reason": change.pop("action_reason")} if "action_reason" in change else {}),
            "change": {
                "before_sensitive": False if change["before"] is None else {},
                "after_sensitive": False if change["after"] is None else {},
                **change,
            },
        }

    def build(self) -> dict:
        changes = []
        planned = []
        for address in sorted(self.stack.bodies()):
            change = copy.deepcopy(self.changes.get(address))
            if change is None:
                values = self.values(address)
                change = (
                    {"actions": ["no-op"], "before": values, "after": values, "after_unknown": {}}
                    if self.applied
                    else {
                        "actions": ["create"],
                        "before": None,
                        "after": {k: v for k, v in values.items() if k not in ("id", "arn")},
                        "after_unknown": {"id": True, "arn": True, "tags_all": False},
                    }
                )
            changes.append(self._entry(address, change))
        for address, change in sorted(self.changes.items()):
            if address not in self.stack.bodies():
                changes.append(self._entry(address, copy.deepcopy(change)))
        for entry in changes:
            if entry["change"]["after"] is not None:
                planned.append(
                    {
                        "address": entry["address"],
                        "mode": "managed",
                        "type": entry["type"],
                        "name": entry["name"],
                        "provider_name": PROVIDER,
                        "schema_version": 0,
                        "values": entry["change"]["after"],
                        "sensitive_values": {},
                    }
                )
        outputs = {}
        for name, (value, sensitive) in self.stack.outputs().items():
            outputs[name] = self.output_changes.get(name) or {
                "actions": ["no-op"] if self.applied else ["create"],
                "before": value if self.applied else None,
                "after": value,
                "after_unknown": False,
                "before_sensitive": sensitive if self.applied else False,
                "after_sensitive": sensitive,
            }
        provider = (self.stack.config.get("provider", {}).get("aws") or [{}])[0]
        expressions: dict[str, Any] = {
            key: {"constant_value": value}
            for key, value in provider.items()
            if key not in ("default_tags", "alias")
        }
        expressions["default_tags"] = [
            {"tags": {"constant_value": block.get("tags") or {}}}
            for block in provider.get("default_tags") or []
        ]
        required = self.stack.config.get("terraform", {}).get("required_providers", {})
        return {
            "format_version": FORMAT_VERSION,
            "terraform_version": TERRAFORM_VERSION,
            "planned_values": {
                "outputs": {
                    n: {"sensitive": s, "value": v} for n, (v, s) in self.stack.outputs().items()
                },
                "root_module": {"resources": planned},
            },
            "resource_changes": changes,
            "output_changes": outputs,
            "configuration": {
                "provider_config": {
                    "aws": {
                        "name": "aws",
                        "full_name": PROVIDER,
                        "version_constraint": required.get("aws", {}).get("version", ""),
                        "expressions": expressions,
                    }
                },
                "root_module": {
                    "outputs": {
                        name: {"expression": {"references": _references(body.get("value"))}}
                        for name, body in (self.stack.config.get("output") or {}).items()
                    },
                    "resources": [
                        {
                            "address": address,
                            "mode": "managed",
                            "type": kind,
                            "name": name,
                            "provider_config_key": "aws",
                            "expressions": {
                                key: {"references": refs}
                                for key, value in body.items()
                                if key not in META and (refs := _references(value))
                            },
                            "schema_version": 0,
                        }
                        for address, (kind, name, body) in sorted(self.stack.bodies().items())
                    ],
                },
            },
            "relevant_attributes": [],
            "timestamp": "2026-11-30T12:00:00Z",
            "applyable": any(e["change"]["actions"] != ["no-op"] for e in changes)
            or any(o["actions"] != ["no-op"] for o in outputs.values()),
            "complete": True,
            "errored": False,
        }


def _references(value: Any) -> list[str]:
    text = json.dumps(value)
    found = []
    for data, kind, name, attribute in _REFERENCE.findall(text):
        prefix = "data." if data else ""
        found += [f"{prefix}{kind}.{name}.{attribute}", f"{prefix}{kind}.{name}"]
    return found
