"""Read-only check of the GitHub settings the pipeline's identities rely on
(docs/ci.md, "GitHub settings that must hold").

``make github-check REPO=<owner>/<repo>`` (or ``.venv/bin/python
tools/checks/github_settings.py --repo <owner>/<repo>``; without it, the
configuration's ``pipeline.github_repository``) reads the repository's
GitHub environments with the REST API and prints one line per check:

* every GitHub environment a role of a configured environment trusts exists
  (``config.naming.github_environments``: ``<env>``, ``<env>-release`` and,
  for the production tier, ``<env>-plan``);
* each production-tier one has required reviewers with "Prevent
  self-review" on;
* the production tier's deploy and release environments may be entered from
  ``main`` only (custom deployment branch policies naming exactly the branch
  ``main``); the plan environment has reviewers as its control and no
  branch rule (a pull request runs on its merge ref);
* ``main`` is protected, by classic branch protection or by active
  rulesets (either source satisfies a line; GitHub applies both): pull
  request reviews with at least one approval, stale approvals dismissed,
  the pull request workflow's required checks (``make test``, the review
  diff, ``plan <env>`` of every configured environment; names read from
  .github/workflows/pull-request.yml), no force pushes, no deletion;
* the workflow token's default permissions are read-only and Actions may
  not approve pull requests;
* fork pull requests of every outside collaborator need approval.

``CHECKS`` names every check; docs/ci.md's checklist names, for each item,
the checks that verify it or says it stays manual (a test keeps them equal).

Calls (GET only): ``/repos/{owner}/{repo}/environments`` (REST API
"List environments",
https://docs.github.com/en/rest/deployments/environments#list-environments;
each environment's ``protection_rules`` and ``deployment_branch_policy``)
and ``/repos/{owner}/{repo}/environments/{name}/deployment-branch-policies``
(REST API "List deployment branch policies",
https://docs.github.com/en/rest/deployments/branch-policies#list-deployment-branch-policies),
``/repos/{owner}/{repo}/branches/main/protection`` ("Get branch
protection",
https://docs.github.com/en/rest/branches/branch-protection#get-branch-protection),
``/repos/{owner}/{repo}/rules/branches/main`` (all pages; "Get rules for a
branch", https://docs.github.com/en/rest/repos/rules#get-rules-for-a-branch),
``/repos/{owner}/{repo}/actions/permissions/workflow`` ("Get default
workflow permissions for a repository",
https://docs.github.com/en/rest/actions/permissions#get-default-workflow-permissions-for-a-repository)
and ``/repos/{owner}/{repo}/actions/permissions/fork-pr-contributor-approval``
("Get fork PR contributor approval permissions for a repository",
https://docs.github.com/en/rest/actions/permissions#get-fork-pr-contributor-approval-permissions-for-a-repository).
The token comes from ``GITHUB_TOKEN``: a fine-grained token with
"Actions", "Environments", "Metadata" and "Administration" read (the last
for branch protection and the Actions settings), or ``gh auth token`` of a
repository administrator.

Exit code 0 when every check passes, 1 when one fails, 2 when the input is
bad or the API cannot be read (no token, a malformed repository, a refused
token, no network: one line naming what is missing; or a check's setting
the token may not read, nothing having failed: its ``UNREAD`` line names
the permission).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from config.model import EnvironmentConfig

ROOT = Path(__file__).resolve().parents[2]
API = "https://api.github.com"
#: GitHub's REST API version these calls are written against.
API_VERSION = "2022-11-28"
OK, FAILED, REFUSED = 0, 1, 2
MAIN = "main"
WORKFLOW = ROOT / ".github" / "workflows" / "pull-request.yml"
#: The pull request workflow's jobs whose checks must be required on main
#: (docs/ci.md): make test, the review diff and the plans.
REQUIRED_JOBS = ("test", "review-diff", "plan", "plan-production")
#: A job's check is named by its evaluated ``name:`` (its id without one):
#: ``plan ${{ matrix.environment }}`` reports ``plan dev``, ``plan prod``
#: (workflow syntax, jobs.<job_id>.name,
#: https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#jobsjob_idname;
#: required checks match that name,
#: https://docs.github.com/en/pull-requests/collaborating-with-pull-requests/collaborating-on-repositories-with-code-quality-features/troubleshooting-required-status-checks).
MATRIX_ENVIRONMENT = "${{ matrix.environment }}"
ADMINISTRATION = "Administration: read (fine-grained token; classic: admin on the repository)"
#: Every check, as docs/ci.md ("GitHub settings that must hold") and
#: docs/cli.md name them.
CHECKS = {
    "environment.exists": "each GitHub environment a role trusts exists",
    "environment.reviewers": "production-tier environments have reviewers, self-review prevented",
    "environment.branches": "production deploy and release environments admit main only",
    "main.reviews": "main needs a pull request with at least one approving review",
    "main.stale_reviews": "a push to a pull request dismisses its approvals",
    "main.status_checks": "make test, review diff and plan <env> checks are required",
    "main.force_pushes": "force pushes to main are blocked",
    "main.deletions": "main cannot be deleted",
    "actions.workflow_permissions": "the workflow token is read-only; Actions cannot approve",
    "actions.fork_approval": "fork pull requests of every outside collaborator need approval",
}
DOC = 'docs/ci.md, "GitHub settings that must hold"'
#: GitHub's repository naming: an owner of letters, digits and single
#: hyphens; a name of letters, digits, ``.``, ``_`` and ``-``.
REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
PAGE = 100


class Refused(Exception):
    """Bad input or an unreadable API: exit code 2, one line."""


class Unread(Exception):
    """One setting the token may not read (HTTP 403, 404 or 422)."""

    def __init__(self, path: str, status: int, message: str) -> None:
        super().__init__(f"{path}: HTTP {status} {message}".rstrip())
        self.status = status
        self.message = message


class Opener(Protocol):
    """What the check needs of ``urllib.request.OpenerDirector``."""

    def open(self, fullurl: urllib.request.Request, data: None = None, timeout: float = ...) -> Any:
        """A response with ``read()``; raises ``urllib.error.HTTPError``."""


@dataclass(frozen=True)
class Result:
    check: str
    subject: str
    passed: bool
    message: str
    #: The setting could not be read: neither passed nor failed.
    unread: bool = False

    @property
    def failed(self) -> bool:
        return not self.passed and not self.unread

    def line(self) -> str:
        word = "PASS" if self.passed else "UNREAD" if self.unread else "FAIL"
        where = "" if self.passed else f" ({DOC})"
        return f"{word} {self.check:<28} {self.subject}: {self.message}{where}"


class GitHub:
    """GET of the REST API with a bearer token, through ``opener``."""

    def __init__(self, repository: str, token: str, opener: Opener | None = None) -> None:
        self.repository = repository
        self.token = token
        self.opener = opener or urllib.request.build_opener()

    def get(self, path: str, **query: object) -> Any:
        """The decoded JSON of ``GET /repos/<repository><path>``; None for 404."""
        try:
            return self.read(path, **query)
        except Unread as error:
            if error.status == 404:
                return None
            if error.status == 422:
                raise Refused(f"GitHub answered HTTP 422 for {path}: {error.message}") from None
            raise Refused(
                f"GitHub refused the token for {self.repository} (HTTP {error.status}): "
                "GITHUB_TOKEN needs read access to its Actions and Environments"
            ) from None

    def read(self, path: str, **query: object) -> Any:
        """The decoded JSON of ``GET /repos/<repository><path>``; Unread for
        HTTP 403, 404 and 422 (with GitHub's message), Refused otherwise."""
        url = f"{API}/repos/{self.repository}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(
            url,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self.token}",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "payment-platform-github-check",
            },
        )
        try:
            with self.opener.open(request, timeout=30) as response:
                return json.loads(response.read().decode())
        except urllib.error.HTTPError as error:
            if error.code in (403, 404, 422):
                raise Unread(path, error.code, _message(error)) from None
            if error.code == 401:
                raise Refused(
                    f"GitHub refused the token for {self.repository} (HTTP 401): "
                    "GITHUB_TOKEN needs read access to its Actions and Environments"
                ) from None
            raise Refused(f"GitHub answered HTTP {error.code} for {url}") from None
        except urllib.error.URLError as error:
            raise Refused(f"cannot reach {API}: {error.reason}") from None
        except ValueError:
            raise Refused(f"{url} did not answer JSON") from None

    def environments(self) -> dict[str, dict]:
        """Every environment of the repository by name (all pages)."""
        found: dict[str, dict] = {}
        page = 1
        while True:
            body = self.get("/environments", per_page=PAGE, page=page)
            if body is None:
                raise Refused(
                    f"repository {self.repository} not found (or the token cannot see it)"
                )
            batch = body.get("environments") or []
            found.update({env["name"]: env for env in batch})
            if len(batch) < PAGE or len(found) >= int(body.get("total_count", 0)):
                return found
            page += 1

    def branch_rules(self, branch: str) -> list[dict]:
        """Every active rule that applies to ``branch`` (all pages)."""
        name = urllib.parse.quote(branch, safe="")
        rules: list[dict] = []
        page = 1
        while True:
            batch = self.read(f"/rules/branches/{name}", per_page=PAGE, page=page) or []
            rules.extend(batch)
            if len(batch) < PAGE:
                return rules
            page += 1

    def branch_policies(self, environment: str) -> list[dict]:
        name = urllib.parse.quote(environment, safe="")
        body = self.get(f"/environments/{name}/deployment-branch-policies", per_page=PAGE)
        return list((body or {}).get("branch_policies") or [])


