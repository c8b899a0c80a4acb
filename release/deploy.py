"""One release: read-only checks, then task definition + CodeDeploy deployment.

Order matters: every check that can be made with read-only calls runs in
``preflight`` before the first write (``register_task_definition``), so a
refused release changes nothing. The checks are one list
(``release.checks.CHECKS``) that ``plan`` (the dry run) prints. AWS clients, the sleep function and the
clock are injected so tests run against moto/stubs without waiting.
"""

from __future__ import annotations

import math
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TextIO

from release.appspec import ImageRef, appspec_revision, build_appspec
from release.checks import CHECKS, Found, ReadCall
from release.errors import (
    DeploymentFailed,
    DeploymentTimedOut,
    ReleaseError,
    ReleaseRefused,
)
from release.network import NetworkConfiguration
from release.target import ReleaseTarget

SUCCEEDED = "Succeeded"
FINAL_DEPLOYMENT_STATUSES = (SUCCEEDED, "Failed", "Stopped")

#: CodeDeploy spells a predefined ECS configuration's traffic shifting in its
#: name (config.model.ECS_DEPLOYMENT_CONFIGS): all at once, or X percent
#: every Y minutes, or X percent first and the rest Y minutes later.
_PREDEFINED_CONFIG = re.compile(
    r"CodeDeployDefault\.ECS(?:(?P<all>AllAtOnce)"
    r"|Linear(?P<step>\d+)PercentEvery(?P<every>\d+)Minutes?"
    r"|Canary(?P<canary>\d+)Percent(?P<wait>\d+)Minutes?)"
)
# Task start-up, health checks and hooks on top of the shifting itself.
_TIMEOUT_MARGIN_MINUTES = 30
# Unknown (custom) deployment configuration: assume an hour of shifting.
_UNKNOWN_SHIFT_MINUTES = 60
# Polls that may fail in a row (throttling, network) before giving up.
_MAX_POLL_ERRORS = 3

# ClientError codes that mean "these credentials cannot be used".
_CREDENTIAL_ERROR_CODES = (
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
)
_ACCESS_DENIED_CODES = ("AccessDenied", "AccessDeniedException")


def default_timeout_minutes(target: ReleaseTarget) -> int:
    """How long to wait: traffic shifting + blue task termination + margin.

    A CodeDeploy ECS deployment only succeeds after the original task set is
    terminated, i.e. after ``terminate_blue_after_minutes``.
    """
    deployment = target.environment.deployment
    shift = shift_minutes(deployment.config_name)
    if shift is None:
        shift = _UNKNOWN_SHIFT_MINUTES
    return shift + deployment.terminate_blue_after_minutes + _TIMEOUT_MARGIN_MINUTES


def shift_minutes(config_name: str) -> int | None:
    """Minutes a predefined CodeDeploy ECS configuration takes to shift all
    traffic, read from its name: AllAtOnce 0; LinearXPercentEveryYMinutes
    100/X steps of Y minutes; CanaryXPercentYMinutes Y. None for any other
    (custom) configuration."""
    match = _PREDEFINED_CONFIG.fullmatch(config_name)
    if match is None:
        return None
    if match["all"]:
        return 0
    if match["step"]:
        return math.ceil(100 / int(match["step"])) * int(match["every"])
    return int(match["wait"])


@dataclass(frozen=True, kw_only=True)
class ReleaseOptions:
    """How to release; only ``image`` is required."""

    image: ImageRef
    #: (event, Lambda function) pairs run by CodeDeploy; none when empty.
    hooks: tuple[tuple[str, str], ...] = ()
    #: Reference the image by digest in the task definition, so a re-pushed
    #: tag cannot change what runs. False: by tag (unless a digest is given).
    pin_digest: bool = False
    poll_seconds: float = 15.0
    #: None: ``default_timeout_minutes`` of the environment.
    timeout_minutes: float | None = None
    #: Shown in the CodeDeploy console; None: "<service> <image> via release tool".
    description: str | None = None


class AwsClients:
    """boto3 clients for one region, created on first use.

    A dry run touches none of them, so it needs neither credentials nor
    network, and boto3 is only imported when a client is first needed.
    """

    def __init__(self, region: str, session=None):
        self.region = region
        self._session = session
        self._clients: dict[str, object] = {}

    def _client(self, name: str):
        if name not in self._clients:
            if self._session is None:
                import boto3

                self._session = boto3.session.Session(region_name=self.region)
            self._clients[name] = self._session.client(name, region_name=self.region)
        return self._clients[name]

    @property
    def ecs(self):
        return self._client("ecs")

    @property
    def ecr(self):
        return self._client("ecr")

    @property
    def codedeploy(self):
        return self._client("codedeploy")

    @property
    def lambda_(self):
        return self._client("lambda")

    @property
    def sts(self):
        return self._client("sts")

    @property
    def ec2(self):
        return self._client("ec2")


