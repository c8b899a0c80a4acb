"""Command line: ``.venv/bin/python -m release --env dev --service payment-api --image-tag v1.4.2``.

See docs/release.md for the flow and the exit codes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO

from release.appspec import ECS_HOOK_EVENTS, ImageRef, parse_hooks
from release.deploy import AwsClients, ReleaseOptions, Releaser
from release.deployments import oncall_command, watch_commands
from release.errors import (
    EXIT_INPUT,
    EXIT_NOT_FOLLOWED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    ReleaseError,
    ReleaseInputError,
    ReleaseRefused,
    Terminated,
)
from release.target import (
    ReleaseTarget,
    load_environment,
    target_from_config,
    target_from_outputs,
)

#: ``.venv/bin/python -m release <command> ...``; without a command: a release.
ONCALL_COMMANDS = ("status", "follow", "stop")
_VERDICTS = {EXIT_INPUT: "refused", EXIT_REFUSED: "refused", EXIT_NOT_FOLLOWED: "not followed"}
#: CodeDeploy deployment ids: ``d-`` and 9 upper-case letters or digits.
DEPLOYMENT_ID_PATTERN = re.compile(r"^d-[A-Z0-9]{9}$")


def _target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env",
        required=True,
        metavar="ENV",
        help="environment defined in config/environments.py (e.g. dev, staging, prod)",
    )
    parser.add_argument("--service", required=True, help="service name from the configuration")
    parser.add_argument(
        "--outputs",
        metavar="FILE",
        help="`terraform output -json` of the environment's services stack "
        "(its release_manifest output); default: names from config/naming.py",
    )
    parser.add_argument(
        "--no-assume-role",
        dest="assume_role",
        action="store_false",
        help="use the caller's credentials as they are; default: run as the environment's "
        "release role with a session as long as the command can take (assumed unless the "
        "caller already is that role)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=".venv/bin/python -m release",
        description="Release one image of one service to one environment with a CodeDeploy "
        "blue/green deployment. Every read-only check runs before the first change. "
        "On-call: `.venv/bin/python -m release status|follow|stop --env ENV --service SERVICE "
        "[--deployment-id ID]`.",
    )
    _target_arguments(parser)
    parser.add_argument(
        "--image-tag",
        required=True,
        metavar="TAG_OR_DIGEST",
        help="tag, or sha256:<digest>, of an image in the service's ECR repository",
    )
    parser.add_argument(
        "--expect-digest",
        metavar="SHA256",
        help="the digest CI built and tested (sha256:<64 hex>); refused if the tag names another",
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
        action=argparse.BooleanOptionalAction,
        default=True,
        help="reference the image by digest in the task definition (default; "
        "--no-pin-digest: by tag)",
    )
    parser.add_argument(
        "--accept-findings",
        metavar="REASON",
        help="release despite blocking image scan findings (production tier); the reason "
        "is recorded in the deployment description",
    )
    parser.add_argument(
        "--accept-base",
        metavar="REASON",
        help="release on a base revision registered by another principal than the deploy "
        "or release role (production tier); recorded in the deployment description",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan and the AppSpec; call no AWS API (no credentials needed)",
    )
    mode.add_argument(
        "--check",
        action="store_true",
        help="run every read-only check and print what it found (base revision, who "
        "registered it, its changes, scan); change nothing",
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
        help="stop following after this long (default: traffic shifting time + "
        "terminate_blue_after_minutes + 30 of the environment)",
    )
    parser.add_argument(
        "--scan-wait-minutes",
        type=float,
        default=None,
        help="how long to wait for the ECR scan of the image (default: the environment's "
        "release.scan_wait_minutes, config/environments.py)",
    )
    parser.add_argument(
        "--description", default=None, help="deployment description shown in CodeDeploy"
    )
    return parser


def build_oncall_parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f".venv/bin/python -m release {command}",
        description={
            "status": "Show a deployment of a service (the given one, else the active one, "
            "else the newest): creator, times, task definition, image digest, lifecycle "
            "step, traffic split, task counts and the rollback alarms.",
            "follow": "Follow a deployment of a service (the given one, else the active one) "
            "to its end, with the release's exit codes.",
            "stop": "Stop a deployment of a service (the given one, else the active one) with "
            "automatic rollback; a rollback is never stopped.",
        }[command],
    )
    _target_arguments(parser)
    parser.add_argument(
        "--deployment-id",
        metavar="ID",
        help="the deployment (d-XXXXXXXXX); it must belong to the service's deployment group",
    )
    if command == "follow":
        parser.add_argument("--poll-seconds", type=float, default=15.0, help="default 15")
        parser.add_argument(
            "--timeout-minutes",
            type=float,
            default=None,
            help="stop following after this long (default: as the release)",
        )
    return parser


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM raises Terminated (like SIGINT raises KeyboardInterrupt), so a
    cancelled CI job says what continues instead of dying silently."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _target(args, *, require_service: bool = True) -> ReleaseTarget:
    env = load_environment(args.env)
    return (
        target_from_outputs(env, args.service, args.outputs)
        if args.outputs
        else target_from_config(env, args.service)
    )


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: AwsClients | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Runs the tool; returns the exit code (release.errors.EXIT_CODES)."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in ONCALL_COMMANDS else None
    parser = build_oncall_parser(command) if command else build_parser()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv[1:] if command else argv)
    except SystemExit as exit_:
        # argparse already printed the usage error (e.g. missing --image-tag).
        return int(exit_.code or 0)
    releaser: Releaser | None = None
    signal_name, code = "SIGINT", EXIT_SIGINT
    try:
        with _sigterm_raises():
            try:
                if command == "follow":
                    # Set before following, so an interruption names the deployment.
                    releaser, deployment_id = _follower(args, clients, out, sleep, clock)
                    releaser.follow(deployment_id)
                    return EXIT_OK
                if command:
                    return _oncall(command, args, clients, out)
                releaser = _releaser(args, clients, out, sleep, clock)
                if args.dry_run:
                    plan = releaser.plan()  # refuses bad input before printing anything
                    print("DRY RUN: no AWS API is called; nothing is changed.", file=out)
                    for line in plan:
                        print(line, file=out)
                    print(
                        "\nAppSpec (placeholders <...> are filled in from AWS at release time):",
                        file=out,
                    )
                    print(json.dumps(releaser.dry_run_appspec(), indent=2), file=out)
                    return EXIT_OK
                _open(releaser.clients)
                releaser.use_release_role(deploying=not args.check)
                if args.check:
                    releaser.check()
                    print(
                        "CHECK ONLY: every read-only check passed; nothing was changed.", file=out
                    )
                    return EXIT_OK
                releaser.run()
                return EXIT_OK
            except Terminated:
                signal_name, code = "SIGTERM", EXIT_SIGTERM
                raise KeyboardInterrupt from None
    except ReleaseError as error:
        verdict = getattr(error, "verdict", None) or _VERDICTS.get(error.exit_code, "failed")
        print(f"{'release' if not command else command} {verdict}: {error}", file=err)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"interrupted ({signal_name}): {interrupted(releaser)}", file=err)
        return code
    except Exception as error:  # a bug or an unforeseen AWS answer: one line, no traceback
        if os.environ.get("RELEASE_DEBUG"):
            raise
        nothing = releaser is None or releaser.phase == "checks"
        print(
            f"internal error ({type(error).__name__}: {error}); "
            + ("nothing was changed." if nothing else interrupted(releaser))
            + " Set RELEASE_DEBUG=1 for the traceback.",
            file=err,
        )
        return EXIT_REFUSED if nothing else EXIT_NOT_FOLLOWED


def _open(clients) -> None:
    opener = getattr(clients, "open", None)
    if opener is not None:
        opener()


def _releaser(args, clients, out, sleep, clock) -> Releaser:
    _positive(args, "poll_seconds", "timeout_minutes", "scan_wait_minutes")
    image = ImageRef.parse(args.image_tag)
    expect = None
    if args.expect_digest is not None:
        try:
            expected = ImageRef.parse(args.expect_digest)
        except ReleaseInputError:
            expected = ImageRef()
        if not expected.digest:
            raise ReleaseInputError(
                f"--expect-digest: {args.expect_digest!r} is not allowed; use sha256:<64 hex>"
            )
        expect = expected.digest
    for flag, reason in (
        ("--accept-findings", args.accept_findings),
        ("--accept-base", args.accept_base),
    ):
        if reason is not None and not reason.strip():
            raise ReleaseInputError(f"{flag}: give the reason (it is recorded in the deployment)")
    hooks = parse_hooks(args.hook)
    options = ReleaseOptions(
        image=image,
        hooks=hooks,
        pin_digest=args.pin_digest,
        expect_digest=expect,
        accept_findings=args.accept_findings,
        accept_base=args.accept_base,
        poll_seconds=args.poll_seconds,
        timeout_minutes=args.timeout_minutes,
        scan_wait_minutes=args.scan_wait_minutes,
        description=args.description,
        assume_role=args.assume_role,
    )
    return Releaser(_target(args), options, clients, out=out, sleep=sleep, clock=clock)


def _positive(args, *names: str) -> None:
    for name in names:
        value = getattr(args, name)
        if value is not None and value <= 0:
            flag = "--" + name.replace("_", "-")
            raise ReleaseInputError(f"{flag}: {value:g} is not allowed; must be positive")


def _oncall_setup(args, clients, out):
    from release.oncall import OnCall

    if args.deployment_id is not None and not DEPLOYMENT_ID_PATTERN.match(args.deployment_id):
        raise ReleaseInputError(
            f"--deployment-id: {args.deployment_id!r} is not allowed; a CodeDeploy deployment "
            "id is d- and 9 upper-case letters or digits (e.g. d-7QXK2M9PA)"
        )
    target = _target(args)
    clients = clients if clients is not None else AwsClients(target.region)
    _open(clients)
    return target, clients, OnCall(target, clients, out, args.deployment_id)


def _oncall(command: str, args, clients, out) -> int:
    from release.session import MIN_SESSION_MINUTES, use_release_role

    target, clients, oncall = _oncall_setup(args, clients, out)
    if args.assume_role:
        use_release_role(
            clients,
            target.environment,
            MIN_SESSION_MINUTES,
            needs=f"`{command}` takes seconds",
            say=lambda line: print(line, file=out, flush=True),
        )
    return oncall.status() if command == "status" else oncall.stop()


def _follower(args, clients, out, sleep, clock) -> tuple[Releaser, str]:
    """``follow``: the Releaser that follows the chosen deployment to its end
    as the release follows its own (``Releaser.follow``: exit 0, 1, 4, 5, 6),
    and that deployment's id, after the group and deployment checks."""
    _positive(args, "poll_seconds", "timeout_minutes")
    target, clients, oncall = _oncall_setup(args, clients, out)
    options = ReleaseOptions(
        poll_seconds=args.poll_seconds,
        timeout_minutes=args.timeout_minutes,
        assume_role=args.assume_role,
    )
    releaser = Releaser(target, options, clients, out=out, sleep=sleep, clock=clock)
    releaser.use_release_role()
    oncall.check_group()
    info = oncall.chosen(newest=False)
    if info is None:
        raise ReleaseRefused(
            f"no active deployment in {target.codedeploy_application}/"
            f"{target.deployment_group} to follow; see the last one with "
            f"{oncall_command(target, 'status')}. Nothing was changed."
        )
    return releaser, info["deploymentId"]


