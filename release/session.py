"""The credentials a release runs with: the environment's release role, for
as long as the release can take (docs/release.md "The release role's
session", docs/decisions.md D45).

Role chaining (assuming a role from a role session, e.g. an IAM Identity
Center session) caps the new session at 1 hour whatever the role's
``max_session_duration`` says (FIELD_NOTES §10), while a production release
can take longer. So the tool asks STS itself for a session that covers the
whole release, before any other call: STS's refusal then stops the release
before anything was changed, instead of the credentials expiring while
CodeDeploy shifts traffic. A caller that already is the release role (the
release workflow, whose OIDC session lasts ``RELEASE_SESSION_MINUTES``) is
used as it is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime

from config import EnvironmentConfig
from config.model import RELEASE_SESSION_MINUTES
from config.naming import release_role_name
from release.aws_errors import credential_problem, error_code, read_or_refuse, refusal
from release.errors import ReleaseInputError, ReleaseRefused
from release.policy import principal_role

#: STS AssumeRole's shortest session (DurationSeconds at least 900).
MIN_SESSION_MINUTES = 15
#: The workflow that releases with a session as long as the role allows
#: (GitHub OIDC: AssumeRoleWithWebIdentity, not role chaining).
RELEASE_WORKFLOW = ".github/workflows/release.yml"
#: botocore credential providers that renew their credentials by themselves
#: when they near expiry (a profile's ``role_arn``, SSO, a credential
#: process, the container or instance role): their expiry is no limit.
#: Environment variables are not renewed: AWS_CREDENTIAL_EXPIRATION, when
#: set, is their hard end; without it their end cannot be read.
_ENV_METHOD = "env"
_SESSION_NAME_CHARACTER = re.compile(r"[^\w+=,.@-]")


def partition(region: str) -> str:
    """The ARN partition of a region: ``aws``, ``aws-cn`` or ``aws-us-gov``."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def release_role_arn(env: EnvironmentConfig, account: str | None = None) -> str:
    """``arn:<partition>:iam::<account>:role/payment-<env>-release``: the
    environment's account, else ``account`` (the caller's), else a placeholder."""
    account = env.account_id or account or "<account of the caller>"
    return f"arn:{partition(env.region)}:iam::{account}:role/{release_role_name(env)}"


def session_name(env: EnvironmentConfig, caller_arn: str) -> str:
    """``release-<env>-<caller's session or user name>`` (CloudTrail shows who
    released), in the characters and length STS allows."""
    caller = caller_arn.rsplit("/", 1)[-1] if "/" in caller_arn else "caller"
    return _SESSION_NAME_CHARACTER.sub("-", f"release-{env.name}-{caller}")[:64]


def session_minutes(*, scan_wait_minutes: float = 0, timeout_minutes: float = 0) -> int:
    """How long the credentials must last: the scan wait and the time the
    tool follows the deployment (its timeout already holds the configured
    30-minute margin, ``config.model.deployment_minutes``), at least STS's
    minimum."""
    return max(math.ceil(scan_wait_minutes) + math.ceil(timeout_minutes), MIN_SESSION_MINUTES)


def check_session_length(minutes: int, needs: str) -> None:
    """The release role allows ``RELEASE_SESSION_MINUTES``; configuration
    keeps its defaults within that, so only a longer ``--timeout-minutes``
    or ``--scan-wait-minutes`` gets here: bad input (exit 2)."""
    if minutes > RELEASE_SESSION_MINUTES:
        raise ReleaseInputError(
            f"--timeout-minutes/--scan-wait-minutes: {needs}, longer than the release "
            f"role's {RELEASE_SESSION_MINUTES}-minute session "
            "(config.model.RELEASE_SESSION_MINUTES); shorten them, or pass "
            "--no-assume-role to use your own credentials as they are"
        )


def use_release_role(
    clients, env: EnvironmentConfig, minutes: int, *, needs: str, say: Callable[[str], None]
) -> None:
    """Before the first other call: the clients run as the release role for
    ``minutes`` (``AwsClients.use_release_role``). Clients that cannot
    assume roles (a test's, with moto and stubs) are used as they are."""
    check_session_length(minutes, needs)
    use = getattr(clients, "use_release_role", None)
    if use is not None:
        use(env, minutes, needs=needs, say=say)


def plan(env: EnvironmentConfig, minutes: int, *, assume_role: bool = True) -> list[str]:
    """The credential calls, as the dry run lists them."""
    if not assume_role:
        return [
            f"  none (--no-assume-role): the caller's credentials as they are; they must "
            f"stay valid for {minutes} min"
        ]
    role = release_role_name(env)
    return [
        f"  sts.get_caller_identity()  -> already {role} (the release workflow): its own "
        "session is used",
        f"  sts.assume_role(RoleArn={release_role_arn(env)!r}, "
        f"RoleSessionName='release-{env.name}-<caller name>', "
        f"DurationSeconds={minutes * 60})  -> otherwise; every call below uses this "
        f"session; a refusal (e.g. role chaining's 1-hour limit) stops here",
    ]


