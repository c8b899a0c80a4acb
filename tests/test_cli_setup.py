"""How the CDKTF CLI is set up and wrapped, without running the CLI (fast).

The CLI itself runs in tests/test_cli_workflow.py (slow, run by make test).
Here: cdktf.json's app launcher (tools/dev/cdktf_app.sh), the make wrappers'
messages, the pinned packages, and the stand-in terraform's own rules.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli_project import (
    ROOT,
    STANDIN,
    cli_environment,
    cli_installed,
    make_project,
    readme_commands,
    run_launcher,
)
from tests.helpers import one_line


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return make_project(tmp_path_factory.mktemp("cli-setup"))


def test_cdktf_json_runs_the_projects_own_environment():
    config = json.loads((ROOT / "cdktf.json").read_text())
    assert config["app"] == "sh tools/dev/cdktf_app.sh"
    launcher = (ROOT / "tools" / "dev" / "cdktf_app.sh").read_text()
    assert 'python="$root/.venv/bin/python"' in launcher
    assert 'exec "$python" "$root/main.py"' in launcher
    assert "pipenv" not in config["app"]


def test_package_json_pins_the_cli_for_what_needs_it_only():
    package = json.loads((ROOT / "package.json").read_text())
    assert package["devDependencies"] == {"cdktf-cli": "0.21.0"}
    assert package["dependencies"] == {"node": "22.23.3"}
    # Its install script belongs to node-pty, which ships prebuilt binaries.
    assert package["allowScripts"]["@cdktf/node-pty-prebuilt-multiarch"] is False
    assert package["allowScripts"]["node"] is True
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    assert lock["node_modules/cdktf-cli"]["version"] == "0.21.0"
    assert lock["node_modules/cdktf-cli"].get("dev") is True
    assert not lock["node_modules/node"].get("dev")
    makefile = (ROOT / "Makefile").read_text()
    assert "npm ci --no-audit --no-fund --omit=dev" in makefile.replace(
        "$(NPM_CI)", "npm ci --no-audit --no-fund"
    )


def test_launcher_without_setup_names_the_command_in_one_line(tmp_path):
    bare = tmp_path / "bare"
    (bare / "tools" / "dev").mkdir(parents=True)
    for name in ("tools/dev/cdktf_app.sh", "cdktf.json", "main.py"):
        (bare / name).write_text((ROOT / name).read_text())
    result = run_launcher(bare, cli_environment(bare))
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        f"payment-platform: set-up has not run in {bare}; run 'make setup' there, then repeat this command"
    )
    assert "Traceback" not in result.stderr + result.stdout


def test_launcher_refuses_a_lock_file_newer_than_the_setup(tmp_path):
    project = make_project(tmp_path / "stale")
    later = time.time() + 60
    os.utime(project / "Pipfile.lock", (later, later))
    result = run_launcher(project, cli_environment(project))
    assert result.returncode == 2
    assert "Pipfile.lock or package-lock.json changed since set-up; run 'make setup'" in one_line(
        result.stderr
    )


def test_launcher_notes_a_missing_terraform_then_runs_main(project):
    env = cli_environment(
        project, TERRAFORM_BINARY_NAME="terraform-that-is-not-installed", PAYMENT_ENVIRONMENTS=""
    )
    from stacks.base import REQUIRED_TERRAFORM_VERSION

    result = run_launcher(project, env)
    note = one_line(result.stdout)
    # The binary looked for, that synth goes on, what needs Terraform, the fix.
    assert note.startswith("payment-platform: terraform not found ")
    assert "'terraform-that-is-not-installed' is not on PATH" in note
    assert "synth works without it" in note
    assert f"diff and deploy need Terraform {REQUIRED_TERRAFORM_VERSION}" in note
    assert "set TERRAFORM_BINARY_NAME" in note
    # main.py ran (with .venv's Python) and refused the empty selection.
    assert result.returncode == 2
    assert one_line(result.stderr).startswith("PAYMENT_ENVIRONMENTS: '' names no environment")


#: The copy shares the checkout's .venv and node_modules: make must never
#: (re)install into them from the copy, even when a lock file is newer.
NO_SETUP = (
    "-o",
    ".tools/.synced",
    "-o",
    ".venv/.synced",
    "-o",
    "node_modules/.synced",
    "-o",
    "node_modules/.cli-synced",
)


def make(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = cli_environment(project, **env)
    return subprocess.run(
        ["make", "--no-print-directory", *NO_SETUP, *args],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_readme_names_the_first_deployment_steps_and_the_daily_commands():
    commands = [command for _, command in readme_commands()]
    assert commands[:3] == [
        "npx cdktf deploy payment-dev-bootstrap",
        "npx cdktf deploy payment-dev-baseline",
        "npx cdktf deploy payment-dev-security payment-dev-network payment-dev-data payment-dev-services",
    ]
    assert [c.split()[2] for c in commands[3:]] == ["diff", "deploy"]


def test_make_wrappers_name_a_missing_terraform_before_the_cli_starts(project):
    result = make(
        project, "terraform-check", TERRAFORM_BINARY_NAME="terraform-that-is-not-installed"
    )
    from stacks.base import REQUIRED_TERRAFORM_VERSION

    assert result.returncode != 0
    line = one_line(result.stderr)
    # The binary looked for, what needs it and which version, the fix.
    assert line.startswith("terraform not found: ")
    assert "'terraform-that-is-not-installed' is not on PATH" in line
    assert f"diff and deploy run Terraform {REQUIRED_TERRAFORM_VERSION}" in line
    assert "set TERRAFORM_BINARY_NAME" in line


@pytest.mark.parametrize("ci", ["true", "1"])
def test_make_deploy_under_ci_without_auto_approve_stops_in_one_line(project, ci):
    """Under CI the CLI draws no approval prompt (see the next test), so an
    interactive deploy there would wait for ever; the wrappers say so first."""
    for target in ("bootstrap", "deploy"):
        result = make(project, target, "ENV=dev", CI=ci)
        assert result.returncode == 2
        line = one_line(result.stderr)
        # The variable and its value, what lacks, the target that would wait, the fixes.
        assert line.startswith(f"CI={ci} is set and CDKTF_ARGS has no --auto-approve")
        assert f"make {target} would wait" in line
        assert "Pass CDKTF_ARGS=--auto-approve" in line
        assert line.endswith("CI=false.")
        assert "npx cdktf" not in result.stdout
    for fine in ({"CI": "false"}, {"CI": ""}, {"CI": ci, "CDKTF_ARGS": "--auto-approve"}):
        result = make(project, "approval-check", "ENV=dev", **fine)
        assert result.returncode == 0, (fine, result.stderr)


def test_the_cli_draws_no_prompt_under_ci_unless_ci_is_false():
    """Why the check above and the workflow test's ``CI=false`` exist: the
    CLI's bundled ink (its terminal UI) decides once, at load, whether it
    runs under CI, and then writes only static output (the approval prompt
    is dynamic). ``CI=false`` is the one override it honours. A CLI release
    that changes this fails here, and the check can be revisited.

    It reads the installed CLI: a direct pytest run needs ``make cli`` first
    (README, "Running the project's tools"; ``make test`` installs it)."""
    if not cli_installed():
        pytest.fail(
            "the CDKTF CLI is not installed (node_modules/cdktf-cli): run make cli, then repeat",
            pytrace=False,
        )
    bundle = (ROOT / "node_modules/cdktf-cli/bundle/bin/cmds/handlers.js").read_text()
    # (?<!\w): the same match, found in linear time (a bare (\w+) retries
    # every suffix of every identifier of the 3.7 MB bundle: ~10 s).
    gate = re.search(r"(?<!\w)(\w+)=process\.env\.CI===\"false\"\?!1:\w+\.default", bundle)
    assert gate, "ink's CI gate moved"
    assert re.search(rf"if\({gate.group(1)}\){{[^}}]*this\.lastOutput=\w+;return}}", bundle)
    assert cli_environment(ROOT)["CI"] == "false"


def test_make_wrappers_run_the_readme_commands(project):
    """Dry runs: the wrappers expand to the commands the workflow test runs."""
    readme = (ROOT / "README.md").read_text()
    expected = {
        ("bootstrap", "ENV=dev"): "npx cdktf deploy payment-dev-bootstrap",
        ("deploy", "ENV=dev"): "npx cdktf deploy payment-dev-security payment-dev-network "
        "payment-dev-data payment-dev-services",
        ("diff", "STACK=payment-dev-services"): "npx cdktf diff payment-dev-services",
    }
    for args, command in expected.items():
        result = make(project, "-n", *args)
        assert result.returncode == 0, result.stderr
        assert command in [line.strip() for line in result.stdout.splitlines()], result.stdout
        assert command in readme
    missing = make(project, "deploy")
    assert missing.returncode != 0
    assert "name the environment, e.g. make deploy ENV=dev" in missing.stderr


def test_make_deploy_covers_every_stack_but_bootstrap_and_baseline():
    """Bootstrap and the account's baseline (which not every environment
    deploys) have commands of their own (README, "First deployment")."""
    from stacks.app import EnvironmentStacks

    parts = [
        name
        for name in EnvironmentStacks.__dataclass_fields__
        if name not in ("bootstrap", "security_baseline")
    ]
    makefile = (ROOT / "Makefile").read_text()
    assert f"$(foreach part,{' '.join(parts)},payment-$(ENV)-$(part))" in makefile


# --- the stand-in terraform ---------------------------------------------------


def standin(stack_dir: Path, state: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(STANDIN), *args],
        cwd=stack_dir,
        env={**os.environ, "STANDIN_TERRAFORM_DIR": str(state)},
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


def write_stack(
    path: Path, backend: dict, resources: dict | None = None, remote: dict | None = None
):
    path.mkdir(parents=True)
    config = {"terraform": {"backend": backend}, "resource": resources or {}}
    if remote:
        config["data"] = {"terraform_remote_state": remote}
    (path / "cdk.tf.json").write_text(json.dumps(config))
    return path


def test_standin_models_the_bootstrap_and_remote_state_order(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    s3 = {"bucket": "tfstate-dev", "key": "dev/security.tfstate"}
    security = write_stack(tmp_path / "security", {"s3": s3})
    network = write_stack(
        tmp_path / "network",
        {"s3": {**s3, "key": "dev/network.tfstate"}},
        remote={"security": {"backend": "s3", "config": s3}},
    )
    bootstrap = write_stack(
        tmp_path / "bootstrap",
        {"local": {"path": "x.tfstate"}},
        {"aws_s3_bucket": {"state": {"bucket": "tfstate-dev"}}},
    )
    refused = standin(security, state, "init")
    assert refused.returncode == 1 and 'S3 bucket "tfstate-dev" does not exist' in refused.stderr
    for args in (["init"], ["apply", "-auto-approve"], ["output", "-json"]):
        assert standin(bootstrap, state, *args).returncode == 0
    for stack in (security, network):
        assert standin(stack, state, "init").returncode == 0
    early = standin(network, state, "apply", "-auto-approve")
    assert early.returncode == 1 and "Unable to find remote state: security" in early.stderr
    assert standin(security, state, "apply", "-auto-approve").returncode == 0
    assert standin(network, state, "plan", "-input=false", "-out", "plan").returncode == 0
    unexpected = standin(network, state, "import", "x", "y")
    assert unexpected.returncode == 1 and "unexpected call" in unexpected.stderr
    calls = [json.loads(line) for line in (state / "calls.jsonl").read_text().splitlines()]
    assert [c["outcome"] == "ok" for c in calls].count(False) == 3


def test_standin_records_concurrent_calls_whole(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    env = {**os.environ, "STANDIN_TERRAFORM_DIR": str(state)}
    processes = [
        subprocess.Popen(
            [sys.executable, str(STANDIN), "version", "-json"], env=env, stdout=subprocess.DEVNULL
        )
        for _ in range(12)
    ]
    assert all(p.wait(timeout=30) == 0 for p in processes)
    lines = (state / "calls.jsonl").read_text().splitlines()
    assert len(lines) == 12
    assert all(json.loads(line)["args"] == ["version", "-json"] for line in lines)
