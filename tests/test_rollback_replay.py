"""Rollback alarms proven by replay (#24): failures replayed through the
synthesized alarms of every configured environment (tests/alarm_replay.py
for the model and its sources; docs/decisions.md D44).

Delays (both undocumented by AWS): ALB metric arrival 0-3 minutes
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
documents only the 60 s reporting interval) and CodeDeploy's reading of
alarm states 0-1 minute
(https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-rollback-and-redeploy.html).
Each scenario runs with green on either target group (they alternate).

Targets (issue #24), per environment that rolls back on alarm:
* total failure of green (5xx storm, or connections closed while /health
  passes) stops a canary release before its canary ends with arrival delays
  up to 2 minutes (CodeDeploy reading up to 1 minute late), and a linear
  release before half the traffic has shifted (arrival delay 1 minute);
* a 20 % regression on green stops it before 100 % has shifted;
* a healthy release and zero traffic trip nothing.
``test_largest_delay_per_target`` reports the largest arrival delay at which
each target still holds (run with ``-s`` to read it).
"""

from __future__ import annotations

import re

import pytest

from tests import alarm_replay as ar
from tests.conftest import ENVIRONMENTS

DELAYS = [(arrival, poll) for arrival in range(0, 4) for poll in (0.0, 1.0)]
GREEN = (0, 1)  # green on the deployment group's first or second target group

TOTAL_FAILURES = ("5xx storm on green", "green closes connections, /health passes")
#: The worst delays a target must survive: (arrival, poll) minutes.
CANARY_DELAY = (2, 1.0)
LINEAR_DELAY = (1, 1.0)
REGRESSION_DELAY = (1, 1.0)


def _kind(config_name: str) -> str:
    return re.search(r"ECS(AllAtOnce|Linear|Canary)", config_name)[1]  # type: ignore[index]


@pytest.fixture(scope="module")
def releases(stacks):
    """env name -> service -> ServiceRelease, read from the synthesized JSON."""
    return {
        env: ar.service_releases(stacks[f"payment-{env}-services"].json) for env in ENVIRONMENTS
    }


def _watched(releases, environments, env_name):
    env = environments[env_name]
    if not env.deployment.rollback_on_alarm:
        pytest.skip(f"{env_name} does not roll back on alarm")
    return env, releases[env_name]


# -- the metric-math subset ------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "values", "expected"),
    [
        ("100 * FILL(e, 0) / (FILL(r, 0) + 1)", {"e": 5.0, "r": 99.0}, 5.0),
        ("FILL(e, 0) + FILL(c, 0)", {"e": None, "c": 3.0}, 3.0),
        ("e + c", {"e": None, "c": 3.0}, None),  # missing propagates
        ("e / r", {"e": 1.0, "r": 0.0}, None),  # division by zero: no datapoint
        ("IF(FILL(r, 0) >= 20, 100 * FILL(e, 0) / r, 0)", {"e": None, "r": None}, 0.0),
        ("IF(FILL(r, 0) >= 20, 100 * FILL(e, 0) / r, 0)", {"e": 2.0, "r": 19.0}, 0.0),
        ("IF(FILL(r, 0) >= 20, 100 * FILL(e, 0) / r, 0)", {"e": 4.0, "r": 20.0}, 20.0),
        ("MAX([a, b])", {"a": None, "b": 2.0}, 2.0),
        ("MAX([a, b])", {"a": None, "b": None}, None),
        ("MAX([FILL(l0, 0), FILL(l1, 0)])", {"l0": None, "l1": 0.4}, 0.4),
        ("desired - running", {"desired": 3.0, "running": 1.0}, 2.0),
        ("-a + 2", {"a": 1.0}, 1.0),
    ],
)
def test_metric_math_subset(expression, values, expected):
    # CloudWatch metric math syntax and functions:
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
    assert ar.evaluate(ar.parse(expression), values) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "RATE(m1)",
        "FILL(m1, REPEAT)",
        "FILL(m1, LINEAR)",
        "SUM([m1, m2])",
        "METRICS()",
        "SEARCH('{AWS/ApplicationELB} RequestCount', 'Sum', 60)",
        "MAX(m1)",
        "m1 ^ 2",
        "IF(m1 > 0, m1)",
    ],
)
def test_expressions_outside_the_subset_are_refused_with_their_text(expression):
    with pytest.raises(ar.UnsupportedExpression) as error:
        ar.parse(expression)
    assert repr(expression) in str(error.value)


