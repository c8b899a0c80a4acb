"""What the release tool knows of a CodeDeploy deployment without asking
AWS: the release marker in its description (how a release finds its own
deployment again), whether it rolls another one back, and the commands
on-call runs for it, and how every page of a ListDeployments answer is
read. Shared by the deployment, its checks and the on-call commands.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from release_guard.handler import ROLLBACK_CREATOR

if TYPE_CHECKING:
    from release.target import ReleaseTarget


#: Written into every deployment's description: CreateDeployment takes no
#: client token, so this is how a release finds its own deployment again.
MARKER_PREFIX = "release-marker"


def rollback_of(info: dict) -> str | None:
    """The deployment that ``info`` rolls back, or None when it is no rollback.
    A rollback whose trigger is not recorded answers ``"an earlier deployment"``."""
    triggering = (info.get("rollbackInfo") or {}).get("rollbackTriggeringDeploymentId")
    if triggering:
        return triggering
    if info.get("creator") == ROLLBACK_CREATOR:
        return "an earlier deployment"
    return None


def every_deployment(list_deployments: Callable[..., dict], **params) -> list[str]:
    """The deployment ids of every page of ``list_deployments(**params)``
    (CodeDeploy ListDeployments: an answer with ``nextToken`` has more pages;
    https://boto3.amazonaws.com/v1/documentation/api/latest/reference/services/codedeploy/client/list_deployments.html)."""
    ids: list[str] = []
    while True:
        page = list_deployments(**params)
        ids += page.get("deployments") or []
        token = page.get("nextToken")
        if not token:
            return ids
        params = {**params, "nextToken": token}


def release_marker(service: str, digest: str, nonce: str | None = None) -> str:
    """``release-marker <service>@<digest>/<nonce>``: the image identifies a
    re-run of the same release, the nonce this one run."""
    return f"{image_marker(service, digest)}/{nonce or secrets.token_hex(6)}"


def image_marker(service: str, digest: str) -> str:
    return f"{MARKER_PREFIX} {service}@{digest}"


def marker_in(description: str | None) -> str | None:
    """The release marker written into a deployment's description, or None."""
    match = re.search(rf"{MARKER_PREFIX} \S+@sha256:[0-9a-f]{{64}}/[0-9a-f]+", description or "")
    return match.group(0) if match else None


def oncall_command(t: ReleaseTarget, command: str, deployment_id: str | None = None) -> str:
    """``.venv/bin/python -m release <command> ...`` for this target."""
    line = f".venv/bin/python -m release {command} --env {t.environment.name} --service {t.service_name}"
    if deployment_id:
        line += f" --deployment-id {deployment_id}"
    return f"`{line}`"


def watch_commands(t: ReleaseTarget, deployment_id: str | None = None) -> str:
    """How to pick the deployment up again (``follow``: to its end, with the
    release's exit codes) or look at it (``status``) from another shell."""
    if not deployment_id:
        return oncall_command(t, "status")
    return (
        f"{oncall_command(t, 'follow', deployment_id)} (to its end, with the release's exit "
        f"codes) or {oncall_command(t, 'status', deployment_id)}"
    )


def stop_command(t: ReleaseTarget, deployment_id: str) -> str:
    """How to stop it with rollback (never said of a rollback: ``stop``
    refuses those)."""
    return oncall_command(t, "stop", deployment_id)
