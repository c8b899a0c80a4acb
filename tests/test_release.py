"""Release tool against moto (ECS, ECR, EC2) and a stubbed CodeDeploy client.

Each test builds the dev payment-api service of the example configuration
(tests/fixtures/example.py) in moto with the names of config/naming.py (its
VPC, task subnets and security groups included), so the tool is exercised
with the names it uses for real; the tool reads the example too.
CodeDeploy is a botocore Stubber (moto's CodeDeploy is partial): the stub
checks every request against the AWS API model and fails the test when a
call is made that was not expected, or an expected one is missing.
"""

# The fixtures come from tests/release_world.py; tests name them as parameters.
# ruff: noqa: F811

from __future__ import annotations

import dataclasses
import io

import boto3
import pytest

from config.model import (
    ECS_DEPLOYMENT_CONFIGS,
    MAX_SCAN_WAIT_MINUTES,
    RELEASE_SESSION_MINUTES,
    shift_minutes,
    validate_environment,
)
from config.naming import TRACING_CONTAINER, release_guard_function_name
from release.appspec import READ_ONLY_TASK_DEFINITION_FIELDS, ImageRef, new_task_definition_request
from release.checks import task_set_problem
from release.deploy import (
    AwsClients,
    ReleaseOptions,
    Releaser,
    default_timeout_minutes,
)
from release.deployments import release_marker
from release.errors import (
    EXIT_DEPLOYMENT_FAILED,
    EXIT_NO_ROLLBACK,
    EXIT_REFUSED,
    EXIT_ROLLBACK_FAILED,
    EXIT_TIMEOUT,
    DeploymentFailed,
    DeploymentTimedOut,
    ReleaseInputError,
    ReleaseRefused,
)
from release.network import NetworkConfiguration
from release.target import target_from_config
from tests.helpers import problem_of
from tests.release_example import example_environment
from tests.release_output_helpers import network_fields, note_of
from tests.release_world import (  # noqa: F401  (fixtures)
    MOTO_ACCOUNT,
    PLATFORM_VERSION,
    REGION,
    TAG,
    _assert_nothing_written,
    _botocore_session,
    _comparable,
    _delete_mesh_group,
    _happy_script,
    _PagedEc2,
    _planned_read_only_calls,
    _second_vpc_with_the_name,
    _seventeen_task_subnets,
    _task_set_ids,
    _untag_task_subnets,
    _untag_vpc,
    aws_clients,
    dev,
    fake_aws_env,
    release_reads_the_example,
    role_session,
    world,
)

#: Operations tools replayed against simulated AWS: the second, separately
#: timed step of make test (pytest.ini, docs/decisions.md D56).
pytestmark = pytest.mark.aws_replay


# --------------------------------------------------------------- success path
def test_success_registers_a_revision_that_differs_only_in_the_app_image(world):
    _happy_script(world)
    deployment_id = world.releaser().run()

    assert deployment_id == "d-GREEN0001"
    old_arn, new_arn = world.revisions()
    assert old_arn == world.first_arn
    old = world.ecs.describe_task_definition(taskDefinition=old_arn, include=["TAGS"])
    new = world.ecs.describe_task_definition(taskDefinition=new_arn, include=["TAGS"])
    new_app = next(
        c
        for c in new["taskDefinition"]["containerDefinitions"]
        if c["name"] == world.target.container_name
    )
    # Pinned by digest by default: a tag pushed again cannot change what runs.
    assert new_app["image"] == f"{world.repo_url}@{world.digest}"
    # Everything else, the tracing sidecar and the tags included, is unchanged.
    for td in (old, new):
        for c in td["taskDefinition"]["containerDefinitions"]:
            if c["name"] == world.target.container_name:
                c["image"] = "<app image>"
        for key in READ_ONLY_TASK_DEFINITION_FIELDS:
            td["taskDefinition"].pop(key, None)
        td.pop("ResponseMetadata")
    assert new == old
    assert any(
        c["name"] == TRACING_CONTAINER for c in new["taskDefinition"]["containerDefinitions"]
    )


