"""Card numbers in URLs are blocked before the load balancer forwards them,
and someone hears of it (#25 item 5, D77; PCI DSS 3.3.1, 3.4.1).

The web ACL's first rule matches the card-number shapes that CloudWatch Logs
masks (modules/card_numbers.py, one definition), in AWS WAF's regex dialect,
in the URL path and the query string after ``URL_DECODE``; its blocks raise
an alarm on the alarm topic. Facts: AWS WAF regex syntax (PCRE without
capturing groups, backreferences, atomic groups or possessive quantifiers;
"some zero-width assertions, but not all"):
https://docs.aws.amazon.com/waf/latest/developerguide/waf-regex-pattern-support.html;
at most 10 patterns per set, 200 characters per pattern (quotas):
https://docs.aws.amazon.com/waf/latest/developerguide/limits.html; text
transformations:
https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-transformation.html;
the metric's dimensions (``Region``, ``Rule``, ``WebACL``):
https://docs.aws.amazon.com/waf/latest/developerguide/waf-metrics.html.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

import pytest

from config.naming import alarm_topic_name
from modules.card_numbers import BLOCKING_REGEX, CARD_NUMBER_SHAPES, MASKING_REGEX
from modules.load_balancer import CARD_NUMBER_FIELDS, CARD_NUMBER_RULE, MANAGED_RULE_GROUPS
from tests.card_number_cases import CARD_SHAPED_RUNS_IN_LONGER_NUMBERS, ORDINARY_TEXTS, TEST_PANS
from tests.conftest import ENVIRONMENTS, stack
from tests.services_helpers import ref

BLOCKING = re.compile(BLOCKING_REGEX)
MASKING = re.compile(MASKING_REGEX)
WAF_PATTERN_MAX_LENGTH = 200
WAF_PATTERNS_PER_SET = 10


def blocked(path: str, query: str = "") -> bool:
    """What the rule decides: either component matches after one URL_DECODE."""
    return any(BLOCKING.search(unquote(part)) for part in (path, query))


# -- the regex ----------------------------------------------------------------------


def test_the_waf_regex_is_the_masking_shapes_within_a_digit_boundary():
    """One definition: the same alternatives, the same order; only the
    boundary is added, spelled without constructs AWS WAF refuses."""
    assert MASKING_REGEX == "|".join(CARD_NUMBER_SHAPES)
    assert BLOCKING_REGEX == rf"(?:^|\D)(?:{MASKING_REGEX})(?:\D|$)"
    assert len(BLOCKING_REGEX) <= WAF_PATTERN_MAX_LENGTH
    # Every group is non-capturing: AWS WAF supports no capturing group.
    assert BLOCKING_REGEX.count("(") == BLOCKING_REGEX.count("(?:")
    # No lookaround (only some zero-width assertions are supported), atomic
    # group, backreference or possessive quantifier.
    for construct in ("(?=", "(?!", "(?<", "(?>", "\\1", "\\K", "\\R", "\\C", "}+", "++", "*+"):
        assert construct not in BLOCKING_REGEX, construct


@pytest.mark.parametrize("pan", TEST_PANS)
def test_a_card_number_in_the_path_or_query_is_blocked_and_masked(pan):
    """The masking tests' card numbers: the WAF regex finds each where a
    client would put it, and CloudWatch Logs masks each."""
    assert MASKING.search(pan)
    assert blocked(f"/v1/cards/{pan}")
    assert blocked(f"/v1/cards/{pan}/verify")
    assert blocked("/v1/payments", f"pan={pan}&amount=100")
    assert blocked("/v1/payments", f"card={pan}")
    # Percent-encoded digits are digits again after URL_DECODE, and only then.
    encoded = "".join(f"%{ord(c):02X}" for c in pan)
    assert blocked("/v1/payments", f"pan={encoded}")
    assert not BLOCKING.search(f"pan={encoded}")


@pytest.mark.parametrize("text", ORDINARY_TEXTS)
def test_ordinary_ids_are_neither_blocked_nor_masked(text):
    assert not blocked(f"/v1/orders/{quote(text, safe='')}", f"ref={quote(text, safe='')}")
    assert MASKING.search(text) is None


@pytest.mark.parametrize("run", CARD_SHAPED_RUNS_IN_LONGER_NUMBERS)
def test_the_one_difference_a_longer_number_is_masked_in_part_never_blocked(run):
    """A block fails a request, so the WAF regex wants the whole digit run
    card-shaped; masking hides any card-shaped part."""
    assert MASKING.search(run)
    assert not blocked(f"/v1/events/{run}", f"since={run}")


def test_otherwise_both_regexes_match_the_same_strings():
    """Over every case in every position: a string the WAF regex matches is
    masked; a masked run bounded by non-digits is blocked."""
    values = [*TEST_PANS, *ORDINARY_TEXTS, *CARD_SHAPED_RUNS_IN_LONGER_NUMBERS]
    values += ["4000123412341234", "51234", "3" * 19, "6" * 16, "40000000000000000000"]
    for value in values:
        for text in (value, f"/x/{value}", f"a={value}&b=1", f"id{value}z", f"{value}/"):
            if BLOCKING.search(text):
                assert MASKING.search(text), text
            whole_runs = re.findall(r"\d+", text)
            if any(MASKING.fullmatch(r) for r in whole_runs):
                assert BLOCKING.search(text), text


# -- the synthesized rule, pattern set and alarm ------------------------------------


def _web_acl(services) -> tuple[str, dict]:
    (key, acl), *_ = services.resources("aws_wafv2_web_acl").items()
    return key, acl


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_the_web_acl_blocks_card_numbers_first(stacks, environments, env_name):
    env = environments[env_name]
    services = stack(stacks, env_name, "services")
    if not env.load_balancer.waf:
        assert services.resources("aws_wafv2_regex_pattern_set") == {}
        return
    ((set_key, patterns),) = services.resources("aws_wafv2_regex_pattern_set").items()
    assert patterns["scope"] == "REGIONAL"
    assert patterns["regular_expression"] == [{"regex_string": BLOCKING_REGEX}]
    assert len(patterns["regular_expression"]) <= WAF_PATTERNS_PER_SET
    _, acl = _web_acl(services)
    rules = {r["name"]: r for r in acl["rule"]}
    rule = rules[CARD_NUMBER_RULE]
    assert rule["action"] == {"block": {}}
    # Before every other rule, so every such request is counted by its metric.
    assert all(rule["priority"] < r["priority"] for n, r in rules.items() if n != CARD_NUMBER_RULE)
    assert len({r["priority"] for r in acl["rule"]}) == len(acl["rule"])
    assert set(rules) == {CARD_NUMBER_RULE, *MANAGED_RULE_GROUPS, "rate-limit-per-ip"}
    statements = rule["statement"]["or_statement"]["statement"]
    assert [s["regex_pattern_set_reference_statement"]["field_to_match"] for s in statements] == [
        {field: {}} for field in CARD_NUMBER_FIELDS
    ]
    assert set(CARD_NUMBER_FIELDS) == {"uri_path", "query_string"}
    for s in statements:
        reference = s["regex_pattern_set_reference_statement"]
        assert reference["arn"] == ref("aws_wafv2_regex_pattern_set", set_key, "arn")
        assert reference["text_transformation"] == [{"priority": 0, "type": "URL_DECODE"}]
    visibility = rule["visibility_config"]
    assert visibility["cloudwatch_metrics_enabled"] is True
    # A sampled request would keep the card number for the console.
    assert visibility["sampled_requests_enabled"] is False


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_a_blocked_card_number_notifies_the_alarm_topic(stacks, environments, env_name):
    env = environments[env_name]
    services = stack(stacks, env_name, "services")
    alarms = [
        a
        for a in services.resources("aws_cloudwatch_metric_alarm").values()
        if a["alarm_name"] == f"{env.prefix}-card-number-in-url"
    ]
    if not env.load_balancer.waf:
        assert alarms == []
        return
    (alarm,) = alarms
    _, acl = _web_acl(services)
    (rule,) = [r for r in acl["rule"] if r["name"] == CARD_NUMBER_RULE]
    assert alarm["namespace"] == "AWS/WAFV2"
    assert alarm["metric_name"] == "BlockedRequests"
    assert alarm["statistic"] == "Sum"
    assert alarm["dimensions"] == {
        "Region": env.region,
        "Rule": rule["visibility_config"]["metric_name"],
        "WebACL": acl["name"],
    }
    # One blocked request in one period is enough.
    assert alarm["comparison_operator"] == "GreaterThanThreshold"
    assert alarm["threshold"] == 0
    assert alarm["evaluation_periods"] == alarm["datapoints_to_alarm"] == 1
    assert alarm["treat_missing_data"] == "notBreaching"
    ((topic_key, topic),) = services.resources("aws_sns_topic").items()
    assert topic["name"] == alarm_topic_name(env)
    assert alarm["alarm_actions"] == [ref("aws_sns_topic", topic_key, "arn")]
