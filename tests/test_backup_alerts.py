"""Failed backup, copy and restore-test jobs reach the alarm topic, and a
completed restore test reaches its validator (issue #28, docs/decisions.md
D60).

AWS facts encoded here (the fixtures in tests/fixtures/events name theirs):
- AWS Backup sends ``Backup Job State Change`` and ``Copy Job State Change``
  with the job's ``state`` and ``Restore Job State Change`` with its
  ``status``, from ``aws.backup`` (AWS Backup developer guide, "Monitoring
  AWS Backup events using Amazon EventBridge",
  https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html);
- a restore test's event carries ``restoreTestingPlanArn`` and the
  validation rule listens for ``COMPLETED`` ("Restore testing validation",
  https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing-validation.html).

The patterns are matched with tests/event_pattern.py; the synthesized rules,
targets, topic policy, function and role are read from the session's
synthesis.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from config.naming import (
    alarm_topic_name,
    backup_alerts_name,
    backup_vault_name,
    restore_test_instance_prefix,
    restore_testing_name,
    restore_validator_name,
)
from modules.observability.backup_alerts import JOB_EVENTS, backup_alert_patterns
from modules.restore_validator import (
    RestoreValidator,
    RestoreValidatorProps,
    instance_created_pattern,
    restore_validator_pattern,
)
from tests.event_pattern import check, matches
from tests.services_helpers import find, path_of, ref, resolve, statements
from verify.iam_eval import allowed

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "events"
#: The fixtures' prod names (account 111122223333, us-west-2).
VAULT = "payment-prod-database"
VAULT_ARN = f"arn:aws:backup:us-west-2:111122223333:backup-vault:{VAULT}"
PLAN_ARN = "arn:aws:backup:us-west-2:111122223333:restore-testing-plan:payment_prod_database-7c1e2b"
SAMPLES = {
    "backup-job": "backup-job-state-change.json",
    "copy-job": "copy-job-state-change.json",
    "restore-job": "restore-job-state-change.json",
}


def sample(kind: str, state: str | None = None) -> dict:
    event = copy.deepcopy(json.loads((FIXTURES / SAMPLES[kind]).read_text())["event"])
    if state is not None:
        event["detail"][JOB_EVENTS[kind][1]] = state
    return event


def alerted(event: dict) -> set[str]:
    patterns = backup_alert_patterns(VAULT, VAULT_ARN, PLAN_ARN)
    return {kind for kind, pattern in patterns.items() if matches(pattern, event)}


# -- the patterns ----------------------------------------------------------------


def test_the_patterns_are_exact_values_only():
    for pattern in backup_alert_patterns(VAULT, VAULT_ARN, PLAN_ARN).values():
        check(pattern)
    check(restore_validator_pattern(PLAN_ARN))


@pytest.mark.parametrize("kind", sorted(JOB_EVENTS))
def test_each_failed_job_alerts_its_rule_alone(kind):
    for state in JOB_EVENTS[kind][3]:
        assert alerted(sample(kind, state)) == {kind}, state


@pytest.mark.parametrize("kind", sorted(JOB_EVENTS))
def test_a_completed_or_running_job_does_not_alert(kind):
    for state in ("COMPLETED", "RUNNING", "CREATED"):
        assert not alerted(sample(kind, state)), state


def test_a_backup_job_stuck_or_stopped_alerts():
    """EXPIRED: it could not start in its window; ABORTED: stopped."""
    assert alerted(sample("backup-job", "EXPIRED")) == {"backup-job"}
    assert alerted(sample("backup-job", "ABORTED")) == {"backup-job"}
    assert not alerted(sample("backup-job", "PARTIAL"))


def test_another_environments_jobs_do_not_alert():
    backup = sample("backup-job", "FAILED")
    backup["detail"]["backupVaultName"] = "payment-dev-database"
    copied = sample("copy-job", "FAILED")
    copied["detail"]["sourceBackupVaultArn"] = VAULT_ARN.replace("prod", "dev")
    restore = sample("restore-job", "FAILED")
    restore["detail"]["restoreTestingPlanArn"] = PLAN_ARN.replace("prod", "dev")
    for event in (backup, copied, restore):
        assert not alerted(event)


def test_only_a_completed_restore_test_of_the_plan_runs_the_validator():
    pattern = restore_validator_pattern(PLAN_ARN)
    assert matches(pattern, sample("restore-job"))  # the sample: COMPLETED
    for status in ("FAILED", "RUNNING", "PENDING", "ABORTED"):
        assert not matches(pattern, sample("restore-job", status)), status
    other = sample("restore-job")
    other["detail"]["restoreTestingPlanArn"] = PLAN_ARN.replace("prod", "dev")
    assert not matches(pattern, other)
    assert not matches(pattern, sample("backup-job", "COMPLETED"))


def instance_sample() -> dict:
    return copy.deepcopy(json.loads((FIXTURES / "rds-instance-created.json").read_text())["event"])


def test_only_the_creation_of_a_test_instance_runs_the_second_step():
    pattern = instance_created_pattern(
        "arn:aws:rds:us-west-2:111122223333:db:payment-prod-restore-test-"
    )
    assert matches(pattern, instance_sample())  # RDS-EVENT-0005 of a test instance
    deleted = instance_sample()
    deleted["detail"]["EventID"] = "RDS-EVENT-0003"
    assert not matches(pattern, deleted)
    for arn in (
        "arn:aws:rds:us-west-2:111122223333:db:payment-prod-database-1",
        "arn:aws:rds:us-west-2:111122223333:db:payment-dev-restore-test-f3d1",
        "arn:aws:rds:us-west-2:444455556666:db:payment-prod-restore-test-f3d1",
    ):
        other = instance_sample()
        other["detail"]["SourceArn"] = arn
        assert not matches(pattern, other), arn
    assert not matches(pattern, sample("restore-job"))


def test_a_prefix_that_leaves_too_little_of_the_job_id_is_refused():
    props = RestoreValidatorProps(
        name="payment-prod-restore-validator",
        restore_testing_plan_arn="plan",
        subnet_group_name="subnets",
        security_group_id="sg-1",
        source_cluster_arn="cluster",
        source_secret_arn="secret",
        instance_prefix="p" * 50,
        database_name="payments",
        check_sql="SELECT 1",
        check_minimum=1,
        topic_arn="topic",
        topic_key_arn="key",
        logs_key_arn="key",
        log_retention_days=30,
        account_id="111122223333",
        partition="aws",
        region="us-west-2",
    )
    with pytest.raises(ValueError, match="instance_prefix: 'p+' leaves 13 of RDS's 63 characters"):
        RestoreValidator(None, "validator", props)  # type: ignore[arg-type]


# -- what the services stack builds ----------------------------------------------


def _rule_pattern(stacks, svc_stack, kind: str) -> dict:
    """The synthesized pattern, with the data stack's references named."""
    _, rule = find(svc_stack, "aws_cloudwatch_event_rule", f"backup-alerts/rule-{kind}")
    return json.loads(rule["event_pattern"])


