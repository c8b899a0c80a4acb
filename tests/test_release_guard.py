"""The release check's function (D55) offline: both entry points with
botocore Stubber, its EventBridge patterns against the CloudTrail samples
(tests/fixtures/events), and what the services stack builds.

AWS facts encoded here:
- a CodeDeploy ECS hook receives ``DeploymentId`` and
  ``LifecycleEventHookExecutionId`` and answers with
  PutLifecycleEventHookExecutionStatus (CodeDeploy user guide, "AppSpec
  'hooks' section", https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html);
- GetDeployment returns the AppSpec revision without its content: the
  content comes from GetApplicationRevision (CodeDeploy API reference,
  GetDeployment, https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_GetDeployment.html);
- CodeDeploy's Limited role invokes only ``CodeDeployHook_*`` functions
  (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSCodeDeployRoleForECSLimited.html).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import botocore.session
import pytest
from botocore.stub import Stubber

from config.naming import (
    alarm_topic_name,
    codedeploy_application_name,
    deployment_group_name,
    release_guard_function_name,
    release_guard_name,
    task_family,
)
from modules.release_guard import release_guard_patterns
from release_guard.handler import Guard, dispatch, settings
from tests.event_pattern import check, matches
from tests.release_guard_helpers import DIGEST, OTHER_DIGEST, running
from tests.services_helpers import find, path_of, ref, statements
from verify.iam_eval import allowed

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "events"
ACCOUNT = "111122223333"
REGION = "us-west-2"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:payment-prod-alarms"
FUNCTION = "CodeDeployHook_payment-prod-release-guard"
GROUP = "payment-prod-api"
APPLICATION = "payment-prod"
FAMILY = "payment-prod-api"
SERVICES = {
    GROUP: {"cluster": "payment-prod", "service": "api", "family": FAMILY, "container": "app"}
}
CONFIG = {
    "services": SERVICES,
    "topic_arn": TOPIC,
    "deploy_role": "payment-prod-deploy",
    "allowed_environment": [],
    "function_name": FUNCTION,
}
DEPLOY_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/payment-prod-deploy/GitHubActions"
RELEASE_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/payment-prod-release/release"


def sample(name: str) -> dict:
    return copy.deepcopy(json.loads((FIXTURES / name).read_text())["event"])


def revision(number: int, *, by: str = RELEASE_SESSION, **task_changes) -> dict:
    td = running()
    td["family"] = FAMILY
    td["revision"] = number
    td["taskDefinitionArn"] = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{FAMILY}:{number}"
    td["registeredBy"] = by
    digest = DIGEST if number == 7 else OTHER_DIGEST
    app = td["containerDefinitions"][0]
    app["image"] = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/payment-prod/api@{digest}"
    td.update(task_changes)
    return td


def appspec(task_definition_arn: str, hooks: list[dict] | None = None) -> str:
    spec: dict = {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": task_definition_arn,
                        "LoadBalancerInfo": {"ContainerName": "app", "ContainerPort": 8080},
                    },
                }
            }
        ],
    }
    if hooks is not None:
        spec["Hooks"] = hooks
    return json.dumps(spec)


class Aws:
    """Stubbed clients; every expected call is queued in order."""

    def __init__(self):
        session = botocore.session.get_session()
        self.clients = {
            name: session.create_client(
                name, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
            )
            for name in ("codedeploy", "ecs", "sns")
        }
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}
        for stub in self.stubs.values():
            stub.activate()

    def guard(self, **config) -> Guard:
        return Guard(self.clients.__getitem__, {**CONFIG, **config})

    def verify(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()

    def deployment(self, deployment_id: str, *, creator: str = "user") -> None:
        revision_location = {
            "revisionType": "AppSpecContent",
            "appSpecContent": {"sha256": "0" * 64},
        }
        self.stubs["codedeploy"].add_response(
            "get_deployment",
            {
                "deploymentInfo": {
                    "deploymentId": deployment_id,
                    "applicationName": APPLICATION,
                    "deploymentGroupName": GROUP,
                    "creator": creator,
                    "revision": revision_location,
                }
            },
            {"deploymentId": deployment_id},
        )

    def revision_content(self, content: str) -> None:
        self.stubs["codedeploy"].add_response(
            "get_application_revision",
            {
                "applicationName": APPLICATION,
                "revision": {
                    "revisionType": "AppSpecContent",
                    "appSpecContent": {"content": content, "sha256": "0" * 64},
                },
            },
            {
                "applicationName": APPLICATION,
                "revision": {
                    "revisionType": "AppSpecContent",
                    "appSpecContent": {"sha256": "0" * 64},
                },
            },
        )

    def service_runs(self, td: dict) -> None:
        self.stubs["ecs"].add_response(
            "describe_services",
            {
                "services": [
                    {
                        "serviceName": "api",
                        "taskDefinition": td["taskDefinitionArn"],
                        "loadBalancers": [{"containerName": "app", "containerPort": 8080}],
                    }
                ]
            },
            {"cluster": "payment-prod", "services": ["api"]},
        )

    def described(self, td: dict, asked: str | None = None) -> None:
        self.stubs["ecs"].add_response(
            "describe_task_definition",
            {"taskDefinition": td},
            {"taskDefinition": asked or td["taskDefinitionArn"]},
        )

    def answered(self, deployment_id: str, status: str) -> None:
        self.stubs["codedeploy"].add_response(
            "put_lifecycle_event_hook_execution_status",
            {"lifecycleEventHookExecutionId": "exec-1"},
            {
                "deploymentId": deployment_id,
                "lifecycleEventHookExecutionId": "exec-1",
                "status": status,
            },
        )

    def alerted(self) -> None:
        from botocore.stub import ANY

        self.stubs["sns"].add_response(
            "publish", {"MessageId": "m-1"}, {"TopicArn": TOPIC, "Subject": ANY, "Message": ANY}
        )


def hook_event(deployment_id: str = "d-HOOK") -> dict:
    return {"DeploymentId": deployment_id, "LifecycleEventHookExecutionId": "exec-1"}


# -- the hook --------------------------------------------------------------------


@pytest.mark.aws_replay  # botocore Stubber replay of the hook (D79)
def test_the_hook_passes_a_new_image():
    aws = Aws()
    new = revision(8)
    aws.deployment("d-HOOK")
    aws.revision_content(appspec(new["taskDefinitionArn"]))
    aws.service_runs(revision(7))
    aws.described(revision(7))
    aws.described(new)
    aws.answered("d-HOOK", "Succeeded")
    result = dispatch(hook_event(), aws.guard())
    assert result == {"status": "Succeeded", "problems": []}
    aws.verify()  # no alert


@pytest.mark.aws_replay  # botocore Stubber replay of the hook (D79)
def test_the_hook_fails_a_new_task_role_and_alerts():
    aws = Aws()
    new = revision(8, taskRoleArn=f"arn:aws:iam::{ACCOUNT}:role/payment-prod-admin")
    aws.deployment("d-HOOK")
    aws.revision_content(appspec(new["taskDefinitionArn"]))
    aws.service_runs(revision(7))
    aws.described(revision(7))
    aws.described(new)
    aws.answered("d-HOOK", "Failed")
    aws.alerted()
    result = dispatch(hook_event(), aws.guard())
    assert result["status"] == "Failed"
    assert result["problems"][0].startswith("task role changed")
    aws.verify()


@pytest.mark.aws_replay  # botocore Stubber replay of the hook (D79)
def test_the_hook_passes_terraforms_newer_revision_with_a_new_image():
    """Terraform's change (cpu here) ships with the next release: the
    revision the deploy role registered after the running one is a reference
    too; one registered by anyone else is not."""
    aws = Aws()
    terraform = revision(8, by=DEPLOY_SESSION, cpu="1024")
    new = revision(9, cpu="1024")
    aws.deployment("d-HOOK")
    aws.revision_content(appspec(new["taskDefinitionArn"]))
    aws.service_runs(revision(7))
    aws.described(revision(7))
    aws.described(new)
    aws.described(terraform, f"{FAMILY}:8")
    aws.answered("d-HOOK", "Succeeded")
    assert dispatch(hook_event(), aws.guard())["status"] == "Succeeded"
    aws.verify()

    aws = Aws()
    aws.deployment("d-HOOK")
    aws.revision_content(appspec(new["taskDefinitionArn"]))
    aws.service_runs(revision(7))
    aws.described(revision(7))
    aws.described(new)
    aws.described(revision(8, cpu="1024"), f"{FAMILY}:8")  # the release role's
    aws.answered("d-HOOK", "Failed")
    aws.alerted()
    result = dispatch(hook_event(), aws.guard())
    assert result["problems"] == ["task cpu changed: '512' -> '1024'"]
    aws.verify()


@pytest.mark.aws_replay  # botocore Stubber replay of the hook (D79)
def test_the_hook_passes_a_rollback_unread():
    aws = Aws()
    aws.deployment("d-HOOK", creator="codeDeployRollback")
    aws.answered("d-HOOK", "Succeeded")
    assert dispatch(hook_event(), aws.guard())["status"] == "Succeeded"
    aws.verify()


@pytest.mark.aws_replay  # botocore Stubber replay of the hook (D79)
def test_the_hook_fails_another_environments_group():
    aws = Aws()
    aws.deployment("d-HOOK")
    aws.answered("d-HOOK", "Failed")
    aws.alerted()
    result = dispatch(hook_event(), aws.guard(services={}))
    assert result["problems"] == [f"deployment group {GROUP!r} is not one of this environment's"]
    aws.verify()


@pytest.mark.aws_replay  # botocore Stubber replay of the hook (D79)
def test_the_hook_fails_what_it_cannot_read():
    aws = Aws()
    aws.deployment("d-HOOK")
    aws.stubs["codedeploy"].add_client_error(
        "get_application_revision", "AccessDeniedException", "denied"
    )
    aws.answered("d-HOOK", "Failed")
    aws.alerted()
    result = dispatch(hook_event(), aws.guard())
    assert result["problems"][0].startswith("could not check: ClientError")
    aws.verify()


# -- CloudTrail: CreateDeployment -----------------------------------------------


@pytest.mark.aws_replay  # botocore Stubber replay of the hook (D79)
def test_a_deployment_without_the_hook_is_stopped_and_alerted():
    event = sample("codedeploy-create-deployment.json")
    detail = event["detail"]
    deployment_id = detail["responseElements"]["deploymentId"]
    new_arn = task_arn_in(detail)
    aws = Aws()
    aws.deployment(deployment_id)
    aws.revision_content(detail["requestParameters"]["revision"]["appSpecContent"]["content"])
    aws.service_runs(revision(7))
    aws.described(revision(7))
    aws.described(revision(8) | {"taskDefinitionArn": new_arn})
    aws.stubs["codedeploy"].add_response(
        "stop_deployment",
        {"status": "Pending"},
        {"deploymentId": deployment_id, "autoRollbackEnabled": True},
    )
    aws.alerted()
    result = dispatch(event, aws.guard())
    assert result["action"] == "stopped"
    assert result["problems"] == [f"the AppSpec runs no {FUNCTION} on BeforeInstall (no hook)"]
    aws.verify()


@pytest.mark.aws_replay  # botocore Stubber replay of the hook (D79)
def test_a_deployment_that_runs_the_hook_is_left_to_it():
    event = sample("codedeploy-create-deployment.json")
    deployment_id = event["detail"]["responseElements"]["deploymentId"]
    aws = Aws()
    aws.deployment(deployment_id)
    aws.revision_content(appspec(task_arn_in(event["detail"]), hooks=[{"BeforeInstall": FUNCTION}]))
    assert dispatch(event, aws.guard()) == {"action": "none", "reason": "the hook runs"}
    aws.verify()


@pytest.mark.aws_replay  # botocore Stubber replay of the hook (D79)
def test_another_hook_on_before_install_is_a_bypass():
    event = sample("codedeploy-create-deployment.json")
    deployment_id = event["detail"]["responseElements"]["deploymentId"]
    aws = Aws()
    aws.deployment(deployment_id)
    aws.revision_content(
        appspec(task_arn_in(event["detail"]), hooks=[{"BeforeInstall": "CodeDeployHook_yes"}])
    )
    aws.service_runs(revision(7))
    aws.stubs["ecs"].add_client_error("describe_task_definition", "ClientException", "gone")
    aws.stubs["codedeploy"].add_client_error(
        "stop_deployment", "DeploymentAlreadyCompletedException"
    )
    aws.alerted()
    result = dispatch(event, aws.guard())
    assert result["action"] == "stop failed"
    assert "CodeDeployHook_yes" in result["problems"][0]
    aws.verify()


@pytest.mark.aws_replay  # botocore Stubber replay of the hook (D79)
def test_a_rollback_is_never_stopped():
    event = sample("codedeploy-create-deployment.json")
    aws = Aws()
    aws.deployment(
        event["detail"]["responseElements"]["deploymentId"], creator="codeDeployRollback"
    )
    assert dispatch(event, aws.guard())["action"] == "none"
    aws.verify()


def task_arn_in(detail: dict) -> str:
    content = json.loads(detail["requestParameters"]["revision"]["appSpecContent"]["content"])
    return content["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"]


# -- CloudTrail: RegisterTaskDefinition ------------------------------------------


@pytest.mark.aws_replay  # botocore Stubber replay of the hook (D79)
def test_a_registration_the_check_refuses_is_alerted():
    event = sample("ecs-register-task-definition.json")
    registered = event["detail"]["responseElements"]["taskDefinition"]
    aws = Aws()
    aws.service_runs(revision(7))
    aws.described(revision(7))
    root = revision(8)
    root["containerDefinitions"][0]["user"] = "0"
    aws.described(root, registered["taskDefinitionArn"])
    aws.alerted()
    result = dispatch(event, aws.guard())
    assert result["action"] == "alerted"
    assert result["problems"] == [
        "container app: runs as root (user '0'; set a non-root user)",
        "container app: user changed: '1000:1000' -> '0'",
    ]
    aws.verify()


@pytest.mark.aws_replay  # botocore Stubber replay of the hook (D79)
def test_a_registration_the_check_passes_is_quiet():
    event = sample("ecs-register-task-definition.json")
    aws = Aws()
    aws.service_runs(revision(7))
    aws.described(revision(7))
    aws.described(revision(8))
    assert dispatch(event, aws.guard())["action"] == "none"
    aws.verify()


@pytest.mark.aws_replay  # botocore Stubber replay of the hook (D79)
def test_terraforms_registrations_are_not_read():
    event = sample("ecs-register-task-definition.json")
    issuer = event["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]
    issuer["arn"] = f"arn:aws:iam::{ACCOUNT}:role/payment-prod-deploy"
    aws = Aws()
    assert dispatch(event, aws.guard())["reason"].startswith("registered by the deploy role")
    aws.verify()


@pytest.mark.aws_replay  # botocore Stubber replay of the hook (D79)
def test_other_events_are_refused():
    with pytest.raises(ValueError, match="not an event"):
        dispatch(sample("codedeploy-deployment-state-change.json"), Aws().guard())


def test_settings_read_the_constructs_variables():
    config = settings(
        {
            "RELEASE_GUARD_SERVICES": json.dumps(SERVICES),
            "RELEASE_GUARD_TOPIC_ARN": TOPIC,
            "RELEASE_GUARD_DEPLOY_ROLE": "payment-prod-deploy",
            "RELEASE_GUARD_ALLOWED_ENVIRONMENT": "RELEASE,BUILD",
            "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
        }
    )
    assert config == {**CONFIG, "allowed_environment": ["RELEASE", "BUILD"]}


# -- the patterns ----------------------------------------------------------------


def test_the_patterns_take_their_own_call_of_this_environment_only():
    patterns = release_guard_patterns(APPLICATION, "payment-prod-")
    for pattern in patterns.values():
        check(pattern)
    deployment = sample("codedeploy-create-deployment.json")
    registration = sample("ecs-register-task-definition.json")
    assert matches(patterns["create-deployment"], deployment)
    assert not matches(patterns["register-task-definition"], deployment)
    assert matches(patterns["register-task-definition"], registration)
    assert not matches(patterns["create-deployment"], registration)
    other = copy.deepcopy(deployment)
    other["detail"]["requestParameters"]["applicationName"] = "payment-dev"
    assert not matches(patterns["create-deployment"], other)
    other = copy.deepcopy(registration)
    other["detail"]["requestParameters"]["family"] = "payment-dev-api"
    assert not matches(patterns["register-task-definition"], other)
    read = copy.deepcopy(deployment)
    read["detail"]["eventName"] = "GetDeployment"
    assert not matches(patterns["create-deployment"], read)


# -- what the services stack builds ----------------------------------------------


def _guard(svc_stack, resource_type: str, suffix: str) -> tuple[str, dict]:
    return find(svc_stack, resource_type, f"release-guard/{suffix}")


def test_the_function_is_a_codedeploy_hook_packaged_from_the_repository(svc_stack, env):
    _, function = _guard(svc_stack, "aws_lambda_function", "function")
    assert function["function_name"] == release_guard_function_name(env)
    assert function["function_name"].startswith("CodeDeployHook_")
    assert function["handler"] == "handler.handler"
    assert function["filename"].startswith("assets/") and function["filename"].endswith(".zip")
    assert function["tracing_config"] == {"mode": "Active"}
    topic_key, _ = find(svc_stack, "aws_sns_topic", "alarm-topic/topic")
    assert function["dead_letter_config"]["target_arn"] == ref("aws_sns_topic", topic_key, "arn")
    variables = function["environment"]["variables"]
    services = json.loads(variables["RELEASE_GUARD_SERVICES"])
    assert set(services) == {deployment_group_name(env, s) for s in env.services}
    assert {s["family"] for s in services.values()} == {task_family(env, s) for s in env.services}
    assert variables["RELEASE_GUARD_DEPLOY_ROLE"] == env.deploy_role


def test_the_archive_holds_the_handler_alone(svc_stack, synth_outdir):
    import zipfile

    _, function = _guard(svc_stack, "aws_lambda_function", "function")
    archive = synth_outdir[0] / "stacks" / svc_stack.name / function["filename"]
    names = zipfile.ZipFile(archive).namelist()
    assert sorted(names) == ["__init__.py", "handler.py"]


def test_its_log_group_is_encrypted_and_kept(svc_stack, env):
    _, group = _guard(svc_stack, "aws_cloudwatch_log_group", "log-group")
    assert group["name"] == f"/aws/lambda/{release_guard_function_name(env)}"
    assert group["retention_in_days"] == env.log_retention_days
    assert group["kms_key_id"]


def test_its_role_is_bounded_and_least_privilege(svc_stack, env):
    _, role = _guard(svc_stack, "aws_iam_role", "role")
    assert role["name"] == release_guard_name(env)
    assert role["permissions_boundary"].endswith(f":policy/{env.prefix}-workload-boundary")
    _, policy = _guard(svc_stack, "aws_iam_role_policy", "policy")
    granted = statements(policy)
    app_key, _ = find(svc_stack, "aws_codedeploy_app", "codedeploy/application")
    application = ref("aws_codedeploy_app", app_key, "name")
    groups = {s["Sid"]: s for s in granted}["ReadAndAnswerDeployments"]["Resource"]
    assert sorted(g.rsplit(":deploymentgroup:", 1)[1] for g in groups) == sorted(
        f"{application}/{deployment_group_name(env, s)}" for s in env.services
    )
    assert allowed(granted, "codedeploy:StopDeployment", groups[0])
    assert not allowed(granted, "codedeploy:CreateDeployment", groups[0])
    assert not allowed(granted, "ecs:RegisterTaskDefinition", "*")
    assert not allowed(granted, "ecs:UpdateService", "*")
    assert not allowed(granted, "iam:PassRole", "*")
    topic = {s["Sid"]: s for s in granted}["AlertTheAlarmTopic"]["Resource"]
    topic_key, _ = find(svc_stack, "aws_sns_topic", "alarm-topic/topic")
    assert topic == ref("aws_sns_topic", topic_key, "arn")


def test_the_rules_invoke_the_function_and_only_they_may(svc_stack, env):
    fn_key, _ = _guard(svc_stack, "aws_lambda_function", "function")
    app_key, _ = find(svc_stack, "aws_codedeploy_app", "codedeploy/application")
    expected = release_guard_patterns(codedeploy_application_name(env), f"{env.prefix}-")
    for suffix, pattern in expected.items():
        rule_key, rule = _guard(svc_stack, "aws_cloudwatch_event_rule", f"rule-{suffix}")
        synthesized = json.loads(rule["event_pattern"])
        if suffix == "create-deployment":
            assert synthesized["detail"]["requestParameters"]["applicationName"] == [
                ref("aws_codedeploy_app", app_key, "name")
            ]
            synthesized["detail"]["requestParameters"]["applicationName"] = [
                codedeploy_application_name(env)
            ]
        assert synthesized == pattern
        _, target = _guard(svc_stack, "aws_cloudwatch_event_target", f"target-{suffix}")
        assert target["arn"] == ref("aws_lambda_function", fn_key, "arn")
        _, permission = _guard(svc_stack, "aws_lambda_permission", f"permission-{suffix}")
        assert permission["principal"] == "events.amazonaws.com"
        assert permission["source_arn"] == ref("aws_cloudwatch_event_rule", rule_key, "arn")
    function_name = ref("aws_lambda_function", fn_key, "function_name")
    permissions = [
        p
        for p in svc_stack.resources("aws_lambda_permission").values()
        if p["function_name"] == function_name
    ]
    assert len(permissions) == len(expected)
    assert all("release-guard/" in path_of(p) for p in permissions)


def test_the_logs_key_lets_only_its_role_encrypt_for_the_alarm_topic(stacks, env):
    from tests.conftest import stack

    security = stack(stacks, env.name, "security")
    keys = security.resources("aws_kms_key")
    (logs,) = [k for k in keys.values() if "logs" in path_of(k)]
    policy = json.loads(logs["policy"])["Statement"]
    (statement,) = [s for s in policy if s.get("Sid") == "ReleaseGuardPublishesToAlarmTopic"]
    assert statement["Condition"]["ArnEquals"]["aws:PrincipalArn"].endswith(
        f":role/{release_guard_name(env)}"
    )
    assert statement["Condition"]["StringEquals"][
        "kms:EncryptionContext:aws:sns:topicArn"
    ].endswith(f":{alarm_topic_name(env)}")
    assert (
        statement["Condition"]["StringEquals"]["kms:ViaService"]
        == f"sns.{env.region}.amazonaws.com"
    )
