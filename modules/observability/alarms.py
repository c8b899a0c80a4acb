"""Alarms of each service, each load balancer and the database.

Every alarm notifies the environment's KMS-encrypted SNS topic (``topic.py``)
on ALARM and OK, reads metrics defined once in ``metrics.py`` (the dashboard
shows the same objects), and says how it treats missing data, on purpose:
* rates, latencies and unhealthy hosts: ``notBreaching`` — no traffic (or the
  idle green target group) is not an incident;
* running tasks below desired: ``breaching`` — silence from Container Insights
  means we cannot see the tasks;
* database: ``breaching``, except where the cluster may auto-pause (a paused
  cluster publishes nothing), where it is ``notBreaching``.

Operator documentation (every alarm, rollback, dashboard, log groups):
docs/observability.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from config.model import AlarmConfig
from framework import Construct
from framework.aws import aws
from modules.observability.metrics import (
    DatabaseMetrics,
    LoadBalancerMetrics,
    Metric,
    ServiceMetrics,
)

_alarm = aws.cloudwatch_metric_alarm


def _query(query_id: str, metric: Metric, period: int) -> Any:
    """``metric`` as one input of a metric math alarm (not itself returned)."""
    return _alarm.CloudwatchMetricAlarmMetricQuery(
        id=query_id,
        return_data=False,
        metric=_alarm.CloudwatchMetricAlarmMetricQueryMetric(
            namespace=metric.namespace,
            metric_name=metric.name,
            stat=metric.statistic,
            period=period,
            dimensions=metric.dimension_map,
        ),
    )


def _queries(prefix: str, metrics: Mapping[str, Metric], period: int) -> list:
    """One query per metric, ids ``<prefix>0``, ``<prefix>1``... in order."""
    return [
        _query(f"{prefix}{index}", metric, period) for index, metric in enumerate(metrics.values())
    ]


def _expression(query_id: str, expression: str, label: str) -> Any:
    return _alarm.CloudwatchMetricAlarmMetricQuery(
        id=query_id,
        expression=expression,
        label=label,
        return_data=True,
    )


@dataclass(frozen=True, kw_only=True)
class AlarmSetProps:
    """``topic_arn``: notified on ALARM and OK. ``thresholds``: period and
    evaluation periods of every alarm of the set."""

    topic_arn: str
    thresholds: AlarmConfig


class AlarmSet(Construct):
    """The alarms of one owner, each a child of this construct (so the owner's
    alarms are at ``<owner>/alarms/<alarm id>``), each notifying the topic on
    ALARM and OK and fired by as many breaching periods as it evaluates."""

    def __init__(self, scope: Construct, construct_id: str, props: AlarmSetProps) -> None:
        super().__init__(scope, construct_id)
        self._topic_arn = props.topic_arn
        self._t = props.thresholds

    def add(
        self,
        alarm_id: str,
        *,
        name: str,
        description: str,
        threshold: float,
        missing: str,
        queries: list | None = None,
        metric: Metric | None = None,
        evaluation_periods: int | None = None,
        comparison: str = "GreaterThanThreshold",
    ):
        """An alarm on one ``metric`` (read with its statistic) or on metric
        math ``queries``; ``evaluation_periods`` left out: the thresholds'.
        Every alarm today fires above its threshold (``comparison``)."""
        periods = evaluation_periods or self._t.evaluation_periods
        extra = {}
        if metric is not None:
            extra = dict(
                namespace=metric.namespace,
                metric_name=metric.name,
                statistic=None if metric.is_percentile else metric.statistic,
                extended_statistic=metric.statistic if metric.is_percentile else None,
                dimensions=metric.dimension_map,
                period=self._t.period_seconds,
            )
        return _alarm.CloudwatchMetricAlarm(
            self,
            alarm_id,
            alarm_name=name,
            alarm_description=description,
            comparison_operator=comparison,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            treat_missing_data=missing,
            metric_query=queries,
            alarm_actions=[self._topic_arn],
            ok_actions=[self._topic_arn],
            **extra,
        )


@dataclass(frozen=True, kw_only=True)
class ServiceAlarmsProps:
    """``metrics``: the service's metrics (``BlueGreenService.metrics``). Rates
    and latency sum or compare both target groups, since either may be live
    after a deployment; without a custom metric there is no custom alarm."""

    name_prefix: str
    thresholds: AlarmConfig
    topic_arn: str
    metrics: ServiceMetrics


class ServiceAlarms(Construct):
    """Health of one service; the names of ``rollback_alarms`` stop and roll
    back its releases (``BlueGreenService.rollback_on_alarms``)."""

    def __init__(self, scope: Construct, construct_id: str, props: ServiceAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        t = props.thresholds
        p = t.period_seconds
        f = AlarmSet(self, "alarms", AlarmSetProps(topic_arn=props.topic_arn, thresholds=t))
        name = props.name_prefix
        m = props.metrics
        service = m.service_name

        self.target_5xx_rate = f.add(
            "target-5xx-rate",
            name=f"{name}-target-5xx-rate",
            description=f"More than {t.target_5xx_rate_percent}% of {service} "
            "responses are 5xx (both target groups).",
            threshold=t.target_5xx_rate_percent,
            missing="notBreaching",
            queries=[
                *_queries("e", m.target_5xx_count(), p),
                *_queries("r", m.request_count(), p),
                _expression(
                    "rate",
                    "100 * (FILL(e0, 0) + FILL(e1, 0)) / (FILL(r0, 0) + FILL(r1, 0) + 1)",
                    "5xx %",
                ),
            ],
        )
        self.p99_latency = f.add(
            "p99-latency",
            name=f"{name}-p99-latency",
            description=f"p99 response time of {service} above {t.p99_latency_seconds} s.",
            threshold=t.p99_latency_seconds,
            missing="notBreaching",
            queries=[
                *_queries("l", m.response_time_p99(), p),
                _expression("p99", "MAX([FILL(l0, 0), FILL(l1, 0)])", "p99 seconds"),
            ],
        )
        self.unhealthy_hosts = [
            f.add(
                f"unhealthy-hosts-{color}",
                name=f"{name}-unhealthy-hosts-{color}",
                description=f"{service}: a target of the {color} target group "
                "fails its health check.",
                threshold=0,
                missing="notBreaching",
                metric=metric,
            )
            for color, metric in m.unhealthy_host_count().items()
        ]
        self.cpu, self.memory = (
            f.add(
                kind,
                name=f"{name}-{kind}",
                description=f"{service} {label} above {threshold}% of reservation.",
                threshold=threshold,
                missing="notBreaching",
                metric=metric,
            )
            for kind, label, metric, threshold in (
                ("cpu", "CPU", m.cpu_utilization(), t.cpu_percent),
                ("memory", "memory", m.memory_utilization(), t.memory_percent),
            )
        )
        self.running_below_desired = f.add(
            "running-below-desired",
            name=f"{name}-running-below-desired",
            description=f"{service} runs fewer tasks than desired "
            "(crash loop, capacity or image pull failure).",
            threshold=0,
            missing="breaching",
            queries=[
                _query("desired", m.desired_task_count(), p),
                _query("running", m.running_task_count(), p),
                _expression("missing", "desired - running", "tasks missing"),
            ],
            evaluation_periods=max(t.evaluation_periods, 5),
        )
        self.custom_metric = None
        custom = m.custom()
        if custom is not None:
            config = m.custom_metric
            assert config is not None  # custom() is None without it
            threshold = (
                config.alarm_threshold
                if config.alarm_threshold is not None
                else 2 * config.target_value
            )
            self.custom_metric = f.add(
                "custom-metric",
                name=f"{name}-{custom.name}",
                description=f"{custom.namespace}/{custom.name} of {service} above {threshold} "
                "(scaling cannot keep up).",
                threshold=threshold,
                missing="notBreaching",
                metric=custom,
            )

    @property
    def rollback_alarms(self) -> list:
        """Alarms that mean 'the new version is unhealthy' (at most 10)."""
        return [self.target_5xx_rate, self.p99_latency, *self.unhealthy_hosts]

    @property
    def all_alarms(self) -> list:
        extra = [self.custom_metric] if self.custom_metric is not None else []
        return [*self.rollback_alarms, self.cpu, self.memory, self.running_below_desired, *extra]


@dataclass(frozen=True, kw_only=True)
class LoadBalancerAlarmsProps:
    """``metrics``: the load balancer's metrics
    (``ApplicationLoadBalancer.metrics``)."""

    name_prefix: str
    thresholds: AlarmConfig
    topic_arn: str
    metrics: LoadBalancerMetrics


class LoadBalancerAlarms(Construct):
    """Errors the load balancer itself returns (no healthy target, timeouts)."""

    def __init__(self, scope: Construct, construct_id: str, props: LoadBalancerAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        t = props.thresholds
        m = props.metrics
        f = AlarmSet(self, "alarms", AlarmSetProps(topic_arn=props.topic_arn, thresholds=t))
        self.elb_5xx_rate = f.add(
            "elb-5xx-rate",
            name=f"{props.name_prefix}-elb-5xx-rate",
            description=f"More than {t.alb_5xx_rate_percent}% of requests get a 5xx from the "
            "load balancer itself (no healthy target, target timeout).",
            threshold=t.alb_5xx_rate_percent,
            missing="notBreaching",
            queries=[
                _query("e", m.elb_5xx_count(), t.period_seconds),
                _query("r", m.request_count(), t.period_seconds),
                _expression("rate", "100 * FILL(e, 0) / (FILL(r, 0) + 1)", "ELB 5xx %"),
            ],
        )


@dataclass(frozen=True, kw_only=True)
class DatabaseAlarmsProps:
    """``metrics``: the Aurora cluster's metrics (``AuroraDatabase.metrics``).
    ``may_pause``: the cluster may auto-pause (then silence is normal)."""

    name_prefix: str
    thresholds: AlarmConfig
    topic_arn: str
    metrics: DatabaseMetrics
    may_pause: bool = False


class DatabaseAlarms(Construct):
    """CPU, capacity and connections of the Aurora cluster."""

    def __init__(self, scope: Construct, construct_id: str, props: DatabaseAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        t = props.thresholds
        m = props.metrics
        f = AlarmSet(self, "alarms", AlarmSetProps(topic_arn=props.topic_arn, thresholds=t))
        missing = "notBreaching" if props.may_pause else "breaching"
        # (construct id, metric, threshold, description)
        specs = [
            (
                "cpu",
                m.cpu_utilization(),
                t.db_cpu_percent,
                f"Aurora CPU above {t.db_cpu_percent}%.",
            ),
            (
                "acu-utilization",
                m.acu_utilization(),
                t.db_acu_utilization_percent,
                f"Aurora uses more than {t.db_acu_utilization_percent}% of its maximum "
                "ACU: raise max_capacity_acu or find the query.",
            ),
            (
                "connections",
                m.connections(),
                t.db_connections,
                f"More than {t.db_connections} database connections (pool leak?).",
            ),
        ]
        self.cpu, self.acu, self.connections = (
            f.add(
                alarm_id,
                name=f"{props.name_prefix}-db-{alarm_id}",
                description=description,
                threshold=threshold,
                missing=missing,
                metric=metric,
            )
            for alarm_id, metric, threshold, description in specs
        )

    @property
    def all_alarms(self) -> list:
        return [self.cpu, self.acu, self.connections]
