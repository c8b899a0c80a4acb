"""The README's deploy and diff commands, run exactly as written with the real
CDKTF CLI (``cdktf-cli@0.21.0`` from package.json) and a stand-in terraform.

Each ``npx cdktf`` command of the README's "First deployment" and "Daily
work" sections runs in order, in a terminal, in a copy of the project (see
tests/cli_project.py); the CLI's approval prompts are answered as a user
would. The stand-in (tests/standin_terraform.py) fails the ``init`` of an
S3-backed stack until its environment's bootstrap is applied, and a plan or
apply until the stacks whose state it reads are applied, so a wrong order
fails here as it would on AWS.

Slow (~30-40 s: the CLI takes ~5 s to start and synthesizes every environment
for each command), so the plain ``pytest`` run skips it; ``make test`` runs
it (``PAYMENT_CLI_TESTS=1 pytest tests/test_cli_workflow.py``).
"""

from __future__ import annotations

import os
import shlex
from collections import defaultdict
from pathlib import Path

import pytest

from tests.cli_project import (
    CliRun,
    cli_environment,
    cli_installed,
    make_project,
    manifest,
    readme_commands,
    run_in_terminal,
)

pytestmark = pytest.mark.skipif(
    os.environ.get("PAYMENT_CLI_TESTS") != "1",
    reason="slow (~30-40 s, runs the real CDKTF CLI): make test runs it "
    "(PAYMENT_CLI_TESTS=1 .venv/bin/python -m pytest tests/test_cli_workflow.py)",
)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    assert cli_installed(), "the CDKTF CLI is not installed: run make cli"
    return make_project(tmp_path_factory.mktemp("cli-project"))


@pytest.fixture(scope="module")
def workflow(project) -> tuple[list[CliRun], dict[str, dict]]:
    """Runs every README command once, in order; returns the runs and the
    manifest the last one left."""
    env = cli_environment(project)
    runs = []
    for _, command in readme_commands():
        run = run_in_terminal(command, project, env)
        runs.append(run)
        assert run.returncode == 0, f"{command!r} failed:\n{run.output[-4000:]}"
    return runs, manifest(project)


def stack_args(command: str) -> list[str]:
    return [a for a in shlex.split(command)[3:] if not a.startswith("-")]


def test_every_readme_command_runs_without_a_usage_error(workflow):
    runs, _ = workflow
    for run in runs:
        assert "Usage Error" not in run.output, run.command
        assert "Found more than one stack" not in run.output, run.command
        failed = [c for c in run.calls if c.outcome != "ok"]
        assert failed == [], (run.command, failed)


def test_bootstrap_is_applied_before_any_other_stack_is_initialized(workflow):
    runs, _ = workflow
    calls = [call for run in runs for call in run.calls if call.stack]
    first_apply = next(i for i, c in enumerate(calls) if c.verb == "apply")
    assert calls[first_apply].stack == "payment-dev-bootstrap"
    assert all(c.stack == "payment-dev-bootstrap" for c in calls[:first_apply])


def test_each_deploy_inits_every_stack_then_applies_in_dependency_order(workflow):
    runs, stacks = workflow
    applied_before: set[str] = set()
    for run in runs:
        if shlex.split(run.command)[2] != "deploy":
            continue
        selected = stack_args(run.command)
        per_stack = defaultdict(list)
        for call in run.calls:
            if call.stack:
                per_stack[call.stack].append(call.verb)
        assert sorted(per_stack) == sorted(selected), run.command
        for stack in selected:
            # No lock file is written by the stand-in, so the CLI locks after init.
            assert per_stack[stack] == ["init", "providers lock", "apply", "output"], (
                stack,
                per_stack[stack],
            )
        # The CLI runs every init before the first apply.
        verbs = [c.verb for c in run.calls if c.stack]
        assert max(i for i, v in enumerate(verbs) if v == "init") < verbs.index("apply")
        # Applies follow the manifest's dependencies.
        for call in (c for c in run.calls if c.verb == "apply"):
            dependencies = set(stacks[call.stack]["dependencies"])
            assert dependencies <= applied_before, (call.stack, dependencies - applied_before)
            applied_before.add(call.stack)
        # Init runs in a pseudo-terminal; every stack's plan was approved at the prompt.
        assert all(c.tty for c in run.calls if c.verb == "init")
        assert sorted(run.approved) == sorted(selected), run.command


def test_diff_plans_exactly_the_named_stack(workflow):
    runs, _ = workflow
    diffs = [run for run in runs if shlex.split(run.command)[2] == "diff"]
    assert diffs
    for run in diffs:
        (stack,) = stack_args(run.command)
        assert [(c.stack, c.verb) for c in run.calls if c.stack] == [
            (stack, "init"),
            (stack, "providers lock"),
            (stack, "plan"),
        ]
        plan = next(c for c in run.calls if c.verb == "plan")
        assert plan.args == ["plan", "-input=false", "-out", "plan"]


def test_terraform_is_asked_for_its_version_from_the_project_root(workflow):
    runs, _ = workflow
    root_calls = {tuple(c.args) for run in runs for c in run.calls if c.stack is None}
    assert ("version", "-json") in root_calls


def test_the_output_holds_exactly_the_synthesized_stacks(workflow):
    runs, stacks = workflow
    # Five per environment, plus each environment's account baseline (D35).
    assert len(stacks) == 18
    assert {s["name"] for s in stacks.values()} == set(stacks)


def test_a_narrower_synthesis_leaves_the_unselected_folders_to_the_cli(workflow, project):
    """The CLI lists the stack folders before running the app and removes the
    ones the new manifest does not name; it crashed (``ENOENT ... lstat``)
    when the app had removed them already. The selected stacks keep what
    ``terraform init`` wrote."""
    run = run_in_terminal(
        "npx cdktf synth", project, cli_environment(project, PAYMENT_ENVIRONMENTS="dev")
    )
    assert run.returncode == 0, run.output[-3000:]
    assert "ENOENT" not in run.output
    folders = sorted(p.name for p in (project / "cdktf.out" / "stacks").iterdir())
    assert (
        folders
        == sorted(manifest(project))
        == [
            "payment-dev-baseline",
            "payment-dev-bootstrap",
            "payment-dev-data",
            "payment-dev-network",
            "payment-dev-security",
            "payment-dev-services",
        ]
    )
    assert all(
        (project / "cdktf.out" / "stacks" / name / ".terraform").is_dir() for name in folders
    )
