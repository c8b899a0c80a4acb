"""Rollback alarms proven by replay (#24): failures replayed through the
synthesized alarms of every configured environment (tests/alarm_replay.py
for the model and its sources; docs/decisions.md D44).

Delays (both undocumented by AWS): ALB metric arrival 0-3 minutes
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
documents only the 60 s reporting interval) and CodeDeploy's reading of
alarm states 0-1 minute
(https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-rollback-and-redeploy.html).
Each scenario runs with green on either target group (they alternate).

Targets (issue #24), per environment that rolls back on alarm, with
CodeDeploy reading alarm states 1 minute late:
* total failure of green (5xx storm, or connections refused while /health
  passes) stops a canary release before its canary ends, and a linear
  release before half the traffic has shifted, with arrival delays up to 2
  minutes;
* a 20 % regression on green stops it before 100 % has shifted;
* a healthy release and zero traffic trip nothing.
``test_largest_delay_per_target`` asserts, for every service, the largest
arrival delay at which each target still holds, and reports it (run with
``-s`` to read it). Green closing accepted connections or hanging shows
only in the load balancer's 5xx: caught only for a service alone behind
its load balancer (``test_closed_or_hung_connections_...``).
docs/observability.md's "Failures replayed" table is checked against the
replay of the example configuration (``test_the_documented_figures_...``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import alarm_replay as ar
from tests.conftest import CONFIGURED, ENVIRONMENTS, EXAMPLE, EXAMPLE_ENVIRONMENTS

DELAYS = [(arrival, poll) for arrival in range(0, 4) for poll in (0.0, 1.0)]
GREEN = (0, 1)  # green on the deployment group's first or second target group

TOTAL_FAILURES = ("5xx storm on green", ar.REFUSES)
REGRESSION = "20% error regression on green"
#: The worst delays a target must survive: (arrival, poll) minutes.
CANARY_DELAY = (2, 1.0)
LINEAR_DELAY = (2, 1.0)
REGRESSION_DELAY = (1, 1.0)
#: Share of traffic on green a total failure must be stopped below, and the
#: delays it must survive, per kind of configuration. All at once exposes
#: everything at once: it must still stop.
TOTAL_FAILURE_TARGET = {
    "Canary": (100.0, CANARY_DELAY),  # still in the canary step
    "Linear": (50.0, LINEAR_DELAY),
    "AllAtOnce": (101.0, CANARY_DELAY),
}


def _kind(config_name: str) -> str:
    return re.search(r"ECS(AllAtOnce|Linear|Canary)", config_name)[1]  # type: ignore[index]


@pytest.fixture(scope="module")
def releases(stacks):
    """env name -> service -> ServiceRelease, read from the synthesized JSON."""
    return {
        env: ar.service_releases(stacks[f"payment-{env}-services"].json) for env in ENVIRONMENTS
    }


@pytest.fixture(scope="module")
def example_releases(example_stacks, request):
    """The same for the example configuration: the configured releases (and
    their cached replays) when the configuration is the example."""
    if CONFIGURED == EXAMPLE:
        return request.getfixturevalue("releases")
    return {
        env: ar.service_releases(example_stacks[f"payment-{env}-services"].json)
        for env in EXAMPLE_ENVIRONMENTS
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
    # CodeDeploy user guide, "Deployment configurations on an Amazon ECS
    # compute platform" (predefined canary, linear and all-at-once):
    # https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html#deployment-configuration-ecs
    assert [
        ar.green_percent("CodeDeployDefault.ECSCanary10Percent5Minutes", m) for m in (-1, 0, 4, 5)
    ] == [0, 10, 10, 100]
    assert [
        ar.green_percent("CodeDeployDefault.ECSLinear10PercentEvery1Minutes", m)
        for m in (0, 3, 4, 9)
    ] == [10, 40, 50, 100]
    assert [
        ar.green_percent("CodeDeployDefault.ECSLinear10PercentEvery3Minutes", m)
        for m in (0, 2, 3, 12, 27)
    ] == [10, 10, 20, 50, 100]
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


def test_green_latency_x5_stops_the_release(releases, environments, env_name):
    env, per_service = _watched(releases, environments, env_name)
    for release in per_service.values():
        for green in GREEN:
            outcome = _stop(release, env, "green latency x5", *REGRESSION_DELAY, green)
            assert outcome.stopped_at is not None, (release.service, outcome)


def _alone_behind_its_load_balancer(release) -> bool:
    return set(release.neighbours) == set(release.target_groups)


@pytest.mark.parametrize("delay", [(0, 0.0), CANARY_DELAY])
def test_closed_or_hung_connections_are_caught_only_where_the_load_balancer_is_the_services_own(
    releases, environments, env_name, delay
):
    # A target that accepts a connection and then closes it, or never
    # answers, gives the client a 502/504 of the load balancer: counted in
    # HTTPCode_ELB_5XX_Count, which exists per load balancer only, and not in
    # TargetConnectionErrorCount (connections "not successfully established")
    # nor in TargetResponseTime (no answer). CloudWatch ALB metrics:
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
    # ALB troubleshooting, HTTP 502 / 504:
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html
    # Only a service alone behind its load balancer has that load balancer's
    # 5xx rate in its rollback set (stacks/services.py rollback_alarms): the
    # release is stopped when that alarm fires while CodeDeploy watches (its
    # configured periods: not always before blue terminates, e.g. all at
    # once with a short wait); elsewhere no rollback alarm ever sees it
    # (D71). Replayed for an hour, past any shift and wait.
    env, per_service = _watched(releases, environments, env_name)
    case = ar.scenarios(env)[ar.CLOSES_OR_HANGS]
    for release in per_service.values():
        alone = _alone_behind_its_load_balancer(release)
        assert ar.sees_load_balancer_5xx(release) == alone, release.service
        for green in GREEN:
            outcome = ar.replay(release, env, case, ar.Replay(*delay, green), until_minute=60)
            if alone:
                assert outcome.fired, (release.service, outcome)
                assert all(n.endswith("-elb-5xx-rate") for n in outcome.fired), outcome
            else:
                assert outcome.fired == {}, (release.service, outcome)


def test_refused_connections_are_seen_per_colour(releases, environments, env_name):
    # A refused connect is a target connection error of green's own target
    # group: the per-colour alarms see it whatever shares the load balancer.
    env, per_service = _watched(releases, environments, env_name)
    for release in per_service.values():
        for green in GREEN:
            outcome = _stop(release, env, ar.REFUSES, 0, 0.0, green)
            assert outcome.first_alarm is not None, (release.service, outcome)
            assert outcome.first_alarm.startswith(release_prefix(release)), (
                release.service,
                outcome,
            )


def release_prefix(release) -> str:
    """The name prefix of the service's own alarms (``<p>-<svc>-``)."""
    (own,) = {a.name for a in release.rollback_alarms if a.name.endswith("-failing-colour")}
    return own.removesuffix("failing-colour")


