"""On-call commands: ``status`` and ``stop`` of a service's deployment.

``.venv/bin/python -m release status --env E --service S``: the active deployment of
the service's deployment group (or the last one), its lifecycle step,
traffic split and task counts, and the state of the group's rollback
alarms. ``.venv/bin/python -m release stop --env E --service S``: stops the active
deployment with automatic rollback (CodeDeploy StopDeployment,
``autoRollbackEnabled``). Read-only failures refuse with exit 3; nothing is
changed by ``status``.
"""

from __future__ import annotations

from typing import TextIO

from release.checks import ACTIVE_DEPLOYMENT_STATUSES
from release.deploy import (
    _ACCESS_DENIED_CODES,
    AwsClients,
    _error_code,
    credential_problem,
    describe_target,
    stop_command,
    watch_commands,
)
from release.errors import EXIT_OK, ReleaseRefused
from release.target import ReleaseTarget

#: How many of the group's deployments ``status`` reads to find the last one
#: (GetDeployment each: the release role's permission, no BatchGetDeployments).
_RECENT = 10


class OnCall:
    """Reads (and for ``stop``, stops) the deployment of one service."""

    def __init__(self, target: ReleaseTarget, clients: AwsClients, out: TextIO):
        self.target = target
        self.clients = clients
        self.out = out

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def _call(self, what: str, call, *, allow: tuple[str, ...] = (), **params):
        """``call(**params)``; an AWS error refuses (exit 3), except the
        error codes in ``allow``: then None."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call(**params)
        except (ClientError, BotoCoreError) as err:
            code, message = _error_code(err)
            if code in allow:
                return None
            problem = credential_problem(err)
            raise ReleaseRefused(
                f"{what}: "
                + (
                    f"no usable AWS credentials ({problem}); log in and retry"
                    if problem
                    else f"{code}: {message}"
                )
                + ". Nothing was changed."
            ) from None

    def _group(self) -> dict:
        t = self.target
        return {
            "applicationName": t.codedeploy_application,
            "deploymentGroupName": t.deployment_group,
        }

    def active(self) -> list[str]:
        cd = self.clients.codedeploy
        answer = self._call(
            "codedeploy.list_deployments",
            cd.list_deployments,
            **self._group(),
            includeOnlyStatuses=list(ACTIVE_DEPLOYMENT_STATUSES),
        )
        return answer.get("deployments") or []

    def latest(self) -> dict | None:
        """The active deployment, else the most recently created one."""
        cd = self.clients.codedeploy
        ids = self.active()
        if not ids:
            ids = (
                self._call("codedeploy.list_deployments", cd.list_deployments, **self._group()).get(
                    "deployments"
                )
                or []
            )[:_RECENT]
        if not ids:
            return None
        infos = [
            self._call("codedeploy.get_deployment", cd.get_deployment, deploymentId=d)[
                "deploymentInfo"
            ]
            for d in ids[:_RECENT]
        ]
        return max(infos, key=lambda i: i.get("createTime") or 0, default=None)

    def status(self) -> int:
        t = self.target
        info = self.latest()
        where = (
            f"{t.service_name} in {t.environment.name} "
            f"({t.codedeploy_application}/{t.deployment_group})"
        )
        if info is None:
            self.say(f"{where}: no deployment yet")
        else:
            deployment_id = info["deploymentId"]
            active = info.get("status") not in ("Succeeded", "Failed", "Stopped")
            self.say(
                f"{where}: {'active' if active else 'last'} deployment {deployment_id} "
                f"{info.get('status')}, created {info.get('createTime')}"
                + (f" ({info['description']})" if info.get("description") else "")
            )
            error = info.get("errorInformation") or {}
            if error:
                self.say(f"  error: {error.get('code')}: {error.get('message')}")
            rollback = info.get("rollbackInfo") or {}
            if rollback.get("rollbackDeploymentId"):
                self.say(f"  rolled back by {rollback['rollbackDeploymentId']}")
            if rollback.get("rollbackTriggeringDeploymentId"):
                self.say(f"  rollback of {rollback['rollbackTriggeringDeploymentId']}")
            target = self._call(
                "codedeploy.get_deployment_target",
                self._target,
                deploymentId=deployment_id,
            )
            parts = describe_target(target, info, deployment_id)
            self.say("  " + (" | ".join(parts) if parts else "no task set information"))
            if active:
                self.say(f"  stop it with {stop_command(t, deployment_id)}")
        self._alarms()
        return EXIT_OK

    def _target(self, **params) -> dict:
        from botocore.exceptions import ClientError

        try:
            answer = self.clients.codedeploy.get_deployment_target(
                targetId=self.target.deployment_target_id, **params
            )
        except ClientError as err:
            if _error_code(err)[0] == "DeploymentTargetDoesNotExistException":
                return {}
            raise
        return (answer.get("deploymentTarget") or {}).get("ecsTarget") or {}

    def _alarms(self) -> None:
        cd = self.clients.codedeploy
        group = self._call(
            "codedeploy.get_deployment_group", cd.get_deployment_group, **self._group()
        )["deploymentGroupInfo"]
        config = group.get("alarmConfiguration") or {}
        names = [a["name"] for a in config.get("alarms") or [] if a.get("name")]
        if not names or not config.get("enabled", False):
            self.say("  alarms: none roll this group back")
            return
        cw = self.clients.cloudwatch
        answer = self._call(
            "cloudwatch.describe_alarms",
            cw.describe_alarms,
            allow=_ACCESS_DENIED_CODES,
            AlarmNames=names,
        )
        if answer is None:
            # Denied: the deployment is shown already, and the names still help.
            self.say(
                f"  alarms: {', '.join(names)} (states not readable: access denied; the "
                "release role needs cloudwatch:DescribeAlarms, docs/release.md)"
            )
            return
        found = answer.get("MetricAlarms") or []
        states = {a["AlarmName"]: a.get("StateValue", "?") for a in found}
        self.say("  alarms: " + ", ".join(f"{n} {states.get(n, 'MISSING')}" for n in names))

    def stop(self) -> int:
        t = self.target
        cd = self.clients.codedeploy
        active = self.active()
        if not active:
            raise ReleaseRefused(
                f"no active deployment in {t.codedeploy_application}/{t.deployment_group}; "
                "nothing to stop. Nothing was changed."
            )
        deployment_id = active[0]
        answer = self._call(
            "codedeploy.stop_deployment",
            cd.stop_deployment,
            deploymentId=deployment_id,
            autoRollbackEnabled=True,
        )
        self.say(
            f"stop requested for deployment {deployment_id}: {answer.get('status')}"
            + (f" ({answer['statusMessage']})" if answer.get("statusMessage") else "")
            + "; CodeDeploy rolls back to the previous task set. Watch it with "
            + watch_commands(t, deployment_id)
        )
        return EXIT_OK
