"""`make verify`'s `events.topic` (verify/checks/events.py): EventBridge may
publish to each topic its rules target and use the topic's key, and the
rules' FailedInvocations are 0 (EventBridge user guide, troubleshooting,
SNS topic encrypted with KMS:
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-troubleshooting.html).
moto holds the topics, keys and metrics, with the synthesized topic and key
policies."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from tests.verify_helpers import context
from verify import report
from verify.checks import events

#: Operations tools replayed against simulated AWS (docs/decisions.md D56).
pytestmark = [pytest.mark.aws_replay, pytest.mark.usefixtures("fake_aws")]


@pytest.fixture(autouse=True)
def environments_account(example_prod, monkeypatch):
    """moto's resources in the account the check builds ARNs with."""
    monkeypatch.setenv("MOTO_ACCOUNT_ID", example_prod[1].stack("services").account)


def _synthesized_topics(synth):
    """(stack, topic id, topic, its key's policy text) of every encrypted
    topic a rule targets; the key may be another stack's (remote state)."""
    keys = {
        kid: (s, k) for s in synth.stacks.values() for kid, k in s.resources("aws_kms_key").items()
    }
    for stack in synth.stacks.values():
        targeted = {
            t["arn"].split(".")[1]
            for t in stack.resources("aws_cloudwatch_event_target").values()
            if t["arn"].startswith("${aws_sns_topic.")
        }
        for tid in sorted(targeted):
            topic = stack.resources("aws_sns_topic")[tid]
            key_stack, key = next(v for kid, v in keys.items() if kid in topic["kms_master_key_id"])
            yield stack, tid, topic, key_stack.substitute(key["policy"])


def _world(example_prod, *, drop_events_key_grant=False, failed_rule=False):
    env, synth = example_prod
    sns = boto3.client("sns", region_name=env.region)
    kms = boto3.client("kms", region_name=env.region)
    cw = boto3.client("cloudwatch", region_name=env.region)
    account = synth.stack("services").account
    count = 0
    for stack, tid, topic, key_policy in _synthesized_topics(synth):
        doc = json.loads(key_policy)
        if drop_events_key_grant:
            doc["Statement"] = [
                s for s in doc["Statement"] if events.EVENTS not in json.dumps(s.get("Principal"))
            ]
        key_arn = kms.create_key(Policy=json.dumps(doc))["KeyMetadata"]["Arn"]
        arn = f"arn:aws:sns:{env.region}:{account}:{topic['name']}"
        (policy,) = [
            p["policy"]
            for p in stack.resources("aws_sns_topic_policy").values()
            if p["arn"] == f"${{aws_sns_topic.{tid}.arn}}"
        ]
        policy = policy.replace(f"${{aws_sns_topic.{tid}.arn}}", arn)
        for rid, rule in stack.resources("aws_cloudwatch_event_rule").items():
            rule_arn = f"arn:aws:events:{env.region}:{account}:rule/{rule['name']}"
            policy = policy.replace(f"${{aws_cloudwatch_event_rule.{rid}.arn}}", rule_arn)
        policy = stack.substitute(policy)
        sns.create_topic(
            Name=topic["name"], Attributes={"KmsMasterKeyId": key_arn, "Policy": policy}
        )
        count += 1
    if failed_rule:
        (name, _, _), rules = next(iter(events.topic_rules(context(example_prod, {})).items()))
        cw.put_metric_data(
            Namespace="AWS/Events",
            MetricData=[
                {
                    "MetricName": "FailedInvocations",
                    "Dimensions": [{"Name": "RuleName", "Value": rules[0]}],
                    "Value": 1.0,
                    "Timestamp": datetime.now(UTC) - timedelta(minutes=5),
                }
            ],
        )
    ctx = context(example_prod, {"sns": sns, "kms": kms, "cloudwatch": cw})
    return events.check_event_topics(ctx), count


def test_eventbridge_may_publish_to_every_targeted_topic_and_use_its_key(example_prod):
    with mock_aws():
        results, count = _world(example_prod)
    assert count >= 1 and len(results) == count
    assert {r.status for r in results} == {report.PASS}, [r.line() for r in results]
    assert "use the topic's key" in results[0].message


def test_a_key_policy_without_eventbridge_fails_naming_the_actions(example_prod):
    with mock_aws():
        results, count = _world(example_prod, drop_events_key_grant=True)
    assert [r.status for r in results] == [report.FAIL] * count
    assert "does not allow kms:GenerateDataKey" in results[0].message
    assert "kms:Decrypt" in results[0].message and "D51" in results[0].doc


def test_failed_invocations_fail_naming_the_rule(example_prod):
    with mock_aws():
        results, _ = _world(example_prod, failed_rule=True)
    bad = [r for r in results if r.status == report.FAIL]
    assert len(bad) == 1 and "FailedInvocations 1" in bad[0].message


def test_a_topic_policy_without_the_rule_fails():
    topic = "arn:aws:sns:eu-west-1:111122223333:t"
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": topic,
        "Condition": {
            "ArnEquals": {"aws:SourceArn": "arn:aws:events:eu-west-1:111122223333:rule/a"}
        },
    }
    assert events.allowed(
        [statement],
        "sns:Publish",
        topic,
        service=events.EVENTS,
        **{"aws:SourceArn": "arn:aws:events:eu-west-1:111122223333:rule/a"},
    )
    assert not events.allowed(
        [statement],
        "sns:Publish",
        topic,
        service=events.EVENTS,
        **{"aws:SourceArn": "arn:aws:events:eu-west-1:111122223333:rule/b"},
    )
    assert not events.allowed(
        [statement],
        "sns:Publish",
        topic,
        service="cloudwatch.amazonaws.com",
        **{"aws:SourceArn": "arn:aws:events:eu-west-1:111122223333:rule/a"},
    )
