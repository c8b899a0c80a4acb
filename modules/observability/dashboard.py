"""The environment dashboard: per service, Fargate usage, database, alarms
and deployments. Every metric comes from ``metrics.py``, the same objects
the alarms read."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from framework import Construct
from framework.aws import aws
from modules.observability.metrics import (
    READER,
    WRITER,
    DatabaseMetrics,
    Metric,
    ServiceMetrics,
    fargate_vcpu_in_use,
)

#: Seconds per data point of every metric widget.
WIDGET_PERIOD_SECONDS = 60


@dataclass(frozen=True, kw_only=True)
class DashboardService:
    """What the dashboard shows of one service: ``name`` (widget titles) and
    its ``metrics``."""

    name: str
    metrics: ServiceMetrics


@dataclass(frozen=True, kw_only=True)
class DashboardProps:
    """``name``: dashboard name. ``database``: the metrics of the
    environment's Aurora cluster. ``deployment_log_group_name``: the log group
    of ``DeploymentEvents`` shown as the deployments table.
    ``alarm_arns``: alarms shown in an alarm widget; left empty, no widget.
    ``database_reader_count``: readers besides the writer; 0 (left out): the
    database CPU widget shows the writer only, as the alarms do."""

    name: str
    region: str
    services: tuple[DashboardService, ...]
    database: DatabaseMetrics
    deployment_log_group_name: str
    alarm_arns: tuple[str, ...] = ()
    database_reader_count: int = 0


def _labelled(metrics: Mapping[str, Metric], label: str) -> list[tuple[Metric, str]]:
    """One line per colour, labelled ``<label> <colour>``."""
    return [(metric, f"{label} {color}") for color, metric in metrics.items()]


def dashboard_widgets(props: DashboardProps) -> list[dict]:
    """The widgets of the environment dashboard (pure, for tests)."""
    region = props.region
    widgets: list[dict] = []

    def metric_widget(
        title: str,
        metrics: Iterable[Metric | tuple[Metric, str]],
        stat: str | None = None,
        width: int = 8,
    ) -> dict:
        """A graph of ``metrics`` (optionally labelled); one statistic for all
        of them: theirs, unless ``stat`` reads them otherwise."""
        lines = [(m, None) if isinstance(m, Metric) else m for m in metrics]
        if stat is None:
            statistics = {metric.statistic for metric, _ in lines}
            if len(statistics) != 1:
                raise ValueError(
                    f"widget {title!r}: metrics with statistics "
                    f"{sorted(statistics)} need an explicit stat"
                )
            (stat,) = statistics
        return {
            "type": "metric",
            "width": width,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "view": "timeSeries",
                "stacked": False,
                "stat": stat,
                "period": WIDGET_PERIOD_SECONDS,
                "metrics": [metric.widget_line(label) for metric, label in lines],
            },
        }

    widgets.append(
        {
            "type": "text",
            "width": 24,
            "height": 2,
            "properties": {
                "markdown": f"# {props.name}\nRequests, errors and latency per service; task counts "
                "(Fargate vs Spot); database; deployments (from CodeDeploy events)."
            },
        }
    )
    for svc in props.services:
        m = svc.metrics
        widgets += [
            metric_widget(f"{svc.name}: requests", _labelled(m.request_count(), "requests")),
            metric_widget(f"{svc.name}: 5xx errors", _labelled(m.target_5xx_count(), "5xx")),
            metric_widget(f"{svc.name}: p99 latency (s)", _labelled(m.response_time_p99(), "p99")),
            metric_widget(
                f"{svc.name}: tasks running / desired",
                [m.running_task_count(), m.desired_task_count()],
            ),
            metric_widget(
                f"{svc.name}: CPU / memory (%)", [m.cpu_utilization(), m.memory_utilization()]
            ),
        ]
        custom = m.custom()
        if custom is not None:
            widgets.append(metric_widget(f"{svc.name}: {custom.name}", [custom]))
    widgets.append(
        metric_widget(
            "Fargate vs Fargate Spot (vCPU in use, account)",
            [
                (fargate_vcpu_in_use("Standard/OnDemand"), "Fargate"),
                (fargate_vcpu_in_use("Standard/Spot"), "Fargate Spot"),
            ],
            width=12,
        )
    )
    db = props.database
    widgets += [
        metric_widget(
            "database: ACU (capacity / utilisation %)",
            [db.serverless_capacity(), db.acu_utilization()],
            width=12,
        ),
        metric_widget("database: connections (peak)", [db.connections()], width=12),
        # CPU per role, the busiest instance of each (the series the
        # db-writer-cpu / db-reader-cpu alarms read, D51): the cluster
        # average hid a saturated writer beside idle readers (D58; Aurora
        # user guide, "Amazon CloudWatch dimensions for Aurora",
        # https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/dimensions.html).
        metric_widget(
            "database: CPU by role (%, busiest instance)",
            [
                (db.role_cpu_utilization(role), role.lower())
                for role in (WRITER, READER)
                if role == WRITER or props.database_reader_count > 0
            ],
            width=12,
        ),
    ]
    if props.alarm_arns:
        widgets.append(
            {
                "type": "alarm",
                "width": 24,
                "height": 4,
                "properties": {"title": "alarms", "alarms": list(props.alarm_arns)},
            }
        )
    widgets.append(
        {
            "type": "log",
            "width": 24,
            "height": 6,
            "properties": {
                "title": "deployments (CodeDeploy state changes)",
                "region": region,
                "view": "table",
                "query": f"SOURCE '{props.deployment_log_group_name}' | fields @timestamp, "
                "detail.application, detail.deploymentGroup, detail.deploymentId, "
                "detail.state | sort @timestamp desc | limit 50",
            },
        }
    )
    return widgets


class Dashboard(Construct):
    """The CloudWatch dashboard of an environment (``dashboard_widgets``)."""

    def __init__(self, scope: Construct, construct_id: str, props: DashboardProps) -> None:
        super().__init__(scope, construct_id)
        self.widgets = dashboard_widgets(props)
        self.dashboard = aws.cloudwatch_dashboard.CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=props.name,
            dashboard_body=json.dumps({"widgets": self.widgets}),
        )
