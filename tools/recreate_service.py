"""Prints the Terraform commands that re-create one ECS service, for a
change of a create-time setting (``service_registries``,
``enable_execute_command``).

On a CODE_DEPLOY service UpdateService refuses those settings, so the
services ignore them (guardrails/rules/ecs_codedeploy_service.py, class
create-time): a changed value takes effect when the service is re-created.
Re-creating it also re-creates its two listener rules, so that production
forwards to the blue target group the new service registers in (after an
odd number of releases CodeDeploy left production on green). The service
is unavailable between the delete and the create: use a change window.

    .venv/bin/python tools/recreate_service.py --env prod --service payment-api

reads ``cdktf.out`` (run ``make synth`` first with the changed configuration)
and prints the plan and apply commands with the resources' addresses; it
changes nothing itself. Procedure: docs/services.md, "Create-time settings".
Exit codes: 0 printed; 2 bad input or no synthesized stack.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Construct ids (under ``service-<name>``) of what is re-created, in order.
RECREATED = (
    ("aws_lb_listener_rule", "production-rule"),
    ("aws_lb_listener_rule", "test-rule"),
    ("aws_ecs_service", "service"),
)


class UsageError(Exception):
    """Bad input; the message names the field, the value and what is allowed."""


def addresses(stack: dict, stack_id: str, service: str) -> list[str]:
    """Terraform addresses of the service's listener rules and ECS service."""
    resources = stack.get("resource") or {}
    found = []
    for rtype, construct_id in RECREATED:
        path = f"{stack_id}/service-{service}/{construct_id}"
        matches = [
            f"{rtype}.{name}"
            for name, body in (resources.get(rtype) or {}).items()
            if (body.get("//") or {}).get("metadata", {}).get("path") == path
        ]
        if len(matches) != 1:
            raise UsageError(
                f"{stack_id}: found {len(matches)} {rtype} at {path}; synthesize "
                "again (make synth) and check the service name"
            )
        found.append(matches[0])
    return found


def services_in(stack: dict, stack_id: str) -> list[str]:
    prefix = f"{stack_id}/service-"
    return sorted(
        body["//"]["metadata"]["path"][len(prefix) :].removesuffix("/service")
        for body in (stack.get("resource") or {}).get("aws_ecs_service", {}).values()
        if body.get("//", {}).get("metadata", {}).get("path", "").startswith(prefix)
    )


def commands(outdir: Path, env: str, service: str) -> list[str]:
    stack_id = f"payment-{env}-services"
    path = outdir / "stacks" / stack_id / "cdk.tf.json"
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
    replace = " ".join(f"-replace='{a}'" for a in addresses(stack, stack_id, service))
    where = f"cdktf.out/stacks/{stack_id}"
    return [
        "# 1. Note the image production runs now (the re-created service starts from",
        "#    Terraform's task definition, i.e. image_tag in configuration):",
        f"aws ecs describe-services --cluster payment-{env} --services {service} "
        "--query 'services[0].taskDefinition'",
        "# 2. Re-create the listener rules and the service; the plan must replace exactly these:",
        f"terraform -chdir={where} init",
        f"terraform -chdir={where} plan -out=recreate.tfplan {replace}",
        f"terraform -chdir={where} apply recreate.tfplan",
        "# 3. Release the image from step 1 again:",
        f".venv/bin/python -m release --env {env} --service {service} --image-tag <TAG_FROM_STEP_1>",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=".venv/bin/python tools/recreate_service.py",
        description="Print the commands that re-create one ECS service (create-time settings).",
    )
    parser.add_argument("--env", required=True, help="environment, e.g. prod")
    parser.add_argument("--service", required=True, help="service name, e.g. payment-api")
    parser.add_argument("--outdir", default=str(ROOT / "cdktf.out"), help="synthesized output")
    args = parser.parse_args(argv)
    try:
        lines = commands(Path(args.outdir), args.env, args.service)
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
