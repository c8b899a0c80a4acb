"""Reading synthesized Terraform JSON the way Terraform would.

cdktf writes single nested blocks as objects and repeated ones as lists,
and escape-hatch overrides may use either form or the string ``"true"``;
these helpers accept all of them so a rule cannot be dodged by spelling.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from typing import Any

from guardrails.hcl import interpolation_end

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


#: Private address space: RFC 1918, RFC 6598 (carrier-grade NAT), IPv6 ULA (RFC 4193).
PRIVATE_RANGES = tuple(
    ipaddress.ip_network(cidr)
    for cidr in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)


def literal_cidr(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The network a literal CIDR (or bare address) denotes; None for
    references (``${...}``), other expressions and anything that does not parse."""
    if not isinstance(value, str) or "${" in value:
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def is_private(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    """True when every address of ``network`` lies in one of ``PRIVATE_RANGES``."""
    return any(
        network.version == private.version and network.subnet_of(private)  # type: ignore[arg-type]
        for private in PRIVATE_RANGES
    )


def template_json(text: str) -> Any:
    """Parses a JSON string that may contain Terraform interpolations.

    cdktf writes a token inside ``json.dumps`` output as ``${expression}``
    verbatim, quotes included (``"${lookup({"a" = "b"}, "a")}"``), so the
    text is a Terraform template that becomes JSON only at plan time. Each
    interpolation is read as a JSON string holding the expression (quoted
    where it stands outside a string), so a reference stays visible as
    ``"${...}"``. Raises ValueError when the result still is not JSON.
    """
    try:
        return json.loads(text)  # no interpolation with quotes or outside a string
    except ValueError:
        pass
    out: list[str] = []
    index, in_string = 0, False
    while index < len(text):
        if text.startswith("$${", index):  # Terraform's escape for a literal "${"
            out.append("$${")
            index += 3
            continue
        if text.startswith("${", index):
            end = interpolation_end(text, index)
            if end is None:  # never closes: the rest is the expression
                end = len(text)
            escaped = json.dumps(text[index:end])[1:-1]
            out.append(escaped if in_string else f'"{escaped}"')
            index = end
            continue
        char = text[index]
        if char == "\\" and in_string:
            out.append(text[index : index + 2])
            index += 2
            continue
        if char == '"':
            in_string = not in_string
        out.append(char)
        index += 1
    return json.loads("".join(out))


def container_definitions(body: dict) -> list[dict] | None:
    """The containers of an ``aws_ecs_task_definition`` (its
    ``container_definitions`` JSON string, interpolations allowed), or None
    when the value is not a JSON list of objects at synthesis time (e.g.
    ``${jsonencode(...)}`` or a reference)."""
    value = body.get("container_definitions")
    if isinstance(value, list):
        parsed: Any = value
    elif isinstance(value, str):
        try:
            parsed = template_json(value)
        except ValueError:
            return None
    else:
        return None
    if not isinstance(parsed, list) or not all(isinstance(item, dict) for item in parsed):
        return None
    return parsed


def is_expression(value: Any) -> bool:
    """True for a string holding a Terraform interpolation (``${...}``)."""
    return isinstance(value, str) and "${" in value
