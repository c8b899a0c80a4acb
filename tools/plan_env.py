#!/usr/bin/env python
"""Plans every stack of one environment and saves each plan as JSON.

``make plan ENV=<env>`` runs this after synthesizing. From
``cdktf.out/manifest.json`` it takes the environment's stacks (those whose
AWS provider carries the default tag ``environment = <env>``), orders them
by their dependencies (upstream first, as ``cdktf deploy`` applies them) and
runs, in each stack's folder::

    terraform init -input=false
    terraform plan -input=false -lock-timeout=5m -out=<plans>/<env>/<stack>.tfplan
    terraform show -json <plans>/<env>/<stack>.tfplan  > <plans>/<env>/<stack>.json

The plans directory (default ``plans/``, git-ignored) is outside cdktf.out,
which every synthesis rewrites; the environment's old plans are removed
first, so the directory holds this run's plans only. ``tools/plan_review.py
plans/<env>/*.json`` reviews them.

Before anything runs it checks, each failure in one line (exit code 2):
terraform on ``PATH`` (or ``TERRAFORM_BINARY_NAME``), its version against
every stack's ``required_version``, and that AWS credentials are present
(boto3's credential chain, read locally; whether they are valid is
Terraform's first call to say). ``--check`` runs only the terraform and
credential checks (before a synthesis). A stack with local state (the
bootstrap) is planned only where its state file is, since planning it
anywhere else would propose to create the state bucket again.

A stack that fails to plan does not stop the others (each plans against
what is deployed); the run then ends with exit code 1 naming them.
``--order`` prints the environment's stacks with remote state in dependency
order, one per line, and exits (the deploy workflow applies them so).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OK, PLAN_FAILED, REFUSED = 0, 1, 2
INSTALL = "https://developer.hashicorp.com/terraform/install"


class Refused(Exception):
    """A precondition is missing: exit code 2, one line."""


@dataclass(frozen=True)
class Stack:
    name: str
    directory: Path
    dependencies: tuple[str, ...]
    config: dict

    @property
    def local_state(self) -> Path | None:
        """The state file of a stack with a local backend, else None."""
        local = (self.config.get("terraform", {}).get("backend") or {}).get("local")
        if local is None:
            return None
        return (self.directory / local.get("path", "terraform.tfstate")).resolve()

    @property
    def required_version(self) -> str | None:
        return self.config.get("terraform", {}).get("required_version")


def environment_of(config: dict) -> str | None:
    for provider in config.get("provider", {}).get("aws", []):
        for block in provider.get("default_tags") or []:
            env = (block.get("tags") or {}).get("environment")
            if env:
                return str(env)
    return None


def read_stacks(outdir: Path, env: str) -> list[Stack]:
    """The environment's stacks from the manifest, upstream first."""
    manifest_path = outdir / "manifest.json"
    if not manifest_path.exists():
        raise Refused(f"{manifest_path} not found: synthesize first (make synth)")
    manifest = json.loads(manifest_path.read_text())["stacks"]
    stacks: dict[str, Stack] = {}
    seen_envs = set()
    for name, entry in manifest.items():
        config = json.loads((outdir / entry["synthesizedStackPath"]).read_text())
        stack_env = environment_of(config)
        seen_envs.add(stack_env or "?")
        if stack_env == env:
            stacks[name] = Stack(
                name=name,
                directory=(outdir / entry["workingDirectory"]).resolve(),
                dependencies=tuple(entry.get("dependencies") or ()),
                config=config,
            )
    if not stacks:
        raise Refused(
            f"environment {env!r} has no stacks in {manifest_path}; synthesized: "
            f"{', '.join(sorted(seen_envs)) or 'none'}"
        )
    ordered: list[Stack] = []
    placed: set[str] = set()
    while len(ordered) < len(stacks):
        ready = [
            s
            for s in stacks.values()
            if s.name not in placed and all(d in placed or d not in stacks for d in s.dependencies)
        ]
        if not ready:
            raise Refused(f"{manifest_path}: the stacks' dependencies form a cycle")
        for stack in ready:  # manifest order among stacks ready together
            ordered.append(stack)
            placed.add(stack.name)
    return ordered


def _version(text: str) -> tuple[int, ...]:
    numbers = re.match(r"v?(\d+(?:\.\d+)*)", text.strip())
    if not numbers:
        raise ValueError(text)
    return tuple(int(n) for n in numbers.group(1).split("."))


def satisfies(version: str, constraint: str) -> bool:
    """Terraform's version constraint syntax: ``>= 1.11, < 2``, ``~> 1.11``."""
    have = _version(version)
    for part in constraint.split(","):
        match = re.match(r"\s*(>=|<=|!=|~>|>|<|=)?\s*(\S+)\s*$", part)
        if not match:
            raise ValueError(constraint)
        operator, wanted = match.group(1) or "=", match.group(2)
        want = _version(wanted)
        width = max(len(have), len(want))
        a = have + (0,) * (width - len(have))
        b = want + (0,) * (width - len(want))
        ok = {
            ">=": a >= b,
            "<=": a <= b,
            ">": a > b,
            "<": a < b,
            "=": a == b,
            "!=": a != b,
            # ~> 1.11 allows 1.x >= 1.11; ~> 1.11.2 allows 1.11.x >= 1.11.2.
            "~>": a >= b and have[: len(want) - 1] == want[: len(want) - 1],
        }[operator]
        if not ok:
            return False
    return True


