"""Release tool command line: dry runs, input errors, outputs files, exit codes.

The tests name the example's environments, services and messages, so the
tool reads the example (tests/fixtures/example.py); the dry run of every
service runs over the configuration under test, whatever it holds.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import load_environments, naming
from release.cli import main
from release.errors import EXIT_INPUT, EXIT_OK, EXIT_REFUSED
from tests.helpers import refusal_of
from tests.release_example import (
    example_environment,
    use_the_configuration_under_test,
    use_the_example,
)
from tests.release_output_helpers import network_fields, plan_field, planned_calls

#: Operations tools replayed against simulated AWS: the second, separately
#: timed step of make test (pytest.ini, docs/decisions.md D56).
pytestmark = pytest.mark.aws_replay


ROOT = Path(__file__).resolve().parent.parent
#: The configuration under test (the user's, or what PAYMENT_CONFIG names).
CONFIGURED = load_environments()
ENV_SERVICES = [(env.name, svc.name) for env in CONFIGURED for svc in env.services]


@pytest.fixture(autouse=True)
def release_reads_the_example(monkeypatch):
    """The tests name the example's values; the tool loads the same configuration."""
    use_the_example(monkeypatch)


@pytest.fixture
def release_reads_the_configuration_under_test(monkeypatch):
    """For a test over any valid configuration (after the autouse fixture)."""
    use_the_configuration_under_test(monkeypatch)


class UntouchableClients:
    """Fails the test on any client access: a dry run must not reach AWS."""

    def __getattr__(self, name):
        pytest.fail(f"dry run used the {name} client")


def run(*argv: str, clients=None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        list(argv),
        clients=clients if clients is not None else UntouchableClients(),
        out=out,
        err=err,
        sleep=lambda s: pytest.fail("slept"),
    )
    return code, out.getvalue(), err.getvalue()


def appspec_of(output: str) -> dict:
    return json.loads(output[output.index("\n{") + 1 :])


