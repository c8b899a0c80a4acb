"""Release tool against moto (ECS, ECR, EC2) and a stubbed CodeDeploy client.

Each test builds the dev payment-api service of the example configuration
(tests/fixtures/example.py) in moto with the names of config/naming.py (its
VPC, task subnets and security groups included), so the tool is exercised
with the names it uses for real; the tool reads the example too.
CodeDeploy is a botocore Stubber (moto's CodeDeploy is partial): the stub
checks every request against the AWS API model and fails the test when a
call is made that was not expected, or an expected one is missing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import types
from datetime import UTC, datetime

import boto3
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import ANY, Stubber
from moto import mock_aws

from config.model import (
    ECS_DEPLOYMENT_CONFIGS,
    MAX_SCAN_WAIT_MINUTES,
    RELEASE_SESSION_MINUTES,
    shift_minutes,
    validate_environment,
)
from config.naming import TRACING_CONTAINER, release_guard_function_name
from release.appspec import READ_ONLY_TASK_DEFINITION_FIELDS, ImageRef, new_task_definition_request
from release.checks import ACTIVE_DEPLOYMENT_STATUSES, task_set_problem
from release.deploy import (
    AwsClients,
    ReleaseOptions,
    Releaser,
    default_timeout_minutes,
    release_marker,
)
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
from tests.release_example import example_environment, use_the_example

REGION = "eu-west-1"
MOTO_ACCOUNT = "123456789012"
TAG = "v1.4.2"
PLATFORM_VERSION = "1.4.0"
MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


#: Credentials and region of every test that reaches moto.
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    # moto's EC2 otherwise creates ~5,000 images per region and reset (~0.3 s a test).
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}


def _fake_aws(mp: pytest.MonkeyPatch) -> None:
    for key, value in FAKE_AWS_ENV.items():
        mp.setenv(key, value)
    mp.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def fake_aws_env(monkeypatch):
    _fake_aws(monkeypatch)


@pytest.fixture(autouse=True)
def release_reads_the_example(monkeypatch):
    """The tests name the example's values; the tool loads the same configuration."""
    use_the_example(monkeypatch)


@pytest.fixture(scope="module")
def dev():
    return example_environment("dev")


def scan_answer(status: str, description: str = "", **counts: int) -> dict:
    """A DescribeImageScanFindings answer (ECR API reference): the scan's
    status and, when complete, its findingSeverityCounts."""
    answer: dict = {"imageScanStatus": {"status": status}}
    if description:
        answer["imageScanStatus"]["description"] = description
    if status in ("COMPLETE", "ACTIVE"):
        answer["imageScanFindings"] = {"findingSeverityCounts": counts}
    return answer


SCAN_NOT_FOUND = {
    "Error": {"Code": "ScanNotFoundException", "Message": "Image scan does not exist"}
}


def role_session(env, role: str, account: str = MOTO_ACCOUNT) -> str:
    """registeredBy of a revision registered by the env's deploy/release role."""
    return f"arn:aws:sts::{account}:assumed-role/{env.prefix}-{role}/session"


