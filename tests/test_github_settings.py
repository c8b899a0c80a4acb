"""``make github-check`` (tools/checks/github_settings.py): the GitHub environments
the pipeline's OIDC subjects name, main's protection (classic or rulesets)
and the Actions settings, read from the REST API, offline.

The responses are recorded in tests/fixtures/github (each names the REST
API page whose documented shape it follows) and served by a fake urllib
opener: the tool's own request building, paging and error handling run.
No AWS, no moto: this module is part of the fast suite (not aws_replay).
"""

from __future__ import annotations

import copy
import io
import json
import re
import urllib.error
import urllib.parse
from pathlib import Path

import pytest

from config.naming import github_environments, plan_environment, release_environment
from tools.checks import github_settings

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "github"
REPO = "acme/payments"
ENVIRONMENTS_URL = f"https://api.github.com/repos/{REPO}/environments"
PROTECTION = "/repos/acme/payments/branches/main/protection"
RULES = "/repos/acme/payments/rules/branches/main"
WORKFLOW_PERMISSIONS = "/repos/acme/payments/actions/permissions/workflow"
FORK_APPROVAL = "/repos/acme/payments/actions/permissions/fork-pr-contributor-approval"
#: GitHub's answer for a branch without classic protection (Get branch
#: protection, 404).
NOT_PROTECTED = (404, {"message": "Branch not protected"})


def recorded(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())["response"]


class FakeOpener:
    """``urllib.request.OpenerDirector.open`` answering from ``routes``
    (URL path -> JSON body, an int: that HTTP error, or (code, body))."""

    def __init__(self, routes: dict[str, object]) -> None:
        self.routes = routes
        self.requests: list = []

    def open(self, request, data=None, timeout=None):
        self.requests.append(request)
        url = urllib.parse.urlsplit(request.full_url)
        answer = self.routes.get(url.path)
        if isinstance(answer, Exception):
            raise answer
        if answer is None or isinstance(answer, (int, tuple)):
            code, body = answer if isinstance(answer, tuple) else (answer or 404, {})
            raw = io.BytesIO(json.dumps(body).encode())
            raise urllib.error.HTTPError(request.full_url, code, "error", {}, raw)
        if callable(answer):
            answer = answer(urllib.parse.parse_qs(url.query))
        return io.BytesIO(json.dumps(answer).encode())


def as_documented(names: list[str], production: set[str], plans: set[str]) -> dict[str, object]:
    """Routes for a repository set up as docs/ci.md says: every environment,
    reviewers on the production tier's, main only but on plan environments."""
    template = recorded("environments.json")["environments"]
    protected, open_ = template[2], template[6]  # prod, prod-plan
    environments = []
    for name in names:
        env = copy.deepcopy(protected if name in production and name not in plans else open_)
        if name not in production:
            env["protection_rules"] = []
            env["deployment_branch_policy"] = protected["deployment_branch_policy"]
        env["name"] = name
        environments.append(env)
    routes: dict[str, object] = {
        "/repos/acme/payments/environments": {
            "total_count": len(environments),
            "environments": environments,
        }
    }
    for name in names:
        path = f"/repos/acme/payments/environments/{name}/deployment-branch-policies"
        routes[path] = recorded("deployment-branch-policies.json")
    return routes


def protected_main(required: list[str]) -> dict[str, object]:
    """main as docs/ci.md says, classic protection requiring ``required``;
    no ruleset; the Actions settings as documented."""
    protection = recorded("branch-protection.json")
    protection["required_status_checks"]["contexts"] = list(required)
    protection["required_status_checks"]["checks"] = [
        {"context": name, "app_id": 15368} for name in required
    ]
    return {
        PROTECTION: protection,
        RULES: [],
        WORKFLOW_PERMISSIONS: recorded("workflow-permissions.json"),
        FORK_APPROVAL: recorded("fork-pr-contributor-approval.json"),
    }