def terraform_binary() -> str:
    name = os.environ.get("TERRAFORM_BINARY_NAME") or "terraform"
    found = shutil.which(name)
    if not found:
        raise Refused(
            f"terraform not found: '{name}' is not on PATH. make plan runs Terraform: install it "
            f"({INSTALL}) or set TERRAFORM_BINARY_NAME to its path"
        )
    return found


def terraform_version(binary: str) -> str:
    result = subprocess.run(
        [binary, "version", "-json"], capture_output=True, text=True, timeout=60, check=False
    )
    try:
        return str(json.loads(result.stdout)["terraform_version"])
    except (ValueError, KeyError, TypeError):
        raise Refused(
            f"'{binary} version -json' did not report a version (exit {result.returncode})"
        ) from None


def check_version(binary: str, stacks: list[Stack]) -> None:
    version = terraform_version(binary)
    for stack in stacks:
        constraint = stack.required_version
        if constraint and not satisfies(version, constraint):
            raise Refused(
                f"terraform {version} does not satisfy required_version {constraint!r} "
                f"({stack.name}): install a newer Terraform ({INSTALL}) or set TERRAFORM_BINARY_NAME"
            )


def check_credentials() -> None:
    """AWS credentials are present (not proven valid: that needs a call)."""
    import botocore.exceptions
    import botocore.session

    try:
        credentials = botocore.session.Session().get_credentials()
    except botocore.exceptions.BotoCoreError as error:
        raise Refused(f"AWS credentials: {error}") from None
    if credentials is None:
        raise Refused(
            "no AWS credentials found (environment, AWS_PROFILE, shared files, SSO, container or "
            "instance role): sign in for the environment's account (e.g. aws sso login; in CI the "
            "OIDC plan role) and repeat"
        )


def run(binary: str, args: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    print(f"$ terraform {' '.join(args)}   ({cwd.name})", flush=True)
    return subprocess.run([binary, *args], cwd=cwd, check=False, **kwargs)


def plan_stack(binary: str, stack: Stack, plans: Path) -> str | None:
    """Plans one stack; the reason it failed, or None."""
    plan_file = plans / f"{stack.name}.tfplan"
    if run(binary, ["init", "-input=false"], stack.directory).returncode:
        return "terraform init failed"
    planned = run(
        binary,
        ["plan", "-input=false", "-lock-timeout=5m", f"-out={plan_file}"],
        stack.directory,
    )
    if planned.returncode:
        return "terraform plan failed"
    shown = run(
        binary, ["show", "-json", str(plan_file)], stack.directory, capture_output=True, text=True
    )
    if shown.returncode:
        sys.stderr.write(shown.stderr)
        return "terraform show -json failed"
    (plans / f"{stack.name}.json").write_text(shown.stdout)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True)
    parser.add_argument("--outdir", type=Path, default=ROOT / "cdktf.out")
    parser.add_argument("--plans-dir", type=Path, default=ROOT / "plans")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="only check terraform and credentials")
    mode.add_argument("--order", action="store_true", help="print the remote-state stacks in order")
    args = parser.parse_args(argv)
    try:
        if args.order:
            for stack in read_stacks(args.outdir, args.env):
                if stack.local_state is None:
                    print(stack.name)
            return OK
        binary = terraform_binary()
        if args.check:
            check_credentials()
            return OK
        stacks = read_stacks(args.outdir, args.env)
        check_version(binary, stacks)
        check_credentials()
    except Refused as error:
        print(f"make plan: {error}", file=sys.stderr)
        return REFUSED
    plans = (args.plans_dir / args.env).resolve()
    plans.mkdir(parents=True, exist_ok=True)
    for old in [*plans.glob("*.json"), *plans.glob("*.tfplan")]:
        old.unlink()
    failed = []
    for stack in stacks:
        state = stack.local_state
        if state is not None and not state.exists():
            print(
                f"skipped {stack.name}: its local state {state} is not on this machine; plan it "
                "where it was applied"
            )
            continue
        reason = plan_stack(binary, stack, plans)
        if reason:
            failed.append(f"{stack.name} ({reason})")
        else:
            print(f"{stack.name}: plan saved to {plans / stack.name}.json", flush=True)
    if failed:
        print(
            f"make plan: {len(failed)} stack(s) of {args.env} failed to plan: {', '.join(failed)}",
            file=sys.stderr,
        )
        return PLAN_FAILED
    print(f"review: python tools/plan_review.py {plans}/*.json")
    return OK


if __name__ == "__main__":
    sys.exit(main())
