"""Prints the Terraform commands that re-create one ECS service, for a
change of a create-time setting (``service_registries``,
``enable_execute_command``).

On a CODE_DEPLOY service UpdateService refuses those settings, so the
services ignore them (config/codedeploy_contract.py, class
create-time): a changed value takes effect when the service is re-created.
Re-creating it also re-creates its two listener rules, so that production
forwards to the blue target group the new service registers in (after an
odd number of releases CodeDeploy left production on green). The service
is unavailable between the delete and the create: use a change window.

    .venv/bin/python tools/ops/recreate_service.py --env prod --service payment-api

reads ``cdktf.out`` (run ``make synth`` first with the changed configuration)
and prints the read-only checks to run first (no active deployment, blue's
termination wait over), how to read the running task definition, image tag
and scaled desired count (the re-created service starts from them through an
override file), the plan and apply commands with the resources' addresses,
and the re-release with the tag read in step 1; it changes nothing itself.
``--with-target-groups`` also replaces both target groups (docs/services.md,
"Replacing the target groups"). Procedure: docs/services.md, "Create-time
settings".
Exit codes: 0 printed; 2 bad input or no synthesized stack.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from guardrails.cdktf_out import stack_path  # noqa: E402

#: Construct ids (under ``service-<name>``) of what is re-created, in order.
RECREATED = (
    ("aws_lb_listener_rule", "production-rule"),
    ("aws_lb_listener_rule", "test-rule"),
    ("aws_ecs_service", "service"),
)
#: Replaced too with ``--with-target-groups`` (a port, protocol or target
#: type change: docs/services.md, "Replacing the target groups").
TARGET_GROUPS = (
    ("aws_lb_target_group", "blue-target-group"),
    ("aws_lb_target_group", "green-target-group"),
)
#: CodeDeploy statuses of a deployment that has not ended; an ECS blue/green
#: deployment stays InProgress until the original (blue) task set is
#: terminated, ``terminate_blue_after_minutes`` after the shift.
ACTIVE_STATUSES = ("Created", "Queued", "InProgress", "Baking", "Ready")
#: Terraform merges ``*_override.tf.json`` files into the configuration
#: (https://developer.hashicorp.com/terraform/language/files/override).
OVERRIDE_FILE = "recreate_override.tf.json"


class UsageError(Exception):
    """Bad input; the message names the field, the value and what is allowed."""


def _find(stack: dict, stack_id: str, service: str, rtype: str, construct_id: str):
    """(address, body) of the service's resource at ``construct_id``."""
    path = f"{stack_id}/service-{service}/{construct_id}"
    matches = [
        (f"{rtype}.{name}", body)
        for name, body in ((stack.get("resource") or {}).get(rtype) or {}).items()
        if (body.get("//") or {}).get("metadata", {}).get("path") == path
    ]
    if len(matches) != 1:
        raise UsageError(
            f"{stack_id}: found {len(matches)} {rtype} at {path}; synthesize "
            "again (make synth) and check the service name"
        )
    return matches[0]


def addresses(
    stack: dict, stack_id: str, service: str, with_target_groups: bool = False
) -> list[str]:
    """Terraform addresses of the service's listener rules and ECS service
    (and its target groups)."""
    wanted = RECREATED + (TARGET_GROUPS if with_target_groups else ())
    return [_find(stack, stack_id, service, rtype, cid)[0] for rtype, cid in wanted]


def services_in(stack: dict, stack_id: str) -> list[str]:
    prefix = f"{stack_id}/service-"
    return sorted(
        body["//"]["metadata"]["path"][len(prefix) :].removesuffix("/service")
        for body in (stack.get("resource") or {}).get("aws_ecs_service", {}).values()
        if body.get("//", {}).get("metadata", {}).get("path", "").startswith(prefix)
    )


def _literal(stack: dict, value: str) -> str:
    """``value``, or the name of the resource a ``${type.id.attr}`` points at."""
    match = re.fullmatch(r"\$\{([^.}]+)\.([^.}]+)\.[^}]+\}", value or "")
    if not match:
        return value
    body = (stack.get("resource") or {}).get(match[1], {}).get(match[2], {})
    return body.get("name", value)