# ---------------------------------------------------------------- dry runs
@pytest.mark.parametrize(
    ("env_name", "service"), ENV_SERVICES, ids=[f"{e}-{s}" for e, s in ENV_SERVICES]
)
def test_dry_run_of_every_service_of_every_environment(
    release_reads_the_configuration_under_test, env_name, service
):
    env = next(e for e in CONFIGURED if e.name == env_name)
    svc = env.service(service)
    code, out, err = run(
        "--env", env_name, "--service", service, "--image-tag", "v2.0.0", "--dry-run"
    )
    assert (code, err) == (EXIT_OK, "")
    props = appspec_of(out)["Resources"][0]["TargetService"]["Properties"]
    assert props["LoadBalancerInfo"] == {
        "ContainerName": naming.app_container_name(svc),
        "ContainerPort": svc.port,
    }
    assert props["CapacityProviderStrategy"] == [
        {"Base": i["base"], "CapacityProvider": i["capacityProvider"], "Weight": i["weight"]}
        for i in naming.capacity_provider_strategy(svc)
    ]
    assert naming.task_family(env, svc) in props["TaskDefinition"]
    # Without --outputs: the pinned version from config; the network is
    # found in EC2 at release time, shown as placeholders naming the lookup.
    assert props["PlatformVersion"] == svc.platform_version
    awsvpc = props["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert list(awsvpc) == ["Subnets", "SecurityGroups", "AssignPublicIp"]
    assert awsvpc["Subnets"] == [
        f"<ids of the subnets tagged tier={naming.TASK_SUBNET_TIER} in VPC "
        f"{naming.vpc_name(env)}, read by ec2.describe_subnets>"
    ]
    assert awsvpc["SecurityGroups"] == [
        f"<id of security group {name}, read by ec2.describe_security_groups>"
        for name in (
            naming.task_security_group_name(env, svc),
            naming.service_mesh_security_group_name(env),
        )
    ]
    assert awsvpc["AssignPublicIp"] == "DISABLED"
    for name in (
        naming.cluster_name(env),
        naming.ecs_service_name(env, svc),
        naming.ecr_repository_name(env, svc),
        naming.codedeploy_application_name(env),
        naming.deployment_group_name(env, svc),
    ):
        assert repr(name) in out
    assert f"region {env.region}" in out


def test_dry_run_prints_the_plan_in_order_with_writes_after_all_checks():
    code, out, _ = run(
        "--env",
        "prod",
        "--service",
        "transaction-processor",
        "--image-tag",
        "v2.0.0",
        "--hook",
        "BeforeAllowTraffic=CodeDeployHook_payment-prod-smoke",
        "--dry-run",
    )
    assert code == EXIT_OK
    assert out.startswith("DRY RUN: no AWS API is called; nothing is changed.")
    calls = [
        "ecs.describe_services",
        "ec2.describe_vpcs",
        "ec2.describe_subnets",
        "ec2.describe_security_groups",
        "ecs.describe_task_definition",
        "ecr.describe_repositories",
        "ecr.describe_images",
        "codedeploy.get_deployment_group",
        "codedeploy.list_deployments",
        "lambda.get_function_configuration",
        "ecs.register_task_definition",
        "codedeploy.create_deployment",
        "codedeploy.get_deployment +",
    ]
    positions = [out.index(c) for c in calls]
    assert positions == sorted(positions)
    assert out.index("read-only checks") < out.index("lambda.get_function_") < out.index("changes:")
    # The new revision is a copy of the family's latest ACTIVE revision (which
    # includes what Terraform registered), not of the one the service runs.
    base = planned_calls(out, "ecs.describe_task_definition")[0]
    assert base.params == {
        "taskDefinition": "payment-prod-transaction-processor",
        "include": ["TAGS"],
    }
    assert base.expect.startswith("latest ACTIVE revision of the family")
    assert "-> copy of the latest ACTIVE revision (Terraform's changes included)" in out
    # prod: workers on Spot with an on-demand base (config); canary 5 min +
    # 60 min blue termination + 30.
    assert appspec_of(out)["Resources"][0]["TargetService"]["Properties"][
        "CapacityProviderStrategy"
    ] == [
        {"Base": 1, "CapacityProvider": "FARGATE", "Weight": 1},
        {"Base": 0, "CapacityProvider": "FARGATE_SPOT", "Weight": 4},
    ]
    assert appspec_of(out)["Hooks"] == [
        # The release check, always (D55).
        {"BeforeInstall": "CodeDeployHook_payment-prod-release-guard"},
        {"BeforeAllowTraffic": "CodeDeployHook_payment-prod-smoke"},
    ]
    assert "gives up after 95 min" in out
    # The network lookup, by the names of config/naming.py, read-only.
    groups = ["payment-prod-transaction-processor-tasks", "payment-prod-service-mesh"]
    in_vpc = {"Name": "vpc-id", "Values": ["<VpcId>"]}
    assert planned_calls(out, "ec2.describe_vpcs") == [
        ({"Filters": [{"Name": "tag:Name", "Values": ["payment-prod"]}]}, "exactly one VPC")
    ]
    ((subnets, _),) = planned_calls(out, "ec2.describe_subnets")
    assert subnets == {"Filters": [in_vpc, {"Name": "tag:tier", "Values": ["private"]}]}
    ((security_groups, _),) = planned_calls(out, "ec2.describe_security_groups")
    assert security_groups == {"Filters": [in_vpc, {"Name": "group-name", "Values": groups}]}
    assert plan_field(out, "platform") == "1.4.0 (pinned)"
    lookup, network = plan_field(out, "network").split(": ", 1)
    assert lookup == "looked up in EC2"
    subnet_lookup = "tagged tier=private in the VPC named payment-prod"
    assert network_fields(network) == {
        "subnets": subnet_lookup,
        "security groups": ", ".join(groups),
        "public IP": "DISABLED",
    }


def test_dry_run_needs_no_credentials_and_imports_neither_boto3_nor_cdktf(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    script = (
        "import sys; from release.cli import main; "
        "code = main(['--env', 'dev', '--service', 'payment-api', '--image-tag', 'v1', '--dry-run']); "
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules, 'imported boto3'; "
        "assert not [m for m in sys.modules if m.startswith(('cdktf', 'constructs'))], 'imported cdktf'; "
        "sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert '"ContainerName": "payment-api"' in done.stdout


def test_wrapper_script_runs_from_any_directory(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "ops" / "run_release.py"),
            "--env",
            "staging",
            "--service",
            "notification-service",
            "--image-tag",
            "v3",
            "--dry-run",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "payment-staging-notification-service" in done.stdout


# ------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--env", "qa", "--service", "payment-api", "--image-tag", "v1"],
            "environment: 'qa' is not defined; allowed: dev, staging, prod",
        ),
        (
            ["--env", "dev", "--service", "billing", "--image-tag", "v1"],
            "service: 'billing' is not defined in dev; allowed: payment-api, transaction-processor, "
            "notification-service",
        ),
        (["--env", "dev", "--service", "payment-api", "--image-tag", ""], "--image-tag: missing"),
        (
            ["--env", "dev", "--service", "payment-api", "--image-tag", "v1 beta"],
            "--image-tag: 'v1 beta' is not allowed",
        ),
        (
            ["--env", "dev", "--service", "payment-api", "--image-tag", "sha256:abc"],
            "--image-tag: 'sha256:abc' is not allowed",
        ),
        (
            [
                "--env",
                "dev",
                "--service",
                "payment-api",
                "--image-tag",
                "v1",
                "--hook",
                "OnDeploy=fn",
            ],
            "--hook: 'OnDeploy=fn' is not allowed; use EVENT=LAMBDA_FUNCTION with EVENT one of "
            "BeforeInstall, AfterInstall, AfterAllowTestTraffic, BeforeAllowTraffic, AfterAllowTraffic",
        ),
        (
            [
                "--env",
                "dev",
                "--service",
                "payment-api",
                "--image-tag",
                "v1",
                "--hook",
                "AfterInstall=CodeDeployHook_a",
                "--hook",
                "AfterInstall=CodeDeployHook_b",
            ],
            "--hook: AfterInstall is given twice",
        ),
        (
            [
                "--env",
                "dev",
                "--service",
                "payment-api",
                "--image-tag",
                "v1",
                "--hook",
                "AfterInstall=not a function",
            ],
            "--hook: 'not a function' (AfterInstall) is not a Lambda function name or ARN",
        ),
        (
            [
                "--env",
                "dev",
                "--service",
                "payment-api",
                "--image-tag",
                "v1",
                "--hook",
                "AfterInstall=arn:aws:lambda:eu-west-1:111111111111:function:smoke:live",
            ],
            "--hook: 'arn:aws:lambda:eu-west-1:111111111111:function:smoke:live' (AfterInstall) is not "
            "allowed; the function name must start with CodeDeployHook_ (CodeDeploy's role, "
            "AWSCodeDeployRoleForECSLimited, may invoke only those)",
        ),
        (
            [
                "--env",
                "dev",
                "--service",
                "payment-api",
                "--image-tag",
                "v1",
                "--poll-seconds",
                "0",
            ],
            "--poll-seconds: 0 is not allowed; must be positive",
        ),
        (
            [
                "--env",
                "dev",
                "--service",
                "payment-api",
                "--image-tag",
                "v1",
                "--timeout-minutes",
                "-1",
            ],
            "--timeout-minutes: -1 is not allowed; must be positive",
        ),
    ],
    ids=[
        "env",
        "service",
        "empty-tag",
        "bad-tag",
        "bad-digest",
        "hook-event",
        "hook-twice",
        "hook-function",
        "hook-prefix",
        "poll",
        "timeout",
    ],
)
def test_bad_input_is_refused_with_a_message_naming_field_and_allowed(argv, message):
    # Real releases too (no --dry-run): input is checked before any client is used.
    code, out, err = run(*argv)
    assert code == EXIT_INPUT
    assert err.startswith("release refused: ")
    assert message in err
    assert out == ""


