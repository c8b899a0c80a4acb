"""The release world the release tests share (tests/test_release*.py): a moto
account with the example's services, the fake clients and clock, the
fixtures and the helpers. A helper module, not a test module: no test
module imports another (tests/test_test_layout.py)."""

from __future__ import annotations

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

from config.naming import TRACING_CONTAINER
from release.appspec import READ_ONLY_TASK_DEFINITION_FIELDS, ImageRef
from release.checks import ACTIVE_DEPLOYMENT_STATUSES
from release.deploy import (
    ReleaseOptions,
    Releaser,
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
    def expect_group(self, *, cluster=None, service=None, platform="ECS", alarms=None):
        """GetDeploymentGroup of the target's group; with ``alarms`` (names),
        the group rolls back on them (its ``alarmConfiguration``)."""
        t = self.target
        info = {
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
        if alarms is not None:
            info["alarmConfiguration"] = {
                "enabled": True,
                "alarms": [{"name": a} for a in alarms],
            }
        self.cd_stub.add_response(
            "get_deployment_group",
            {"deploymentGroupInfo": info},
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
        **more,
    ):
        """One poll: GetDeployment (with ``more`` deploymentInfo fields) and,
        with ``green`` (its traffic weight), GetDeploymentTarget."""
        info = {
            "deploymentId": deployment_id,
            "status": status,
            "applicationName": self.target.codedeploy_application,
            **more,
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


# -------------------------------------- refusals: nothing may be written
def _assert_nothing_written(w: World):
    assert w.revisions() == [w.first_arn]
    assert "CreateDeployment" not in w.sent
    assert "registered task definition" not in w.out.getvalue()


def _task_set_ids(w: World) -> list[str]:
    t = w.target
    (service,) = w.ecs.describe_services(cluster=t.cluster, services=[t.ecs_service])["services"]
    return [ts["id"] for ts in service["taskSets"]]
