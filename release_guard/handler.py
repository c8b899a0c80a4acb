"""The release check: a new task definition may differ from the running one
only in the application container's image (by digest) and allowed
environment variables (docs/decisions.md D55).

Two entry points, one function (``handler``):

- a CodeDeploy lifecycle hook on ``BeforeInstall``: the event holds
  ``DeploymentId`` and ``LifecycleEventHookExecutionId``; the function reads
  the AppSpec (GetDeployment, GetApplicationRevision), checks the task
  definition it names against the service's running one and answers with
  PutLifecycleEventHookExecutionStatus (``Failed`` stops the deployment and
  CodeDeploy rolls it back). CodeDeploy user guide, "AppSpec 'hooks' section
  for an Amazon ECS deployment":
  https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html#appspec-hooks-ecs
- an EventBridge rule on the CloudTrail records of ``CreateDeployment`` and
  ``RegisterTaskDefinition`` (EventBridge user guide, "Events from AWS
  services delivered via CloudTrail"):
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html
  A deployment whose AppSpec leaves this hook out is stopped
  (StopDeployment with ``autoRollbackEnabled``) and alerted; a registered
  task definition the check refuses is alerted (its deployment is refused
  by the hook).

Only the standard library and boto3 (shipped by Lambda's Python runtime);
boto3 is imported when a client is first needed, so the checker is pure.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

#: Fields describe_task_definition returns that register_task_definition does
#: not accept (AWS sets them); the release tool imports this list
#: (release.appspec), tests/test_release.py checks it against botocore's
#: model.
READ_ONLY_TASK_DEFINITION_FIELDS = (
    "compatibilities",
    "deregisteredAt",
    "registeredAt",
    "registeredBy",
    "requiresAttributes",
    "revision",
    "status",
    "taskDefinitionArn",
)
#: Task-level fields named in the refusal, compared one by one.
TASK_FIELDS = {
    "taskRoleArn": "task role",
    "executionRoleArn": "execution role",
    "cpu": "task cpu",
    "memory": "task memory",
}
#: Container fields named in the refusal (the app image and environment are
#: compared on their own).
CONTAINER_FIELDS = {
    "command": "command",
    "entryPoint": "entryPoint",
    "portMappings": "port mappings",
    "cpu": "cpu",
    "memory": "memory",
    "memoryReservation": "memory reservation",
    "user": "user",
    "privileged": "privileged",
    "readonlyRootFilesystem": "readonlyRootFilesystem",
    "logConfiguration": "log configuration",
}
ROOT_USERS = ("0", "root")
REQUIRED_LOG_DRIVER = "awslogs"
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
#: How many revisions below a new one are read to find Terraform's latest.
TERRAFORM_LOOKBACK = 10
#: GetDeployment ``creator`` of an automatic rollback (CodeDeploy API
#: reference, DeploymentInfo): it returns to a revision that ran, and a
#: failed hook must never stop it (D45).
ROLLBACK_CREATOR = "codeDeployRollback"
HOOK_EVENT = "BeforeInstall"


# ------------------------------------------------------------------ checker
def _is_root(user: object) -> bool:
    if user is None or str(user).strip() == "":
        return True  # unset: the image's user, root unless the image says otherwise
    name = str(user).split(":", 1)[0].strip()
    return name in ROOT_USERS


def _environment(container: Mapping) -> dict[str, object]:
    return {e.get("name"): e.get("value") for e in container.get("environment") or []}


def container_problems(container: Mapping) -> list[str]:
    """What makes one container unacceptable, whatever ran before."""
    name = container.get("name", "?")
    problems = []
    if container.get("privileged"):
        problems.append(f"container {name}: privileged")
    if _is_root(container.get("user")):
        problems.append(
            f"container {name}: runs as root (user {container.get('user')!r}; set a non-root user)"
        )
    if container.get("readonlyRootFilesystem") is not True:
        problems.append(f"container {name}: root filesystem is writable")
    driver = (container.get("logConfiguration") or {}).get("logDriver")
    if driver != REQUIRED_LOG_DRIVER:
        problems.append(f"container {name}: log driver {driver!r}, not {REQUIRED_LOG_DRIVER}")
    return problems


def check_task_definition(
    running: Mapping,
    new: Mapping,
    *,
    app_container: str,
    allowed_environment: Iterable[str] = (),
) -> list[str]:
    """Why ``new`` may not replace ``running`` (empty: it may).

    Both are describe_task_definition's ``taskDefinition``. ``new`` may
    differ only in ``app_container``'s image, which must name a digest, and
    in the environment variables named in ``allowed_environment``. Every
    container of ``new`` must also be unprivileged, non-root, with a
    read-only root filesystem and the awslogs driver.
    """
    allowed = set(allowed_environment)
    problems: list[str] = []
    new_containers = {c.get("name"): c for c in new.get("containerDefinitions") or []}
    old_containers = {c.get("name"): c for c in running.get("containerDefinitions") or []}
    for container in new_containers.values():
        problems += container_problems(container)
    for field, label in TASK_FIELDS.items():
        if running.get(field) != new.get(field):
            problems.append(f"{label} changed: {running.get(field)!r} -> {new.get(field)!r}")
    for name in new_containers.keys() - old_containers.keys():
        problems.append(f"new container {name}")
    for name in old_containers.keys() - new_containers.keys():
        problems.append(f"container {name} removed")
    if app_container not in new_containers:
        problems.append(f"no container {app_container} (the one the load balancer routes to)")
    for name in sorted(new_containers.keys() & old_containers.keys(), key=str):
        old, cur = old_containers[name], new_containers[name]
        for field, label in CONTAINER_FIELDS.items():
            if old.get(field) != cur.get(field):
                problems.append(
                    f"container {name}: {label} changed: {old.get(field)!r} -> {cur.get(field)!r}"
                )
        if name == app_container:
            if not _DIGEST.search(str(cur.get("image") or "")):
                problems.append(
                    f"container {name}: image {cur.get('image')!r} is not named by digest"
                )
        elif old.get("image") != cur.get("image"):
            problems.append(
                f"container {name}: image changed: {old.get('image')!r} -> {cur.get('image')!r}"
            )
        old_env, new_env = _environment(old), _environment(cur)
        for var in sorted(old_env.keys() | new_env.keys(), key=str):
            if var in allowed or old_env.get(var) == new_env.get(var):
                continue
            problems.append(
                f"container {name}: environment {var} "
                + (
                    "added"
                    if var not in old_env
                    else "removed"
                    if var not in new_env
                    else "changed"
                )
            )
        named = {*CONTAINER_FIELDS, "image", "environment", "name"}
        for field in sorted((old.keys() | cur.keys()) - named):
            if old.get(field) != cur.get(field):
                problems.append(f"container {name}: {field} changed")
    named_task = {*TASK_FIELDS, *READ_ONLY_TASK_DEFINITION_FIELDS, "containerDefinitions"}
    for field in sorted((running.keys() | new.keys()) - named_task):
        if running.get(field) != new.get(field):
            problems.append(f"{field} changed")
    return problems


# ------------------------------------------------------------------ settings
def settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The function's configuration (environment variables the construct sets)."""
    env = os.environ if environ is None else environ
    return {
        "services": json.loads(env.get("RELEASE_GUARD_SERVICES", "{}")),
        "topic_arn": env.get("RELEASE_GUARD_TOPIC_ARN", ""),
        "deploy_role": env.get("RELEASE_GUARD_DEPLOY_ROLE", ""),
        "allowed_environment": [
            v for v in env.get("RELEASE_GUARD_ALLOWED_ENVIRONMENT", "").split(",") if v
        ],
        "function_name": env.get("AWS_LAMBDA_FUNCTION_NAME", ""),
    }