@pytest.mark.parametrize("value", ["sha256:abc", "v1 beta", "v1.4.2"])
def test_a_bad_expect_digest_names_expect_digest_not_image_tag(value):
    code, out, err = run(
        "--env", "dev", "--service", "payment-api", "--image-tag", "v1", "--expect-digest", value
    )
    assert code == EXIT_INPUT
    assert err == (
        f"release refused: --expect-digest: {value!r} is not allowed; use sha256:<64 hex>\n"
    )
    assert out == ""


def test_missing_image_tag_is_a_usage_error():
    code, out, err = run("--env", "dev", "--service", "payment-api", "--dry-run")
    assert code == EXIT_INPUT
    assert "the following arguments are required: --image-tag" in err


# ------------------------------------------------------------ outputs file
def manifest_entry(env_name: str, service: str, **changes) -> dict:
    """The release manifest entry of the example's ``service`` in ``env_name``."""
    env = example_environment(env_name)
    svc = env.service(service)
    entry = {
        "cluster": naming.cluster_name(env),
        "service": naming.ecs_service_name(env, svc),
        "task_family": naming.task_family(env, svc),
        "container_name": naming.app_container_name(svc),
        "container_port": svc.port,
        "codedeploy_application": naming.codedeploy_application_name(env),
        "deployment_group": naming.deployment_group_name(env, svc),
        "ecr_repository_name": naming.ecr_repository_name(env, svc),
        "ecr_repository_url": f"111111111111.dkr.ecr.{env.region}.amazonaws.com/"
        f"{naming.ecr_repository_name(env, svc)}",
        "capacity_provider_strategy": naming.capacity_provider_strategy(svc),
        "platform_version": svc.platform_version,
        "network_configuration": {
            "subnets": [
                "subnet-0aaaaaaaaaaaaaaa1",
                "subnet-0aaaaaaaaaaaaaaa2",
                "subnet-0aaaaaaaaaaaaaaa3",
            ],
            "security_groups": ["sg-0bbbbbbbbbbbbbbb1", "sg-0bbbbbbbbbbbbbbb2"],
            "assign_public_ip": "DISABLED",
        },
    }
    entry.update(changes)
    return entry


