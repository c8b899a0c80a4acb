"""The release tool under faults an on-call engineer meets (issue #16).

Same harness as tests/release_world.py: moto for ECS, ECR, EC2 and
CloudWatch; CodeDeploy is a botocore Stubber on the real client (every
request checked against the service model); ECR's scan answers are played
behind the real ECR client (``World.scan``). References for the behaviours
tested here:

- ECR DescribeImageScanFindings: ``imageScanStatus.status`` is one of
  IN_PROGRESS, COMPLETE, FAILED, UNSUPPORTED_IMAGE, ACTIVE, PENDING,
  SCAN_ELIGIBILITY_EXPIRED, FINDINGS_UNAVAILABLE, LIMIT_EXCEEDED;
  ``imageScanFindings.findingSeverityCounts`` keys INFORMATIONAL, LOW,
  MEDIUM, HIGH, CRITICAL, UNDEFINED
  (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageScanFindings.html).
- CodeDeploy CreateDeployment fails with DeploymentLimitExceededException
  when the group has an active deployment; ListDeployments filters by
  ``includeOnlyStatuses`` (Created, Queued, InProgress, Baking, Ready, ...)
  (https://boto3.amazonaws.com/v1/documentation/api/latest/reference/services/codedeploy/client/list_deployments.html).
- botocore retry modes: legacy is the default; standard retries throttling,
  transient and connection errors; ``total_max_attempts`` counts the first
  attempt (https://docs.aws.amazon.com/boto3/latest/guide/retries.html).
- STS ExpiredTokenException: "Get a new identity token ... and then retry"
  (https://docs.aws.amazon.com/botocore/latest/reference/services/sts/client/exceptions/ExpiredTokenException.html):
  never transient, so following stops at once.
"""

# The fixtures come from tests/release_world.py; tests name them as parameters
# (release_reads_the_example is autouse: the tool reads the example here too).
# ruff: noqa: F811
from __future__ import annotations

import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import ANY

from release import cli
from release.checks import ACTIVE_DEPLOYMENT_STATUSES
from release.deploy import NO_RETRIES, RETRIES, AwsClients
from release.deployments import marker_in
from release.errors import (
    EXIT_CODES,
    EXIT_DEPLOYMENT_FAILED,
    EXIT_INPUT,
    EXIT_NO_ROLLBACK,
    EXIT_NOT_FOLLOWED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_ROLLBACK_FAILED,
    EXIT_ROLLED_BACK,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    DeploymentFailed,
    DeploymentNotFollowed,
    ReleaseRefused,
    exit_code_table,
)
from release.policy import is_trusted, policy_for
from release.target import target_from_config
from tests import release_child_stub
from tests.conftest import EXAMPLE
from tests.helpers import refusal_of
from tests.release_world import (  # noqa: F401  (fixtures)
    MOTO_ACCOUNT,
    SCAN_NOT_FOUND,
    TAG,
    World,
    _session,
    aws_clients,
    dev,
    fake_aws_env,
    release_reads_the_example,
    role_session,
    scan_answer,
    world,
)

#: Operations tools replayed against simulated AWS: the second, separately
#: timed step of make test (pytest.ini, docs/decisions.md D56).
pytestmark = pytest.mark.aws_replay


ROOT = Path(__file__).resolve().parent.parent


def _production(w: World, name: str = "dev", **release) -> None:
    """The world's environment as production tier (policy follows the tier),
    with ``release`` settings (``ReleaseConfig`` fields) changed."""
    env = w.target.environment
    env = dataclasses.replace(
        env, tier="production", name=name, release=dataclasses.replace(env.release, **release)
    )
    w.target = dataclasses.replace(w.target, environment=env)


def _checks(w: World, active=()) -> None:
    w.expect_group()
    w.expect_no_active(active)


def _deployment_info(w: World, deployment_id: str, task_definition: str, status="InProgress"):
    content = json.dumps(
        {
            "version": 0.0,
            "Resources": [
                {
                    "TargetService": {
                        "Type": "AWS::ECS::Service",
                        "Properties": {"TaskDefinition": task_definition},
                    }
                }
            ],
        }
    )
    return {
        "deploymentInfo": {
            "deploymentId": deployment_id,
            "status": status,
            "applicationName": w.target.codedeploy_application,
            "revision": {
                "revisionType": "AppSpecContent",
                "appSpecContent": {"content": content},
            },
        }
    }


def _next_arn(w: World) -> str:
    return f"{w.first_arn.rsplit(':', 1)[0]}:{len(w.revisions()) + 1}"


def _description_sent(w: World) -> str:
    (request,) = w.sent["CreateDeployment"]
    return request["description"]


# ----------------------------------------------------------------- supply chain
def test_a_mutable_repository_is_refused_before_any_write(world):
    world.ecr.put_image_tag_mutability(
        repositoryName=world.target.ecr_repository_name, imageTagMutability="MUTABLE"
    )
    with pytest.raises(ReleaseRefused, match="has tag mutability MUTABLE; a release needs"):
        world.releaser().run()
    assert world.revisions() == [world.first_arn]


def test_expect_digest_refuses_a_tag_that_names_another_image(world):
    other = "sha256:" + "a" * 64
    with pytest.raises(ReleaseRefused, match=f"is {world.digest}, but --expect-digest is {other}"):
        world.releaser(expect_digest=other).run()
    assert world.revisions() == [world.first_arn]


def test_expect_digest_that_matches_releases_pinned_by_digest(world):
    _checks(world)
    world.expect_create()
    world.expect_poll("Succeeded", green=100)
    world.releaser(expect_digest=world.digest).run()
    new = world.ecs.describe_task_definition(taskDefinition=world.revisions()[-1])
    app = new["taskDefinition"]["containerDefinitions"][0]
    assert app["image"] == f"{world.repo_url}@{world.digest}"


@pytest.mark.parametrize(
    ("blocking", "counts", "found"),
    [
        (("CRITICAL",), {"CRITICAL": 3, "MEDIUM": 2}, "3 CRITICAL"),
        # Where the environment's configuration also blocks HIGH.
        (("CRITICAL", "HIGH"), {"HIGH": 2, "LOW": 4}, "2 HIGH"),
    ],
)
def test_blocking_findings_are_refused_in_the_production_tier(world, blocking, counts, found):
    _production(world, blocking_severities=blocking)
    world.scan(world.digest, scan_answer("COMPLETE", **counts))
    with pytest.raises(ReleaseRefused, match=f"has {found} findings") as refused:
        world.releaser().run()
    assert "--accept-findings" in str(refused.value)
    assert f"dev is production tier; refused: {'/'.join(blocking)}" in str(refused.value)
    assert world.revisions() == [world.first_arn]


