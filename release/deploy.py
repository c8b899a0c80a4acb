"""One release: read-only checks, then task definition + CodeDeploy deployment.

Order matters: every check that can be made with read-only calls runs in
``preflight`` before the first write (``register_task_definition``), so a
refused release changes nothing. AWS clients, the sleep function and the
clock are injected so tests run against moto/stubs without waiting.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO

from release.appspec import (
    ImageRef,
    appspec_revision,
    build_appspec,
    new_task_definition_request,
)
from release.errors import (
    DeploymentFailed,
    DeploymentTimedOut,
    ReleaseError,
    ReleaseRefused,
)
from release.network import NetworkConfiguration
from release.target import ReleaseTarget

#: Deployments in these states block a new one in the same deployment group
#: (CodeDeploy allows one active deployment per group). Baking is a newer
#: non-final state; listing it too keeps the check complete.
ACTIVE_DEPLOYMENT_STATUSES = ("Created", "Queued", "InProgress", "Baking", "Ready")
SUCCEEDED = "Succeeded"
FINAL_DEPLOYMENT_STATUSES = (SUCCEEDED, "Failed", "Stopped")

# Minutes a predefined configuration needs to shift all traffic.
_SHIFT_MINUTES = {
    "CodeDeployDefault.ECSAllAtOnce": 0,
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes": 10,
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes": 30,
    "CodeDeployDefault.ECSCanary10Percent5Minutes": 5,
    "CodeDeployDefault.ECSCanary10Percent15Minutes": 15,
}
# Task start-up, health checks and hooks on top of the shifting itself.
_TIMEOUT_MARGIN_MINUTES = 30
# Unknown (custom) deployment configuration: assume an hour of shifting.
_UNKNOWN_SHIFT_MINUTES = 60
# Polls that may fail in a row (throttling, network) before giving up.
_MAX_POLL_ERRORS = 3

# ClientError codes that mean "these credentials cannot be used".
_CREDENTIAL_ERROR_CODES = (
    "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId",
    "UnrecognizedClientException", "InvalidSignatureException", "SignatureDoesNotMatch",
)
_ACCESS_DENIED_CODES = ("AccessDenied", "AccessDeniedException")


def default_timeout_minutes(target: ReleaseTarget) -> int:
    """How long to wait: traffic shifting + blue task termination + margin.

    A CodeDeploy ECS deployment only succeeds after the original task set is
    terminated, i.e. after ``terminate_blue_after_minutes``.
    """
    deployment = target.environment.deployment
    shift = _SHIFT_MINUTES.get(deployment.config_name, _UNKNOWN_SHIFT_MINUTES)
    return shift + deployment.terminate_blue_after_minutes + _TIMEOUT_MARGIN_MINUTES


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
            f"{self.target.service_name} {self.options.image} via release tool")

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
            "network       " + (t.network_configuration.describe() if t.network_configuration
                                else t.network_lookup.describe()),
            "",
            "read-only checks (any failure stops here; nothing is changed):",
        ]
        calls = []
        if t.environment.account_id:
            calls.append(f"sts.get_caller_identity()  -> account must be {t.environment.account_id}")
        calls += [
            f"ecs.describe_services(cluster={t.cluster!r}, services=[{t.ecs_service!r}])"
            "  -> ACTIVE, deployment controller CODE_DEPLOY, running task definition, "
            "network configuration and platform version",
        ]
        if t.network_configuration is None:
            calls += t.network_lookup.plan()
        calls += [
            f"ecs.describe_task_definition(taskDefinition={t.task_family!r}, include=['TAGS'])"
            f"  -> latest ACTIVE revision of the family; container {t.container_name!r} "
            f"maps port {t.container_port}",
            f"ecr.describe_repositories(repositoryNames=[{t.ecr_repository_name!r}])",
            f"ecr.describe_images(repositoryName={t.ecr_repository_name!r}, "
            f"imageIds=[{o.image.image_id!r}])  -> the image exists",
            f"codedeploy.get_deployment_group(applicationName={t.codedeploy_application!r}, "
            f"deploymentGroupName={t.deployment_group!r})  -> ECS group of this service",
            f"codedeploy.list_deployments(applicationName={t.codedeploy_application!r}, "
            f"deploymentGroupName={t.deployment_group!r}, "
            f"includeOnlyStatuses={list(ACTIVE_DEPLOYMENT_STATUSES)!r})  -> none active",
        ]
        calls += [f"lambda.get_function_configuration(FunctionName={fn!r})  -> hook {event} exists"
                  for event, fn in o.hooks]
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
    def _read(self, what: str, call: Callable, *, not_found: dict[str, str] | None = None, **params):
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
                    "and retry. Nothing was changed.") from None
            if code in _ACCESS_DENIED_CODES:
                raise ReleaseRefused(
                    f"{what}: access denied ({message}); the release role needs this "
                    "read permission. Nothing was changed.") from None
            raise ReleaseRefused(f"{what}: {code}: {message}. Nothing was changed.") from None
        except BotoCoreError as err:
            raise ReleaseRefused(f"{what}: {err}. Nothing was changed.") from None

    def preflight(self) -> Preflight:
        """Every read-only check, in order; raises ReleaseRefused on the first failure."""
        t, o = self.target, self.options
        ecs, ecr, cd = self.clients.ecs, self.clients.ecr, self.clients.codedeploy
        notes: list[str] = []

        if t.environment.account_id:
            identity = self._read("sts.get_caller_identity", self.clients.sts.get_caller_identity)
            if identity.get("Account") != t.environment.account_id:
                raise ReleaseRefused(
                    f"credentials are for account {identity.get('Account')}, but "
                    f"{t.environment.name} is account {t.environment.account_id}. "
                    "Nothing was changed.")

        described = self._read(
            "ecs.describe_services", ecs.describe_services,
            not_found={"ClusterNotFoundException":
                       f"cluster {t.cluster!r} does not exist in {t.region}; is the "
                       f"{t.environment.name} services stack deployed?"},
            cluster=t.cluster, services=[t.ecs_service],
        )
        services = described.get("services") or []
        if not services or services[0].get("status") != "ACTIVE":
            status = services[0].get("status") if services else "MISSING"
            raise ReleaseRefused(
                f"ECS service {t.ecs_service!r} in cluster {t.cluster!r} is {status}; "
                "deploy the services stack first. Nothing was changed.")
        service = services[0]
        controller = (service.get("deploymentController") or {}).get("type", "ECS")
        if controller != "CODE_DEPLOY":
            raise ReleaseRefused(
                f"ECS service {t.ecs_service!r} uses the {controller} deployment controller; "
                "this tool releases CODE_DEPLOY (blue/green) services only. Nothing was changed.")
        current_arn = service["taskDefinition"]
        network = self._network_configuration()
        notes += self._network_notes(service, network)
        live_strategy = service.get("capacityProviderStrategy")
        wanted_strategy = [item.ecs() for item in t.capacity_provider_strategy]
        if live_strategy and _normalised(live_strategy) != _normalised(wanted_strategy):
            notes.append(
                f"the service runs capacity provider strategy {live_strategy}; this release "
                f"sets the configured {wanted_strategy}")

        # The family name gives its latest ACTIVE revision. Terraform registers
        # a new revision when the task definition changes in code (cpu/memory,
        # environment, secrets, sidecars, volumes) but never puts it on the
        # service (ignore_changes); basing the release on it ships those changes.
        task_definition = self._read(
            "ecs.describe_task_definition", ecs.describe_task_definition,
            not_found={"ClientException":
                       f"task definition family {t.task_family!r} has no ACTIVE revision in "
                       f"{t.region} (ECS ClientException); apply the services stack first"},
            taskDefinition=t.task_family, include=["TAGS"],
        )
        base = task_definition["taskDefinition"]
        base_arn = base["taskDefinitionArn"]
        base_name = f"{base.get('family', t.task_family)}:{base.get('revision', '?')}"
        if base.get("status", "ACTIVE") != "ACTIVE":
            raise ReleaseRefused(
                f"task definition family {t.task_family!r}: ECS returned {base_name}, which is "
                f"{base.get('status')}; a release is based on the latest ACTIVE revision. "
                "Nothing was changed.")
        if base_arn != current_arn:
            running = current_arn.rsplit("/", 1)[-1]
            running = running[len(t.task_family):] if running.startswith(
                f"{t.task_family}:") else running
            notes.insert(
                0,
                f"basing the release on {base_name} (latest ACTIVE revision of the family, "
                f"e.g. registered by Terraform); the service runs {running}. Task definition "
                "changes between the two ship with this release")

        repositories = self._read(
            "ecr.describe_repositories", ecr.describe_repositories,
            not_found={"RepositoryNotFoundException":
                       f"ECR repository {t.ecr_repository_name!r} does not exist in {t.region}"},
            repositoryNames=[t.ecr_repository_name],
        )
        repository_url = repositories["repositories"][0]["repositoryUri"]
        if t.ecr_repository_url and t.ecr_repository_url != repository_url:
            raise ReleaseRefused(
                f"ECR repository {t.ecr_repository_name!r} has URI {repository_url!r}, but "
                f"{t.source} says {t.ecr_repository_url!r}; wrong account or stale outputs. "
                "Nothing was changed.")
        images = self._read(
            "ecr.describe_images", ecr.describe_images,
            not_found={"ImageNotFoundException":
                       f"image {o.image} is not in ECR repository {t.ecr_repository_name!r}; "
                       "push it first (or check the tag)"},
            repositoryName=t.ecr_repository_name, imageIds=[o.image.image_id],
        )
        details = images.get("imageDetails") or []
        if not details:
            raise ReleaseRefused(f"image {o.image} is not in ECR repository "
                                 f"{t.ecr_repository_name!r}. Nothing was changed.")
        digest = details[0]["imageDigest"]
        image_uri = o.image.uri(repository_url, digest=digest if o.pin_digest else None)

        register_request = new_task_definition_request(
            task_definition, container_name=t.container_name,
            container_port=t.container_port, image=image_uri,
        )
        for container in task_definition["taskDefinition"].get("containerDefinitions", []):
            if container.get("name") == t.container_name and container.get("image") == image_uri:
                notes.append(f"{image_uri} is already the image of {base_name}; "
                             "releasing it again replaces the tasks")

        group = self._read(
            "codedeploy.get_deployment_group", cd.get_deployment_group,
            not_found={
                "ApplicationDoesNotExistException":
                    f"CodeDeploy application {t.codedeploy_application!r} does not exist",
                "DeploymentGroupDoesNotExistException":
                    f"CodeDeploy deployment group {t.deployment_group!r} does not exist in "
                    f"application {t.codedeploy_application!r}",
            },
            applicationName=t.codedeploy_application, deploymentGroupName=t.deployment_group,
        )["deploymentGroupInfo"]
        group_services = [(s.get("clusterName"), s.get("serviceName"))
                          for s in group.get("ecsServices") or []]
        if group.get("computePlatform") != "ECS" or (t.cluster, t.ecs_service) not in group_services:
            raise ReleaseRefused(
                f"deployment group {t.deployment_group!r} deploys {group_services or 'nothing'} "
                f"({group.get('computePlatform')}), not ECS service {t.cluster}/{t.ecs_service}. "
                "Nothing was changed.")

        active = self._read(
            "codedeploy.list_deployments", cd.list_deployments,
            applicationName=t.codedeploy_application, deploymentGroupName=t.deployment_group,
            includeOnlyStatuses=list(ACTIVE_DEPLOYMENT_STATUSES),
        ).get("deployments") or []
        if active:
            raise ReleaseRefused(
                f"deployment {', '.join(active)} is already in progress for "
                f"{t.codedeploy_application}/{t.deployment_group}; wait for it to finish "
                "or stop it (aws deploy stop-deployment --deployment-id ... "
                "--auto-rollback-enabled). Nothing was changed.")

        for event, function in o.hooks:
            self._read(
                f"lambda.get_function_configuration ({event} hook)",
                self.clients.lambda_.get_function_configuration,
                not_found={"ResourceNotFoundException":
                           f"Lambda function {function!r} for the {event} hook does not exist "
                           f"in {t.region}"},
                FunctionName=function,
            )

        return Preflight(
            current_task_definition_arn=current_arn,
            base_task_definition_arn=base_arn,
            image_uri=image_uri,
            image_digest=digest,
            network_configuration=network,
            deployment_config_name=group.get("deploymentConfigName"),
            register_request=register_request,
            notes=notes,
        )

    def _network_configuration(self) -> NetworkConfiguration:
        """From the outputs file, or found read-only in EC2 by name."""
        t = self.target
        if t.network_configuration is not None:
            return t.network_configuration
        return t.network_lookup.resolve(self.clients.ec2, self._read)

    def _network_notes(self, service: dict, network: NetworkConfiguration) -> list[str]:
        """What the release changes on the service besides the task definition."""
        t = self.target
        notes = []
        running = service.get("platformVersion")
        if running and running != t.platform_version:
            notes.append(f"the service runs platform version {running}; this release applies "
                         f"the pinned {t.platform_version}")
        live = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration")
        differences = network.differences(live)
        if differences:
            notes.append("the service's network configuration differs: "
                         + "; ".join(differences) + "; this release applies it")
        return notes

    def start(self, pre: Preflight) -> str:
        """The two writes: new task definition revision, then the deployment."""
        from botocore.exceptions import BotoCoreError, ClientError

        t = self.target
        try:
            registered = self.clients.ecs.register_task_definition(**pre.register_request)
        except (ClientError, BotoCoreError) as err:
            code, message = _error_code(err)
            raise ReleaseError(f"ecs.register_task_definition failed ({code}: {message}); "
                               "nothing was deployed.") from None
        arn = registered["taskDefinition"]["taskDefinitionArn"]
        self.task_definition_arn = arn
        self.say(f"registered task definition {arn}")

        appspec = build_appspec(t, task_definition_arn=arn,
                                network_configuration=pre.network_configuration,
                                hooks=self.options.hooks)
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
            raise ReleaseError(f"codedeploy.create_deployment failed ({code}: {message}); "
                               "nothing was deployed.") from None
        self.deployment_id = created["deploymentId"]
        self.say(f"created deployment {self.deployment_id} "
                 f"({pre.deployment_config_name or 'group default configuration'}): "
                 f"https://{t.region}.console.aws.amazon.com/codesuite/codedeploy/deployments/"
                 f"{self.deployment_id}?region={t.region}")
        return self.deployment_id

    def _deregister_unused(self, arn: str) -> None:
        # The revision was never used; leaving it ACTIVE would make it look
        # like a released version in the console.
        try:
            self.clients.ecs.deregister_task_definition(taskDefinition=arn)
            self.say(f"deregistered the unused task definition {arn}")
        except Exception as err:  # noqa: BLE001 - best effort, the real error follows
            self.say(f"could not deregister the unused task definition {arn}: {err}")

    # ------------------------------------------------------------- watching
    def _progress(self, deployment_id: str, info: dict) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        parts = [info.get("status", "?")]
        try:
            target = self.clients.codedeploy.get_deployment_target(
                deploymentId=deployment_id, targetId=self.target.deployment_target_id,
            ).get("deploymentTarget", {}).get("ecsTarget") or {}
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
        task_sets = sorted(target.get("taskSetsInfo") or [],
                           key=lambda s: s.get("taskSetLabel", ""))
        if task_sets:
            parts.append("traffic " + ", ".join(
                f"{s.get('taskSetLabel', '?').lower()} {s.get('trafficWeight', 0):g}%"
                for s in task_sets))
            parts.append("tasks " + ", ".join(
                f"{s.get('taskSetLabel', '?').lower()} {s.get('runningCount', 0)}/"
                f"{s.get('desiredCount', 0)}" for s in task_sets))
        if info.get("status") == "Ready":
            parts.append(f"waiting to reroute traffic: aws deploy continue-deployment "
                         f"--deployment-id {deployment_id}")
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
                info = self.clients.codedeploy.get_deployment(
                    deploymentId=deployment_id)["deploymentInfo"]
                errors = 0
            except (ClientError, BotoCoreError) as err:
                errors += 1
                code, message = _error_code(err)
                self.say(f"could not read deployment {deployment_id} ({code}: {message})")
                if errors >= _MAX_POLL_ERRORS:
                    raise ReleaseError(
                        f"lost track of deployment {deployment_id} after {errors} failed polls; "
                        "it keeps running in CodeDeploy: check the console") from None
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
                    "--auto-rollback-enabled`")
            self.sleep(self.options.poll_seconds)

    def _failure(self, info: dict) -> DeploymentFailed:
        t = self.target
        error = info.get("errorInformation") or {}
        reason = ": ".join(x for x in (error.get("code"), error.get("message")) if x)
        message = (f"deployment {info.get('deploymentId')} of {t.service_name} "
                   f"{self.options.image} to {t.environment.name} {info.get('status', '?').upper()}"
                   + (f" ({reason})" if reason else ""))
        rollback = info.get("rollbackInfo") or {}
        rollback_id = rollback.get("rollbackDeploymentId")
        if rollback_id:
            self.say(f"CodeDeploy is rolling back with deployment {rollback_id}; following it")
            try:
                final = self.watch(rollback_id)
            except DeploymentTimedOut as err:
                return DeploymentFailed(f"{message}; rollback {rollback_id} not finished: {err}")
            if final.get("status") == SUCCEEDED:
                message += (f"; rolled back by {rollback_id}: production traffic is on the "
                            "previous task set")
            else:
                message += (f"; ROLLBACK {rollback_id} {final.get('status', '?').upper()}: check "
                            "the service and its listeners by hand")
        elif rollback.get("rollbackMessage"):
            message += f"; {rollback['rollbackMessage']}"
        else:
            message += "; no automatic rollback: production traffic stays where CodeDeploy left it"
        return DeploymentFailed(message)

    def run(self) -> str:
        """Checks, starts and watches the release; returns the deployment id."""
        pre = self.preflight()
        t = self.target
        self.say(f"checks passed: {t.ecs_service} runs {pre.current_task_definition_arn}; "
                 f"image {pre.image_uri} ({pre.image_digest}); no deployment in progress")
        for note in pre.notes:
            self.say(f"note: {note}")
        self.say(f"the AppSpec sets platform version {t.platform_version}, "
                 f"{pre.network_configuration.describe()}")
        deployment_id = self.start(pre)
        info = self.watch(deployment_id)
        if info.get("status") != SUCCEEDED:
            raise self._failure(info)
        self.say(f"released {t.service_name} {self.options.image} to {t.environment.name}: "
                 f"deployment {deployment_id} succeeded; task definition {self.task_definition_arn}")
        return deployment_id


def _normalised(strategy: list[dict]) -> list[tuple]:
    return sorted((s.get("capacityProvider"), s.get("base", 0), s.get("weight", 0))
                  for s in strategy)