def test_an_alarm_outside_the_subset_is_refused_naming_the_alarm():
    resource = {
        "alarm_name": "x-new-alarm",
        "comparison_operator": "GreaterThanThreshold",
        "evaluation_periods": 1,
        "threshold": 1,
        "metric_query": [
            {
                "id": "m",
                "metric": {"namespace": "N", "metric_name": "M", "stat": "Sum", "period": 60},
            },
            {"id": "rate", "expression": "RATE(m)", "return_data": True},
        ],
    }
    with pytest.raises(ar.UnsupportedExpression, match="x-new-alarm.*RATE"):
        ar.read_alarm("k", resource)


def test_all_inputs_missing_gives_no_datapoint_unless_fill_is_assumed():
    # The harness's definition (module docstring): no input datapoint at a
    # minute -> no expression datapoint; the other reading fills.
    alarm = ar.read_alarm(
        "k",
        {
            "alarm_name": "a",
            "comparison_operator": "GreaterThanThreshold",
            "evaluation_periods": 1,
            "threshold": -1,
            "metric_query": [
                {
                    "id": "e",
                    "metric": {"namespace": "N", "metric_name": "E", "stat": "Sum", "period": 60},
                },
                {"id": "rate", "expression": "FILL(e, 0)", "return_data": True},
            ],
        },
    )
    assert alarm.value({"e": None}, fill_when_all_missing=False) is None
    assert alarm.value({"e": None}, fill_when_all_missing=True) == 0.0


def test_every_synthesized_alarm_is_within_the_subset_and_cloudwatch_limits(stacks):
    # At most 10 metrics and 10 expressions per alarm (CloudWatch
    # PutMetricAlarm, Metrics); every expression parses, or this names it.
    for name, stack in stacks.items():
        if not name.endswith("-services"):
            continue
        for alarm in ar.all_alarms(stack.json):
            assert len(alarm.inputs) <= 10, alarm.name
            assert len(alarm.expressions) <= 10, alarm.name


def test_every_deployment_group_watches_at_most_10_alarms(releases):
    # CodeDeploy: up to 10 CloudWatch alarms per deployment group
    # (https://docs.aws.amazon.com/codedeploy/latest/userguide/monitoring-create-alarms.html).
    for per_service in releases.values():
        for release in per_service.values():
            assert len(release.rollback_alarms) <= 10, release.service


def test_traffic_schedule_of_the_predefined_configurations():
    assert [
        ar.green_percent("CodeDeployDefault.ECSCanary10Percent5Minutes", m) for m in (-1, 0, 4, 5)
    ] == [0, 10, 10, 100]
    assert [
        ar.green_percent("CodeDeployDefault.ECSLinear10PercentEvery1Minutes", m)
        for m in (0, 3, 4, 9)
    ] == [10, 40, 50, 100]
    assert ar.green_percent("CodeDeployDefault.ECSAllAtOnce", 0) == 100


# -- scenarios against each environment's deployment configuration ----------


@pytest.mark.parametrize("scenario", ["healthy release", "zero traffic"])
@pytest.mark.parametrize("fill", [False, True])
def test_healthy_and_zero_traffic_trip_nothing(releases, environments, env_name, scenario, fill):
    env, per_service = _watched(releases, environments, env_name)
    case = ar.scenarios(env)[scenario]
    for release in per_service.values():
        for arrival, poll in DELAYS:
            for green in GREEN:
                replay = ar.Replay(arrival, poll, green, fill_when_all_missing=fill)
                outcome = ar.replay(release, env, case, replay)
                assert outcome.fired == {} and outcome.already_alarming == [], (
                    release.service,
                    replay,
                    outcome,
                )


def _stop(release, env, scenario, arrival, poll, green):
    return ar.replay(release, env, ar.scenarios(env)[scenario], ar.Replay(arrival, poll, green))