def _message(error: urllib.error.HTTPError) -> str:
    """GitHub's ``message`` of an error answer ("Branch not protected")."""
    try:
        body = json.loads(error.read().decode() or "{}")
    except (ValueError, OSError):
        return ""
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def _reviewers(name: str, environment: dict) -> Result:
    rules = [
        r
        for r in environment.get("protection_rules") or []
        if r.get("type") == "required_reviewers"
    ]
    reviewers = [r for rule in rules for r in rule.get("reviewers") or []]
    if not reviewers:
        return Result(
            "environment.reviewers", name, False, "no required reviewers: add at least one"
        )
    if not all(rule.get("prevent_self_review") for rule in rules):
        return Result(
            "environment.reviewers",
            name,
            False,
            f"{len(reviewers)} required reviewer(s), but the one who started a run may approve it: "
            "turn on Prevent self-review",
        )
    return Result(
        "environment.reviewers",
        name,
        True,
        f"{len(reviewers)} required reviewer(s), self-review prevented",
    )


def _main_only(github: GitHub, name: str, environment: dict) -> Result:
    policy = environment.get("deployment_branch_policy")
    if not policy:
        return Result(
            "environment.branches", name, False, "any branch may enter it: select main only"
        )
    if policy.get("protected_branches"):
        return Result(
            "environment.branches",
            name,
            False,
            "every protected branch may enter it: select custom branch policies, main only",
        )
    rules = [(p.get("type", "branch"), p.get("name")) for p in github.branch_policies(name)]
    if rules != [("branch", MAIN)]:
        shown = ", ".join(f"{kind} {pattern}" for kind, pattern in rules) or "none"
        return Result(
            "environment.branches", name, False, f"deployment branch policies {shown}: main only"
        )
    return Result("environment.branches", name, True, "only the branch main may enter it")


