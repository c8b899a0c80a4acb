"""The read-only checks of a release, in order: one list, ``CHECKS``, drives
both the checks (``Releaser.preflight``) and the dry run's list of calls
(``Releaser.plan``), so the two cannot disagree.

A check names the read-only calls it makes (``ReadCall``: the dry run prints
each one as it will be made, preflight makes exactly these, in this order)
and judges their answers: it records what the writes need in ``Found`` or
refuses the release (``ReleaseRefused``: nothing was changed). The network
lookup is the one check whose later calls depend on earlier answers (the
VPC id); ``release.network.NetworkLookup`` gives both its plan and its calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from release.appspec import (
    READ_ONLY_TASK_DEFINITION_FIELDS,
    new_task_definition_request,
)
from release.deployments import image_marker, oncall_command, rollback_of
from release.errors import ReleaseRefused
from release.network import NetworkConfiguration
from release.policy import SEVERITIES, is_trusted, policy_for, trusted_roles

if TYPE_CHECKING:
    from release.deploy import Releaser
    from release.target import ReleaseTarget

#: Deployments in these states block a new one in the same deployment group
#: (CodeDeploy allows one active deployment per group). Baking is a newer
#: non-final state; listing it too keeps the check complete.
ACTIVE_DEPLOYMENT_STATUSES = ("Created", "Queued", "InProgress", "Baking", "Ready")
#: ECR tag mutability a release accepts: a tag then always means one digest.
REQUIRED_TAG_MUTABILITY = "IMMUTABLE"
#: ImageScanStatus.status values (ECR API reference, DescribeImageScanFindings):
#: a result to judge, worth waiting for, or no result at all.
SCAN_DONE = ("COMPLETE", "ACTIVE")
SCAN_WAIT = ("IN_PROGRESS", "PENDING")


@dataclass(frozen=True)
class ReadCall:
    """One read-only AWS call: ``client.operation(**params)``.

    ``expect``: what the answer must show (printed by the dry run).
    ``not_found``: error code -> why the release is refused when AWS answers
    with it. ``label``: how messages name the call; left out,
    ``<client>.<operation>``.
    """

    client: str
    operation: str
    params: Mapping[str, object] = field(default_factory=dict)
    expect: str = ""
    not_found: Mapping[str, str] | None = None
    label: str = ""

    @property
    def what(self) -> str:
        return self.label or f"{self.client}.{self.operation}"

    def describe(self) -> str:
        """The call as the dry run prints it, parameters as they are sent."""
        arguments = ", ".join(f"{name}={value!r}" for name, value in self.params.items())
        line = f"{self.client}.{self.operation}({arguments})"
        return f"{line}  -> {self.expect}" if self.expect else line


@dataclass
class Found:
    """What the checks found so far: everything the writes need."""

    service: dict = field(default_factory=dict)
    network: NetworkConfiguration | None = None
    task_definition: dict = field(default_factory=dict)
    repository_url: str = ""
    image_uri: str = ""
    image_digest: str = ""
    register_request: dict = field(default_factory=dict)
    deployment_config_name: str | None = None
    notes: list[str] = field(default_factory=list)
    #: What was accepted with a reason (recorded in the deployment description).
    accepted: list[str] = field(default_factory=list)
    #: One line on the image scan, shown with the checks.
    scan_summary: str = ""
    #: Where the base revision comes from (registeredBy), shown with the checks.
    base_summary: str = ""
    #: An active deployment of this very image (its description carries this
    #: image's release marker): a re-run follows it instead of refusing.
    own_deployment: str | None = None

    @property
    def current_task_definition_arn(self) -> str:
        return self.service["taskDefinition"]

    @property
    def base(self) -> dict:
        return self.task_definition["taskDefinition"]


class Check:
    """One read-only check: ``plan`` lists its calls, ``run`` makes and judges them."""

    def plan(self, releaser: Releaser) -> list[str]:
        raise NotImplementedError

    def run(self, releaser: Releaser, found: Found) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Reads(Check):
    """A check of fixed calls: ``calls(releaser)`` builds them once for the
    plan and once for the run; ``verify(releaser, answers, found)`` judges
    the answers (one per call, in order)."""

    calls: Callable[[Releaser], list[ReadCall]]
    verify: Callable[[Releaser, list[dict], Found], None]

    def plan(self, releaser: Releaser) -> list[str]:
        return [call.describe() for call in self.calls(releaser)]

    def run(self, releaser: Releaser, found: Found) -> None:
        self.verify(releaser, [releaser.read(call) for call in self.calls(releaser)], found)


class NetworkCheck(Check):
    """Subnets and security groups of the new task set: from the outputs
    file (no call), or found read-only in EC2 by name. Then notes what the
    release changes on the service besides the task definition."""

    def plan(self, releaser: Releaser) -> list[str]:
        t = releaser.target
        return [] if t.network_configuration is not None else t.network_lookup.plan()

    def run(self, releaser: Releaser, found: Found) -> None:
        t = releaser.target
        found.network = (
            t.network_configuration
            if t.network_configuration is not None
            else t.network_lookup.resolve(releaser.clients.ec2, releaser._read)
        )
        found.notes += _service_change_notes(releaser, found.service, found.network)


# -- the checks, each a pair of calls and verdict ---------------------------------------
def _account_calls(r: Releaser) -> list[ReadCall]:
    account = r.target.environment.account_id
    if not account:
        return []
    return [ReadCall("sts", "get_caller_identity", expect=f"account must be {account}")]


def _verify_account(r: Releaser, answers: list[dict], found: Found) -> None:
    env = r.target.environment
    for identity in answers:
        if identity.get("Account") != env.account_id:
            raise ReleaseRefused(
                f"credentials are for account {identity.get('Account')}, but "
                f"{env.name} is account {env.account_id}. Nothing was changed."
            )


def _service_calls(r: Releaser) -> list[ReadCall]:
    t = r.target
    return [
        ReadCall(
            "ecs",
            "describe_services",
            {"cluster": t.cluster, "services": [t.ecs_service]},
            expect="ACTIVE, deployment controller CODE_DEPLOY, exactly one task set (PRIMARY), "
            "running task definition, network configuration and platform version",
            not_found={
                "ClusterNotFoundException": f"cluster {t.cluster!r} does not exist in {t.region}; is the "
                f"{t.environment.name} services stack deployed?"
            },
        )
    ]


def _verify_service(r: Releaser, answers: list[dict], found: Found) -> None:
    t = r.target
    (described,) = answers
    services = described.get("services") or []
    if not services or services[0].get("status") != "ACTIVE":
        status = services[0].get("status") if services else "MISSING"
        raise ReleaseRefused(
            f"ECS service {t.ecs_service!r} in cluster {t.cluster!r} is {status}; "
            "deploy the services stack first. Nothing was changed."
        )
    service = services[0]
    controller = (service.get("deploymentController") or {}).get("type", "ECS")
    if controller != "CODE_DEPLOY":
        raise ReleaseRefused(
            f"ECS service {t.ecs_service!r} uses the {controller} deployment controller; "
            "this tool releases CODE_DEPLOY (blue/green) services only. Nothing was changed."
        )
    found.service = service


def _service_change_notes(r: Releaser, service: dict, network: NetworkConfiguration) -> list[str]:
    """What the release changes on the service besides the task definition:
    platform version, network configuration, capacity provider strategy."""
    t = r.target
    notes = []
    running = service.get("platformVersion")
    if running and running != t.platform_version:
        notes.append(
            f"the service runs platform version {running}; this release applies "
            f"the pinned {t.platform_version}"
        )
    live = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    differences = network.differences(live)
    if differences:
        notes.append(
            "the service's network configuration differs: "
            + "; ".join(differences)
            + "; this release applies it"
        )
    live_strategy = service.get("capacityProviderStrategy")
    wanted_strategy = [item.ecs() for item in t.capacity_provider_strategy]
    if live_strategy and _normalised(live_strategy) != _normalised(wanted_strategy):
        notes.append(
            f"the service runs capacity provider strategy {live_strategy}; this release "
            f"sets the configured {wanted_strategy}"
        )
    return notes


def _normalised(strategy: list[dict]) -> list[tuple]:
    return sorted(
        (s.get("capacityProvider"), s.get("base", 0), s.get("weight", 0)) for s in strategy
    )


def _task_definition_calls(r: Releaser) -> list[ReadCall]:
    # The family name gives its latest ACTIVE revision. Terraform registers
    # a new revision when the task definition changes in code (cpu/memory,
    # environment, secrets, sidecars, volumes) but never puts it on the
    # service (ignore_changes); basing the release on it ships those changes.
    t = r.target
    return [
        ReadCall(
            "ecs",
            "describe_task_definition",
            {"taskDefinition": t.task_family, "include": ["TAGS"]},
            expect=f"latest ACTIVE revision of the family; container {t.container_name!r} "
            f"maps port {t.container_port}",
            not_found={
                "ClientException": f"task definition family {t.task_family!r} has no ACTIVE revision in "
                f"{t.region} (ECS ClientException); apply the services stack first"
            },
        )
    ]


def _base_name(r: Releaser, found: Found) -> str:
    base = found.base
    return f"{base.get('family', r.target.task_family)}:{base.get('revision', '?')}"


def _verify_task_definition(r: Releaser, answers: list[dict], found: Found) -> None:
    t = r.target
    (found.task_definition,) = answers
    base = found.base
    base_name = _base_name(r, found)
    if base.get("status", "ACTIVE") != "ACTIVE":
        raise ReleaseRefused(
            f"task definition family {t.task_family!r}: ECS returned {base_name}, which is "
            f"{base.get('status')}; a release is based on the latest ACTIVE revision. "
            "Nothing was changed."
        )


class BaseRevisionCheck(Check):
    """Who registered the base revision, and what it changes against the
    running one. In a production-tier environment a base registered by
    anyone but the deploy role (Terraform) or the release role is refused
    unless accepted with a reason (``--accept-base``)."""

    def plan(self, releaser: Releaser) -> list[str]:
        return [
            ReadCall(
                "ecs",
                "describe_task_definition",
                {"taskDefinition": "<revision the service runs>"},
                expect="only when it is not the base: what ships besides the image",
            ).describe()
        ]

    def run(self, releaser: Releaser, found: Found) -> None:
        t, o = releaser.target, releaser.options
        policy = policy_for(t.environment)
        base = found.base
        base_name = _base_name(releaser, found)
        who = base.get("registeredBy")
        when = base.get("registeredAt")
        registered = f"registered by {who or 'an unknown principal'}" + (
            f" at {when}" if when else ""
        )
        trusted = is_trusted(who, policy)
        found.base_summary = f"base revision {base_name}, {registered}" + (
            "" if trusted else " (not the deploy or the release role)"
        )
        current_arn = found.current_task_definition_arn
        if base["taskDefinitionArn"] != current_arn:
            running = releaser.read(
                ReadCall(
                    "ecs",
                    "describe_task_definition",
                    {"taskDefinition": current_arn},
                    label="ecs.describe_task_definition (running revision)",
                )
            )["taskDefinition"]
            changes = task_definition_diff(running, base, app_container=t.container_name)
            found.notes.insert(
                0,
                f"basing the release on {base_name} (latest ACTIVE revision of the family, "
                f"{registered}); the service runs :{running.get('revision', '?')}. "
                + (
                    "Changes that ship with this release besides the image: " + "; ".join(changes)
                    if changes
                    else "The two differ only in the app image"
                ),
            )
        if trusted:
            return
        problem = (
            f"base revision {base_name} was {registered}, not by the deploy or the release "
            f"role ({trusted_roles(policy)})"
        )
        _accept_or_refuse(
            found,
            enforce=policy.enforce,
            problem=problem,
            reason=o.accept_base,
            accepted=f"base {base_name} accepted",
            refusal=f"{problem}. Review it (aws ecs describe-task-definition --task-definition "
            f'{base_name}), deregister it, or accept it with --accept-base "<reason>"',
        )


def _accept_or_refuse(
    found: Found, *, enforce: bool, problem: str, reason: str | None, accepted: str, refusal: str
) -> None:
    """Outside the production tier a warning; in it, a refusal unless a reason
    accepts it (the reason goes into the deployment description)."""
    if not enforce:
        found.notes.append(f"warning: {problem}; the production tier would refuse this release")
    elif reason:
        found.notes.append(f"{problem}; accepted: {reason}")
        found.accepted.append(f"{accepted}: {reason}")
    else:
        raise ReleaseRefused(f"{refusal}. Nothing was changed.")


def task_definition_diff(running: dict, base: dict, *, app_container: str) -> list[str]:
    """What differs between two described revisions, one item per change,
    the app image left out (the release replaces it)."""

    def comparable(td: dict) -> dict:
        result = {k: v for k, v in td.items() if k not in READ_ONLY_TASK_DEFINITION_FIELDS}
        containers = {}
        for c in td.get("containerDefinitions") or []:
            c = dict(c)
            if c.get("name") == app_container:
                c.pop("image", None)
            for key in ("environment", "secrets"):
                if key in c:
                    c[key] = {
                        e.get("name"): e.get("value", e.get("valueFrom")) for e in c[key] or []
                    }
            containers[c.get("name")] = c
        result["containerDefinitions"] = containers
        return result

    def short(value: object) -> str:
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."

    changes: list[str] = []

    def walk(path: str, a: object, b: object) -> None:
        if a == b:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                where = f"{path}.{key}" if path else str(key)
                if key not in a:
                    changes.append(f"{where} added ({short(b[key])})")
                elif key not in b:
                    changes.append(f"{where} removed (was {short(a[key])})")
                else:
                    walk(where, a[key], b[key])
            return
        changes.append(f"{path}: {short(a)} -> {short(b)}")

    walk("", comparable(running), comparable(base))
    return changes


def _repository_calls(r: Releaser) -> list[ReadCall]:
    t = r.target
    return [
        ReadCall(
            "ecr",
            "describe_repositories",
            {"repositoryNames": [t.ecr_repository_name]},
            not_found={
                "RepositoryNotFoundException": f"ECR repository {t.ecr_repository_name!r} does not exist in {t.region}"
            },
        )
    ]


def _verify_repository(r: Releaser, answers: list[dict], found: Found) -> None:
    t = r.target
    (repositories,) = answers
    repository = repositories["repositories"][0]
    found.repository_url = repository["repositoryUri"]
    if t.ecr_repository_url and t.ecr_repository_url != found.repository_url:
        raise ReleaseRefused(
            f"ECR repository {t.ecr_repository_name!r} has URI {found.repository_url!r}, but "
            f"{t.source} says {t.ecr_repository_url!r}; wrong account or stale outputs. "
            "Nothing was changed."
        )
    mutability = repository.get("imageTagMutability", "MUTABLE")
    if mutability != REQUIRED_TAG_MUTABILITY:
        raise ReleaseRefused(
            f"ECR repository {t.ecr_repository_name!r} has tag mutability {mutability}; a "
            f"release needs {REQUIRED_TAG_MUTABILITY} tags (a re-pushed tag would run other "
            "code than CI tested). Apply the services stack, which creates it IMMUTABLE. "
            "Nothing was changed."
        )


def _image_calls(r: Releaser) -> list[ReadCall]:
    t, o = r.target, r.options
    return [
        ReadCall(
            "ecr",
            "describe_images",
            {"repositoryName": t.ecr_repository_name, "imageIds": [r.image.image_id]},
            expect="the image exists",
            not_found={
                "ImageNotFoundException": f"image {o.image} is not in ECR repository {t.ecr_repository_name!r}; "
                "push it first (or check the tag)"
            },
        )
    ]


def _verify_image(r: Releaser, answers: list[dict], found: Found) -> None:
    t, o = r.target, r.options
    (images,) = answers
    details = images.get("imageDetails") or []
    if not details:
        raise ReleaseRefused(
            f"image {o.image} is not in ECR repository "
            f"{t.ecr_repository_name!r}. Nothing was changed."
        )
    found.image_digest = details[0]["imageDigest"]
    if o.expect_digest and o.expect_digest != found.image_digest:
        raise ReleaseRefused(
            f"image {o.image} in {t.ecr_repository_name!r} is {found.image_digest}, but "
            f"--expect-digest is {o.expect_digest}: the tag was pushed again or CI tested "
            "another image. Nothing was changed."
        )
    found.image_uri = r.image.uri(
        found.repository_url, digest=found.image_digest if o.pin_digest else None
    )
    found.register_request = new_task_definition_request(
        found.task_definition,
        container_name=t.container_name,
        container_port=t.container_port,
        image=found.image_uri,
    )
    for container in found.base.get("containerDefinitions", []):
        if container.get("name") == t.container_name and container.get("image") == found.image_uri:
            found.notes.append(
                f"{found.image_uri} is already the image of "
                f"{_base_name(r, found)}; releasing it again replaces the tasks"
            )


class ScanCheck(Check):
    """Waits for ECR's scan of the exact digest and judges its findings
    (ECR API reference: DescribeImageScanFindings, ImageScanStatus,
    ImageScanFindings.findingSeverityCounts)."""

    def _call(self, releaser: Releaser, digest: str) -> ReadCall:
        t = releaser.target
        policy = policy_for(t.environment)
        wait = releaser.scan_wait_minutes
        return ReadCall(
            "ecr",
            "describe_image_scan_findings",
            {"repositoryName": t.ecr_repository_name, "imageId": {"imageDigest": digest}},
            expect=f"scan {'/'.join(SCAN_DONE)} (waits up to {wait:g} min while "
            f"{'/'.join(SCAN_WAIT)}); no {'/'.join(policy.blocking_severities)} findings",
        )

    def plan(self, releaser: Releaser) -> list[str]:
        digest = releaser.image.digest or "<digest of the image>"
        return [self._call(releaser, digest).describe()]

    def run(self, releaser: Releaser, found: Found) -> None:
        t, o = releaser.target, releaser.options
        policy = policy_for(t.environment)
        call = self._call(releaser, found.image_digest)
        deadline = releaser.clock() + releaser.scan_wait_minutes * 60
        while True:
            answer = releaser.read(call, allow=("ScanNotFoundException",))
            status = ((answer or {}).get("imageScanStatus") or {}).get("status")
            if status in SCAN_DONE or (status not in SCAN_WAIT and answer is not None):
                break
            if releaser.clock() >= deadline:
                break
            releaser.say(
                f"waiting for the ECR scan of {found.image_digest} ({status or 'not started'})"
            )
            releaser.sleep(releaser.scan_poll_seconds)
        counts = ((answer or {}).get("imageScanFindings") or {}).get("findingSeverityCounts") or {}
        described = ", ".join(f"{s} {counts[s]}" for s in SEVERITIES if counts.get(s)) or "none"
        if status in SCAN_DONE:
            blocking = {s: counts[s] for s in policy.blocking_severities if counts.get(s)}
            found.scan_summary = f"scan {status}: findings {described}"
            if not blocking:
                return
            problem = (
                f"image {found.image_digest} has "
                + ", ".join(f"{n} {s}" for s, n in blocking.items())
                + " findings"
            )
        else:
            reason = ((answer or {}).get("imageScanStatus") or {}).get("description")
            state = status or "no scan"
            if status in SCAN_WAIT or answer is None:
                state += f" after {releaser.scan_wait_minutes:g} min"
            found.scan_summary = f"scan {state}"
            problem = f"no scan result for image {found.image_digest} ({state}" + (
                f": {reason})" if reason else ")"
            )
        _accept_or_refuse(
            found,
            enforce=policy.enforce,
            problem=problem,
            reason=o.accept_findings,
            accepted=f"findings accepted ({described})",
            refusal=f"{problem} ({t.environment.name} is production tier; refused: "
            f"{'/'.join(policy.blocking_severities)}). Release a fixed image, or accept "
            'with --accept-findings "<reason>" (recorded in the deployment description)',
        )


def _group_params(r: Releaser) -> dict:
    t = r.target
    return {"applicationName": t.codedeploy_application, "deploymentGroupName": t.deployment_group}


def _deployment_group_calls(r: Releaser) -> list[ReadCall]:
    t = r.target
    return [
        ReadCall(
            "codedeploy",
            "get_deployment_group",
            _group_params(r),
            expect="ECS group of this service",
            not_found={
                "ApplicationDoesNotExistException": f"CodeDeploy application {t.codedeploy_application!r} does not exist",
                "DeploymentGroupDoesNotExistException": f"CodeDeploy deployment group {t.deployment_group!r} does not exist in "
                f"application {t.codedeploy_application!r}",
            },
        )
    ]


def _verify_deployment_group(r: Releaser, answers: list[dict], found: Found) -> None:
    found.deployment_config_name = verify_group(r.target, answers[0])


def verify_group(t: ReleaseTarget, answer: dict) -> str | None:
    """The group (``get_deployment_group``'s answer) is ECS and deploys
    exactly this cluster/service, else ReleaseRefused; returns its
    deployment configuration name. ``status``/``follow``/``stop`` run it too."""
    group = answer["deploymentGroupInfo"]
    group_services = [
        (s.get("clusterName"), s.get("serviceName")) for s in group.get("ecsServices") or []
    ]
    if group.get("computePlatform") != "ECS" or (t.cluster, t.ecs_service) not in group_services:
        raise ReleaseRefused(
            f"deployment group {t.deployment_group!r} deploys {group_services or 'nothing'} "
            f"({group.get('computePlatform')}), not ECS service {t.cluster}/{t.ecs_service}. "
            "Nothing was changed."
        )
    return group.get("deploymentConfigName")


class ActiveDeploymentCheck(Check):
    """No other deployment is active in the group (CodeDeploy runs one at a
    time). Each active one is read: a deployment of this very image (its
    description has this image's release marker) is an earlier run of this
    release and is followed; any other refuses, named with what it is (a
    rollback is never offered a stop)."""

    def _list(self, r: Releaser) -> ReadCall:
        return ReadCall(
            "codedeploy",
            "list_deployments",
            {**_group_params(r), "includeOnlyStatuses": list(ACTIVE_DEPLOYMENT_STATUSES)},
            expect="none active",
        )

    @staticmethod
    def _get(deployment_id: str) -> ReadCall:
        return ReadCall(
            "codedeploy",
            "get_deployment",
            {"deploymentId": deployment_id},
            expect="only for an active one: this image's own deployment (release marker) "
            "is followed, another refuses",
        )

    def plan(self, releaser: Releaser) -> list[str]:
        return [self._list(releaser).describe(), self._get("<each active deployment>").describe()]

    def run(self, releaser: Releaser, found: Found) -> None:
        t = releaser.target
        active = releaser.read(self._list(releaser)).get("deployments") or []
        mine = image_marker(t.service_name, found.image_digest)
        others = []
        for deployment_id in active:
            info = releaser.read(self._get(deployment_id))["deploymentInfo"]
            if mine in (info.get("description") or "") and not rollback_of(info):
                found.own_deployment = deployment_id
                return
            rolls_back = rollback_of(info)
            others.append(
                f"{deployment_id} (the rollback of {rolls_back}: let it finish)"
                if rolls_back
                else f"{deployment_id} ({info.get('status')}, {info.get('description') or 'no description'})"
            )
        if others:
            first = active[0]
            raise ReleaseRefused(
                f"deployment {'; '.join(others)} is already in progress for "
                f"{t.codedeploy_application}/{t.deployment_group}; follow it with "
                f"{oncall_command(t, 'follow', first)} and release again when it has "
                "finished. Nothing was changed."
            )


def task_set_problem(service: dict) -> str | None:
    """Why the service's task sets (``describe_services`` ``taskSets``) do
    not allow a new release, or None: a CODE_DEPLOY service between
    deployments has exactly one, the PRIMARY. A second one is a deployment's
    replacement (green) or original (blue) task set: the deployment is still
    running or was left half-done."""
    task_sets = service.get("taskSets") or []
    if len(task_sets) == 1 and task_sets[0].get("status") == "PRIMARY":
        return None
    if not task_sets:
        return "ECS reports no task set for it (a CODE_DEPLOY service has its PRIMARY one)"
    described = ", ".join(
        f"{ts.get('id', '?')} ({ts.get('status', '?')}, "
        f"{str(ts.get('taskDefinition', '?')).rsplit('/', 1)[-1]}, "
        f"{ts.get('runningCount', 0)}/{ts.get('computedDesiredCount', 0)} tasks)"
        for ts in task_sets
    )
    count = f"{len(task_sets)} task set{'s' if len(task_sets) > 1 else ''}"
    return f"it has {count}: {described}"


class TaskSetCheck(Check):
    """ECS has exactly one task set for the service, the PRIMARY one
    (``task_set_problem``), judged on the ``describe_services`` answer (no
    call of its own). It runs after ``ActiveDeploymentCheck``: a deployment
    in progress has two task sets, and a re-run of this release follows its
    own deployment instead."""

    def plan(self, releaser: Releaser) -> list[str]:
        return []

    def run(self, releaser: Releaser, found: Found) -> None:
        if found.own_deployment:
            return
        problem = task_set_problem(found.service)
        if problem is None:
            return
        t = releaser.target
        task_sets = found.service.get("taskSets") or []
        draining = [ts for ts in task_sets if ts.get("status") == "DRAINING"]
        if task_sets and len(task_sets) - len(draining) == 1:
            advice = (
                "ECS is still removing the DRAINING one (the end of the last deployment): "
                "release again in a few minutes"
            )
        else:
            advice = (
                f"a deployment was left half-done: see the last one with "
                f"{oncall_command(t, 'status')}, and before releasing find out which task "
                f"set serves traffic (aws ecs describe-services --cluster {t.cluster} "
                f"--services {t.ecs_service}); a release needs exactly one, the PRIMARY"
            )
        raise ReleaseRefused(
            f"ECS service {t.ecs_service!r} in cluster {t.cluster!r} is not between "
            f"deployments: {problem}, and no CodeDeploy deployment is active in "
            f"{t.codedeploy_application}/{t.deployment_group}; {advice}. Nothing was changed."
        )


def _hook_calls(r: Releaser) -> list[ReadCall]:
    return [
        ReadCall(
            "lambda",
            "get_function_configuration",
            {"FunctionName": function},
            expect=f"hook {event} exists",
            not_found={
                "ResourceNotFoundException": f"Lambda function {function!r} for the {event} hook does not exist "
                f"in {r.target.region}"
            },
            label=f"lambda.get_function_configuration ({event} hook)",
        )
        for event, function in r.options.hooks
    ]


def _exists(r: Releaser, answers: list[dict], found: Found) -> None:
    """Nothing to judge: a missing resource was refused by its call (``not_found``)."""


#: Every read-only check, in the order preflight runs them and the dry run
#: lists them; the first failure refuses the release before any write.
CHECKS: tuple[Check, ...] = (
    Reads(_account_calls, _verify_account),
    Reads(_service_calls, _verify_service),
    NetworkCheck(),
    Reads(_task_definition_calls, _verify_task_definition),
    BaseRevisionCheck(),
    Reads(_repository_calls, _verify_repository),
    Reads(_image_calls, _verify_image),
    ScanCheck(),
    Reads(_deployment_group_calls, _verify_deployment_group),
    ActiveDeploymentCheck(),
    TaskSetCheck(),
    Reads(_hook_calls, _exists),
)