class FakeClock:
    """time.monotonic + time.sleep that only advance when the tool sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


#: Parsed botocore service models, shared by every test's fresh session
#: (parsing them again per test cost ~0.5 s a test).
_MODEL_LOADER = botocore.session.get_session().get_component("data_loader")


def _botocore_session() -> botocore.session.Session:
    """A new botocore session that reuses the already parsed service models."""
    core = botocore.session.Session()
    core.register_component("data_loader", _MODEL_LOADER)
    return core


def _session() -> boto3.session.Session:
    """A new session that reuses the already parsed service models."""
    return boto3.session.Session(botocore_session=_botocore_session(), region_name=REGION)


class World:
    """Moto ECS/ECR with the service deployed, plus stubbed CodeDeploy/Lambda.

    Built inside a fresh mock_aws on the module's shared clients; ``close``
    takes its request recorder off them again."""

    def __init__(self, target, clients: types.SimpleNamespace):
        self.target = target
        self.ecs, self.ecr, self.sts, self.ec2 = clients.ecs, clients.ecr, clients.sts, clients.ec2
        self.codedeploy, self.lambda_ = clients.codedeploy, clients.lambda_
        self.cloudwatch = clients.cloudwatch
        self.cd_stub = Stubber(self.codedeploy)
        self.lambda_stub = Stubber(self.lambda_)
        self.sent: dict[str, list[dict]] = {}
        self.calls: list[str] = []
        # Records every request as sent, in order, with its parameters.
        #: ECR scan answers per digest, in order (the last one repeats):
        #: DescribeImageScanFindings is played by ``_scan`` behind the real
        #: client (moto scans nothing on push).
        self.scans: dict[str, list[dict]] = {}
        #: registeredBy per revision number (moto does not set it).
        self.registered_by: dict[int, str] = {}
        for client in self._all_clients():
            client.meta.events.register("provide-client-params.*.*", self._record)
        self.ecr.meta.events.register("before-call.ecr.DescribeImageScanFindings", self._scan)
        self.ecs.meta.events.register(
            "after-call.ecs.DescribeTaskDefinition", self._add_registered_by
        )
        try:
            self._deploy_service()
        except BaseException:
            self.close()
            raise

    def _all_clients(self) -> tuple:
        return (self.ecs, self.ecr, self.codedeploy, self.lambda_, self.sts, self.ec2)

    def close(self) -> None:
        for client in self._all_clients():
            client.meta.events.unregister("provide-client-params.*.*", self._record)
        self.ecr.meta.events.unregister("before-call.ecr.DescribeImageScanFindings", self._scan)
        self.ecs.meta.events.unregister(
            "after-call.ecs.DescribeTaskDefinition", self._add_registered_by
        )

    # --- fakes behind the real botocore clients ------------------------------
    def scan(self, digest: str, *answers: dict) -> None:
        """Script ECR's scan answers for ``digest`` (see ``scan_answer``)."""
        self.scans[digest] = list(answers)

    def _scan(self, params, **_kwargs):
        request = json.loads(params["body"])  # the request as serialized for the wire
        digest = request["imageId"].get("imageDigest")
        answers = self.scans.get(digest) or [scan_answer("COMPLETE")]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if "Error" in answer:
            return AWSResponse(None, 400, {}, None), {
                **answer,
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
        return AWSResponse(None, 200, {}, None), {
            "repositoryName": request["repositoryName"],
            "imageId": {"imageDigest": digest},
            **answer,
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    def _add_registered_by(self, parsed, **_kwargs):
        td = parsed.get("taskDefinition") or {}
        td["registeredBy"] = self.registered_by.get(
            int(td.get("revision") or 0), role_session(self.target.environment, "release")
        )

    def _deploy_service(self) -> None:
        target = self.target
        self.clock = FakeClock()
        self.out = io.StringIO()
        repo = self.ecr.create_repository(
            repositoryName=target.ecr_repository_name,
            imageTagMutability="IMMUTABLE",
            imageScanningConfiguration={"scanOnPush": True},
        )
        self.repo_url = repo["repository"]["repositoryUri"]
        self.digest = self.push(TAG)
        self.network = self._build_network()
        self.ecs.create_cluster(clusterName=target.cluster)
        registered = self.ecs.register_task_definition(**self.task_definition())
        self.first_arn = registered["taskDefinition"]["taskDefinitionArn"]
        self.ecs.create_service(
            cluster=target.cluster,
            serviceName=target.ecs_service,
            taskDefinition=self.first_arn,
            desiredCount=1,
            deploymentController={"type": "CODE_DEPLOY"},
            capacityProviderStrategy=[i.ecs() for i in target.capacity_provider_strategy],
            platformVersion=PLATFORM_VERSION,
            networkConfiguration={"awsvpcConfiguration": self.awsvpc(self.network)},
        )
        # ECS gives a CODE_DEPLOY service its PRIMARY task set at creation;
        # moto does not, so the world adds it.
        self.primary_task_set = self.add_task_set(self.first_arn)
        self.ecs.update_service_primary_task_set(
            cluster=target.cluster,
            service=target.ecs_service,
            primaryTaskSet=self.primary_task_set,
        )

    def add_task_set(self, task_definition: str) -> str:
        """A task set of the service (a deployment's blue or green one); its ARN."""
        return self.ecs.create_task_set(
            cluster=self.target.cluster,
            service=self.target.ecs_service,
            taskDefinition=task_definition,
        )["taskSet"]["taskSetArn"]

    def _build_network(self) -> NetworkConfiguration:
        """What the network and services stacks create, named as config/naming.py
        says; returns the network configuration the lookup must find."""
        lookup = self.target.network_lookup
        vpc_id = self.create_vpc(lookup.vpc_name)
        # Created out of AZ order: the lookup orders them by AZ.
        subnets = {
            az: self.create_subnet(vpc_id, f"10.0.{i}.0/24", az, lookup.subnet_tier)
            for i, az in enumerate(("c", "a", "b"))
        }
        # Public and isolated subnets of the same VPC are not task subnets.
        self.create_subnet(vpc_id, "10.0.100.0/24", "a", "public")
        self.create_subnet(vpc_id, "10.0.200.0/24", "a", "isolated")
        groups = tuple(
            self.ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc_id)[
                "GroupId"
            ]
            for name in lookup.security_group_names
        )
        # The same group names in another VPC: the lookup stays in its own.
        other_vpc = self.create_vpc("payment-other")
        for name in lookup.security_group_names:
            self.ec2.create_security_group(GroupName=name, Description=name, VpcId=other_vpc)
        self.vpc_id = vpc_id
        return NetworkConfiguration(
            subnets=tuple(subnets[az] for az in "abc"),
            security_groups=groups,
            assign_public_ip="DISABLED",
        )

    def create_vpc(self, name: str | None, cidr: str = "10.0.0.0/16") -> str:
        tags = [{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": name}]}] if name else []
        return self.ec2.create_vpc(CidrBlock=cidr, TagSpecifications=tags)["Vpc"]["VpcId"]

    def create_subnet(self, vpc_id: str, cidr: str, az: str, tier: str) -> str:
        return self.ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=cidr,
            AvailabilityZone=f"{REGION}{az}",
            TagSpecifications=[
                {"ResourceType": "subnet", "Tags": [{"Key": "tier", "Value": tier}]}
            ],
        )["Subnet"]["SubnetId"]

    @staticmethod
    def awsvpc(network: NetworkConfiguration) -> dict:
        """The ECS API spelling, as describe_services returns it."""
        return {
            "subnets": list(network.subnets),
            "securityGroups": list(network.security_groups),
            "assignPublicIp": network.assign_public_ip,
        }

    def set_live_service(self, *, network: NetworkConfiguration, platform_version: str) -> None:
        """What the service runs, e.g. from before Terraform changed its network.
        (AWS refuses this UpdateService on a CODE_DEPLOY service; moto is only
        the test's way to set the live state.)"""
        self.ecs.update_service(
            cluster=self.target.cluster,
            service=self.target.ecs_service,
            networkConfiguration={"awsvpcConfiguration": self.awsvpc(network)},
            platformVersion=platform_version,
        )

    def _record(self, params, model, **_kwargs):
        self.sent.setdefault(model.name, []).append(params)
        self.calls.append(f"{model.service_model.service_name}.{model.name}")

    def push(self, tag: str, layer: str = "") -> str:
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST_MEDIA_TYPE,
                "config": {},
                "layers": [],
                "tag": tag + layer,
            }
        )
        pushed = self.ecr.put_image(
            repositoryName=self.target.ecr_repository_name, imageManifest=manifest, imageTag=tag
        )
        return pushed["image"]["imageId"]["imageDigest"]

    def task_definition(self) -> dict:
        t = self.target
        return {
            "family": t.task_family,
            "taskRoleArn": f"arn:aws:iam::{MOTO_ACCOUNT}:role/{t.task_family}-task",
            "executionRoleArn": f"arn:aws:iam::{MOTO_ACCOUNT}:role/{t.task_family}-execution",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "512",
            "memory": "1024",
            "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
            "containerDefinitions": [
                {
                    "name": t.container_name,
                    "image": f"{self.repo_url}:bootstrap",
                    "essential": True,
                    "readonlyRootFilesystem": True,
                    "portMappings": [{"containerPort": t.container_port, "protocol": "tcp"}],
                    "environment": [{"name": "ENVIRONMENT", "value": "dev"}],
                    "secrets": [
                        {
                            "name": "API_KEYS",
                            "valueFrom": f"arn:aws:secretsmanager:{REGION}:{MOTO_ACCOUNT}:secret:x",
                        }
                    ],
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": f"/ecs/{t.task_family}",
                            "awslogs-region": REGION,
                            "awslogs-stream-prefix": "app",
                        },
                    },
                    "dependsOn": [{"containerName": TRACING_CONTAINER, "condition": "START"}],
                },
                {
                    "name": TRACING_CONTAINER,
                    "image": "public.ecr.aws/aws-observability/aws-otel-collector:v0.41.1",
                    "essential": False,
                    "portMappings": [{"containerPort": 4317, "protocol": "tcp"}],
                },
            ],
            "tags": [
                {"key": "Service", "value": t.service_name},
                {"key": "CostCenter", "value": "payments-dev"},
            ],
        }

    def clients(self):
        return types.SimpleNamespace(
            ecs=self.ecs,
            ecr=self.ecr,
            codedeploy=self.codedeploy,
            codedeploy_once=self.codedeploy,
            cloudwatch=self.cloudwatch,
            lambda_=self.lambda_,
            sts=self.sts,
            ec2=self.ec2,
        )

    def releaser(self, image: str = TAG, target=None, **options) -> Releaser:
        options.setdefault("poll_seconds", 10)
        return Releaser(
            target or self.target,
            ReleaseOptions(image=ImageRef.parse(image), **options),
            self.clients(),
            out=self.out,
            sleep=self.clock.sleep,
            clock=self.clock,
        )

    # --- CodeDeploy script -------------------------------------------------
    def expect_group(self, *, cluster=None, service=None, platform="ECS"):
        t = self.target
        self.cd_stub.add_response(
            "get_deployment_group",
            {
                "deploymentGroupInfo": {
                    "applicationName": t.codedeploy_application,
                    "deploymentGroupName": t.deployment_group,
                    "computePlatform": platform,
                    "deploymentConfigName": t.environment.deployment.config_name,
                    "ecsServices": [
                        {
                            "clusterName": cluster or t.cluster,
                            "serviceName": service or t.ecs_service,
                        }
                    ],
                }
            },
            {
                "applicationName": t.codedeploy_application,
                "deploymentGroupName": t.deployment_group,
            },
        )

    def expect_no_active(self, active=()):
        t = self.target
        self.cd_stub.add_response(
            "list_deployments",
            {"deployments": list(active)},
            {
                "applicationName": t.codedeploy_application,
                "deploymentGroupName": t.deployment_group,
                "includeOnlyStatuses": list(ACTIVE_DEPLOYMENT_STATUSES),
            },
        )

    def expect_create(self, deployment_id="d-GREEN0001"):
        t = self.target
        self.cd_stub.add_response(
            "create_deployment",
            {"deploymentId": deployment_id},
            {
                "applicationName": t.codedeploy_application,
                "deploymentGroupName": t.deployment_group,
                "revision": ANY,
                "description": ANY,
            },
        )

    def expect_info(self, status, *, deployment_id="d-GREEN0001", rollback=None, **more):
        """One GetDeployment answer (no target read)."""
        info = {
            "deploymentId": deployment_id,
            "status": status,
            "applicationName": self.target.codedeploy_application,
            **more,
        }
        if rollback:
            info["rollbackInfo"] = rollback
        self.cd_stub.add_response(
            "get_deployment", {"deploymentInfo": info}, {"deploymentId": deployment_id}
        )

    def expect_poll(
        self,
        status,
        *,
        deployment_id="d-GREEN0001",
        green=None,
        event=None,
        error=None,
        rollback=None,
    ):
        info = {
            "deploymentId": deployment_id,
            "status": status,
            "applicationName": self.target.codedeploy_application,
        }
        if error:
            info["errorInformation"] = {"code": error[0], "message": error[1]}
        if rollback:
            info["rollbackInfo"] = rollback
        self.cd_stub.add_response(
            "get_deployment", {"deploymentInfo": info}, {"deploymentId": deployment_id}
        )
        if green is None:
            self.cd_stub.add_client_error(
                "get_deployment_target", "DeploymentTargetDoesNotExistException"
            )
            return
        ecs_target = {
            "deploymentId": deployment_id,
            "targetId": self.target.deployment_target_id,
            "lastUpdatedAt": datetime(2026, 1, 1, tzinfo=UTC),
            "taskSetsInfo": [
                {
                    "taskSetLabel": "Blue",
                    "trafficWeight": 100.0 - green,
                    "runningCount": 1,
                    "desiredCount": 1,
                },
                {
                    "taskSetLabel": "Green",
                    "trafficWeight": float(green),
                    "runningCount": 1,
                    "desiredCount": 1,
                },
            ],
        }
        if event:
            ecs_target["lifecycleEvents"] = [{"lifecycleEventName": event[0], "status": event[1]}]
        self.cd_stub.add_response(
            "get_deployment_target",
            {"deploymentTarget": {"deploymentTargetType": "ECSTarget", "ecsTarget": ecs_target}},
            {"deploymentId": deployment_id, "targetId": self.target.deployment_target_id},
        )

    def expect_alarm_group(self, alarms: list[str]):
        """GetDeploymentGroup as the failure message reads it: the group's
        rollback alarms (their states are moto's CloudWatch)."""
        t = self.target
        self.cd_stub.add_response(
            "get_deployment_group",
            {
                "deploymentGroupInfo": {
                    "applicationName": t.codedeploy_application,
                    "deploymentGroupName": t.deployment_group,
                    "alarmConfiguration": {
                        "enabled": True,
                        "alarms": [{"name": a} for a in alarms],
                    },
                }
            },
            {
                "applicationName": t.codedeploy_application,
                "deploymentGroupName": t.deployment_group,
            },
        )

    def alarm(self, name: str, state: str = "OK") -> None:
        self.cloudwatch.put_metric_alarm(
            AlarmName=name,
            MetricName="HTTPCode_Target_5XX_Count",
            Namespace="AWS/ApplicationELB",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
        )
        if state != "OK":
            self.cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")

    def revisions(self) -> list[str]:
        return self.ecs.list_task_definitions(
            familyPrefix=self.target.task_family, status="ACTIVE"
        )["taskDefinitionArns"]

    def appspec_sent(self) -> dict:
        (request,) = self.sent["CreateDeployment"]
        content = request["revision"]["appSpecContent"]
        assert content["sha256"] == hashlib.sha256(content["content"].encode()).hexdigest()
        assert request["revision"]["revisionType"] == "AppSpecContent"
        return json.loads(content["content"])


