"""Reading synthesized Terraform JSON the way Terraform would.

cdktf writes single nested blocks as objects and repeated ones as lists,
and escape-hatch overrides may use either form or the string ``"true"``;
these helpers accept all of them so a rule cannot be dodged by spelling.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Iterator

_REFERENCE = re.compile(
    r"^\$\{(?P<data>data\.)?(?P<type>[a-z0-9_]+)\.(?P<name>[A-Za-z0-9_-]+)\.(?P<attr>[A-Za-z0-9_.-]+)\}$"
)


def resources(stack: dict, resource_type: str) -> dict[str, dict]:
    return (stack.get("resource") or {}).get(resource_type) or {}


def data_sources(stack: dict, data_type: str) -> dict[str, dict]:
    return (stack.get("data") or {}).get(data_type) or {}


def each(stack: dict, *resource_types: str) -> Iterator[tuple[str, str, dict]]:
    """(type, name, body) of every resource of the given types."""
    for resource_type in resource_types:
        for name, body in resources(stack, resource_type).items():
            yield resource_type, name, body


def address(resource_type: str, name: str) -> str:
    return f"{resource_type}.{name}"


def blocks(value: Any) -> list[dict]:
    """A nested block as a list of objects, whether written as object or list."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def block(value: Any) -> dict:
    """The first (only) object of a single nested block, or {}."""
    found = blocks(value)
    return found[0] if found else {}


def as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def lifecycle(body: dict) -> dict:
    merged: dict = {}
    for item in blocks(body.get("lifecycle")):
        merged.update(item)
    return merged


def ignores_changes(body: dict, attribute: str) -> bool:
    ignored = lifecycle(body).get("ignore_changes")
    if ignored == "all" or ignored == ["all"]:
        return True
    return attribute in as_list(ignored)


def prevents_destroy(body: dict) -> bool:
    return is_true(lifecycle(body).get("prevent_destroy"))


def reference(value: Any, resource_type: str | None = None, *, data: bool = False):
    """``(type, name, attribute)`` when ``value`` is exactly one reference
    ``${type.name.attr}`` (``${data.type.name.attr}`` with ``data=True``)."""
    if not isinstance(value, str):
        return None
    match = _REFERENCE.match(value.strip())
    if not match or bool(match.group("data")) != data:
        return None
    if resource_type is not None and match.group("type") != resource_type:
        return None
    return match.group("type"), match.group("name"), match.group("attr")


def resolve(stack: dict, value: Any, resource_type: str, attribute: str) -> str | None:
    """Name of the ``resource_type`` in this stack that ``value`` points at:
    a reference ``${type.name.*}`` or a literal equal to its ``attribute``."""
    ref = reference(value, resource_type)
    if ref is not None:
        return ref[1] if ref[1] in resources(stack, resource_type) else None
    if isinstance(value, str):
        for name, body in resources(stack, resource_type).items():
            if body.get(attribute) == value:
                return name
    return None


def is_world(cidr: Any) -> bool:
    """True for 0.0.0.0/0 and ::/0 (any spelling that parses to prefix 0)."""
    if not isinstance(cidr, str):
        return False
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False
