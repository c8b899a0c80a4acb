"""Database writer and reader alarms replayed (#24, docs/decisions.md D51):
the synthesized ``aws_cloudwatch_metric_alarm`` resources of the database
are evaluated minute by minute by tests/alarm_replay.py (period, evaluation
periods, datapoints to alarm, missing data) against Aurora instances whose
CPU the scenario sets.

The model of the ``AWS/RDS`` series (Aurora user guide, "Amazon CloudWatch
dimensions for Aurora",
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/dimensions.html):
``DBClusterIdentifier`` alone aggregates every instance of the cluster,
``DBClusterIdentifier`` + ``Role`` only the instances holding that role
(WRITER or READER); the statistic is taken over the instances' one-minute
datapoints (Average: their mean; Maximum: the busiest, as the cluster-level
Minimum/Maximum of EngineUptime report the extreme instances,
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_Reboot.Uptime.html).
"""

from __future__ import annotations

import dataclasses

import pytest

from tests import alarm_replay as ar

IDLE = 5.0
SATURATED = 100.0
MINUTES = 30


def _database_alarms(stack_json: dict) -> dict[str, ar.Alarm]:
    """Construct id (``writer-cpu``...) -> the alarm as CloudWatch evaluates it."""
    out = {}
    for key, body in stack_json["resource"]["aws_cloudwatch_metric_alarm"].items():
        path = body["//"]["metadata"]["path"]
        if "/alarms-database/alarms/" in path:
            out[path.rsplit("/", 1)[1]] = ar.read_alarm(key, body)
    return out


def _source(cpu_by_role: dict[str, list[float]]):
    """``cpu_by_role``: WRITER -> [its CPU], READER -> [each reader's CPU]."""

    def source(metric: ar.MetricInput, minute: int) -> float | None:
        if (metric.namespace, metric.name) != ("AWS/RDS", "CPUUtilization"):
            return None  # ACU, connections: not part of these scenarios
        role = dict(metric.dimensions).get("Role")
        values = cpu_by_role[role] if role else [*cpu_by_role["WRITER"], *cpu_by_role["READER"]]
        if not values:
            return None  # no instance holds the role: no datapoint
        if metric.stat == "Maximum":
            return max(values)
        if metric.stat == "Average":
            return sum(values) / len(values)
        raise ar.UnsupportedExpression(f"statistic {metric.stat!r} is not modelled here")

    return source


def _fires_at(alarm: ar.Alarm, cpu_by_role: dict[str, list[float]]) -> float | None:
    values = ar.alarm_values(alarm, _source(cpu_by_role), 0, MINUTES, fill=False)
    for now in range(0, MINUTES + 1):
        if ar.in_alarm(alarm, values, now, delay=0):
            return float(now)
    return None


@pytest.fixture
def db_alarms(svc_stack):
    return _database_alarms(svc_stack.json)


def test_a_saturated_writer_with_idle_readers_alarms(db_alarms, env):
    """The writer at 100 % CPU, every reader idle: ``db-writer-cpu`` fires
    after its evaluation periods, whatever the number of readers."""
    cpu = {"WRITER": [SATURATED], "READER": [IDLE] * env.database.reader_count}
    writer = db_alarms["writer-cpu"]
    fired = _fires_at(writer, cpu)
    assert fired == writer.evaluation_periods * writer.period_seconds / 60
    if "reader-cpu" in db_alarms:
        assert _fires_at(db_alarms["reader-cpu"], cpu) is None


def test_the_cluster_average_would_have_hidden_it(db_alarms, env):
    """The same alarm read on the cluster dimension with Average (before
    D51): the writer's 100 % is averaged with the idle readers and fires
    only when that mean still exceeds the threshold (never in a cluster with
    readers and the default 80 %)."""
    writer = db_alarms["writer-cpu"]
    (query,) = writer.inputs.values()
    cluster = dataclasses.replace(
        writer,
        inputs={
            "m": dataclasses.replace(
                query,
                dimensions=tuple(d for d in query.dimensions if d[0] != "Role"),
                stat="Average",
            )
        },
    )
    readers = env.database.reader_count
    cpu = {"WRITER": [SATURATED], "READER": [IDLE] * readers}
    mean = (SATURATED + IDLE * readers) / (1 + readers)
    assert (_fires_at(cluster, cpu) is not None) == cluster.breaches(mean)
    if readers >= 1 and env.alarms.db_cpu_percent >= mean:
        assert _fires_at(cluster, cpu) is None


def test_one_saturated_reader_alarms_even_beside_an_idle_one(db_alarms, env):
    if env.database.reader_count == 0:
        assert "reader-cpu" not in db_alarms and "reader-acu-utilization" not in db_alarms
        return
    readers = [SATURATED] + [IDLE] * (env.database.reader_count - 1)
    cpu = {"WRITER": [IDLE], "READER": readers}
    reader = db_alarms["reader-cpu"]
    assert _fires_at(reader, cpu) == reader.evaluation_periods * reader.period_seconds / 60
    assert _fires_at(db_alarms["writer-cpu"], cpu) is None


def test_an_idle_cluster_alarms_nowhere(db_alarms, env):
    cpu = {"WRITER": [IDLE], "READER": [IDLE] * env.database.reader_count}
    for name in ("writer-cpu", "reader-cpu"):
        if name in db_alarms:
            assert _fires_at(db_alarms[name], cpu) is None, name


def test_silence_pages_unless_the_cluster_may_pause(db_alarms, env):
    """No datapoint at all (paused, or metrics lost): an alarm of a cluster
    that cannot auto-pause fires; a pausing one stays quiet."""
    writer = db_alarms["writer-cpu"]
    silent = {"WRITER": [], "READER": []}
    fired = _fires_at(writer, silent)
    if env.database.auto_pause_seconds is None:
        assert fired is not None
    else:
        assert fired is None
