"""The stacks in ``cdktf.out`` read for the diagrams, with Terraform references
resolved across stacks (``${type.name.attr}`` and ``terraform_remote_state``)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guardrails.cdktf_out import environment_of, stack_files  # stdlib only
from guardrails.hcl import interpolation_end  # stdlib only: no cdktf start
from tools.diagrams import DiagramError

# ``aws_x.name`` inside an interpolation; a match counts only when that
# resource exists in the stack.
_RESOURCE_REF = re.compile(r"(?<![\w.-])([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)")
_REMOTE_REF = re.compile(
    r"data\.terraform_remote_state\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)"
)


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