def caller_expiry(credentials: object) -> datetime | None:
    """When the caller's credentials end for good, if the tool can tell:
    only environment variables with AWS_CREDENTIAL_EXPIRATION say it.
    Credentials that botocore renews (``RefreshableCredentials`` of any other
    provider) have no such end; plain environment variables carry none."""
    if getattr(credentials, "method", None) != _ENV_METHOD:
        return None
    # botocore keeps the expiry of RefreshableCredentials in _expiry_time
    # and has no public accessor for it.
    expiry = getattr(credentials, "_expiry_time", None)
    return expiry if isinstance(expiry, datetime) else None


def release_role_credentials(
    sts,
    env: EnvironmentConfig,
    minutes: int,
    *,
    needs: str,
    caller_credentials: object = None,
    say: Callable[[str], None] = print,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict | None:
    """The release role's credentials for ``minutes`` (AssumeRole's
    ``Credentials``), or None when the caller already is the release role
    with enough time left (its own session is used). ``needs`` says what
    takes that long, for the messages. Raises ReleaseRefused (exit 3)
    before any other AWS call when it cannot be had."""
    from botocore.exceptions import BotoCoreError, ClientError

    identity = read_or_refuse(env.name, "sts.get_caller_identity", sts.get_caller_identity)
    caller = identity.get("Arn", "?")
    role = release_role_name(env)
    role_arn = release_role_arn(env, identity.get("Account"))
    account = role_arn.split(":")[4]
    if ":assumed-role/" in caller and principal_role(caller) == (account, role):
        _judge_own_session(caller, role, minutes, needs, caller_credentials, say, now)
        return None
    try:
        answer = sts.assume_role(
            RoleArn=role_arn,
            RoleSessionName=session_name(env, caller),
            DurationSeconds=minutes * 60,
        )
    except (ClientError, BotoCoreError) as err:
        code, message = error_code(err)
        if credential_problem(err):
            raise refusal(err, env.name, "sts.assume_role") from None
        if code in ("AccessDenied", "AccessDeniedException"):
            raise ReleaseRefused(
                f"{caller} may not assume {role_arn} ({code}: {message}); the role trusts the "
                f"release workflow ({RELEASE_WORKFLOW}), the break-glass role and "
                "access.release_principal_arns "
                '(docs/ci.md, "Identities"): release through the workflow, ask for access, '
                "or pass --no-assume-role to use your own credentials as they are. Nothing "
                "was changed."
            ) from None
        if code == "ValidationError" and "DurationSeconds" in message:
            chained = "chaining" in message
            raise ReleaseRefused(
                f"STS will not give {role} a {minutes}-minute session ({code}: {message})"
                + (
                    f": {caller} is a role session, and a role assumed from a role session "
                    "lasts at most 1 hour"
                    if chained
                    else ""
                )
                + f", while {needs}; credentials that expired midway would leave the "
                f"deployment unfollowed. Release through the release workflow "
                f"({RELEASE_WORKFLOW}), which gets a {RELEASE_SESSION_MINUTES}-minute "
                "session through GitHub OIDC. Nothing was changed."
            ) from None
        raise ReleaseRefused(
            f"sts.assume_role of {role_arn} failed ({code}: {message}). Nothing was changed."
        ) from None
    credentials = answer["Credentials"]
    expiration = credentials.get("Expiration")
    until = f" (until {expiration:%H:%M} UTC)" if isinstance(expiration, datetime) else ""
    say(f"credentials: assumed {role_arn} for {minutes} min{until}, as {caller}")
    return credentials


def _judge_own_session(caller, role, minutes, needs, credentials, say, now) -> None:
    expiry = caller_expiry(credentials)
    if expiry is None:
        method = getattr(credentials, "method", None)
        renewed = method != _ENV_METHOD and hasattr(credentials, "refresh_needed")
        source = (
            "credentials from environment variables"
            if method == _ENV_METHOD
            else f"these credentials ({method or 'unknown source'})"
        )
        say(
            f"credentials: already {role} ({caller}); "
            + (
                "botocore renews them as they near expiry"
                if renewed
                else f"{source} carry no expiry the tool can read: they must last {minutes} "
                f"min (the release workflow's last {RELEASE_SESSION_MINUTES})"
            )
        )
        return
    left = int((expiry - now()).total_seconds() // 60)
    if left < minutes:
        raise ReleaseRefused(
            f"the caller is {role} ({caller}), but its session ends at {expiry:%H:%M} UTC, in "
            f"{left} min, while {needs}. Start a fresh session (the release workflow, "
            f"{RELEASE_WORKFLOW}, gets {RELEASE_SESSION_MINUTES} min) and retry. Nothing was "
            "changed."
        )
    say(f"credentials: already {role} ({caller}), {left} min left")
