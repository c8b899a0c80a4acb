"""Audit tampering and findings reach people (issue #25, docs/decisions.md
D52): the baseline's EventBridge rules, tested against sample events from
the AWS documentation (tests/fixtures/events, each naming its sources)
with tests/event_pattern.py; the topic and key let EventBridge publish and
nobody else in; the pipeline cannot silence them (verify/iam_eval.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from config import ConfigError
from config.model import (
    FINDING_ALERT_SEVERITIES,
    THIS_REPOSITORY,
    baseline_members,
    baseline_owner,
)
from config.naming import (
    audit_bucket_name,
    backup_alerts_name,
    config_bucket_name,
    release_guard_function_name,
    release_guard_name,
    restore_validator_name,
    security_alerts_name,
)
from modules.pipeline_roles import (
    AUDIT_BUCKET_TAMPERING_ACTIONS,
    AUDIT_TAMPERING_ACTIONS,
    BUCKET_CONFIGURATION_WRITES,
    SECURITY_ALERT_WRITES,
)
from modules.security_alerts import (
    CHECK_FUNCTION_WRITES,
    CHECK_RULE_WRITES,
    GUARDDUTY_SEVERITY_FLOORS,
    RULE_KINDS,
    SecurityAlertsProps,
    patterns,
)
from tests.conftest import CONFIGURED
from tests.event_pattern import UnsupportedPattern, matches
from verify.iam_eval import allowed, as_list

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "events"
PARTITION = "${data.aws_partition.partition.partition}"
#: The account, region and baseline of the documentation's samples.
SAMPLE = SecurityAlertsProps(
    name="payment-prod-security-alerts",
    account_id="111122223333",
    partition="aws",
    region="us-west-2",
    audit_bucket_names=("payment-prod-audit-111122223333", "payment-prod-config-111122223333"),
    finding_severity="HIGH",
    check_function_names=(
        "CodeDeployHook_payment-prod-release-guard",
        "payment-prod-restore-validator",
    ),
    check_rule_prefixes=(
        "payment-prod-backup-alerts",
        "payment-prod-release-guard",
        "payment-prod-restore-validator",
    ),
)
#: fixture -> the rules it must trigger (and no other).
EXPECTED = {
    "cloudtrail-stop-logging.json": {"tampering"},
    "config-stop-configuration-recorder.json": {"tampering"},
    "guardduty-delete-detector.json": {"tampering"},
    "kms-schedule-key-deletion.json": {"key-tampering"},
    "s3-put-bucket-policy.json": {"bucket-tampering"},
    "guardduty-finding.json": {"guardduty"},
    "securityhub-finding-imported.json": {"security-hub"},
    "access-analyzer-role-finding.json": {"access-analyzer"},
    "access-analyzer-delete-analyzer.json": {"tampering"},
    "lambda-update-function-code.json": {"check-functions"},
    "events-disable-rule.json": {"check-rules"},
    "events-put-targets.json": {"check-targets"},
    # A failed release is the alarm topic's (tests/test_deployment_alerts.py),
    # never a security alert.
    "codedeploy-deployment-state-change.json": set(),
    # The release check's (tests/test_release_guard.py), never a security alert.
    "codedeploy-create-deployment.json": set(),
    "ecs-register-task-definition.json": set(),
    # AWS Backup's jobs go to the alarm topic and the restore validator
    # (tests/test_backup_alerts.py), never a security alert.
    "backup-job-state-change.json": set(),
    "copy-job-state-change.json": set(),
    "restore-job-state-change.json": set(),
    # The restore validator's test instance (D76), never a security alert.
    "rds-instance-created.json": set(),
}
BASELINE_OWNERS = tuple(
    env.name
    for env in CONFIGURED
    if env.security_baseline.provided_by == THIS_REPOSITORY
    and baseline_owner(env, CONFIGURED) == env.name
)


def sample(name: str) -> dict:
    return copy.deepcopy(json.loads((FIXTURES / name).read_text())["event"])


def triggered(event: dict, props: SecurityAlertsProps = SAMPLE) -> set[str]:
    return {kind for kind, pattern in patterns(props).items() if matches(pattern, event)}


def test_every_fixture_names_its_aws_documentation():
    assert sorted(p.name for p in FIXTURES.glob("*.json")) == sorted(EXPECTED)
    for name in EXPECTED:
        fixture = json.loads((FIXTURES / name).read_text())
        assert fixture["documentation"], name
        for url in fixture["documentation"]:
            assert url.startswith("https://docs.aws.amazon.com/"), (name, url)
        assert fixture["adapted"], name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_documented_sample_triggers_exactly_its_rule(name):
    assert triggered(sample(name)) == EXPECTED[name]


def test_every_rule_is_triggered_by_a_documented_sample():
    assert set().union(*EXPECTED.values()) == set(RULE_KINDS)


def test_every_denied_tampering_call_alerts():
    """The alert list is the deny list (AUDIT_TAMPERING_ACTIONS): each call,
    in the shape CloudTrail records it, triggers a tampering rule."""
    for service, actions in AUDIT_TAMPERING_ACTIONS.items():
        base = sample(
            "kms-schedule-key-deletion.json" if service == "kms" else "cloudtrail-stop-logging.json"
        )
        base["source"] = f"aws.{service}"
        base["detail"]["eventSource"] = f"{service}.amazonaws.com"
        for action in actions:
            base["detail"]["eventName"] = action
            kind = "key-tampering" if service == "kms" else "tampering"
            assert triggered(base) == {kind}, f"{service}:{action}"
    for action in AUDIT_BUCKET_TAMPERING_ACTIONS:
        event = sample("s3-put-bucket-policy.json")
        event["detail"]["eventName"] = action
        for bucket in SAMPLE.audit_bucket_names:
            event["detail"]["requestParameters"]["bucketName"] = bucket
            assert triggered(event) == {"bucket-tampering"}, (action, bucket)


def test_what_is_not_tampering_does_not_alert():
    read = sample("cloudtrail-stop-logging.json")
    read["detail"]["eventName"] = "StartLogging"
    assert not triggered(read)
    other_account_key = sample("kms-schedule-key-deletion.json")
    other_account_key["detail"]["resources"][0]["ARN"] = (
        "arn:aws:kms:us-west-2:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
    assert not triggered(other_account_key)
    kms_use = sample("kms-schedule-key-deletion.json")
    kms_use["detail"]["eventName"] = "EnableKey"
    assert not triggered(kms_use)
    other_bucket = sample("s3-put-bucket-policy.json")
    other_bucket["detail"]["requestParameters"]["bucketName"] = "payment-prod-alb-access-logs"
    assert not triggered(other_bucket)
    # S3's eventSource with a CloudTrail name, or the reverse, is no match.
    crossed = sample("s3-put-bucket-policy.json")
    crossed["detail"]["eventName"] = "StopLogging"
    assert not triggered(crossed)


@pytest.mark.parametrize("severity", FINDING_ALERT_SEVERITIES)
def test_guardduty_findings_alert_from_the_configured_severity(severity):
    props = SecurityAlertsProps(**{**SAMPLE.__dict__, "finding_severity": severity})
    event = sample("guardduty-finding.json")
    floor = GUARDDUTY_SEVERITY_FLOORS[severity]
    for value, expected in ((floor, True), (floor - 0.1, False), (10, True), (floor + 0.5, True)):
        event["detail"]["severity"] = value
        assert ("guardduty" in triggered(event, props)) is expected, (severity, value)


@pytest.mark.parametrize("severity", FINDING_ALERT_SEVERITIES)
def test_security_hub_findings_alert_from_the_configured_label(severity):
    props = SecurityAlertsProps(**{**SAMPLE.__dict__, "finding_severity": severity})
    event = sample("securityhub-finding-imported.json")
    finding = event["detail"]["findings"][0]
    at_or_above = FINDING_ALERT_SEVERITIES[FINDING_ALERT_SEVERITIES.index(severity) :]
    for label in ("INFORMATIONAL", *FINDING_ALERT_SEVERITIES):
        finding["Severity"]["Label"] = label
        assert (triggered(event, props) == {"security-hub"}) is (label in at_or_above), label


def test_security_hub_alerts_new_active_findings_other_than_guardduty_s():
    event = sample("securityhub-finding-imported.json")
    finding = event["detail"]["findings"][0]
    assert triggered(event) == {"security-hub"}
    for field, value in (("Workflow", {"Status": "RESOLVED"}), ("RecordState", "ARCHIVED")):
        changed = copy.deepcopy(event)
        changed["detail"]["findings"][0][field] = value
        assert not triggered(changed), field
    finding["ProductName"] = "GuardDuty"  # it alerts once, from GuardDuty's rule
    assert not triggered(event)


def test_only_active_role_findings_of_access_analyzer_alert():
    """A role trusted outside the account alerts while its finding is ACTIVE;
    archived (a person's triage) and resolved (the trust removed) findings,
    findings deleted with their analyzer, and other resource types do not
    (D66; IAM user guide, "Monitoring AWS IAM Access Analyzer with Amazon
    EventBridge")."""
    event = sample("access-analyzer-role-finding.json")
    assert triggered(event) == {"access-analyzer"}
    for field, value in (
        ("status", "ARCHIVED"),
        ("status", "RESOLVED"),
        ("isDeleted", True),
        # Keys' ACCESS_DENIED error findings and other types: Security Hub's.
        ("resourceType", "AWS::KMS::Key"),
        ("resourceType", "AWS::S3::Bucket"),
    ):
        changed = copy.deepcopy(event)
        changed["detail"][field] = value
        assert not triggered(changed), (field, value)
    # Other Access Analyzer events (an access preview) are not findings.
    preview = copy.deepcopy(event)
    preview["detail-type"] = "Access Preview State Change"
    assert not triggered(preview)


def test_every_change_to_the_release_and_restore_checks_alerts():
    """D75: the deploy role applies the release check, the restore validator
    and the backup alerts, so it may change them; each write of
    CHECK_FUNCTION_WRITES on their functions (by name, partial ARN or ARN,
    with or without CloudTrail's version suffix) and of CHECK_RULE_WRITES on
    their rules alerts, and the same calls on other functions and rules do not."""
    function = sample("lambda-update-function-code.json")
    account, region = SAMPLE.account_id, SAMPLE.region
    for name in SAMPLE.check_function_names:
        for form in (
            name,
            f"{account}:function:{name}",
            f"arn:aws:lambda:{region}:{account}:function:{name}",
        ):
            for action in CHECK_FUNCTION_WRITES:
                for event_name in (action, f"{action}20150331v2"):
                    function["detail"]["eventName"] = event_name
                    function["detail"]["requestParameters"]["functionName"] = form
                    assert triggered(function) == {"check-functions"}, (form, event_name)
    function["detail"]["requestParameters"]["functionName"] = "payment-prod-something-else"
    assert not triggered(function)
    function["detail"]["requestParameters"]["functionName"] = SAMPLE.check_function_names[0]
    function["detail"]["eventName"] = "GetFunction"
    assert not triggered(function)
    for field, actions in CHECK_RULE_WRITES.items():
        event = sample("events-disable-rule.json" if field == "name" else "events-put-targets.json")
        kind = "check-rules" if field == "name" else "check-targets"
        for prefix in SAMPLE.check_rule_prefixes:
            for action in actions:
                event["detail"]["eventName"] = action
                event["detail"]["requestParameters"][field] = f"{prefix}-any"
                assert triggered(event) == {kind}, (action, prefix)
        event["detail"]["requestParameters"][field] = "payment-prod-deployments"
        assert not triggered(event)
        event["detail"]["requestParameters"][field] = SAMPLE.check_rule_prefixes[0]
        event["detail"]["eventName"] = "DescribeRule"
        assert not triggered(event)


def test_the_matcher_refuses_operators_it_does_not_implement():
    event = sample("guardduty-finding.json")
    for pattern in (
        {"source": [{"suffix": "duty"}]},
        {"detail": {"severity": [{"numeric": ["<", 5]}]}},
        {"detail": {"severity": [{"numeric": [">", 0, "<=", 5]}]}},
        {"source": [{"exists": True}]},
        {"source": [{"anything-but": {"prefix": "aws."}}]},
        {"$or": [{"source": ["aws.guardduty"]}]},
        {"source": "aws.guardduty"},
    ):
        with pytest.raises(UnsupportedPattern):
            matches(pattern, event)
    # Also when the field is missing and nothing else could match.
    with pytest.raises(UnsupportedPattern):
        matches({"detail": {"nothing": [{"wildcard": "*"}]}}, event)


# --- the synthesized baseline -------------------------------------------------------------------


def account_of(env) -> str:
    return env.account_id or "${data.aws_caller_identity.current.account_id}"


def props_of(env) -> SecurityAlertsProps:
    account = account_of(env)
    members = baseline_members(env, CONFIGURED)
    return SecurityAlertsProps(
        name=security_alerts_name(env),
        account_id=account,
        partition=PARTITION,
        region=env.region,
        audit_bucket_names=(audit_bucket_name(env, account), config_bucket_name(env, account)),
        finding_severity=env.security_baseline.finding_alert_severity,
        check_function_names=[
            name(e)
            for e in members
            for name in (release_guard_function_name, restore_validator_name)
        ],
        check_rule_prefixes=[
            name(e)
            for e in members
            for name in (release_guard_name, restore_validator_name, backup_alerts_name)
        ],
    )


@pytest.mark.parametrize("owner_name", BASELINE_OWNERS)
def test_the_baseline_routes_every_rule_to_its_encrypted_topic(stacks, environments, owner_name):
    env = environments[owner_name]
    baseline = stacks[f"{env.prefix}-baseline"]
    props = props_of(env)
    rules = {r["name"]: r for r in baseline.resources("aws_cloudwatch_event_rule").values()}
    expected = {f"{props.name}-{kind}": pattern for kind, pattern in patterns(props).items()}
    assert {n: json.loads(r["event_pattern"]) for n, r in rules.items()} == expected
    (topic_key, topic) = next(iter(baseline.resources("aws_sns_topic").items()))
    assert topic["name"] == props.name
    assert topic["kms_master_key_id"].startswith("${aws_kms_key.alerts_key_")
    targets = baseline.resources("aws_cloudwatch_event_target").values()
    assert sorted(t["rule"] for t in targets) == sorted(
        f"${{aws_cloudwatch_event_rule.{key}.name}}"
        for key in baseline.resources("aws_cloudwatch_event_rule")
    )
    assert {t["arn"] for t in targets} == {f"${{aws_sns_topic.{topic_key}.arn}}"}
    emails = sorted(
        s["endpoint"] for s in baseline.resources("aws_sns_topic_subscription").values()
    )
    assert emails == sorted(env.security_baseline.alert_emails)
    if env.is_production:
        assert emails, "the production tier alerts somebody"


@pytest.mark.parametrize("owner_name", BASELINE_OWNERS)
def test_only_the_alert_rules_publish_and_eventbridge_may_use_the_key(
    stacks, environments, owner_name
):
    env = environments[owner_name]
    baseline = stacks[f"{env.prefix}-baseline"]
    account = account_of(env)
    topic_arn = f"arn:{PARTITION}:sns:{env.region}:{account}:{security_alerts_name(env)}"
    rule_arns = [
        f"arn:{PARTITION}:events:{env.region}:{account}:rule/{security_alerts_name(env)}-{kind}"
        for kind in RULE_KINDS
    ]
    [policy] = baseline.resources("aws_sns_topic_policy").values()
    topic_statements = json.loads(policy["policy"])["Statement"]
    for rule_arn in rule_arns:
        assert allowed(topic_statements, "sns:Publish", topic_arn, **{"aws:SourceArn": rule_arn}), (
            rule_arn
        )
    other_rule = f"arn:{PARTITION}:events:{env.region}:{account}:rule/{env.prefix}-deployments"
    assert not allowed(topic_statements, "sns:Publish", topic_arn, **{"aws:SourceArn": other_rule})
    keys = {
        key["description"]: json.loads(key["policy"])["Statement"]
        for key in baseline.resources("aws_kms_key").values()
    }
    [statements] = [s for d, s in keys.items() if security_alerts_name(env) in d]
    [events] = [s for s in statements if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    # EventBridge sends KMS no aws:SourceArn: the topic in the encryption
    # context is what binds it (FIELD_NOTES §11; SNS developer guide).
    context = {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}
    assert allowed([events], "kms:GenerateDataKey", **context)
    assert allowed([events], "kms:Decrypt", **context)
    assert not allowed([events], "kms:Decrypt", **{"aws:SourceArn": rule_arns[0]})
    other_topic = topic_arn.replace(security_alerts_name(env), f"{env.prefix}-alarms")
    assert not allowed(
        [events], "kms:Decrypt", **{"kms:EncryptionContext:aws:sns:topicArn": other_topic}
    )
    assert "aws:SourceArn" not in json.dumps(events)


def test_the_pipeline_cannot_silence_the_alerts(stacks, environments, env_name):
    """Every environment of an account (not only the baseline's owner) is
    denied changing the alert rules and topic; the boundary denies it to
    every role the pipeline creates."""
    env = environments[env_name]
    bootstrap = stacks[f"{env.prefix}-bootstrap"]
    [deploy] = [
        json.loads(p["policy"])["Statement"]
        for k, p in bootstrap.resources("aws_iam_role_policy").items()
        if k.startswith("pipeline_deploy-policy")
    ]
    [boundary] = [
        json.loads(p["policy"])["Statement"] for p in bootstrap.resources("aws_iam_policy").values()
    ]
    account = account_of(env)
    region = {"aws:RequestedRegion": env.region}
    owner = environments.get(baseline_owner(env, CONFIGURED), env)
    name = security_alerts_name(owner)
    for kind in RULE_KINDS:
        rule = f"arn:{PARTITION}:events:{env.region}:{account}:rule/{name}-{kind}"
        for action in (a for a in SECURITY_ALERT_WRITES if a.startswith("events:")):
            assert not allowed(deploy, action, rule, **region), (action, rule)
            assert not allowed(boundary, action, rule), (action, rule)
    topic = f"arn:{PARTITION}:sns:{env.region}:{account}:{name}"
    for action in (a for a in SECURITY_ALERT_WRITES if a.startswith("sns:")):
        for resource in (topic, f"{topic}:5b0a2f6e-subscription"):
            assert not allowed(deploy, action, resource, **region), (action, resource)
        assert not allowed(boundary, action, topic), action
    # The environment's own rules and topic stay the deploy role's.
    own_rule = f"arn:{PARTITION}:events:{env.region}:{account}:rule/{env.prefix}-deployments"
    assert allowed(deploy, "events:PutRule", own_rule, **region)
    own_topic = f"arn:{PARTITION}:sns:{env.region}:{account}:{env.prefix}-alarms"
    assert allowed(deploy, "sns:SetTopicAttributes", own_topic, **region)


def test_the_audit_bucket_calls_that_alert_are_denied_to_the_deploy_role():
    from fnmatch import fnmatchcase

    for action in AUDIT_BUCKET_TAMPERING_ACTIONS:
        assert any(fnmatchcase(f"s3:{action}", d) for d in BUCKET_CONFIGURATION_WRITES), action


def test_severity_and_addresses_are_validated(example_environments):
    import dataclasses

    from config import load_environments

    prod = next(e for e in example_environments.values() if e.is_production)

    def refused(**changes) -> list[str]:
        bad = dataclasses.replace(
            prod,
            security_baseline=dataclasses.replace(prod.security_baseline, **changes),
        )
        with pytest.raises(ConfigError) as raised:
            load_environments(defined=[bad])
        return raised.value.problems

    [problem] = refused(finding_alert_severity="SEVERE")
    assert (
        "finding_alert_severity: 'SEVERE' is not allowed; allowed: LOW, MEDIUM, HIGH, CRITICAL"
        in problem
    )
    [problem] = refused(alert_emails=("not-an-address",))
    assert "alert_emails: 'not-an-address' is not an e-mail address" in problem
    [problem] = refused(alert_emails=())
    assert "alert_emails: empty in the production tier" in problem
    assert as_list(prod.security_baseline.alert_emails)


@pytest.mark.parametrize("owner_name", BASELINE_OWNERS)
def test_the_baseline_watches_every_function_and_check_rule_of_its_environments(
    stacks, environments, owner_name
):
    """D75: every Lambda function the pipeline applies in the baseline's
    account and region, every rule that invokes one and every backup alert
    rule is matched by the synthesized check-* patterns (a renamed function
    or rule would silently leave them)."""
    env = environments[owner_name]
    baseline = stacks[f"{env.prefix}-baseline"]
    synthesized = {
        r["name"]: json.loads(r["event_pattern"])
        for r in baseline.resources("aws_cloudwatch_event_rule").values()
    }
    name = security_alerts_name(env)
    functions = synthesized[f"{name}-check-functions"]["detail"]["requestParameters"]
    rule_prefixes = [
        m["prefix"]
        for m in synthesized[f"{name}-check-rules"]["detail"]["requestParameters"]["name"]
    ]
    watched_functions = watched_rules = 0
    for member in baseline_members(env, CONFIGURED):
        for stack_name, stack in stacks.items():
            if not stack_name.startswith(f"{member.prefix}-") or stack_name.endswith(
                ("-bootstrap", "-baseline")
            ):
                continue
            by_key = stack.resources("aws_lambda_function")
            for function in by_key.values():
                assert function["function_name"] in functions["functionName"], stack_name
                watched_functions += 1
            targets = stack.resources("aws_cloudwatch_event_target").values()
            invoking = {t["rule"] for t in targets if "aws_lambda_function." in t["arn"]}
            for key, rule in stack.resources("aws_cloudwatch_event_rule").items():
                if f"${{aws_cloudwatch_event_rule.{key}.name}}" in invoking or rule[
                    "name"
                ].startswith(backup_alerts_name(member)):
                    assert any(rule["name"].startswith(p) for p in rule_prefixes), rule["name"]
                    watched_rules += 1
    assert watched_functions and watched_rules