def test_accepted_findings_release_and_the_reason_is_in_the_description(world):
    _production(world)
    world.scan(world.digest, scan_answer("COMPLETE", CRITICAL=3))
    _checks(world)
    world.expect_create()
    world.expect_poll("Succeeded", green=100)
    world.releaser(accept_findings="CVE-2026-1 not reachable, SEC-42").run()
    assert "findings accepted (CRITICAL 3): CVE-2026-1 not reachable, SEC-42" in (
        _description_sent(world)
    )
    assert "accepted: CVE-2026-1 not reachable" in world.out.getvalue()


def test_findings_only_warn_outside_the_production_tier(world):
    # dev blocks CRITICAL only (configuration): HIGH is listed, not warned about.
    world.scan(world.digest, scan_answer("COMPLETE", CRITICAL=3, HIGH=2))
    _checks(world)
    world.expect_create()
    world.expect_poll("Succeeded", green=100)
    world.releaser().run()
    assert (
        f"note: warning: image {world.digest} has 3 CRITICAL findings; the production tier "
        "would refuse this release"
    ) in world.out.getvalue()
    assert "scan COMPLETE: findings CRITICAL 3, HIGH 2" in world.out.getvalue()


def test_high_findings_block_where_configured():
    # What release/policy.py decided before the settings moved into
    # configuration, as the example sets them: prod refuses CRITICAL and
    # HIGH, dev and staging warn on CRITICAL; every environment waits 10
    # minutes for the scan.
    by_name = {e.name: policy_for(e) for e in EXAMPLE}
    assert by_name["prod"].blocking_severities == ("CRITICAL", "HIGH")
    assert by_name["prod"].enforce
    for name in ("dev", "staging"):
        assert by_name[name].blocking_severities == ("CRITICAL",)
        assert not by_name[name].enforce
    assert {p.scan_wait_minutes for p in by_name.values()} == {10}


def test_the_docs_table_of_release_settings_is_the_configuration():
    """docs/release.md, "Trusting a release": one row per ReleaseConfig
    field, one column per environment, as the example (tests/fixtures/example.py,
    the shipped config/environments.py) sets them."""
    from config.model import ReleaseConfig

    text = (ROOT / "docs" / "release.md").read_text()
    table = text[text.index("| setting | dev | staging | prod |") :].split("\n\n")[0]
    rows = {
        cells[0].strip("`"): cells[1:4]
        for line in table.splitlines()[2:]
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    envs = {e.name: e for e in EXAMPLE}
    assert list(envs) == ["dev", "staging", "prod"]
    assert list(rows) == [f.name for f in dataclasses.fields(ReleaseConfig)]
    for name, shown in rows.items():
        values = [getattr(envs[e].release, name) for e in envs]
        expected = [", ".join(v) if isinstance(v, tuple) else f"{v:g}" for v in values]
        assert shown == expected, name


def test_the_policy_follows_configuration_and_tier_never_the_name():
    from config.model import ReleaseConfig

    (prod,) = [e for e in EXAMPLE if e.name == "prod"]
    (dev_env,) = [e for e in EXAMPLE if e.name == "dev"]
    # A production-tier environment by another name: prod's policy.
    live = dataclasses.replace(prod, name="live")
    assert dataclasses.replace(policy_for(live), trusted_role_names=()) == dataclasses.replace(
        policy_for(prod), trusted_role_names=()
    )
    # "prod" in the non-production tier: warnings only.
    assert not policy_for(dataclasses.replace(prod, tier="non-production")).enforce
    # The configured severities, in ECR's order, and the configured wait.
    custom = dataclasses.replace(
        dev_env,
        release=ReleaseConfig(blocking_severities=("HIGH", "CRITICAL"), scan_wait_minutes=3),
    )
    assert policy_for(custom).blocking_severities == ("CRITICAL", "HIGH")
    assert policy_for(custom).scan_wait_minutes == 3


def test_the_scan_wait_comes_from_the_environment(world):
    _production(world, scan_wait_minutes=2)
    world.scan(world.digest, scan_answer("IN_PROGRESS"))
    with pytest.raises(ReleaseRefused, match="no scan result .*IN_PROGRESS after 2 min"):
        world.releaser().run()
    assert sum(world.clock.sleeps) == 120


def test_the_release_waits_for_the_scan_of_the_exact_digest(world):
    world.scan(
        world.digest,
        SCAN_NOT_FOUND,
        scan_answer("IN_PROGRESS"),
        scan_answer("COMPLETE", LOW=1),
    )
    _checks(world)
    world.expect_create()
    world.expect_poll("Succeeded", green=100)
    world.releaser().run()
    out = world.out.getvalue()
    assert f"waiting for the ECR scan of {world.digest} (not started)" in out
    assert f"waiting for the ECR scan of {world.digest} (IN_PROGRESS)" in out
    assert "scan COMPLETE: findings LOW 1" in out
    assert world.sent["DescribeImageScanFindings"][0] == {
        "repositoryName": world.target.ecr_repository_name,
        "imageId": {"imageDigest": world.digest},
    }
    assert world.clock.sleeps[:2] == [10, 10]


def test_no_scan_result_before_the_deadline_is_refused_in_production(world):
    _production(world)
    world.scan(world.digest, scan_answer("IN_PROGRESS"))
    with pytest.raises(ReleaseRefused, match="no scan result .*IN_PROGRESS after 1 min"):
        world.releaser(scan_wait_minutes=1).run()
    assert sum(world.clock.sleeps) == 60


def test_a_failed_scan_is_refused_in_production(world):
    _production(world)
    world.scan(world.digest, scan_answer("UNSUPPORTED_IMAGE", "not supported"))
    with pytest.raises(ReleaseRefused, match=r"no scan result .*\(UNSUPPORTED_IMAGE: not supp"):
        world.releaser().run()
    assert world.clock.sleeps == []


# ------------------------------------------------------- never lose a deployment
def test_clients_use_standard_retries_and_create_deployment_one_attempt(fake_aws_env):
    clients = AwsClients("eu-west-1", session=_session())
    assert clients.ecs.meta.config.retries == RETRIES
    assert clients.codedeploy.meta.config.retries == RETRIES
    assert clients.codedeploy_once.meta.config.retries == NO_RETRIES
    assert RETRIES["mode"] == "standard"


def test_create_deployment_is_sent_once_even_on_a_retryable_error(fake_aws_env):
    """The real botocore retry handler: a 503 on CreateDeployment is not retried."""
    clients = AwsClients("eu-west-1", session=_session())
    attempts = []

    def unavailable(request, **_kwargs):
        attempts.append(request.url)
        return AWSResponse(request.url, 503, {}, _Raw(b"{}"))

    client = clients.codedeploy_once
    client.meta.events.register("before-send.codedeploy.CreateDeployment", unavailable)
    with pytest.raises(Exception, match="503|ServiceUnavailable|InternalFailure|Unknown"):
        client.create_deployment(applicationName="a", deploymentGroupName="g")
    assert len(attempts) == 1


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_kwargs):
        yield self.body


