"""Errors of the release tool and the exit codes they map to.

The exit code tells a pipeline whether anything changed: 2 and 3 mean the
release was refused before the first write call, 1 and 4 mean a deployment
was started (see docs/release.md).
"""

from __future__ import annotations

EXIT_OK = 0
#: The deployment failed, was stopped or rolled back (or starting it failed).
EXIT_DEPLOYMENT_FAILED = 1
#: Bad input (unknown environment/service, bad tag, bad outputs file).
EXIT_INPUT = 2
#: A read-only check refused the release: image missing, deployment in
#: progress, no credentials, resources not as expected. Nothing was changed.
EXIT_REFUSED = 3
#: Gave up waiting; the deployment is still running in CodeDeploy.
EXIT_TIMEOUT = 4
#: Interrupted (Ctrl-C) while watching; the deployment keeps running.
EXIT_INTERRUPTED = 130


class ReleaseError(Exception):
    """A release problem with the message to show and the exit code to use."""

    exit_code = EXIT_DEPLOYMENT_FAILED

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ReleaseInputError(ReleaseError):
    """The command line or a file given on it is not usable."""

    exit_code = EXIT_INPUT


class ReleaseRefused(ReleaseError):
    """A pre-flight check failed; no write call was made."""

    exit_code = EXIT_REFUSED


class DeploymentFailed(ReleaseError):
    """CodeDeploy ended the deployment unsuccessfully."""

    exit_code = EXIT_DEPLOYMENT_FAILED


class DeploymentTimedOut(ReleaseError):
    exit_code = EXIT_TIMEOUT
