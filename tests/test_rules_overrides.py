"""Issue 12, finding 10: an escape-hatch override that reintroduces a gap
makes synthesis of the real app fail.

Each case builds the dev environment of the real app, applies one override
(``add_override``, as a hurried engineer would) and synthesizes: the node
validation must fail with the rule's message, and nothing of the failing
stack may be written. One case runs main.py in a separate process with
``CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS`` set, as the cdktf CLI does:
node validations still fail it (annotation errors would not)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from framework.aws import aws
from tests.synth import synthesize

# Each case synthesizes a whole application: make test runs them as its
# second step with the replays (pytest.ini, docs/decisions.md D65).
pytestmark = pytest.mark.app_synthesis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _first(stack, construct_type):
    return next(c for c in stack.node.find_all() if isinstance(c, construct_type))


def _override_containers(built, change) -> None:
    """Rewrites the first services task definition's containers with ``change``."""
    td = _first(built["dev"].services, aws.ecs_task_definition.EcsTaskDefinition)
    containers = json.loads(td.container_definitions_input)
    change(containers)
    td.add_override("container_definitions", json.dumps(containers))


def _database_open_to_half_the_internet(built):
    sg = _first(built["dev"].data, aws.security_group.SecurityGroup)
    sg.add_override(
        "ingress",
        [
            {
                "from_port": 5432,
                "to_port": 5432,
                "protocol": "tcp",
                "cidr_blocks": ["0.0.0.0/1"],
                "ipv6_cidr_blocks": ["::/1"],
            }
        ],
    )


def _secret_in_environment(built):
    _override_containers(
        built, lambda cs: cs[0]["environment"].append({"name": "DB_PASSWORD", "value": "hunter2"})
    )


def _privileged_sidecar(built):
    _override_containers(built, lambda cs: cs[-1].update(privileged=True))


def _writable_app_container(built):
    _override_containers(built, lambda cs: cs[0].update(readonlyRootFilesystem=False))


def _root_app_container(built):
    _override_containers(built, lambda cs: cs[0].pop("user"))


def _codedeploy_passes_only_the_first_role(built):
    """Someone trims the CodeDeploy role's PassRole list to one role."""
    policy = built["dev"].services.deployments.pass_role_policy
    document = json.loads(policy.policy_input)
    document["Statement"][0]["Resource"] = document["Statement"][0]["Resource"][:1]
    policy.add_override("policy", json.dumps(document))


def _config_delivers_into_the_locked_audit_bucket(built):
    """The delivery channel pointed back at the audit trail's bucket."""
    baseline = built["dev"].security_baseline
    baseline.config_recorder.channel.add_override("s3_bucket_name", baseline.trail.bucket.bucket.id)


def _runtime_monitoring_without_its_agents(built):
    """RUNTIME_MONITORING's additional configurations removed by override."""
    feature = built["dev"].security_baseline.threat_detection.features["RUNTIME_MONITORING"]
    feature.add_override("additional_configuration", None)


def _key_administrators_create_star(built):
    """The key administrators hold kms:Create* again (and so CreateGrant)."""
    key = _first(built["dev"].security, aws.kms_key.KmsKey)
    policy = json.loads(key.policy_input)
    admin = next(s for s in policy["Statement"] if s["Sid"] == "KeyAdministrators")
    admin["Action"] = ["kms:Create*", *admin["Action"]]
    key.add_override("policy", json.dumps(policy))


def _service_waits_for_steady_state(built):
    """Hangs on a CODE_DEPLOY service (terraform-provider-aws #29252)."""
    service = _first(built["dev"].services, aws.ecs_service.EcsService)
    service.add_override("wait_for_steady_state", True)


def _deployment_events_stream_creation_bound_to_the_rule(built):
    """The deployments log group's policy back to one statement conditioning
    CreateLogStream and PutLogEvents on the rule (before D58)."""
    policy = _first(
        built["dev"].services, aws.cloudwatch_log_resource_policy.CloudwatchLogResourcePolicy
    )
    create, put = json.loads(policy.policy_document_input)["Statement"]
    put["Action"] = [create["Action"], put["Action"]]
    policy.add_override("policy_document", json.dumps({"Statement": [put]}))


def _unlocked_state(built):
    built["dev"].network.add_override("terraform.backend.s3.use_lockfile", False)