def network_entry(**network_changes) -> dict:
    """A dev payment-api manifest entry with a changed network_configuration."""
    entry = manifest_entry("dev", "payment-api")
    entry["network_configuration"] = {**entry["network_configuration"], **network_changes}
    return entry


def write_outputs(tmp_path, manifest, *, raw=None) -> str:
    path = tmp_path / "outputs.json"
    path.write_text(
        raw
        if raw is not None
        else json.dumps(
            {
                "alb_dns_name": {"value": "x", "type": "string", "sensitive": False},
                "release_manifest": {
                    "value": manifest,
                    "type": ["map", ["object", {}]],
                    "sensitive": False,
                },
            }
        )
    )
    return str(path)


def test_outputs_file_supplies_the_names(tmp_path):
    entry = manifest_entry(
        "staging",
        "payment-api",
        deployment_group="from-outputs-dg",
        container_port=8090,
        # Terraform-style keys are accepted too.
        capacity_provider_strategy=[{"capacity_provider": "FARGATE", "base": 2, "weight": 1}],
    )
    path = write_outputs(tmp_path, {"payment-api": entry})
    code, out, err = run(
        "--env",
        "staging",
        "--service",
        "payment-api",
        "--image-tag",
        "v7",
        "--outputs",
        path,
        "--dry-run",
    )
    assert (code, err) == (EXIT_OK, "")
    assert f"names from outputs file {path}" in out
    assert "deploymentGroupName='from-outputs-dg'" in out
    # Pinned by digest by default (read from ECR at release time).
    assert f"image         {entry['ecr_repository_url']}@<digest of the image>" in out
    props = appspec_of(out)["Resources"][0]["TargetService"]["Properties"]
    assert props["LoadBalancerInfo"]["ContainerPort"] == 8090
    assert props["CapacityProviderStrategy"] == [
        {"Base": 2, "CapacityProvider": "FARGATE", "Weight": 1}
    ]


