"""Audit logs copied outside the account (PCI DSS 10.3.3, issue #15): with a
log-archive destination in configuration every log group of the environment
is subscribed to it; without one, nothing is."""

from __future__ import annotations

import dataclasses

import pytest

from config import load_environments
from tests.fixtures.example import DEV, PROD, STAGING
from tests.synth import synthesize

DESTINATION = "arn:aws:logs:eu-west-1:222222222222:destination:payment-log-archive"


@pytest.mark.app_synthesis  # synthesizes its own variant (D79)
def test_every_log_group_is_copied_to_the_configured_destination(tmp_path):
    dev = dataclasses.replace(
        DEV,
        security_baseline=dataclasses.replace(
            DEV.security_baseline, log_archive_destination_arn=DESTINATION
        ),
    )
    (env,) = load_environments(["dev"], defined=[dev, STAGING, PROD])
    _, stacks = synthesize([env], tmp_path)
    groups = filters = 0
    for stack in stacks.values():
        names = {
            f"${{aws_cloudwatch_log_group.{key}.name}}"
            for key in stack.resources("aws_cloudwatch_log_group")
        }
        subscriptions = stack.resources("aws_cloudwatch_log_subscription_filter").values()
        assert sorted(s["log_group_name"] for s in subscriptions) == sorted(names), stack.name
        for subscription in subscriptions:
            assert subscription["destination_arn"] == DESTINATION
            assert subscription["filter_pattern"] == ""
            assert "role_arn" not in subscription  # a Logs destination needs none
        groups += len(names)
        filters += len(subscriptions)
    assert groups == filters > 5


def test_without_a_destination_nothing_is_subscribed(stacks):
    assert DEV.security_baseline.log_archive_destination_arn is None
    for stack in stacks.values():
        assert stack.resources("aws_cloudwatch_log_subscription_filter") == {}
