"""Bare card numbers are masked without a keyword, and the audit findings
have a destination (#25 item 5, D59; PCI DSS 3.3.1, 3.4.1).

The managed ``CreditCardNumber`` identifier needs a keyword nearby; the
custom identifier ``BareCardNumber`` does not. Its regex must fit the
documented constraints of CloudWatch Logs custom data identifiers
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL-custom-data-identifiers.html):
at most 200 characters, only alphanumerics, the symbols ``_ # = @ / ; , -``
and space, and the reserved characters ``^ $ ? [ ] { } | \\ * + .``; so no
parentheses, hence no groups and no lookarounds. A name of at most 128
characters of letters, digits, ``_`` and ``-``, not a managed identifier's.
"""

from __future__ import annotations

import json
import re
import string

import pytest

from config.naming import PIPELINE_APPLIED_PARTS, card_data_findings_log_group, stack_part
from modules.observability.data_protection import (
    BARE_CARD_NUMBER,
    BARE_CARD_NUMBER_REGEX,
    CARD_DATA_IDENTIFIERS,
)
from modules.observability.metrics import card_data_findings
from tests.card_number_cases import CARD_SHAPED_RUNS_IN_LONGER_NUMBERS, ORDINARY_TEXTS, TEST_PANS
from tests.conftest import ENVIRONMENTS
from tests.helpers import FINDINGS_GROUP

REGEX_MAX_LENGTH = 200
REGEX_CHARACTERS = set(string.ascii_letters + string.digits + "_#=@/;,- " + "^$?[]{}|\\*+.")
NAME_MAX_LENGTH = 128
NAME = re.compile(r"^[A-Za-z0-9_-]+$")
PATTERN = re.compile(BARE_CARD_NUMBER_REGEX)


def test_the_regex_fits_the_documented_constraints():
    assert len(BARE_CARD_NUMBER_REGEX) <= REGEX_MAX_LENGTH
    assert set(BARE_CARD_NUMBER_REGEX) <= REGEX_CHARACTERS, (
        set(BARE_CARD_NUMBER_REGEX) - REGEX_CHARACTERS
    )
    # No parentheses are allowed: no group, no lookahead or lookbehind.
    assert "(" not in BARE_CARD_NUMBER_REGEX and ")" not in BARE_CARD_NUMBER_REGEX
    assert len(BARE_CARD_NUMBER) <= NAME_MAX_LENGTH and NAME.match(BARE_CARD_NUMBER)
    assert BARE_CARD_NUMBER not in {i.rsplit("/", 1)[-1] for i in CARD_DATA_IDENTIFIERS}


@pytest.mark.parametrize("pan", TEST_PANS)
def test_a_bare_card_number_is_found_without_a_keyword(pan):
    """Luhn-valid test numbers of the card networks, alone and inside a
    log line with no keyword near them."""
    assert PATTERN.fullmatch(pan)
    match = PATTERN.search(f'{{"order":"A-17","value":"{pan}","status":"declined"}}')
    assert match and match.group() == pan


@pytest.mark.parametrize("text", ORDINARY_TEXTS)
def test_what_it_does_not_mask(text):
    assert PATTERN.search(text) is None


def test_what_it_cannot_exclude():
    """No Luhn check and no digit boundary (no lookarounds): a 16-digit
    order number behind a card prefix is masked, and so is the card-shaped
    part of a longer digit run. Over-masking, never a PAN in clear."""
    assert PATTERN.fullmatch("4000123412341234")  # Luhn-invalid
    for run in CARD_SHAPED_RUNS_IN_LONGER_NUMBERS:
        assert PATTERN.search(f"reference {run}") is not None, run
    # A card-shaped run after any other digit is masked too.
    assert PATTERN.search("trace 9411111111111111").group() == "411111111111111"
    # An epoch in nanoseconds holds a card-shaped run from its third digit.
    assert PATTERN.search("1733590800123456789").group() == "3590800123456789"