def test_dry_run_shows_network_and_platform_from_the_outputs_file(tmp_path):
    network = {
        "subnets": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        "security_groups": ["sg-0123456789abcdef0"],
        "assign_public_ip": "DISABLED",
    }
    entry = manifest_entry(
        "prod", "payment-api", platform_version="1.3.0", network_configuration=network
    )
    path = write_outputs(tmp_path, {"payment-api": entry})
    code, out, err = run(
        "--env",
        "prod",
        "--service",
        "payment-api",
        "--image-tag",
        "v7",
        "--outputs",
        path,
        "--dry-run",
    )
    assert (code, err) == (EXIT_OK, "")
    props = appspec_of(out)["Resources"][0]["TargetService"]["Properties"]
    # The file's values, not the configuration's pinned version (1.4.0).
    assert props["PlatformVersion"] == "1.3.0"
    assert props["NetworkConfiguration"] == {
        "AwsvpcConfiguration": {
            "Subnets": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
            "SecurityGroups": ["sg-0123456789abcdef0"],
            "AssignPublicIp": "DISABLED",
        }
    }
    assert plan_field(out, "platform") == "1.3.0 (pinned)"
    assert network_fields(plan_field(out, "network")) == {
        "subnets": "subnet-0123456789abcdef0, subnet-0123456789abcdef1",
        "security groups": "sg-0123456789abcdef0",
        "public IP": "DISABLED",
    }
    # Nothing to look up: the plan has no EC2 call.
    assert "ec2." not in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found; write it with `terraform output -json > FILE`"),
        ("{not json", "not readable JSON"),
        (json.dumps({"other": {"value": 1}}), "has no output 'release_manifest'"),
        (json.dumps({"release_manifest": {"value": []}}), "release_manifest.value must be a map"),
        (
            json.dumps({"release_manifest": {"value": {"transaction-processor": {}}}}),
            "service 'payment-api' is not in release_manifest; allowed: transaction-processor",
        ),
        (
            json.dumps(
                {"release_manifest": {"value": {"payment-api": {"cluster": "payment-dev"}}}}
            ),
            "release_manifest.payment-api: missing service, task_family",
        ),
        (
            json.dumps(
                {
                    "release_manifest": {
                        "value": {"payment-api": manifest_entry("prod", "payment-api")}
                    }
                }
            ),
            "release_manifest.payment-api.cluster: 'payment-prod' is not the cluster of environment "
            "'dev' ('payment-dev')",
        ),
        (
            json.dumps(
                {
                    "release_manifest": {
                        "value": {
                            "payment-api": manifest_entry(
                                "dev", "payment-api", container_port="http"
                            )
                        }
                    }
                }
            ),
            "container_port: 'http' is not allowed; must be a port number 1-65535",
        ),
        (
            json.dumps(
                {
                    "release_manifest": {
                        "value": {
                            "payment-api": manifest_entry("dev", "payment-api", deployment_group="")
                        }
                    }
                }
            ),
            "deployment_group: '' is not allowed; must be a non-empty string",
        ),
        (
            json.dumps(
                {
                    "release_manifest": {
                        "value": {
                            "payment-api": manifest_entry(
                                "dev", "payment-api", capacity_provider_strategy=[]
                            )
                        }
                    }
                }
            ),
            "capacity_provider_strategy: [] is not allowed",
        ),
        (
            json.dumps(
                {
                    "release_manifest": {
                        "value": {
                            "payment-api": manifest_entry(
                                "dev",
                                "payment-api",
                                capacity_provider_strategy=[
                                    {"capacityProvider": "FARGATE", "weight": -1}
                                ],
                            )
                        }
                    }
                }
            ),
            "capacity_provider_strategy[0].weight: -1 is not allowed",
        ),
        *[
            (json.dumps({"release_manifest": {"value": {"payment-api": entry}}}), message)
            for entry, message in (
                (
                    manifest_entry("dev", "payment-api", platform_version="LATEST"),
                    "release_manifest.payment-api.platform_version: 'LATEST' is not allowed; must be a "
                    "pinned Fargate platform version such as '1.4.0' (not LATEST)",
                ),
                (
                    manifest_entry("dev", "payment-api", platform_version="1.4.0\n"),
                    "release_manifest.payment-api.platform_version: '1.4.0\\n' is not allowed",
                ),
                (
                    manifest_entry("dev", "payment-api", platform_version=""),
                    "release_manifest.payment-api.platform_version: '' is not allowed; must be a "
                    "non-empty string",
                ),
                (
                    manifest_entry(
                        "dev", "payment-api", network_configuration=["subnet-0123456789abcdef0"]
                    ),
                    "release_manifest.payment-api.network_configuration: ['subnet-0123456789abcdef0'] is "
                    "not allowed; must be a map of subnets, security_groups, assign_public_ip",
                ),
                (
                    manifest_entry(
                        "dev",
                        "payment-api",
                        network_configuration={
                            "subnets": ["subnet-0123456789abcdef0"],
                            "security_groups": ["sg-0123456789abcdef0"],
                        },
                    ),
                    "release_manifest.payment-api.network_configuration: missing assign_public_ip; "
                    "required: subnets, security_groups, assign_public_ip (an AppSpec sets all three or "
                    "none)",
                ),
                (
                    network_entry(subnets=[]),
                    "release_manifest.payment-api.network_configuration.subnets: [] is not allowed; must "
                    "be a list of 1-16 subnet ids ('subnet-' + 8 or 17 hex digits)",
                ),
                (
                    network_entry(subnets="subnet-0123456789abcdef0"),
                    "network_configuration.subnets: 'subnet-0123456789abcdef0' is not allowed; must be a "
                    "list of 1-16 subnet ids",
                ),
                (
                    network_entry(subnets=[f"subnet-0123456789abcde{i:02x}" for i in range(17)]),
                    "'subnet-0123456789abcde10'] is not allowed; must be a list of 1-16 subnet ids",
                ),
                (
                    network_entry(subnets=["subnet-0123456789abcdef0", "sg-0123456789abcdef0"]),
                    "release_manifest.payment-api.network_configuration.subnets[1]: 'sg-0123456789abcdef0' "
                    "is not allowed; must be a subnet id ('subnet-' + 8 or 17 hex digits)",
                ),
                (
                    network_entry(subnets=["subnet-0123456789abcdef0\n"]),
                    "network_configuration.subnets[0]: 'subnet-0123456789abcdef0\\n' is not allowed",
                ),
                (
                    network_entry(subnets=["subnet-0123456789abcdef0", "subnet-0123456789abcdef0"]),
                    "network_configuration.subnets: ['subnet-0123456789abcdef0', "
                    "'subnet-0123456789abcdef0'] is not allowed; subnet-0123456789abcdef0 listed more "
                    "than once",
                ),
                (
                    network_entry(security_groups=[]),
                    "release_manifest.payment-api.network_configuration.security_groups: [] is not "
                    "allowed; must be a list of 1-5 security group ids ('sg-' + 8 or 17 hex digits)",
                ),
                (
                    network_entry(security_groups=[f"sg-0123456789abcdef{i}" for i in range(6)]),
                    "'sg-0123456789abcdef5'] is not allowed; must be a list of 1-5 security group ids",
                ),
                (
                    network_entry(security_groups=["payment-dev-service-mesh"]),
                    "network_configuration.security_groups[0]: 'payment-dev-service-mesh' is not "
                    "allowed; must be a security group id ('sg-' + 8 or 17 hex digits)",
                ),
                (
                    network_entry(assign_public_ip=False),
                    "release_manifest.payment-api.network_configuration.assign_public_ip: False is not "
                    "allowed; allowed: ENABLED, DISABLED",
                ),
            )
        ],
    ],
    ids=[
        "missing",
        "not-json",
        "no-output",
        "not-map",
        "unknown-service",
        "missing-fields",
        "other-env",
        "port",
        "empty-name",
        "empty-strategy",
        "negative-weight",
        "platform-latest",
        "platform-newline",
        "platform-empty",
        "network-not-map",
        "network-missing-key",
        "subnets-empty",
        "subnets-not-list",
        "subnets-17",
        "subnet-bad-id",
        "subnet-newline",
        "subnet-twice",
        "groups-empty",
        "groups-6",
        "group-name-not-id",
        "public-ip-bool",
    ],
)
def test_bad_outputs_file_is_refused(tmp_path, content, message):
    path = (
        str(tmp_path / "absent.json")
        if content is None
        else write_outputs(tmp_path, None, raw=content)
    )
    code, out, err = run(
        "--env", "dev", "--service", "payment-api", "--image-tag", "v1", "--outputs", path
    )
    assert code == EXIT_INPUT
    assert message in err
    assert out == ""


