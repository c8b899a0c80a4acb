"""``.venv/bin/python -m verify --env <env> [--output FILE]``: read-only checks of a
deployed environment, one line per check (docs/verify.md)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from config import ConfigError, load_environments
from verify import expected, report
from verify.checks import CHECKS, WHEN_SKIPPED
from verify.context import Context, Unreadable, assumed_clients, session_clients


class InputError(Exception):
    """Bad input: one line, exit 2."""


class CredentialsError(Exception):
    """No usable credentials: one line, exit 3."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise InputError(f"{self.prog}: {message} (see --help)")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog=".venv/bin/python -m verify", description=__doc__)
    p.add_argument("--env", required=True, help="environment name in the configuration")
    p.add_argument(
        "--outdir",
        default="cdktf.out",
        help="synthesized Terraform of the applied configuration (default cdktf.out)",
    )
    p.add_argument(
        "--output",
        metavar="FILE",
        help="also write the results as FILE.json and FILE.md (evidence, PCI 10.7, 11.5)",
    )
    p.add_argument(
        "--only",
        action="append",
        choices=[name for name, _ in CHECKS],
        help="run only this group of checks (repeatable)",
    )
    p.add_argument(
        "--skip",
        action="append",
        choices=[name for name, _ in CHECKS],
        help="leave this group of checks out (repeatable; the deploy workflow skips "
        "plan-reads, which the pull-request jobs run as the plan role). Skipping "
        "iam-boundary where a boundary is configured is a failure",
    )
    p.add_argument(
        "--datapoints-minutes",
        type=int,
        default=180,
        help="window in which every rollback alarm must have datapoints (default 180)",
    )
    p.add_argument(
        "--access-log-max-age-minutes",
        type=int,
        default=60,
        help="the newest ALB access-log object must be younger (default 60)",
    )
    return p


def identity(session) -> tuple[str, str, str]:
    """(account, partition, caller ARN) of the credentials; CredentialsError if none."""
    from botocore import exceptions as bx

    try:
        who = session.client("sts").get_caller_identity()
    except (bx.NoCredentialsError, bx.PartialCredentialsError) as err:
        raise CredentialsError(
            f"no AWS credentials ({err}): run with the deploy or plan role "
            "of the environment (AWS_PROFILE, or the workflow's OIDC step)"
        ) from None
    except bx.ClientError as err:
        code = err.response.get("Error", {}).get("Code", "?")
        raise CredentialsError(
            f"AWS refused the credentials ({code}): renew them (aws sso login, "
            "or assume the role again)"
        ) from None
    except bx.BotoCoreError as err:
        raise CredentialsError(f"cannot reach AWS STS to check the credentials: {err}") from None
    arn = who["Arn"]
    return who["Account"], arn.split(":")[1], arn


def run(argv: list[str] | None = None, session=None, now: datetime | None = None, out=None) -> int:
    out = out or sys.stdout
    started = time.monotonic()
    try:
        args = parser().parse_args(argv)
        try:
            defined = load_environments()
            (env,) = load_environments([args.env], defined)
        except ConfigError as err:
            raise InputError("; ".join(err.problems)) from None
        if args.datapoints_minutes < 1 or args.access_log_max_age_minutes < 1:
            raise InputError(
                "--datapoints-minutes and --access-log-max-age-minutes must be at least 1"
            )
        outdir = Path(args.outdir)
        try:
            synth = expected.load(env, outdir, expected.baseline_stack_name(env, defined, outdir))
        except expected.MissingSynthesis as err:
            raise InputError(str(err)) from None
        if session is None:
            import boto3

            session = boto3.Session(region_name=env.region)
        account, partition, caller = identity(session)
        if env.account_id and account != env.account_id:
            raise CredentialsError(
                f"the credentials are for account {account}; {env.name} is "
                f"account {env.account_id}: use that account's role"
            )
    except InputError as err:
        print(str(err), file=sys.stderr)
        return report.EXIT_INPUT
    except CredentialsError as err:
        print(f"verify: {err}", file=sys.stderr)
        return report.EXIT_CREDENTIALS

    synth.bind(partition, account, env.region)
    client = session_clients(session, env.region)
    ctx = Context(
        env=env,
        synth=synth,
        client=client,
        account=account,
        partition=partition,
        now=now or datetime.now(UTC),
        datapoints_minutes=args.datapoints_minutes,
        access_log_max_age_minutes=args.access_log_max_age_minutes,
        caller=caller,
        assume=lambda role_arn: assumed_clients(session, role_arn, env.region),
    )
    results: list[report.Result] = []
    for name, check in CHECKS:
        if name in (args.skip or ()):
            # Skipped explicitly: some groups still say why that fails.
            if name not in WHEN_SKIPPED:
                continue
            check = WHEN_SKIPPED[name]
        elif args.only and name not in args.only:
            continue
        try:
            found = check(ctx)
        except Unreadable as err:
            found = [report.unreadable(name, env.prefix, str(err))]
        except Exception as err:  # a check's own bug must not hide the other checks
            found = [
                report.unreadable(
                    name, env.prefix, f"the check failed: {type(err).__name__}: {err}"
                )
            ]
        for result in found:
            print(result.line(), file=out)
        results += found
    code = report.exit_code(results)
    print(f"{env.name}: {report.summary(results)} -> exit {code}", file=out)
    if args.output:
        header = {
            "environment": env.name,
            "account": account,
            "region": env.region,
            "identity": caller,
            "checked_at": ctx.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "duration_seconds": round(time.monotonic() - started, 1),
        }
        for path in report.write(args.output, results, header):
            print(f"wrote {path}", file=out)
    return code


def main() -> int:
    return run()