def required_checks(environments: list[EnvironmentConfig], workflow: Path = WORKFLOW) -> list[str]:
    """The check names main must require: each REQUIRED_JOBS job's name in
    the pull request workflow, ``plan <env>`` for every configured environment."""
    import yaml  # in .venv (make setup), as tools/review/plan_env.py

    try:
        jobs = (yaml.safe_load(workflow.read_text()) or {}).get("jobs") or {}
    except (OSError, yaml.YAMLError) as error:
        raise Refused(f"cannot read {workflow.name}: {error}") from None
    names: list[str] = []
    for job_id in REQUIRED_JOBS:
        if job_id not in jobs:
            raise Refused(f"{workflow.name} has no job {job_id!r}")
        name = str(jobs[job_id].get("name") or job_id)
        expanded = (
            [name.replace(MATRIX_ENVIRONMENT, env.name) for env in environments]
            if MATRIX_ENVIRONMENT in name
            else [name]
        )
        names += [n for n in expanded if n not in names]
    if any("${{" in name for name in names):
        raise Refused(
            f"{workflow.name}: a required job's name has an expression other than the environment"
        )
    return names


@dataclass(frozen=True)
class Protection:
    """What protects main: classic protection (None when not protected),
    the active rules, and which of the two the token could not read."""

    classic: dict | None
    rules: list[dict]
    unread: dict[str, str]

    def rule(self, kind: str) -> list[dict]:
        return [r.get("parameters") or {} for r in self.rules if r.get("type") == kind]