def test_poll_errors_back_off_exponentially_and_recover(world):
    _checks(world)
    world.expect_create()
    for _ in range(4):
        world.cd_stub.add_client_error("get_deployment", "ThrottlingException", "slow down")
    world.expect_poll("Succeeded", green=100)
    world.releaser().run()
    assert world.clock.sleeps == [20, 40, 80, 160]
    assert "retrying in 160 s" in world.out.getvalue()


def test_poll_errors_until_the_deadline_exit_4_with_the_watch_command(world):
    _checks(world)
    world.expect_create()
    for _ in range(3):
        world.cd_stub.add_client_error("get_deployment", "ThrottlingException", "slow down")
    with pytest.raises(DeploymentNotFollowed) as lost:
        world.releaser(timeout_minutes=2).run()
    assert lost.value.exit_code == EXIT_NOT_FOLLOWED == 4
    message = str(lost.value)
    assert "3 polls in a row failed (last: ThrottlingException: slow down)" in message
    assert "continues in CodeDeploy" in message
    assert (
        ".venv/bin/python -m release follow --env dev --service payment-api "
        "--deployment-id d-GREEN0001" in message
    )
    assert world.clock.sleeps == [20, 40]


def test_expired_credentials_stop_following_at_once(world):
    _checks(world)
    world.expect_create()
    world.expect_poll("InProgress", green=0)
    world.cd_stub.add_client_error("get_deployment", "ExpiredTokenException", "token expired")
    with pytest.raises(DeploymentNotFollowed) as lost:
        world.releaser().run()
    message = str(lost.value)
    assert "credentials expired or were rejected (ExpiredTokenException: token expired)" in message
    assert "The deployment continues in CodeDeploy" in message
    assert ".venv/bin/python -m release status --env dev --service payment-api" in message
    assert world.clock.sleeps == [10]  # no retry after the credential error


def _failed_with_rollback(w: World) -> None:
    _checks(w)
    w.expect_create()
    w.expect_poll(
        "Stopped",
        green=10,
        error=("ALARM_ACTIVE", "alarm payment-dev-payment-api-5xx went into ALARM"),
        rollback={"rollbackDeploymentId": "d-ROLLBACK1"},
    )
    w.alarm("payment-dev-payment-api-5xx", "ALARM")
    w.alarm("payment-dev-payment-api-latency")
    w.expect_alarm_group(["payment-dev-payment-api-5xx", "payment-dev-payment-api-latency"])


def test_a_lost_rollback_keeps_the_original_failure_reason(world):
    _failed_with_rollback(world)
    world.cd_stub.add_client_error("get_deployment", "ExpiredToken", "expired")
    with pytest.raises(DeploymentFailed) as lost:
        world.releaser().run()
    message = str(lost.value)
    assert "d-GREEN0001 of payment-api v1.4.2 to dev STOPPED (ALARM_ACTIVE: alarm" in message
    assert "stopped following deployment d-ROLLBACK1" in message
    assert message.endswith("the rollback's outcome is unknown")
    assert (lost.value.exit_code, lost.value.verdict) == (
        EXIT_ROLLBACK_FAILED,
        "failed, ROLLBACK UNKNOWN",
    )


def test_a_rollback_past_the_deadline_exits_4_with_the_reason(world):
    _failed_with_rollback(world)
    for _ in range(4):
        world.expect_poll("InProgress", deployment_id="d-ROLLBACK1", green=10)
    with pytest.raises(DeploymentFailed) as lost:
        world.releaser(timeout_minutes=0.5).run()
    message = str(lost.value)
    assert "STOPPED (ALARM_ACTIVE" in message
    assert "deployment d-ROLLBACK1 is still InProgress after 0.5 min" in message
    # A rollback is never offered a stop.
    assert "it is the rollback of d-GREEN0001: let it finish" in message
    assert "stop" not in message.replace("STOPPED", "").replace("stopped following", "")
    assert lost.value.exit_code == EXIT_ROLLBACK_FAILED


# ------------------------------------------------------------ idempotency
def test_a_lost_create_answer_follows_the_deployment_and_keeps_the_revision(world):
    """botocore's retry of a CreateDeployment whose first attempt succeeded
    fails with DeploymentLimitExceeded naming our own deployment."""
    _checks(world)
    new_arn = _next_arn(world)
    world.cd_stub.add_client_error(
        "create_deployment",
        "DeploymentLimitExceededException",
        "The Deployment d-GREEN0001 is already in progress",
    )
    world.expect_no_active(["d-GREEN0001"])
    world.cd_stub.add_response(
        "get_deployment",
        _deployment_info(world, "d-GREEN0001", new_arn),
        {"deploymentId": "d-GREEN0001"},
    )
    world.expect_poll("Succeeded", green=100)
    assert world.releaser().run() == "d-GREEN0001"
    assert world.revisions() == [world.first_arn, new_arn]  # not deregistered
    assert "CodeDeploy created deployment d-GREEN0001 with this release's revision" in (
        world.out.getvalue()
    )


def test_a_release_that_loses_the_race_leaves_nothing_and_spares_the_winner(world):
    # The winner registered its revision and created its deployment first.
    winner = world.ecs.register_task_definition(**world.task_definition())["taskDefinition"]
    winner_arn = winner["taskDefinitionArn"]
    _checks(world)  # both passed their checks before either created
    mine = _next_arn(world)
    world.cd_stub.add_client_error(
        "create_deployment",
        "DeploymentLimitExceededException",
        "The Deployment d-WINNER01 is already in progress",
    )
    world.expect_no_active(["d-WINNER01"])
    world.cd_stub.add_response(
        "get_deployment",
        _deployment_info(world, "d-WINNER01", winner_arn),
        {"deploymentId": "d-WINNER01"},
    )
    with pytest.raises(ReleaseRefused) as lost:
        world.releaser().run()
    assert lost.value.exit_code == EXIT_REFUSED
    assert str(lost.value).startswith("another release is in progress (d-WINNER01)")
    assert f"its unused revision {mine} was deregistered" in str(lost.value)
    assert world.revisions() == [world.first_arn, winner_arn]