def role_name(principal: str | None) -> str | None:
    """The role of an IAM role ARN or an STS assumed-role session ARN."""
    match = re.match(
        r"^arn:aws[a-z-]*:(?:sts|iam)::\d{12}:(?:assumed-role|role)/(.+)$", principal or ""
    )
    if not match:
        return None
    parts = match.group(1).split("/")
    return parts[0] if principal and ":assumed-role/" in principal else parts[-1]


# ------------------------------------------------------------------ reads
class Guard:
    """One invocation's reads and writes; ``clients(name)`` returns a boto3 client."""

    def __init__(self, clients: Callable[[str], Any], config: Mapping[str, Any]):
        self.clients = clients
        self.config = config
        self.log: list[str] = []

    def say(self, line: str) -> None:
        self.log.append(line)
        print(line)

    def appspec(self, info: Mapping) -> dict:
        revision = self.clients("codedeploy").get_application_revision(
            applicationName=info["applicationName"], revision=info["revision"]
        )["revision"]
        content = (revision.get("appSpecContent") or {}).get("content") or ""
        try:
            appspec = json.loads(content)
        except ValueError:
            raise GuardRefusal("the AppSpec is not JSON (the release tool writes JSON)") from None
        if not isinstance(appspec, dict):
            raise GuardRefusal("the AppSpec is not a JSON object")
        return appspec

    def service_of_group(self, group: str) -> dict:
        service = self.config["services"].get(group)
        if not service:
            raise GuardRefusal(f"deployment group {group!r} is not one of this environment's")
        return service

    def running(self, service: Mapping) -> tuple[dict, str]:
        """The service's running task definition and the container its load balancer routes to."""
        (described,) = self.clients("ecs").describe_services(
            cluster=service["cluster"], services=[service["service"]]
        )["services"]
        arn = described["taskDefinition"]
        containers = [lb.get("containerName") for lb in described.get("loadBalancers") or []]
        app = next((c for c in containers if c), service.get("container", ""))
        return self.task_definition(arn), app

    def task_definition(self, arn: str) -> dict:
        return self.clients("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]

    def terraform_revision(self, running: Mapping, new: Mapping) -> dict | None:
        """The latest revision between the running one and ``new`` registered by the
        deploy role: Terraform's reviewed definition, which a release ships."""
        deploy_role = self.config.get("deploy_role")
        if not deploy_role or running.get("family") != new.get("family"):
            return None
        low = int(running.get("revision") or 0)
        high = int(new.get("revision") or 0)
        for revision in range(high - 1, max(low, high - 1 - TERRAFORM_LOOKBACK), -1):
            try:
                candidate = self.task_definition(f"{new['family']}:{revision}")
            except Exception as err:  # a deregistered or unreadable revision is skipped
                self.say(f"revision {revision} not read: {err}")
                continue
            if role_name(candidate.get("registeredBy")) == deploy_role:
                return candidate
        return None

    def verdict(self, service: Mapping, new_arn: str) -> tuple[list[str], str]:
        """The problems of ``new_arn`` against the running revision (or
        Terraform's newer one: either passes it), and what it was compared with."""
        running, app = self.running(service)
        new = self.task_definition(new_arn)
        references = [running]
        terraform = self.terraform_revision(running, new)
        if terraform is not None:
            references.append(terraform)
        best: tuple[list[str], str] | None = None
        for reference in references:
            problems = check_task_definition(
                reference,
                new,
                app_container=app,
                allowed_environment=self.config["allowed_environment"],
            )
            label = reference.get("taskDefinitionArn", "?")
            if not problems:
                return [], label
            if best is None or len(problems) < len(best[0]):
                best = (problems, label)
        assert best is not None
        return best

    def alert(self, subject: str, lines: list[str]) -> None:
        topic = self.config.get("topic_arn")
        if not topic:
            self.say("no alarm topic configured; alert not sent")
            return
        self.clients("sns").publish(TopicArn=topic, Subject=subject[:100], Message="\n".join(lines))


class GuardRefusal(Exception):
    """The deployment cannot be checked, so it is refused."""


def task_definition_in(appspec: Mapping) -> str:
    for resource in appspec.get("Resources") or appspec.get("resources") or []:
        for target in resource.values():
            properties = (target or {}).get("Properties") or {}
            if properties.get("TaskDefinition"):
                return str(properties["TaskDefinition"])
    raise GuardRefusal("the AppSpec names no TaskDefinition")


def hook_functions(appspec: Mapping, event: str = HOOK_EVENT) -> list[str]:
    """The function names the AppSpec runs at ``event`` (names, not ARNs)."""
    names = []
    for hook in appspec.get("Hooks") or appspec.get("hooks") or []:
        if isinstance(hook, Mapping) and event in hook:
            value = str(hook[event])
            name = value.split(":function:", 1)[-1].split(":", 1)[0]
            names.append(name)
    return names


# ------------------------------------------------------------------ entry points
def on_hook(event: Mapping, guard: Guard) -> dict:
    deployment_id = event["DeploymentId"]
    execution_id = event["LifecycleEventHookExecutionId"]
    codedeploy = guard.clients("codedeploy")
    status, problems = "Failed", list[str]()
    try:
        info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        if info.get("creator") == ROLLBACK_CREATOR:
            status = "Succeeded"
            guard.say(f"{deployment_id}: a rollback returns to a revision that ran; not checked")
        else:
            service = guard.service_of_group(info.get("deploymentGroupName", ""))
            new_arn = task_definition_in(guard.appspec(info))
            problems, compared = guard.verdict(service, new_arn)
            status = "Failed" if problems else "Succeeded"
            guard.say(f"{deployment_id}: {new_arn} against {compared}: {status}")
    except GuardRefusal as err:
        problems = [str(err)]
    except Exception as err:  # what cannot be checked is refused
        problems = [f"could not check: {type(err).__name__}: {err}"]
    for problem in problems:
        guard.say(f"{deployment_id}: refused: {problem}")
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=deployment_id, lifecycleEventHookExecutionId=execution_id, status=status
    )
    if problems:
        guard.alert(
            f"Release check refused deployment {deployment_id}",
            [f"CodeDeploy deployment {deployment_id} was refused by the release check:"]
            + [f"- {p}" for p in problems],
        )
    return {"status": status, "problems": problems}