def _protection(github: GitHub) -> Protection:
    unread: dict[str, str] = {}
    classic: dict | None = None
    try:
        classic = github.read(f"/branches/{MAIN}/protection")
    except Unread as error:
        # 404 "Branch not protected" is an answer; any other 403/404 is a
        # token without admin read (GitHub hides what it may not show).
        if not (error.status == 404 and error.message == "Branch not protected"):
            unread["branch protection"] = (
                f"{ADMINISTRATION}; GitHub said HTTP {error.status} {error.message}".rstrip()
            )
    rules: list[dict] = []
    try:
        rules = github.branch_rules(MAIN)
    except Unread as error:
        unread["rulesets"] = (
            f"Metadata: read; GitHub said HTTP {error.status} {error.message}".rstrip()
        )
    return Protection(classic, rules, unread)


def _main(check: str, protection: Protection, held: str | None, missing: str) -> Result:
    """``held`` names the source that satisfies ``check``; otherwise FAIL
    with ``missing``, or UNREAD when a source the token cannot read might."""
    if held:
        return Result(check, MAIN, True, held)
    if protection.unread:
        return Result(
            check,
            MAIN,
            False,
            "cannot read "
            + "; ".join(f"{what}: needs {why}" for what, why in protection.unread.items()),
            unread=True,
        )
    if protection.classic is None and not protection.rules:
        missing = "main is not protected (no branch protection, no active ruleset): " + missing
    return Result(check, MAIN, False, missing)


def _forbidden(protection: Protection, allowed: str, rule: str) -> str | None:
    """Which source forbids what classic ``allowed`` / ruleset ``rule`` names."""
    if protection.classic is not None and not (protection.classic.get(allowed) or {}).get(
        "enabled"
    ):
        return f"branch protection: {allowed} off"
    if protection.rule(rule):
        return f"ruleset: {rule} rule"
    return None


def _main_results(github: GitHub, required: list[str]) -> list[Result]:
    protection = _protection(github)
    classic = protection.classic or {}
    reviews = classic.get("required_pull_request_reviews") or {}
    ruled_reviews = protection.rule("pull_request")

    def approvals(parameters: dict) -> int:
        return int(parameters.get("required_approving_review_count") or 0)

    held_reviews = (
        f"branch protection: {approvals(reviews)} approving review(s)"
        if reviews and approvals(reviews) >= 1
        else next(
            (
                f"ruleset: {approvals(p)} approving review(s)"
                for p in ruled_reviews
                if approvals(p) >= 1
            ),
            None,
        )
    )
    held_stale = (
        "branch protection dismisses stale approvals"
        if reviews.get("dismiss_stale_reviews")
        else "a ruleset dismisses stale approvals on push"
        if any(p.get("dismiss_stale_reviews_on_push") for p in ruled_reviews)
        else None
    )
    contexts = classic.get("required_status_checks") or {}
    have = set(contexts.get("contexts") or []) | {
        c.get("context") for c in contexts.get("checks") or []
    }
    ruled = {
        c.get("context")
        for p in protection.rule("required_status_checks")
        for c in p.get("required_status_checks") or []
    }
    sources = " and ".join(
        source for source, names in (("branch protection", have), ("ruleset", ruled)) if names
    )
    have |= ruled
    absent = [name for name in required if name not in have]
    return [
        _main(
            "main.reviews",
            protection,
            held_reviews,
            "require a pull request with at least one approving review",
        ),
        _main(
            "main.stale_reviews",
            protection,
            held_stale,
            "dismiss stale pull request approvals when new commits are pushed",
        ),
        _main(
            "main.status_checks",
            protection,
            None
            if absent
            else f"{sources}: {len(required)} required check(s), {', '.join(required)}",
            "require the checks " + ", ".join(absent),
        ),
        _main(
            "main.force_pushes",
            protection,
            _forbidden(protection, "allow_force_pushes", "non_fast_forward"),
            "block force pushes",
        ),
        _main(
            "main.deletions",
            protection,
            _forbidden(protection, "allow_deletions", "deletion"),
            "restrict deletions",
        ),
    ]


