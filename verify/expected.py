"""Expected values, read from the synthesized Terraform JSON of an environment.

References inside a stack (``${aws_iam_role.x.name}``) are resolved to the
literal they point at; ``${data.aws_partition...}`` and
``${data.aws_caller_identity...}`` to the account checked. Anything else
stays a token, and a check that meets one says it cannot compare.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from config import EnvironmentConfig
from guardrails.cdktf_out import read_stack, stack_path

REFERENCE = re.compile(r"\$\{([^}]+)\}")
_PARTITION = re.compile(r"\$\{data\.aws_partition\.[^.}]+\.partition\}")
_ACCOUNT = re.compile(r"\$\{data\.aws_caller_identity\.[^.}]+\.account_id\}")
_REGION = re.compile(r"\$\{data\.aws_region\.[^.}]+\.(name|region)\}")


class MissingSynthesis(Exception):
    """The synthesized JSON of the environment is not there or not readable."""


@dataclass
class Stack:
    name: str
    data: dict
    partition: str = "aws"
    account: str = ""
    region: str = ""

    def resources(self, resource_type: str) -> dict[str, dict]:
        return self.data.get("resource", {}).get(resource_type, {})

    def substitute(self, text: str) -> str:
        """Partition, account and region filled in; resource references resolved."""
        text = _PARTITION.sub(self.partition, text)
        text = _ACCOUNT.sub(self.account, text)
        text = _REGION.sub(self.region, text)
        return REFERENCE.sub(lambda m: self._literal(m.group(1)) or m.group(0), text)

    def resolve(self, value):
        """``value`` with every string substituted (lists and maps too)."""
        if isinstance(value, str):
            return self.substitute(value)
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def _literal(self, reference: str) -> str | None:
        parts = reference.split(".")
        if len(parts) != 3:
            return None
        rtype, rid, attr = parts
        res = self.resources(rtype).get(rid)
        if res is None:
            return None
        if rtype == "aws_iam_role" and attr == "arn" and isinstance(res.get("name"), str):
            path = res.get("path", "/")
            return f"arn:{self.partition}:iam::{self.account}:role{path}{res['name']}"
        if attr in res and isinstance(res[attr], str | int | float):
            return self.substitute(str(res[attr]))
        if attr in ("id", "name") and isinstance(res.get("name"), str):
            return self.substitute(res["name"])
        return None

    def referenced(self, reference: str) -> dict | None:
        """The resource ``${type.id.attr}`` points at, or None."""
        m = REFERENCE.fullmatch(reference or "")
        if not m:
            return None
        parts = m.group(1).split(".")
        return self.resources(parts[0]).get(parts[1]) if len(parts) == 3 else None


@dataclass
class Synthesized:
    """The synthesized stacks of one environment (and the baseline of its account)."""

    env: EnvironmentConfig
    outdir: Path
    stacks: dict[str, Stack] = field(default_factory=dict)

    def stack(self, part: str) -> Stack | None:
        return self.stacks.get(f"{self.env.prefix}-{part}")

    def bind(self, partition: str, account: str, region: str) -> None:
        for s in self.stacks.values():
            s.partition, s.account, s.region = partition, account, region


STACK_PARTS = ("bootstrap", "security", "network", "data", "services")


def load(env: EnvironmentConfig, outdir: Path, baseline_stack: str | None) -> Synthesized:
    """The stacks of ``env`` from ``outdir``; ``baseline_stack`` names the
    baseline stack of its account (its own or another environment's)."""
    found = Synthesized(env=env, outdir=outdir)
    names = [f"{env.prefix}-{part}" for part in STACK_PARTS]
    if baseline_stack:
        names.append(baseline_stack)
    for name in names:
        path = stack_path(outdir, name)
        try:
            found.stacks[name] = Stack(name=name, data=read_stack(outdir, name))
        except FileNotFoundError:
            if name.endswith("-bootstrap"):
                continue  # read only for its key policy
            raise MissingSynthesis(
                f"{path}: not found; synthesize first (make synth, or .venv/bin/python main.py) "
                "with the configuration that was applied"
            ) from None
        except (OSError, ValueError) as err:
            raise MissingSynthesis(f"{path}: not readable JSON ({err})") from None
    return found


def baseline_stack_name(
    env: EnvironmentConfig, defined: tuple[EnvironmentConfig, ...], outdir: Path
) -> str | None:
    """The synthesized baseline stack of ``env``'s account and region: its
    own, or the one another environment of the same account builds (D35)."""
    own = f"{env.prefix}-baseline"
    candidates = [own] + [
        f"{other.prefix}-baseline"
        for other in defined
        if other.name != env.name and other.account_scope == env.account_scope
    ]
    for name in candidates:
        if stack_path(outdir, name).exists():
            return name
    return None
