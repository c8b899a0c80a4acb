"""``make bootstrap|baseline|deploy|diff|plan`` check their arguments and terraform
before anything is installed, each in one line (README, "First deployment").

Each test runs make in a scratch project that holds only the Makefile, the
lock files and what the checks read (config/, tools/checks/check_env.py), as on a
fresh clone: nothing installed. Its PATH has make, sh, a python3 and node/npm stand-ins
that refuse to install (``python3 -m venv|pip``, ``npm``, ``npx`` print
``INSTALL STARTED`` and fail), so a check that ran after an install step
fails here at once instead of downloading ~420 MB.
"""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from config.environments import ENVIRONMENTS as SHIPPED
from config.model import baseline_owner
from config.naming import stack_names
from tests.cli_project import MAKE_VARIABLES

ROOT = Path(__file__).resolve().parent.parent
#: The interpreter .venv was built from, outside the venv.
BASE_PYTHON = Path(sys.executable).resolve()
INSTALL = "INSTALL STARTED"
#: The configuration a fresh clone has (PAYMENT_CONFIG unset).
ALLOWED = ", ".join(env.name for env in SHIPPED)
DEFINED = SHIPPED[0].name
#: An environment that has the account's baseline stack (make baseline's
#: ENV), the first; None when the organization provides every control.
OWNER = next(
    (
        e.name
        for e in SHIPPED
        if e.security_baseline.builds_anything and baseline_owner(e, SHIPPED) == e.name
    ),
    None,
)


def env_for(goal: str) -> str:
    """A defined environment ``goal`` accepts: make baseline's must own a baseline."""
    if goal != "baseline":
        return DEFINED
    if OWNER is None:
        pytest.skip("the configuration builds no baseline stack: make baseline has no ENV")
    return OWNER


UNDEFINED = "no-such-environment"
REFUSAL = f"environment: {UNDEFINED!r} is not defined; allowed: {ALLOWED}"
NO_TERRAFORM = "terraform not found: 'terraform' is not on PATH."
#: What the caller's environment must not decide for these runs.
OURS = ("ENV", "STACK", "CI", "CDKTF_ARGS", "TERRAFORM_BINARY_NAME", *MAKE_VARIABLES)


def stand_in(path: Path, script: str) -> None:
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