def test_the_rules_alert_this_environments_vault_and_plan(stacks, svc_stack, env):
    data = f"{env.prefix}-data"
    patterns = {kind: _rule_pattern(stacks, svc_stack, kind) for kind in JOB_EVENTS}
    (copy_vault,) = patterns["copy-job"]["detail"]["sourceBackupVaultArn"]
    assert resolve(stacks, copy_vault)[:2] == (data, "aws_backup_vault")
    stack_name, rtype, key, attr = resolve(stacks, copy_vault)
    assert path_of(stacks[stack_name].resources(rtype)[key]).endswith("/backup/vault")
    (plan,) = patterns["restore-job"]["detail"]["restoreTestingPlanArn"]
    assert resolve(stacks, plan)[1:] == (
        "aws_backup_restore_testing_plan",
        find(stacks[data], "aws_backup_restore_testing_plan", "backup/restore-testing-plan")[0],
        "arn",
    )
    assert patterns == backup_alert_patterns(backup_vault_name(env), copy_vault, plan)
    for kind in JOB_EVENTS:
        _, rule = find(svc_stack, "aws_cloudwatch_event_rule", f"backup-alerts/rule-{kind}")
        assert rule["name"] == f"{backup_alerts_name(env)}-{kind}"
        assert len(rule["name"]) <= 64