def test_blue_failing_after_the_shift_rolls_nothing_back(releases, environments, env_name):
    # Blue takes no traffic after the shift; a rollback would send all of it
    # to the failing tasks. No rollback alarm may fire; blue is terminated
    # after terminate_blue_after_minutes.
    env, per_service = _watched(releases, environments, env_name)
    for release in per_service.values():
        for green in GREEN:
            outcome = _stop(release, env, "blue fails after the shift", 0, 0.0, green)
            assert outcome.fired == {}, (release.service, outcome)


def _targets(env, release) -> list[tuple[str, float, tuple[int, float]]]:
    """(scenario, share of traffic on green the stop must stay below, worst
    (arrival, poll) delays) of each issue #24 target for ``release``."""
    kind = _kind(release.config_name)
    limit, delay = TOTAL_FAILURE_TARGET[kind]
    # The one-minute alarm catches a 20 % regression when its threshold is
    # below 20 %; a configuration that accepts 20 % for a minute gets the
    # sustained one, which must still stop the release.
    fast = env.alarms.failing_colour_percent < 20 and kind != "AllAtOnce"
    return [
        *((scenario, limit, delay) for scenario in TOTAL_FAILURES),
        (REGRESSION, 100.0 if fast else 101.0, REGRESSION_DELAY),
    ]


def largest_delay(release, env, scenario, poll, green, holds) -> int | None:
    """The largest arrival delay (0-3 minutes) up to which ``holds`` is true
    at every delay; None if it fails without delay."""
    best = None
    for arrival in range(0, 4):
        if holds(_stop(release, env, scenario, arrival, poll, green)):
            best = arrival
        else:
            break
    return best


def test_largest_delay_per_target(releases, environments, env_name, capsys):
    """For every service of an environment that rolls back on alarm: the
    largest arrival delay (0-3 minutes, CodeDeploy reading up to 1 minute
    late) at which each target holds, with green on either target group, is
    at least the delay the target must survive. Reported with ``-s``."""
    env, per_service = _watched(releases, environments, env_name)
    lines, short = [], []
    for service, release in sorted(per_service.items()):
        for scenario, limit, (arrival, poll) in _targets(env, release):

            def holds(outcome, limit=limit):
                return outcome.stopped_at is not None and outcome.green_percent_at_stop < limit

            delays = [largest_delay(release, env, scenario, poll, green, holds) for green in GREEN]
            worst = None if None in delays else min(d for d in delays if d is not None)
            lines.append(
                f"{env_name} {service} ({release.config_name}) {scenario}: largest arrival "
                f"delay {'none (fails at 0 min)' if worst is None else f'{worst} min'} "
                f"(needs {arrival})"
            )
            if worst is None or worst < arrival:
                short.append(lines[-1])
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert not short, "targets that do not hold at their delay:\n" + "\n".join(short)


# -- docs/observability.md "Failures replayed" ------------------------------

OBSERVABILITY = Path(__file__).resolve().parents[1] / "docs" / "observability.md"
#: The two delays the table states figures for: none, and the worst a target
#: must survive (2 minutes arrival, 1 minute poll).
DOCUMENTED_DELAYS = ((0, 0.0), CANARY_DELAY)