def test_release_is_based_on_the_latest_revision_terraform_registered(world):
    # Terraform changed the task size and the environment in code: it registers
    # a new revision of the family, but the service keeps running the first
    # one (ignore_changes on task_definition).
    t = world.target
    terraform = world.task_definition()
    terraform["cpu"], terraform["memory"] = "1024", "2048"
    terraform["containerDefinitions"][0]["environment"].append({"name": "FEATURE_X", "value": "on"})
    terraform_arn = world.ecs.register_task_definition(**terraform)["taskDefinition"][
        "taskDefinitionArn"
    ]
    service = world.ecs.describe_services(cluster=t.cluster, services=[t.ecs_service])
    assert service["services"][0]["taskDefinition"] == world.first_arn
    _happy_script(world)
    world.calls.clear()
    world.sent.clear()

    world.releaser().run()

    # The family's latest revision, then the running one to say what changes.
    assert world.sent["DescribeTaskDefinition"] == [
        {"taskDefinition": t.task_family, "include": ["TAGS"]},
        {"taskDefinition": world.first_arn},
    ]
    first, newer, released = world.revisions()
    assert (first, newer) == (world.first_arn, terraform_arn)
    base = world.ecs.describe_task_definition(taskDefinition=newer, include=["TAGS"])
    new = world.ecs.describe_task_definition(taskDefinition=released, include=["TAGS"])
    app = next(
        c for c in new["taskDefinition"]["containerDefinitions"] if c["name"] == t.container_name
    )
    assert app["image"] == f"{world.repo_url}@{world.digest}"
    assert (new["taskDefinition"]["cpu"], new["taskDefinition"]["memory"]) == ("1024", "2048")
    assert {"name": "FEATURE_X", "value": "on"} in app["environment"]
    # A copy of Terraform's revision in which only the app image changed.
    assert _comparable(new, t.container_name) == _comparable(base, t.container_name)
    assert (
        world.appspec_sent()["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"]
        == released
    )
    out = world.out.getvalue()
    # The base and who registered it, the revision the service runs, and what
    # ships besides the image, field by field.
    note = note_of(out, "basing the release on ")
    assert note.startswith(f"basing the release on {t.task_family}:2 (latest ACTIVE revision")
    assert f"registered by {role_session(t.environment, 'release')})" in note
    assert "the service runs :1." in note
    assert note.split("besides the image: ")[1].split("; ") == [
        "containerDefinitions.payment-api.environment.FEATURE_X added ('on')",
        "cpu: '512' -> '1024'",
        "memory: '1024' -> '2048'",
    ]
    # The note comes before anything is written.
    assert out.index("note: basing") < out.index("registered task definition")


def test_no_note_when_the_service_runs_the_latest_revision(world):
    _happy_script(world)
    world.releaser().run()
    out = world.out.getvalue()
    assert f"runs {world.first_arn};" in out
    assert "basing the release" not in out
    assert "note:" not in out


def test_latest_revision_without_the_app_container_is_refused(world):
    # The checks run on the revision the release is based on, not the running one.
    broken = world.task_definition()
    broken["containerDefinitions"][0]["name"] = "renamed"
    broken["containerDefinitions"][0]["dependsOn"] = []
    world.ecs.register_task_definition(**broken)
    with pytest.raises(
        ReleaseRefused,
        match="has no container 'payment-api' "
        r"\(containers: renamed, otel-collector\)",
    ):
        world.releaser().run()
    assert len(world.revisions()) == 2
    assert "CreateDeployment" not in world.sent


def test_success_sends_the_appspec_with_new_revision_container_and_capacity_strategy(world):
    _happy_script(world)
    world.releaser().run()
    new_arn = world.revisions()[-1]
    assert world.appspec_sent() == {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": new_arn,
                        "LoadBalancerInfo": {"ContainerName": "payment-api", "ContainerPort": 8080},
                        "PlatformVersion": PLATFORM_VERSION,
                        # Found in EC2 by the names of config/naming.py: the task
                        # subnets in AZ order, the service's group, then the mesh group.
                        "NetworkConfiguration": {
                            "AwsvpcConfiguration": {
                                "Subnets": list(world.network.subnets),
                                "SecurityGroups": list(world.network.security_groups),
                                "AssignPublicIp": "DISABLED",
                            }
                        },
                        # dev runs on spot (the example); repeated from naming.py.
                        "CapacityProviderStrategy": [
                            {"Base": 1, "CapacityProvider": "FARGATE", "Weight": 1},
                            {"Base": 0, "CapacityProvider": "FARGATE_SPOT", "Weight": 4},
                        ],
                    },
                }
            }
        ],
        # The release check on BeforeInstall, always (D55).
        "Hooks": [{"BeforeInstall": release_guard_function_name(world.target.environment)}],
    }


def test_appspec_sets_the_targets_network_and_platform_not_the_live_ones(world):
    # The service runs what it was created with; Terraform has since added a
    # subnet and replaced the task security group (ignored on the service:
    # UpdateService refuses both on a CODE_DEPLOY service).
    legacy_group = world.ec2.create_security_group(
        GroupName="payment-dev-legacy", Description="old", VpcId=world.vpc_id
    )["GroupId"]
    live = NetworkConfiguration(
        subnets=world.network.subnets[:2],
        security_groups=(legacy_group, world.network.security_groups[1]),
        assign_public_ip="DISABLED",
    )
    world.set_live_service(network=live, platform_version="1.3.0")
    _happy_script(world)
    world.releaser().run()

    props = world.appspec_sent()["Resources"][0]["TargetService"]["Properties"]
    assert props["PlatformVersion"] == PLATFORM_VERSION == world.target.platform_version
    assert props["NetworkConfiguration"] == world.network.appspec()
    out = world.out.getvalue()
    a, b, c = world.network.subnets
    task_group, mesh_group = world.network.security_groups
    assert (
        "note: the service runs platform version 1.3.0; this release applies the pinned 1.4.0\n"
    ) in out
    # Each field that differs, running -> applied; the public IP does not.
    note = note_of(out, "the service's network configuration differs: ")
    assert note.endswith("; this release applies it")
    differences = note.split(": ", 1)[1].removesuffix("; this release applies it")
    assert network_fields(differences) == {
        "subnets": f"{a}, {b} -> {a}, {b}, {c}",
        "security groups": f"{legacy_group}, {mesh_group} -> {task_group}, {mesh_group}",
    }
    # Said before anything is written.
    assert out.index("note: the service's network") < out.index("registered task definition")