def test_the_rules_target_the_alarm_topic_with_a_readable_message(svc_stack):
    topic_key, _ = find(svc_stack, "aws_sns_topic", "alarm-topic/topic")
    for kind in JOB_EVENTS:
        rule_key, _ = find(svc_stack, "aws_cloudwatch_event_rule", f"backup-alerts/rule-{kind}")
        _, target = find(svc_stack, "aws_cloudwatch_event_target", f"backup-alerts/target-{kind}")
        assert target["rule"] == ref("aws_cloudwatch_event_rule", rule_key, "name")
        assert target["arn"] == ref("aws_sns_topic", topic_key, "arn")
        transformer = target["input_transformer"]
        template = json.loads(transformer["input_template"])
        assert set(re.findall(r"<([a-z]+)>", template)) == set(transformer["input_paths"])
        assert transformer["input_paths"]["state"] == f"$.detail.{JOB_EVENTS[kind][1]}"
        assert transformer["input_paths"]["job"] == f"$.detail.{JOB_EVENTS[kind][2]}"


def test_the_topic_policy_admits_the_alert_rules_and_no_other(svc_stack):
    _, policy = find(svc_stack, "aws_sns_topic_policy", "alarm-topic/policy")
    (statement,) = [
        s for s in statements(policy) if s["Principal"] == {"Service": "events.amazonaws.com"}
    ]
    rules = [
        ref(
            "aws_cloudwatch_event_rule",
            find(svc_stack, "aws_cloudwatch_event_rule", path)[0],
            "arn",
        )
        for path in (
            "deployment-alerts/rule",
            *(f"backup-alerts/rule-{kind}" for kind in JOB_EVENTS),
        )
    ]
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": rules}}


# -- the restore validator -------------------------------------------------------


def _validator(svc_stack, resource_type: str, suffix: str) -> tuple[str, dict]:
    return find(svc_stack, resource_type, f"restore-validator/{suffix}")


def test_the_validator_is_packaged_from_the_repository_traced_with_a_dead_letter_topic(
    stacks, svc_stack, env
):
    _, function = _validator(svc_stack, "aws_lambda_function", "function")
    assert function["function_name"] == restore_validator_name(env)
    assert function["runtime"] == "python3.13"
    assert function["handler"] == "handler.handler"
    assert function["filename"].startswith("assets/") and function["filename"].endswith(".zip")
    assert function["tracing_config"] == {"mode": "Active"}
    topic_key, _ = find(svc_stack, "aws_sns_topic", "alarm-topic/topic")
    topic = ref("aws_sns_topic", topic_key, "arn")
    assert function["dead_letter_config"] == {"target_arn": topic}
    variables = function["environment"]["variables"]
    assert variables["RESTORE_VALIDATOR_TOPIC_ARN"] == topic
    data = f"{env.prefix}-data"
    expected = {
        "RESTORE_VALIDATOR_PLAN_ARN": ("aws_backup_restore_testing_plan", "arn"),
        "RESTORE_VALIDATOR_SUBNET_GROUP": ("aws_db_subnet_group", "name"),
        "RESTORE_VALIDATOR_SECURITY_GROUP": ("aws_security_group", "id"),
    }
    for variable, (rtype, attr) in expected.items():
        stack_name, found_type, key, found_attr = resolve(stacks, variables[variable])
        assert (stack_name, found_type, found_attr) == (data, rtype, attr), variable
    stack_name, rtype, _, attribute = resolve(
        stacks, variables["RESTORE_VALIDATOR_SOURCE_CLUSTER_ARN"]
    )
    assert (stack_name, rtype, attribute) == (data, "aws_rds_cluster", "arn")
    stack_name, rtype, _, attribute = resolve(
        stacks, variables["RESTORE_VALIDATOR_SOURCE_SECRET_ARN"]
    )
    assert (stack_name, rtype) == (data, "aws_rds_cluster") and "secret_arn" in attribute
    assert variables["RESTORE_VALIDATOR_INSTANCE_PREFIX"] == restore_test_instance_prefix(env)
    assert variables["RESTORE_VALIDATOR_DATABASE"] == env.database.database_name
    assert variables["RESTORE_VALIDATOR_CHECK_SQL"] == env.backup.restore_check_sql
    assert variables["RESTORE_VALIDATOR_CHECK_MINIMUM"] == str(env.backup.restore_check_minimum)
    # The group is the closed restore-test group, not the database's own.
    _, group_key, _ = resolve(stacks, variables["RESTORE_VALIDATOR_SECURITY_GROUP"])[1:]
    group = stacks[data].resources("aws_security_group")[group_key]
    assert path_of(group).endswith("/backup/restore-test-security-group")
    _, log_group = _validator(svc_stack, "aws_cloudwatch_log_group", "log-group")
    assert log_group["name"] == f"/aws/lambda/{restore_validator_name(env)}"
    assert log_group["retention_in_days"] == env.log_retention_days
    assert log_group["kms_key_id"]