def on_create_deployment(detail: Mapping, guard: Guard) -> dict:
    deployment_id = (detail.get("responseElements") or {}).get("deploymentId")
    if not deployment_id or detail.get("errorCode"):
        return {"action": "none", "reason": "no deployment was created"}
    codedeploy = guard.clients("codedeploy")
    info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    if info.get("creator") == ROLLBACK_CREATOR:
        return {"action": "none", "reason": "a rollback"}
    group = info.get("deploymentGroupName", "")
    if group not in guard.config["services"]:
        return {"action": "none", "reason": f"deployment group {group!r} is not checked here"}
    problems: list[str] = []
    try:
        appspec = guard.appspec(info)
        hooks = hook_functions(appspec)
        if guard.config["function_name"] in hooks:
            return {"action": "none", "reason": "the hook runs"}
        problems.append(
            f"the AppSpec runs no {guard.config['function_name']} on {HOOK_EVENT} "
            f"({', '.join(hooks) or 'no hook'})"
        )
        found, _ = guard.verdict(guard.service_of_group(group), task_definition_in(appspec))
        problems += found
    except GuardRefusal as err:
        problems.append(str(err))
    except Exception as err:  # the bypass alone is reason to stop
        problems.append(f"could not check the task definition: {type(err).__name__}: {err}")
    who = (detail.get("userIdentity") or {}).get("arn", "an unknown principal")
    lines = [f"CodeDeploy deployment {deployment_id} ({group}), created by {who}:"]
    lines += [f"- {p}" for p in problems]
    try:
        codedeploy.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
        lines.append("It was stopped and rolled back (StopDeployment, autoRollbackEnabled).")
        action = "stopped"
    except Exception as err:  # the alert must still go out
        lines.append(f"StopDeployment failed: {type(err).__name__}: {err}. Stop it by hand.")
        action = "stop failed"
    for line in lines:
        guard.say(line)
    guard.alert(f"Deployment {deployment_id} bypassed the release check", lines)
    return {"action": action, "problems": problems}