def test_run_says_what_the_appspec_sets(world):
    _happy_script(world)
    world.releaser().run()
    a, b, c = world.network.subnets
    task_group, mesh_group = world.network.security_groups
    (line,) = [x for x in world.out.getvalue().splitlines() if x.startswith("the AppSpec sets ")]
    platform, network = line.removeprefix("the AppSpec sets ").split(", ", 1)
    assert platform == "platform version 1.4.0"
    assert network_fields(network) == {
        "subnets": f"{a}, {b}, {c}",
        "security groups": f"{task_group}, {mesh_group}",
        "public IP": "DISABLED",
    }


def test_network_from_the_outputs_file_is_used_as_is_without_ec2_calls(world):
    # --outputs: the ids come from the release manifest; EC2 is not asked.
    network = NetworkConfiguration(
        subnets=(world.network.subnets[1],),
        security_groups=(world.network.security_groups[0],),
        assign_public_ip="ENABLED",
    )
    target = dataclasses.replace(
        world.target,
        network_configuration=network,
        platform_version="1.3.0",
        source="outputs file x.json",
    )
    _happy_script(world)
    world.calls.clear()
    world.releaser(target=target).run()

    assert not [call for call in world.calls if call.startswith("ec2.")]
    props = world.appspec_sent()["Resources"][0]["TargetService"]["Properties"]
    assert props["PlatformVersion"] == "1.3.0"
    assert props["NetworkConfiguration"] == {
        "AwsvpcConfiguration": {
            "Subnets": [world.network.subnets[1]],
            "SecurityGroups": [world.network.security_groups[0]],
            "AssignPublicIp": "ENABLED",
        }
    }
    out = world.out.getvalue()
    assert (
        "note: the service runs platform version 1.4.0; this release applies the pinned 1.3.0"
        in out
    )
    assert "public IP DISABLED -> ENABLED; this release applies it" in out


@pytest.mark.parametrize(
    ("break_network", "message"),
    [
        (
            _untag_vpc,
            r"no VPC has the tag Name='payment-dev' in eu-west-1 \(ec2.describe_vpcs\); "
            r"the release needs exactly one .*--outputs",
        ),
        (
            _second_vpc_with_the_name,
            r"2 VPCs \(vpc-[0-9a-f]+, vpc-[0-9a-f]+\) have the tag "
            r"Name='payment-dev' in eu-west-1",
        ),
        (
            _untag_task_subnets,
            r"VPC 'payment-dev' \(vpc-[0-9a-f]+\) has no subnet tagged "
            r"tier='private' \(ec2.describe_subnets\)",
        ),
        (
            _seventeen_task_subnets,
            r"VPC 'payment-dev' \(vpc-[0-9a-f]+\) has 17 subnets tagged "
            r"tier='private'; an AppSpec takes at most 16",
        ),
        (
            _delete_mesh_group,
            r"VPC 'payment-dev' \(vpc-[0-9a-f]+\) has no security group named "
            r"'payment-dev-service-mesh' \(ec2.describe_security_groups\)",
        ),
    ],
    ids=["no-vpc", "two-vpcs", "no-task-subnets", "too-many-subnets", "no-mesh-group"],
)
def test_network_lookup_refuses_what_is_missing_or_ambiguous(world, break_network, message):
    break_network(world)
    with pytest.raises(ReleaseRefused, match=message) as refused:
        world.releaser().run()
    assert str(refused.value).endswith("Nothing was changed.")
    assert refused.value.exit_code == EXIT_REFUSED
    _assert_nothing_written(world)


def test_network_lookup_reads_every_page(dev):
    lookup = target_from_config(dev, "payment-api").network_lookup
    ec2 = _PagedEc2(
        {
            "describe_vpcs": ("Vpcs", [{"VpcId": "vpc-0123456789abcdef0"}]),
            "describe_subnets": (
                "Subnets",
                [
                    {"SubnetId": "subnet-0000000000000000b", "AvailabilityZone": "eu-west-1b"},
                    {"SubnetId": "subnet-0000000000000000a", "AvailabilityZone": "eu-west-1a"},
                ],
            ),
            "describe_security_groups": (
                "SecurityGroups",
                [
                    {"GroupName": "payment-dev-service-mesh", "GroupId": "sg-00000000000000002"},
                    {
                        "GroupName": "payment-dev-payment-api-tasks",
                        "GroupId": "sg-00000000000000001",
                    },
                ],
            ),
        }
    )
    network = lookup.resolve(ec2, lambda what, call, **params: call(**params))
    assert network == NetworkConfiguration(
        subnets=("subnet-0000000000000000a", "subnet-0000000000000000b"),
        security_groups=("sg-00000000000000001", "sg-00000000000000002"),
        assign_public_ip="DISABLED",
    )
    assert [op for op, _ in ec2.requests] == [
        "describe_vpcs",
        "describe_subnets",
        "describe_subnets",
        "describe_security_groups",
        "describe_security_groups",
    ]
    assert ec2.requests[2][1]["NextToken"] == "1"