@pytest.mark.parametrize(
    "absent",
    [("platform_version", "network_configuration"), ("network_configuration",)],
    ids=["both", "network"],
)
def test_outputs_file_from_before_the_network_outputs_asks_to_export_again(tmp_path, absent):
    entry = {k: v for k, v in manifest_entry("staging", "payment-api").items() if k not in absent}
    path = write_outputs(tmp_path, {"payment-api": entry})
    code, out, err = run(
        "--env",
        "staging",
        "--service",
        "payment-api",
        "--image-tag",
        "v1",
        "--outputs",
        path,
        "--dry-run",
    )
    assert code == EXIT_INPUT
    reason = refusal_of(err, "release")
    # The file, the field and what it lacks; then the fix: apply, export again.
    assert reason.startswith(
        f"outputs file {path!r}: release_manifest.payment-api: missing {', '.join(absent)}; "
    )
    assert "cdktf deploy payment-staging-services" in reason
    assert "terraform output -json > FILE" in reason
    assert out == ""


def test_outputs_file_does_not_bypass_the_configuration(tmp_path):
    path = write_outputs(tmp_path, {"billing": manifest_entry("dev", "payment-api")})
    code, _, err = run(
        "--env", "dev", "--service", "billing", "--image-tag", "v1", "--outputs", path, "--dry-run"
    )
    assert code == EXIT_INPUT
    assert "service: 'billing' is not defined in dev" in err


