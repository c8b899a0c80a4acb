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
first, so the directory holds this run's plans only. ``tools/review/plan_review.py
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
``--order`` prints the stacks the deploy workflow applies, in dependency
order, one per line, and exits: those with remote state that the deploy
role applies (``config.naming.PIPELINE_APPLIED_PARTS``); the bootstrap and
baseline stacks are a person's (docs/decisions.md D42, D49).

``--check-workflows`` (``make checks``) checks that the GitHub workflows name
exactly the configured environments (``PAYMENT_CONFIG``, default
config/environments.py): ``deploy.yml`` deploys each one after the one before,
in configuration order with the production tier last, with its deploy role;
``pull-request.yml`` plans each one with its plan role, the production
tier in job ``plan-production`` and its GitHub environment ``<env>-plan``
(``config.naming.plan_environment``), the others in job ``plan`` without
one; ``release.yml`` offers
each environment and service. They are shipped for the example's dev,
staging and prod: a configuration that renames or adds environments must
edit them (docs/ci.md). Exit code 1 and one line naming each file and
environment that differ.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config.model import EnvironmentConfig

ROOT = Path(__file__).resolve().parents[2]

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


def read_stacks(outdir: Path, env: str) -> list[Stack]:
    """The environment's stacks from the manifest, upstream first."""
    # Imported here: --check runs with only config/ and tools/ (make plan-check).
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from guardrails.cdktf_out import environment_of, manifest_path, manifest_stacks

    manifest_file = manifest_path(outdir)
    if not manifest_file.exists():
        raise Refused(f"{manifest_file} not found: synthesize first (make synth)")
    manifest = manifest_stacks(outdir)
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
            f"environment {env!r} has no stacks in {manifest_file}; synthesized: "
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
            raise Refused(f"{manifest_file}: the stacks' dependencies form a cycle")
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


WORKFLOWS = ROOT / ".github" / "workflows"
#: pull-request.yml's job that plans the production tier, in the GitHub
#: environment its matrix names (config.naming.plan_environment).
PRODUCTION_PLAN_JOB = "plan-production"
PRODUCTION_PLAN_ENVIRONMENT = "${{ matrix.github_environment }}"


def _account_variable(env_name: str) -> str:
    """The repository variable holding an environment's account id (docs/ci.md)."""
    return f"${{{{ vars.AWS_ACCOUNT_ID_{env_name.upper()} }}}}"


def _names(names: Iterable[str]) -> str:
    return ", ".join(names) or "none"


