"""One release: read-only checks, then task definition + CodeDeploy deployment.

Order matters: every check that can be made with read-only calls runs in
``preflight`` before the first write (``register_task_definition``), so a
refused release changes nothing. The checks are one list
(``release.checks.CHECKS``) that ``plan`` (the dry run) prints. AWS clients, the sleep function and the
clock are injected so tests run against moto/stubs without waiting.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TextIO

from config.model import deployment_minutes
from config.naming import release_tag_prefix
from release.appspec import ImageRef, appspec_hooks, appspec_revision, build_appspec
from release.aws_errors import ACCESS_DENIED_CODES, credential_problem, error_code, read_or_refuse
from release.checks import CHECKS, Found, ReadCall
from release.deployments import (
    every_deployment,
    oncall_command,
    release_marker,
    rollback_of,
    stop_command,
    watch_commands,
)
from release.errors import (
    EXIT_NO_ROLLBACK,
    EXIT_ROLLBACK_FAILED,
    EXIT_ROLLED_BACK,
    DeploymentFailed,
    DeploymentNotFollowed,
    ReleaseInputError,
    ReleaseRefused,
)
from release.network import NetworkConfiguration
from release.retain import tag_released_image
from release.target import ReleaseTarget

SUCCEEDED = "Succeeded"
FINAL_DEPLOYMENT_STATUSES = (SUCCEEDED, "Failed", "Stopped")

# A failed poll is retried after poll_seconds, doubled per failure in a row,
# at most this long (and never past the deadline).
MAX_POLL_BACKOFF_SECONDS = 300.0
#: botocore retry configuration of every client (boto3 guide "Retries":
#: standard mode retries throttling, transient and connection errors with
#: exponential back-off; the legacy default retries fewer errors).
RETRIES = {"mode": "standard", "max_attempts": 5}
#: CreateDeployment is not idempotent: one attempt, never a blind retry
#: (a retried request whose first attempt succeeded fails with
#: DeploymentLimitExceededException naming our own deployment).
NO_RETRIES = {"mode": "standard", "total_max_attempts": 1}

# CodeDeploy's answer when the group already has an active deployment.
_LIMIT_EXCEEDED = "DeploymentLimitExceededException"
_DEPLOYMENT_ID = re.compile(r"\bd-[A-Z0-9]{9}\b")
#: GetDeployment's answer for an id CodeDeploy does not know (wrong region or
#: account, or a typo): retrying it for the whole deadline helps no one.
_NO_SUCH_DEPLOYMENT = "DeploymentDoesNotExistException"
#: How many DeploymentDoesNotExist answers in a row are taken for a new
#: deployment not visible yet, before the id is given up as unknown.
NO_SUCH_DEPLOYMENT_TRIES = 3

#: How often ``rollbackInfo`` of a failed deployment is read before "no
#: rollback" is concluded (CodeDeploy fills it in shortly after the failure).
ROLLBACK_INFO_READS = 4
#: After an ambiguous CreateDeployment error (timeout, connection, 5xx), how
#: long the group's deployments are listed again, with back-off, before the
#: tool gives up (exit 4) and keeps the revision.
AMBIGUOUS_CREATE_SECONDS = 120.0


def ambiguous(err: BaseException) -> bool:
    """Whether a failed write may still have happened: no answer (timeout,
    connection closed) or a server error (5xx). A client error (4xx) is
    CodeDeploy's definite refusal; missing credentials fail before sending."""
    from botocore import exceptions as bx

    if credential_problem(err) is not None:
        return False
    if isinstance(err, bx.ClientError):
        status = (err.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0
        return int(status) >= 500
    return True


def default_timeout_minutes(target: ReleaseTarget) -> int:
    """How long to wait: traffic shifting + blue task termination + margin
    (``config.model.deployment_minutes``; configuration keeps it, with the
    scan wait, within the release role's session)."""
    return deployment_minutes(target.environment.deployment)


@dataclass(frozen=True, kw_only=True)
class ReleaseOptions:
    """How to release; only ``image`` is required (``follow`` has none: it
    follows a deployment that exists)."""

    image: ImageRef | None = None
    #: (event, Lambda function) pairs run by CodeDeploy; none when empty.
    hooks: tuple[tuple[str, str], ...] = ()
    #: Reference the image by digest in the task definition, so a re-pushed
    #: tag cannot change what runs (default). False: by tag.
    pin_digest: bool = True
    #: The digest CI built and tested; the release is refused if the tag
    #: names another one.
    expect_digest: str | None = None
    #: Reason to release despite blocking scan findings (production tier).
    accept_findings: str | None = None
    #: Reason to base the release on a revision registered by someone else.
    accept_base: str | None = None
    #: None: the environment's ``release.scan_wait_minutes`` (configuration).
    scan_wait_minutes: float | None = None
    poll_seconds: float = 15.0
    #: None: ``default_timeout_minutes`` of the environment.
    timeout_minutes: float | None = None
    #: Shown in the CodeDeploy console; None: "<service> <image> via release tool".
    description: str | None = None
    #: Run as the environment's release role with a session that covers the
    #: release (``release.session``); False (``--no-assume-role``): the
    #: caller's credentials as they are.
    assume_role: bool = True


class AwsClients:
    """boto3 clients for one region, created on first use, every one with
    botocore's standard retry mode (``RETRIES``); ``codedeploy_once`` makes
    one attempt only (CreateDeployment).

    A dry run touches none of them, so it needs neither credentials nor
    network, and boto3 is only imported when a client is first needed.
    """

    def __init__(self, region: str, session=None):
        self.region = region
        self._session = session
        self._clients: dict[str, object] = {}

    def open(self) -> None:
        """Creates the session; an unknown AWS_PROFILE is bad input (exit 2)."""
        from botocore.exceptions import ProfileNotFound

        try:
            if self._session is None:
                import boto3

                self._session = boto3.session.Session(region_name=self.region)
        except ProfileNotFound as err:
            raise ReleaseInputError(
                f"AWS profile: {err}; check AWS_PROFILE (`aws configure list-profiles`)"
            ) from None

    def _client(self, name: str, retries: dict = RETRIES, key: str | None = None):
        key = key or name
        if key not in self._clients:
            from botocore.config import Config
            from botocore.exceptions import ProfileNotFound

            self.open()
            try:
                self._clients[key] = self._session.client(
                    name, region_name=self.region, config=Config(retries=retries)
                )
            except ProfileNotFound as err:
                raise ReleaseInputError(
                    f"AWS profile: {err}; check AWS_PROFILE (`aws configure list-profiles`)"
                ) from None
        return self._clients[key]

    def use_release_role(
        self,
        environment,
        minutes: int,
        *,
        needs: str,
        say: Callable[[str], None],
    ) -> None:
        """From here on every client runs as the environment's release role,
        with a session of ``minutes`` (``release.session``): assumed with the
        caller's credentials, unless the caller already is that role. Raises
        ReleaseRefused before any other call when STS refuses."""
        from release.session import release_role_credentials

        self.open()
        credentials = release_role_credentials(
            self.sts,
            environment,
            minutes,
            needs=needs,
            caller_credentials=self._session.get_credentials(),
            say=say,
        )
        if credentials is None:
            return
        import boto3

        self._session = boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=self.region,
        )
        self._clients.clear()

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
    def codedeploy_once(self):
        """CodeDeploy without retries: for CreateDeployment only."""
        return self._client("codedeploy", NO_RETRIES, key="codedeploy_once")

    @property
    def lambda_(self):
        return self._client("lambda")

    @property
    def sts(self):
        return self._client("sts")

    @property
    def ec2(self):
        return self._client("ec2")

    @property
    def cloudwatch(self):
        return self._client("cloudwatch")


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
    #: An active deployment of this very image (an earlier run of this
    #: release, found by its marker): followed instead of starting another.
    own_deployment: str | None = None
    notes: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    scan_summary: str = ""
    base_summary: str = ""


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
        # Before any call: BeforeInstall is the release check's (D55).
        appspec_hooks(target, options.hooks)
        self.clients = clients if clients is not None else AwsClients(target.region)
        self.out = out if out is not None else sys.stdout
        self.sleep = sleep
        self.clock = clock
        #: Where the release is, so an interruption can say what may exist:
        #: checks, registering, registered, creating, watching, done.
        self.phase = "checks"
        #: Set once created, so an interrupted watcher can say what is running.
        self.deployment_id: str | None = None
        #: The deployment followed right now (the rollback, while following it).
        self.watching: str | None = None
        self.task_definition_arn: str | None = None
        self.accepted: list[str] = []
        #: Written into the deployment's description (``release_marker``);
        #: set once the image digest is known.
        self.marker: str | None = None
        #: Deployments known to be rollbacks -> the deployment each rolls
        #: back (never offered a stop command).
        self.rollbacks: dict[str, str] = {}

    # ----------------------------------------------------------------- output
    def say(self, line: str = "") -> None:
        print(line, file=self.out, flush=True)

    @property
    def timeout_minutes(self) -> float:
        if self.options.timeout_minutes is not None:
            return self.options.timeout_minutes
        return default_timeout_minutes(self.target)

    @property
    def scan_wait_minutes(self) -> float:
        if self.options.scan_wait_minutes is not None:
            return self.options.scan_wait_minutes
        from release.policy import policy_for

        return policy_for(self.target.environment).scan_wait_minutes

    def session_minutes(self, *, deploying: bool = True) -> int:
        """How long the credentials must last (``release.session.session_minutes``):
        the scan wait and, when ``deploying``, the deployment's timeout;
        ``follow`` (no image) waits for the deployment only."""
        from release.session import session_minutes

        scan = self.scan_wait_minutes if self.options.image is not None else 0
        return session_minutes(
            scan_wait_minutes=scan, timeout_minutes=self.timeout_minutes if deploying else 0
        )

    def session_needs(self, minutes: int, *, deploying: bool = True) -> str:
        """What takes ``minutes``, for the credential messages."""
        if self.options.image is None:
            return f"following the deployment can take {minutes} minutes"
        if not deploying:
            return f"the checks can take {minutes} minutes (the scan wait)"
        return (
            f"a release of {self.target.service_name} to {self.target.environment.name} can "
            f"take {minutes} minutes (scan wait {self.scan_wait_minutes:g} + deployment "
            f"{self.timeout_minutes:g})"
        )

    def use_release_role(self, *, deploying: bool = True) -> None:
        """Before the first check: the release role's session for the whole
        release (``release.session``), unless ``--no-assume-role``."""
        if not self.options.assume_role:
            return
        from release.session import use_release_role

        minutes = self.session_minutes(deploying=deploying)
        use_release_role(
            self.clients,
            self.target.environment,
            minutes,
            needs=self.session_needs(minutes, deploying=deploying),
            say=self.say,
        )

    @property
    def scan_poll_seconds(self) -> float:
        return min(self.options.poll_seconds, 15.0)

    @property
    def image(self) -> ImageRef:
        """The image released; only a release asks (``follow`` has none)."""
        if self.options.image is None:
            raise ReleaseInputError("--image-tag: required for a release")
        return self.options.image

    @property
    def subject(self) -> str:
        """What is released, for messages: ``payment-api v1.4.2``."""
        image = self.options.image
        return f"{self.target.service_name} {image}" if image else self.target.service_name

    @property
    def description(self) -> str:
        text = self.options.description or f"{self.subject} via release tool"
        if self.accepted:
            text += "; " + "; ".join(self.accepted)
        # CreateDeployment's description is at most 1024 characters; the
        # marker always survives the cut.
        marker = f" [{self.marker}]" if self.marker else ""
        limit = 1000 - len(marker)
        text = text if len(text) <= limit else text[: limit - 3] + "..."
        return text + marker

    def watch_commands(self, deployment_id: str | None = None) -> str:
        return watch_commands(self.target, deployment_id)

    def stop_command(self, deployment_id: str) -> str:
        return stop_command(self.target, deployment_id)

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
        image = self.image.uri(repo_url, digest="<digest of the image>" if o.pin_digest else None)
        lines = [
            f"environment   {t.environment.name} (region {t.region}, "
            f"{t.environment.tier} tier); names from {t.source}",
            f"service       {t.ecs_service} in cluster {t.cluster}",
            f"image         {image}" + (f" (must be {o.expect_digest})" if o.expect_digest else ""),
            f"base          latest ACTIVE revision of {t.task_family}; who registered it and "
            "its changes against the running revision are printed before any write "
            "(--check shows them without releasing)",
            f"deployment    {t.codedeploy_application} / {t.deployment_group}",
            f"platform      {t.platform_version} (pinned)",
            "network       "
            + (
                t.network_configuration.describe()
                if t.network_configuration
                else t.network_lookup.describe()
            ),
            "",
            "credentials (before the checks):",
        ]
        from release.session import check_session_length
        from release.session import plan as credential_plan

        minutes = self.session_minutes()
        if o.assume_role:
            check_session_length(minutes, self.session_needs(minutes))
        lines += credential_plan(t.environment, minutes, assume_role=o.assume_role)
        lines += ["", "read-only checks (any failure stops here; nothing is changed):"]
        calls = [line for check in CHECKS for line in check.plan(self)]
        lines += [f"  {i}. {c}" for i, c in enumerate(calls, 1)]
        n = len(calls)
        lines += [
            "",
            "changes:",
            f"  {n + 1}. ecs.register_task_definition(family={t.task_family!r}, ...)"
            f"  -> copy of the latest ACTIVE revision (Terraform's changes included), "
            f"container {t.container_name!r} image = {image}",
            f"  {n + 2}. ecr.batch_get_image + ecr.put_image(repositoryName="
            f"{t.ecr_repository_name!r}, imageTag='{release_tag_prefix(t.environment)}<revision>')"
            "  -> the image keeps a tag of this release, so ECR's lifecycle policy never "
            "expires what runs",
            f"  {n + 3}. codedeploy.create_deployment(applicationName={t.codedeploy_application!r}, "
            f"deploymentGroupName={t.deployment_group!r}, revision=AppSpecContent below)"
            "  -> one attempt; on any error the group's active deployments are read to "
            "find out whether CodeDeploy created it",
            f"  {n + 4}. codedeploy.get_deployment + get_deployment_target every "
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
        allow: tuple[str, ...] = (),
        **params,
    ):
        """A read-only call; any failure refuses the release (nothing changed).
        Error codes in ``allow`` answer None instead."""
        return read_or_refuse(
            self.target.environment.name,
            what,
            call,
            not_found=not_found,
            allow=allow,
            **params,
        )

    def read(self, call: ReadCall, *, allow: tuple[str, ...] = ()):
        """Makes one read-only call of a check (``release.checks``)."""
        client = getattr(self.clients, "lambda_" if call.client == "lambda" else call.client)
        return self._read(
            call.what,
            getattr(client, call.operation),
            not_found=call.not_found,
            allow=allow,
            **call.params,
        )

    def preflight(self) -> Preflight:
        """Every read-only check (``release.checks.CHECKS``), in order; raises
        ReleaseRefused on the first failure."""
        found = Found()
        for check in CHECKS:
            check.run(self, found)
        assert found.network is not None, "the network check always sets it"
        self.accepted = list(found.accepted)
        return Preflight(
            current_task_definition_arn=found.current_task_definition_arn,
            base_task_definition_arn=found.base["taskDefinitionArn"],
            image_uri=found.image_uri,
            image_digest=found.image_digest,
            network_configuration=found.network,
            deployment_config_name=found.deployment_config_name,
            register_request=found.register_request,
            own_deployment=found.own_deployment,
            notes=found.notes,
            accepted=found.accepted,
            scan_summary=found.scan_summary,
            base_summary=found.base_summary,
        )

    def start(self, pre: Preflight) -> str:
        """The two writes: new task definition revision, then the deployment."""
        from botocore.exceptions import BotoCoreError, ClientError

        t = self.target
        self.marker = release_marker(t.service_name, pre.image_digest)
        self.phase = "registering"
        try:
            registered = self.clients.ecs.register_task_definition(**pre.register_request)
        except (ClientError, BotoCoreError) as err:
            code, message = error_code(err)
            problem = credential_problem(err)
            raise ReleaseRefused(
                f"ecs.register_task_definition failed ({problem or f'{code}: {message}'}); "
                f"nothing was deployed. If the answer was lost, a revision of {t.task_family} "
                "may have been registered: it is harmless (a copy of the base with the new "
                "image) and the next release is based on it with the same result."
            ) from None
        arn = registered["taskDefinition"]["taskDefinitionArn"]
        self.task_definition_arn = arn
        self.phase = "registered"
        self.say(f"registered task definition {arn}")
        # Tag what is deployed so ECR's lifecycle policy keeps it (release/retain.py).
        try:
            revision = registered["taskDefinition"]["revision"]
            self.say(tag_released_image(self.clients.ecr, t, pre.image_digest, revision))
        except (ClientError, BotoCoreError, LookupError) as err:
            problem = (
                str(err) if isinstance(err, LookupError) else "{}: {}".format(*error_code(err))
            )
            raise ReleaseRefused(
                f"could not tag the image so that ECR's lifecycle policy keeps it ({problem}); "
                f"nothing was deployed. Revision {arn} was registered and is harmless (the "
                "next release is based on it with the same result). The release role needs "
                f"ecr:BatchGetImage and ecr:PutImage on {t.ecr_repository_name}."
            ) from None

        appspec = build_appspec(
            t,
            task_definition_arn=arn,
            network_configuration=pre.network_configuration,
            hooks=self.options.hooks,
        )
        self.phase = "creating"
        try:
            created = self.clients.codedeploy_once.create_deployment(
                applicationName=t.codedeploy_application,
                deploymentGroupName=t.deployment_group,
                revision=appspec_revision(appspec),
                description=self.description,
            )
            self.deployment_id = created["deploymentId"]
        except (ClientError, BotoCoreError) as err:
            self.deployment_id = self._after_failed_create(err, arn)
            self.say(
                f"CodeDeploy created deployment {self.deployment_id} with this release's "
                f"revision although create_deployment answered with an error; following it"
            )
        self.phase = "watching"
        self.say(
            f"created deployment {self.deployment_id} "
            f"({pre.deployment_config_name or 'group default configuration'}): "
            f"https://{t.region}.console.aws.amazon.com/codesuite/codedeploy/deployments/"
            f"{self.deployment_id}?region={t.region}"
        )
        self.say(f"watch it from elsewhere with {self.watch_commands(self.deployment_id)}")
        return self.deployment_id

    # ------------------------------------------------------- idempotency
    def _uses_revision(self, info: dict, arn: str) -> bool:
        """Whether a deployment's AppSpec names the task definition ``arn``."""
        import json

        content = (((info.get("revision") or {}).get("appSpecContent") or {}).get("content")) or ""
        try:
            appspec = json.loads(content)
            resources = appspec.get("Resources") or appspec.get("resources") or []
            names = [
                ((r.get("TargetService") or {}).get("Properties") or {}).get("TaskDefinition")
                for r in resources
            ]
        except (ValueError, AttributeError):
            return arn in content
        return arn in names

    def _is_mine(self, info: dict, arn: str) -> bool:
        """This release's deployment: its marker, or its AppSpec naming ``arn``."""
        return bool(
            self.marker and self.marker in (info.get("description") or "")
        ) or self._uses_revision(info, arn)

    def _deployments_using(self, arn: str, *, recent: bool = False) -> tuple[list[str], list[str]]:
        """(deployments of the group that are this release's, all listed ones):
        the active ones, or with ``recent`` every one created in the last 15
        minutes whatever its status (it may have failed already), from every
        page of the listing. Raises the botocore error if CodeDeploy cannot
        be read."""
        from datetime import UTC, datetime, timedelta

        from release.checks import ACTIVE_DEPLOYMENT_STATUSES

        t = self.target
        params: dict = {
            "applicationName": t.codedeploy_application,
            "deploymentGroupName": t.deployment_group,
        }
        if recent:
            params["createTimeRange"] = {"start": datetime.now(UTC) - timedelta(minutes=15)}
        else:
            params["includeOnlyStatuses"] = list(ACTIVE_DEPLOYMENT_STATUSES)
        listed = every_deployment(self.clients.codedeploy.list_deployments, **params)
        mine = [
            d
            for d in listed
            if self._is_mine(
                self.clients.codedeploy.get_deployment(deploymentId=d)["deploymentInfo"], arn
            )
        ]
        return mine, list(listed)

    def _after_failed_create(self, err: Exception, arn: str) -> str:
        """create_deployment answered with an error: did CodeDeploy create it
        anyway (lost answer)? Follow it if so. Only after a definite refusal
        (a 4xx client error) is the revision deregistered; an ambiguous error
        (no answer, 5xx) keeps it (``_find_after_ambiguous``)."""
        from botocore.exceptions import BotoCoreError, ClientError

        code, message = error_code(err)
        answer = credential_problem(err) or f"{code}: {message}"
        if ambiguous(err):
            return self._find_after_ambiguous(answer, arn)
        try:
            mine, active = self._deployments_using(arn)
        except (ClientError, BotoCoreError) as read_err:
            read_code, read_message = error_code(read_err)
            raise DeploymentNotFollowed(
                f"codedeploy.create_deployment answered {answer}, and the group's "
                f"deployments cannot be read ({read_code}: {read_message}), so it is unknown "
                f"whether CodeDeploy created the deployment; the revision {arn} is kept. "
                f"Check {self.watch_commands()}: a deployment whose description has "
                f"[{self.marker}] or whose task definition is {arn} is this release's; if "
                f"there is none, deregister {arn} (aws ecs deregister-task-definition) or "
                "leave it (the next release converges)"
            ) from None
        if mine:
            return mine[0]
        cleanup = self._deregister_unused(arn)
        if code == _LIMIT_EXCEEDED:
            others = _DEPLOYMENT_ID.findall(message) or active
            raise ReleaseRefused(
                f"another release is in progress ({', '.join(others) or 'unknown id'}) in "
                f"{self.target.codedeploy_application}/{self.target.deployment_group}; "
                f"this release did not start and {cleanup}. Follow the other one with "
                f"{oncall_command(self.target, 'follow', others[0] if others else None)} "
                "and release again when it has finished"
            )
        raise ReleaseRefused(
            f"codedeploy.create_deployment failed ({answer}); nothing was deployed and {cleanup}"
        )

    def _find_after_ambiguous(self, answer: str, arn: str) -> str:
        """After a timeout, connection error or 5xx: list the group's recent
        deployments again, with back-off, for ``AMBIGUOUS_CREATE_SECONDS``,
        looking for this release's marker or revision. Found: its id. Not
        found: exit 4, the revision kept (CodeDeploy may still show it)."""
        from botocore.exceptions import BotoCoreError, ClientError

        t = self.target
        deadline = self.clock() + AMBIGUOUS_CREATE_SECONDS
        delay = max(self.options.poll_seconds, 1.0)
        attempts = 0
        while True:
            attempts += 1
            try:
                mine, _ = self._deployments_using(arn, recent=True)
                if mine:
                    return mine[0]
                last = "none of them is this release's"
            except (ClientError, BotoCoreError) as read_err:
                read_code, read_message = error_code(read_err)
                last = f"listing failed: {read_code}: {read_message}"
                if credential_problem(read_err):
                    break
            if self.clock() + delay > deadline:
                break
            self.say(
                f"create_deployment answered {answer}: CodeDeploy may have created it; "
                f"looking again in {delay:g} s ({last})"
            )
            self.sleep(delay)
            delay = min(delay * 2, 60.0)
        raise DeploymentNotFollowed(
            f"codedeploy.create_deployment answered {answer}, which does not say whether "
            f"CodeDeploy created the deployment, and {attempts} listings of the group's "
            f"recent deployments in {AMBIGUOUS_CREATE_SECONDS:g} s did not find it (last: "
            f"{last}). The revision {arn} is kept. Check {oncall_command(t, 'status')}: a "
            f"deployment whose description has [{self.marker}] or whose task definition is "
            f"{arn} is this release's (follow it with "
            f"{oncall_command(t, 'follow', '<its id>')}); if none appears within a few "
            f"minutes, release again or deregister {arn} (aws ecs deregister-task-definition)"
        )

    def _deregister_unused(self, arn: str) -> str:
        """Deregisters the release's own revision, used by no deployment (the
        caller checked). Returns what happened, for the message."""
        try:
            self.clients.ecs.deregister_task_definition(taskDefinition=arn)
        except Exception as err:
            code, message = error_code(err)
            return (
                f"its revision {arn} is still ACTIVE (deregistering failed: {code}: {message}); "
                "it is harmless: a copy of the base with only the image changed, so the next "
                "release based on it registers the same task definition. Deregister it with "
                f"`aws ecs deregister-task-definition --task-definition {arn}`"
            )
        self.say(f"deregistered the unused task definition {arn}")
        return f"its unused revision {arn} was deregistered"

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
        return " | ".join(parts + describe_target(target, info, deployment_id))

    def watch(self, deployment_id: str, *, context: str = "") -> dict:
        """Polls until the deployment is final; returns its deploymentInfo.

        A failed poll is retried with capped exponential back-off until the
        deadline; a credential or permission error stops at once. Both raise
        DeploymentNotFollowed (the deployment continues)."""
        from botocore.exceptions import BotoCoreError, ClientError

        self.watching = deployment_id
        started = self.clock()
        deadline = started + self.timeout_minutes * 60
        last_line = None
        errors = unknown = 0
        prefix = f"{context}; " if context else ""
        while True:
            try:
                info = self.clients.codedeploy.get_deployment(deploymentId=deployment_id)[
                    "deploymentInfo"
                ]
                errors = unknown = 0
                if rollback_of(info):
                    self.rollbacks[deployment_id] = rollback_of(info) or ""
            except (ClientError, BotoCoreError) as err:
                code, message = error_code(err)
                problem = credential_problem(err)
                if code == _NO_SUCH_DEPLOYMENT:
                    unknown += 1
                    if unknown >= NO_SUCH_DEPLOYMENT_TRIES:
                        raise DeploymentNotFollowed(
                            f"{prefix}stopped following deployment {deployment_id}: CodeDeploy "
                            f"answered {code} {unknown} times ({message}). Check the id and "
                            f"that the credentials are for the account and region "
                            f"({self.target.region}) of {self.target.environment.name}, then "
                            f"{self.watch_commands(deployment_id)}"
                        ) from None
                if problem or code in ACCESS_DENIED_CODES:
                    raise DeploymentNotFollowed(
                        f"{prefix}stopped following deployment {deployment_id}: "
                        + (
                            f"the credentials expired or were rejected ({problem})"
                            if problem
                            else f"access denied ({message})"
                        )
                        + f". The deployment continues in CodeDeploy; refresh the credentials "
                        f"and watch it with {self.watch_commands(deployment_id)}"
                    ) from None
                errors += 1
                delay = min(self.options.poll_seconds * 2**errors, MAX_POLL_BACKOFF_SECONDS)
                if self.clock() + delay > deadline:
                    raise DeploymentNotFollowed(
                        f"{prefix}stopped following deployment {deployment_id}: "
                        f"{errors} polls in a row failed (last: {code}: {message}) and the "
                        f"{self.timeout_minutes:g} min deadline has come. The deployment "
                        f"continues in CodeDeploy; watch it with "
                        f"{self.watch_commands(deployment_id)}"
                    ) from None
                self.say(
                    f"could not read deployment {deployment_id} ({code}: {message}); "
                    f"retrying in {delay:g} s"
                )
                self.sleep(delay)
                continue
            line = self._progress(deployment_id, info)
            if line != last_line:
                elapsed = int(self.clock() - started)
                self.say(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {deployment_id} {line}")
                last_line = line
            if info.get("status") in FINAL_DEPLOYMENT_STATUSES:
                return info
            if self.clock() >= deadline:
                rollback = rollback_of(info) or self.rollbacks.get(deployment_id)
                raise DeploymentNotFollowed(
                    f"{prefix}deployment {deployment_id} is still {info.get('status')} after "
                    f"{self.timeout_minutes:g} min; it continues in CodeDeploy. Follow it "
                    f"with {self.watch_commands(deployment_id)}"
                    + (
                        f"; it is the rollback of {rollback}: let it finish"
                        if rollback
                        else f", or stop it with {self.stop_command(deployment_id)}"
                    )
                )
            self.sleep(self.options.poll_seconds)

    def _reread(self, info: dict) -> dict | None:
        """``info`` read again after a poll interval; None if it cannot be read."""
        from botocore.exceptions import BotoCoreError, ClientError

        self.sleep(self.options.poll_seconds)
        try:
            return self.clients.codedeploy.get_deployment(deploymentId=info["deploymentId"])[
                "deploymentInfo"
            ]
        except (ClientError, BotoCoreError):
            return None

    def alarms_in_alarm(self) -> str:
        """The deployment group's rollback alarms now in ALARM, for the
        failure message (best effort: says so when they cannot be read)."""
        from botocore.exceptions import BotoCoreError, ClientError

        t = self.target
        try:
            group = self.clients.codedeploy.get_deployment_group(
                applicationName=t.codedeploy_application, deploymentGroupName=t.deployment_group
            )["deploymentGroupInfo"]
            names = [
                a["name"]
                for a in (group.get("alarmConfiguration") or {}).get("alarms") or []
                if a.get("name")
            ]
            if not names:
                return "alarms in ALARM: none configured on the group"
            found = (
                self.clients.cloudwatch.describe_alarms(AlarmNames=names).get("MetricAlarms") or []
            )
        except (ClientError, BotoCoreError) as err:
            code, _ = error_code(err)
            return f"alarms in ALARM: not readable ({code})"
        firing = [a["AlarmName"] for a in found if a.get("StateValue") == "ALARM"]
        return "alarms in ALARM: " + (", ".join(firing) if firing else "none any more")

    def _failure(self, info: dict) -> DeploymentFailed:
        """How the deployment ended, with the rollback's outcome: exit 1
        (rolled back), 5 (rollback failed or unknown) or 6 (no rollback)."""
        t = self.target
        deployment_id = info.get("deploymentId")
        error = info.get("errorInformation") or {}
        reason = ": ".join(x for x in (error.get("code"), error.get("message")) if x)
        message = (
            f"deployment {deployment_id} of {self.subject} to {t.environment.name} "
            f"{info.get('status', '?').upper()}" + (f" ({reason})" if reason else "")
        )
        if error.get("code") == "ALARM_ACTIVE":
            message += f"; {self.alarms_in_alarm()}"
        rolls_back = rollback_of(info)
        if rolls_back:
            return self._failed(
                EXIT_ROLLBACK_FAILED,
                "ROLLBACK FAILED",
                f"{message}: it is the rollback of {rolls_back}; check the service and its "
                "listeners by hand",
            )
        rollback = info.get("rollbackInfo") or {}
        reads = 1
        while not rollback.get("rollbackDeploymentId") and reads < ROLLBACK_INFO_READS:
            again = self._reread(info)
            reads += 1
            if again is None:
                return self._failed(
                    EXIT_ROLLBACK_FAILED,
                    "ROLLBACK UNKNOWN",
                    f"{message}; whether CodeDeploy rolls it back could not be read (read "
                    f"{reads} times). Check with {self.watch_commands(deployment_id)}",
                )
            rollback = again.get("rollbackInfo") or {}
        rollback_id = rollback.get("rollbackDeploymentId")
        if not rollback_id:
            text = rollback.get("rollbackMessage") or (
                "production traffic stays where CodeDeploy left it"
            )
            return self._failed(
                EXIT_NO_ROLLBACK,
                "no rollback",
                f"{message}; no automatic rollback (rollbackInfo read {reads} times): {text}",
            )
        self.say(f"CodeDeploy is rolling back with deployment {rollback_id}; following it")
        self.rollbacks[rollback_id] = deployment_id or "?"
        try:
            final = self.watch(rollback_id, context=f"{message}; rolling back")
        except DeploymentNotFollowed as err:
            return self._failed(
                EXIT_ROLLBACK_FAILED,
                "ROLLBACK UNKNOWN",
                f"{err}; the rollback's outcome is unknown",
            )
        if final.get("status") == SUCCEEDED:
            return self._failed(
                EXIT_ROLLED_BACK,
                "rolled back",
                f"{message}; rolled back by {rollback_id}: production traffic is on the "
                "previous task set",
            )
        return self._failed(
            EXIT_ROLLBACK_FAILED,
            "ROLLBACK FAILED",
            f"{message}; ROLLBACK {rollback_id} {final.get('status', '?').upper()}: check "
            "the service and its listeners by hand",
        )

    @staticmethod
    def _failed(code: int, verdict: str, message: str) -> DeploymentFailed:
        failed = DeploymentFailed(message, code)
        failed.verdict = f"failed, {verdict}"
        return failed

    def summary(self, pre: Preflight) -> list[str]:
        """What the checks found, printed before the first write (and by --check)."""
        t = self.target
        lines = [
            f"checks passed: {t.ecs_service} runs {pre.current_task_definition_arn}; "
            f"image {pre.image_uri} ({pre.image_digest}); no deployment in progress"
        ]
        if pre.base_summary:
            lines.append(pre.base_summary)
        if pre.scan_summary:
            lines.append(pre.scan_summary)
        lines += [f"note: {note}" for note in pre.notes]
        lines.append(
            f"the AppSpec sets platform version {t.platform_version}, "
            f"{pre.network_configuration.describe()}"
        )
        return lines

    def check(self) -> Preflight:
        """The read-only checks and their findings; no write."""
        pre = self.preflight()
        for line in self.summary(pre):
            self.say(line)
        return pre

    def run(self) -> str:
        """Checks, starts and watches the release; returns the deployment id.
        A re-run that finds its own deployment in progress follows it."""
        pre = self.check()
        if pre.own_deployment:
            self.say(
                f"deployment {pre.own_deployment} of this image is already in progress (its "
                "description has this image's release marker: an earlier run of this "
                "release); following it instead of starting another"
            )
            return self.follow(pre.own_deployment)
        return self.follow(self.start(pre))

    def follow(self, deployment_id: str) -> str:
        """Follows a deployment to its end; raises DeploymentFailed (exit 1, 5
        or 6) or DeploymentNotFollowed (4) as the release does."""
        t = self.target
        self.deployment_id = deployment_id
        self.phase = "watching"
        info = self.watch(deployment_id)
        if info.get("status") != SUCCEEDED:
            raise self._failure(info)
        self.phase = "done"
        rolls_back = rollback_of(info)
        if rolls_back:
            raise self._failed(
                EXIT_ROLLED_BACK,
                "rolled back",
                f"deployment {deployment_id}, the rollback of {rolls_back}, succeeded: "
                "production traffic is on the previous task set",
            )
        arn = self.task_definition_arn or task_definition_of(info) or "?"
        self.say(
            f"released {self.subject} to {t.environment.name}: "
            f"deployment {deployment_id} succeeded; task definition {arn}"
        )
        return deployment_id


def task_definition_of(info: dict) -> str | None:
    """The task definition a deployment's AppSpec names (``revision.appSpecContent``)."""
    import json

    content = (((info.get("revision") or {}).get("appSpecContent") or {}).get("content")) or ""
    try:
        appspec = json.loads(content)
        for resource in appspec.get("Resources") or appspec.get("resources") or []:
            name = ((resource.get("TargetService") or {}).get("Properties") or {}).get(
                "TaskDefinition"
            )
            if name:
                return name
    except (ValueError, AttributeError):
        return None
    return None


def describe_target(target: dict, info: dict, deployment_id: str) -> list[str]:
    """Lifecycle step, traffic split and task counts of an ECS deployment target."""
    parts = []
    events = target.get("lifecycleEvents") or []
    current = next((e for e in events if e.get("status") in ("InProgress", "Failed")), None)
    if current is None:
        done = [e for e in events if e.get("status") == "Succeeded"]
        current = done[-1] if done else None
    if current:
        parts.append(f"step {current.get('lifecycleEventName')} {current.get('status')}")
    task_sets = sorted(target.get("taskSetsInfo") or [], key=lambda s: s.get("taskSetLabel", ""))
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
    return parts
