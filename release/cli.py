"""Command line: ``python -m release --env dev --service payment-api --image-tag v1.4.2``.

See docs/release.md for the flow and the exit codes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from release.appspec import ECS_HOOK_EVENTS, ImageRef, parse_hooks
from release.deploy import AwsClients, ReleaseOptions, Releaser
from release.errors import (
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REFUSED,
    ReleaseError,
    ReleaseInputError,
)
from release.target import load_environment, target_from_config, target_from_outputs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m release",
        description="Release one image of one service to one environment with a CodeDeploy "
        "blue/green deployment. Every read-only check runs before the first change.",
    )
    parser.add_argument(
        "--env",
        required=True,
        metavar="ENV",
        help="environment defined in config/environments.py (e.g. dev, staging, prod)",
    )
    parser.add_argument("--service", required=True, help="service name from the configuration")
    parser.add_argument(
        "--image-tag",
        required=True,
        metavar="TAG_OR_DIGEST",
        help="tag, or sha256:<digest>, of an image in the service's ECR repository",
    )
    parser.add_argument(
        "--outputs",
        metavar="FILE",
        help="`terraform output -json` of the environment's services stack "
        "(its release_manifest output); default: names from config/naming.py",
    )
    parser.add_argument(
        "--hook",
        action="append",
        default=[],
        metavar="EVENT=FUNCTION",
        help="Lambda function CodeDeploy runs at a lifecycle event; repeatable; "
        f"EVENT: {', '.join(ECS_HOOK_EVENTS)}",
    )
    parser.add_argument(
        "--pin-digest",
        action="store_true",
        help="reference the image by digest in the task definition",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan and the AppSpec; call no AWS API (no credentials needed)",
    )
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=15.0,
        help="seconds between progress polls (default 15)",
    )
    parser.add_argument(
        "--timeout-minutes",
        type=float,
        default=None,
        help="stop waiting after this long (default: traffic shifting time + "
        "terminate_blue_after_minutes + 30 of the environment)",
    )
    parser.add_argument(
        "--description", default=None, help="deployment description shown in CodeDeploy"
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: AwsClients | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Runs the tool; returns the exit code (see release.errors)."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exit_:
        # argparse already printed the usage error (e.g. missing --image-tag).
        return int(exit_.code or 0)
    releaser = None
    try:
        if args.poll_seconds <= 0:
            raise ReleaseInputError(
                f"--poll-seconds: {args.poll_seconds:g} is not allowed; must be positive"
            )
        if args.timeout_minutes is not None and args.timeout_minutes <= 0:
            raise ReleaseInputError(
                f"--timeout-minutes: {args.timeout_minutes:g} is not allowed; must be positive"
            )
        image = ImageRef.parse(args.image_tag)
        hooks = parse_hooks(args.hook)
        env = load_environment(args.env)
        target = (
            target_from_outputs(env, args.service, args.outputs)
            if args.outputs
            else target_from_config(env, args.service)
        )
        options = ReleaseOptions(
            image=image,
            hooks=hooks,
            pin_digest=args.pin_digest,
            poll_seconds=args.poll_seconds,
            timeout_minutes=args.timeout_minutes,
            description=args.description,
        )
        releaser = Releaser(target, options, clients, out=out, sleep=sleep, clock=clock)
        if args.dry_run:
            print("DRY RUN: no AWS API is called; nothing is changed.", file=out)
            for line in releaser.plan():
                print(line, file=out)
            print(
                "\nAppSpec (placeholders <...> are filled in from AWS at release time):", file=out
            )
            print(json.dumps(releaser.dry_run_appspec(), indent=2), file=out)
            return EXIT_OK
        releaser.run()
        return EXIT_OK
    except ReleaseError as error:
        verdict = "refused" if error.exit_code in (EXIT_INPUT, EXIT_REFUSED) else "failed"
        print(f"release {verdict}: {error}", file=err)
        return error.exit_code
    except KeyboardInterrupt:
        if releaser is not None and releaser.deployment_id:
            print(
                f"interrupted: deployment {releaser.deployment_id} keeps running in CodeDeploy; "
                f"stop it with `aws deploy stop-deployment --deployment-id "
                f"{releaser.deployment_id} --auto-rollback-enabled`",
                file=err,
            )
        elif releaser is not None and releaser.task_definition_arn:
            print(
                f"interrupted after registering {releaser.task_definition_arn}; no deployment "
                "was created",
                file=err,
            )
        else:
            print("interrupted before any change", file=err)
        return EXIT_INTERRUPTED


def run() -> None:
    sys.exit(main())


__all__ = ["main", "build_parser", "EXIT_INPUT"]