@pytest.fixture(scope="module")
def aws_clients() -> types.SimpleNamespace:
    """The clients every World shares: making them was half of a World's cost
    and most of its garbage. moto intercepts any client made after it is
    imported; each test still gets a fresh mock_aws and fresh stubs."""
    with pytest.MonkeyPatch.context() as mp:
        _fake_aws(mp)  # a client reads its credentials when it is made
        session = _session()
        return types.SimpleNamespace(
            ecs=session.client("ecs"),
            ecr=session.client("ecr"),
            codedeploy=session.client("codedeploy"),
            lambda_=session.client("lambda"),
            sts=session.client("sts"),
            ec2=session.client("ec2"),
            cloudwatch=session.client("cloudwatch"),
        )


@pytest.fixture
def world(fake_aws_env, dev, aws_clients):
    with mock_aws():
        w = World(target_from_config(dev, "payment-api"), aws_clients)
        try:
            with w.cd_stub, w.lambda_stub:
                yield w
                # Every scripted CodeDeploy/Lambda call must have been made.
                w.cd_stub.assert_no_pending_responses()
                w.lambda_stub.assert_no_pending_responses()
        finally:
            w.close()


def _happy_script(w: World):
    w.expect_group()
    w.expect_no_active()
    w.expect_create()
    w.expect_poll("Created")  # target not there yet: status only
    w.expect_poll("InProgress", green=0, event=("Install", "InProgress"))
    w.expect_poll("InProgress", green=0, event=("Install", "InProgress"))  # unchanged
    w.expect_poll("InProgress", green=100, event=("AllowTraffic", "Succeeded"))
    w.expect_poll("Succeeded", green=100, event=("AllowTraffic", "Succeeded"))


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