@pytest.fixture
def project(tmp_path) -> Path:
    """The scratch project, with ``bin/`` (its PATH) beside it."""
    project = tmp_path / "project"
    (project / "tools" / "checks").mkdir(parents=True)
    for name in ("Makefile", "Pipfile", "Pipfile.lock", "package.json", "package-lock.json"):
        shutil.copy2(ROOT / name, project / name)
    shutil.copy2(
        ROOT / "tools" / "checks" / "check_env.py", project / "tools" / "checks" / "check_env.py"
    )
    shutil.copytree(
        ROOT / "config", project / "config", ignore=shutil.ignore_patterns("__pycache__")
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("make", "sh"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    stand_in(
        bin_dir / "python3",
        f'case "$1 $2" in "-m venv"|"-m pip") echo "{INSTALL}: python3 $*" >&2; exit 97;; esac\n'
        # -S: without site-packages, as config/ must load (standard library only).
        f"exec '{BASE_PYTHON}' -S \"$@\"\n",
    )
    stand_in(bin_dir / "node", "echo v22.23.3\n")
    for tool in ("npm", "npx"):
        stand_in(bin_dir / tool, f'echo "{INSTALL}: {tool} $*" >&2; exit 97\n')
    return project


def with_terraform(project: Path) -> None:
    stand_in(project.parent / "bin" / "terraform", "exit 0\n")


def make(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in OURS and not key.startswith("PAYMENT_")
    }
    environment.update(PATH=str(project.parent / "bin"), **env)
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def refused_before_installing(result: subprocess.CompletedProcess, project: Path) -> str:
    """The one line said (without make's own ``make: *** ...``), after
    asserting that make failed with exit code 2 and installed nothing."""
    output = result.stdout + result.stderr
    assert INSTALL not in output, output
    assert not [p.name for p in project.iterdir() if p.name in (".tools", ".venv", "node_modules")]
    assert result.returncode == 2, output
    lines = [line for line in result.stderr.splitlines() if not line.startswith("make: ***")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("goal", ["bootstrap", "baseline", "deploy", "plan", "preflight"])
def test_an_environment_not_in_configuration_is_refused_before_any_install(project, goal):
    with_terraform(project)
    result = make(project, goal, f"ENV={UNDEFINED}")
    assert refused_before_installing(result, project) == REFUSAL


@pytest.mark.parametrize("goal", ["bootstrap", "baseline", "deploy", "plan", "preflight"])
def test_a_missing_environment_is_named_before_any_install(project, goal):
    result = make(project, goal)
    line = refused_before_installing(result, project)
    assert line == f"name the environment, e.g. make {goal} ENV=dev"


@pytest.mark.parametrize("goal", ["bootstrap", "baseline", "deploy"])
def test_the_preflight_runs_before_the_cli(project, goal):
    """bootstrap, baseline and deploy make the read-only preflight calls first; a
    failing preflight (exit 1) stops make before ``npx cdktf deploy``."""
    with_terraform(project)
    env = env_for(goal)
    result = make(project, "-n", goal, f"ENV={env}")
    lines = result.stdout.splitlines()
    preflight = lines.index(f".venv/bin/python -m verify.preflight --env {env}")
    deploy = next(i for i, line in enumerate(lines) if line.startswith("npx cdktf deploy"))
    assert preflight < deploy, result.stdout


PIPELINE_PARTS = ("security", "network", "data", "services")


def test_deploy_applies_the_stacks_named_in_stack_else_all_four(project):
    """A person applies one stack the deploy role is denied (docs/ci.md, "What a
    person applies") with make deploy STACK=...; without STACK the four."""
    with_terraform(project)
    stacks = [f"payment-{DEFINED}-{part}" for part in PIPELINE_PARTS]
    deployed = {
        given: next(
            line
            for line in make(project, "-n", "deploy", f"ENV={DEFINED}", *given).stdout.splitlines()
            if line.startswith("npx cdktf deploy")
        ).split()[3:]
        for given in ((), (f"STACK={stacks[0]}",), (f"STACK={stacks[0]} {stacks[3]}",))
    }
    assert list(deployed.values()) == [stacks, stacks[:1], [stacks[0], stacks[3]]]


@pytest.mark.parametrize("part", ["bootstrap", "baseline", "nope"])
def test_deploy_refuses_a_stack_outside_the_environments_four_before_any_install(project, part):
    with_terraform(project)
    stack = f"payment-{DEFINED}-{part}"
    line = refused_before_installing(
        make(project, "deploy", f"ENV={DEFINED}", f"STACK={stack}"), project
    )
    allowed = " ".join(f"payment-{DEFINED}-{p}" for p in PIPELINE_PARTS)
    assert line.startswith(
        f"make deploy: STACK={stack} is not allowed; use one or more of {allowed}"
    )


def test_the_refusal_comes_first_also_under_parallel_make(project):
    with_terraform(project)
    result = make(project, "-j4", "deploy", f"ENV={UNDEFINED}")
    assert refused_before_installing(result, project) == REFUSAL


def test_the_configuration_payment_config_names_is_the_one_checked(project, tmp_path):
    """PAYMENT_CONFIG (config.source) decides which names exist, as for the app."""
    limited = tmp_path / "limited.py"
    limited.write_text(
        "from config.environments import ENVIRONMENTS as SHIPPED\nENVIRONMENTS = SHIPPED[:1]\n"
    )
    with_terraform(project)
    result = make(project, "deploy", f"ENV={UNDEFINED}", PAYMENT_CONFIG=str(limited))
    line = refused_before_installing(result, project)
    assert line == f"environment: {UNDEFINED!r} is not defined; allowed: {DEFINED}"


@pytest.mark.parametrize("goal", ["bootstrap", "baseline", "deploy", "diff"])
def test_a_missing_terraform_is_named_before_any_install(project, goal):
    args = (
        ("diff", f"STACK={stack_names(SHIPPED, SHIPPED)[-1]}")
        if goal == "diff"
        else (goal, f"ENV={env_for(goal)}")
    )
    result = make(project, *args)
    assert refused_before_installing(result, project).startswith(NO_TERRAFORM)


def test_diff_names_a_missing_stack_before_any_install(project):
    result = make(project, "diff")
    line = refused_before_installing(result, project)
    assert line == "make diff: name one stack, e.g. make diff STACK=payment-dev-services"


def test_diff_refuses_a_stack_not_in_configuration_before_any_install(project):
    """STACK is one of the stacks main.py synthesizes (config.naming.stack_names),
    checked before the ~420 MB CLI is installed (tools/checks/check_env.py --stack)."""
    with_terraform(project)
    result = make(project, "diff", "STACK=payment-nope-x")
    allowed = ", ".join(stack_names(SHIPPED, SHIPPED))
    assert refused_before_installing(result, project) == (
        f"stack: 'payment-nope-x' is not defined; allowed: {allowed}"
    )


def test_diff_allows_the_stacks_of_the_selected_environments(project):
    """PAYMENT_ENVIRONMENTS narrows the synthesis, and so the stacks diff may name."""
    with_terraform(project)
    others = [env for env in SHIPPED if env.name != DEFINED]
    allowed = ", ".join(stack_names(SHIPPED[:1], SHIPPED))
    result = make(project, "diff", "STACK=payment-nope-x", PAYMENT_ENVIRONMENTS=DEFINED)
    assert refused_before_installing(result, project) == (
        f"stack: 'payment-nope-x' is not defined; allowed: {allowed}"
    )
    for stack in stack_names(others, SHIPPED)[:1]:
        result = make(project, "diff", f"STACK={stack}", PAYMENT_ENVIRONMENTS=DEFINED)
        assert refused_before_installing(result, project).startswith(f"stack: {stack!r} is not")


@pytest.mark.parametrize("goal", ["bootstrap", "baseline", "deploy"])
def test_a_deploy_under_ci_without_auto_approve_stops_before_any_install(project, goal):
    with_terraform(project)
    result = make(project, goal, f"ENV={env_for(goal)}", CI="true")
    line = refused_before_installing(result, project)
    assert line.startswith("CI=true is set and CDKTF_ARGS has no --auto-approve")


@pytest.mark.parametrize(
    "args",
    [("deploy", f"ENV={DEFINED}"), ("diff", f"STACK=payment-{DEFINED}-services")],
)
def test_when_the_checks_pass_the_install_follows(project, args):
    """The stand-ins work: with good arguments make goes on to install."""
    with_terraform(project)
    result = make(project, *args)
    assert result.returncode != 0
    assert f"{INSTALL}: python3 -m venv .tools" in result.stderr, result.stderr


# --- make baseline: only the environment that has the account's baseline ----------

#: Configurations built from the example (copied into the scratch project as
#: example_config.py): two environments in one account, whose baseline is
#: one stack (D35); one environment whose controls the organization provides.
SHARED_ACCOUNT = """
from dataclasses import replace
from example_config import DEV, STAGING
ENVIRONMENTS = (
    replace(DEV, account_id="123456789012"),
    replace(STAGING, account_id="123456789012", security_baseline=DEV.security_baseline,
            pipeline=replace(STAGING.pipeline, creates_github_oidc_provider=False)),
)
"""
ORGANIZATION_PROVIDES_ALL = """
from dataclasses import replace
from config.model import BASELINE_CONTROLS, PROVIDED_BY_ORGANIZATION
from example_config import DEV
ENVIRONMENTS = (
    replace(DEV, security_baseline=replace(
        DEV.security_baseline, **dict.fromkeys(BASELINE_CONTROLS, PROVIDED_BY_ORGANIZATION))),
)
"""


def configuration(project: Path, monkeypatch, text: str) -> tuple[Path, tuple]:
    """The file PAYMENT_CONFIG names and the environments it defines."""
    shutil.copy2(ROOT / "tests" / "fixtures" / "example.py", project / "example_config.py")
    path = project / "configured.py"
    path.write_text(text)
    monkeypatch.syspath_prepend(str(project))
    return path, runpy.run_path(str(path))["ENVIRONMENTS"]


def test_baseline_of_an_environment_that_does_not_own_it_names_the_owner(project, monkeypatch):
    path, defined = configuration(project, monkeypatch, SHARED_ACCOUNT)
    owner = baseline_owner(defined[0], defined)
    (other,) = (env.name for env in defined if env.name != owner)
    with_terraform(project)
    result = make(project, "baseline", f"ENV={other}", PAYMENT_CONFIG=str(path))
    line = refused_before_installing(result, project)
    assert line.startswith(f"payment-{other}-baseline does not exist: the baseline of account ")
    assert line.endswith(
        f"is {owner}'s (the first production-tier environment there, else "
        f"the first configured); run make baseline ENV={owner}"
    )
    owned = make(project, "baseline", f"ENV={owner}", PAYMENT_CONFIG=str(path))
    assert f"{INSTALL}: python3 -m venv .tools" in owned.stderr, owned.stderr


def test_baseline_the_organization_provides_entirely_is_refused(project, monkeypatch):
    path, (env,) = configuration(project, monkeypatch, ORGANIZATION_PROVIDES_ALL)
    assert not env.security_baseline.builds_anything
    with_terraform(project)
    result = make(project, "baseline", f"ENV={env.name}", PAYMENT_CONFIG=str(path))
    line = refused_before_installing(result, project)
    assert line == (
        f"payment-{env.name}-baseline does not exist: {env.name}.security_baseline has every "
        "control provided_by_organization, so there is nothing to deploy: skip this step"
    )
