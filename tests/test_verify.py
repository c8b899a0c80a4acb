"""`make verify ENV=<env>` (verify/): each check with a passing and a failing
case, offline. moto where it implements the calls (CloudWatch, CloudTrail,
KMS, EC2, S3); botocore Stubber where it does not (SimulatePrincipalPolicy,
GuardDuty, Security Hub, GetDataProtectionPolicy, ECS task image digests,
CodeDeploy deployments, RDS parameter-group apply statuses). Expected values
come from the synthesized example (tests/fixtures/example.py), as the tool
reads them from cdktf.out."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from config import naming
from tests.verify_helpers import ACCOUNT, context, stubbed
from verify import report
from verify.checks import alarms, baseline, data, iam, policies, services

#: Operations tools replayed against simulated AWS: the second, separately
#: timed step of make test (pytest.ini, docs/decisions.md D56).
pytestmark = [pytest.mark.aws_replay, pytest.mark.usefixtures("fake_aws")]


DIGEST = "sha256:" + "a" * 64
OTHER_DIGEST = "sha256:" + "b" * 64


def statuses(results, check: str) -> set[str]:
    return {r.status for r in results if r.check == check}


# --- services -------------------------------------------------------------------


def _stub_service(
    ecs,
    cd,
    env,
    svc,
    *,
    controller="CODE_DEPLOY",
    task_sets=1,
    digest=DIGEST,
    marker=True,
    released=True,
):
    pinned = svc.platform_version
    ecs.add_response(
        "describe_services",
        {
            "services": [
                {
                    "serviceName": svc.name,
                    "status": "ACTIVE",
                    "deploymentController": {"type": controller},
                    "taskSets": [
                        {"id": f"ecs-svc/{i}", "status": "PRIMARY", "platformVersion": pinned}
                        for i in range(task_sets)
                    ],
                }
            ]
        },
    )
    if not released:
        cd.add_response("list_deployments", {"deployments": []})
        arn = f"arn:aws:ecs:{env.region}:{ACCOUNT}:task/{env.prefix}/t1"
        ecs.add_response("list_tasks", {"taskArns": [arn]})
        ecs.add_response("describe_tasks", {"tasks": [{"taskArn": arn, "containers": []}]})
        return
    cd.add_response("list_deployments", {"deployments": ["d-1", "d-2"]})
    description = f"release [release-marker {svc.name}@{DIGEST}/abc123]" if marker else "by hand"
    cd.add_response(
        "batch_get_deployments",
        {
            "deploymentsInfo": [
                {
                    "deploymentId": "d-1",
                    "createTime": datetime(2026, 1, 1, tzinfo=UTC),
                    "description": "old",
                },
                {
                    "deploymentId": "d-2",
                    "createTime": datetime(2026, 2, 1, tzinfo=UTC),
                    "description": description,
                },
            ]
        },
    )
    arn = f"arn:aws:ecs:{env.region}:{ACCOUNT}:task/{env.prefix}/t1"
    ecs.add_response("list_tasks", {"taskArns": [arn]})
    ecs.add_response(
        "describe_tasks",
        {
            "tasks": [
                {
                    "taskArn": arn,
                    "containers": [
                        {"name": naming.app_container_name(svc), "imageDigest": digest},
                        {"name": naming.TRACING_CONTAINER, "imageDigest": OTHER_DIGEST},
                    ],
                }
            ]
        },
    )


def _run_services(example_prod, **broken):
    env, _ = example_prod
    ecs, ecs_stub = stubbed("ecs", env.region)
    cd, cd_stub = stubbed("codedeploy", env.region)
    for i, svc in enumerate(env.services):
        _stub_service(ecs_stub, cd_stub, env, svc, **(broken if i == 0 else {}))
    with ecs_stub, cd_stub:
        results = services.check_services(context(example_prod, {"ecs": ecs, "codedeploy": cd}))
        ecs_stub.assert_no_pending_responses()
    return results


def test_services_pass_on_codedeploy_one_task_set_pinned_platform_and_released_image(example_prod):
    results = _run_services(example_prod)
    assert {r.status for r in results} == {report.PASS}
    assert len(results) == 4 * len(example_prod[0].services)


def test_a_service_never_released_passes_naming_the_terraform_image_tag(example_prod):
    """Right after the first apply (the deploy workflow verifies then) no
    release exists yet: that is the expected state, not a failure."""
    results = _run_services(example_prod, released=False)
    assert {r.status for r in results} == {report.PASS}
    (first,) = [
        r
        for r in results
        if r.check == "service.image" and r.subject.endswith("/" + example_prod[0].services[0].name)
    ]
    assert "not released yet" in first.message
    assert repr(example_prod[0].services[0].image_tag) in first.message


@pytest.mark.parametrize(
    ("broken", "check", "words"),
    [
        (
            {"controller": "ECS"},
            "service.controller",
            "expected deployment controller CODE_DEPLOY, found ECS",
        ),
        ({"task_sets": 2}, "service.task-sets", "expected exactly one task set, found 2"),
        ({"digest": OTHER_DIGEST}, "service.image", f"runs {OTHER_DIGEST}"),
        ({"marker": False}, "service.image", "has no release marker"),
    ],
    ids=["controller", "task-sets", "image", "no-release"],
)
def test_services_fail_naming_expected_and_found(example_prod, broken, check, words):
    results = _run_services(example_prod, **broken)
    bad = [r for r in results if r.status == report.FAIL]
    assert [r.check for r in bad] == [check]
    assert words in bad[0].message and bad[0].doc
    assert bad[0].subject.endswith("/" + example_prod[0].services[0].name)


# --- rollback alarms --------------------------------------------------------------


def _alarms_world(example_prod, *, skip: str | None = None, with_data: bool = True):
    env, _ = example_prod
    cw = boto3.client("cloudwatch", region_name=env.region)
    ctx = context(example_prod, {"cloudwatch": cw})
    for _, name in alarms.rollback_alarms(ctx):
        if name != skip:
            cw.put_metric_alarm(
                AlarmName=name,
                Namespace="AWS/ApplicationELB",
                MetricName=f"m-{name}",
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=1,
                ComparisonOperator="GreaterThanThreshold",
            )
            if with_data:
                cw.put_metric_data(
                    Namespace="AWS/ApplicationELB",
                    MetricData=[
                        {
                            "MetricName": f"m-{name}",
                            "Value": 1.0,
                            "Timestamp": datetime.now(UTC) - timedelta(minutes=5),
                        }
                    ],
                )
    return alarms.check_alarms(ctx), alarms.rollback_alarms(ctx)


def test_rollback_alarms_exist_and_have_datapoints(example_prod):
    with mock_aws():
        results, pairs = _alarms_world(example_prod)
    assert pairs and len(results) == len(pairs)
    assert {r.status for r in results} == {report.PASS}


def test_missing_alarm_and_alarm_without_datapoints_fail(example_prod):
    with mock_aws():
        results, pairs = _alarms_world(example_prod, skip=None, with_data=False)
    assert statuses(results, "alarm.datapoints") == {report.FAIL}
    assert "missing data treated as OK" in results[0].message
    with mock_aws():
        results, pairs = _alarms_world(example_prod, skip=pairs[0][1])
    missing = [r for r in results if r.check == "alarm.exists"]
    assert [r.subject for r in missing] == [pairs[0][1]] and missing[0].status == report.FAIL


def test_metric_math_alarms_are_queried_through_their_raw_metrics():
    stat = {
        "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount"},
        "Period": 60,
        "Stat": "Sum",
    }
    alarm = {
        "Metrics": [
            {"Id": "r", "MetricStat": stat, "ReturnData": False},
            {"Id": "e", "Expression": "FILL(r, 0)", "ReturnData": True},
        ]
    }
    assert alarms.metric_queries(alarm) == [{"Id": "r", "MetricStat": stat, "ReturnData": True}]


# --- IAM PassRole ----------------------------------------------------------------


def _run_pass_role(example_prod, deny: int | None = None):
    env, _ = example_prod
    client, stub = stubbed("iam", env.region)
    ctx = context(example_prod, {"iam": client})
    codedeploy, roles = iam.pass_role_targets(ctx)
    arns = [f"arn:aws:iam::{ACCOUNT}:role/{n}" for n in [codedeploy, *roles]]
    for name, arn in zip([codedeploy, *roles], arns, strict=True):
        stub.add_response(
            "get_role",
            {
                "Role": {
                    "Path": "/",
                    "RoleName": name,
                    "RoleId": "AROAEXAMPLEID123456",
                    "Arn": arn,
                    "CreateDate": datetime(2026, 1, 1),
                }
            },
            {"RoleName": name},
        )
    stub.add_response(
        "simulate_principal_policy",
        {
            "EvaluationResults": [
                {
                    "EvalActionName": "iam:PassRole",
                    "EvalResourceName": arn,
                    "EvalDecision": "implicitDeny" if i == deny else "allowed",
                }
                for i, arn in enumerate(arns[1:])
            ]
        },
    )
    with stub:
        return iam.check_pass_role(ctx), roles


def test_codedeploy_role_can_pass_every_task_and_execution_role(example_prod):
    results, roles = _run_pass_role(example_prod)
    assert len(roles) == 2 * len(example_prod[0].services)
    assert [r.status for r in results] == [report.PASS] * len(roles)


def test_a_role_codedeploy_cannot_pass_fails(example_prod):
    results, roles = _run_pass_role(example_prod, deny=1)
    bad = [r for r in results if r.status == report.FAIL]
    assert len(bad) == 1 and bad[0].subject.endswith(roles[1]) and "implicitDeny" in bad[0].message


# --- security baseline ------------------------------------------------------------


def _baseline_stubs(
    env,
    *,
    recording=True,
    standard="READY",
    rds_login="ENABLED",
    analyzer="ACTIVE",
    role_findings=0,
    findings_error=None,
    delivery=("Success", "Success"),
    fargate_agent="DISABLED",
    coverage=None,
):
    cfg, cfg_stub = stubbed("config", env.region)
    gd, gd_stub = stubbed("guardduty", env.region)
    sh, sh_stub = stubbed("securityhub", env.region)
    cfg_stub.add_response(
        "describe_configuration_recorder_status",
        {
            "ConfigurationRecordersStatus": [
                {
                    "name": "r",
                    "recording": recording,
                    "lastStatus": "Success" if recording else "Failure",
                }
            ]
        },
    )
    cfg_stub.add_response(
        "describe_delivery_channel_status",
        {
            "DeliveryChannelsStatus": [
                {
                    "name": "d",
                    "configHistoryDeliveryInfo": {"lastStatus": delivery[0]},
                    "configSnapshotDeliveryInfo": {"lastStatus": delivery[1]},
                }
            ]
        },
    )
    gd_stub.add_response("list_detectors", {"DetectorIds": ["det1"]})
    gd_stub.add_response(
        "get_detector",
        {
            "ServiceRole": "r",
            "Status": "ENABLED",
            "Features": [
                {"Name": "RDS_LOGIN_EVENTS", "Status": rds_login},
                {
                    "Name": "RUNTIME_MONITORING",
                    "Status": "ENABLED",
                    "AdditionalConfiguration": [
                        {"Name": "EKS_ADDON_MANAGEMENT", "Status": "DISABLED"},
                        {"Name": "ECS_FARGATE_AGENT_MANAGEMENT", "Status": fargate_agent},
                        {"Name": "EC2_AGENT_MANAGEMENT", "Status": "DISABLED"},
                    ],
                },
            ],
        },
    )
    if coverage is not None:
        gd_stub.add_response(
            "list_coverage",
            {"Resources": coverage},
            {
                "DetectorId": "det1",
                # Only ECS clusters, only this environment's (CoverageFilterCriterion:
                # https://docs.aws.amazon.com/guardduty/latest/APIReference/API_CoverageFilterCriterion.html).
                "FilterCriteria": {
                    "FilterCriterion": [
                        {"CriterionKey": "RESOURCE_TYPE", "FilterCondition": {"Equals": ["ECS"]}},
                        {
                            "CriterionKey": "ECS_CLUSTER_NAME",
                            "FilterCondition": {"Equals": [naming.cluster_name(env)]},
                        },
                    ]
                },
            },
        )
    sh_stub.add_response(
        "get_enabled_standards",
        {
            "StandardsSubscriptions": [
                {
                    "StandardsSubscriptionArn": "arn:aws:securityhub:x",
                    "StandardsInput": {},
                    "StandardsArn": f"arn:aws:securityhub:{env.region}::standards/pci-dss/v/4.0.1",
                    "StandardsStatus": standard,
                }
            ]
        },
    )
    aa, aa_stub = stubbed("accessanalyzer", env.region)
    arn = f"arn:aws:access-analyzer:{env.region}:{ACCOUNT}:analyzer/x"
    aa_stub.add_response(
        "list_analyzers",
        {
            "analyzers": [
                {
                    "arn": arn,
                    "name": naming.access_analyzer_name(env),
                    "type": "ACCOUNT",
                    "createdAt": datetime(2026, 1, 1, tzinfo=UTC),
                    "status": analyzer,
                }
            ]
            if analyzer
            else []
        },
        {"type": "ACCOUNT"},
    )
    findings_params = {
        "analyzerArn": arn,
        "filter": {"status": {"eq": ["ACTIVE"]}, "resourceType": {"eq": ["AWS::IAM::Role"]}},
    }
    if findings_error:
        aa_stub.add_client_error("list_findings_v2", findings_error, http_status_code=403)
    else:
        aa_stub.add_response(
            "list_findings_v2",
            {
                "findings": [
                    {
                        "id": f"f{i}",
                        "resource": f"arn:aws:iam::{ACCOUNT}:role/bounded-{i}",
                        "resourceType": "AWS::IAM::Role",
                        "resourceOwnerAccount": ACCOUNT,
                        "createdAt": datetime(2026, 1, 1, tzinfo=UTC),
                        "analyzedAt": datetime(2026, 1, 1, tzinfo=UTC),
                        "updatedAt": datetime(2026, 1, 1, tzinfo=UTC),
                        "status": "ACTIVE",
                    }
                    for i in range(role_findings)
                ]
            },
            findings_params,
        )
    return (
        {"config": cfg, "guardduty": gd, "securityhub": sh, "accessanalyzer": aa},
        (cfg_stub, gd_stub, sh_stub, aa_stub),
    )


def _run_baseline(example_prod, *, logging=True, validation=True, **broken):
    env, synth = example_prod
    with mock_aws():
        clients, stubs = _baseline_stubs(env, **broken)
        trail = boto3.client("cloudtrail", region_name=env.region)
        s3 = boto3.client("s3", region_name=env.region)
        stack = next(s for n, s in synth.stacks.items() if n.endswith("-baseline"))
        for res in stack.resources("aws_cloudtrail").values():
            s3.create_bucket(
                Bucket="trail-bucket", CreateBucketConfiguration={"LocationConstraint": env.region}
            )
            trail.create_trail(
                Name=res["name"],
                S3BucketName="trail-bucket",
                EnableLogFileValidation=validation,
                IsMultiRegionTrail=True,
            )
            if logging:
                trail.start_logging(Name=res["name"])
        clients["cloudtrail"] = trail
        with stubs[0], stubs[1], stubs[2], stubs[3]:
            results = baseline.check_baseline(context(example_prod, clients))
            if broken.get("coverage") is not None:
                stubs[1].assert_no_pending_responses()  # ListCoverage was called
            return results


def test_baseline_passes_when_logging_recording_enabled_and_standard_ready(example_prod):
    if not example_prod[0].security_baseline.builds_anything:
        pytest.skip("the example's production environment takes its baseline from the organization")
    results = _run_baseline(example_prod)
    assert {r.check for r in results if r.status == report.PASS} >= set(baseline.CONTROLS)
    assert {r.status for r in results} <= {report.PASS, report.NOT_APPLICABLE}


@pytest.mark.parametrize(
    ("broken", "check", "words"),
    [
        ({"logging": False}, "baseline.cloudtrail", "IsLogging false"),
        ({"validation": False}, "baseline.cloudtrail", "log file validation off"),
        ({"recording": False}, "baseline.config", "not recording"),
        ({"delivery": ("Failure", "Success")}, "baseline.config", "found history Failure"),
        ({"delivery": ("Success", "Failure")}, "baseline.config", "snapshot Failure"),
        ({"rds_login": "DISABLED"}, "baseline.guardduty", "RDS_LOGIN_EVENTS DISABLED"),
        ({"standard": "INCOMPLETE"}, "baseline.securityhub", "found INCOMPLETE"),
        ({"analyzer": None}, "baseline.access-analyzer", "expected ACTIVE, found none"),
        ({"analyzer": "DISABLED"}, "baseline.access-analyzer", "found DISABLED"),
    ],
    ids=[
        "cloudtrail",
        "cloudtrail-validation",
        "config",
        "config-history-delivery",
        "config-snapshot-delivery",
        "guardduty",
        "securityhub",
        "analyzer-missing",
        "analyzer-disabled",
    ],
)
def test_baseline_failures_name_what_was_found(example_prod, broken, check, words):
    results = _run_baseline(example_prod, **broken)
    bad = [r for r in results if r.status == report.FAIL]
    assert [r.check for r in bad] == [check] and words in bad[0].message


@pytest.fixture(scope="module")
def example_prod_fargate_agent(example_prod):
    """The example's production environment with GuardDuty's Fargate agent
    ENABLED in its synthesized baseline (the module keeps it DISABLED until
    its path is opened, D43): what ``baseline.guardduty-ecs`` checks then."""
    env, synth = example_prod
    synth = copy.deepcopy(synth)
    stack = next(s for n, s in synth.stacks.items() if n.endswith("-baseline"))
    turned_on = 0
    for res in stack.resources("aws_guardduty_detector_feature").values():
        for conf in res.get("additional_configuration", []):
            if conf["name"] == "ECS_FARGATE_AGENT_MANAGEMENT":
                conf["status"] = "ENABLED"
                turned_on += 1
    assert turned_on == 1
    return env, synth


def _coverage(env, cluster, status="HEALTHY", issue=None, fargate_issues=()):
    """One ListCoverage resource of an ECS cluster (CoverageResource,
    CoverageEcsClusterDetails, FargateDetails:
    https://docs.aws.amazon.com/guardduty/latest/APIReference/API_CoverageResource.html,
    https://docs.aws.amazon.com/guardduty/latest/APIReference/API_FargateDetails.html)."""
    item = {
        "ResourceId": f"arn:aws:ecs:{env.region}:{ACCOUNT}:cluster/{cluster}",
        "DetectorId": "det1",
        "AccountId": ACCOUNT,
        "ResourceDetails": {
            "ResourceType": "ECS",
            "EcsClusterDetails": {
                "ClusterName": cluster,
                "FargateDetails": {
                    "Issues": list(fargate_issues),
                    "ManagementType": "AUTO_MANAGED",
                },
            },
        },
        "CoverageStatus": status,
    }
    return item | ({"Issue": issue} if issue else {})


def _ecs_coverage(example_prod_fargate_agent, coverage):
    env, _ = example_prod_fargate_agent
    results = _run_baseline(example_prod_fargate_agent, fargate_agent="ENABLED", coverage=coverage)
    assert "baseline.guardduty" in {r.check for r in results if r.status == report.PASS}
    return [r for r in results if r.check == "baseline.guardduty-ecs"]


def test_ecs_coverage_of_the_environments_cluster_healthy_passes(example_prod_fargate_agent):
    env, _ = example_prod_fargate_agent
    cluster = naming.cluster_name(env)
    [ecs] = _ecs_coverage(example_prod_fargate_agent, [_coverage(env, cluster)])
    assert ecs.status == report.PASS and ecs.subject == f"ECS cluster {cluster}"


def test_unhealthy_ecs_coverage_fails_naming_the_cluster_and_the_issue(example_prod_fargate_agent):
    env, _ = example_prod_fargate_agent
    cluster = naming.cluster_name(env)
    unhealthy = _coverage(
        env,
        cluster,
        status="UNHEALTHY",
        issue="Agent not reporting",
        fargate_issues=["ECR pull of the GuardDuty agent failed"],
    )
    [ecs] = _ecs_coverage(example_prod_fargate_agent, [unhealthy])
    assert ecs.status == report.FAIL and cluster in ecs.subject and cluster in ecs.message
    assert "found UNHEALTHY" in ecs.message
    assert "Agent not reporting" in ecs.message
    assert "ECR pull of the GuardDuty agent failed" in ecs.message
    assert "gdu-assess-coverage-ecs" in ecs.doc


def test_a_cluster_missing_from_ecs_coverage_fails(example_prod_fargate_agent):
    """Another cluster's healthy coverage does not stand in for this
    environment's: only tasks started after the agent was enabled are covered."""
    env, _ = example_prod_fargate_agent
    cluster = naming.cluster_name(env)
    [ecs] = _ecs_coverage(example_prod_fargate_agent, [_coverage(env, f"{cluster}-other")])
    assert ecs.status == report.FAIL and cluster in ecs.subject
    assert "GuardDuty's runtime coverage" in ecs.message and "found none" in ecs.message


def test_ecs_coverage_with_the_fargate_agent_off_is_not_this_stacks(example_prod):
    """The shipped detector keeps the Fargate agent DISABLED (D43): nothing
    to cover, so no ListCoverage call (the stub would fail one)."""
    if not example_prod[0].security_baseline.provided_here("guardduty"):
        pytest.skip("the example's production environment takes GuardDuty from the organization")
    results = _run_baseline(example_prod)
    [ecs] = [r for r in results if r.check == "baseline.guardduty-ecs"]
    assert ecs.status == report.NOT_APPLICABLE and "Fargate agent is DISABLED" in ecs.message


def test_a_missing_analyzer_names_the_setting_and_the_baseline_to_apply(example_prod):
    env, synth = example_prod
    if not env.security_baseline.provided_here("access_analyzer"):
        pytest.skip("the example's production environment takes its analyzer from the organization")
    [bad] = [r for r in _run_baseline(example_prod, analyzer=None) if r.status == report.FAIL]
    assert "security_baseline.access_analyzer" in bad.message
    assert f"apply {env.prefix}-baseline" in bad.message


@pytest.mark.parametrize("count", [1, 5])
def test_active_role_findings_fail_naming_at_most_three_roles(example_prod, count):
    """An unarchived role finding is a role trusted outside the account that
    no one decided on: the pipeline's own trusts are archived (D66)."""
    results = _run_baseline(example_prod, role_findings=count)
    [bad] = [r for r in results if r.status == report.FAIL]
    assert bad.check == "baseline.access-analyzer" and bad.subject.startswith("role findings")
    named = [i for i in range(count) if f"role/bounded-{i}" in bad.message]
    assert named == list(range(min(count, baseline.NAMED_FINDINGS)))
    assert f"found {count} on" in bad.message
    assert (f"and {count - 3} more" in bad.message) is (count > 3)
    # The analyzer itself is fine and says so.
    assert any(r.check == "baseline.access-analyzer" and r.status == report.PASS for r in results)


def test_a_refused_findings_read_is_unreadable_not_a_pass(example_prod):
    results = _run_baseline(example_prod, findings_error="AccessDeniedException")
    [unread] = [r for r in results if r.status == report.UNREADABLE]
    assert unread.check == "baseline.access-analyzer"
    assert "list_findings_v2" in unread.message and "AccessDeniedException" in unread.message
    assert report.FAIL not in {r.status for r in results}


def test_a_refused_analyzer_list_is_unreadable(example_prod):
    env, synth = example_prod
    aa, aa_stub = stubbed("accessanalyzer", env.region)
    aa_stub.add_client_error("list_analyzers", "AccessDeniedException", http_status_code=403)
    only = _provided_elsewhere(
        env, "trail", "state_data_events", "config_recorder", "guardduty", "security_hub"
    )
    with aa_stub:
        results = baseline.check_baseline(context((only, synth), {"accessanalyzer": aa}))
    [unread] = [r for r in results if r.check == "baseline.access-analyzer"]
    assert unread.status == report.UNREADABLE and "list_analyzers" in unread.message


def _provided_elsewhere(env, *controls):
    import dataclasses

    return dataclasses.replace(
        env,
        security_baseline=dataclasses.replace(
            env.security_baseline, **{c: "provided_by_organization" for c in controls}
        ),
    )


def test_baseline_provided_by_the_organization_is_not_this_stacks_to_check(example_prod):
    env, synth = example_prod
    org = _provided_elsewhere(env, "provided_by", "state_data_events")
    results = baseline.check_baseline(context((org, synth), {}))
    assert {r.status for r in results} == {report.NOT_APPLICABLE}
    assert all("not this stack's to check" in r.message for r in results)
    assert len(results) == len(baseline.CONTROLS)


@pytest.mark.parametrize(("check", "control"), list(baseline.CONTROLS.items()))
def test_one_control_the_organization_provides_is_left_out_the_others_are_checked(
    example_prod, check, control
):
    """Per control (D50): the trail stays ours while the state buckets' data
    events are, so leaving it out takes both."""
    env, synth = example_prod
    if not env.security_baseline.builds_anything:
        pytest.skip("the example's production environment takes its baseline from the organization")
    extra = ("state_data_events",) if control == "trail" else ()
    org = _provided_elsewhere(env, control, *extra)
    results = _run_baseline((org, synth))
    assert {r.status for r in results if r.check == check} == {report.NOT_APPLICABLE}
    others = set(baseline.CONTROLS) - {check}
    assert {r.check for r in results if r.status == report.PASS} >= others
    assert report.FAIL not in {r.status for r in results}


# --- key, secret and endpoint policies ------------------------------------------


def _keys_world(example_prod, tamper: bool = False):
    env, synth = example_prod
    clients = {"kms": boto3.client("kms", region_name=env.region)}
    created = 0
    for stack in synth.stacks.values():
        for alias in stack.resources("aws_kms_alias").values():
            key = stack.referenced(alias["target_key_id"])
            if key and "policy" in key:
                region = policies.provider_region(key)
                if region and ("kms", region) not in clients:
                    clients["kms", region] = boto3.client("kms", region_name=region)
                kms = clients["kms", region] if region else clients["kms"]
                doc = json.loads(stack.substitute(key["policy"]))
                # The same meaning, written differently: reordered, single values unwrapped.
                doc["Statement"].reverse()
                if tamper and created == 0:
                    doc["Statement"][0]["Action"] = ["kms:*"]
                key_id = kms.create_key(Policy=json.dumps(doc))["KeyMetadata"]["KeyId"]
                kms.create_alias(AliasName=stack.substitute(alias["name"]), TargetKeyId=key_id)
                created += 1
    return policies.check_key_policies(context(example_prod, clients)), created


def test_key_policies_equal_in_meaning_pass(example_prod):
    with mock_aws():
        results, created = _keys_world(example_prod)
    assert created >= 2 and [r.status for r in results] == [report.PASS] * created


def test_a_changed_key_policy_fails_naming_the_statement(example_prod):
    with mock_aws():
        results, _ = _keys_world(example_prod, tamper=True)
    bad = [r for r in results if r.status == report.FAIL]
    assert len(bad) == 1 and "differs" in bad[0].message and "kms:*" in bad[0].message


def test_policy_comparison_is_by_meaning_not_text():
    a = {
        "Statement": [
            {
                "Sid": "x",
                "Effect": "Allow",
                "Principal": {"AWS": "123456789012"},
                "Action": "KMS:Decrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}},
            }
        ]
    }
    b = {
        "Statement": {
            "Sid": "x",
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::123456789012:root"]},
            "Action": ["kms:Decrypt"],
            "Resource": ["*"],
            "Condition": {"StringEquals": {"kms:viaservice": ["s3.eu-west-1.amazonaws.com"]}},
        }
    }
    assert policies.compare(a, b, "aws") == []
    b["Statement"]["Effect"] = "Deny"
    assert policies.compare(a, b, "aws")


def test_secret_policies_pass_and_fail(example_prod):
    env, synth = example_prod
    with mock_aws():
        sm = boto3.client("secretsmanager", region_name=env.region)
        stack = synth.stack("security")
        items = list(stack.resources("aws_secretsmanager_secret_policy").values())
        for res in items:
            name = stack.substitute(stack.referenced(res["secret_arn"])["name"])
            sm.create_secret(Name=name)
            sm.put_resource_policy(SecretId=name, ResourcePolicy=stack.substitute(res["policy"]))
        results = policies.check_secret_policies(context(example_prod, {"secretsmanager": sm}))
        assert items and [r.status for r in results] == [report.PASS] * len(items)
        sm.delete_resource_policy(SecretId=name)
        results = policies.check_secret_policies(context(example_prod, {"secretsmanager": sm}))
        assert results[-1].status == report.FAIL and "found none" in results[-1].message


def test_endpoint_policies_pass_and_fail(example_prod):
    env, synth = example_prod
    stack = synth.stack("network")
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=env.region)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        endpoints = [r for r in stack.resources("aws_vpc_endpoint").values() if "policy" in r]
        for i, res in enumerate(endpoints):
            doc = stack.substitute(res["policy"]) if i else json.dumps({"Statement": []})
            ec2.create_vpc_endpoint(
                VpcId=vpc,
                ServiceName=res["service_name"],
                VpcEndpointType="Gateway",
                PolicyDocument=doc,
                TagSpecifications=[
                    {
                        "ResourceType": "vpc-endpoint",
                        "Tags": [{"Key": "Name", "Value": res["tags"]["Name"]}],
                    }
                ],
            )
        results = policies.check_endpoint_policies(context(example_prod, {"ec2": ec2}))
    assert [r.status for r in results] == [report.FAIL] + [report.PASS] * (len(endpoints) - 1)
    assert "missing" in results[0].message


