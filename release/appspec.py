"""The AppSpec of an ECS blue/green deployment and the new task definition.

Pure functions: no AWS calls, so the dry run prints exactly what a real
release would send (apart from values only AWS knows, shown as placeholders).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass

from config.model import IMAGE_TAG_PATTERN
from config.naming import HOOK_FUNCTION_PREFIX, release_guard_function_name
from release.errors import ReleaseInputError, ReleaseRefused
from release.network import NetworkConfiguration
from release.target import ReleaseTarget

# Fields describe_task_definition returns that register_task_definition does
# not accept: spelled once, in the release check's function, which is
# deployed alone and cannot import this package (D55). Everything else of a
# revision is copied unchanged.
from release_guard.handler import READ_ONLY_TASK_DEFINITION_FIELDS

#: Lifecycle events of an ECS deployment that may run a Lambda hook, in the
#: order CodeDeploy runs them.
ECS_HOOK_EVENTS = (
    "BeforeInstall",
    "AfterInstall",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AfterAllowTraffic",
)

# A function name, partial ARN (account:function:name) or full ARN, with an
# optional version/alias qualifier (Lambda's FunctionName pattern, simplified).
_FUNCTION_PATTERN = re.compile(
    r"^(arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:|\d{12}:function:)?"
    r"(?P<name>[A-Za-z0-9_-]{1,64})(:(\$LATEST|[A-Za-z0-9_-]+))?$"
)
#: The lifecycle event of the release check (modules/release_guard.py, D55):
#: before the replacement task set is created, so a refused task definition
#: never runs. Every AppSpec the release tool writes names it.
GUARD_HOOK_EVENT = "BeforeInstall"


@dataclass(frozen=True, kw_only=True)
class ImageRef:
    """An image in the service's ECR repository, by tag or by digest."""

    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, value: str | None) -> ImageRef:
        if value is None or not str(value).strip():
            raise ReleaseInputError(
                "--image-tag: missing; give the tag (e.g. v1.4.2 or a git "
                "sha) or digest (sha256:<64 hex>) of an image in the "
                "service's ECR repository"
            )
        value = str(value).strip()
        if not IMAGE_TAG_PATTERN.match(value):
            raise ReleaseInputError(
                f"--image-tag: {value!r} is not allowed; use an image tag (letters, digits, "
                "'_', '.', '-', up to 128, not starting with '.' or '-') or a digest "
                "sha256:<64 lowercase hex>"
            )
        if value.startswith("sha256:"):
            return cls(digest=value)
        return cls(tag=value)

    @property
    def image_id(self) -> dict:
        """The ``imageIds`` entry of ecr.describe_images."""
        return {"imageDigest": self.digest} if self.digest else {"imageTag": self.tag}

    def __str__(self) -> str:
        return self.digest or self.tag or ""

    def uri(self, repository_url: str, *, digest: str | None = None) -> str:
        """``repo:tag``, or ``repo@sha256:...`` when a digest is given or pinned."""
        pinned = self.digest or digest
        return f"{repository_url}@{pinned}" if pinned else f"{repository_url}:{self.tag}"


def parse_hooks(raw: list[str] | tuple[str, ...] | None) -> tuple[tuple[str, str], ...]:
    """``["BeforeAllowTraffic=fn"]`` -> ``(("BeforeAllowTraffic", "fn"),)``, in run order."""
    hooks: dict[str, str] = {}
    for item in raw or ():
        event, sep, function = item.partition("=")
        event, function = event.strip(), function.strip()
        if not sep or event not in ECS_HOOK_EVENTS:
            raise ReleaseInputError(
                f"--hook: {item!r} is not allowed; use EVENT=LAMBDA_FUNCTION with EVENT one of "
                + ", ".join(ECS_HOOK_EVENTS)
            )
        match = _FUNCTION_PATTERN.match(function)
        if not match:
            raise ReleaseInputError(
                f"--hook: {function!r} ({event}) is not a Lambda function name or ARN"
            )
        if not match.group("name").startswith(HOOK_FUNCTION_PREFIX):
            raise ReleaseInputError(
                f"--hook: {function!r} ({event}) is not allowed; the function name must start "
                f"with {HOOK_FUNCTION_PREFIX} (CodeDeploy's role, AWSCodeDeployRoleForECSLimited, "
                "may invoke only those)"
            )
        if event in hooks:
            raise ReleaseInputError(
                f"--hook: {event} is given twice; CodeDeploy runs one function per lifecycle event"
            )
        hooks[event] = function
    return tuple((event, hooks[event]) for event in ECS_HOOK_EVENTS if event in hooks)


