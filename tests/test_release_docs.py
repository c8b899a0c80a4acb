"""docs/release.md's staging examples are what the tool prints now.

"Examples" shows four runs of ``.venv/bin/python -m release --env staging
--service payment-api --image-tag v1.4.2`` against the harness of
tests/release_world.py (moto for ECS, ECR, EC2 and CloudWatch; CodeDeploy's
answers scripted on a Stubber): a release, a release that CodeDeploy stopped
and rolled back, a release to a service created before a network and
platform change, and a network lookup that finds no VPC. "On-call commands"
shows four runs of ``status``, ``follow`` and ``stop`` on the same harness,
during that rolled-back release: ``status`` of the active deployment and of
its rollback, ``follow`` ending with exit 1 after the rollback, and the
``stop`` refusal of the rollback. Each test plays one of them and compares
the block, character for character, except the subnet and security group
ids moto makes up for each run.

The deployment group's rollback alarms are the synthesized example's
(staging's services stack, the payment-api deployment group's
``alarm_configuration``), so an example names only alarms the stacks create.
"""

# The fixtures come from tests/release_world.py.
# ruff: noqa: F811
from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from moto import mock_aws

from release import cli
from release.appspec import appspec_revision, build_appspec
from release.deployments import release_marker
from release.network import NetworkConfiguration
from release.target import target_from_config
from release_guard.handler import ROLLBACK_CREATOR
from tests.alarm_replay import service_releases
from tests.conftest import stack
from tests.release_example import example_environment
from tests.release_world import (  # noqa: F401  (fixtures)
    TAG,
    World,
    aws_clients,
    fake_aws_env,
    release_reads_the_example,
)

#: Operations tools replayed against simulated AWS: the second, separately
#: timed step of make test (pytest.ini, docs/decisions.md D56).
pytestmark = pytest.mark.aws_replay

ROOT = Path(__file__).resolve().parent.parent
COMMAND = f".venv/bin/python -m release --env staging --service payment-api --image-tag {TAG}"
ONCALL = ".venv/bin/python -m release {} --env staging --service payment-api"
#: The paragraph that introduces the four blocks, and the section after them.
INTRODUCTION = "A release, a release that CodeDeploy stopped and rolled back,"
NEXT_SECTION = "\n## Permissions of the release role\n"
#: The same for the on-call examples.
ONCALL_INTRODUCTION = "During the rolled-back release of the Examples below"
ONCALL_NEXT_SECTION = "\n## Examples\n"
#: Ids moto makes up anew for every run.
MOTO_IDS = re.compile(r"\b(subnet|sg)-[0-9a-f]{17}\b")
#: The deployment the examples release, and CodeDeploy's rollback of it.
DEPLOYMENT, ROLLBACK = "d-7QXK2M9PA", "d-R0LLBACK1"
#: When the examples' deployments were created (scripted CodeDeploy answers).
CREATED = datetime(2026, 12, 7, 9, 14, 5, tzinfo=UTC)
ROLLBACK_CREATED = datetime(2026, 12, 7, 9, 15, 41, tzinfo=UTC)
COMPLETED = datetime(2026, 12, 7, 9, 15, 40, tzinfo=UTC)


@pytest.fixture
def staging(fake_aws_env, aws_clients):
    with mock_aws():
        w = World(target_from_config(example_environment("staging"), "payment-api"), aws_clients)
        try:
            with w.cd_stub, w.lambda_stub:
                yield w
                w.cd_stub.assert_no_pending_responses()
        finally:
            w.close()


@pytest.fixture(scope="module")
def rollback_alarms(example_stacks) -> tuple[str, ...]:
    """The alarms that roll back a release of payment-api to staging, in the
    synthesized deployment group's order (the first: the fastest, ``failing-colour``)."""
    services = stack(example_stacks, "staging", "services").json
    return tuple(a.name for a in service_releases(services)["payment-api"].rollback_alarms)


def documented_blocks(introduction: str = INTRODUCTION, end: str = NEXT_SECTION) -> list[str]:
    text = (ROOT / "docs" / "release.md").read_text()
    section = text[text.index(introduction) : text.index(end)]
    return re.findall(r"\n```\n(.*?)\n```\n", section, flags=re.S)


def played(w: World, command: str = COMMAND) -> str:
    """The command run against the world, as the docs show it: the command,
    what it printed (stdout, then the one line on stderr), the exit code."""
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(
        command.split()[3:],
        clients=w.clients(),
        out=out,
        err=err,
        sleep=w.clock.sleep,
        clock=w.clock,
    )
    return f"$ {command}\n{out.getvalue()}{err.getvalue()}exit code {code}"