# --- logs and database ------------------------------------------------------------


def _run_data_protection(example_prod, drop: bool):
    env, synth = example_prod
    logs, stub = stubbed("logs", env.region)
    items = [
        (s, r)
        for s in synth.stacks.values()
        for r in s.resources("aws_cloudwatch_log_data_protection_policy").values()
    ]
    for i, (stack, res) in enumerate(items):
        doc = stack.substitute(res["policy_document"])
        stub.add_response(
            "get_data_protection_policy", {"policyDocument": "" if drop and i == 0 else doc}
        )
    with stub:
        return policies_results(
            data.check_data_protection(context(example_prod, {"logs": logs}))
        ), len(items)


def policies_results(results):
    return [r.status for r in results], results


def test_log_groups_carry_their_data_protection_policy(example_prod):
    (found, _), count = _run_data_protection(example_prod, drop=False)
    assert count and found == [report.PASS] * count


def test_a_log_group_without_data_protection_fails(example_prod):
    (found, results), count = _run_data_protection(example_prod, drop=True)
    assert found == [report.FAIL] + [report.PASS] * (count - 1)
    assert "masking card data" in results[0].message


def _live_parameters(synth, change: dict | None = None) -> list[dict]:
    """The data stack's cluster parameters as RDS would list them (Source
    user); a static parameter is the one set ``pending-reboot`` (RDS API
    reference, Parameter: ApplyType static | dynamic,
    https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_Parameter.html)."""
    (group,) = synth.stack("data").resources("aws_rds_cluster_parameter_group").values()
    return [
        {
            "ParameterName": p["name"],
            "ParameterValue": (change or {}).get(p["name"], p["value"]),
            "ApplyType": "static" if p["apply_method"] == "pending-reboot" else "dynamic",
            "ApplyMethod": p["apply_method"],
            "IsModifiable": True,
            "Source": "user",
        }
        for p in group["parameter"]
    ]


