"""modules/email_subscriptions.py: the e-mail subscriptions the alarm topic
and the security alert topic share (D63)."""

from __future__ import annotations

from framework import Construct
from modules.email_subscriptions import subscribe_emails
from tests.rules_helpers import synth_json, unit_stack

TOPIC_ARN = "arn:aws:sns:eu-west-1:111111111111:unit-alerts"


def test_one_email_subscription_per_address_under_the_scope_by_index(tmp_path):
    stack = unit_stack(tmp_path)
    subscribe_emails(Construct(stack, "alerts"), TOPIC_ARN, ["a@example.com", "b@example.com"])
    subscriptions = synth_json(stack)["resource"]["aws_sns_topic_subscription"]
    # The construct id is part of the resource address: email-<index> under
    # the calling construct, as before the loop had one home.
    by_id = {name.rsplit("_", 1)[0]: body for name, body in subscriptions.items()}
    assert sorted(by_id) == ["alerts_email-0", "alerts_email-1"]
    assert by_id["alerts_email-0"]["endpoint"] == "a@example.com"
    assert by_id["alerts_email-1"]["endpoint"] == "b@example.com"
    for body in by_id.values():
        assert body["protocol"] == "email"
        assert body["topic_arn"] == TOPIC_ARN


def test_no_address_no_subscription(tmp_path):
    stack = unit_stack(tmp_path)
    subscribe_emails(Construct(stack, "alerts"), TOPIC_ARN, ())
    assert "aws_sns_topic_subscription" not in synth_json(stack).get("resource", {})