def test_progress_shows_steps_and_traffic_percentages_once_per_change(world):
    _happy_script(world)
    world.releaser().run()
    out = world.out.getvalue()
    assert "d-GREEN0001 Created\n" in out
    assert (
        "step Install InProgress | traffic blue 100%, green 0% | tasks blue 1/1, green 1/1" in out
    )
    assert out.count("step Install InProgress") == 1  # the unchanged poll printed nothing
    assert "traffic blue 0%, green 100%" in out
    assert "released payment-api v1.4.2 to dev: deployment d-GREEN0001 succeeded" in out
    # Polled five times: four sleeps of poll_seconds in between, none real.
    assert world.clock.sleeps == [10, 10, 10, 10]
    assert "[00:40] d-GREEN0001 Succeeded" in out


def test_every_read_only_check_comes_before_the_first_write(world):
    world.lambda_stub.add_response(
        "get_function_configuration",
        {"FunctionName": "CodeDeployHook_smoke"},
        {"FunctionName": "CodeDeployHook_smoke"},
    )
    _happy_script(world)
    world.calls.clear()  # drop the set-up calls of the fixture
    world.releaser(hooks=(("AfterInstall", "CodeDeployHook_smoke"),)).run()
    first_write = world.calls.index("ecs.RegisterTaskDefinition")
    assert world.calls[:first_write] == [
        "ecs.DescribeServices",
        "ec2.DescribeVpcs",
        "ec2.DescribeSubnets",
        "ec2.DescribeSecurityGroups",
        "ecs.DescribeTaskDefinition",
        "ecr.DescribeRepositories",
        "ecr.DescribeImages",
        "ecr.DescribeImageScanFindings",
        "codedeploy.GetDeploymentGroup",
        "codedeploy.ListDeployments",
        "lambda.GetFunctionConfiguration",
    ]
    # The network is found by the names of config/naming.py, in the one VPC.
    assert world.sent["DescribeVpcs"] == [
        {"Filters": [{"Name": "tag:Name", "Values": ["payment-dev"]}]}
    ]
    assert world.sent["DescribeSubnets"] == [
        {
            "Filters": [
                {"Name": "vpc-id", "Values": [world.vpc_id]},
                {"Name": "tag:tier", "Values": ["private"]},
            ]
        }
    ]
    assert world.sent["DescribeSecurityGroups"] == [
        {
            "Filters": [
                {"Name": "vpc-id", "Values": [world.vpc_id]},
                {
                    "Name": "group-name",
                    "Values": ["payment-dev-payment-api-tasks", "payment-dev-service-mesh"],
                },
            ]
        }
    ]
    # The new revision is based on the family's latest ACTIVE revision.
    assert world.sent["DescribeTaskDefinition"][-1] == {
        "taskDefinition": world.target.task_family,
        "include": ["TAGS"],
    }
    # The image is tagged for the lifecycle policy before it is deployed.
    assert world.calls[first_write + 1 : first_write + 4] == [
        "ecr.BatchGetImage",
        "ecr.PutImage",
        "codedeploy.CreateDeployment",
    ]
    assert set(world.calls[first_write + 4 :]) == {
        "codedeploy.GetDeployment",
        "codedeploy.GetDeploymentTarget",
    }


def test_the_dry_run_lists_exactly_the_calls_preflight_makes(world, dev):
    """One list of checks (release.checks.CHECKS) drives the dry run and the
    preflight: the same calls, in the same order, with the same parameters."""
    env = dataclasses.replace(dev, account_id=MOTO_ACCOUNT)  # the account check runs too
    hooks = (("AfterInstall", "CodeDeployHook_smoke"), ("BeforeAllowTraffic", "CodeDeployHook_b"))
    for _, function in hooks:
        world.lambda_stub.add_response(
            "get_function_configuration", {"FunctionName": function}, {"FunctionName": function}
        )
    world.expect_group()
    # An earlier run of this release is in progress: it is read (and followed).
    world.expect_no_active(["d-OWN000001"])
    world.cd_stub.add_response(
        "get_deployment",
        {
            "deploymentInfo": {
                "deploymentId": "d-OWN000001",
                "status": "InProgress",
                "description": f"x [{release_marker('payment-api', world.digest, 'abc123')}]",
            }
        },
        {"deploymentId": "d-OWN000001"},
    )
    # Terraform registered a newer revision: the running one is read too.
    world.ecs.register_task_definition(**world.task_definition())
    releaser = world.releaser(target=target_from_config(env, "payment-api"), hooks=hooks)
    planned = _planned_read_only_calls(releaser.plan())
    world.calls.clear()
    world.sent.clear()
    assert releaser.preflight().own_deployment == "d-OWN000001"
    assert [name for name, _ in planned] == world.calls
    assert world.calls[:2] == ["sts.GetCallerIdentity", "ecs.DescribeServices"]
    assert world.calls.count("lambda.GetFunctionConfiguration") == 2
    # Parameters as printed are parameters as sent; the EC2 lookup prints
    # <VpcId> for the id its first answer gives.
    for name, call in planned:
        params = world.sent[name.split(".")[1]].pop(0)
        if not name.startswith("ec2.") and "<" not in call:
            arguments = ", ".join(f"{key}={value!r}" for key, value in params.items())
            assert call == f"{call.split('(')[0]}({arguments})"