def commands(outdir: Path, env: str, service: str, with_target_groups: bool = False) -> list[str]:
    stack_id = f"payment-{env}-services"
    path = stack_path(outdir, stack_id)
    if not path.is_file():
        raise UsageError(
            f"--env: {env!r} has no synthesized services stack at {path}; run "
            f"`PAYMENT_ENVIRONMENTS={env} make synth` first"
        )
    try:
        stack = json.loads(path.read_text())
    except ValueError as err:
        raise UsageError(f"{path}: not readable JSON ({err}); synthesize again") from None
    known = services_in(stack, stack_id)
    if service not in known:
        raise UsageError(
            f"--service: {service!r} is not a service of {stack_id}; allowed: " + ", ".join(known)
        )
    replace = " ".join(
        f"-replace='{a}'" for a in addresses(stack, stack_id, service, with_target_groups)
    )
    service_address, service_body = _find(stack, stack_id, service, "aws_ecs_service", "service")
    _, group = _find(
        stack, stack_id, service, "aws_codedeploy_deployment_group", "deployment-group"
    )
    _, task = _find(stack, stack_id, service, "aws_ecs_task_definition", "task-definition")
    container = json.loads(task["container_definitions"])[0]["name"]
    cluster = _literal(stack, service_body["cluster"])
    application = _literal(stack, group["app_name"])
    name = service_body["name"]
    where = f"cdktf.out/stacks/{stack_id}"
    ecs = f"aws ecs describe-services --cluster {cluster} --services {name}"
    override = json.dumps(
        {
            "resource": {
                "aws_ecs_service": {
                    service_address.split(".", 1)[1]: {
                        "task_definition": "%s",
                        "desired_count": "DESIRED",
                    }
                }
            }
        },
        separators=(",", ":"),
    ).replace('"DESIRED"', "%s")
    return [
        "# 0. Before the window: no deployment may be running, blue's wait included (an ECS",
        "#    blue/green deployment stays InProgress until the original task set is terminated).",
        "#    The first must print [] and the second 1; otherwise wait for the deployment or",
        "#    stop it (docs/release.md), then check again:",
        f"aws deploy list-deployments --application-name {application} "
        f"--deployment-group-name {group['deployment_group_name']} "
        f"--include-only-statuses {' '.join(ACTIVE_STATUSES)} --query deployments",
        f"{ecs} --query 'length(services[0].taskSets)'",
        "# 1. What production runs now and at what scale: the re-created service starts from",
        "#    both (an override file Terraform merges), not from image_tag and desired_count:",
        f"TASK_DEFINITION=$({ecs} --query 'services[0].taskDefinition' --output text)",
        f"DESIRED=$({ecs} --query 'services[0].desiredCount' --output text)",
        'IMAGE=$(aws ecs describe-task-definition --task-definition "$TASK_DEFINITION" '
        f"--query \"taskDefinition.containerDefinitions[?name=='{container}'].image | [0]\" "
        "--output text)",
        'case "$IMAGE" in *@*) TAG=${IMAGE#*@} ;; *) TAG=${IMAGE##*:} ;; esac',
        'echo "re-release tag: $TAG"',
        f'printf \'{override}\\n\' "$TASK_DEFINITION" "$DESIRED" > {where}/{OVERRIDE_FILE}',
        "# 2. Re-create the listener rules and the service"
        + (" with both target groups" if with_target_groups else "")
        + "; the plan must replace exactly these:",
        f"terraform -chdir={where} init",
        f"terraform -chdir={where} plan -out=recreate.tfplan {replace}",
        f"terraform -chdir={where} apply recreate.tfplan",
        f"rm {where}/{OVERRIDE_FILE}",
        "# 3. Release the same image again (its release marker and tag, docs/release.md):",
        f'.venv/bin/python -m release --env {env} --service {service} --image-tag "$TAG"',
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=".venv/bin/python tools/ops/recreate_service.py",
        description="Print the commands that re-create one ECS service (create-time settings).",
    )
    parser.add_argument("--env", required=True, help="environment, e.g. prod")
    parser.add_argument("--service", required=True, help="service name, e.g. payment-api")
    parser.add_argument("--outdir", default=str(ROOT / "cdktf.out"), help="synthesized output")
    parser.add_argument(
        "--with-target-groups",
        action="store_true",
        help="also replace both target groups (a port, protocol or target type change)",
    )
    args = parser.parse_args(argv)
    try:
        lines = commands(Path(args.outdir), args.env, args.service, args.with_target_groups)
    except UsageError as err:
        print(f"recreate_service: {err}", file=sys.stderr)
        return 2
    print(
        f"# Re-creates {args.service} in {args.env}: the service is down between delete and "
        "create; use a change window."
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
