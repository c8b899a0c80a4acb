"""The release role's session (issue #26): the tool runs as the
environment's release role with a session that covers the whole release.

STS is a botocore Stubber on the real client (every request checked against
the STS model): moto's STS gives any DurationSeconds, while AWS refuses more
than 1 hour to a role assumed from a role session (role chaining,
FIELD_NOTES §10; ValidationError "The requested DurationSeconds exceeds the 1
hour session limit for roles assumed by role chaining"). moto answers the
calls made after the assumption, so a test can see which credentials signed
them. The tool reads the example configuration (tests/fixtures/example.py);
durations and names are derived from it.
"""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.stub import Stubber
from moto import mock_aws

from config.model import RELEASE_SESSION_MINUTES, deployment_minutes
from config.naming import release_role_name
from release.appspec import ImageRef
from release.cli import main
from release.deploy import AwsClients, ReleaseOptions, Releaser
from release.errors import EXIT_INPUT, EXIT_OK, EXIT_REFUSED
from release.session import RELEASE_WORKFLOW, release_role_arn, session_minutes
from release.target import target_from_config
from tests.helpers import refusal_of
from tests.release_example import example_environment, use_the_example
from tests.release_world import _fake_aws, _session

#: Operations tools replayed against simulated AWS: the second, separately
#: timed step of make test (pytest.ini, docs/decisions.md D56).
pytestmark = pytest.mark.aws_replay


ROOT = Path(__file__).resolve().parent.parent
CHAINING = (
    "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
    "role chaining."
)
SSO_SESSION = "alice@example.com"
#: The access key id of the release role's session that STS hands out.
ASSUMED_KEY = "ASIAASSUMEDRELEASE01"


@pytest.fixture(autouse=True)
def release_reads_the_example(monkeypatch):
    use_the_example(monkeypatch)
    _fake_aws(monkeypatch)  # the caller's own credentials: access key "testing"
    monkeypatch.delenv("AWS_CREDENTIAL_EXPIRATION", raising=False)


class RecordingSession:
    """A boto3 session that records which clients are made from it."""

    def __init__(self):
        self.session = _session()
        self.made: list[str] = []

    def client(self, name, **kwargs):
        self.made.append(name)
        return self.session.client(name, **kwargs)

    def get_credentials(self):
        return self.session.get_credentials()


def caller_arn(env, role: str | None = None, account: str | None = None) -> str:
    """An IAM Identity Center session (the usual person), or ``role``'s session."""
    account = account or env.account_id or "123456789012"
    role = role or "AWSReservedSSO_ReleaseManager_0123456789abcdef"
    return f"arn:aws:sts::{account}:assumed-role/{role}/{SSO_SESSION}"


def release_minutes(env) -> int:
    """What a release of ``env`` may take with its defaults."""
    return math.ceil(env.release.scan_wait_minutes) + deployment_minutes(env.deployment)


def clients_with_sts(env, caller: str):
    """AwsClients on a recording session; STS stubbed, its identity answer queued."""
    session = RecordingSession()
    clients = AwsClients(env.region, session=session)
    stub = Stubber(clients.sts)
    account = caller.split(":")[4]
    stub.add_response(
        "get_caller_identity",
        {"UserId": f"AROAEXAMPLE:{SSO_SESSION}", "Account": account, "Arn": caller},
        {},
    )
    return clients, stub, session


def expect_assume(stub: Stubber, env, caller: str, minutes: int) -> dict:
    params = {
        "RoleArn": release_role_arn(env, caller.split(":")[4]),
        "RoleSessionName": f"release-{env.name}-{SSO_SESSION}",
        "DurationSeconds": minutes * 60,
    }
    stub.add_response(
        "assume_role",
        {
            "Credentials": {
                "AccessKeyId": ASSUMED_KEY,
                "SecretAccessKey": "secret-of-the-release-session",
                "SessionToken": "token-of-the-release-session",
                "Expiration": datetime(2026, 12, 7, 14, 5, tzinfo=UTC),
            },
            "AssumedRoleUser": {
                "AssumedRoleId": "AROARELEASE:release",
                "Arn": f"arn:aws:sts::{params['RoleArn'].split(':')[4]}:assumed-role/"
                f"{release_role_name(env)}/{params['RoleSessionName']}",
            },
        },
        params,
    )
    return params


