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
  branch rule (a pull request runs on its merge ref).

Calls (GET only): ``/repos/{owner}/{repo}/environments`` (REST API
"List environments",
https://docs.github.com/en/rest/deployments/environments#list-environments;
each environment's ``protection_rules`` and ``deployment_branch_policy``)
and ``/repos/{owner}/{repo}/environments/{name}/deployment-branch-policies``
(REST API "List deployment branch policies",
https://docs.github.com/en/rest/deployments/branch-policies#list-deployment-branch-policies).
The token comes from ``GITHUB_TOKEN``: a fine-grained token with
"Actions" and "Environments" read, or ``gh auth token``.

Exit code 0 when every check passes, 1 when one fails, 2 when the input is
bad or the API cannot be read (no token, a malformed repository, a refused
token, no network), in one line naming what is missing.
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
DOC = 'docs/ci.md, "GitHub settings that must hold"'
#: GitHub's repository naming: an owner of letters, digits and single
#: hyphens; a name of letters, digits, ``.``, ``_`` and ``-``.
REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
PAGE = 100


class Refused(Exception):
    """Bad input or an unreadable API: exit code 2, one line."""


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

    def line(self) -> str:
        where = "" if self.passed else f" ({DOC})"
        return f"{'PASS' if self.passed else 'FAIL'} {self.check:<28} {self.subject}: {self.message}{where}"


class GitHub:
    """GET of the REST API with a bearer token, through ``opener``."""

    def __init__(self, repository: str, token: str, opener: Opener | None = None) -> None:
        self.repository = repository
        self.token = token
        self.opener = opener or urllib.request.build_opener()

    def get(self, path: str, **query: object) -> Any:
        """The decoded JSON of ``GET /repos/<repository><path>``; None for 404."""
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
            if error.code == 404:
                return None
            if error.code in (401, 403):
                raise Refused(
                    f"GitHub refused the token for {self.repository} (HTTP {error.code}): "
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

    def branch_policies(self, environment: str) -> list[dict]:
        name = urllib.parse.quote(environment, safe="")
        body = self.get(f"/environments/{name}/deployment-branch-policies", per_page=PAGE)
        return list((body or {}).get("branch_policies") or [])


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


def check(environments: list[EnvironmentConfig], github: GitHub) -> list[Result]:
    """One result per check, in configuration order."""
    from config.naming import github_environments, plan_environment

    existing = github.environments()
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
    return results


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
    failed = sum(not r.passed for r in results)
    print(f"github-check: {repository}: {len(results) - failed} passed, {failed} failed")
    return FAILED if failed else OK


if __name__ == "__main__":
    sys.exit(main())