def test_unknown_whether_created_exits_4_and_deregisters_nothing(world):
    _checks(world)
    world.cd_stub.add_client_error("create_deployment", "AccessDeniedException", "no", 400)
    world.cd_stub.add_client_error("list_deployments", "ThrottlingException", "slow down")
    with pytest.raises(DeploymentNotFollowed, match="unknown whether CodeDeploy created"):
        world.releaser().run()
    assert len(world.revisions()) == 2


def _fail_deregistration(w: World):
    def refuse(**_kwargs):
        return AWSResponse(None, 400, {}, None), {
            "Error": {"Code": "ClientException", "Message": "throttled"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }

    w.ecs.meta.events.register("before-call.ecs.DeregisterTaskDefinition", refuse)
    return refuse


def test_a_rerun_after_a_failed_deregistration_converges(world):
    refuse = _fail_deregistration(world)
    try:
        _checks(world)
        world.cd_stub.add_client_error("create_deployment", "AccessDeniedException", "denied")
        world.expect_no_active()
        with pytest.raises(ReleaseRefused, match="is still ACTIVE .*harmless"):
            world.releaser().run()
    finally:
        world.ecs.meta.events.unregister("before-call.ecs.DeregisterTaskDefinition", refuse)
    first, orphan = world.revisions()
    _checks(world)
    world.expect_create()
    world.expect_poll("Succeeded", green=100)
    world.releaser().run()
    *_, released = world.revisions()
    # Based on the orphan, the result is what a clean run registers.
    describe = world.ecs.describe_task_definition
    assert _same(describe(taskDefinition=orphan), describe(taskDefinition=released))
    # The note says the orphan base differs from the running revision only in the image.
    assert "the service runs :1. The two differ only in the app image" in world.out.getvalue()


def _same(a: dict, b: dict) -> bool:
    keep = lambda td: {  # noqa: E731
        k: v
        for k, v in td["taskDefinition"].items()
        if k not in ("taskDefinitionArn", "revision", "registeredAt", "registeredBy")
    }
    return keep(a) == keep(b)


# ------------------------------------------------------------- base revision
def test_a_base_registered_by_someone_else_is_refused_in_production(world):
    _production(world)
    world.registered_by[1] = f"arn:aws:iam::{MOTO_ACCOUNT}:user/mallory"
    with pytest.raises(ReleaseRefused) as refused:
        world.releaser().run()
    message = str(refused.value)
    assert "was registered by arn:aws:iam::123456789012:user/mallory" in message
    assert "--accept-base" in message
    assert world.revisions() == [world.first_arn]


def test_an_accepted_base_is_recorded_in_the_description(world):
    _production(world)
    world.registered_by[1] = f"arn:aws:iam::{MOTO_ACCOUNT}:user/mallory"
    _checks(world)
    world.expect_create()
    world.expect_poll("Succeeded", green=100)
    world.releaser(accept_base="hotfix INC-7 reviewed by bob").run()
    assert "accepted: hotfix INC-7 reviewed by bob" in _description_sent(world)


def test_the_deploy_and_release_roles_are_trusted_bases(dev):
    env = dataclasses.replace(dev, account_id=MOTO_ACCOUNT)
    policy = policy_for(env)
    assert is_trusted(role_session(env, "deploy"), policy)
    assert is_trusted(f"arn:aws:iam::{MOTO_ACCOUNT}:role/payment-dev-release", policy)
    assert not is_trusted(role_session(env, "deploy", account="999999999999"), policy)
    assert not is_trusted(f"arn:aws:iam::{MOTO_ACCOUNT}:user/payment-dev-deploy", policy)
    assert not is_trusted(None, policy)


def test_the_check_shows_the_base_and_who_registered_it(world):
    _checks(world)
    world.sent.clear()
    code, out, err = _cli(world, "--check")
    assert (code, err) == (EXIT_OK, "")
    assert (
        "base revision payment-dev-payment-api:1, registered by "
        f"{role_session(world.target.environment, 'release')}"
    ) in out
    assert "CHECK ONLY" in out
    assert "RegisterTaskDefinition" not in world.sent


# ---------------------------------------------------- command line: interrupts
def _cli(w: World, *extra: str, sleep=None, command=None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = [command] if command else []
    argv += ["--env", "dev", "--service", "payment-api"]
    if not command:
        argv += ["--image-tag", TAG, "--poll-seconds", "10"]
    code = cli.main(
        argv + list(extra),
        clients=w.clients(),
        out=out,
        err=err,
        sleep=sleep or w.clock.sleep,
        clock=w.clock,
    )
    return code, out.getvalue(), err.getvalue()


def test_sigterm_while_watching_exits_143_naming_the_deployment(world):
    _checks(world)
    world.expect_create()
    world.expect_poll("InProgress", green=0)

    def terminated(seconds):
        os.kill(os.getpid(), signal.SIGTERM)

    code, _, err = _cli(world, sleep=terminated)
    assert code == EXIT_SIGTERM == 143
    assert err.startswith("interrupted (SIGTERM): deployment d-GREEN0001 keeps running")
    assert ".venv/bin/python -m release status --env dev --service payment-api" in err
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handler restored


def test_ctrl_c_while_following_the_rollback_names_the_rollback(world):
    _failed_with_rollback(world)
    world.expect_poll("InProgress", deployment_id="d-ROLLBACK1", green=10)

    def interrupt(seconds):
        raise KeyboardInterrupt

    code, _, err = _cli(world, sleep=interrupt)
    assert code == EXIT_SIGINT
    assert (
        "deployment d-ROLLBACK1 (the rollback of this release's deployment d-GREEN0001) "
        "keeps running"
    ) in err


def _child_following_a_rollback(tmp_path: Path, dev) -> subprocess.Popen:
    """``python -m release follow`` of a rollback in a child process, its AWS
    answers given by tests/release_child_stub.py; started, not yet signalled."""
    t = target_from_config(dev, "payment-api")
    group = {"applicationName": t.codedeploy_application, "deploymentGroupName": t.deployment_group}
    answers = {
        "codedeploy.GetDeploymentGroup": {
            "deploymentGroupInfo": {
                **group,
                "computePlatform": "ECS",
                "ecsServices": [{"clusterName": t.cluster, "serviceName": t.ecs_service}],
            }
        },
        "codedeploy.GetDeployment": {
            "deploymentInfo": {
                **group,
                "deploymentId": "d-ROLLBACK1",
                "status": "InProgress",
                "creator": "codeDeployRollback",
                "rollbackInfo": {"rollbackTriggeringDeploymentId": "d-GREEN0001"},
            }
        },
        "codedeploy.GetDeploymentTarget": _target_info_json(t, "d-ROLLBACK1", 10),
    }
    (tmp_path / "answers.json").write_text(json.dumps(answers))
    (tmp_path / "sitecustomize.py").write_text(release_child_stub.sitecustomize())
    env = {
        **os.environ,
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}",
        release_child_stub.ANSWERS_VARIABLE: str(tmp_path / "answers.json"),
    }
    env.pop("RELEASE_DEBUG", None)
    argv = ["follow", "--env", "dev", "--service", "payment-api"]
    argv += ["--deployment-id", "d-ROLLBACK1", "--no-assume-role", "--poll-seconds", "60"]
    return subprocess.Popen(
        [sys.executable, "-m", "release", *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _target_info_json(t, deployment_id: str, green: float) -> dict:
    """GetDeploymentTarget's answer as JSON (no timestamps)."""
    return {
        "deploymentTarget": {
            "deploymentTargetType": "ECSTarget",
            "ecsTarget": {
                "deploymentId": deployment_id,
                "targetId": t.deployment_target_id,
                "taskSetsInfo": [
                    {"taskSetLabel": "Blue", "trafficWeight": 100.0 - green},
                    {"taskSetLabel": "Green", "trafficWeight": green},
                ],
            },
        }
    }


@pytest.mark.parametrize(
    "signum, code",
    [(signal.SIGINT, EXIT_SIGINT), (signal.SIGTERM, EXIT_SIGTERM)],
    ids=["SIGINT", "SIGTERM"],
)
def test_a_signal_to_follow_of_a_rollback_exits_and_never_suggests_stop(
    fake_aws_env, dev, tmp_path, signum, code
):
    """A real signal to a real ``python -m release follow`` process while it
    waits between polls of a rollback: exit 130 (SIGINT) or 143 (SIGTERM),
    one line that says to let the rollback finish, never a stop command."""
    child = _child_following_a_rollback(tmp_path, dev)
    watchdog = threading.Timer(60, child.kill)  # a hung child fails the test, not the run
    watchdog.start()
    try:
        assert child.stdout is not None
        first = child.stdout.readline()  # the first poll; then it sleeps 60 s
        assert first.startswith("[00:00] d-ROLLBACK1 InProgress | traffic blue 90%"), first + (
            child.stderr.read() if child.stderr else ""
        )
        child.send_signal(signum)
        _, err = child.communicate(timeout=30)
    finally:
        watchdog.cancel()
        if child.poll() is None:
            child.kill()
            child.wait()
    name = signal.Signals(signum).name
    assert child.returncode == code, err
    assert err == (
        f"interrupted ({name}): deployment d-ROLLBACK1 (a rollback) keeps running in "
        "CodeDeploy; let it finish and follow it with `.venv/bin/python -m release follow "
        "--env dev --service payment-api --deployment-id d-ROLLBACK1` (to its end, with the "
        "release's exit codes) or `.venv/bin/python -m release status --env dev --service "
        "payment-api --deployment-id d-ROLLBACK1`.\n"
    )
    assert "stop" not in err


def test_ctrl_c_during_create_deployment_says_it_may_exist(world):
    _checks(world)
    arn = _next_arn(world)

    def interrupt(**_kwargs):
        raise KeyboardInterrupt

    world.codedeploy.meta.events.register_first(
        "provide-client-params.codedeploy.CreateDeployment", interrupt
    )
    try:
        code, _, err = _cli(world)
    finally:
        world.codedeploy.meta.events.unregister(
            "provide-client-params.codedeploy.CreateDeployment", interrupt
        )
    assert code == EXIT_SIGINT, err
    assert "CodeDeploy may have accepted it" in err
    assert arn in err
    assert "no deployment was created" not in err


# ------------------------------------------------------------- on-call commands
def _target_info(w: World, deployment_id: str, green: float):
    return {
        "deploymentTarget": {
            "deploymentTargetType": "ECSTarget",
            "ecsTarget": {
                "deploymentId": deployment_id,
                "targetId": w.target.deployment_target_id,
                "taskSetsInfo": [
                    {"taskSetLabel": "Blue", "trafficWeight": 100.0 - green},
                    {"taskSetLabel": "Green", "trafficWeight": green},
                ],
            },
        }
    }


def _info(w: World, deployment_id: str, status="InProgress", **more) -> dict:
    """A GetDeployment answer of the world's group."""
    return {
        "deploymentInfo": {
            "deploymentId": deployment_id,
            "status": status,
            "applicationName": w.target.codedeploy_application,
            "deploymentGroupName": w.target.deployment_group,
            **more,
        }
    }


def _get(w: World, deployment_id: str, status="InProgress", **more) -> None:
    w.cd_stub.add_response(
        "get_deployment", _info(w, deployment_id, status, **more), {"deploymentId": deployment_id}
    )


def _appspec(task_definition: str) -> dict:
    return _deployment_info_revision(task_definition)


def _deployment_info_revision(task_definition: str) -> dict:
    content = json.dumps(
        {"Resources": [{"TargetService": {"Properties": {"TaskDefinition": task_definition}}}]}
    )
    return {"revisionType": "AppSpecContent", "appSpecContent": {"content": content}}


def test_status_shows_the_active_deployment_traffic_and_alarms(world):
    world.alarm("payment-dev-payment-api-5xx")
    world.expect_group(alarms=["payment-dev-payment-api-5xx", "payment-dev-gone"])
    world.expect_no_active(["d-GREEN0001"])
    _get(
        world,
        "d-GREEN0001",
        createTime=datetime(2026, 1, 1, tzinfo=UTC),
        creator="user",
        revision=_appspec(world.first_arn),
        description="payment-api v1.4.2 via release tool [release-marker payment-api@"
        + world.digest
        + "/0123456789ab]",
    )
    world.cd_stub.add_response(
        "get_deployment_target",
        _target_info(world, "d-GREEN0001", 10),
        {"deploymentId": "d-GREEN0001", "targetId": world.target.deployment_target_id},
    )
    code, out, err = _cli(world, command="status")
    assert (code, err) == (EXIT_OK, "")
    assert "active deployment d-GREEN0001 InProgress" in out
    assert "  created 2026-01-01 00:00:00+00:00 by user" in out
    assert f"  task definition {world.first_arn}; image {world.repo_url}:bootstrap" in out
    assert "(digest not pinned)" in out
    assert "traffic blue 90%, green 10%" in out
    assert "alarms: payment-dev-payment-api-5xx OK, payment-dev-gone MISSING" in out
    assert (
        ".venv/bin/python -m release follow --env dev --service payment-api "
        "--deployment-id d-GREEN0001" in out
    )
    assert (
        ".venv/bin/python -m release stop --env dev --service payment-api "
        "--deployment-id d-GREEN0001" in out
    )


def test_status_without_describe_alarms_names_the_alarms_as_not_readable(world):
    """The release role before cloudwatch:DescribeAlarms (docs/release.md,
    "On-call commands"): the deployment is shown, the alarms by name, exit 0."""
    from botocore.stub import Stubber

    world.expect_group(alarms=["payment-dev-payment-api-target-5xx-rate"])
    world.expect_no_active(["d-GREEN0001"])
    _get(world, "d-GREEN0001")
    world.cd_stub.add_client_error("get_deployment_target", "DeploymentTargetDoesNotExistException")
    with Stubber(world.cloudwatch) as cloudwatch:
        cloudwatch.add_client_error("describe_alarms", "AccessDenied", "not authorized")
        code, out, err = _cli(world, command="status")
        cloudwatch.assert_no_pending_responses()
    assert (code, err) == (EXIT_OK, "")
    assert "active deployment d-GREEN0001 InProgress" in out
    assert out.endswith(
        "  alarms: payment-dev-payment-api-target-5xx-rate (states not readable: access "
        "denied; the release role needs cloudwatch:DescribeAlarms, docs/release.md)\n"
    )


def test_status_refuses_on_other_describe_alarms_errors(world):
    from botocore.stub import Stubber

    world.expect_group(alarms=["payment-dev-payment-api-target-5xx-rate"])
    world.expect_no_active(["d-GREEN0001"])
    _get(world, "d-GREEN0001")
    world.cd_stub.add_client_error("get_deployment_target", "DeploymentTargetDoesNotExistException")
    with Stubber(world.cloudwatch) as cloudwatch:
        cloudwatch.add_client_error("describe_alarms", "InvalidNextToken", "bad token")
        code, _, err = _cli(world, command="status")
    assert code == EXIT_REFUSED
    assert err == (
        "status refused: cloudwatch.describe_alarms: InvalidNextToken: bad token. "
        "Nothing was changed.\n"
    )


def test_status_reads_every_page_and_shows_the_newest(world):
    """ListDeployments' order is not documented: the newest of every page of
    the smallest window with deployments is shown, not the first page's."""
    t = world.target
    world.expect_group(alarms=[])
    world.expect_no_active()
    group = {"applicationName": t.codedeploy_application, "deploymentGroupName": t.deployment_group}
    old = [f"d-OLD{i:06d}" for i in range(10)]
    world.cd_stub.add_response(
        "list_deployments",
        {"deployments": old, "nextToken": "page2"},
        {**group, "createTimeRange": ANY},
    )
    world.cd_stub.add_response(
        "list_deployments",
        {"deployments": ["d-NEW000001"]},
        {**group, "createTimeRange": ANY, "nextToken": "page2"},
    )
    for i, deployment_id in enumerate(old):
        _get(world, deployment_id, "Succeeded", createTime=datetime(2026, 1, 1, i, tzinfo=UTC))
    _get(
        world,
        "d-NEW000001",
        "Stopped",
        createTime=datetime(2026, 1, 2, tzinfo=UTC),
        errorInformation={"code": "ALARM_ACTIVE", "message": "5xx"},
    )
    world.cd_stub.add_client_error("get_deployment_target", "DeploymentTargetDoesNotExistException")
    code, out, _ = _cli(world, command="status")
    assert code == EXIT_OK
    assert "last deployment d-NEW000001 Stopped" in out
    assert "error: ALARM_ACTIVE: 5xx" in out
    assert "stop it with" not in out


def test_status_of_a_deployment_of_another_group_is_refused(world):
    world.expect_group(alarms=[])
    world.cd_stub.add_response(
        "get_deployment",
        {
            "deploymentInfo": {
                "deploymentId": "d-OTHER0001",
                "status": "InProgress",
                "applicationName": world.target.codedeploy_application,
                "deploymentGroupName": "payment-dev-billing",
            }
        },
        {"deploymentId": "d-OTHER0001"},
    )
    code, _, err = _cli(world, "--deployment-id", "d-OTHER0001", command="status")
    assert code == EXIT_REFUSED
    reason = refusal_of(err, "status")
    # The deployment, the group it belongs to, and the one it should.
    assert reason.startswith("deployment d-OTHER0001 belongs to payment-dev/payment-dev-billing, ")
    assert "not to payment-dev/payment-dev-payment-api (payment-api in dev)" in reason
    assert reason.endswith("Nothing was changed.")


def test_a_malformed_deployment_id_is_bad_input():
    code = cli.main(
        ["stop", "--env", "dev", "--service", "payment-api", "--deployment-id", "d-x"],
        out=io.StringIO(),
        err=(err := io.StringIO()),
    )
    assert code == EXIT_INPUT
    assert err.getvalue().startswith("stop refused: --deployment-id: 'd-x' is not allowed;")


def test_stop_stops_the_active_deployment_with_rollback(world):
    world.expect_group(alarms=[])
    world.expect_no_active(["d-GREEN0001"])
    _get(world, "d-GREEN0001")
    world.cd_stub.add_response(
        "stop_deployment",
        {"status": "Pending", "statusMessage": "Stopping"},
        {"deploymentId": "d-GREEN0001", "autoRollbackEnabled": True},
    )
    code, out, err = _cli(world, command="stop")
    assert (code, err) == (EXIT_OK, "")
    assert "stop requested for deployment d-GREEN0001: Pending (Stopping)" in out


@pytest.mark.parametrize(
    "rollback",
    [
        {"creator": "codeDeployRollback"},
        {"rollbackInfo": {"rollbackTriggeringDeploymentId": "d-GREEN0001"}},
    ],
    ids=["creator", "rollbackInfo"],
)
def test_stop_never_stops_a_rollback(world, rollback):
    """The first active deployment is a rollback: stop refuses in one line,
    exit 3, naming the deployment it rolls back; StopDeployment is not sent."""
    world.expect_group(alarms=[])
    world.expect_no_active(["d-ROLLBACK1"])
    _get(world, "d-ROLLBACK1", **rollback)
    code, out, err = _cli(world, command="stop")
    assert code == EXIT_REFUSED
    assert err.count("\n") == 1
    rolled = "d-GREEN0001" if "rollbackInfo" in rollback else "an earlier deployment"
    assert err.startswith(
        f"stop refused: deployment d-ROLLBACK1 is the rollback of {rolled}; a rollback is "
        "never stopped"
    )
    assert "StopDeployment" not in world.sent


def test_stop_with_outputs_naming_another_group_is_refused(world):
    """The group check the release runs: a group that deploys another service."""
    t = world.target
    world.expect_group(service="payment-dev-billing")
    code, _, err = _cli(world, "--deployment-id", "d-GREEN0001", command="stop")
    assert code == EXIT_REFUSED
    assert f"not ECS service {t.cluster}/{t.ecs_service}" in err
    assert "StopDeployment" not in world.sent


def test_stop_without_an_active_deployment_is_refused(world):
    world.expect_group(alarms=[])
    world.expect_no_active()
    code, out, err = _cli(world, command="stop")
    assert code == EXIT_REFUSED
    assert err.startswith("stop refused: no active deployment")
    assert "StopDeployment" not in world.sent


def test_status_of_a_rollback_offers_no_stop(world):
    world.expect_group(alarms=[])
    world.expect_no_active(["d-ROLLBACK1"])
    _get(world, "d-ROLLBACK1", creator="codeDeployRollback")
    world.cd_stub.add_client_error("get_deployment_target", "DeploymentTargetDoesNotExistException")
    code, out, _ = _cli(world, command="status")
    assert code == EXIT_OK
    assert "it is a rollback: let it finish" in out
    assert "release stop" not in out


# ------------------------------------------------------------------- follow
@pytest.mark.parametrize(
    "ending, code, first_line",
    [
        ("Succeeded", EXIT_OK, None),
        ("rolled back", EXIT_ROLLED_BACK, "follow failed, rolled back: deployment d-GREEN0001"),
        ("rollback failed", EXIT_ROLLBACK_FAILED, "follow failed, ROLLBACK FAILED: "),
        ("no rollback", EXIT_NO_ROLLBACK, "follow failed, no rollback: deployment d-GREEN0001"),
    ],
)
def test_follow_follows_to_the_end_with_the_release_exit_codes(world, ending, code, first_line):
    world.expect_group(alarms=[])
    _get(world, "d-GREEN0001")  # --deployment-id checked against the group
    world.expect_poll("InProgress", green=50)
    if ending == "Succeeded":
        world.expect_poll("Succeeded", green=100)
    elif ending == "no rollback":
        world.expect_poll("Failed", green=50, error=("HEALTH_CONSTRAINTS", "tasks failed"))
        for _ in range(3):
            world.expect_info("Failed")
    else:
        world.expect_poll(
            "Failed",
            green=50,
            error=("HEALTH_CONSTRAINTS", "tasks failed"),
            rollback={"rollbackDeploymentId": "d-ROLLBACK1"},
        )
        world.expect_poll(
            "Succeeded" if ending == "rolled back" else "Failed",
            deployment_id="d-ROLLBACK1",
            green=0,
        )
    status, out, err = _cli(world, "--deployment-id", "d-GREEN0001", command="follow")
    assert status == code, err
    if first_line:
        assert err.startswith(first_line)
        assert err.count("\n") == 1
    else:
        assert "deployment d-GREEN0001 succeeded" in out


def test_a_rerun_finds_its_own_deployment_and_follows_it(world):
    """Exit 4 or an interrupt left the release's deployment running: the same
    release run again finds it by its marker (same image) and follows it."""
    world.add_task_set(world.first_arn)  # the running deployment's green task set
    world.expect_group()
    world.expect_no_active(["d-GREEN0001"])
    _get(
        world,
        "d-GREEN0001",
        description=f"payment-api v1.4.2 via release tool [release-marker payment-api@"
        f"{world.digest}/0123456789ab]",
    )
    world.expect_poll("Succeeded", green=100)
    assert world.releaser().run() == "d-GREEN0001"
    assert len(world.sent["RegisterTaskDefinition"]) == 1  # the world's own, none by the tool
    assert "CreateDeployment" not in world.sent
    assert "following it instead of starting another" in world.out.getvalue()


def test_the_release_marker_is_in_the_description(world):
    _checks(world)
    world.expect_create()
    world.expect_poll("Succeeded", green=100)
    world.releaser(description="x" * 2000).run()
    description = _description_sent(world)
    assert len(description) <= 1000
    assert marker_in(description).startswith(f"release-marker payment-api@{world.digest}/")


def test_deployment_does_not_exist_is_not_retried_for_the_whole_deadline(world):
    _checks(world)
    world.expect_create()
    for _ in range(3):
        world.cd_stub.add_client_error(
            "get_deployment", "DeploymentDoesNotExistException", "no such deployment"
        )
    with pytest.raises(DeploymentNotFollowed, match="answered DeploymentDoesNotExistException 3"):
        world.releaser().run()
    assert len(world.clock.sleeps) == 2


def test_on_alarm_active_the_alarms_in_alarm_are_named(world):
    _failed_with_rollback(world)
    world.expect_poll("Succeeded", deployment_id="d-ROLLBACK1", green=0)
    code, _, err = _cli(world)
    assert code == EXIT_ROLLED_BACK
    assert err.startswith("release failed, rolled back: deployment d-GREEN0001")
    assert "alarms in ALARM: payment-dev-payment-api-5xx;" in err
    assert "payment-dev-payment-api-latency" not in err


def test_rollback_info_is_read_again_before_no_rollback_is_concluded(world):
    _checks(world)
    world.expect_create()
    world.expect_poll("Stopped", green=10, error=("ALARM_ACTIVE", "alarm"))
    world.expect_alarm_group([])
    world.expect_info("Stopped")  # CodeDeploy has not filled rollbackInfo in yet
    world.expect_info("Stopped", rollback={"rollbackDeploymentId": "d-ROLLBACK1"})
    world.expect_poll("Succeeded", deployment_id="d-ROLLBACK1", green=0)
    with pytest.raises(DeploymentFailed) as failed:
        world.releaser().run()
    assert failed.value.exit_code == EXIT_ROLLED_BACK
    assert "rolled back by d-ROLLBACK1" in str(failed.value)


def test_rollback_info_unreadable_is_rollback_unknown(world):
    _checks(world)
    world.expect_create()
    world.expect_poll("Failed", green=10, error=("HEALTH_CONSTRAINTS", "x"))
    world.cd_stub.add_client_error("get_deployment", "ThrottlingException", "slow down")
    with pytest.raises(DeploymentFailed) as failed:
        world.releaser().run()
    assert (failed.value.exit_code, failed.value.verdict) == (
        EXIT_ROLLBACK_FAILED,
        "failed, ROLLBACK UNKNOWN",
    )


# --------------------------------------------------- ambiguous create errors
@pytest.mark.parametrize("error", ["timeout", "500"])
def test_an_ambiguous_create_error_keeps_the_revision_and_lists_again(world, error):
    """A read timeout or a 5xx may have created the deployment: the group's
    recent deployments are listed again with back-off (the deployment shows up
    on the third listing) and the release follows it; nothing is deregistered."""
    from botocore.exceptions import ReadTimeoutError

    _checks(world)
    new_arn = _next_arn(world)
    if error == "timeout":

        def timeout(**_kwargs):
            raise ReadTimeoutError(endpoint_url="https://codedeploy")

        world.codedeploy.meta.events.register_first(
            "before-call.codedeploy.CreateDeployment", timeout
        )
    else:
        world.cd_stub.add_client_error("create_deployment", "InternalFailure", "?", 500)
    group = {
        "applicationName": world.target.codedeploy_application,
        "deploymentGroupName": world.target.deployment_group,
        "createTimeRange": ANY,
    }
    world.cd_stub.add_response("list_deployments", {"deployments": []}, group)
    world.cd_stub.add_client_error("list_deployments", "InternalFailure", "?", 500)
    world.cd_stub.add_response("list_deployments", {"deployments": ["d-GREEN0001"]}, group)
    world.cd_stub.add_response(
        "get_deployment",
        _deployment_info(world, "d-GREEN0001", new_arn),
        {"deploymentId": "d-GREEN0001"},
    )
    world.expect_poll("Succeeded", green=100)
    try:
        assert world.releaser().run() == "d-GREEN0001"
    finally:
        if error == "timeout":
            world.codedeploy.meta.events.unregister(
                "before-call.codedeploy.CreateDeployment", timeout
            )
    assert world.revisions() == [world.first_arn, new_arn]
    assert world.clock.sleeps[:2] == [10, 20]


def test_after_an_ambiguous_create_error_every_page_of_the_listing_is_read(world):
    """ListDeployments answers in pages (``nextToken``, the boto3 reference in
    the module docstring): the release's deployment on the second page of the
    first listing is found and followed, with no second listing and no wait."""
    _checks(world)
    new_arn = _next_arn(world)
    world.cd_stub.add_client_error("create_deployment", "InternalFailure", "?", 500)
    group = {
        "applicationName": world.target.codedeploy_application,
        "deploymentGroupName": world.target.deployment_group,
        "createTimeRange": ANY,
    }
    world.cd_stub.add_response(
        "list_deployments", {"deployments": ["d-OTHER0001"], "nextToken": "page2"}, group
    )
    world.cd_stub.add_response(
        "list_deployments", {"deployments": ["d-GREEN0001"]}, {**group, "nextToken": "page2"}
    )
    for deployment_id, arn in (("d-OTHER0001", world.first_arn), ("d-GREEN0001", new_arn)):
        world.cd_stub.add_response(
            "get_deployment",
            _deployment_info(world, deployment_id, arn, status="Succeeded"),
            {"deploymentId": deployment_id},
        )
    world.expect_poll("Succeeded", green=100)
    assert world.releaser().run() == "d-GREEN0001"
    assert world.revisions() == [world.first_arn, new_arn]
    assert world.clock.sleeps == []


def test_an_ambiguous_create_error_never_found_exits_4_keeping_the_revision(world):
    _checks(world)
    new_arn = _next_arn(world)
    world.cd_stub.add_client_error("create_deployment", "ServiceUnavailable", "?", 503)
    for _ in range(4):  # at 0, 10, 30 and 70 s; the next would pass 120 s
        world.cd_stub.add_response("list_deployments", {"deployments": []})
    with pytest.raises(DeploymentNotFollowed) as lost:
        world.releaser().run()
    message = str(lost.value)
    assert lost.value.exit_code == EXIT_NOT_FOLLOWED
    assert f"The revision {new_arn} is kept" in message
    assert "4 listings of the group's recent deployments in 120 s" in message
    assert "[release-marker payment-api@" in message
    assert world.revisions() == [world.first_arn, new_arn]
    assert "DeregisterTaskDefinition" not in world.sent


# ------------------------------------------------------------- interrupts
def test_sigterm_while_following_a_rollback_never_suggests_stopping_it(world):
    _failed_with_rollback(world)
    world.expect_poll("InProgress", deployment_id="d-ROLLBACK1", green=10)
    polls = []

    def terminated(seconds):
        polls.append(seconds)
        if len(polls) > 1:  # the first sleep is the one before the rollback's poll
            os.kill(os.getpid(), signal.SIGTERM)

    code, _, err = _cli(world, sleep=terminated)
    assert code == EXIT_SIGTERM
    assert "d-ROLLBACK1 (the rollback of this release's deployment d-GREEN0001)" in err
    assert "let it finish" in err
    assert "stop" not in err.replace("SIGTERM", "")


# ------------------------------------------------------------------ exit codes
def test_an_unknown_aws_profile_is_bad_input_in_one_line(monkeypatch, tmp_path):
    config = tmp_path / "config"
    config.write_text("[profile prod]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_PROFILE", "prdo")
    for command in ([], ["status"]):
        out, err = io.StringIO(), io.StringIO()
        argv = command + ["--env", "dev", "--service", "payment-api"]
        if not command:
            argv += ["--image-tag", TAG]
        code = cli.main(argv, out=out, err=err)
        assert code == EXIT_INPUT
        assert err.getvalue().count("\n") == 1, err.getvalue()
        assert "The config profile (prdo) could not be found" in err.getvalue()
        assert "Traceback" not in err.getvalue()


def test_an_unexpected_error_during_the_checks_is_one_line_exit_3(world, monkeypatch):
    monkeypatch.delenv("RELEASE_DEBUG", raising=False)

    def broken(self, releaser, found):
        raise KeyError("surprise")

    monkeypatch.setattr("release.checks.ScanCheck.run", broken)
    code, _, err = _cli(world)
    assert code == EXIT_REFUSED
    assert err == (
        "internal error (KeyError: 'surprise'); nothing was changed. Set RELEASE_DEBUG=1 "
        "for the traceback.\n"
    )


def test_every_exit_code_is_in_the_one_table_and_in_the_docs():
    codes = [e.code for e in EXIT_CODES]
    assert codes == [0, 1, 2, 3, 4, 5, 6, 130, 143]
    assert EXIT_DEPLOYMENT_FAILED == EXIT_ROLLED_BACK == 1
    docs = (ROOT / "docs" / "release.md").read_text()
    assert exit_code_table() in docs
    assert ACTIVE_DEPLOYMENT_STATUSES  # the stop/status filter is the checks' own


def test_target_of_config_unchanged(dev):
    # status/stop use the release's names (config/naming.py).
    assert target_from_config(dev, "payment-api").deployment_group == "payment-dev-payment-api"