def example_routes() -> dict[str, object]:
    routes: dict[str, object] = {"/repos/acme/payments/environments": recorded("environments.json")}
    for env in recorded("environments.json")["environments"]:
        path = f"/repos/acme/payments/environments/{env['name']}/deployment-branch-policies"
        routes[path] = recorded("deployment-branch-policies.json")
    routes.update(
        protected_main(recorded("branch-protection.json")["required_status_checks"]["contexts"])
    )
    return routes


def run_changed(monkeypatch, capsys, changes: dict[str, object]):
    """Exit code, lines and routes of the example with ``changes`` routed."""
    routes = example_routes() | changes
    code, lines, err, _ = run(monkeypatch, capsys, routes)
    assert err == ""
    return code, lines, routes


def checks_marked(lines: list[str], word: str) -> list[str]:
    """The check of each line starting with ``word`` (PASS, FAIL, UNREAD)."""
    return [line.split()[1] for line in lines if line.startswith(word)]


def run(monkeypatch, capsys, routes, *args: str, token: str = "ghp_test"):
    monkeypatch.setenv("PAYMENT_CONFIG", "tests.fixtures.example")
    monkeypatch.setenv("GITHUB_TOKEN", token)
    opener = FakeOpener(routes)
    code = github_settings.main(["--repo", REPO, *args], opener=opener)
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err, opener


def test_the_plan_environment_exists_for_the_production_tier_only(environments):
    for env in environments.values():
        expected = [env.name, release_environment(env.name)]
        if env.is_production:
            assert plan_environment(env) == f"{env.name}-plan"
            expected.append(f"{env.name}-plan")
        else:
            assert plan_environment(env) is None
        assert list(github_environments(env)) == expected


def test_a_repository_set_up_as_documented_passes(monkeypatch, capsys):
    code, lines, err, opener = run(monkeypatch, capsys, example_routes())
    assert (code, err) == (0, "")
    assert [line.split()[0] for line in lines[:-1]] == ["PASS"] * (len(lines) - 1)
    checked = {(line.split()[1], line.split()[2].rstrip(":")) for line in lines[:-1]}
    assert ("environment.reviewers", "prod-plan") in checked
    assert ("environment.branches", "prod") in checked
    assert ("environment.branches", "prod-release") in checked
    # The plan environment has no branch rule: pull requests run on merge refs.
    assert ("environment.branches", "prod-plan") not in checked
    assert ("environment.exists", "dev-release") in checked
    assert {check for check, _ in checked} == set(github_settings.CHECKS)
    assert lines[-1] == f"github-check: {REPO}: {len(lines) - 1} passed, 0 failed"
    # GET only, documented headers, the token as a bearer.
    for request in opener.requests:
        assert request.get_method() == "GET"
        assert request.get_header("Authorization") == "Bearer ghp_test"
        assert request.get_header("Accept") == "application/vnd.github+json"
        assert request.get_header("X-github-api-version") == github_settings.API_VERSION
    assert opener.requests[0].full_url == f"{ENVIRONMENTS_URL}?per_page=100&page=1"


def test_every_configured_environment_is_checked(monkeypatch, capsys, environments):
    """Whatever the configuration: each of its GitHub environments exists,
    the production tier's have reviewers, its deploy and release ones main only."""
    configured = list(environments.values())
    names = [name for env in configured for name in github_environments(env)]
    production = {n for env in configured if env.is_production for n in github_environments(env)}
    plans = {plan_environment(env) for env in configured if env.is_production}
    required = github_settings.required_checks(configured)
    # The plan check of every configured environment, as GitHub names the job.
    assert [f"plan {env.name}" for env in configured] == [
        n for n in required if n.startswith("plan ")
    ]
    routes = as_documented(names, production, plans) | protected_main(required)
    github = github_settings.GitHub(REPO, "t", FakeOpener(routes))
    results = github_settings.check(configured, github)
    assert all(r.passed for r in results), [r.line() for r in results if not r.passed]
    # A plan check missing for any one configured environment fails its line.
    for env in configured:
        routes = as_documented(names, production, plans) | protected_main(
            [n for n in required if n != f"plan {env.name}"]
        )
        github = github_settings.GitHub(REPO, "t", FakeOpener(routes))
        failed = [r for r in github_settings.check(configured, github) if not r.passed]
        assert [(r.check, r.message) for r in failed] == [
            ("main.status_checks", f"require the checks plan {env.name}")
        ]
    assert {r.subject for r in results if r.check == "environment.exists"} == set(names)
    assert {r.subject for r in results if r.check == "environment.reviewers"} == production
    assert {r.subject for r in results if r.check == "environment.branches"} == production - plans


