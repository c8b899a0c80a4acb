"""``make github-check`` (tools/checks/github_settings.py): the GitHub environments
the pipeline's OIDC subjects name, read from the REST API, offline.

The responses are recorded in tests/fixtures/github (each names the REST
API page whose documented shape it follows) and served by a fake urllib
opener: the tool's own request building, paging and error handling run.
No AWS, no moto: this module is part of the fast suite (not aws_replay).
"""

from __future__ import annotations

import copy
import io
import json
import urllib.error
import urllib.parse
from pathlib import Path

import pytest

from config.naming import github_environments, plan_environment, release_environment
from tools.checks import github_settings

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "github"
REPO = "acme/payments"
ENVIRONMENTS_URL = f"https://api.github.com/repos/{REPO}/environments"


def recorded(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())["response"]


class FakeOpener:
    """``urllib.request.OpenerDirector.open`` answering from ``routes``
    (URL path -> JSON body, or an int: that HTTP error)."""

    def __init__(self, routes: dict[str, object]) -> None:
        self.routes = routes
        self.requests: list = []

    def open(self, request, data=None, timeout=None):
        self.requests.append(request)
        url = urllib.parse.urlsplit(request.full_url)
        answer = self.routes.get(url.path)
        if isinstance(answer, Exception):
            raise answer
        if answer is None or isinstance(answer, int):
            code = answer or 404
            raise urllib.error.HTTPError(request.full_url, code, "error", {}, io.BytesIO(b"{}"))
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


def example_routes() -> dict[str, object]:
    routes: dict[str, object] = {"/repos/acme/payments/environments": recorded("environments.json")}
    for env in recorded("environments.json")["environments"]:
        path = f"/repos/acme/payments/environments/{env['name']}/deployment-branch-policies"
        routes[path] = recorded("deployment-branch-policies.json")
    return routes


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
    github = github_settings.GitHub(REPO, "t", FakeOpener(as_documented(names, production, plans)))
    results = github_settings.check(configured, github)
    assert all(r.passed for r in results), [r.line() for r in results if not r.passed]
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
    ],
    ids=[
        "no-prod-plan",
        "release-unreviewed",
        "self-review",
        "any-branch",
        "protected-branches",
        "more-than-main",
        "plan-unreviewed",
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