@pytest.mark.parametrize("scenario", TOTAL_FAILURES)
def test_total_failure_of_green_stops_the_release_early(releases, environments, env_name, scenario):
    env, per_service = _watched(releases, environments, env_name)
    for release in per_service.values():
        kind = _kind(release.config_name)
        for green in GREEN:
            if kind == "Canary":
                outcome = _stop(release, env, scenario, *CANARY_DELAY, green)
                limit = 100.0  # still in the canary step
            elif kind == "Linear":
                outcome = _stop(release, env, scenario, *LINEAR_DELAY, green)
                limit = 50.0
            else:  # all at once: everything is exposed at once; it must still stop
                outcome = _stop(release, env, scenario, *CANARY_DELAY, green)
                limit = 101.0
            assert outcome.stopped_at is not None, (release.service, scenario, outcome)
            assert outcome.green_percent_at_stop < limit, (release.service, scenario, outcome)


def test_a_20_percent_regression_stops_before_all_traffic_has_shifted(
    releases, environments, env_name
):
    env, per_service = _watched(releases, environments, env_name)
    for release in per_service.values():
        for green in GREEN:
            outcome = _stop(release, env, "20% error regression on green", *REGRESSION_DELAY, green)
            assert outcome.stopped_at is not None, (release.service, outcome)
            # The one-minute alarm catches it when its threshold is below 20 %;
            # a configuration that accepts 20 % for a minute gets the sustained one.
            fast = env.alarms.failing_colour_percent < 20
            if fast and _kind(release.config_name) != "AllAtOnce":
                assert outcome.green_percent_at_stop < 100, (release.service, outcome)


def test_green_latency_x5_stops_the_release(releases, environments, env_name):
    env, per_service = _watched(releases, environments, env_name)
    for release in per_service.values():
        for green in GREEN:
            outcome = _stop(release, env, "green latency x5", *REGRESSION_DELAY, green)
            assert outcome.stopped_at is not None, (release.service, outcome)


def test_blue_failing_after_the_shift_rolls_nothing_back(releases, environments, env_name):
    # Blue takes no traffic after the shift; a rollback would send all of it
    # to the failing tasks. No rollback alarm may fire; blue is terminated
    # after terminate_blue_after_minutes.
    env, per_service = _watched(releases, environments, env_name)
    for release in per_service.values():
        for green in GREEN:
            outcome = _stop(release, env, "blue fails after the shift", 0, 0.0, green)
            assert outcome.fired == {}, (release.service, outcome)


def largest_delay(release, env, scenario, poll, green, holds) -> int | None:
    best = None
    for arrival in range(0, 4):
        if holds(_stop(release, env, scenario, arrival, poll, green)):
            best = arrival
        else:
            break
    return best


def test_largest_delay_per_target(releases, environments, capsys):
    """Reports, per environment and target, the largest arrival delay (0-3
    minutes, CodeDeploy reading 1 minute late) at which the target holds."""
    lines = []
    for env_name in ENVIRONMENTS:
        env = environments[env_name]
        if not env.deployment.rollback_on_alarm:
            continue
        release = releases[env_name][sorted(releases[env_name])[0]]
        kind = _kind(release.config_name)
        limits = {"Canary": 100.0, "Linear": 50.0, "AllAtOnce": 101.0}
        for scenario, limit in (
            ("5xx storm on green", limits[kind]),
            ("green closes connections, /health passes", limits[kind]),
            ("20% error regression on green", 100.0 if kind != "AllAtOnce" else 101.0),
        ):
            delays = {
                green: largest_delay(
                    release,
                    env,
                    scenario,
                    1.0,
                    green,
                    lambda o, limit=limit: (
                        o.stopped_at is not None and o.green_percent_at_stop < limit
                    ),
                )
                for green in GREEN
            }
            lines.append(
                f"{env_name} ({release.config_name}) {scenario}: largest arrival delay "
                + (
                    "none (fails at 0 min)"
                    if None in delays.values()
                    else f"{min(d for d in delays.values() if d is not None)} min"
                )
            )
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert lines or not any(e.deployment.rollback_on_alarm for e in environments.values())