def appspec_hooks(
    target: ReleaseTarget, hooks: tuple[tuple[str, str], ...] = ()
) -> tuple[tuple[str, str], ...]:
    """The release check on ``BeforeInstall``, then ``hooks``, in run order.
    A hook of the caller's on ``BeforeInstall`` is refused: CodeDeploy runs
    one function per event, and that one is the check's."""
    for event, function in hooks:
        if event == GUARD_HOOK_EVENT:
            raise ReleaseInputError(
                f"--hook: {GUARD_HOOK_EVENT}={function} is not allowed; {GUARD_HOOK_EVENT} runs "
                f"the release check ({release_guard_function_name(target.environment)}); use "
                "another event"
            )
    chosen = dict(hooks)
    chosen[GUARD_HOOK_EVENT] = release_guard_function_name(target.environment)
    return tuple((event, chosen[event]) for event in ECS_HOOK_EVENTS if event in chosen)


def build_appspec(
    target: ReleaseTarget,
    *,
    task_definition_arn: str,
    network_configuration: NetworkConfiguration,
    hooks: tuple[tuple[str, str], ...] = (),
) -> dict:
    """The AppSpec for one release of ``target``, with the release check's
    hook on ``BeforeInstall`` (``appspec_hooks``) and the caller's ``hooks``.

    On a CODE_DEPLOY service only a CodeDeploy deployment changes the task
    definition, the network configuration, the platform version and the
    capacity provider strategy (UpdateService refuses them), so every AppSpec
    sets all of them from the release target, never from the live service:
    a Terraform change of one of them reaches ECS with the next release.
    CodeDeploy would also start the replacement task set without the
    strategy otherwise (containers-roadmap #1752).
    """
    properties: dict = {
        "TaskDefinition": task_definition_arn,
        "LoadBalancerInfo": {
            "ContainerName": target.container_name,
            "ContainerPort": target.container_port,
        },
        "PlatformVersion": target.platform_version,
        "NetworkConfiguration": network_configuration.appspec(),
        "CapacityProviderStrategy": [item.appspec() for item in target.capacity_provider_strategy],
    }
    appspec: dict = {
        "version": 0.0,
        "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": properties}}],
    }
    appspec["Hooks"] = [{event: function} for event, function in appspec_hooks(target, hooks)]
    return appspec


def appspec_revision(appspec: dict) -> dict:
    """The ``revision`` argument of codedeploy.create_deployment."""
    content = json.dumps(appspec, indent=2)
    return {
        "revisionType": "AppSpecContent",
        "appSpecContent": {
            "content": content,
            "sha256": hashlib.sha256(content.encode()).hexdigest(),
        },
    }


def new_task_definition_request(
    described: dict, *, container_name: str, container_port: int, image: str
) -> dict:
    """register_task_definition arguments: the described revision, new app image.

    ``described`` is the whole describe_task_definition response (with
    ``include=["TAGS"]``). Only the app container's ``image`` changes; the
    sidecars, roles, logging, secrets and tags are carried over unchanged.
    Raises ReleaseRefused when the app container is not what the service
    routes traffic to (missing, or without the target group port).
    """
    current = copy.deepcopy(described["taskDefinition"])
    family = current.get("family", "?")
    containers = current.get("containerDefinitions") or []
    matches = [c for c in containers if c.get("name") == container_name]
    if not matches:
        raise ReleaseRefused(
            f"task definition {family}: has no container {container_name!r} (containers: "
            + ", ".join(c.get("name", "?") for c in containers)
            + "); the load balancer routes to that container"
        )
    app = matches[0]
    ports = [m.get("containerPort") for m in app.get("portMappings") or []]
    if container_port not in ports:
        raise ReleaseRefused(
            f"task definition {family}: container {container_name!r} does not map port "
            f"{container_port} (maps: {', '.join(map(str, ports)) or 'none'}); the target "
            "group sends traffic to that port"
        )
    app["image"] = image
    request = {k: v for k, v in current.items() if k not in READ_ONLY_TASK_DEFINITION_FIELDS}
    tags = described.get("tags") or []
    if tags:
        request["tags"] = copy.deepcopy(tags)
    return request