def released(w: World, alarms: tuple[str, ...] = ()) -> None:
    w.expect_group()
    w.expect_no_active()
    w.expect_create("d-7QXK2M9PA")
    w.expect_poll("Created", deployment_id="d-7QXK2M9PA")
    for green, event in (
        (0, ("Install", "InProgress")),
        (0, ("AllowTestTraffic", "InProgress")),
        (10, ("AllowTraffic", "InProgress")),
        (20, ("AllowTraffic", "InProgress")),
        (30, ("AllowTraffic", "InProgress")),
        (100, ("AllowTraffic", "Succeeded")),
    ):
        w.expect_poll("InProgress", deployment_id="d-7QXK2M9PA", green=green, event=event)
    w.expect_poll(
        "Succeeded", deployment_id="d-7QXK2M9PA", green=100, event=("AllowTraffic", "Succeeded")
    )


def rolled_back(w: World, alarms: tuple[str, ...]) -> None:
    w.expect_group()
    w.expect_no_active()
    w.expect_create(DEPLOYMENT)
    w.expect_poll(
        "InProgress", deployment_id=DEPLOYMENT, green=0, event=("AllowTestTraffic", "InProgress")
    )
    w.expect_poll(
        "InProgress", deployment_id=DEPLOYMENT, green=10, event=("AllowTraffic", "InProgress")
    )
    _stopped_by_the_alarm(w, alarms)
    w.expect_poll("InProgress", deployment_id=ROLLBACK, green=10)
    w.expect_poll("Succeeded", deployment_id=ROLLBACK, green=0)


def _stopped_by_the_alarm(w: World, alarms: tuple[str, ...]) -> None:
    """CodeDeploy stops the deployment at 10 % because the group's first
    rollback alarm (failing-colour) is in ALARM, and rolls it back; the tool
    reads the group's alarms to name the ones in ALARM."""
    _put_alarms(w, alarms, firing=alarms[0])
    w.expect_poll(
        "Stopped",
        deployment_id=DEPLOYMENT,
        green=10,
        event=("AllowTraffic", "Failed"),
        error=("ALARM_ACTIVE", f"alarm {alarms[0]} went into ALARM; deployment stopped"),
        rollback={"rollbackDeploymentId": ROLLBACK},
    )
    w.expect_group(alarms=list(alarms))


def _put_alarms(w: World, alarms: tuple[str, ...], firing: str | None = None) -> None:
    """The group's rollback alarms in moto's CloudWatch, all OK but ``firing``."""
    for name in alarms:
        w.alarm(name, "ALARM" if name == firing else "OK")


def network_changed(w: World, alarms: tuple[str, ...]) -> None:
    """The service was created with its own security group only and platform
    version 1.3.0; configuration pins 1.4.0 and adds the callers group."""
    w.set_live_service(
        network=NetworkConfiguration(
            subnets=w.network.subnets,
            security_groups=w.network.security_groups[:1],
            assign_public_ip="DISABLED",
        ),
        platform_version="1.3.0",
    )
    released(w)


def no_vpc(w: World, alarms: tuple[str, ...]) -> None:
    w.ec2.delete_tags(Resources=[w.vpc_id], Tags=[{"Key": "Name"}])


SCENARIOS: dict[str, Callable[[World, tuple[str, ...]], None]] = {
    "released": released,
    "rolled-back": rolled_back,
    "network-changed": network_changed,
    "no-vpc": no_vpc,
}


# ------------------------------------------------------- on-call examples
def _appspec_of(w: World, task_definition: str) -> dict:
    """A deployment's ``revision``: the AppSpec the release sends for ``task_definition``."""
    return appspec_revision(
        build_appspec(
            w.target, task_definition_arn=task_definition, network_configuration=w.network
        )
    )


def _release_deployment(w: World) -> dict:
    """GetDeployment's fields of the release's deployment: the revision the
    release registered (the base with the image pinned by digest) is in moto."""
    definition = w.task_definition()
    definition["containerDefinitions"][0]["image"] = f"{w.repo_url}@{w.digest}"
    arn = w.ecs.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
    marker = release_marker(w.target.service_name, w.digest, nonce="5f0c2a9d41be")
    return {
        "deploymentGroupName": w.target.deployment_group,
        "creator": "user",
        "createTime": CREATED,
        "description": f"{w.target.service_name} {TAG} via release tool [{marker}]",
        "revision": _appspec_of(w, arn),
    }