# ------------------------------------------------------------ real runs
def test_missing_credentials_exit_with_a_clear_message(monkeypatch, tmp_path):
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["--env", "dev", "--service", "payment-api", "--image-tag", "v1"],
        out=out,
        err=err,
        sleep=lambda s: pytest.fail("slept"),
    )
    assert code == EXIT_REFUSED
    assert err.getvalue().startswith("release refused: no usable AWS credentials")
    assert "log in for the dev account" in err.getvalue()
    assert "Nothing was changed." in err.getvalue()
    assert "registered" not in out.getvalue()


# ------------------------------------------------------------ documentation
def test_the_docs_dry_run_example_is_what_the_tool_prints():
    """docs/release.md's first example is the exact output of its command."""
    import shlex

    text = (ROOT / "docs" / "release.md").read_text()
    examples = text[text.index("\n## Examples\n") :]
    block = examples[examples.index("\n```\n") + 5 :]
    block = block[: block.index("\n```\n")]
    command, _, shown = block.partition(" --dry-run\n")
    argv = shlex.split(command.removeprefix("$ ").replace("\\\n", " "))
    assert argv[:3] == [".venv/bin/python", "-m", "release"]
    code, out, err = run(*argv[3:], "--dry-run")
    assert (code, err) == (EXIT_OK, "")
    assert out == shown + "\n"
