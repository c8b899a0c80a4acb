"""Each service: CODE_DEPLOY controller, pinned platform, one task set, the released image."""

from __future__ import annotations

import re

from config import naming
from verify.context import Context, Unreadable
from verify.report import Result, failed, passed, unreadable

DOC_DRIFT = "docs/services.md, Drift table"
DOC_RELEASE = "docs/release.md, On-call commands"
_DIGEST = re.compile(r"release-marker (\S+)@(sha256:[0-9a-f]{64})/")


def manifest(ctx: Context) -> dict:
    """``release_manifest`` of the services stack, resolved (service -> names)."""
    stack = ctx.synth.stack("services")
    value = (
        (stack.data.get("output", {}).get("release_manifest") or {}).get("value") if stack else None
    )
    return stack.resolve(value) if stack and isinstance(value, dict) else {}


def expected_controller(ctx: Context, service: str) -> str | None:
    stack = ctx.synth.stack("services")
    for res in (stack.resources("aws_ecs_service") if stack else {}).values():
        if res.get("name") == service:
            return (res.get("deployment_controller") or {}).get("type", "ECS")
    return None


def check_services(ctx: Context) -> list[Result]:
    results: list[Result] = []
    names = manifest(ctx)
    cluster = naming.cluster_name(ctx.env)
    for svc in ctx.env.services:
        name = naming.ecs_service_name(ctx.env, svc)
        subject = f"{cluster}/{name}"
        try:
            found = ctx.call("ecs", "describe_services", cluster=cluster, services=[name])
        except Unreadable as err:
            results.append(unreadable("service", subject, str(err)))
            continue
        service = next(iter(found.get("services", [])), None)
        if service is None or service.get("status") != "ACTIVE":
            results.append(
                failed(
                    "service",
                    subject,
                    "expected an ACTIVE service, found none "
                    "(apply the services stack: make deploy)",
                    "README.md, First deployment",
                )
            )
            continue
        results.append(_controller(ctx, subject, service, name))
        pinned = (names.get(svc.name) or {}).get("platform_version", svc.platform_version)
        task_sets = service.get("taskSets", [])
        results.append(_platform(subject, service, task_sets, pinned))
        results.append(_task_sets(subject, task_sets))
        results.append(_image(ctx, subject, svc))
    return results


def _controller(ctx: Context, subject: str, service: dict, name: str) -> Result:
    expected = expected_controller(ctx, name) or "CODE_DEPLOY"
    found = (service.get("deploymentController") or {}).get("type", "ECS")
    if found == expected:
        return passed("service.controller", subject, f"deployment controller {found}")
    return failed(
        "service.controller",
        subject,
        f"expected deployment controller {expected}, found {found}",
        DOC_DRIFT,
    )


def _platform(subject: str, service: dict, task_sets: list, pinned: str) -> Result:
    running = {ts.get("platformVersion") for ts in task_sets} or {service.get("platformVersion")}
    if running == {pinned}:
        return passed("service.platform", subject, f"platform version {pinned}")
    return failed(
        "service.platform",
        subject,
        f"expected platform version {pinned} (pinned in "
        f"configuration), found {', '.join(sorted(map(str, running)))}; the next release's "
        "AppSpec sets it",
        "docs/release.md, What only a deployment changes",
    )


def _task_sets(subject: str, task_sets: list) -> Result:
    if len(task_sets) == 1:
        return passed("service.task-sets", subject, f"one task set ({task_sets[0].get('status')})")
    found = ", ".join(f"{ts.get('id')} {ts.get('status')}" for ts in task_sets) or "none"
    return failed(
        "service.task-sets",
        subject,
        f"expected exactly one task set, found "
        f"{len(task_sets)} ({found}): a deployment is running or was left half-way",
        DOC_RELEASE,
    )


def last_release(ctx: Context, svc) -> tuple[str | None, str]:
    """The digest of the newest successful deployment of the service's group
    (its release marker, docs/release.md) and that deployment's id."""
    group = naming.deployment_group_name(ctx.env, svc)
    ids = ctx.paginate(
        "codedeploy",
        "list_deployments",
        "deployments",
        applicationName=naming.codedeploy_application_name(ctx.env),
        deploymentGroupName=group,
        includeOnlyStatuses=["Succeeded"],
    )
    infos: list[dict] = []
    for start in range(0, len(ids), 25):
        infos += ctx.call(
            "codedeploy", "batch_get_deployments", deploymentIds=ids[start : start + 25]
        ).get("deploymentsInfo", [])
    if not infos:
        return None, ""
    newest = max(infos, key=lambda d: d.get("createTime") or 0)
    match = _DIGEST.search(newest.get("description") or "")
    return (match.group(2) if match else None), newest.get("deploymentId", "")


def _image(ctx: Context, subject: str, svc) -> Result:
    cluster = naming.cluster_name(ctx.env)
    container = naming.app_container_name(svc)
    try:
        digest, deployment = last_release(ctx, svc)
        arns = ctx.paginate(
            "ecs",
            "list_tasks",
            "taskArns",
            cluster=cluster,
            serviceName=naming.ecs_service_name(ctx.env, svc),
            desiredStatus="RUNNING",
        )
        tasks = (
            ctx.call("ecs", "describe_tasks", cluster=cluster, tasks=arns)["tasks"] if arns else []
        )
    except Unreadable as err:
        return unreadable("service.image", subject, str(err))
    if digest is None and not deployment:
        # The first apply: nothing released yet, the tasks run Terraform's
        # image_tag. Not a failure of the apply (the deploy workflow runs
        # this check right after it); the first release makes it compare.
        return passed(
            "service.image",
            subject,
            f"not released yet: no successful deployment in the group, the tasks run "
            f"Terraform's image tag {svc.image_tag!r} until the first release",
            DOC_RELEASE,
        )
    if digest is None:
        what = (
            f"the newest successful deployment {deployment} has no release marker"
            if deployment
            else "no successful deployment"
        )
        return failed(
            "service.image",
            subject,
            f"expected tasks running the image of the last "
            f"release, found {what}: release with the release tool",
            "docs/release.md",
        )
    if not tasks:
        return failed(
            "service.image",
            subject,
            f"expected running tasks with {digest}, found none",
            DOC_RELEASE,
        )
    other = []
    for task in tasks:
        found = next(
            (
                c.get("imageDigest")
                for c in task.get("containers", [])
                if c.get("name") == container
            ),
            None,
        )
        if found != digest:
            other.append(
                f"{task.get('taskArn', '?').rsplit('/', 1)[-1]} runs {found or 'no digest'}"
            )
    if other:
        return failed(
            "service.image",
            subject,
            f"expected every task's {container} on {digest} "
            f"(deployment {deployment}), found {'; '.join(other)}",
            DOC_RELEASE,
        )
    return passed(
        "service.image", subject, f"{len(tasks)} task(s) run {digest} (deployment {deployment})"
    )