def interrupted(releaser: Releaser | None) -> str:
    """What may exist and continue after an interruption, and how to check it."""
    if releaser is None or releaser.phase == "checks":
        return "during the read-only checks; nothing was changed."
    t = releaser.target
    arn = releaser.task_definition_arn
    if releaser.phase == "registering":
        return (
            f"while registering a revision of {t.task_family}; no deployment was created. A "
            "revision may have been registered: it is harmless (a copy of the base with the "
            "new image) and the next release converges."
        )
    if releaser.phase == "registered":
        return (
            f"after registering {arn}; no deployment was created (create_deployment was not "
            f"called). Deregister it (aws ecs deregister-task-definition --task-definition "
            f"{arn}) or leave it: the next release converges."
        )
    if releaser.phase == "creating":
        return (
            "while creating the deployment: CodeDeploy may have accepted it. Check with "
            f"{watch_commands(t)}: a deployment whose description has [{releaser.marker}] or "
            f"whose task definition is {arn} is this release's and keeps running (follow it "
            f"with {oncall_command(t, 'follow', '<its id>')}, or run this release again: it "
            f"finds and follows it); if there is none, {arn} is unused (deregister it or "
            "leave it: the next release converges)."
        )
    watched = releaser.watching or releaser.deployment_id
    if releaser.phase == "done":
        return f"after the release finished; deployment {releaser.deployment_id} succeeded."
    if watched in releaser.rollbacks:
        rollback = (
            f" (the rollback of this release's deployment {releaser.deployment_id})"
            if watched != releaser.deployment_id
            else " (a rollback)"
        )
        return (
            f"deployment {watched}{rollback} keeps running in CodeDeploy; let it finish and "
            f"follow it with {watch_commands(t, watched)}."
        )
    return (
        f"deployment {watched} keeps running in CodeDeploy; follow it with "
        f"{watch_commands(t, watched)}; stop it with {releaser.stop_command(watched or '')}."
    )


def run() -> None:
    sys.exit(main())


__all__ = ["main", "build_parser", "EXIT_INPUT"]