def _policies(stack):
    return {
        body["log_group_name"]: json.loads(body["policy_document"])
        for body in stack.resources("aws_cloudwatch_log_data_protection_policy").values()
    }


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_every_policy_masks_bare_card_numbers_and_sends_findings(stacks, environments, env_name):
    env = environments[env_name]
    protected = 0
    for name, stack in stacks.items():
        groups = stack.resources("aws_cloudwatch_log_group")
        if not stack.name.startswith(f"{env.prefix}-") or not groups:
            continue
        # One findings group per stack with log groups, under a key.
        findings = groups[FINDINGS_GROUP]
        assert findings["name"] == card_data_findings_log_group(name)
        assert findings["kms_key_id"], f"{name}: findings group unencrypted"
        if not name.endswith("-baseline"):
            assert findings["retention_in_days"] == env.log_retention_days
        findings_ref = f"${{aws_cloudwatch_log_group.{FINDINGS_GROUP}.name}}"
        for group, document in _policies(stack).items():
            custom = document["Configuration"]["CustomDataIdentifier"]
            assert custom == [{"Name": BARE_CARD_NUMBER, "Regex": BARE_CARD_NUMBER_REGEX}]
            audit, mask = document["Statement"]
            # Both statements name the same identifiers (PutDataProtectionPolicy).
            assert BARE_CARD_NUMBER in audit["DataIdentifier"]
            assert audit["DataIdentifier"] == mask["DataIdentifier"]
            assert "Deidentify" in mask["Operation"]
            destination = audit["Operation"]["Audit"]["FindingsDestination"]
            if group == findings_ref:
                assert destination == {}  # findings hold positions, not values
            else:
                assert destination == {"CloudWatchLogs": {"LogGroup": findings_ref}}
                protected += 1
    assert protected >= 1


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_card_data_findings_alarm_the_on_call_in_the_production_tier(
    stacks, environments, env_name
):
    """D75 (#25 item 5: findings went nowhere): in the production tier each
    findings group of the stacks the pipeline applies counts every report
    in one metric of the environment (metric filter, empty pattern: every
    event; CloudWatch Logs user guide, "Filter pattern syntax for metric
    filters",
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntaxForMetricFilters.html),
    and one finding in one period alarms on the alarm topic, on ALARM and
    OK. Other tiers log test card numbers: no filter, no alarm."""
    env = environments[env_name]
    metric = card_data_findings(env.prefix)
    filters = []
    for name, stack in stacks.items():
        if not name.startswith(f"{env.prefix}-") or stack_part(name) not in PIPELINE_APPLIED_PARTS:
            continue
        found = list(stack.resources("aws_cloudwatch_log_metric_filter").values())
        if FINDINGS_GROUP in stack.resources("aws_cloudwatch_log_group") and env.is_production:
            [body] = found
            assert body["log_group_name"] == f"${{aws_cloudwatch_log_group.{FINDINGS_GROUP}.name}}"
            assert body["pattern"] == ""
            assert body["metric_transformation"] == {
                "name": metric.name,
                "namespace": metric.namespace,
                "value": "1",
            }
            filters.append(name)
        else:
            assert not found, name
    services = stacks[f"{env.prefix}-services"]
    alarms = [
        a
        for a in services.resources("aws_cloudwatch_metric_alarm").values()
        if a["alarm_name"] == f"{env.prefix}-card-data-findings"
    ]
    if not env.is_production:
        assert not alarms and not filters
        return
    assert filters, "no findings group counts its findings"
    [alarm] = alarms
    assert (alarm["namespace"], alarm["metric_name"], alarm["statistic"]) == (
        metric.namespace,
        metric.name,
        "Sum",
    )
    assert alarm["comparison_operator"] == "GreaterThanThreshold" and alarm["threshold"] == 0
    assert alarm["evaluation_periods"] == 1 and alarm["treat_missing_data"] == "notBreaching"
    [topic_key] = services.resources("aws_sns_topic")
    topic = f"${{aws_sns_topic.{topic_key}.arn}}"
    assert alarm["alarm_actions"] == [topic] and alarm["ok_actions"] == [topic]