@pytest.mark.parametrize("config_name", ECS_DEPLOYMENT_CONFIGS)
def test_every_predefined_deployment_configuration_has_its_shift_time(config_name):
    """The release tool reads the shift time from the name of each
    configuration config.model allows (one table, no copy of it)."""
    assert shift_minutes(config_name) is not None
    assert (
        shift_minutes(config_name)
        == {
            "AllAtOnce": 0,
            "Linear10PercentEvery1Minutes": 10,
            "Linear10PercentEvery3Minutes": 30,
            "Canary10Percent5Minutes": 5,
            "Canary10Percent15Minutes": 15,
        }[config_name.split(".ECS")[1]]
    )


def test_shift_time_is_read_from_the_name_and_unknown_for_custom_configurations():
    assert shift_minutes("MyCompany.ECSCanary10Percent5Minutes") is None
    assert shift_minutes("CodeDeployDefault.ECSLinear30PercentEvery2Minutes") == 8


def test_hooks_are_checked_read_only_and_written_into_the_appspec(world):
    for fn in ("CodeDeployHook_payment-dev-smoke", "CodeDeployHook_payment-dev-canary-check"):
        world.lambda_stub.add_response(
            "get_function_configuration", {"FunctionName": fn}, {"FunctionName": fn}
        )
    _happy_script(world)
    world.releaser(
        hooks=(
            ("AfterAllowTestTraffic", "CodeDeployHook_payment-dev-smoke"),
            ("BeforeAllowTraffic", "CodeDeployHook_payment-dev-canary-check"),
        )
    ).run()
    assert world.appspec_sent()["Hooks"] == [
        {"BeforeInstall": release_guard_function_name(world.target.environment)},
        {"AfterAllowTestTraffic": "CodeDeployHook_payment-dev-smoke"},
        {"BeforeAllowTraffic": "CodeDeployHook_payment-dev-canary-check"},
    ]


def test_a_hook_of_the_callers_on_before_install_is_refused(world):
    """BeforeInstall runs the release check (D55); CodeDeploy runs one
    function per event."""
    with pytest.raises(ReleaseInputError, match="BeforeInstall runs the release check"):
        world.releaser(hooks=(("BeforeInstall", "CodeDeployHook_payment-dev-mine"),))
    assert not world.sent.get("CreateDeployment")


def test_digest_release_and_pin_digest_reference_the_image_by_digest(world):
    _happy_script(world)
    world.releaser(pin_digest=True).run()
    new = world.ecs.describe_task_definition(taskDefinition=world.revisions()[-1])
    images = {c["name"]: c["image"] for c in new["taskDefinition"]["containerDefinitions"]}
    assert images["payment-api"] == f"{world.repo_url}@{world.digest}"


def test_release_by_digest_checks_the_digest_in_ecr(world):
    _happy_script(world)
    world.releaser(image=world.digest).run()
    new = world.ecs.describe_task_definition(taskDefinition=world.revisions()[-1])
    assert (
        new["taskDefinition"]["containerDefinitions"][0]["image"]
        == f"{world.repo_url}@{world.digest}"
    )


# --------------------------------------------------------- failure paths
def test_failed_deployment_follows_the_rollback_and_exits_non_zero(world):
    world.expect_group()
    world.expect_no_active()
    world.expect_create()
    world.expect_poll("InProgress", green=0, event=("AllowTestTraffic", "InProgress"))
    world.expect_poll(
        "Failed",
        green=0,
        event=("AfterAllowTestTraffic", "Failed"),
        error=("HEALTH_CONSTRAINTS", "The hook failed"),
        rollback={"rollbackDeploymentId": "d-ROLLBACK1"},
    )
    world.expect_poll("InProgress", deployment_id="d-ROLLBACK1", green=0)
    world.expect_poll("Succeeded", deployment_id="d-ROLLBACK1", green=0)

    with pytest.raises(DeploymentFailed) as failed:
        world.releaser().run()
    message = str(failed.value)
    assert failed.value.exit_code == EXIT_DEPLOYMENT_FAILED
    assert (
        "d-GREEN0001 of payment-api v1.4.2 to dev FAILED (HEALTH_CONSTRAINTS: The hook failed)"
        in message
    )
    assert "rolled back by d-ROLLBACK1: production traffic is on the previous task set" in message
    assert "d-ROLLBACK1 Succeeded" in world.out.getvalue()