def _comparable(td: dict, app: str) -> dict:
    """A described revision without its app image and read-only fields."""
    td = json.loads(json.dumps(td, default=str))
    for c in td["taskDefinition"]["containerDefinitions"]:
        if c["name"] == app:
            c["image"] = "<app image>"
    for key in READ_ONLY_TASK_DEFINITION_FIELDS:
        td["taskDefinition"].pop(key, None)
    td.pop("ResponseMetadata", None)
    return td


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
    # Who registered the base, and what ships besides the image, field by field.
    assert (
        f"note: basing the release on {t.task_family}:2 (latest ACTIVE revision of the "
        f"family, registered by {role_session(t.environment, 'release')}); the service runs "
        ":1. Changes that ship with this release besides the image: "
        "containerDefinitions.payment-api.environment.FEATURE_X added ('on'); "
        "cpu: '512' -> '1024'; memory: '1024' -> '2048'\n"
    ) in out
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
    assert (
        f"note: the service's network configuration differs: subnets {a}, {b} -> {a}, {b}, "
        f"{c}; security groups {legacy_group}, {mesh_group} -> {task_group}, {mesh_group}; "
        "this release applies it\n"
    ) in out
    # Said before anything is written.
    assert out.index("note: the service's network") < out.index("registered task definition")