def _replayed_rows() -> tuple[list[str], list[list[str]]]:
    """Header and rows of the table under "### Failures replayed"."""
    text = OBSERVABILITY.read_text()
    section = text.split("### Failures replayed", 1)[1].split("\n#", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header, *rows = ([c.strip() for c in line.strip("|").split("|")] for line in lines)
    return header, [row for row in rows if not set("".join(row)) <= set("-")]


def _documented_alarm(name: str, env, release) -> str:
    """``payment-prod-payment-api-failing-colour`` -> ``<svc>-failing-colour``."""
    short = name.removeprefix(f"{env.prefix}-")
    short = re.sub(rf"^{re.escape(release.service)}-", "<svc>-", short)
    return re.sub(r"^(public|internal)-alb-", "<lb>-alb-", short)


def _documented_figures(outcomes) -> str:
    """``fires min F0 / F2, stops at P0 % / P2 %`` (minute the first rollback
    alarm fires, share of traffic on green when CodeDeploy stops), for no
    delay / the worst delays; ``-`` when nothing fires at either."""
    if all(o.first_alarm is None for o in outcomes):
        return "-"

    def number(value, unit: str = "") -> str:
        return "never" if value is None else f"{value:g}{unit}"

    fired = " / ".join(number(o.fired.get(o.first_alarm or "")) for o in outcomes)
    shares = " / ".join(number(o.green_percent_at_stop, " %") for o in outcomes)
    return f"fires min {fired}, stops at {shares}"


def _services_of(cell: str, per_service) -> set[str]:
    """Which services a row's "Services" cell names: every service, those
    alone behind their load balancer, or those sharing it."""
    groups = {
        "every service": lambda r: True,
        "alone behind its load balancer": _alone_behind_its_load_balancer,
        "sharing its load balancer": lambda r: not _alone_behind_its_load_balancer(r),
    }
    kind = next((k for k in groups if cell.startswith(k)), None)
    assert kind is not None, f"Services cell {cell!r}: starts with one of {sorted(groups)}"
    members = {name for name, release in per_service.items() if groups[kind](release)}
    named = set(re.findall(r"`([^`]+)`", cell))
    assert not named or named == members, f"Services cell {cell!r} names {named}, not {members}"
    return members


def test_the_documented_figures_are_the_replays(example_releases, example_environments):
    # Every scenario of tests/alarm_replay.py has rows covering every
    # service once; each row's alarm and figures are what the replay of the
    # example configuration (the shipped one) computes, for both target
    # groups as green.
    header, rows = _replayed_rows()
    columns = {
        i: name
        for i, title in enumerate(header)
        for name in EXAMPLE_ENVIRONMENTS
        if title.split(" ")[0] == name and example_environments[name].deployment.rollback_on_alarm
    }
    watched = [
        n for n in EXAMPLE_ENVIRONMENTS if example_environments[n].deployment.rollback_on_alarm
    ]
    assert sorted(columns.values()) == sorted(watched), header
    per_env = {name: example_releases[name] for name in watched}
    any_env = example_environments[watched[0]]
    covered: dict[str, list[str]] = {name: [] for name in ar.scenarios(any_env)}
    for row in rows:
        scenario, services, alarm_cell = row[0], row[1], row[2]
        where = f"docs/observability.md, Failures replayed, row {scenario!r} ({services})"
        assert scenario in covered, f"{where}: not a scenario of tests/alarm_replay.py"
        for column, name in columns.items():
            env = example_environments[name]
            releases_here = per_env[name]
            members = _services_of(services, releases_here)
            covered[scenario] += [f"{name}/{m}" for m in members]
            for service in sorted(members):
                release = releases_here[service]
                for green in GREEN:
                    outcomes = [
                        _stop(release, env, scenario, *delay, green) for delay in DOCUMENTED_DELAYS
                    ]
                    first = next((o.first_alarm for o in outcomes if o.first_alarm), None)
                    alarm = "none" if first is None else _documented_alarm(first, env, release)
                    said = re.findall(r"`([^`]+)`", alarm_cell)
                    said_alarm = "none" if alarm_cell.startswith("none") else (said or [""])[0]
                    assert said_alarm == alarm, (
                        f"{where}: alarm {said_alarm!r}, the replay's first is {alarm!r} "
                        f"({name} {service}, green on target group {green})"
                    )
                    figures = _documented_figures(outcomes)
                    assert row[column] == figures, (
                        f"{where}, {name}: says {row[column]!r}, the replay gives {figures!r} "
                        f"({service}, green on target group {green})"
                    )
    everyone = sorted(f"{n}/{s}" for n in watched for s in per_env[n])
    for scenario, seen in covered.items():
        assert sorted(seen) == everyone, (
            f"docs/observability.md, Failures replayed: scenario {scenario!r} covers "
            f"{sorted(seen)}, not every service once ({everyone})"
        )
