"""docs/release.md's staging examples are what the tool prints now.

"Examples" shows four runs of ``.venv/bin/python -m release --env staging
--service payment-api --image-tag v1.4.2`` against the harness of
tests/release_world.py (moto for ECS, ECR, EC2 and CloudWatch; CodeDeploy's
answers scripted on a Stubber): a release, a release that CodeDeploy stopped
and rolled back, a release to a service created before a network and
platform change, and a network lookup that finds no VPC. Each test plays
one of them and compares the block, character for character, except the
subnet and security group ids moto makes up for each run.
"""

# The fixtures come from tests/release_world.py.
# ruff: noqa: F811
from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from moto import mock_aws

from release import cli
from release.network import NetworkConfiguration
from release.target import target_from_config
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
#: The paragraph that introduces the four blocks, and the section after them.
INTRODUCTION = "A release, a release that CodeDeploy stopped and rolled back,"
NEXT_SECTION = "\n## Permissions of the release role\n"
#: Ids moto makes up anew for every run.
MOTO_IDS = re.compile(r"\b(subnet|sg)-[0-9a-f]{17}\b")


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


def documented_blocks() -> list[str]:
    text = (ROOT / "docs" / "release.md").read_text()
    section = text[text.index(INTRODUCTION) : text.index(NEXT_SECTION)]
    return re.findall(r"\n```\n(.*?)\n```\n", section, flags=re.S)


def played(w: World) -> str:
    """The command run against the world, as the docs show it: the command,
    what it printed (stdout, then the one line on stderr), the exit code."""
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(
        COMMAND.split()[3:],
        clients=w.clients(),
        out=out,
        err=err,
        sleep=w.clock.sleep,
        clock=w.clock,
    )
    return f"$ {COMMAND}\n{out.getvalue()}{err.getvalue()}exit code {code}"


def released(w: World) -> None:
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


def rolled_back(w: World) -> None:
    alarm = f"{w.target.environment.prefix}-payment-api-5xx"
    w.expect_group()
    w.expect_no_active()
    w.expect_create("d-7QXK2M9PA")
    w.expect_poll(
        "InProgress", deployment_id="d-7QXK2M9PA", green=0, event=("AllowTestTraffic", "InProgress")
    )
    w.expect_poll(
        "InProgress", deployment_id="d-7QXK2M9PA", green=10, event=("AllowTraffic", "InProgress")
    )
    w.expect_poll(
        "Stopped",
        deployment_id="d-7QXK2M9PA",
        green=10,
        event=("AllowTraffic", "Failed"),
        error=("ALARM_ACTIVE", f"alarm {alarm} went into ALARM; deployment stopped"),
        rollback={"rollbackDeploymentId": "d-R0LLBACK1"},
    )
    w.alarm(alarm, "ALARM")
    w.alarm(f"{w.target.environment.prefix}-payment-api-p99-latency")
    w.expect_alarm_group([alarm, f"{w.target.environment.prefix}-payment-api-p99-latency"])
    w.expect_poll("InProgress", deployment_id="d-R0LLBACK1", green=10)
    w.expect_poll("Succeeded", deployment_id="d-R0LLBACK1", green=0)


def network_changed(w: World) -> None:
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


def no_vpc(w: World) -> None:
    w.ec2.delete_tags(Resources=[w.vpc_id], Tags=[{"Key": "Name"}])


SCENARIOS: dict[str, Callable[[World], None]] = {
    "released": released,
    "rolled-back": rolled_back,
    "network-changed": network_changed,
    "no-vpc": no_vpc,
}


def test_the_docs_show_the_four_examples():
    blocks = documented_blocks()
    assert len(blocks) == len(SCENARIOS)
    assert all(block.startswith(f"$ {COMMAND}\n") for block in blocks)


@pytest.mark.parametrize("index", range(len(SCENARIOS)), ids=list(SCENARIOS))
def test_a_docs_example_is_what_the_tool_prints(staging, index):
    list(SCENARIOS.values())[index](staging)
    printed = played(staging)
    documented = documented_blocks()[index]
    assert MOTO_IDS.sub(r"\1-<id>", printed) == MOTO_IDS.sub(r"\1-<id>", documented)
