"""Failed and stopped deployments reach the alarm topic (#24, D51).

A deployment that fails without an alarm (timeout, task set or hook error)
used to write only to a log group. An EventBridge rule now sends the
application's FAILURE and STOP state changes to the alarm topic; the topic
policy admits that rule (``aws:SourceArn``), and the logs key lets
EventBridge encrypt for that topic alone
(``kms:EncryptionContext:aws:sns:topicArn``: EventBridge sends no
``aws:SourceArn`` to KMS, FIELD_NOTES §11).

The pattern is matched against the sample event of the CodeDeploy user
guide (tests/fixtures/events/, its URL inside) by tests/event_pattern.py.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from config.naming import alarm_topic_name, codedeploy_application_name
from modules.observability.deployment_events import ALERTED_STATES, deployment_alert_pattern
from tests.event_pattern import UnsupportedPattern, check, matches
from tests.services_helpers import find, ref

SAMPLE = Path(__file__).parent / "fixtures" / "events" / "codedeploy-deployment-state-change.json"


@pytest.fixture(scope="module")
def sample() -> dict:
    loaded = json.loads(SAMPLE.read_text())
    assert loaded["documentation"] == [
        "https://docs.aws.amazon.com/codedeploy/latest/userguide/monitoring-cloudwatch-events.html"
    ]
    return loaded["event"]


def _event(sample: dict, application: str, state: str) -> dict:
    event = copy.deepcopy(sample)
    event["detail"]["application"] = application
    event["detail"]["state"] = state
    return event


def _rule(svc_stack) -> dict:
    return find(svc_stack, "aws_cloudwatch_event_rule", "deployment-alerts/rule")[1]


# -- the matcher -------------------------------------------------------------------


def test_the_matcher_follows_exact_value_semantics(sample):
    assert matches({"source": ["aws.codedeploy"]}, sample)
    assert matches({"detail": {"state": ["FAILURE", "SUCCESS"]}}, sample)
    assert not matches({"detail": {"state": ["FAILURE"]}}, sample)
    assert not matches({"detail": {"missing": ["x"]}}, sample)  # absent field
    # An array in the event matches when any of its values does.
    assert matches({"resources": [sample["resources"][1]]}, sample)
    assert not matches({"detail": {"deploymentId": [123456789]}}, sample)  # types differ


@pytest.mark.parametrize(
    "pattern",
    [
        {"detail": {"state": [{"suffix": "URE"}]}},
        {"detail": {"state": [{"numeric": ["<", 3]}]}},
        {"detail": {"state": [{"exists": True}]}},
        {"$or": [{"source": ["aws.codedeploy"]}]},
        {"source": "aws.codedeploy"},
        {"source": []},
        {},
    ],
    ids=["suffix", "numeric-less-than", "exists", "$or", "not-an-array", "empty-array", "empty"],
)
def test_the_matcher_refuses_operators_it_does_not_implement(pattern, sample):
    with pytest.raises(UnsupportedPattern):
        matches(pattern, sample)


# -- the pattern -----------------------------------------------------------------


def test_failure_and_stop_of_the_application_match_and_nothing_else(sample):
    pattern = deployment_alert_pattern("myApplication")
    assert not matches(pattern, sample)  # the sample as published: SUCCESS
    for state in ALERTED_STATES:
        assert matches(pattern, _event(sample, "myApplication", state)), state
    for state in ("START", "SUCCESS", "READY"):
        assert not matches(pattern, _event(sample, "myApplication", state)), state
    assert not matches(pattern, _event(sample, "otherApplication", "FAILURE"))
    instance_event = _event(sample, "myApplication", "FAILURE")
    instance_event["detail-type"] = "CodeDeploy Instance State-change Notification"
    assert not matches(pattern, instance_event)


def test_the_synthesized_rule_alerts_on_this_environments_failures_only(svc_stack, env, sample):
    pattern = json.loads(_rule(svc_stack)["event_pattern"])
    check(pattern)  # within the implemented subset
    # The application is named by reference; it is this environment's.
    (app_ref,) = pattern["detail"]["application"]
    app_key, app = find(svc_stack, "aws_codedeploy_app", "codedeploy/application")
    assert app_ref == ref("aws_codedeploy_app", app_key, "name")
    application = codedeploy_application_name(env)
    assert app["name"] == application
    pattern["detail"]["application"] = [application]
    assert pattern == deployment_alert_pattern(application)
    assert matches(pattern, _event(sample, application, "FAILURE"))
    assert matches(pattern, _event(sample, application, "STOP"))
    assert not matches(pattern, _event(sample, application, "SUCCESS"))
    assert not matches(pattern, _event(sample, application + "-other", "FAILURE"))


def test_the_rule_targets_the_alarm_topic_with_a_readable_message(svc_stack):
    rule_key, _ = find(svc_stack, "aws_cloudwatch_event_rule", "deployment-alerts/rule")
    topic_key, _ = find(svc_stack, "aws_sns_topic", "alarm-topic/topic")
    _, target = find(svc_stack, "aws_cloudwatch_event_target", "deployment-alerts/target")
    assert target["rule"] == ref("aws_cloudwatch_event_rule", rule_key, "name")
    assert target["arn"] == ref("aws_sns_topic", topic_key, "arn")
    transformer = target["input_transformer"]
    template = json.loads(transformer["input_template"])  # a JSON string: text for SNS
    placeholders = set(re.findall(r"<([a-z]+)>", template))
    assert placeholders == set(transformer["input_paths"])
    for path in transformer["input_paths"].values():
        assert path.startswith("$.")


# -- who may publish -------------------------------------------------------------


def test_the_topic_policy_admits_that_rule(svc_stack):
    rule_key, _ = find(svc_stack, "aws_cloudwatch_event_rule", "deployment-alerts/rule")
    _, policy = find(svc_stack, "aws_sns_topic_policy", "alarm-topic/policy")
    statements = json.loads(policy["policy"])["Statement"]
    events = [s for s in statements if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert len(events) == 1
    (statement,) = events
    assert statement["Effect"] == "Allow" and statement["Action"] == "sns:Publish"
    assert list(statement["Condition"]) == ["ArnEquals"]
    # With the backup alerts' rules (tests/test_backup_alerts.py names them all).
    assert (
        ref("aws_cloudwatch_event_rule", rule_key, "arn")
        in (statement["Condition"]["ArnEquals"]["aws:SourceArn"])
    )


def test_the_logs_key_lets_event_bridge_encrypt_for_the_alarm_topic_alone(stacks, svc_stack, env):
    """KMS sees no aws:SourceArn from EventBridge; the topic's ARN in the
    encryption context binds the grant to our topic (SNS developer guide,
    https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html)."""
    _, topic = find(svc_stack, "aws_sns_topic", "alarm-topic/topic")
    assert topic["name"] == alarm_topic_name(env)
    _, key = find(stacks[f"{env.prefix}-security"], "aws_kms_key", "logs-key/key")
    statements = json.loads(key["policy"])["Statement"]
    events = [
        s
        for s in statements
        if s["Effect"] == "Allow" and "events.amazonaws.com" in str(s["Principal"])
    ]
    assert len(events) == 1
    (statement,) = events
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    (context,) = statement["Condition"]["StringEquals"].values()
    assert list(statement["Condition"]) == ["StringEquals"]
    assert list(statement["Condition"]["StringEquals"]) == [
        "kms:EncryptionContext:aws:sns:topicArn"
    ]
    assert re.fullmatch(
        rf"arn:\$\{{data\.aws_partition\.[a-z_]+\.partition\}}:sns:{re.escape(env.region)}:"
        rf"[^:]+:{re.escape(alarm_topic_name(env))}",
        context,
    ), context