def test_a_failed_rollback_is_reported_loudly(world):
    world.expect_group()
    world.expect_no_active()
    world.expect_create()
    world.expect_poll(
        "Stopped",
        green=10,
        error=("ALARM_ACTIVE", "alarm fired"),
        rollback={"rollbackDeploymentId": "d-ROLLBACK2"},
    )
    world.expect_alarm_group([])
    world.expect_poll("Failed", deployment_id="d-ROLLBACK2", green=10)
    with pytest.raises(
        DeploymentFailed,
        match=r"STOPPED \(ALARM_ACTIVE: alarm fired\); .*"
        r"ROLLBACK d-ROLLBACK2 FAILED: check the service",
    ) as failed:
        world.releaser().run()
    assert failed.value.exit_code == EXIT_ROLLBACK_FAILED == 5
    assert failed.value.verdict == "failed, ROLLBACK FAILED"


def test_stopped_deployment_without_rollback_exits_non_zero(world):
    world.expect_group()
    world.expect_no_active()
    world.expect_create()
    world.expect_poll("Stopped", green=0, error=("DEPLOYMENT_STOPPED", "stopped by a user"))
    # rollbackInfo is read again before "no rollback" is concluded.
    for _ in range(3):
        world.expect_info("Stopped")
    with pytest.raises(DeploymentFailed, match="STOPPED .*no automatic rollback") as failed:
        world.releaser().run()
    assert failed.value.exit_code == EXIT_NO_ROLLBACK == 6
    assert "rollbackInfo read 4 times" in str(failed.value)
    assert failed.value.verdict == "failed, no rollback"


def test_timeout_gives_up_waiting_with_the_deployment_id(world):
    world.expect_group()
    world.expect_no_active()
    world.expect_create()
    for _ in range(4):
        world.expect_poll("InProgress", green=10)
    releaser = world.releaser(timeout_minutes=0.5)
    with pytest.raises(DeploymentTimedOut, match="d-GREEN0001 is still InProgress after 0.5 min"):
        releaser.run()
    assert DeploymentTimedOut("x").exit_code == EXIT_TIMEOUT
    assert world.clock.sleeps == [10, 10, 10]


def test_ready_deployment_says_how_to_reroute_traffic(world):
    world.expect_group()
    world.expect_no_active()
    world.expect_create()
    world.expect_poll("Ready", green=0)
    world.expect_poll("Succeeded", green=100)
    world.releaser().run()
    assert "aws deploy continue-deployment --deployment-id d-GREEN0001" in world.out.getvalue()


def test_create_deployment_refused_by_aws_deregisters_the_unused_revision(world):
    """CodeDeploy refused the deployment (CreateDeployment, AccessDenied): no
    deployment uses the new revision (ListDeployments says so), so it is
    deregistered and the release is refused with exit 3."""
    world.expect_group()
    world.expect_no_active()
    world.cd_stub.add_client_error("create_deployment", "AccessDeniedException", "not allowed")
    world.expect_no_active()  # nothing was created after all
    with pytest.raises(ReleaseRefused, match="create_deployment failed .*nothing was deployed"):
        world.releaser().run()
    assert world.revisions() == [world.first_arn]


def test_transient_poll_errors_are_retried(world):
    world.expect_group()
    world.expect_no_active()
    world.expect_create()
    world.cd_stub.add_client_error("get_deployment", "ThrottlingException", "slow down")
    world.expect_poll("Succeeded", green=100)
    world.releaser().run()
    assert (
        "could not read deployment d-GREEN0001 (ThrottlingException: slow down)"
        in world.out.getvalue()
    )


def test_deployment_in_progress_is_refused_before_any_write(world):
    world.expect_group()
    world.expect_no_active(active=["d-BUSY00001"])
    world.cd_stub.add_response(
        "get_deployment",
        {"deploymentInfo": {"deploymentId": "d-BUSY00001", "status": "InProgress"}},
        {"deploymentId": "d-BUSY00001"},
    )
    with pytest.raises(
        ReleaseRefused,
        match=r"deployment d-BUSY00001 \(InProgress, no description\) is already in progress "
        "for payment-dev/payment-dev-payment-api; follow it with "
        "`.venv/bin/python -m release follow --env dev --service payment-api "
        "--deployment-id d-BUSY00001`",
    ):
        world.releaser().run()
    _assert_nothing_written(world)


def test_a_second_task_set_without_a_deployment_is_refused_before_any_write(world):
    """ECS has two task sets but CodeDeploy has no active deployment: one was
    left half-done (issue #26), and a new one would start from it."""
    world.add_task_set(world.first_arn)
    primary, other = _task_set_ids(world)
    world.expect_group()
    world.expect_no_active()
    with pytest.raises(ReleaseRefused) as refused:
        world.releaser().run()
    message = str(refused.value)
    # The service, what ECS has (each task set and its status) and what a
    # release needs; then where to look, and that nothing changed.
    assert message.startswith(
        "ECS service 'payment-api' in cluster 'payment-dev' is not between deployments: "
    )
    assert (
        f"has 2 task sets: {primary} (PRIMARY, payment-dev-payment-api:1, 0/0 tasks), "
        f"{other} (ACTIVE, payment-dev-payment-api:1, 0/0 tasks)"
    ) in message
    assert "no CodeDeploy deployment is active in payment-dev/payment-dev-payment-api" in message
    assert "a release needs exactly one, the PRIMARY" in message
    assert "`.venv/bin/python -m release status --env dev --service payment-api`" in message
    assert "aws ecs describe-services --cluster payment-dev --services payment-api" in message
    assert message.endswith(". Nothing was changed.")
    _assert_nothing_written(world)