CASES = [
    pytest.param(
        _database_open_to_half_the_internet,
        "payment-dev-data",
        r"\[payment-dev-data\] \[PAY-NET-001\] aws_security_group\.\S+: opens port 5432 "
        r"of security group \S+ \(not an internet-facing load balancer's\) to 0\.0\.0\.0/1, "
        r"a world-wide range",
        id="NET-001-database-0.0.0.0/1",
    ),
    pytest.param(
        _secret_in_environment,
        "payment-dev-services",
        r"\[payment-dev-services\] \[PAY-SEC-001\] aws_ecs_task_definition\.\S+: container "
        r"\S+ has secret-looking environment variable DB_PASSWORD\. Fix: move it",
        id="SEC-001",
    ),
    pytest.param(
        _privileged_sidecar,
        "payment-dev-services",
        r"\[PAY-CTR-001\] aws_ecs_task_definition\.\S+: container otel-collector is privileged",
        id="CTR-001",
    ),
    pytest.param(
        _writable_app_container,
        "payment-dev-services",
        r"\[PAY-CTR-002\] aws_ecs_task_definition\.\S+: container \S+ has a writable root "
        r"filesystem \(readonlyRootFilesystem is False\)",
        id="CTR-002",
    ),
    pytest.param(
        _root_app_container,
        "payment-dev-services",
        r"\[PAY-CTR-003\] aws_ecs_task_definition\.\S+: container \S+ sets no user",
        id="CTR-003",
    ),
    pytest.param(
        _codedeploy_passes_only_the_first_role,
        "payment-dev-services",
        r"\[payment-dev-services\] \[PAY-CD-003\] aws_codedeploy_deployment_group\.\S+: service "
        r"role aws_iam_role\.codedeploy_service-role_\S+ may not pass execution_role_arn",
        id="CD-003",
    ),
    pytest.param(
        _config_delivers_into_the_locked_audit_bucket,
        "payment-dev-baseline",
        r"\[payment-dev-baseline\] \[PAY-LOG-002\] aws_config_delivery_channel\.\S+: delivers "
        r"to aws_s3_bucket\.trail_bucket_\S+, which has Object Lock",
        id="LOG-002",
    ),
    pytest.param(
        _runtime_monitoring_without_its_agents,
        "payment-dev-baseline",
        r"\[payment-dev-baseline\] \[PAY-GD-001\] aws_guardduty_detector_feature\.\S+: "
        r"RUNTIME_MONITORING declares additional_configuration none but GuardDuty returns",
        id="GD-001",
    ),
    pytest.param(
        _key_administrators_create_star,
        "payment-dev-security",
        r"\[payment-dev-security\] \[PAY-KMS-003\] aws_kms_key\.\S+: statement "
        r"'KeyAdministrators' allows kms:CreateGrant",
        id="KMS-003",
    ),
    pytest.param(
        _service_waits_for_steady_state,
        "payment-dev-services",
        r"\[payment-dev-services\] \[PAY-ECS-001\] aws_ecs_service\.\S+: uses the CODE_DEPLOY "
        r"controller but sets wait_for_steady_state\. Fix: remove wait_for_steady_state",
        id="ECS-001-wait-for-steady-state",
    ),
    pytest.param(
        _deployment_events_stream_creation_bound_to_the_rule,
        "payment-dev-services",
        r"\[PAY-LOG-003\] aws_cloudwatch_log_resource_policy\.\S+: statement "
        r"'OnlyThisRuleWritesEvents' allows events\.amazonaws\.com logs:CreateLogStream only "
        r"with aws:SourceArn",
        id="LOG-003",
    ),
    pytest.param(
        _unlocked_state,
        "payment-dev-network",
        r"\[payment-dev-network\] \[PAY-TF-001\] terraform\.backend\.s3: use_lockfile is "
        r"False, not true",
        id="TF-001",
    ),
]


@pytest.mark.parametrize("override, failing_stack, message", CASES)
def test_override_reintroducing_a_gap_fails_app_synthesis(
    tmp_path, environments, override, failing_stack, message
):
    with pytest.raises(Exception, match=message):
        synthesize([environments["dev"]], tmp_path, prepare=override)
    assert not (tmp_path / "stacks" / failing_stack / "cdk.tf.json").exists()
    assert not (tmp_path / "manifest.json").exists()


CLI_SCRIPT = textwrap.dedent("""
    import sys
    import main
    import stacks.app
    from config import load_environments

    build = stacks.app.build

    def build_with_override(app, environments, defined=None):
        built = build(app, environments, defined)
        built["dev"].services.add_override("terraform.backend.s3.encrypt", False)
        return built

    stacks.app.build = build_with_override
    sys.exit(main.synthesize(load_environments(["dev"])))
""")


@pytest.fixture(scope="session")
def _cli_like_process(tmp_path_factory):
    """main.synthesize in its own process, environment as the cdktf CLI sets
    it; started when the module starts, in the background (conftest.py), and
    read by the one test that needs it, which runs after the others."""
    outdir = tmp_path_factory.mktemp("cli-like-out")
    env = {
        **os.environ,
        "CDKTF_OUTDIR": str(outdir),
        "CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS": "true",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", CLI_SCRIPT],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process, outdir
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture(scope="module", autouse=True)
def _start_cli_like_synthesis(_cli_like_process):
    return _cli_like_process


@pytest.fixture
def cli_like_synthesis(_cli_like_process):
    return _cli_like_process


def test_cli_environment_does_not_let_a_violation_through(cli_like_synthesis):
    process, outdir = cli_like_synthesis
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 1, stderr
    assert (
        "[payment-dev-services] [PAY-TF-001] terraform.backend.s3: encrypt is False, not true"
    ) in stderr
    assert not (outdir / "stacks" / "payment-dev-services" / "cdk.tf.json").exists()
    assert not (outdir / "manifest.json").exists()