def run(argv: list[str], clients) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, clients=clients, out=out, err=err, sleep=lambda s: pytest.fail("slept"))
    return code, out.getvalue(), err.getvalue()


def signed_by(client, call: str) -> str:
    """The access key id that signed ``client.<call>()`` (moto answers)."""
    seen: list[str] = []

    def record(request, **_kwargs):
        seen.append(request.headers["Authorization"].decode())

    client.meta.events.register("before-send", record)
    try:
        getattr(client, call)()
    finally:
        client.meta.events.unregister("before-send", record)
    (authorization,) = seen
    return authorization.split("Credential=")[1].split("/")[0]


def test_a_role_session_cannot_get_a_session_as_long_as_a_prod_release():
    """The SSO user's role session would chain: STS refuses more than an hour.
    One line, exit 3, and no client but STS was ever made: nothing written."""
    env = example_environment("prod")
    minutes = release_minutes(env)
    assert minutes > 60  # the case: a production release outlives a chained session
    caller = caller_arn(env)
    clients, stub, session = clients_with_sts(env, caller)
    params = {
        "RoleArn": release_role_arn(env, caller.split(":")[4]),
        "RoleSessionName": f"release-prod-{SSO_SESSION}",
        "DurationSeconds": minutes * 60,
    }
    stub.add_client_error("assume_role", "ValidationError", CHAINING, 400, expected_params=params)
    with mock_aws(), stub:
        code, out, err = run(
            ["--env", "prod", "--service", "payment-api", "--image-tag", "v1.4.2"], clients
        )
        stub.assert_no_pending_responses()
    assert code == EXIT_REFUSED
    reason = refusal_of(err, "release")
    # What was asked (the role, the minutes) and what STS said.
    assert reason.startswith(f"STS will not give {release_role_name(env)} a {minutes}-minute ")
    assert f"(ValidationError: {CHAINING})" in reason
    # Why: the caller's kind and its bound, against the release's need.
    assert f"{caller} is a role session" in reason and "at most 1 hour" in reason
    assert (
        f"a release of payment-api to {env.name} can take {minutes} minutes (scan wait "
        f"{env.release.scan_wait_minutes:g} + deployment {deployment_minutes(env.deployment)})"
    ) in reason
    # The way out, and that nothing changed.
    assert f"release workflow ({RELEASE_WORKFLOW})" in reason
    assert f"{RELEASE_SESSION_MINUTES}-minute session" in reason
    assert reason.endswith("Nothing was changed.")
    assert out == ""
    assert session.made == ["sts"]
    # docs/release.md shows this refusal (Examples, Refusals) as printed: the
    # one test that pins a refusal's whole line (the docs' copy of it).
    assert f"\n{err}exit code {EXIT_REFUSED}\n" in (ROOT / "docs" / "release.md").read_text()


def test_follow_asks_for_the_deployments_timeout_and_is_refused_alike():
    env = example_environment("prod")
    caller = caller_arn(env)
    clients, stub, session = clients_with_sts(env, caller)
    minutes = deployment_minutes(env.deployment)
    stub.add_client_error(
        "assume_role",
        "ValidationError",
        CHAINING,
        400,
        expected_params={
            "RoleArn": release_role_arn(env),
            "RoleSessionName": f"release-prod-{SSO_SESSION}",
            "DurationSeconds": minutes * 60,
        },
    )
    with mock_aws(), stub:
        code, _, err = run(["follow", "--env", "prod", "--service", "payment-api"], clients)
    assert code == EXIT_REFUSED
    assert err.startswith(f"follow refused: STS will not give {release_role_name(env)} a ")
    assert f"following the deployment can take {minutes} minutes" in err
    assert err.count("\n") == 1
    assert session.made == ["sts"]