def test_run_says_what_the_appspec_sets(world):
    _happy_script(world)
    world.releaser().run()
    a, b, c = world.network.subnets
    task_group, mesh_group = world.network.security_groups
    assert (
        f"the AppSpec sets platform version 1.4.0, subnets {a}, {b}, {c}; security groups "
        f"{task_group}, {mesh_group}; public IP DISABLED\n"
    ) in world.out.getvalue()


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


def _untag_vpc(w: World):
    w.ec2.delete_tags(Resources=[w.vpc_id], Tags=[{"Key": "Name"}])


def _second_vpc_with_the_name(w: World):
    w.create_vpc(w.target.network_lookup.vpc_name, cidr="10.9.0.0/16")


def _untag_task_subnets(w: World):
    w.ec2.delete_tags(Resources=list(w.network.subnets), Tags=[{"Key": "tier"}])


def _seventeen_task_subnets(w: World):
    for i in range(14):
        w.create_subnet(w.vpc_id, f"10.0.{10 + i}.0/24", "a", "private")


def _delete_mesh_group(w: World):
    w.ec2.delete_security_group(GroupId=w.network.security_groups[1])


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


class _PagedEc2:
    """describe_* answers in pages of one item (NextToken), as EC2 may."""

    def __init__(self, pages: dict[str, list[dict]]):
        self.pages = pages
        self.requests: list[tuple[str, dict]] = []

    def __getattr__(self, operation):
        key, items = self.pages[operation]

        def call(**params):
            self.requests.append((operation, params))
            index = int(params.get("NextToken", 0))
            page = {key: items[index : index + 1]}
            if index + 1 < len(items):
                page["NextToken"] = str(index + 1)
            return page

        return call


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