def _actions_results(github: GitHub) -> list[Result]:
    results = []
    for check, path, judge in (
        ("actions.workflow_permissions", "/actions/permissions/workflow", _workflow_permissions),
        (
            "actions.fork_approval",
            "/actions/permissions/fork-pr-contributor-approval",
            _fork_approval,
        ),
    ):
        try:
            body = github.read(path) or {}
        except Unread as error:
            results.append(
                Result(
                    check,
                    github.repository,
                    False,
                    f"cannot read {path}: needs {ADMINISTRATION}; "
                    f"GitHub said HTTP {error.status} {error.message}".rstrip(),
                    unread=True,
                )
            )
            continue
        passed, message = judge(body)
        results.append(Result(check, github.repository, passed, message))
    return results


def _workflow_permissions(body: dict) -> tuple[bool, str]:
    default = body.get("default_workflow_permissions")
    approve = body.get("can_approve_pull_request_reviews")
    if default != "read":
        return False, f"the workflow token defaults to {default!r}: choose read repository contents"
    if approve is not False:
        return False, "Actions may create and approve pull requests: turn it off"
    return True, "read-only default token; Actions cannot approve pull requests"


def _fork_approval(body: dict) -> tuple[bool, str]:
    policy = body.get("approval_policy")
    if policy != "all_external_contributors":
        return False, f"approval policy {policy}: require approval for all outside collaborators"
    return True, "every outside collaborator's fork pull request waits for approval"


def check(environments: list[EnvironmentConfig], github: GitHub) -> list[Result]:
    """One result per check: environments in configuration order, then main,
    then the Actions settings."""
    from config.naming import github_environments, plan_environment

    existing = github.environments()
    required = required_checks(environments)
    results = []
    for env in environments:
        for name in github_environments(env):
            found = existing.get(name)
            if found is None:
                results.append(
                    Result(
                        "environment.exists",
                        name,
                        False,
                        f"missing: a role of {env.name} trusts its OIDC subject; create it",
                    )
                )
                continue
            results.append(Result("environment.exists", name, True, "exists"))
            if not env.is_production:
                continue
            results.append(_reviewers(name, found))
            if name != plan_environment(env):
                results.append(_main_only(github, name, found))
    return results + _main_results(github, required) + _actions_results(github)


def _repository(given: str | None, environments: list[EnvironmentConfig]) -> str:
    from config.model import PLACEHOLDER_GITHUB_REPOSITORY

    repositories = {env.pipeline.github_repository for env in environments}
    repository = given or (repositories.pop() if len(repositories) == 1 else "")
    if not repository:
        raise Refused("no repository: give REPO=<owner>/<repo> (make github-check)")
    if repository == PLACEHOLDER_GITHUB_REPOSITORY:
        raise Refused(
            "pipeline.github_repository is the placeholder: give REPO=<owner>/<repo> or set it"
        )
    if not REPOSITORY.match(repository):
        raise Refused(f"repository {repository!r} is not <owner>/<repo>")
    return repository


def main(argv: list[str] | None = None, opener: Opener | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repo", help="<owner>/<repo> (default: the configuration's pipeline.github_repository)"
    )
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from config import ConfigError, load_environments

    try:
        environments = list(load_environments())
        repository = _repository(args.repo, environments)
        token = os.environ.get("GITHUB_TOKEN", "").strip()
        if not token:
            raise Refused(
                "GITHUB_TOKEN is not set: export a token that can read the repository's "
                "environments (e.g. GITHUB_TOKEN=$(gh auth token))"
            )
        results = check(environments, GitHub(repository, token, opener))
    except ConfigError as error:
        print(f"github-check: {'; '.join(error.problems)}", file=sys.stderr)
        return REFUSED
    except Refused as error:
        print(f"github-check: {error}", file=sys.stderr)
        return REFUSED
    for result in results:
        print(result.line())
    failed = sum(r.failed for r in results)
    unread = sum(r.unread for r in results)
    passed = len(results) - failed - unread
    tail = f", {unread} not read" if unread else ""
    print(f"github-check: {repository}: {passed} passed, {failed} failed{tail}")
    return FAILED if failed else REFUSED if unread else OK


if __name__ == "__main__":
    sys.exit(main())
