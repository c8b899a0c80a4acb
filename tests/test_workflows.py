"""The GitHub Actions workflows (docs/ci.md) say what the pipeline promises.

zizmor and GitHub's workflow schema check them in ``make workflows`` (part
of ``make test``); here, fast and offline, the project's own promises:
pinned actions, least permissions, which job gets which OIDC subject, the
order of deployments, and that the lists match configuration.

The workflows are shipped for the example's environments (dev, staging,
prod): their shape is tested against the example. Whether they name the
user's configured environments is a check of ``make checks``
(``tools/review/plan_env.py --check-workflows``), tested here on the example and
on a renamed configuration.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from config import load_environments
from tests.conftest import EXAMPLE
from tests.fixtures import realistic
from tools.review import plan_env

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
#: The workflows as shipped, for the example (tests/fixtures/example.py):
#: .github/workflows is the user's and follows their configuration (make
#: checks), as config/environments.py does.
EXAMPLE_WORKFLOWS = ROOT / "tests" / "fixtures" / "workflows"
#: How the check names that directory.
EXAMPLE_SHOWN = str(EXAMPLE_WORKFLOWS.relative_to(ROOT))
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict) -> dict:
    """``on:`` (PyYAML reads the bare key as YAML 1.1's boolean true)."""
    return workflow["on"] if "on" in workflow else workflow[True]


def steps(job: dict) -> list[dict]:
    return job.get("steps") or []


def all_workflows() -> list[str]:
    return sorted(p.name for p in WORKFLOWS.glob("*.yml"))


def test_the_four_workflows_exist():
    assert all_workflows() == [
        "deploy-environment.yml",
        "deploy.yml",
        "pull-request.yml",
        "release.yml",
    ]


@pytest.mark.parametrize("name", all_workflows())
def test_actions_are_pinned_by_commit_and_permissions_are_per_job(name):
    text = (WORKFLOWS / name).read_text()
    for line in text.splitlines():
        match = re.match(r"\s*(?:- )?uses: (.*)$", line)
        if match and not match.group(1).startswith("$/"):
            assert PINNED.match(match.group(1)), f"{name}: not pinned by commit: {line.strip()}"
    workflow = load(name)
    assert workflow["permissions"] == {}, f"{name}: workflow-level permissions must be empty"
    for job_id, job in workflow["jobs"].items():
        assert "permissions" in job, f"{name}: job {job_id} must declare its permissions"
        assert set(job["permissions"]) <= {"contents", "id-token"}
        assert job["permissions"].get("contents") in (None, "read")
    for job in workflow["jobs"].values():
        for step in steps(job):
            if "checkout" in str(step.get("uses")):
                assert step["with"]["persist-credentials"] is False
            # Inputs reach shell scripts through env only (no template injection).
            assert "${{" not in str(step.get("run", ""))


def plan_matrix(jobs: dict, job_id: str) -> list[dict]:
    return jobs[job_id]["strategy"]["matrix"]["include"]


def test_pull_request_plans_every_environment_with_its_plan_role(example_environments):
    environments = example_environments
    jobs = load("pull-request.yml")["jobs"]
    assert [s.get("run") for s in steps(jobs["test"]) if "run" in s] == ["make test"]
    diff = "\n".join(str(s.get("run")) for s in steps(jobs["review-diff"]))
    assert 'tools/review/review_diff.py "$BASE_SHA"' in diff and "GITHUB_STEP_SUMMARY" in diff
    planned = plan_matrix(jobs, "plan") + plan_matrix(jobs, "plan-production")
    assert sorted(entry["environment"] for entry in planned) == sorted(environments)
    # The role each environment's bootstrap creates, named by configuration.
    for entry in planned:
        env = environments[entry["environment"]]
        assert entry["plan_role"] == env.plan_role
        assert entry["account_id"] == f"${{{{ vars.AWS_ACCOUNT_ID_{env.name.upper()} }}}}"
    for job_id in ("plan", "plan-production"):
        plan = jobs[job_id]
        assert plan["name"] == "plan ${{ matrix.environment }}"  # the required check's name
        assert plan["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
        assert plan["permissions"] == {"contents": "read", "id-token": "write"}
        [credentials] = [
            s for s in steps(plan) if "configure-aws-credentials" in str(s.get("uses"))
        ]
        assert credentials["with"]["role-to-assume"] == (
            "arn:aws:iam::${{ matrix.account_id }}:role/${{ matrix.plan_role }}"
        )
        runs = "\n".join(str(s.get("run")) for s in steps(plan))
        assert 'make plan ENV="$PLAN_ENV"' in runs
        assert (
            'tools/review/plan_review.py --output plan-review.md plans/"$PLAN_ENV"/*.json' in runs
        )
        assert 'cat plan-review.md >> "$GITHUB_STEP_SUMMARY"' in runs and 'exit "$code"' in runs


def test_production_plans_run_in_their_own_github_environment(example_environments):
    """The production tier's plan job enters ``<env>-plan`` (``prod-plan``),
    whose subject alone its plan role trusts (tests/test_pipeline_roles.py);
    the other tiers' plan job enters none and keeps the pull request's
    subject (GitHub docs, "About security hardening with OpenID Connect",
    example subject claims:
    https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect)."""
    jobs = load("pull-request.yml")["jobs"]
    assert "environment" not in jobs["plan"]
    assert jobs["plan-production"]["environment"] == "${{ matrix.github_environment }}"
    production = {e["environment"]: e for e in plan_matrix(jobs, "plan-production")}
    others = [e["environment"] for e in plan_matrix(jobs, "plan")]
    for name, env in example_environments.items():
        if env.is_production:
            assert production[name]["github_environment"] == f"{name}-plan"
        else:
            assert name in others and name not in production
    assert production, "the example has a production tier"
    # GitHub cannot make a job's environment optional: two jobs, one set of steps.
    assert jobs["plan-production"]["steps"] == jobs["plan"]["steps"]


def test_main_deploys_environment_by_environment_with_prod_last(example_environments):
    environments = example_environments
    workflow = load("deploy.yml")
    assert triggers(workflow) == {"push": {"branches": ["main"]}}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    jobs = workflow["jobs"]
    assert [job["with"]["environment"] for job in jobs.values()] == list(environments)
    for job in jobs.values():
        env = environments[job["with"]["environment"]]
        assert job["with"]["deploy_role"] == env.deploy_role  # the bootstrap's deploy role
        assert job["with"]["account_id"] == f"${{{{ vars.AWS_ACCOUNT_ID_{env.name.upper()} }}}}"
    assert "needs" not in jobs["dev"]
    assert jobs["staging"]["needs"] == "dev" and jobs["prod"]["needs"] == "staging"
    deploy = load("deploy-environment.yml")["jobs"]["deploy"]
    assert deploy["environment"] == "${{ inputs.environment }}"  # protection rules apply
    [credentials] = [s for s in steps(deploy) if "configure-aws-credentials" in str(s.get("uses"))]
    assert credentials["with"]["role-to-assume"] == (
        "arn:aws:iam::${{ inputs.account_id }}:role/${{ inputs.deploy_role }}"
    )
    script = "\n".join(str(s.get("run")) for s in steps(deploy))
    assert 'tools/review/plan_env.py --env "$DEPLOY_ENV" --order' in script
    # The preflight's read-only calls come before the first stack (docs/cli.md).
    runs = [str(s.get("run")) for s in steps(deploy)]
    preflight = runs.index('.venv/bin/python -m verify.preflight --env "$DEPLOY_ENV"')
    assert preflight < next(i for i, run in enumerate(runs) if "npx cdktf deploy" in run)
    assert 'npx cdktf deploy "$stack" --auto-approve' in script


def test_releases_are_a_separate_manual_workflow(example_environments):
    environments = example_environments
    workflow = yaml.safe_load((EXAMPLE_WORKFLOWS / "release.yml").read_text())
    assert list(triggers(workflow)) == ["workflow_dispatch"]
    inputs = triggers(workflow)["workflow_dispatch"]["inputs"]
    assert inputs["environment"]["options"] == list(environments)
    services = {svc.name for env in environments.values() for svc in env.services}
    assert set(inputs["service"]["options"]) == services
    job = workflow["jobs"]["release"]
    # Its own GitHub environment, the subject the release role trusts.
    assert job["environment"] == "${{ inputs.environment }}-release"
    script = "\n".join(str(s.get("run")) for s in steps(job))
    assert '.venv/bin/python -m release "$@"' in script


def test_a_release_keeps_its_credentials_to_the_end():
    """The job outlives the release role's session, and asks for all of it:
    a prod release (scan wait + canary + blue termination) took longer than
    the one hour the workflow used to ask for."""
    from config.model import RELEASE_SESSION_MINUTES

    job = load("release.yml")["jobs"]["release"]
    [credentials] = [s for s in steps(job) if "configure-aws-credentials" in s.get("uses", "")]
    assert credentials["with"]["role-duration-seconds"] == RELEASE_SESSION_MINUTES * 60
    assert credentials["with"]["role-to-assume"] == "${{ steps.role.outputs.arn }}"
    assert job["timeout-minutes"] >= RELEASE_SESSION_MINUTES + 10  # + set-up


def run_role_step(tmp_path, **variables: str) -> tuple[int, str, str]:
    import os
    import subprocess

    release = yaml.safe_load((EXAMPLE_WORKFLOWS / "release.yml").read_text())  # the example's
    [step] = [s for s in steps(release["jobs"]["release"]) if s.get("id") == "role"]
    output = tmp_path / "github_output"
    output.write_text("")
    env = {**os.environ, **variables, "GITHUB_OUTPUT": str(output)}
    result = subprocess.run(
        ["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True, timeout=10
    )
    return result.returncode, output.read_text(), result.stdout


def test_the_release_job_assumes_the_release_role_of_its_environment(
    tmp_path, example_environments
):
    """The step that names the role, run as GitHub runs it (bash -e)."""
    from config.naming import release_role_name

    environments = example_environments

    accounts = {"ACCOUNT_DEV": "111111111111", "ACCOUNT_STAGING": "222222222222"}
    accounts["ACCOUNT_PROD"] = "333333333333"
    for name, env in environments.items():
        code, output, _ = run_role_step(tmp_path, RELEASE_ENV=name, **accounts)
        account = accounts[f"ACCOUNT_{name.upper()}"]
        assert (code, output) == (0, f"arn=arn:aws:iam::{account}:role/{release_role_name(env)}\n")
    code, output, stdout = run_role_step(tmp_path, RELEASE_ENV="prod", ACCOUNT_PROD="")
    assert (code, output) == (1, "")
    assert stdout.strip() == (
        "::error::repository variable AWS_ACCOUNT_ID_PROD is not set (docs/ci.md, Set-up in GitHub)"
    )


@pytest.mark.parametrize("name", all_workflows())
def test_no_workflow_hands_a_token_to_fork_code(name):
    """GitHub gives fork pull requests no OIDC token under ``pull_request``;
    ``pull_request_target`` and ``workflow_run`` would run with the base
    repository's token and permissions, so none of them is a trigger."""
    assert not {"pull_request_target", "workflow_run"} & set(triggers(load(name)))


# -- make checks: do the workflows name the configured environments? ------------------
RENAMED = load_environments(defined=realistic.ENVIRONMENTS)  # dev, uat, live


def test_the_example_workflows_name_the_examples_environments():
    assert plan_env.workflow_problems(EXAMPLE, EXAMPLE_WORKFLOWS) == []


def test_the_example_workflows_are_the_shipped_ones_while_the_example_is_configured(
    environments,
):
    """While the configuration under test is the example, the frozen copies
    are the committed workflows (a change to a workflow reaches both)."""
    if list(environments.values()) != list(EXAMPLE):
        pytest.skip("the configuration is the user's: its workflows are theirs")
    for path in sorted(EXAMPLE_WORKFLOWS.glob("*.yml")):
        assert path.read_text() == (WORKFLOWS / path.name).read_text(), path.name


def test_a_renamed_configuration_is_told_which_workflows_to_edit():
    names = ", ".join(env.name for env in RENAMED)
    in_order = ", ".join(
        [e.name for e in RENAMED if not e.is_production]
        + [e.name for e in RENAMED if e.is_production]
    )
    example = ", ".join(env.name for env in EXAMPLE)
    services = ", ".join(sorted({svc.name for env in RENAMED for svc in env.services}))
    shipped = ", ".join(sorted({svc.name for env in EXAMPLE for svc in env.services}))
    added = [env.name for env in RENAMED if env.name not in {e.name for e in EXAMPLE}]
    problems = plan_env.workflow_problems(RENAMED, EXAMPLE_WORKFLOWS)
    # One problem per workflow setting: the file, what it has, what is configured.
    assert [p.split(" ", 1)[0] for p in problems] == [
        f"{EXAMPLE_SHOWN}/deploy.yml",
        f"{EXAMPLE_SHOWN}/pull-request.yml",
        *[f"{EXAMPLE_SHOWN}/release.yml"] * 3,
    ]
    deploys, plans, environments_offered, services_offered, role_step = problems
    assert f" deploys {example}; configured: {in_order} " in deploys
    assert deploys.endswith("the production tier last)")
    assert plans.endswith(f" plans {example}; configured: {names}")
    assert environments_offered.endswith(f" offers environments {example}; configured: {names}")
    assert f" offers services {shipped}; configured: {services} " in services_offered
    # The fix names the setting and the value to give it.
    assert f"set on.workflow_dispatch.inputs.service.options to [{services}]" in services_offered
    assert role_step.endswith(f" step role has no account for {', '.join(added)}")


def _production_first(workflows: dict) -> None:
    jobs = workflows["deploy.yml"]["jobs"]
    jobs["staging"]["needs"], jobs["prod"]["needs"] = "prod", "dev"
    workflows["deploy.yml"]["jobs"] = {k: jobs[k] for k in ("dev", "prod", "staging")}


def _parallel(workflows: dict) -> None:
    del workflows["deploy.yml"]["jobs"]["prod"]["needs"]


def _wrong_roles(workflows: dict) -> None:
    workflows["deploy.yml"]["jobs"]["staging"]["with"]["deploy_role"] = "payment-prod-deploy"
    workflows["pull-request.yml"]["jobs"]["plan"]["strategy"]["matrix"]["include"][0][
        "plan_role"
    ] = "payment-dev-deploy"


def _wrong_account(workflows: dict) -> None:
    matrix = plan_matrix(workflows["pull-request.yml"]["jobs"], "plan-production")
    matrix[0]["account_id"] = "${{ vars.AWS_ACCOUNT_ID_STAGING }}"


def _no_plan_of_prod(workflows: dict) -> None:
    plan_matrix(workflows["pull-request.yml"]["jobs"], "plan-production").pop()


def _prod_plan_without_its_environment(workflows: dict) -> None:
    jobs = workflows["pull-request.yml"]["jobs"]
    del jobs["plan-production"]["environment"]
    del plan_matrix(jobs, "plan-production")[0]["github_environment"]


def _prod_planned_with_the_pull_request_subject(workflows: dict) -> None:
    jobs = workflows["pull-request.yml"]["jobs"]
    plan_matrix(jobs, "plan").append(plan_matrix(jobs, "plan-production").pop())


def _plan_steps_drift(workflows: dict) -> None:
    workflows["pull-request.yml"]["jobs"]["plan-production"]["steps"].pop()


@pytest.mark.parametrize(
    "change, problems",
    [
        (
            _production_first,
            [
                ".github/workflows/deploy.yml deploys dev, prod, staging; configured: dev, "
                "staging, prod (in this order, the production tier last)"
            ],
        ),
        (
            _parallel,
            [
                ".github/workflows/deploy.yml job prod must wait for the job before it (needs: staging)"
            ],
        ),
        (
            _wrong_roles,
            [
                ".github/workflows/deploy.yml job staging deploys staging as payment-prod-deploy, "
                "its deploy role is payment-staging-deploy",
                ".github/workflows/pull-request.yml plans dev as payment-dev-deploy, "
                "its plan role is payment-dev-plan",
            ],
        ),
        (
            _wrong_account,
            [
                ".github/workflows/pull-request.yml takes prod's account from "
                "${{ vars.AWS_ACCOUNT_ID_STAGING }}, not ${{ vars.AWS_ACCOUNT_ID_PROD }}"
            ],
        ),
        (
            _no_plan_of_prod,
            [
                ".github/workflows/pull-request.yml plans dev, staging; "
                "configured: dev, staging, prod"
            ],
        ),
        (
            _prod_plan_without_its_environment,
            [
                ".github/workflows/pull-request.yml plans prod in GitHub environment None, "
                "not prod-plan",
                ".github/workflows/pull-request.yml job plan-production must run in "
                "environment: ${{ matrix.github_environment }}",
            ],
        ),
        (
            _prod_planned_with_the_pull_request_subject,
            [
                ".github/workflows/pull-request.yml plans prod in job plan, not plan-production",
            ],
        ),
        (
            _plan_steps_drift,
            [
                ".github/workflows/pull-request.yml job plan-production must run the steps of job plan"
            ],
        ),
    ],
    ids=[
        "production-first",
        "parallel",
        "roles",
        "account",
        "missing-plan",
        "prod-plan-environment",
        "prod-in-plan",
        "steps-drift",
    ],
)
def test_each_difference_from_the_example_is_named(tmp_path, change, problems):
    workflows = {
        name: yaml.safe_load((EXAMPLE_WORKFLOWS / name).read_text())
        for name in ("deploy.yml", "pull-request.yml")
    }
    change(workflows)
    copy = tmp_path / ".github" / "workflows"
    copy.mkdir(parents=True)
    shutil.copy2(EXAMPLE_WORKFLOWS / "release.yml", copy / "release.yml")
    for name, workflow in workflows.items():
        (copy / name).write_text(yaml.safe_dump(workflow, sort_keys=False))
    shown = [p.replace(".github/workflows", str(copy)) for p in problems]
    assert plan_env.workflow_problems(EXAMPLE, copy) == shown


def test_the_check_is_one_line_naming_the_files_and_exit_1(monkeypatch, capsys):
    """``make checks`` runs ``tools/review/plan_env.py --check-workflows`` on the
    configuration PAYMENT_CONFIG names (here against the example's workflows)."""
    monkeypatch.setattr(plan_env, "WORKFLOWS", EXAMPLE_WORKFLOWS)
    monkeypatch.setenv("PAYMENT_CONFIG", "tests.fixtures.example")
    assert plan_env.main(["--check-workflows"]) == plan_env.OK
    captured = capsys.readouterr()
    names = ", ".join(env.name for env in EXAMPLE)
    assert captured.out == f"workflows: {EXAMPLE_SHOWN} deploy, plan and release {names}\n"
    assert captured.err == ""
    monkeypatch.setenv("PAYMENT_CONFIG", "tests.fixtures.realistic")
    assert plan_env.main(["--check-workflows"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    problems = "; ".join(plan_env.workflow_problems(RENAMED, EXAMPLE_WORKFLOWS))
    assert captured.err == (
        f"workflows: {problems}: edit them to match the configuration (docs/ci.md)\n"
    )
