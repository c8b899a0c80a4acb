"""``make plan ENV=<env>`` (tools/review/plan_env.py) with the stand-in terraform.

The stand-in (tests/standin_terraform.py) refuses to init an S3-backed stack
until the state bucket exists and to plan a stack until the stacks whose
remote state it reads are applied, and answers ``show -json`` with a plan in
Terraform's JSON format made from the stack's cdk.tf.json. Nothing needs AWS.

Fast (default): the one-line refusals, in a scratch project holding the
session's synthesized stacks, and the ordering. Slow (``make test`` runs
them, ``PAYMENT_CLI_TESTS=1``, like tests/test_cli_workflow.py): ``make
plan ENV=dev`` as users run it, synthesis included, in a copy of the
project (tests/cli_project.py), once before and once after the
environment is applied.

Both need particular names (dev, prod, their stacks): the in-process tests
read the example's synthesis, and make runs the example's configuration
(``PAYMENT_CONFIG`` naming tests/fixtures/example.py), whatever
config/environments.py holds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_project import cli_environment, install_standin, make_project
from tests.helpers import one_line
from tools.review import plan_env, plan_review

ROOT = Path(__file__).resolve().parent.parent
#: The example's configuration, as a file: the scratch projects have no tests/.
EXAMPLE_CONFIG = str(ROOT / "tests" / "fixtures" / "example.py")
#: Credentials for the check only: nothing here calls AWS.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "example"}


slow = pytest.mark.skipif(
    os.environ.get("PAYMENT_CLI_TESTS") != "1",
    reason="slow (synthesizes in a copy of the project, ~15 s): make test runs it "
    "(PAYMENT_CLI_TESTS=1 .venv/bin/python -m pytest tests/test_plan_env.py)",
)


@pytest.fixture
def project(tmp_path) -> Path:
    """Makefile, tools/review/plan_env.py, what make's env-check reads (config/,
    tools/checks/check_env.py), the stand-in terraform and the checkout's .venv;
    the tests add what else they need."""
    for tool in ("review/plan_env.py", "checks/check_env.py"):
        (tmp_path / "tools" / tool).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "tools" / tool, tmp_path / "tools" / tool)
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copy2(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    install_standin(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def full_project(tmp_path_factory) -> Path:
    """A copy of the project (sources, Makefile) sharing .venv, node_modules
    and the project-local tools, with the stand-in terraform."""
    return make_project(tmp_path_factory.mktemp("plan-project"))


def environment(project: Path, credentials: bool = True, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in cli_environment(project, **extra).items()
        if not key.startswith("AWS_")
    }
    env.update(
        {
            # No credentials from this machine: no files, profile or instance role.
            "AWS_CONFIG_FILE": str(project / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(project / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    if credentials:
        env.update(FAKE_CREDENTIALS)
    return env


def make_plan(project: Path, *args: str, **env) -> subprocess.CompletedProcess:
    """make plan of the example's configuration, never (re)installing into
    the shared environments."""
    return subprocess.run(
        ["make", "--no-print-directory", "-o", "setup", "plan", *args],
        cwd=project,
        env=environment(project, PAYMENT_CONFIG=EXAMPLE_CONFIG, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def calls(project: Path) -> list[tuple[str, str]]:
    """(stack, verb) of every stand-in call from a stack folder, in order."""
    log = project / "standin" / "state" / "calls.jsonl"
    found = []
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        if "/stacks/" in entry["cwd"]:
            found.append((Path(entry["cwd"]).name, entry["args"][0]))
    return found


def bootstrap_elsewhere(project: Path, env: str) -> None:
    """The environment's state bucket exists (bootstrap applied on another machine)."""
    buckets = project / "standin" / "state" / "buckets"
    buckets.mkdir(exist_ok=True)
    (buckets / f"payment-platform-tfstate-{env}").touch()


def apply_all(project: Path, env: str) -> None:
    """What the stand-in counts as applied: every stack's state, the bootstrap's file."""
    bootstrap_elsewhere(project, env)
    applied = project / "standin" / "state" / "applied"
    applied.mkdir(exist_ok=True)
    for path in (project / "cdktf.out" / "stacks").glob(f"payment-{env}-*/cdk.tf.json"):
        backend = json.loads(path.read_text())["terraform"]["backend"]
        if "s3" in backend:
            (applied / ("s3-" + backend["s3"]["key"].replace("/", "_"))).touch()
        else:
            state = (path.parent / backend["local"]["path"]).resolve()
            state.parent.mkdir(parents=True, exist_ok=True)
            state.write_text("{}")
            (applied / ("local-" + state.name)).touch()


def test_make_plan_names_the_environment(project):
    result = make_plan(project)
    assert result.returncode == 2
    assert one_line(result.stderr) == "name the environment, e.g. make plan ENV=dev"


def test_a_missing_terraform_is_one_line(project):
    result = make_plan(project, "ENV=dev", TERRAFORM_BINARY_NAME="terraform-not-installed")
    assert result.returncode == 2
    assert one_line(result.stderr).startswith(
        "make plan: terraform not found: 'terraform-not-installed' is not on PATH."
    )


def refusal(capsys, monkeypatch, project: Path, args: list[str], **env) -> str:
    """plan_env.main in this process under ``env``: exit code 2 and its one line."""
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    for key, value in environment(project, **env).items():
        monkeypatch.setenv(key, value)
    assert plan_env.main(args) == plan_env.REFUSED
    captured = capsys.readouterr()
    return one_line(captured.err)


def test_missing_credentials_are_one_line(project, capsys, monkeypatch):
    line = refusal(capsys, monkeypatch, project, ["--env", "dev", "--check"], credentials=False)
    assert line.startswith("make plan: no AWS credentials found")


