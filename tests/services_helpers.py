"""Lookups shared by the services-tier tests."""
from __future__ import annotations

import json

from tests.synth import SynthesizedStack


def services_stack(stacks: dict[str, SynthesizedStack], env: str) -> SynthesizedStack:
    return stacks[f"payment-{env}-services"]


def ref(resource_type: str, key: str, attribute: str) -> str:
    return "${" + f"{resource_type}.{key}.{attribute}" + "}"


def path_of(resource: dict) -> str:
    return resource["//"]["metadata"]["path"]


def find(stack: SynthesizedStack, resource_type: str, path_suffix: str) -> tuple[str, dict]:
    """The one resource of a type whose construct path ends with the suffix."""
    found = [(k, v) for k, v in stack.resources(resource_type).items()
             if path_of(v).endswith("/" + path_suffix)]
    assert len(found) == 1, f"{stack.name}: {len(found)} {resource_type} at */{path_suffix}"
    return found[0]


def of_service(stack: SynthesizedStack, resource_type: str, service: str) -> dict[str, dict]:
    prefix = f"{stack.name}/service-{service}/"
    return {k: v for k, v in stack.resources(resource_type).items() if path_of(v).startswith(prefix)}


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
