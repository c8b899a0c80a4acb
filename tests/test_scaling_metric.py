"""Request-based scaling follows traffic across both target groups (#24, D51);
custom-metric scaling holds its target per running task (#24 item 6, D58).

The synthesized ``scale-on-requests`` policy of every service is read from
the JSON and its metric math evaluated with tests/alarm_replay.py (the same
metric-math subset the alarms use; anything else is refused): the figure
target tracking holds is requests per running task whichever target group
carries the traffic. ``ALBRequestCountPerTarget`` named the blue target
group only: after a release that left traffic on green it had no
datapoint (containers-roadmap #1681).
ALB publishes a count only when it is not zero (ALB metrics reference,
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html):
a colour without traffic is no datapoint (None) here.
"""

from __future__ import annotations

import pytest

from tests import alarm_replay as ar
from tests.services_helpers import path_of


def _policies(svc_stack, kind: str) -> dict[str, dict]:
    """Service -> the customized metric of its ``scale-on-<kind>`` policy."""
    return {
        path_of(p).split("/")[1].removeprefix("service-"): p[
            "target_tracking_scaling_policy_configuration"
        ]["customized_metric_specification"]
        for p in svc_stack.resources("aws_appautoscaling_policy").values()
        if path_of(p).endswith(f"/scale-on-{kind}")
    }


def _requests_policies(svc_stack) -> dict[str, dict]:
    return _policies(svc_stack, "requests")


def _per_task(spec: dict, values: dict[str, float | None]) -> float | None:
    """The returned expression's value, the expressions evaluated in order."""
    queries = spec["metrics"]
    known = dict(values)
    returned = None
    for q in queries:
        if "expression" in q:
            known[q["id"]] = ar.evaluate(ar.parse(q["expression"]), known)
            if q["return_data"]:
                returned = q["id"]
    assert returned is not None
    return known[returned]


@pytest.mark.parametrize(
    ("blue", "green", "tasks", "expected"),
    [
        (1200.0, None, 4.0, 300.0),  # all traffic on blue
        (None, 1200.0, 4.0, 300.0),  # all on green: the old policy saw nothing
        (120.0, 1080.0, 4.0, 300.0),  # a canary: both count
        (None, None, 4.0, 0.0),  # no traffic: 0 per task (votes for scale-in)
        (1200.0, None, None, None),  # Container Insights silent: no datapoint
    ],
    ids=["blue-live", "green-live", "canary", "no-traffic", "no-task-count"],
)
def test_requests_per_task_whichever_colour_is_live(svc_stack, env, blue, green, tasks, expected):
    policies = _requests_policies(svc_stack)
    assert set(policies) == {s.name for s in env.services}
    for service, spec in policies.items():
        ids = [q["id"] for q in spec["metrics"] if "metric_stat" in q]
        assert ids == ["r0", "r1", "tasks"], service
        got = _per_task(spec, {"r0": blue, "r1": green, "tasks": tasks})
        assert got == expected, service


def test_the_old_single_target_group_metric_had_nothing_on_green():
    """ALBRequestCountPerTarget on blue (as before D51), traffic on green."""
    assert ar.evaluate(ar.parse("r0 / tasks"), {"r0": None, "tasks": 4.0}) is None


def test_an_expression_outside_the_subset_is_refused():
    with pytest.raises(ar.UnsupportedExpression):
        ar.parse("SUM(METRICS()) / tasks")


# -- custom metric: a service total, held per running task (D58) ----------------
# Application Auto Scaling user guide, "Create a target tracking scaling
# policy for Application Auto Scaling using metric math",
# https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking-metric-math.html
# (its example divides a queue's backlog by the running task count).


@pytest.mark.parametrize(
    ("backlog", "tasks", "expected"),
    [
        (100.0, 4.0, 25.0),  # 100 messages, 4 tasks: 25 each
        (0.0, 4.0, 0.0),  # idle (the service publishes 0)
        (None, 4.0, None),  # nothing published: no datapoint, no scaling
        (100.0, None, None),  # Container Insights silent: no datapoint
    ],
    ids=["100-over-4", "idle", "no-backlog", "no-task-count"],
)
def test_custom_metric_scales_on_the_backlog_per_running_task(
    svc_stack, env, backlog, tasks, expected
):
    policies = _policies(svc_stack, "custom")
    assert set(policies) == {s.name for s in env.services if s.custom_metric is not None}
    for service, spec in policies.items():
        ids = [q["id"] for q in spec["metrics"] if "metric_stat" in q]
        assert ids == ["backlog", "tasks"], service
        assert spec["metrics"][-1]["return_data"], service
        assert _per_task(spec, {"backlog": backlog, "tasks": tasks}) == expected, service


def _custom_alarms(svc_stack) -> dict[str, ar.Alarm]:
    return {
        path_of(body).split("/")[1].removeprefix("alarms-"): ar.read_alarm(key, body)
        for key, body in svc_stack.json["resource"]["aws_cloudwatch_metric_alarm"].items()
        if path_of(body).endswith("/alarms/custom-metric")
    }


def _fires_at(alarm: ar.Alarm, backlog: float, tasks: float, minutes: int = 15) -> float | None:
    """The minute the alarm fires with a steady ``backlog`` total on ``tasks``."""

    def source(metric: ar.MetricInput, minute: int) -> float | None:
        return tasks if metric.name == "RunningTaskCount" else backlog

    values = ar.alarm_values(alarm, source, 0, minutes, fill=False)
    return next(
        (float(now) for now in range(minutes + 1) if ar.in_alarm(alarm, values, now, 0)), None
    )


def test_custom_metric_alarm_reads_the_backlog_per_running_task(svc_stack, env):
    """Four tasks each at the target (a total of four targets) is scaling that
    keeps up: no alarm (the alarm on the total fired here, D58); four tasks
    each above the threshold fire after the evaluation periods."""
    alarms = _custom_alarms(svc_stack)
    assert set(alarms) == {s.name for s in env.services if s.custom_metric is not None}
    for service, alarm in alarms.items():
        metric = env.service(service).custom_metric
        assert _fires_at(alarm, backlog=4 * metric.target_value, tasks=4.0) is None, service
        assert _fires_at(alarm, backlog=4 * (alarm.threshold + 1), tasks=4.0) == (
            alarm.evaluation_periods * alarm.period_seconds / 60
        ), service