def test_a_draining_task_set_is_refused_with_retry_advice(world):
    world.add_task_set(world.first_arn)

    def draining(parsed, **_kwargs):
        for service in parsed.get("services") or []:
            for task_set in service.get("taskSets") or []:
                if task_set["status"] == "ACTIVE":
                    task_set["status"] = "DRAINING"

    world.ecs.meta.events.register("after-call.ecs.DescribeServices", draining)
    try:
        world.expect_group()
        world.expect_no_active()
        with pytest.raises(ReleaseRefused, match=r"\(DRAINING, .*release again in a few minutes"):
            world.releaser().run()
    finally:
        world.ecs.meta.events.unregister("after-call.ecs.DescribeServices", draining)
    _assert_nothing_written(world)


@pytest.mark.parametrize(
    ("task_sets", "problem"),
    [
        ([{"id": "ecs-svc/1", "status": "PRIMARY"}], None),
        ([], "ECS reports no task set for it (a CODE_DEPLOY service has its PRIMARY one)"),
        (
            [{"id": "ecs-svc/1", "status": "ACTIVE", "taskDefinition": "arn:x/f:2"}],
            "it has 1 task set: ecs-svc/1 (ACTIVE, f:2, 0/0 tasks)",
        ),
    ],
    ids=["primary", "none", "not-primary"],
)
def test_task_set_problem(task_sets, problem):
    assert task_set_problem({"taskSets": task_sets}) == problem


def test_image_missing_from_ecr_is_refused_before_any_write(world):
    with pytest.raises(ReleaseRefused) as refused:
        world.releaser(image="v9.9.9").run()
    assert str(refused.value) == (
        "image v9.9.9 is not in ECR repository 'payment-dev/payment-api'; "
        "push it first (or check the tag). Nothing was changed."
    )
    assert refused.value.exit_code == EXIT_REFUSED
    _assert_nothing_written(world)


def test_missing_repository_is_refused(world):
    target = dataclasses.replace(world.target, ecr_repository_name="payment-dev/nope")
    with pytest.raises(ReleaseRefused, match="ECR repository 'payment-dev/nope' does not exist"):
        world.releaser(target=target).run()
    _assert_nothing_written(world)


def test_repository_url_from_outputs_must_match_ecr(world):
    target = dataclasses.replace(
        world.target, ecr_repository_url="999999999999.dkr.ecr.eu-west-1.amazonaws.com/x"
    )
    with pytest.raises(ReleaseRefused, match="wrong account or stale outputs"):
        world.releaser(target=target).run()
    _assert_nothing_written(world)


def test_missing_cluster_is_refused(world):
    target = dataclasses.replace(world.target, cluster="payment-nope")
    with pytest.raises(ReleaseRefused, match="cluster 'payment-nope' does not exist in eu-west-1"):
        world.releaser(target=target).run()
    _assert_nothing_written(world)


def test_missing_service_is_refused(world):
    target = dataclasses.replace(world.target, ecs_service="nope")
    with pytest.raises(
        ReleaseRefused, match="ECS service 'nope' in cluster 'payment-dev' is MISSING"
    ):
        world.releaser(target=target).run()
    _assert_nothing_written(world)


def test_service_with_the_ecs_controller_is_refused(world):
    world.ecs.create_service(
        cluster=world.target.cluster,
        serviceName="rolling",
        taskDefinition=world.first_arn,
        desiredCount=1,
    )
    target = dataclasses.replace(world.target, ecs_service="rolling")
    with pytest.raises(ReleaseRefused, match="uses the ECS deployment controller"):
        world.releaser(target=target).run()
    _assert_nothing_written(world)


def test_container_without_the_target_group_port_is_refused(world):
    target = dataclasses.replace(world.target, container_port=9999)
    with pytest.raises(
        ReleaseRefused,
        match="container 'payment-api' does not map port 9999 "
        r"\(maps: 8080\)",
    ):
        world.releaser(target=target).run()
    _assert_nothing_written(world)


def test_unknown_container_is_refused(world):
    target = dataclasses.replace(world.target, container_name="api")
    with pytest.raises(
        ReleaseRefused, match="has no container 'api' .*payment-api, otel-collector"
    ):
        world.releaser(target=target).run()
    _assert_nothing_written(world)


def test_deployment_group_of_another_service_is_refused(world):
    world.expect_group(service="transaction-processor")
    with pytest.raises(ReleaseRefused, match="not ECS service payment-dev/payment-api"):
        world.releaser().run()
    _assert_nothing_written(world)


def test_missing_deployment_group_is_refused(world):
    world.cd_stub.add_client_error("get_deployment_group", "DeploymentGroupDoesNotExistException")
    with pytest.raises(
        ReleaseRefused, match="deployment group 'payment-dev-payment-api' does not exist"
    ):
        world.releaser().run()
    _assert_nothing_written(world)


