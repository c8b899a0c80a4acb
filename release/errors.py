"""Errors of the release tool and the exit codes they map to.

``EXIT_CODES`` is the one table of exit codes: the code uses its constants,
docs/release.md prints it (``exit_code_table``; a test compares the two).
The code tells a pipeline what happened and what is still running:

- 0: released (or dry run / check / status / stop done);
- 1: the deployment failed or was stopped, and CodeDeploy's rollback
  succeeded: production is on the previous task set;
- 2: bad input or configuration, refused before any AWS call;
- 3: refused (by a read-only check, by STS when the release role's session
  cannot be had, or by AWS before anything was deployed); nothing is left
  that changes what runs;
- 4: a deployment continues in AWS but the tool no longer follows it
  (deadline, credentials expired, AWS unreachable);
- 5: the deployment failed and its rollback failed, or the rollback's
  outcome could not be read: check production by hand;
- 6: the deployment failed or was stopped and no rollback ran: traffic is
  where CodeDeploy left it;
- 130 / 143: interrupted by SIGINT / SIGTERM; the message says what
  continues and how to watch it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExitCode:
    code: int
    meaning: str
    #: What changed in AWS, as the table in docs/release.md says it.
    changed: str


EXIT_OK = 0
#: Failed or stopped, and the automatic rollback succeeded.
EXIT_ROLLED_BACK = 1
EXIT_INPUT = 2
EXIT_REFUSED = 3
EXIT_NOT_FOLLOWED = 4
EXIT_SIGINT = 130
EXIT_SIGTERM = 143
#: Failed, and the rollback failed or its outcome could not be read.
EXIT_ROLLBACK_FAILED = 5
#: Failed or stopped, and no rollback ran (rollbackInfo read several times).
EXIT_NO_ROLLBACK = 6
#: Former name: a failed deployment that was rolled back.
EXIT_DEPLOYMENT_FAILED = EXIT_ROLLED_BACK
#: Former names, kept for callers of the tool's Python API.
EXIT_TIMEOUT = EXIT_NOT_FOLLOWED
EXIT_INTERRUPTED = EXIT_SIGINT

#: Every exit code of ``.venv/bin/python -m release`` (release, status, follow, stop).
EXIT_CODES: tuple[ExitCode, ...] = (
    ExitCode(
        EXIT_OK,
        "released (or `follow`: the deployment succeeded); or the dry run, `--check`, "
        "`status` or `stop` did what was asked",
        "a release: the new revision serves production traffic; `stop`: the deployment "
        "is stopping and rolling back; otherwise nothing",
    ),
    ExitCode(
        EXIT_ROLLED_BACK,
        "the deployment failed or was stopped, and CodeDeploy rolled it back "
        "(first line `... failed, rolled back: ...`)",
        "a revision was registered; production traffic is on the previous task set",
    ),
    ExitCode(
        EXIT_INPUT,
        "bad input or configuration (arguments, outputs file, AWS profile); refused before "
        "any AWS call",
        "nothing",
    ),
    ExitCode(
        EXIT_REFUSED,
        "refused by a read-only check (image, scan, base revision, deployment in progress, "
        "task sets, credentials, account, resources), by STS (the release role's session: "
        "too short, e.g. role chaining, or not allowed), by AWS before a deployment existed, "
        "or because another release is in progress",
        "nothing that runs: a revision registered for the refused deployment is "
        "deregistered (the message names it if that failed)",
    ),
    ExitCode(
        EXIT_NOT_FOLLOWED,
        "a deployment continues in AWS but is no longer followed (deadline, expired "
        "credentials, AWS unreachable, or unknown whether CodeDeploy created it)",
        "yes: the message names the deployment and the command to watch it",
    ),
    ExitCode(
        EXIT_ROLLBACK_FAILED,
        "the deployment failed and its rollback failed or could not be read (first line "
        "`... failed, ROLLBACK FAILED: ...` or `... failed, ROLLBACK UNKNOWN: ...`)",
        "a revision was registered; production may serve the failed revision: check the "
        "service and its listeners by hand",
    ),
    ExitCode(
        EXIT_NO_ROLLBACK,
        "the deployment failed or was stopped and no rollback ran (first line `... failed, "
        "no rollback: ...`)",
        "a revision was registered; traffic is where CodeDeploy left it",
    ),
    ExitCode(
        EXIT_SIGINT,
        "interrupted by SIGINT (Ctrl-C)",
        "maybe: the message says what continues and how to watch it",
    ),
    ExitCode(
        EXIT_SIGTERM,
        "interrupted by SIGTERM (e.g. the CI job was cancelled)",
        "maybe: the message says what continues and how to watch it",
    ),
)


def exit_code_table() -> str:
    """The Markdown table of docs/release.md, "Exit codes"."""
    lines = ["| code | meaning | what changed in AWS |", "|---|---|---|"]
    lines += [f"| {e.code} | {e.meaning} | {e.changed} |" for e in EXIT_CODES]
    return "\n".join(lines)


class ReleaseError(Exception):
    """A release problem with the message to show and the exit code to use."""

    exit_code = EXIT_DEPLOYMENT_FAILED
    #: Replaces the first line's verdict ("refused", "failed"), e.g.
    #: "failed, rolled back"; None: the exit code's.
    verdict: str | None = None

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ReleaseInputError(ReleaseError):
    """The command line, the configuration or a file given on it is not usable."""

    exit_code = EXIT_INPUT


class ReleaseRefused(ReleaseError):
    """Refused before anything was deployed; nothing left that changes what runs."""

    exit_code = EXIT_REFUSED


class DeploymentFailed(ReleaseError):
    """CodeDeploy ended the deployment unsuccessfully; ``exit_code`` says
    whether it was rolled back (1), the rollback failed or is unknown (5), or
    none ran (6)."""

    exit_code = EXIT_ROLLED_BACK
    #: The first line's outcome (``failed, rolled back``, ``failed, no
    #: rollback``, ...); None: the generic one.
    verdict: str | None = None


class DeploymentNotFollowed(ReleaseError):
    """The deployment continues in AWS; the tool stopped following it."""

    exit_code = EXIT_NOT_FOLLOWED


#: Former name: a deadline is one way of no longer following a deployment.
DeploymentTimedOut = DeploymentNotFollowed


class Terminated(BaseException):
    """Raised by the SIGTERM handler, like KeyboardInterrupt for SIGINT."""