def _run_parameters(example_prod, status: str, change: dict | None = None):
    env, synth = example_prod
    rds, stub = stubbed("rds", env.region)
    cluster = synth.stack("data").substitute(
        next(iter(synth.stack("data").resources("aws_rds_cluster").values()))["cluster_identifier"]
    )
    names = [f"{cluster}-{i}" for i in range(1 + env.database.reader_count)]
    stub.add_response(
        "describe_db_clusters",
        {
            "DBClusters": [
                {
                    "DBClusterIdentifier": cluster,
                    "DBClusterMembers": [
                        {"DBInstanceIdentifier": n, "DBClusterParameterGroupStatus": status}
                        for n in names
                    ],
                }
            ]
        },
    )
    stub.add_response(
        "describe_db_instances",
        {
            "DBInstances": [
                {
                    "DBInstanceIdentifier": n,
                    "DBParameterGroups": [
                        {
                            "DBParameterGroupName": "default.aurora-postgresql16",
                            "ParameterApplyStatus": "in-sync",
                        }
                    ],
                }
                for n in names
            ]
        },
    )
    (group,) = synth.stack("data").resources("aws_rds_cluster_parameter_group").values()
    stub.add_response(
        "describe_db_cluster_parameters",
        {"Parameters": _live_parameters(synth, change)},
        {"DBClusterParameterGroupName": group["name"], "Source": "user"},
    )
    with stub:
        return data.check_parameter_groups(context(example_prod, {"rds": rds})), names