def _planned_read_only_calls(plan: list[str]) -> list[tuple[str, str]]:
    """(botocore's name, printed call without its expectation) of every
    read-only call the dry run lists: ``ecs.describe_services(...)  -> ...``
    gives ``("ecs.DescribeServices", "ecs.describe_services(...)")``."""
    start = plan.index("read-only checks (any failure stops here; nothing is changed):")
    found = []
    for line in plan[start + 1 : plan.index("changes:")]:
        if line:
            call = line.split(". ", 1)[1].split("  -> ")[0]
            client, operation = call.split("(", 1)[0].split(".")
            found.append(
                (f"{client}.{''.join(w.capitalize() for w in operation.split('_'))}", call)
            )
    return found


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


# -------------------------------------- refusals: nothing may be written
def _assert_nothing_written(w: World):
    assert w.revisions() == [w.first_arn]
    assert "CreateDeployment" not in w.sent
    assert "registered task definition" not in w.out.getvalue()


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


def _task_set_ids(w: World) -> list[str]:
    t = w.target
    (service,) = w.ecs.describe_services(cluster=t.cluster, services=[t.ecs_service])["services"]
    return [ts["id"] for ts in service["taskSets"]]


def test_a_second_task_set_without_a_deployment_is_refused_before_any_write(world):
    """ECS has two task sets but CodeDeploy has no active deployment: one was
    left half-done (issue #26), and a new one would start from it."""
    world.add_task_set(world.first_arn)
    primary, other = _task_set_ids(world)
    world.expect_group()
    world.expect_no_active()
    with pytest.raises(ReleaseRefused) as refused:
        world.releaser().run()
    assert str(refused.value) == (
        "ECS service 'payment-api' in cluster 'payment-dev' is not between deployments: it "
        f"has 2 task sets: {primary} (PRIMARY, payment-dev-payment-api:1, 0/0 tasks), {other} "
        "(ACTIVE, payment-dev-payment-api:1, 0/0 tasks), and no CodeDeploy deployment is "
        "active in payment-dev/payment-dev-payment-api; a deployment was left half-done: see "
        "the last one with `.venv/bin/python -m release status --env dev --service "
        "payment-api`, and before releasing find out which task set serves traffic (aws ecs "
        "describe-services --cluster payment-dev --services payment-api); a release needs "
        "exactly one, the PRIMARY. Nothing was changed."
    )
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


@pytest.mark.parametrize(("env_name", "minutes"), [("dev", 30), ("staging", 55), ("prod", 95)])
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
    assert [p for p in validate_environment(too_long) if "terminate_blue" in p] == [
        "prod.deployment.terminate_blue_after_minutes: 136 is not allowed with "
        "CodeDeployDefault.ECSCanary10Percent5Minutes and release.scan_wait_minutes 10: a "
        "release would take up to 181 minutes, longer than the release role's 180-minute "
        "session; use at most 135"
    ]