def _without(name: str):
    def change(routes):
        body = routes["/repos/acme/payments/environments"]
        body["environments"] = [e for e in body["environments"] if e["name"] != name]
        body["total_count"] -= 1

    return change


def _environment(name: str, **fields):
    def change(routes):
        for env in routes["/repos/acme/payments/environments"]["environments"]:
            if env["name"] == name:
                env.update(fields)

    return change


def _no_self_review_guard(routes):
    for env in routes["/repos/acme/payments/environments"]["environments"]:
        if env["name"] == "prod":
            env["protection_rules"][0]["prevent_self_review"] = False


def _release_branches_too(routes):
    path = "/repos/acme/payments/environments/prod/deployment-branch-policies"
    routes[path] = {
        "total_count": 2,
        "branch_policies": [
            {"id": 1, "node_id": "a", "name": "main", "type": "branch"},
            {"id": 2, "node_id": "b", "name": "release/*", "type": "branch"},
        ],
    }


def _protection(**fields):
    def change(routes):
        routes[PROTECTION].update(fields)

    return change


def _without_check(name: str):
    def change(routes):
        checks = routes[PROTECTION]["required_status_checks"]
        checks["contexts"] = [c for c in checks["contexts"] if c != name]
        checks["checks"] = [c for c in checks["checks"] if c["context"] != name]

    return change


def _answer(path: str, **fields):
    def change(routes):
        routes[path] = dict(routes[path], **fields)

    return change


@pytest.mark.parametrize(
    ("change", "failure"),
    [
        (_without("prod-plan"), "environment.exists prod-plan: missing"),
        (_environment("prod-release", protection_rules=[]), "environment.reviewers prod-release"),
        (_no_self_review_guard, "environment.reviewers prod: 1 required reviewer(s), but"),
        (
            _environment("prod", deployment_branch_policy=None),
            "environment.branches prod: any branch may enter it",
        ),
        (
            _environment(
                "prod-release",
                deployment_branch_policy={
                    "protected_branches": True,
                    "custom_branch_policies": False,
                },
            ),
            "environment.branches prod-release: every protected branch may enter it",
        ),
        (_release_branches_too, "environment.branches prod: deployment branch policies"),
        (_environment("prod-plan", protection_rules=[]), "environment.reviewers prod-plan"),
        (
            _protection(
                required_pull_request_reviews={
                    "dismiss_stale_reviews": True,
                    "required_approving_review_count": 0,
                }
            ),
            "main.reviews main: require a pull request with at least one approving review",
        ),
        (
            _protection(
                required_pull_request_reviews={
                    "dismiss_stale_reviews": False,
                    "required_approving_review_count": 2,
                }
            ),
            "main.stale_reviews main: dismiss stale",
        ),
        (_without_check("plan prod"), "main.status_checks main: require the checks plan prod"),
        (_protection(allow_force_pushes={"enabled": True}), "main.force_pushes main: block"),
        (_protection(allow_deletions={"enabled": True}), "main.deletions main: restrict"),
        (
            _answer(WORKFLOW_PERMISSIONS, default_workflow_permissions="write"),
            "actions.workflow_permissions acme/payments: the workflow token defaults to 'write'",
        ),
        (
            _answer(WORKFLOW_PERMISSIONS, can_approve_pull_request_reviews=True),
            "actions.workflow_permissions acme/payments: Actions may create and approve",
        ),
        (
            _answer(FORK_APPROVAL, approval_policy="first_time_contributors"),
            "actions.fork_approval acme/payments: approval policy first_time_contributors",
        ),
    ],
    ids=[
        "no-prod-plan",
        "release-unreviewed",
        "self-review",
        "any-branch",
        "protected-branches",
        "more-than-main",
        "plan-unreviewed",
        "zero-approvals",
        "stale-approvals",
        "check-missing",
        "force-push",
        "deletion",
        "write-token",
        "actions-approve",
        "first-time-only",
    ],
)
def test_each_missing_setting_fails_its_line(monkeypatch, capsys, change, failure):
    routes = copy.deepcopy(example_routes())
    change(routes)
    code, lines, err, _ = run(monkeypatch, capsys, routes)
    failed = [" ".join(line.split()) for line in lines if line.startswith("FAIL")]
    assert code == github_settings.FAILED and err == ""
    assert len(failed) == 1 and failed[0].startswith(f"FAIL {failure}"), failed
    assert failed[0].endswith(f"({github_settings.DOC})")
    assert lines[-1].endswith(", 1 failed")