def test_missing_hook_function_is_refused(world):
    world.expect_group()
    world.expect_no_active()
    world.lambda_stub.add_client_error("get_function_configuration", "ResourceNotFoundException")
    with pytest.raises(
        ReleaseRefused,
        match="Lambda function 'CodeDeployHook_payment-dev-smoke' for the "
        "BeforeAllowTraffic hook does not exist",
    ):
        world.releaser(hooks=(("BeforeAllowTraffic", "CodeDeployHook_payment-dev-smoke"),)).run()
    _assert_nothing_written(world)


def test_access_denied_on_a_read_is_refused_with_the_reason(world):
    world.cd_stub.add_client_error(
        "get_deployment_group",
        "AccessDeniedException",
        "not authorized to perform codedeploy:GetDeploymentGroup",
    )
    with pytest.raises(ReleaseRefused, match="access denied .*release role needs this read"):
        world.releaser().run()
    _assert_nothing_written(world)


def test_credentials_of_another_account_are_refused_first(world, dev):
    env = dataclasses.replace(dev, account_id="999999999999")
    target = target_from_config(env, "payment-api")
    with pytest.raises(
        ReleaseRefused,
        match=f"credentials are for account {MOTO_ACCOUNT}, but dev is account 999999999999",
    ):
        world.releaser(target=target).run()
    _assert_nothing_written(world)


def test_missing_credentials_are_refused_before_any_call(monkeypatch, tmp_path, dev):
    for key in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    target = target_from_config(dev, "payment-api")
    session = boto3.session.Session(botocore_session=_botocore_session(), region_name=REGION)
    releaser = Releaser(
        target,
        ReleaseOptions(image=ImageRef.parse(TAG)),
        AwsClients(REGION, session=session),
        out=io.StringIO(),
        sleep=pytest.fail,
    )
    with pytest.raises(ReleaseRefused, match="no usable AWS credentials .*Nothing was changed"):
        releaser.run()
    assert releaser.task_definition_arn is None and releaser.deployment_id is None


# ------------------------------------------------------------- pure parts
def test_read_only_fields_are_exactly_what_register_does_not_accept():
    ecs = _botocore_session().get_service_model("ecs")
    described = set(ecs.shape_for("TaskDefinition").members)
    accepted = set(ecs.operation_model("RegisterTaskDefinition").input_shape.members)
    assert set(READ_ONLY_TASK_DEFINITION_FIELDS) == described - accepted


def test_new_request_changes_nothing_but_the_image():
    described = {
        "taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:1:task-definition/f:3",
            "revision": 3,
            "status": "ACTIVE",
            "registeredAt": "x",
            "registeredBy": "y",
            "requiresAttributes": [{"name": "a"}],
            "compatibilities": ["FARGATE"],
            "family": "f",
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [
                {"name": "app", "image": "repo:old", "portMappings": [{"containerPort": 8080}]},
                {"name": TRACING_CONTAINER, "image": "otel:1"},
            ],
        },
        "tags": [],
    }
    request = new_task_definition_request(
        described, container_name="app", container_port=8080, image="repo:new"
    )
    assert request == {
        "family": "f",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {"name": "app", "image": "repo:new", "portMappings": [{"containerPort": 8080}]},
            {"name": TRACING_CONTAINER, "image": "otel:1"},
        ],
    }
    assert described["taskDefinition"]["containerDefinitions"][0]["image"] == "repo:old"


@pytest.mark.parametrize(("env_name", "minutes"), [("dev", 30), ("staging", 75), ("prod", 95)])
def test_default_timeout_covers_shifting_and_blue_termination(env_name, minutes):
    env = example_environment(env_name)
    assert default_timeout_minutes(target_from_config(env, "payment-api")) == minutes


@pytest.mark.parametrize("env_name", ["dev", "staging", "prod"])
def test_the_longest_release_fits_the_release_session(env_name):
    """Scan wait + shifting + blue termination + margin ends within the
    release role's session (and the release job's timeout); the example's
    environments leave room for the longest scan wait."""
    env = example_environment(env_name)
    longest = MAX_SCAN_WAIT_MINUTES + default_timeout_minutes(
        target_from_config(env, "payment-api")
    )
    assert longest <= RELEASE_SESSION_MINUTES


def test_a_blue_termination_wait_beyond_the_release_session_is_refused():
    from dataclasses import replace

    env = example_environment("prod")
    # prod: Canary10Percent5Minutes (5) + margin (30) + scan wait (10) = 45 + blue.
    fits = replace(env, deployment=replace(env.deployment, terminate_blue_after_minutes=135))
    assert not [p for p in validate_environment(fits) if "terminate_blue" in p]
    too_long = replace(env, deployment=replace(env.deployment, terminate_blue_after_minutes=136))
    problem = problem_of(
        validate_environment(too_long), "prod.deployment.terminate_blue_after_minutes"
    )
    assert problem.split(": ", 1)[1].startswith("136 is not allowed")
    assert "up to 181 minutes" in problem
    assert f"{RELEASE_SESSION_MINUTES}-minute session" in problem
    assert problem.endswith("use at most 135")