def workflow_problems(
    environments: Sequence[EnvironmentConfig], workflows: Path | None = None
) -> list[str]:
    """Where the workflows in ``workflows`` do not deploy, plan and offer
    exactly ``environments`` (configured order, EnvironmentConfig), one
    phrase each, naming the file and the environment."""
    import yaml  # in .venv (make setup); only this check reads YAML

    from config.naming import plan_environment

    def load(name: str) -> tuple[str, dict]:
        path = (workflows or WORKFLOWS) / name
        shown = _display(path)
        try:
            return shown, yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise Refused(f"{shown}: cannot read it ({str(error).splitlines()[0]})") from None

    by_name = {env.name: env for env in environments}
    configured = list(by_name)
    # Promotion order: configuration order, the production tier last.
    expected = [n for n in configured if not by_name[n].is_production] + [
        n for n in configured if by_name[n].is_production
    ]
    problems = []

    shown, deploy = load("deploy.yml")
    jobs = list((deploy.get("jobs") or {}).items())
    deployed = [str((job.get("with") or {}).get("environment")) for _, job in jobs]
    if deployed != expected:
        problems.append(
            f"{shown} deploys {_names(deployed)}; configured: {_names(expected)} "
            "(in this order, the production tier last)"
        )
    previous = None
    for job_id, job in jobs:
        inputs = job.get("with") or {}
        env = by_name.get(str(inputs.get("environment")))
        if env is not None:
            if inputs.get("deploy_role") != env.deploy_role:
                problems.append(
                    f"{shown} job {job_id} deploys {env.name} as {inputs.get('deploy_role')}, "
                    f"its deploy role is {env.deploy_role}"
                )
            if inputs.get("account_id") != _account_variable(env.name):
                problems.append(
                    f"{shown} job {job_id} takes {env.name}'s account from "
                    f"{inputs.get('account_id')}, not {_account_variable(env.name)}"
                )
        if job.get("needs") != previous:
            wanted = f"needs: {previous}" if previous else "no needs"
            problems.append(f"{shown} job {job_id} must wait for the job before it ({wanted})")
        previous = job_id

    shown, pull_request = load("pull-request.yml")
    pr_jobs = pull_request.get("jobs") or {}
    plan, production = pr_jobs.get("plan") or {}, pr_jobs.get(PRODUCTION_PLAN_JOB) or {}

    def include(job: dict) -> list[dict]:
        return ((job.get("strategy") or {}).get("matrix") or {}).get("include") or []

    matrix = include(plan) + include(production)
    planned = [str(entry.get("environment")) for entry in matrix]
    if sorted(planned) != sorted(configured):
        problems.append(f"{shown} plans {_names(planned)}; configured: {_names(configured)}")
    for job_id, job in (("plan", plan), (PRODUCTION_PLAN_JOB, production)):
        for entry in include(job):
            env = by_name.get(str(entry.get("environment")))
            if env is None:
                continue
            wanted_job = PRODUCTION_PLAN_JOB if env.is_production else "plan"
            if job_id != wanted_job:
                problems.append(f"{shown} plans {env.name} in job {job_id}, not {wanted_job}")
            if entry.get("github_environment") != plan_environment(env):
                problems.append(
                    f"{shown} plans {env.name} in GitHub environment "
                    f"{entry.get('github_environment')}, not {plan_environment(env)}"
                )
            if entry.get("plan_role") != env.plan_role:
                problems.append(
                    f"{shown} plans {env.name} as {entry.get('plan_role')}, "
                    f"its plan role is {env.plan_role}"
                )
            if entry.get("account_id") != _account_variable(env.name):
                problems.append(
                    f"{shown} takes {env.name}'s account from {entry.get('account_id')}, "
                    f"not {_account_variable(env.name)}"
                )
    # Without an environment a job's subject is the pull request's; with one,
    # the environment's, which the production tier's plan role alone trusts.
    if "environment" in plan:
        problems.append(f"{shown} job plan must run in no GitHub environment")
    if production and production.get("environment") != PRODUCTION_PLAN_ENVIRONMENT:
        problems.append(
            f"{shown} job {PRODUCTION_PLAN_JOB} must run in environment: "
            f"{PRODUCTION_PLAN_ENVIRONMENT}"
        )
    # GitHub cannot make a job's environment optional, so the two jobs
    # spell the same steps; they must not drift apart.
    if production and production.get("steps") != plan.get("steps"):
        problems.append(f"{shown} job {PRODUCTION_PLAN_JOB} must run the steps of job plan")

    shown, release = load("release.yml")
    on = release.get("on", release.get(True)) or {}  # YAML 1.1 reads a bare on as true
    inputs = (on.get("workflow_dispatch") or {}).get("inputs") or {}
    offered = [str(o) for o in (inputs.get("environment") or {}).get("options") or []]
    if sorted(offered) != sorted(configured):
        problems.append(
            f"{shown} offers environments {_names(offered)}; configured: {_names(configured)}"
        )
    services = sorted({svc.name for env in environments for svc in env.services})
    offered = sorted(str(o) for o in (inputs.get("service") or {}).get("options") or [])
    if offered != services:
        problems.append(
            f"{shown} offers services {_names(offered)}; configured: {_names(services)} "
            f"(set on.workflow_dispatch.inputs.service.options to [{_names(services)}])"
        )
    steps = ((release.get("jobs") or {}).get("release") or {}).get("steps") or []
    role: dict = next((step for step in steps if step.get("id") == "role"), {})
    script, variables = str(role.get("run", "")), role.get("env") or {}
    unmapped = [
        name
        for name in configured
        if f"ACCOUNT_{name.upper()}" not in variables
        or not re.search(rf"^\s*{re.escape(name)}\)", script, re.MULTILINE)
    ]
    if unmapped:
        problems.append(f"{shown} step role has no account for {_names(unmapped)}")
    return problems


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _check_workflows_command() -> int:
    """``--check-workflows``: 0 and a line when they match, 1 and one line
    naming what differs, 2 when configuration or a workflow cannot be read."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from config import ConfigError, load_environments

    try:
        environments = load_environments()
        problems = workflow_problems(environments)
    except ConfigError as error:
        print(f"workflows: {'; '.join(error.problems)}", file=sys.stderr)
        return REFUSED
    except Refused as error:
        print(f"workflows: {error}", file=sys.stderr)
        return REFUSED
    if problems:
        print(
            f"workflows: {'; '.join(problems)}: edit them to match the configuration (docs/ci.md)",
            file=sys.stderr,
        )
        return PLAN_FAILED
    names = ", ".join(env.name for env in environments)
    print(f"workflows: {_display(WORKFLOWS)} deploy, plan and release {names}")
    return OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", help="the environment (required but with --check-workflows)")
    parser.add_argument("--outdir", type=Path, default=ROOT / "cdktf.out")
    parser.add_argument("--plans-dir", type=Path, default=ROOT / "plans")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="only check terraform and credentials")
    mode.add_argument("--order", action="store_true", help="print the remote-state stacks in order")
    mode.add_argument(
        "--check-workflows",
        action="store_true",
        help="only check that .github/workflows name the configured environments (make checks)",
    )
    args = parser.parse_args(argv)
    if args.check_workflows:
        return _check_workflows_command()
    if args.env is None:
        parser.error("the following arguments are required: --env")
    try:
        if args.order:
            if str(ROOT) not in sys.path:
                sys.path.insert(0, str(ROOT))
            from config.naming import PIPELINE_APPLIED_PARTS, stack_part

            for stack in read_stacks(args.outdir, args.env):
                if stack.local_state is None and stack_part(stack.name) in PIPELINE_APPLIED_PARTS:
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
    print(f"review: .venv/bin/python tools/review/plan_review.py {plans}/*.json")
    return OK


if __name__ == "__main__":
    sys.exit(main())