def _rollback_deployment(w: World) -> dict:
    """GetDeployment's fields of CodeDeploy's rollback: it deploys the
    revision that ran before (here the service's first one) again."""
    return {
        "deploymentGroupName": w.target.deployment_group,
        "creator": ROLLBACK_CREATOR,
        "createTime": ROLLBACK_CREATED,
        "rollback": {"rollbackTriggeringDeploymentId": DEPLOYMENT},
        "revision": _appspec_of(w, w.first_arn),
    }


def status_of_the_release(w: World, alarms: tuple[str, ...]) -> None:
    release = _release_deployment(w)
    _put_alarms(w, alarms)
    w.expect_group(alarms=list(alarms))
    w.expect_no_active([DEPLOYMENT])
    w.expect_poll(
        "InProgress",
        deployment_id=DEPLOYMENT,
        green=10,
        event=("AllowTraffic", "InProgress"),
        **release,
    )


def status_of_the_rollback(w: World, alarms: tuple[str, ...]) -> None:
    _put_alarms(w, alarms, firing=alarms[0])
    w.expect_group(alarms=list(alarms))
    w.expect_no_active([ROLLBACK])
    w.expect_poll("InProgress", deployment_id=ROLLBACK, green=10, **_rollback_deployment(w))


def stop_of_the_rollback(w: World, alarms: tuple[str, ...]) -> None:
    w.expect_group(alarms=list(alarms))
    w.expect_no_active([ROLLBACK])
    w.expect_info("InProgress", deployment_id=ROLLBACK, **_rollback_deployment(w))


def follow_to_the_rollback(w: World, alarms: tuple[str, ...]) -> None:
    w.expect_group(alarms=list(alarms))
    w.expect_info("InProgress", deployment_id=DEPLOYMENT, **_release_deployment(w))
    w.expect_poll(
        "InProgress", deployment_id=DEPLOYMENT, green=10, event=("AllowTraffic", "InProgress")
    )
    _stopped_by_the_alarm(w, alarms)
    w.expect_poll("InProgress", deployment_id=ROLLBACK, green=10)
    w.expect_poll("Succeeded", deployment_id=ROLLBACK, green=0)


#: name -> (command, CodeDeploy's script), in the order of the docs.
ONCALL_SCENARIOS: dict[str, tuple[str, Callable[[World, tuple[str, ...]], None]]] = {
    "status-of-the-release": (ONCALL.format("status"), status_of_the_release),
    "status-of-the-rollback": (ONCALL.format("status"), status_of_the_rollback),
    "stop-of-the-rollback": (ONCALL.format("stop"), stop_of_the_rollback),
    "follow-to-the-rollback": (
        f"{ONCALL.format('follow')} --deployment-id {DEPLOYMENT}",
        follow_to_the_rollback,
    ),
}


def test_the_docs_show_the_four_examples():
    blocks = documented_blocks()
    assert len(blocks) == len(SCENARIOS)
    assert all(block.startswith(f"$ {COMMAND}\n") for block in blocks)


@pytest.mark.parametrize("index", range(len(SCENARIOS)), ids=list(SCENARIOS))
def test_a_docs_example_is_what_the_tool_prints(staging, rollback_alarms, index):
    list(SCENARIOS.values())[index](staging, rollback_alarms)
    printed = played(staging)
    documented = documented_blocks()[index]
    assert MOTO_IDS.sub(r"\1-<id>", printed) == MOTO_IDS.sub(r"\1-<id>", documented)


def test_the_docs_show_the_four_oncall_examples():
    blocks = documented_blocks(ONCALL_INTRODUCTION, ONCALL_NEXT_SECTION)
    assert [b.split("\n", 1)[0] for b in blocks] == [
        f"$ {command}" for command, _ in ONCALL_SCENARIOS.values()
    ]


@pytest.mark.parametrize("index", range(len(ONCALL_SCENARIOS)), ids=list(ONCALL_SCENARIOS))
def test_an_oncall_example_is_what_the_tool_prints(staging, rollback_alarms, index):
    command, script = list(ONCALL_SCENARIOS.values())[index]
    script(staging, rollback_alarms)
    printed = played(staging, command)
    documented = documented_blocks(ONCALL_INTRODUCTION, ONCALL_NEXT_SECTION)[index]
    assert printed == documented