@pytest.mark.parametrize(
    ("args", "token", "routes", "message"),
    [
        ((), "", {}, "GITHUB_TOKEN is not set"),
        (
            ("--repo", "not a repository"),
            "t",
            {},
            "repository 'not a repository' is not <owner>/<repo>",
        ),
        ((), "t", {"/repos/acme/payments/environments": 401}, "GitHub refused the token"),
        ((), "t", {}, "repository acme/payments not found"),
        (
            (),
            "t",
            {"/repos/acme/payments/environments": urllib.error.URLError("no route")},
            "cannot reach https://api.github.com: no route",
        ),
    ],
    ids=["no-token", "bad-repo", "refused", "no-repo", "offline"],
)
def test_bad_input_is_one_line_and_exit_2(monkeypatch, capsys, args, token, routes, message):
    monkeypatch.setenv("PAYMENT_CONFIG", "tests.fixtures.example")
    monkeypatch.setenv("GITHUB_TOKEN", token)
    argv = list(args) or ["--repo", REPO]
    code = github_settings.main(argv, opener=FakeOpener(routes))
    captured = capsys.readouterr()
    assert code == github_settings.REFUSED and captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("github-check: ")
    assert message in captured.err and "Traceback" not in captured.err


def test_the_placeholder_repository_is_refused(monkeypatch, capsys):
    monkeypatch.setenv("PAYMENT_CONFIG", "tests.fixtures.example")
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    assert github_settings.main([], opener=FakeOpener({})) == github_settings.REFUSED
    assert "placeholder" in capsys.readouterr().err


def test_every_page_of_environments_is_read():
    everything = recorded("environments.json")["environments"]
    many = [dict(everything[0], name=f"env-{i}") for i in range(150)]

    def page(query):
        number = int(query["page"][0])
        return {"total_count": len(many), "environments": many[(number - 1) * 100 : number * 100]}

    github = github_settings.GitHub(
        REPO, "t", FakeOpener({"/repos/acme/payments/environments": page})
    )
    assert len(github.environments()) == 150


def test_the_required_checks_are_the_pull_request_workflows_job_names(environments):
    """GitHub names a job's check by its evaluated ``name:``: ``make test``,
    the review diff, and ``plan <env>`` of each configured environment."""
    configured = list(environments.values())
    required = github_settings.required_checks(configured)
    assert required[:2] == ["make test", "review diff against the base branch"]
    assert required[2:] == [f"plan {env.name}" for env in configured]


def test_a_workflow_without_a_required_job_is_refused(tmp_path, environments):
    workflow = tmp_path / "pull-request.yml"
    workflow.write_text("jobs:\n  test:\n    name: make test\n")
    with pytest.raises(github_settings.Refused, match="has no job 'review-diff'"):
        github_settings.required_checks(list(environments.values()), workflow)


def test_main_protected_by_a_ruleset_alone_passes(monkeypatch, capsys):
    changes = {PROTECTION: NOT_PROTECTED, RULES: recorded("branch-rules.json")}
    code, lines, _ = run_changed(monkeypatch, capsys, changes)
    assert code == 0, lines
    main = [line for line in lines if line.split()[1].startswith("main.")]
    assert len(main) == 5 and all("ruleset" in line for line in main), main