def test_the_assumed_session_signs_every_later_call():
    """dev's release fits in a chained hour: STS gives the session, and every
    client made afterwards (ECS, EC2, CodeDeploy's one-attempt client, STS)
    signs with its key, not the caller's."""
    env = example_environment("dev")
    minutes = release_minutes(env)
    caller = caller_arn(env)
    clients, stub, _ = clients_with_sts(env, caller)
    params = expect_assume(stub, env, caller, minutes)
    said: list[str] = []
    with mock_aws():
        assert signed_by(clients.ecs, "list_clusters") == "testing"  # the caller's, before
        with stub:
            clients.use_release_role(env, minutes, needs="a release", say=said.append)
            stub.assert_no_pending_responses()
        assert signed_by(clients.ecs, "list_clusters") == ASSUMED_KEY
        assert signed_by(clients.ec2, "describe_vpcs") == ASSUMED_KEY
        assert signed_by(clients.codedeploy_once, "list_applications") == ASSUMED_KEY
        assert signed_by(clients.sts, "get_caller_identity") == ASSUMED_KEY
    assert said == [
        f"credentials: assumed {params['RoleArn']} for {minutes} min (until 14:05 UTC), as {caller}"
    ]


def test_a_release_asks_for_scan_wait_plus_timeout(monkeypatch):
    """The duration asked for follows the options: --timeout-minutes and
    --scan-wait-minutes, and for --check the scan wait only."""
    env = example_environment("dev")
    target = target_from_config(env, "payment-api")
    seen: list[int] = []

    class Clients:
        def use_release_role(self, environment, minutes, *, needs, say):
            seen.append(minutes)

    def releaser(**options):
        return Releaser(target, ReleaseOptions(image=ImageRef.parse("v1"), **options), Clients())

    releaser().use_release_role()
    releaser(timeout_minutes=50.5, scan_wait_minutes=3).use_release_role()
    releaser(scan_wait_minutes=20).use_release_role(deploying=False)
    releaser(assume_role=False).use_release_role()
    assert seen == [release_minutes(env), 54, 20]
    assert session_minutes() == 15  # STS's minimum, e.g. for status and stop


def test_the_caller_already_the_release_role_is_not_assumed_again():
    """The release workflow's case: its OIDC session is the release role. No
    AssumeRole (the stub would fail on it), the caller's credentials stay."""
    env = example_environment("prod")
    caller = caller_arn(env, role=release_role_name(env))
    clients, stub, _ = clients_with_sts(env, caller)
    said: list[str] = []
    with mock_aws():
        with stub:
            clients.use_release_role(env, release_minutes(env), needs="x", say=said.append)
            stub.assert_no_pending_responses()
        assert signed_by(clients.ecs, "list_clusters") == "testing"
    assert said == [
        f"credentials: already {release_role_name(env)} ({caller}); credentials from "
        "environment variables carry no expiry the tool can read: they must last "
        f"{release_minutes(env)} min (the release workflow's last {RELEASE_SESSION_MINUTES})"
    ]


@pytest.mark.parametrize("left", [30, 170])
def test_the_release_roles_own_session_must_last_the_release(monkeypatch, left):
    """AWS_CREDENTIAL_EXPIRATION (botocore's EnvProvider reads it) is the one
    expiry of environment credentials the tool can read."""
    env = example_environment("prod")
    minutes = release_minutes(env)
    expiry = datetime.now(UTC) + timedelta(minutes=left, seconds=30)
    monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", expiry.isoformat())
    caller = caller_arn(env, role=release_role_name(env))
    clients, stub, session = clients_with_sts(env, caller)
    with mock_aws(), stub:
        if left < minutes:
            code, out, err = run(
                ["--env", "prod", "--service", "payment-api", "--image-tag", "v1.4.2"], clients
            )
            assert code == EXIT_REFUSED
            reason = refusal_of(err, "release")
            assert reason.startswith(f"the caller is {release_role_name(env)} ({caller})")
            assert f"session ends at {expiry:%H:%M} UTC, in {left} min" in reason
            assert f"a release of payment-api to {env.name} can take {minutes} minutes" in reason
            assert f"{RELEASE_WORKFLOW}, gets {RELEASE_SESSION_MINUTES} min" in reason
            assert reason.endswith("Nothing was changed.")
            assert session.made == ["sts"]
        else:
            said: list[str] = []
            clients.use_release_role(env, minutes, needs="x", say=said.append)
            assert said == [
                f"credentials: already {release_role_name(env)} ({caller}), {left} min left"
            ]
        stub.assert_no_pending_responses()