def test_an_old_terraform_is_one_line(project, example_synth_outdir, capsys, monkeypatch):
    args = ["--env", "dev", "--outdir", str(example_synth_outdir[0]), "--plans-dir", str(project)]
    line = refusal(capsys, monkeypatch, project, args, STANDIN_TERRAFORM_VERSION="1.10.5")
    # The version found, the constraint and the stack that sets it, the fix.
    assert line.startswith("make plan: terraform 1.10.5 does not satisfy ")
    assert "required_version '>= 1.11' (payment-dev-baseline)" in line
    assert "https://developer.hashicorp.com/terraform/install" in line
    assert line.endswith("or set TERRAFORM_BINARY_NAME")


def test_an_environment_without_stacks_is_refused(
    project, example_synth_outdir, capsys, monkeypatch
):
    args = ["--env", "qa", "--outdir", str(example_synth_outdir[0])]
    line = refusal(capsys, monkeypatch, project, args)
    assert line.startswith(
        f"make plan: environment 'qa' has no stacks in {example_synth_outdir[0]}"
    )
    assert line.endswith("synthesized: dev, prod, staging")


@slow
def test_stacks_whose_upstream_is_not_applied_fail_and_the_others_are_planned(full_project):
    """A new environment, as make plan runs it (synthesis included): the
    bootstrap was applied elsewhere (its bucket exists, its local state is
    not here), so it is skipped; stacks reading remote state that does not
    exist yet fail; the rest are planned (all creates); make plan fails
    naming the failed ones."""
    project = full_project
    bootstrap_elsewhere(project, "dev")
    result = make_plan(project, "ENV=dev")
    assert result.returncode != 0
    (failed,) = [line for line in result.stderr.splitlines() if line.startswith("make plan:")]
    head, listed = failed.split(" failed to plan: ")
    names = [item.split(" (")[0] for item in listed.split(", ")]
    assert names == ["payment-dev-network", "payment-dev-data", "payment-dev-services"]
    assert head == f"make plan: {len(names)} stack(s) of dev"
    assert listed.count("(terraform plan failed)") == len(names)
    assert "skipped payment-dev-bootstrap: its local state" in result.stdout
    saved = sorted(p.stem for p in (project / "plans" / "dev").glob("*.json"))
    # dev deploys its account's security baseline (no upstream stack).
    assert saved == ["payment-dev-baseline", "payment-dev-security"]
    plan = json.loads((project / "plans" / "dev" / "payment-dev-security.json").read_text())
    assert {tuple(c["change"]["actions"]) for c in plan["resource_changes"]} == {("create",)}


@slow
def test_every_stack_is_planned_in_dependency_order_and_saved_as_json(
    full_project, capsys, monkeypatch
):
    """After the environment is applied (runs after the test below)."""
    project = full_project
    monkeypatch.setenv("PAYMENT_CONFIG", "tests.fixtures.example")  # the review's tiers
    apply_all(project, "dev")
    (project / "standin" / "state" / "calls.jsonl").unlink()
    stale = project / "plans" / "dev" / "payment-dev-old.json"
    stale.write_text("{}")
    result = make_plan(project, "ENV=dev", "-o", "synth")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((project / "cdktf.out" / "manifest.json").read_text())["stacks"]
    dev = [name for name in manifest if name.startswith("payment-dev-")]
    made = calls(project)
    stacks_in_order = list(dict.fromkeys(stack for stack, _ in made))
    assert sorted(stacks_in_order) == sorted(dev)
    for name in dev:  # upstream planned first
        for upstream in manifest[name]["dependencies"]:
            assert stacks_in_order.index(upstream) < stacks_in_order.index(name)
        assert [verb for stack, verb in made if stack == name] == ["init", "plan", "show"]
    saved = sorted(p.name for p in (project / "plans" / "dev").glob("*.json"))
    assert saved == sorted(f"{name}.json" for name in dev)  # the stale plan is gone
    plans = sorted((project / "plans" / "dev").glob("*.json"))
    assert plan_review.main([str(p) for p in plans]) == plan_review.OK
    report = capsys.readouterr().out
    assert "payment-dev-services | dev | non-production | 0 | 0 | 0 | 0 | — |" in report


def test_order_lists_the_remote_state_stacks_upstream_first(example_synth_outdir):
    stacks = plan_env.read_stacks(example_synth_outdir[0], "prod")
    names = [s.name for s in stacks]
    assert names.index("payment-prod-network") < names.index("payment-prod-data")
    assert names.index("payment-prod-data") < names.index("payment-prod-services")
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "review" / "plan_env.py"),
            "--env",
            "prod",
            "--order",
            "--outdir",
            str(example_synth_outdir[0]),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # The bootstrap and baseline stacks are a person's (D42, D49).
    remote = [
        s.name
        for s in stacks
        if s.local_state is None and not s.name.endswith(("-bootstrap", "-baseline"))
    ]
    assert result.stdout.split() == remote
    assert [n.rsplit("-", 1)[1] for n in remote] == ["security", "network", "data", "services"]


@pytest.mark.parametrize(
    ("version", "constraint", "ok"),
    [
        ("1.11.4", ">= 1.11", True),
        ("1.10.5", ">= 1.11", False),
        ("1.11.0", ">= 1.11, < 2.0", True),
        ("2.0.0", ">= 1.11, < 2.0", False),
        ("1.12.1", "~> 1.11", True),
        ("2.0.0", "~> 1.11", False),
        ("1.11.9", "~> 1.11.2", True),
        ("1.12.0", "~> 1.11.2", False),
        ("1.11.4", "1.11.4", True),
        ("1.15.0-beta1", ">= 1.11", True),
    ],
)
def test_version_constraints(version, constraint, ok):
    assert plan_env.satisfies(version, constraint) is ok