def test_an_unprotected_main_fails_every_line_with_the_fix(monkeypatch, capsys):
    code, lines, _ = run_changed(monkeypatch, capsys, {PROTECTION: NOT_PROTECTED})
    assert code == github_settings.FAILED
    assert checks_marked(lines, "FAIL") == [
        "main.reviews",
        "main.stale_reviews",
        "main.status_checks",
        "main.force_pushes",
        "main.deletions",
    ]
    failed = [line for line in lines if line.startswith("FAIL")]
    assert all(
        "main is not protected (no branch protection, no active ruleset)" in f for f in failed
    )


@pytest.mark.parametrize(
    "answer",
    [403, (404, {"message": "Not Found"})],
    ids=["forbidden", "hidden"],
)
def test_protection_the_token_cannot_read_is_named_not_failed(monkeypatch, capsys, answer):
    """Without admin read GitHub answers 403, or 404 "Not Found" (not
    "Branch not protected"): each main line says which permission is missing."""
    code, lines, _ = run_changed(monkeypatch, capsys, {PROTECTION: answer})
    unread = [line for line in lines if line.startswith("UNREAD")]
    assert code == github_settings.REFUSED
    assert not any(line.startswith("FAIL") for line in lines)
    assert len(unread) == 5 and all("Administration: read" in line for line in unread)
    assert lines[-1].endswith(", 0 failed, 5 not read")


def test_a_ruleset_decides_when_classic_protection_cannot_be_read(monkeypatch, capsys):
    changes = {PROTECTION: 403, RULES: recorded("branch-rules.json")}
    code, lines, _ = run_changed(monkeypatch, capsys, changes)
    assert code == 0, lines


def test_a_failure_outranks_a_setting_not_read(monkeypatch, capsys):
    refused = (422, {"message": "Fork PR approval is not allowed"})
    changes = {WORKFLOW_PERMISSIONS: 403, FORK_APPROVAL: refused}
    code, lines, routes = run_changed(monkeypatch, capsys, changes)
    unread = [line for line in lines if line.startswith("UNREAD")]
    assert code == github_settings.REFUSED
    assert checks_marked(lines, "UNREAD") == [
        "actions.workflow_permissions",
        "actions.fork_approval",
    ]
    assert all("Administration: read" in line for line in unread)
    assert "HTTP 422 Fork PR approval is not allowed" in unread[1]
    routes[PROTECTION]["allow_deletions"] = {"enabled": True}
    code, lines, _, _ = run(monkeypatch, capsys, routes)
    assert code == github_settings.FAILED
    assert lines[-1].endswith(", 1 failed, 2 not read")


def test_every_page_of_branch_rules_is_read():
    rule = recorded("branch-rules.json")[0]
    many = [dict(rule, ruleset_id=i) for i in range(150)]

    def page(query):
        number = int(query["page"][0])
        return many[(number - 1) * 100 : number * 100]

    github = github_settings.GitHub(REPO, "t", FakeOpener({RULES: page}))
    assert len(github.branch_rules("main")) == 150


def test_docs_checklist_and_the_tool_name_the_same_checks():
    """Each item of docs/ci.md "GitHub settings that must hold" names the
    checks that verify it or says it stays manual; every check is named;
    docs/cli.md's table lists every check."""
    root = Path(__file__).resolve().parents[1]
    ci = (root / "docs" / "ci.md").read_text()
    section = ci.split("## GitHub settings that must hold", 1)[1].split("\n## ", 1)[0]
    items = re.split(r"\n- \[ \] ", section)[1:]
    assert items
    named: set[str] = set()
    for item in items:
        ids = set(re.findall(r"`((?:environment|main|actions)\.[a-z_]+)`", item))
        assert ids or "manual" in item.lower(), item
        named |= ids
    assert named == set(github_settings.CHECKS)
    cli = (root / "docs" / "cli.md").read_text()
    cli = cli.split("## GitHub settings: `make github-check`", 1)[1].split("\n## ", 1)[0]
    table = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", cli, re.M))
    assert table == set(github_settings.CHECKS)