def test_parameter_groups_in_sync_pass_and_point_to_the_pgaudit_sql_check(example_prod):
    results, names = _run_parameters(example_prod, "in-sync")
    assert [r.status for r in results] == [report.PASS] * (len(names) + 1)
    assert "as far as the API can tell" in results[0].message and "runbook" in results[0].message
    (log,) = [r for r in results if r.check == "db.log-parameters"]
    assert "as synthesized" in log.message and "shared_preload_libraries" in log.message


def test_pending_reboot_fails_naming_the_reboot_runbook(example_prod):
    results, names = _run_parameters(example_prod, "pending-reboot")
    assert [r.status for r in results] == [report.FAIL] * (len(names) + 1)
    assert "pending-reboot" in results[0].message and "Audit of database reads" in results[0].doc
    (log,) = [r for r in results if r.check == "db.log-parameters"]
    assert "not in effect on" in log.message and "the runbook's step 1" in log.message


def test_a_log_parameter_rds_holds_differently_fails_naming_it(example_prod):
    results, _ = _run_parameters(example_prod, "in-sync", change={"pgaudit.log_parameter": "1"})
    (log,) = [r for r in results if r.check == "db.log-parameters"]
    assert log.status == report.FAIL
    assert "pgaudit.log_parameter = '1' (expected '0')" in log.message


def test_alb_access_logs_newer_than_the_configured_age(example_prod):
    env, synth = example_prod
    if not env.load_balancer.access_logs:
        pytest.skip("the example's production environment writes no access logs")
    account = synth.stack("services").account
    with mock_aws():
        s3 = boto3.client("s3", region_name=env.region)
        for bucket, prefix in {
            (
                synth.stack("services").substitute(r["access_logs"]["bucket"]),
                r["access_logs"].get("prefix", ""),
            )
            for r in synth.stack("services").resources("aws_lb").values()
        }:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": env.region}
            )
            now = datetime.now(UTC)
            s3.put_object(
                Bucket=bucket,
                Body=b"log",
                Key=(
                    f"{prefix}/AWSLogs/{account}/elasticloadbalancing/{env.region}/{now:%Y/%m/%d}/x.log.gz"
                ),
            )
        fresh = data.check_access_logs(context(example_prod, {"s3": s3}))
        stale = data.check_access_logs(
            context(example_prod, {"s3": s3}, now=now + timedelta(hours=3))
        )
    assert {r.status for r in fresh} == {report.PASS}
    assert {r.status for r in stale} == {report.FAIL}
    assert "newer than 60 min" in stale[0].message
