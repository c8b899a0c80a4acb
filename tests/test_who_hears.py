"""Who hears about it (#24, D51): every environment names its alarm
subscribers or says why it has none, and the production tier pages when a
custom scaling metric stops arriving."""

from __future__ import annotations

import dataclasses

from config.model import PRODUCTION, validate_environment
from modules.observability.alarms import METRIC_ABSENT_MINUTES
from tests import alarm_replay as ar
from tests.fixtures.example import DEV, PROD, STAGING
from tests.services_helpers import find, path_of


def _with_alarms(env, **changes):
    return dataclasses.replace(env, alarms=dataclasses.replace(env.alarms, **changes))


def _problems(env) -> str:
    problems = validate_environment(env)
    assert problems
    return "\n".join(problems)


# -- configuration ---------------------------------------------------------------


def test_every_configured_environment_has_subscribers_or_a_reason(environments):
    for env in environments.values():
        assert env.alarms.emails or env.alarms.unsubscribed_reason, env.name
        if env.is_production or env.deployment.rollback_on_alarm:
            assert env.alarms.emails, env.name


def test_the_example_pages_prod_and_staging_and_dev_says_why_not():
    assert PROD.alarms.emails and STAGING.alarms.emails
    assert not DEV.alarms.emails and DEV.alarms.unsubscribed_reason
    for env in (DEV, STAGING, PROD):
        assert validate_environment(env) == []  # compliant


def test_production_tier_refuses_no_subscriber_even_with_a_reason():
    assert "prod.alarms.emails: () is not allowed in the production tier" in _problems(
        _with_alarms(PROD, emails=())
    )
    assert "not allowed in the production tier" in _problems(
        _with_alarms(PROD, emails=(), unsubscribed_reason="nobody cares")
    )


def test_rolling_back_on_alarm_needs_a_subscriber_in_any_tier():
    assert STAGING.tier != PRODUCTION and STAGING.deployment.rollback_on_alarm
    message = _problems(_with_alarms(STAGING, emails=(), unsubscribed_reason="read the console"))
    assert "rolls back on alarm" in message


def test_no_subscriber_without_a_reason_is_refused():
    assert "without unsubscribed_reason is not allowed" in _problems(
        _with_alarms(DEV, unsubscribed_reason=None)
    )
    assert "say why" in _problems(_with_alarms(DEV, unsubscribed_reason="  "))


def test_a_reason_next_to_addresses_is_refused():
    assert "not allowed next to emails" in _problems(
        _with_alarms(DEV, emails=("dev@payments.test",))
    )


# -- metric absent -----------------------------------------------------------------


def _absent_alarms(svc_stack) -> dict[str, dict]:
    return {
        path_of(a).split("/")[1].removeprefix("alarms-"): a
        for a in svc_stack.resources("aws_cloudwatch_metric_alarm").values()
        if path_of(a).endswith("/alarms/custom-metric-absent")
    }


def test_metric_absent_alarm_exactly_for_custom_metrics_in_the_production_tier(svc_stack, env):
    absent = _absent_alarms(svc_stack)
    expected = (
        {s.name for s in env.services if s.custom_metric is not None}
        if env.is_production
        else set()
    )
    assert set(absent) == expected
    for service, body in absent.items():
        metric = env.service(service).custom_metric
        _, custom = find(
            svc_stack, "aws_cloudwatch_metric_alarm", f"alarms-{service}/alarms/custom-metric"
        )
        assert (body["namespace"], body["metric_name"]) == (metric.namespace, metric.name)
        (backlog,) = (q["metric"] for q in custom["metric_query"] if q["id"] == "backlog")
        assert body["dimensions"] == backlog["dimensions"]  # the metric the service publishes
        assert body["statistic"] == "SampleCount"
        assert body["alarm_name"] == f"{env.prefix}-{service}-{metric.name}-absent"
        assert body["treat_missing_data"] == "breaching"


def test_the_example_prod_has_metric_absent_alarms(example_stacks):
    prod = example_stacks["payment-prod-services"]
    assert len(_absent_alarms(prod)) == sum(s.custom_metric is not None for s in PROD.services) > 0
    assert _absent_alarms(example_stacks["payment-dev-services"]) == {}


def test_metric_absent_fires_after_silence_and_not_while_zero_is_published(example_stacks):
    """Replayed with tests/alarm_replay.py: a metric that never arrives
    fires after METRIC_ABSENT_MINUTES; a service publishing 0 every minute
    (SampleCount 1) never does, nor one that misses fewer minutes."""
    key, body = next(iter(_absent_alarms(example_stacks["payment-prod-services"]).items()))
    alarm = ar.read_alarm(key, body)
    assert alarm.period_seconds == 60 and alarm.evaluation_periods == METRIC_ABSENT_MINUTES
    horizon = range(0, 3 * METRIC_ABSENT_MINUTES)

    def first_alarm(values: dict[int, float | None]) -> int | None:
        return next((now for now in horizon if ar.in_alarm(alarm, values, now, 0)), None)

    assert first_alarm({j: None for j in horizon}) == METRIC_ABSENT_MINUTES
    assert first_alarm({j: 1.0 for j in horizon}) is None
    gaps = {j: (None if j % METRIC_ABSENT_MINUTES else 1.0) for j in horizon}
    assert first_alarm(gaps) is None
    stops = {j: (1.0 if j < 5 else None) for j in horizon}
    assert first_alarm(stops) == 5 + METRIC_ABSENT_MINUTES