@dataclass
class Preflight:
    """What the read-only checks found; everything the writes need."""

    #: The revision the service runs now (describe_services).
    current_task_definition_arn: str
    #: The revision the new one is copied from: the latest ACTIVE revision of
    #: the family, which includes task definition changes Terraform registered.
    base_task_definition_arn: str
    image_uri: str
    image_digest: str
    #: What the AppSpec sets: from the outputs file, or found in EC2 by name.
    network_configuration: NetworkConfiguration
    deployment_config_name: str | None
    register_request: dict
    notes: list[str] = field(default_factory=list)


def _error_code(err: Exception) -> tuple[str, str]:
    response = getattr(err, "response", None) or {}
    error = response.get("Error", {})
    return str(error.get("Code", type(err).__name__)), str(error.get("Message", err))


class Releaser:
    """Releases one image of one service to one environment."""

    def __init__(
        self,
        target: ReleaseTarget,
        options: ReleaseOptions,
        clients: AwsClients | None = None,
        *,
        out: TextIO | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.target = target
        self.options = options
        self.clients = clients if clients is not None else AwsClients(target.region)
        self.out = out if out is not None else sys.stdout
        self.sleep = sleep
        self.clock = clock
        #: Set once created, so an interrupted watcher can say what is running.
        self.deployment_id: str | None = None
        self.task_definition_arn: str | None = None

    # ----------------------------------------------------------------- output
    def say(self, line: str = "") -> None:
        print(line, file=self.out, flush=True)

    @property
    def timeout_minutes(self) -> float:
        if self.options.timeout_minutes is not None:
            return self.options.timeout_minutes
        return default_timeout_minutes(self.target)

    @property
    def description(self) -> str:
        return self.options.description or (
            f"{self.target.service_name} {self.options.image} via release tool"
        )

    # ---------------------------------------------------------------- dry run
    def dry_run_appspec(self) -> dict:
        t = self.target
        return build_appspec(
            t,
            task_definition_arn=f"<ARN of the new revision of {t.task_family}>",
            network_configuration=t.network_configuration or t.network_lookup.placeholder(),
            hooks=self.options.hooks,
        )

    def plan(self) -> list[str]:
        """The calls a release makes, in order, without making any."""
        t, o = self.target, self.options
        repo_url = t.ecr_repository_url or f"<repositoryUri of {t.ecr_repository_name}>"
        image = o.image.uri(repo_url, digest="<digest of the image>" if o.pin_digest else None)
        lines = [
            f"environment   {t.environment.name} (region {t.region}); names from {t.source}",
            f"service       {t.ecs_service} in cluster {t.cluster}",
            f"image         {image}",
            f"deployment    {t.codedeploy_application} / {t.deployment_group}",
            f"platform      {t.platform_version} (pinned)",
            "network       "
            + (
                t.network_configuration.describe()
                if t.network_configuration
                else t.network_lookup.describe()
            ),
            "",
            "read-only checks (any failure stops here; nothing is changed):",
        ]
        calls = [line for check in CHECKS for line in check.plan(self)]
        lines += [f"  {i}. {c}" for i, c in enumerate(calls, 1)]
        n = len(calls)
        lines += [
            "",
            "changes:",
            f"  {n + 1}. ecs.register_task_definition(family={t.task_family!r}, ...)"
            f"  -> copy of the latest ACTIVE revision (Terraform's changes included), "
            f"container {t.container_name!r} image = {image}",
            f"  {n + 2}. codedeploy.create_deployment(applicationName={t.codedeploy_application!r}, "
            f"deploymentGroupName={t.deployment_group!r}, revision=AppSpecContent below)",
            f"  {n + 3}. codedeploy.get_deployment + get_deployment_target every "
            f"{o.poll_seconds:g} s until {'/'.join(FINAL_DEPLOYMENT_STATUSES)} "
            f"(gives up after {self.timeout_minutes:g} min; a rollback is followed to its end)",
        ]
        return lines

    # -------------------------------------------------------------- AWS calls
    def _read(
        self,
        what: str,
        call: Callable,
        *,
        not_found: Mapping[str, str] | None = None,
        **params,
    ):
        """A read-only call; any failure refuses the release (nothing changed)."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        try:
            return call(**params)
        except (NoCredentialsError, PartialCredentialsError) as err:
            raise ReleaseRefused(
                f"no usable AWS credentials ({err}); log in for the {self.target.environment.name} "
                "account (e.g. `aws sso login` or AWS_PROFILE) and retry. Nothing was changed."
            ) from None
        except ClientError as err:
            code, message = _error_code(err)
            if not_found and code in not_found:
                raise ReleaseRefused(f"{not_found[code]}. Nothing was changed.") from None
            if code in _CREDENTIAL_ERROR_CODES:
                raise ReleaseRefused(
                    f"{what}: AWS rejected the credentials ({code}: {message}); refresh them "
                    "and retry. Nothing was changed."
                ) from None
            if code in _ACCESS_DENIED_CODES:
                raise ReleaseRefused(
                    f"{what}: access denied ({message}); the release role needs this "
                    "read permission. Nothing was changed."
                ) from None
            raise ReleaseRefused(f"{what}: {code}: {message}. Nothing was changed.") from None
        except BotoCoreError as err:
            raise ReleaseRefused(f"{what}: {err}. Nothing was changed.") from None

    def read(self, call: ReadCall):
        """Makes one read-only call of a check (``release.checks``)."""
        client = getattr(self.clients, "lambda_" if call.client == "lambda" else call.client)
        return self._read(
            call.what, getattr(client, call.operation), not_found=call.not_found, **call.params
        )

    def preflight(self) -> Preflight:
        """Every read-only check (``release.checks.CHECKS``), in order; raises
        ReleaseRefused on the first failure."""
        found = Found()
        for check in CHECKS:
            check.run(self, found)
        assert found.network is not None, "the network check always sets it"
        return Preflight(
            current_task_definition_arn=found.current_task_definition_arn,
            base_task_definition_arn=found.base["taskDefinitionArn"],
            image_uri=found.image_uri,
            image_digest=found.image_digest,
            network_configuration=found.network,
            deployment_config_name=found.deployment_config_name,
            register_request=found.register_request,
            notes=found.notes,
        )

    def start(self, pre: Preflight) -> str:
        """The two writes: new task definition revision, then the deployment."""
        from botocore.exceptions import BotoCoreError, ClientError

        t = self.target
        try:
            registered = self.clients.ecs.register_task_definition(**pre.register_request)
        except (ClientError, BotoCoreError) as err:
            code, message = _error_code(err)
            raise ReleaseError(
                f"ecs.register_task_definition failed ({code}: {message}); nothing was deployed."
            ) from None
        arn = registered["taskDefinition"]["taskDefinitionArn"]
        self.task_definition_arn = arn
        self.say(f"registered task definition {arn}")

        appspec = build_appspec(
            t,
            task_definition_arn=arn,
            network_configuration=pre.network_configuration,
            hooks=self.options.hooks,
        )
        try:
            created = self.clients.codedeploy.create_deployment(
                applicationName=t.codedeploy_application,
                deploymentGroupName=t.deployment_group,
                revision=appspec_revision(appspec),
                description=self.description,
            )
        except (ClientError, BotoCoreError) as err:
            code, message = _error_code(err)
            self._deregister_unused(arn)
            raise ReleaseError(
                f"codedeploy.create_deployment failed ({code}: {message}); nothing was deployed."
            ) from None
        self.deployment_id = created["deploymentId"]
        self.say(
            f"created deployment {self.deployment_id} "
            f"({pre.deployment_config_name or 'group default configuration'}): "
            f"https://{t.region}.console.aws.amazon.com/codesuite/codedeploy/deployments/"
            f"{self.deployment_id}?region={t.region}"
        )
        return self.deployment_id

    def _deregister_unused(self, arn: str) -> None:
        # The revision was never used; leaving it ACTIVE would make it look
        # like a released version in the console.
        try:
            self.clients.ecs.deregister_task_definition(taskDefinition=arn)
            self.say(f"deregistered the unused task definition {arn}")
        except Exception as err:
            self.say(f"could not deregister the unused task definition {arn}: {err}")

    # ------------------------------------------------------------- watching
    def _progress(self, deployment_id: str, info: dict) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        parts = [info.get("status", "?")]
        try:
            target = (
                self.clients.codedeploy.get_deployment_target(
                    deploymentId=deployment_id,
                    targetId=self.target.deployment_target_id,
                )
                .get("deploymentTarget", {})
                .get("ecsTarget")
                or {}
            )
        except (ClientError, BotoCoreError):
            # The target appears a few seconds after the deployment; status alone then.
            target = {}
        events = target.get("lifecycleEvents") or []
        current = next((e for e in events if e.get("status") in ("InProgress", "Failed")), None)
        if current is None:
            done = [e for e in events if e.get("status") == "Succeeded"]
            current = done[-1] if done else None
        if current:
            parts.append(f"step {current.get('lifecycleEventName')} {current.get('status')}")
        task_sets = sorted(
            target.get("taskSetsInfo") or [], key=lambda s: s.get("taskSetLabel", "")
        )
        if task_sets:
            parts.append(
                "traffic "
                + ", ".join(
                    f"{s.get('taskSetLabel', '?').lower()} {s.get('trafficWeight', 0):g}%"
                    for s in task_sets
                )
            )
            parts.append(
                "tasks "
                + ", ".join(
                    f"{s.get('taskSetLabel', '?').lower()} {s.get('runningCount', 0)}/"
                    f"{s.get('desiredCount', 0)}"
                    for s in task_sets
                )
            )
        if info.get("status") == "Ready":
            parts.append(
                f"waiting to reroute traffic: aws deploy continue-deployment "
                f"--deployment-id {deployment_id}"
            )
        return " | ".join(parts)

    def watch(self, deployment_id: str) -> dict:
        """Polls until the deployment is final; returns its deploymentInfo."""
        from botocore.exceptions import BotoCoreError, ClientError

        started = self.clock()
        deadline = started + self.timeout_minutes * 60
        last_line = None
        errors = 0
        while True:
            try:
                info = self.clients.codedeploy.get_deployment(deploymentId=deployment_id)[
                    "deploymentInfo"
                ]
                errors = 0
            except (ClientError, BotoCoreError) as err:
                errors += 1
                code, message = _error_code(err)
                self.say(f"could not read deployment {deployment_id} ({code}: {message})")
                if errors >= _MAX_POLL_ERRORS:
                    raise ReleaseError(
                        f"lost track of deployment {deployment_id} after {errors} failed polls; "
                        "it keeps running in CodeDeploy: check the console"
                    ) from None
                self.sleep(self.options.poll_seconds)
                continue
            line = self._progress(deployment_id, info)
            if line != last_line:
                elapsed = int(self.clock() - started)
                self.say(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {deployment_id} {line}")
                last_line = line
            if info.get("status") in FINAL_DEPLOYMENT_STATUSES:
                return info
            if self.clock() >= deadline:
                raise DeploymentTimedOut(
                    f"deployment {deployment_id} is still {info.get('status')} after "
                    f"{self.timeout_minutes:g} min; it keeps running in CodeDeploy. Follow it "
                    f"with `aws deploy get-deployment --deployment-id {deployment_id}` or stop "
                    f"it with `aws deploy stop-deployment --deployment-id {deployment_id} "
                    "--auto-rollback-enabled`"
                )
            self.sleep(self.options.poll_seconds)

    def _failure(self, info: dict) -> DeploymentFailed:
        t = self.target
        error = info.get("errorInformation") or {}
        reason = ": ".join(x for x in (error.get("code"), error.get("message")) if x)
        message = (
            f"deployment {info.get('deploymentId')} of {t.service_name} "
            f"{self.options.image} to {t.environment.name} {info.get('status', '?').upper()}"
            + (f" ({reason})" if reason else "")
        )
        rollback = info.get("rollbackInfo") or {}
        rollback_id = rollback.get("rollbackDeploymentId")
        if rollback_id:
            self.say(f"CodeDeploy is rolling back with deployment {rollback_id}; following it")
            try:
                final = self.watch(rollback_id)
            except DeploymentTimedOut as err:
                return DeploymentFailed(f"{message}; rollback {rollback_id} not finished: {err}")
            if final.get("status") == SUCCEEDED:
                message += (
                    f"; rolled back by {rollback_id}: production traffic is on the "
                    "previous task set"
                )
            else:
                message += (
                    f"; ROLLBACK {rollback_id} {final.get('status', '?').upper()}: check "
                    "the service and its listeners by hand"
                )
        elif rollback.get("rollbackMessage"):
            message += f"; {rollback['rollbackMessage']}"
        else:
            message += "; no automatic rollback: production traffic stays where CodeDeploy left it"
        return DeploymentFailed(message)

    def run(self) -> str:
        """Checks, starts and watches the release; returns the deployment id."""
        pre = self.preflight()
        t = self.target
        self.say(
            f"checks passed: {t.ecs_service} runs {pre.current_task_definition_arn}; "
            f"image {pre.image_uri} ({pre.image_digest}); no deployment in progress"
        )
        for note in pre.notes:
            self.say(f"note: {note}")
        self.say(
            f"the AppSpec sets platform version {t.platform_version}, "
            f"{pre.network_configuration.describe()}"
        )
        deployment_id = self.start(pre)
        info = self.watch(deployment_id)
        if info.get("status") != SUCCEEDED:
            raise self._failure(info)
        self.say(
            f"released {t.service_name} {self.options.image} to {t.environment.name}: "
            f"deployment {deployment_id} succeeded; task definition {self.task_definition_arn}"
        )
        return deployment_id