def test_the_validators_archive_holds_its_handler_alone(svc_stack, synth_outdir):
    import zipfile

    _, function = _validator(svc_stack, "aws_lambda_function", "function")
    archive = synth_outdir[0] / "stacks" / svc_stack.name / function["filename"]
    assert sorted(zipfile.ZipFile(archive).namelist()) == ["__init__.py", "handler.py"]


def test_the_validators_role_is_bounded_and_least_privilege(stacks, svc_stack, env):
    """D60, D76: it prepares and queries restored copies and its own test
    instances, never the source cluster or its secret."""
    _, role = _validator(svc_stack, "aws_iam_role", "role")
    assert role["name"] == restore_validator_name(env)
    assert role["permissions_boundary"].endswith(f":policy/{env.prefix}-workload-boundary")
    _, policy = _validator(svc_stack, "aws_iam_role_policy", "policy")
    granted = statements(policy)
    by_sid = {s["Sid"]: s for s in granted}
    assert set(by_sid) == {
        "ReadTheRestoredCluster",
        "MakeTheCopyAnswer",
        "CreateTheTestInstance",
        "ReadAndDeleteTheTestInstance",
        "TheCopysManagedSecret",
        "QueryTheCopy",
        "ReadTheCopysSecret",
        "ReportTheValidation",
        "NeverTheSourceCluster",
        "NeverTheSourceSecret",
        "AlertTheAlarmTopic",
        "EncryptForTheAlarmTopic",
        "WriteItsLogs",
        "Traces",
    }
    clusters = by_sid["ReadTheRestoredCluster"]["Resource"]
    assert clusters.endswith(":cluster:*") and f":rds:{env.region}:" in clusters
    restored = clusters.replace("cluster:*", "cluster:awsbackup-restore-test-1")
    here = clusters.removesuffix("cluster:*")
    test_instance = f"{here}db:{restore_test_instance_prefix(env)}f3d1b2a48c6e"
    other_instance = f"{here}db:{env.prefix}-database-1"
    secrets = here.replace(":rds:", ":secretsmanager:")
    copy_secret = f"{secrets}secret:rds!cluster-0a1b2c3d-AbCdEf"
    job = {"aws:RequestTag/restoreJobId": "f3d1b2a4-8c6e-4e0b-9a7d-5b2c1e0f9a33"}
    for action in (
        "rds:DescribeDBClusters",
        "rds:ModifyDBCluster",
        "rds:EnableHttpEndpoint",
        "rds-data:ExecuteStatement",
    ):
        assert allowed(granted, action, restored), action
    for resource in (test_instance, restored):
        assert allowed(granted, "rds:CreateDBInstance", resource, **job), resource
        assert not allowed(granted, "rds:CreateDBInstance", resource), "untagged"
    assert allowed(granted, "rds:AddTagsToResource", test_instance, **job)
    for action in ("rds:DescribeDBInstances", "rds:DeleteDBInstance"):
        assert allowed(granted, action, test_instance), action
        assert not allowed(granted, action, other_instance), action
    for action in ("secretsmanager:CreateSecret", "secretsmanager:GetSecretValue"):
        assert allowed(granted, action, copy_secret), action
    assert not allowed(granted, "secretsmanager:GetSecretValue", f"{secrets}secret:other-AbCdEf")
    assert allowed(granted, "backup:PutRestoreValidationResult", "*")
    # The source cluster and its secret: denied whatever the grants say.
    source = by_sid["NeverTheSourceCluster"]["Resource"]
    data = f"{env.prefix}-data"
    stack_name, rtype, _, attribute = resolve(stacks, source)
    assert (stack_name, rtype, attribute) == (data, "aws_rds_cluster", "arn")
    for action in (
        "rds:ModifyDBCluster",
        "rds:EnableHttpEndpoint",
        "rds:CreateDBInstance",
        "rds-data:ExecuteStatement",
    ):
        assert not allowed(
            [*granted, {**by_sid["MakeTheCopyAnswer"], "Resource": "*"}], action, source, **job
        ), action
    source_secret = by_sid["NeverTheSourceSecret"]["Resource"]
    stack_name, rtype, _, attribute = resolve(stacks, source_secret)
    assert (stack_name, rtype) == (data, "aws_rds_cluster") and "secret_arn" in attribute
    assert not allowed(
        [*granted, {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}],
        "secretsmanager:GetSecretValue",
        source_secret,
    )
    for action in (
        "rds:DeleteDBCluster",
        "rds:RestoreDBClusterFromSnapshot",
        "rds:ModifyDBInstance",
        "backup:StartRestoreJob",
        "backup:DeleteRecoveryPoint",
        "backup:UpdateRestoreTestingSelection",
        "iam:PassRole",
        "kms:Decrypt",
    ):
        assert not allowed(granted, action, restored), action
    topic_key, _ = find(svc_stack, "aws_sns_topic", "alarm-topic/topic")
    assert by_sid["AlertTheAlarmTopic"]["Resource"] == ref("aws_sns_topic", topic_key, "arn")