def on_register_task_definition(detail: Mapping, guard: Guard) -> dict:
    registered = (detail.get("responseElements") or {}).get("taskDefinition") or {}
    arn = registered.get("taskDefinitionArn")
    if not arn or detail.get("errorCode"):
        return {"action": "none", "reason": "nothing was registered"}
    identity = detail.get("userIdentity") or {}
    issuer = ((identity.get("sessionContext") or {}).get("sessionIssuer") or {}).get("arn")
    if guard.config.get("deploy_role") and role_name(issuer) == guard.config["deploy_role"]:
        return {"action": "none", "reason": "registered by the deploy role (Terraform)"}
    family = registered.get("family") or arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]
    services = [s for s in guard.config["services"].values() if s.get("family") == family]
    who = identity.get("arn", "an unknown principal")
    if not services:
        problems = [f"family {family!r} is not a family of this environment's services"]
    else:
        problems, _ = guard.verdict(services[0], arn)
    if not problems:
        return {"action": "none", "reason": "the check passes"}
    lines = [f"Task definition {arn} registered by {who} would be refused by the release check:"]
    lines += [f"- {p}" for p in problems]
    lines.append("Its deployment fails at the BeforeInstall hook; deregister it.")
    for line in lines:
        guard.say(line)
    guard.alert(f"Task definition {family} refused by the release check", lines)
    return {"action": "alerted", "problems": problems}


def dispatch(event: Mapping, guard: Guard) -> dict:
    if "LifecycleEventHookExecutionId" in event:
        return on_hook(event, guard)
    detail = event.get("detail") or {}
    if event.get("detail-type") == "AWS API Call via CloudTrail":
        if detail.get("eventName") == "CreateDeployment":
            return on_create_deployment(detail, guard)
        if detail.get("eventName") == "RegisterTaskDefinition":
            return on_register_task_definition(detail, guard)
    raise ValueError(f"not an event this function handles: {json.dumps(event)[:200]}")


def _boto3_clients() -> Callable[[str], Any]:
    import boto3  # Lambda's Python runtime ships it

    cache: dict[str, Any] = {}

    def client(name: str) -> Any:
        if name not in cache:
            cache[name] = boto3.client(name)
        return cache[name]

    return client


def handler(event: Mapping, context: object = None) -> dict:
    """Lambda's entry point (``handler.handler``)."""
    return dispatch(event, Guard(_boto3_clients(), settings()))
