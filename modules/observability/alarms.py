"""Alarms of each service, each load balancer, the web ACL and the database.

Every alarm notifies the environment's KMS-encrypted SNS topic (``topic.py``)
on ALARM and OK, reads metrics defined once in ``metrics.py`` (the dashboard
shows the same objects), and says how it treats missing data, on purpose:
* rates, latencies and unhealthy hosts: ``notBreaching`` — no traffic (or the
  idle green target group) is not an incident;
* running tasks below desired: ``breaching`` — silence from Container Insights
  means we cannot see the tasks;
* card numbers the web ACL blocked in URLs: ``notBreaching`` — no
  such request is the normal state; one is enough to notify;
* database (writer and readers apart, Aurora's ``Role`` dimension):
  ``breaching``, except where the cluster may auto-pause (a paused cluster
  publishes nothing), where it is ``notBreaching``.

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
    READER,
    WRITER,
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


def _expression(query_id: str, expression: str, label: str, returned: bool = True) -> Any:
    return _alarm.CloudwatchMetricAlarmMetricQuery(
        id=query_id,
        expression=expression,
        label=label,
        return_data=returned,
    )


#: A rate is computed only from this many requests per period on: below it a
#: colour counts as 0 % (a canary's first few requests, or one error among
#: three, must not roll back or page). Both colours carry far more in a
#: canary step of a production service (10 % of 10 requests/s = 60/min).
MIN_REQUESTS_PER_PERIOD = 20


def _per_colour_rate(
    errors: Mapping[str, Mapping[str, Metric]],
    requests: Mapping[str, Metric],
    period: int,
    label: str,
) -> list:
    """Queries of ``MAX([rate0, rate1])``: for each colour (target group),
    ``IF(requests >= MIN, 100 * errors / requests, 0)``, the errors being the
    sum of the ``errors`` metrics (query id prefix -> metric per colour). A colour's rate is its own, whatever share
    of the traffic it takes: a canary's 10 % is not diluted by blue's 90 %
    (#24). Each count is FILLed with 0: ALB publishes a count only when it is
    not zero (ALB metrics reference). At most 10 metrics and 10 expressions
    per alarm (CloudWatch): 3 error kinds and 2 colours at most here."""
    prefixes = list(errors)
    queries = [
        *(q for prefix, metrics in errors.items() for q in _queries(prefix, metrics, period)),
        *_queries("r", requests, period),
    ]
    rates = []
    for index, color in enumerate(requests):
        summed = " + ".join(f"FILL({prefix}{index}, 0)" for prefix in prefixes)
        summed = f"({summed})" if len(prefixes) > 1 else summed
        queries.append(
            _expression(
                f"rate{index}",
                f"IF(FILL(r{index}, 0) >= {MIN_REQUESTS_PER_PERIOD}, 100 * {summed} / r{index}, 0)",
                f"{label} {color}",
                returned=False,
            )
        )
        rates.append(f"rate{index}")
    queries.append(_expression("rate", f"MAX([{', '.join(rates)}])", f"{label}, worst colour"))
    return queries


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
        period_seconds: int | None = None,
    ):
        """An alarm on one ``metric`` (read with its statistic) or on metric
        math ``queries``; ``evaluation_periods`` and ``period_seconds`` left
        out: the thresholds'. Alarms fire above their threshold unless
        ``comparison`` says otherwise (the metric-absent alarm: below 1),
        when all their evaluated periods breach."""
        periods = evaluation_periods or self._t.evaluation_periods
        extra = {}
        if metric is not None:
            extra = dict(
                namespace=metric.namespace,
                metric_name=metric.name,
                statistic=None if metric.is_percentile else metric.statistic,
                extended_statistic=metric.statistic if metric.is_percentile else None,
                dimensions=metric.dimension_map,
                period=period_seconds or self._t.period_seconds,
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
    #: Alarm when the custom scaling metric stops arriving (the production
    #: tier: scaling on a metric nobody publishes holds the task count);
    #: left out: no such alarm.
    metric_absent_alarm: bool = False


#: Minutes without a single value of the custom scaling metric before the
#: metric-absent alarm fires: the service publishes it every minute, 0 when
#: idle (docs/observability.md); ten minutes ride out a deployment's restart.
METRIC_ABSENT_MINUTES = 10


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

        per_colour_requests = m.request_count()
        self.target_5xx_rate = f.add(
            "target-5xx-rate",
            name=f"{name}-target-5xx-rate",
            description=f"More than {t.target_5xx_rate_percent}% of the responses of one "
            f"{service} target group (blue or green) are 5xx.",
            threshold=t.target_5xx_rate_percent,
            missing="notBreaching",
            queries=_per_colour_rate({"e": m.target_5xx_count()}, per_colour_requests, p, "5xx %"),
        )
        self.target_connection_errors = f.add(
            "target-connection-errors",
            name=f"{name}-target-connection-errors",
            description=f"More than {t.target_5xx_rate_percent}% of the requests to one "
            f"{service} target group find no connection: the task refused it or did not "
            "accept it in time (a 5xx from the load balancer). A task that accepts, then "
            "closes or never answers, is not counted here (load balancer 5xx only).",
            threshold=t.target_5xx_rate_percent,
            missing="notBreaching",
            queries=_per_colour_rate(
                {"c": m.target_connection_error_count()},
                per_colour_requests,
                p,
                "connection errors %",
            ),
        )
        # One minute, one datapoint: a task set that fails most of its
        # requests stops a release inside prod's 5-minute canary even when
        # ALB metrics arrive 2 minutes late (tests/test_rollback_replay.py).
        self.failing_colour = f.add(
            "failing-colour",
            name=f"{name}-failing-colour",
            description=f"One {service} target group (blue or green) answered more than "
            f"{t.failing_colour_percent}% of its requests with 5xx or connection errors in "
            "one minute: a broken release rolls back at once.",
            threshold=t.failing_colour_percent,
            missing="notBreaching",
            queries=_per_colour_rate(
                {"e": m.target_5xx_count(), "c": m.target_connection_error_count()},
                per_colour_requests,
                60,
                "errors %",
            ),
            evaluation_periods=1,
            period_seconds=60,
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
        # Only a target group that takes traffic counts: after the shift the
        # old colour takes none, and rolling back to it would send all
        # traffic to failing tasks (#24, "blue failing after the shift").
        self.unhealthy_hosts = [
            f.add(
                f"unhealthy-hosts-{color}",
                name=f"{name}-unhealthy-hosts-{color}",
                description=f"{service}: a target of the {color} target group "
                "fails its health check while the group takes traffic.",
                threshold=0,
                missing="notBreaching",
                queries=[
                    _query("u", metric, p),
                    _query("r", per_colour_requests[color], p),
                    _expression("unhealthy", "IF(FILL(r, 0) > 0, FILL(u, 0), 0)", "unhealthy"),
                ],
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
            # Per running task, as the scaling policy reads it (D58): the
            # total of a service at its target on four tasks is four times
            # the target, and is no incident.
            self.custom_metric = f.add(
                "custom-metric",
                name=f"{name}-{custom.name}",
                description=f"{custom.namespace}/{custom.name} of {service} above {threshold} "
                "per running task (scaling cannot keep up).",
                threshold=threshold,
                missing="notBreaching",
                queries=[
                    _query("backlog", custom, p),
                    _query("tasks", m.running_task_count(), p),
                    _expression("per_task", "backlog / tasks", f"{custom.name} per running task"),
                ],
            )
        self.custom_metric_absent = None
        samples = m.custom_samples()
        if props.metric_absent_alarm and samples is not None:
            # No value for METRIC_ABSENT_MINUTES: missing data breaches, and
            # a SampleCount below 1 too (CloudWatch user guide, "Configuring
            # how CloudWatch alarms treat missing data",
            # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data).
            self.custom_metric_absent = f.add(
                "custom-metric-absent",
                name=f"{name}-{samples.name}-absent",
                description=f"No {samples.namespace}/{samples.name} of {service} for "
                f"{METRIC_ABSENT_MINUTES} minutes: the service stopped publishing its scaling "
                "metric (it must publish every minute, 0 when idle); scaling on it is blind.",
                threshold=1,
                comparison="LessThanThreshold",
                missing="breaching",
                metric=samples,
                evaluation_periods=METRIC_ABSENT_MINUTES,
                period_seconds=60,
            )

    @property
    def rollback_alarms(self) -> list:
        """Alarms that mean 'the new version is unhealthy' (at most 10)."""
        return [
            self.failing_colour,
            self.target_5xx_rate,
            self.target_connection_errors,
            self.p99_latency,
            *self.unhealthy_hosts,
        ]

    @property
    def all_alarms(self) -> list:
        extra = [a for a in (self.custom_metric, self.custom_metric_absent) if a is not None]
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
                _expression(
                    "rate",
                    f"IF(FILL(r, 0) >= {MIN_REQUESTS_PER_PERIOD}, 100 * FILL(e, 0) / r, 0)",
                    "ELB 5xx %",
                ),
            ],
        )


@dataclass(frozen=True, kw_only=True)
class DatabaseAlarmsProps:
    """``metrics``: the Aurora cluster's metrics (``AuroraDatabase.metrics``).
    ``may_pause``: the cluster may auto-pause (then silence is normal).
    ``reader_count``: readers besides the writer; 0 (left out): no reader
    alarms (the READER series would never have data)."""

    name_prefix: str
    thresholds: AlarmConfig
    topic_arn: str
    metrics: DatabaseMetrics
    may_pause: bool = False
    reader_count: int = 0


class DatabaseAlarms(Construct):
    """CPU and capacity of the writer and of the readers (Aurora's ``Role``
    dimension: a saturated writer is not averaged away by idle readers,
    #24), connections of the cluster."""

    def __init__(self, scope: Construct, construct_id: str, props: DatabaseAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        t = props.thresholds
        m = props.metrics
        f = AlarmSet(self, "alarms", AlarmSetProps(topic_arn=props.topic_arn, thresholds=t))
        missing = "notBreaching" if props.may_pause else "breaching"
        roles = [WRITER] + ([READER] if props.reader_count > 0 else [])
        self.cpu: dict[str, Any] = {}
        self.acu: dict[str, Any] = {}
        for role in roles:
            who = role.lower()
            label = "the writer" if role == WRITER else "the busiest reader"
            self.cpu[role] = f.add(
                f"{who}-cpu",
                name=f"{props.name_prefix}-db-{who}-cpu",
                description=f"Aurora CPU of {label} above {t.db_cpu_percent}%.",
                threshold=t.db_cpu_percent,
                missing=missing,
                metric=m.role_cpu_utilization(role),
            )
            self.acu[role] = f.add(
                f"{who}-acu-utilization",
                name=f"{props.name_prefix}-db-{who}-acu-utilization",
                description=f"Aurora: {label} uses more than {t.db_acu_utilization_percent}% "
                "of its maximum ACU: raise max_capacity_acu or find the query.",
                threshold=t.db_acu_utilization_percent,
                missing=missing,
                metric=m.role_acu_utilization(role),
            )
        self.connections = f.add(
            "connections",
            name=f"{props.name_prefix}-db-connections",
            description=f"More than {t.db_connections} database connections (pool leak?).",
            threshold=t.db_connections,
            missing=missing,
            metric=m.connections(),
        )

    @property
    def all_alarms(self) -> list:
        return [*self.cpu.values(), *self.acu.values(), self.connections]


@dataclass(frozen=True, kw_only=True)
class CardNumberAlarmProps:
    """``alarm_id``: the alarm's construct id and name suffix (alarm
    ``<name_prefix>-<alarm_id>``). ``metric``: a count of card numbers seen,
    with no data point while there are none. ``description``: what it means
    and what the on-call engineer does."""

    name_prefix: str
    thresholds: AlarmConfig
    topic_arn: str
    alarm_id: str
    description: str
    metric: Metric


class CardNumberAlarm(Construct):
    """A card number was seen where none may be: one in one period alarms,
    silence is the normal state. Card data in a log group (D75, #25 item 5;
    masked there, the finding names the group and the identifier) and a card
    number in a URL the web ACL blocked (D77; its request line is still in
    the load balancer's access log)."""

    def __init__(self, scope: Construct, construct_id: str, props: CardNumberAlarmProps) -> None:
        super().__init__(scope, construct_id)
        f = AlarmSet(
            self, "alarms", AlarmSetProps(topic_arn=props.topic_arn, thresholds=props.thresholds)
        )
        self.alarm = f.add(
            props.alarm_id,
            name=f"{props.name_prefix}-{props.alarm_id}",
            description=props.description,
            threshold=0,
            missing="notBreaching",
            metric=props.metric,
            evaluation_periods=1,
        )
