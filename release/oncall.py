"""On-call commands: ``status``, ``follow`` and ``stop`` of a service's deployment.

``.venv/bin/python -m release status --env E --service S [--deployment-id D]``:
the deployment (the given one, else the active one, else the newest), its
creator, times, task definition and image digest, lifecycle step, traffic
split and task counts, and the state of the group's rollback alarms.
``follow``: follows the deployment to its end with the release's exit codes
(``release.deploy.Releaser.follow``). ``stop``: stops it with automatic
rollback (CodeDeploy StopDeployment, ``autoRollbackEnabled``), and refuses a
rollback (stopping one leaves production on the failed revision). Every
command first checks that the deployment group deploys this service (the
release's own check) and that a given deployment belongs to that group.
Read-only failures refuse with exit 3; nothing is changed by ``status``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TextIO

from release.aws_errors import ACCESS_DENIED_CODES, credential_problem, error_code
from release.checks import ACTIVE_DEPLOYMENT_STATUSES, verify_group
from release.deploy import (
    FINAL_DEPLOYMENT_STATUSES,
    AwsClients,
    describe_target,
    task_definition_of,
)
from release.deployments import (
    every_deployment,
    marker_in,
    oncall_command,
    rollback_of,
    stop_command,
    watch_commands,
)
from release.errors import EXIT_OK, ReleaseRefused
from release.target import ReleaseTarget

#: ``status`` finds the newest deployment in the smallest of these windows
#: (days back) that has any: ListDeployments' order is not documented, so the
#: ids of that window (every page) are read (GetDeployment each: the release
#: role's permission, no BatchGetDeployments) and the newest createTime wins.
_WINDOWS_DAYS = (1, 7, 30, 365, None)


class OnCall:
    """Reads (and for ``stop``, stops) the deployment of one service."""

    def __init__(
        self,
        target: ReleaseTarget,
        clients: AwsClients,
        out: TextIO,
        deployment_id: str | None = None,
    ):
        self.target = target
        self.clients = clients
        self.out = out
        #: ``--deployment-id``; None: the active deployment (``status``: else the newest).
        self.deployment_id = deployment_id
        self._group_info: dict | None = None

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def _call(self, what: str, call, *, allow: tuple[str, ...] = (), **params):
        """``call(**params)``; an AWS error refuses (exit 3), except the
        error codes in ``allow``: then None."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call(**params)
        except (ClientError, BotoCoreError) as err:
            code, message = error_code(err)
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

    def check_group(self) -> dict:
        """The release's own check: the group deploys this cluster/service
        (so outputs naming another group are refused, exit 3)."""
        if self._group_info is None:
            cd = self.clients.codedeploy
            answer = self._call(
                "codedeploy.get_deployment_group", cd.get_deployment_group, **self._group()
            )
            verify_group(self.target, answer)
            self._group_info = answer["deploymentGroupInfo"]
        return self._group_info

    def active(self) -> list[str]:
        cd = self.clients.codedeploy
        answer = self._call(
            "codedeploy.list_deployments",
            cd.list_deployments,
            **self._group(),
            includeOnlyStatuses=list(ACTIVE_DEPLOYMENT_STATUSES),
        )
        return answer.get("deployments") or []

    def deployment(self, deployment_id: str) -> dict:
        """GetDeployment of ``deployment_id``, refused (exit 3) unless it is a
        deployment of this environment's application and this service's group."""
        t = self.target
        cd = self.clients.codedeploy
        info = self._call(
            "codedeploy.get_deployment",
            cd.get_deployment,
            allow=("DeploymentDoesNotExistException", "InvalidDeploymentIdException"),
            deploymentId=deployment_id,
        )
        if info is None:
            raise ReleaseRefused(
                f"deployment {deployment_id} does not exist in {t.region} for these "
                "credentials; check the id, the region and the account. Nothing was changed."
            )
        info = info["deploymentInfo"]
        where = (info.get("applicationName"), info.get("deploymentGroupName"))
        if where != (t.codedeploy_application, t.deployment_group):
            raise ReleaseRefused(
                f"deployment {deployment_id} belongs to {where[0]}/{where[1]}, not to "
                f"{t.codedeploy_application}/{t.deployment_group} ({t.service_name} in "
                f"{t.environment.name}). Nothing was changed."
            )
        return info

    def _all_ids(self, **params) -> list[str]:
        cd = self.clients.codedeploy
        return every_deployment(
            lambda **page: self._call("codedeploy.list_deployments", cd.list_deployments, **page),
            **self._group(),
            **params,
        )

    def newest(self) -> dict | None:
        """The most recently created deployment of the group (every page of
        the smallest time window that has any)."""
        now = datetime.now(UTC)
        for days in _WINDOWS_DAYS:
            window = {"createTimeRange": {"start": now - timedelta(days=days)}} if days else {}
            ids = self._all_ids(**window)
            if ids:
                infos = [self.deployment(d) for d in ids]
                return max(infos, key=lambda i: i.get("createTime") or now - timedelta(days=9999))
        return None

    def chosen(self, *, newest: bool) -> dict | None:
        """``--deployment-id``, else the active deployment, else (``newest``) the newest."""
        if self.deployment_id:
            return self.deployment(self.deployment_id)
        active = self.active()
        if active:
            return self.deployment(active[0])
        return self.newest() if newest else None

    def _image(self, task_definition: str | None) -> str:
        """The app container's image of ``task_definition`` (digest-pinned by
        the release), or why it is not known."""
        if not task_definition:
            return "image unknown (no task definition in the AppSpec)"
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            td = self.clients.ecs.describe_task_definition(taskDefinition=task_definition)[
                "taskDefinition"
            ]
        except (ClientError, BotoCoreError) as err:
            return f"image not readable ({error_code(err)[0]})"
        for container in td.get("containerDefinitions") or []:
            if container.get("name") == self.target.container_name:
                image = container.get("image", "?")
                digest = image.split("@", 1)[1] if "@" in image else "not pinned"
                return f"image {image} (digest {digest})"
        return f"image unknown (no container {self.target.container_name!r})"

    def status(self) -> int:
        t = self.target
        group = self.check_group()
        info = self.chosen(newest=True)
        where = (
            f"{t.service_name} in {t.environment.name} "
            f"({t.codedeploy_application}/{t.deployment_group})"
        )
        if info is None:
            self.say(f"{where}: no deployment yet")
        else:
            deployment_id = info["deploymentId"]
            active = info.get("status") not in FINAL_DEPLOYMENT_STATUSES
            self.say(
                f"{where}: {'active' if active else 'last'} deployment {deployment_id} "
                f"{info.get('status')}"
            )
            self.say(
                f"  created {info.get('createTime') or '?'} by {info.get('creator') or '?'}"
                + (f", completed {info['completeTime']}" if info.get("completeTime") else "")
            )
            task_definition = task_definition_of(info)
            self.say(f"  task definition {task_definition or '?'}; {self._image(task_definition)}")
            if info.get("description"):
                marker = marker_in(info["description"])
                self.say(
                    f"  description: {info['description']}"
                    + ("" if marker else " (no release marker)")
                )
            error = info.get("errorInformation") or {}
            if error:
                self.say(f"  error: {error.get('code')}: {error.get('message')}")
            rollback = info.get("rollbackInfo") or {}
            if rollback.get("rollbackDeploymentId"):
                self.say(f"  rolled back by {rollback['rollbackDeploymentId']}")
            rolls_back = rollback_of(info)
            if rolls_back:
                self.say(f"  rollback of {rolls_back}")
            target = self._call(
                "codedeploy.get_deployment_target",
                self._target,
                deploymentId=deployment_id,
            )
            parts = describe_target(target, info, deployment_id)
            self.say("  " + (" | ".join(parts) if parts else "no task set information"))
            if active:
                self.say(f"  follow it with {oncall_command(t, 'follow', deployment_id)}")
                if rolls_back:
                    self.say("  it is a rollback: let it finish (stop refuses it)")
                else:
                    self.say(f"  stop it with {stop_command(t, deployment_id)}")
        self._alarms(group)
        return EXIT_OK

    def _target(self, **params) -> dict:
        from botocore.exceptions import ClientError

        try:
            answer = self.clients.codedeploy.get_deployment_target(
                targetId=self.target.deployment_target_id, **params
            )
        except ClientError as err:
            if error_code(err)[0] == "DeploymentTargetDoesNotExistException":
                return {}
            raise
        return (answer.get("deploymentTarget") or {}).get("ecsTarget") or {}

    def _alarms(self, group: dict) -> None:
        config = group.get("alarmConfiguration") or {}
        names = [a["name"] for a in config.get("alarms") or [] if a.get("name")]
        if not names or not config.get("enabled", False):
            self.say("  alarms: none roll this group back")
            return
        cw = self.clients.cloudwatch
        answer = self._call(
            "cloudwatch.describe_alarms",
            cw.describe_alarms,
            allow=ACCESS_DENIED_CODES,
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
        self.check_group()
        info = self.chosen(newest=False)
        if info is None:
            raise ReleaseRefused(
                f"no active deployment in {t.codedeploy_application}/{t.deployment_group}; "
                "nothing to stop. Nothing was changed."
            )
        deployment_id = info["deploymentId"]
        rolls_back = rollback_of(info)
        if rolls_back:
            raise ReleaseRefused(
                f"deployment {deployment_id} is the rollback of {rolls_back}; a rollback is "
                "never stopped (that would leave production on the failed revision). Follow "
                f"it with {oncall_command(t, 'follow', deployment_id)}. Nothing was changed."
            )
        if info.get("status") in FINAL_DEPLOYMENT_STATUSES:
            raise ReleaseRefused(
                f"deployment {deployment_id} is {info.get('status')}; nothing to stop. "
                "Nothing was changed."
            )
        answer = self._call(
            "codedeploy.stop_deployment",
            cd.stop_deployment,
            deploymentId=deployment_id,
            autoRollbackEnabled=True,
        )
        self.say(
            f"stop requested for deployment {deployment_id}: {answer.get('status')}"
            + (f" ({answer['statusMessage']})" if answer.get("statusMessage") else "")
            + "; CodeDeploy rolls back to the previous task set. Follow the rollback with "
            + watch_commands(t, deployment_id)
        )
        return EXIT_OK