def test_only_the_plans_completed_jobs_invoke_the_validator(stacks, svc_stack, env):
    fn_key, _ = _validator(svc_stack, "aws_lambda_function", "function")
    rule_key, rule = _validator(svc_stack, "aws_cloudwatch_event_rule", "rule")
    assert rule["name"] == restore_validator_name(env)
    pattern = json.loads(rule["event_pattern"])
    (plan,) = pattern["detail"]["restoreTestingPlanArn"]
    assert resolve(stacks, plan)[1] == "aws_backup_restore_testing_plan"
    assert pattern == restore_validator_pattern(plan)
    _, target = _validator(svc_stack, "aws_cloudwatch_event_target", "target-restore-completed")
    assert target["arn"] == ref("aws_lambda_function", fn_key, "arn")
    _, permission = _validator(svc_stack, "aws_lambda_permission", "permission-restore-completed")
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["source_arn"] == ref("aws_cloudwatch_event_rule", rule_key, "arn")


def test_only_this_environments_test_instances_run_the_second_step(svc_stack, env):
    fn_key, _ = _validator(svc_stack, "aws_lambda_function", "function")
    rule_key, rule = _validator(svc_stack, "aws_cloudwatch_event_rule", "instance-rule")
    assert rule["name"] == f"{restore_validator_name(env)}-instance"
    pattern = json.loads(rule["event_pattern"])
    ((prefix,),) = [[m["prefix"] for m in pattern["detail"]["SourceArn"]]]
    assert f":rds:{env.region}:" in prefix
    assert prefix.endswith(f":db:{restore_test_instance_prefix(env)}")
    assert pattern == instance_created_pattern(prefix)
    _, target = _validator(svc_stack, "aws_cloudwatch_event_target", "target-instance-created")
    assert target["arn"] == ref("aws_lambda_function", fn_key, "arn")
    _, permission = _validator(svc_stack, "aws_lambda_permission", "permission-instance-created")
    assert permission["source_arn"] == ref("aws_cloudwatch_event_rule", rule_key, "arn")


def test_the_logs_key_lets_only_the_validators_role_encrypt_for_the_alarm_topic(stacks, env):
    _, key = find(stacks[f"{env.prefix}-security"], "aws_kms_key", "logs-key/key")
    policy = json.loads(key["policy"])["Statement"]
    (statement,) = [s for s in policy if s.get("Sid") == "RestoreValidatorPublishesToAlarmTopic"]
    condition = statement["Condition"]
    assert condition["ArnEquals"]["aws:PrincipalArn"].endswith(
        f":role/{restore_validator_name(env)}"
    )
    assert condition["StringEquals"]["kms:ViaService"] == f"sns.{env.region}.amazonaws.com"
    assert condition["StringEquals"]["kms:EncryptionContext:aws:sns:topicArn"].endswith(
        f":{alarm_topic_name(env)}"
    )


def test_the_restore_testing_plan_the_rules_name_is_this_environments(stacks, env):
    _, plan = find(
        stacks[f"{env.prefix}-data"],
        "aws_backup_restore_testing_plan",
        "backup/restore-testing-plan",
    )
    assert plan["name"] == restore_testing_name(env)