def test_a_caller_the_role_does_not_trust_is_refused_in_one_line():
    env = example_environment("prod")
    caller = caller_arn(env)
    clients, stub, session = clients_with_sts(env, caller)
    stub.add_client_error(
        "assume_role", "AccessDenied", "User is not authorized to perform: sts:AssumeRole", 403
    )
    with mock_aws(), stub:
        code, _, err = run(["status", "--env", "prod", "--service", "payment-api"], clients)
    assert code == EXIT_REFUSED
    reason = refusal_of(err, "status")
    assert reason.startswith(f"{caller} may not assume {release_role_arn(env)} (AccessDenied: ")
    # Whom the role trusts (the allowed callers) and the ways out.
    for trusted in (RELEASE_WORKFLOW, "break-glass role", "access.release_principal_arns"):
        assert trusted in reason
    assert "--no-assume-role" in reason
    assert reason.endswith("Nothing was changed.")
    assert session.made == ["sts"]


def test_no_assume_role_makes_no_sts_call():
    env = example_environment("prod")
    clients = AwsClients(env.region, session=RecordingSession())
    stub = Stubber(clients.sts)  # no answer queued: any STS call fails the test
    target = target_from_config(env, "payment-api")
    options = ReleaseOptions(image=ImageRef.parse("v1"), assume_role=False)
    with stub:
        Releaser(target, options, clients).use_release_role()


def test_no_assume_role_is_shown_by_the_dry_run():
    code, out, _ = run(
        [
            "--env",
            "dev",
            "--service",
            "payment-api",
            "--image-tag",
            "v1",
            "--no-assume-role",
            "--dry-run",
        ],
        None,
    )
    assert code == EXIT_OK
    minutes = release_minutes(example_environment("dev"))
    assert (
        "credentials (before the checks):\n  none (--no-assume-role): the caller's "
        f"credentials as they are; they must stay valid for {minutes} min\n"
    ) in out


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "release"])
def test_a_timeout_longer_than_the_role_allows_is_bad_input(dry_run):
    class Untouchable:
        def open(self):
            """Making the boto3 session is no AWS call."""

        def __getattr__(self, name):
            pytest.fail(f"used the {name} client")

    argv = ["--env", "dev", "--service", "payment-api", "--image-tag", "v1"]
    argv += ["--timeout-minutes", str(RELEASE_SESSION_MINUTES)] + (["--dry-run"] if dry_run else [])
    code, out, err = run(argv, Untouchable())
    env = example_environment("dev")
    minutes = math.ceil(env.release.scan_wait_minutes) + RELEASE_SESSION_MINUTES
    assert code == EXIT_INPUT
    reason = refusal_of(err, "release")
    # The options, the minutes they make and the bound they exceed.
    assert reason.startswith("--timeout-minutes/--scan-wait-minutes: ")
    assert (
        f"can take {minutes} minutes (scan wait {env.release.scan_wait_minutes:g} + "
        f"deployment {RELEASE_SESSION_MINUTES})"
    ) in reason
    assert f"longer than the release role's {RELEASE_SESSION_MINUTES}-minute session" in reason
    assert "--no-assume-role" in reason
    assert out == ""


@pytest.mark.parametrize(
    ("method", "refreshable", "said"),
    [
        ("shared-credentials-file", False, "these credentials (shared-credentials-file) carry "),
        ("assume-role", True, "botocore renews them as they near expiry"),
    ],
)
def test_the_caller_roles_credentials_are_judged_by_their_source(method, refreshable, said):
    """Static credentials with a session token (a credentials file) have no
    readable end either; a profile's role_arn session is renewed by botocore."""
    from botocore.credentials import Credentials, RefreshableCredentials

    from release.session import _judge_own_session

    credentials = (
        RefreshableCredentials("a", "b", "c", datetime.now(UTC), lambda: {}, method)
        if refreshable
        else Credentials("a", "b", "c", method=method)
    )
    lines: list[str] = []
    _judge_own_session("arn", "payment-prod-release", 105, "x", credentials, lines.append, None)
    (line,) = lines
    assert said in line
