"""Alarms, the alarm topic, deployment events and the environment dashboard.

Every alarm notifies the environment's KMS-encrypted SNS topic and says how it
treats missing data, on purpose:
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

import json
from dataclasses import dataclass

from config.model import AlarmConfig, CustomScalingMetric
from framework import Construct, Token
from framework.aws import aws
from framework.references import read_once
from modules import iam

_alarm = aws.cloudwatch_metric_alarm


def _metric(query_id: str, namespace: str, name: str, stat: str, period: int,
            dimensions: dict[str, str]) -> "_alarm.CloudwatchMetricAlarmMetricQuery":
    return _alarm.CloudwatchMetricAlarmMetricQuery(
        id=query_id,
        return_data=False,
        metric=_alarm.CloudwatchMetricAlarmMetricQueryMetric(
            namespace=namespace, metric_name=name, stat=stat, period=period,
            dimensions=dimensions,
        ),
    )


def _expression(query_id: str, expression: str, label: str) -> "_alarm.CloudwatchMetricAlarmMetricQuery":
    return _alarm.CloudwatchMetricAlarmMetricQuery(
        id=query_id, expression=expression, label=label, return_data=True,
    )


@dataclass(frozen=True, kw_only=True)
class AlarmTopicProps:
    """``kms_key_arn``: CMK whose key policy lets CloudWatch publish
    (``cloudwatch.amazonaws.com`` may GenerateDataKey/Decrypt).
    ``emails``: addresses subscribed; left empty, nobody is subscribed and the
    topic only feeds CodeDeploy rollbacks and the console."""

    name: str
    kms_key_arn: str
    account_id: str
    emails: tuple[str, ...] = ()


class AlarmTopic(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: AlarmTopicProps) -> None:
        super().__init__(scope, construct_id)
        self.topic = aws.sns_topic.SnsTopic(
            self, "topic", name=props.name, kms_master_key_id=props.kms_key_arn,
        )
        aws.sns_topic_policy.SnsTopicPolicy(
            self,
            "policy",
            arn=self.arn,
            policy=iam.document({
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": self.arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": props.account_id}},
            }, iam.deny_insecure_transport("sns:Publish", self.arn)),
        )
        for index, email in enumerate(props.emails):
            aws.sns_topic_subscription.SnsTopicSubscription(
                self, f"email-{index}", topic_arn=self.topic.arn, protocol="email",
                endpoint=email,
            )

    arn = read_once("topic", "arn")


class _AlarmFactory(Construct):
    """Shared plumbing: every alarm notifies the topic on ALARM and OK."""

    def __init__(self, scope: Construct, construct_id: str, topic_arn: str,
                 thresholds: AlarmConfig) -> None:
        super().__init__(scope, construct_id)
        self._topic_arn = topic_arn
        self._t = thresholds

    def alarm(self, alarm_id: str, *, name: str, description: str, comparison: str,
              threshold: float, missing: str, queries=None, metric: dict | None = None,
              evaluation_periods: int | None = None):
        periods = evaluation_periods or self._t.evaluation_periods
        extra = {}
        if metric is not None:
            extra = dict(
                namespace=metric["namespace"], metric_name=metric["name"],
                statistic=metric.get("statistic"), extended_statistic=metric.get("extended"),
                dimensions=metric["dimensions"], period=self._t.period_seconds,
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
    """Names and metric dimensions of one blue/green service.

    ``target_group_arn_suffixes``: blue and green; metrics of both are summed,
    since either may be live after a deployment.
    ``custom_metric``: the service's own scaling metric; left out, no alarm.
    """

    name_prefix: str
    thresholds: AlarmConfig
    topic_arn: str
    cluster_name: str
    service_name: str
    load_balancer_arn_suffix: str
    target_group_arn_suffixes: tuple[str, str]
    custom_metric: CustomScalingMetric | None = None


class ServiceAlarms(Construct):
    """Health of one service; ``rollback_alarm_names`` drive CodeDeploy rollback."""

    def __init__(self, scope: Construct, construct_id: str, props: ServiceAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        t = props.thresholds
        p = t.period_seconds
        f = _AlarmFactory(self, "alarms", props.topic_arn, t)
        name = props.name_prefix
        lb = props.load_balancer_arn_suffix
        tgs = props.target_group_arn_suffixes

        def per_tg(prefix: str, metric: str, stat: str):
            return [
                _metric(f"{prefix}{i}", "AWS/ApplicationELB", metric, stat, p,
                        {"LoadBalancer": lb, "TargetGroup": tg})
                for i, tg in enumerate(tgs)
            ]

        self.target_5xx_rate = f.alarm(
            "target-5xx-rate",
            name=f"{name}-target-5xx-rate",
            description=f"More than {t.target_5xx_rate_percent}% of {props.service_name} "
                        "responses are 5xx (both target groups).",
            comparison="GreaterThanThreshold",
            threshold=t.target_5xx_rate_percent,
            missing="notBreaching",
            queries=[
                *per_tg("e", "HTTPCode_Target_5XX_Count", "Sum"),
                *per_tg("r", "RequestCount", "Sum"),
                _expression("rate", "100 * (FILL(e0, 0) + FILL(e1, 0)) / "
                            "(FILL(r0, 0) + FILL(r1, 0) + 1)", "5xx %"),
            ],
        )
        self.p99_latency = f.alarm(
            "p99-latency",
            name=f"{name}-p99-latency",
            description=f"p99 response time of {props.service_name} above "
                        f"{t.p99_latency_seconds} s.",
            comparison="GreaterThanThreshold",
            threshold=t.p99_latency_seconds,
            missing="notBreaching",
            queries=[
                *per_tg("l", "TargetResponseTime", "p99"),
                _expression("p99", "MAX([FILL(l0, 0), FILL(l1, 0)])", "p99 seconds"),
            ],
        )
        self.unhealthy_hosts = [
            f.alarm(
                f"unhealthy-hosts-{color}",
                name=f"{name}-unhealthy-hosts-{color}",
                description=f"{props.service_name}: a target of the {color} target group "
                            "fails its health check.",
                comparison="GreaterThanThreshold",
                threshold=0,
                missing="notBreaching",
                metric={"namespace": "AWS/ApplicationELB", "name": "UnHealthyHostCount",
                        "statistic": "Maximum",
                        "dimensions": {"LoadBalancer": lb, "TargetGroup": tg}},
            )
            for color, tg in zip(("blue", "green"), tgs)
        ]
        ecs_dims = {"ClusterName": props.cluster_name, "ServiceName": props.service_name}
        self.cpu, self.memory = (
            f.alarm(
                kind,
                name=f"{name}-{kind}",
                description=f"{props.service_name} {label} above {threshold}% of reservation.",
                comparison="GreaterThanThreshold",
                threshold=threshold,
                missing="notBreaching",
                metric={"namespace": "AWS/ECS", "name": metric,
                        "statistic": "Average", "dimensions": ecs_dims},
            )
            for kind, label, metric, threshold in (
                ("cpu", "CPU", "CPUUtilization", t.cpu_percent),
                ("memory", "memory", "MemoryUtilization", t.memory_percent),
            )
        )
        self.running_below_desired = f.alarm(
            "running-below-desired",
            name=f"{name}-running-below-desired",
            description=f"{props.service_name} runs fewer tasks than desired "
                        "(crash loop, capacity or image pull failure).",
            comparison="GreaterThanThreshold",
            threshold=0,
            missing="breaching",
            queries=[
                _metric("desired", "ECS/ContainerInsights", "DesiredTaskCount", "Average", p, ecs_dims),
                _metric("running", "ECS/ContainerInsights", "RunningTaskCount", "Average", p, ecs_dims),
                _expression("missing", "desired - running", "tasks missing"),
            ],
            evaluation_periods=max(t.evaluation_periods, 5),
        )
        self.custom_metric = None
        if props.custom_metric is not None:
            m = props.custom_metric
            threshold = m.alarm_threshold if m.alarm_threshold is not None else 2 * m.target_value
            self.custom_metric = f.alarm(
                "custom-metric",
                name=f"{name}-{m.name}",
                description=f"{m.namespace}/{m.name} of {props.service_name} above {threshold} "
                            "(scaling cannot keep up).",
                comparison="GreaterThanThreshold",
                threshold=threshold,
                missing="notBreaching",
                metric={"namespace": m.namespace, "name": m.name, "statistic": m.statistic,
                        "dimensions": {"ServiceName": props.service_name}},
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
    """``load_balancer_arn_suffix``: the ``arn_suffix`` of the ALB (the
    ``LoadBalancer`` dimension of its metrics)."""

    name_prefix: str
    thresholds: AlarmConfig
    topic_arn: str
    load_balancer_arn_suffix: str


class LoadBalancerAlarms(Construct):
    """Errors the load balancer itself returns (no healthy target, timeouts)."""

    def __init__(self, scope: Construct, construct_id: str, props: LoadBalancerAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        t = props.thresholds
        dims = {"LoadBalancer": props.load_balancer_arn_suffix}
        f = _AlarmFactory(self, "alarms", props.topic_arn, t)
        self.elb_5xx_rate = f.alarm(
            "elb-5xx-rate",
            name=f"{props.name_prefix}-elb-5xx-rate",
            description=f"More than {t.alb_5xx_rate_percent}% of requests get a 5xx from the "
                        "load balancer itself (no healthy target, target timeout).",
            comparison="GreaterThanThreshold",
            threshold=t.alb_5xx_rate_percent,
            missing="notBreaching",
            queries=[
                _metric("e", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum", t.period_seconds, dims),
                _metric("r", "AWS/ApplicationELB", "RequestCount", "Sum", t.period_seconds, dims),
                _expression("rate", "100 * FILL(e, 0) / (FILL(r, 0) + 1)", "ELB 5xx %"),
            ],
        )


@dataclass(frozen=True, kw_only=True)
class DatabaseAlarmsProps:
    """``may_pause``: the cluster may auto-pause (then silence is normal)."""

    name_prefix: str
    thresholds: AlarmConfig
    topic_arn: str
    cluster_identifier: str
    may_pause: bool = False


class DatabaseAlarms(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: DatabaseAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        t = props.thresholds
        f = _AlarmFactory(self, "alarms", props.topic_arn, t)
        missing = "notBreaching" if props.may_pause else "breaching"
        dims = {"DBClusterIdentifier": props.cluster_identifier}
        # (construct id, RDS metric, statistic, threshold, description)
        specs = [
            ("cpu", "CPUUtilization", "Average", t.db_cpu_percent,
             f"Aurora CPU above {t.db_cpu_percent}%."),
            ("acu-utilization", "ACUUtilization", "Average", t.db_acu_utilization_percent,
             f"Aurora uses more than {t.db_acu_utilization_percent}% of its maximum "
             "ACU: raise max_capacity_acu or find the query."),
            ("connections", "DatabaseConnections", "Maximum", t.db_connections,
             f"More than {t.db_connections} database connections (pool leak?)."),
        ]
        self.cpu, self.acu, self.connections = (
            f.alarm(alarm_id, name=f"{props.name_prefix}-db-{alarm_id}", description=description,
                    comparison="GreaterThanThreshold", threshold=threshold, missing=missing,
                    metric={"namespace": "AWS/RDS", "name": metric, "statistic": statistic,
                            "dimensions": dims})
            for alarm_id, metric, statistic, threshold, description in specs
        )

    @property
    def all_alarms(self) -> list:
        return [self.cpu, self.acu, self.connections]


@dataclass(frozen=True, kw_only=True)
class DeploymentEventsProps:
    """Records CodeDeploy state changes in a log group for the dashboard.

    ``log_group_name`` must start with ``/aws/events/`` (EventBridge rule).
    ``application_name``: the CodeDeploy application whose deployments are
    recorded; other applications of the account (other environments sharing
    it) are left out.
    """

    name: str
    log_group_name: str
    kms_key_arn: str
    retention_days: int
    application_name: str


class DeploymentEvents(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: DeploymentEventsProps) -> None:
        super().__init__(scope, construct_id)
        if not Token.is_unresolved(props.log_group_name) and not props.log_group_name.startswith(
                "/aws/events/"):
            raise ValueError(
                f"log_group_name: {props.log_group_name!r} is not allowed; EventBridge "
                "targets need a log group whose name starts with /aws/events/")
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self, "log-group", name=props.log_group_name,
            retention_in_days=props.retention_days, kms_key_id=props.kms_key_arn,
        )
        aws.cloudwatch_log_resource_policy.CloudwatchLogResourcePolicy(
            self,
            "delivery-policy",
            policy_name=f"{props.name}-deployment-events",
            policy_document=iam.document({
                "Effect": "Allow",
                "Principal": {"Service": ["events.amazonaws.com", "delivery.logs.amazonaws.com"]},
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{self.log_group.arn}:*",
            }),
        )
        rule = aws.cloudwatch_event_rule.CloudwatchEventRule(
            self,
            "rule",
            name=f"{props.name}-deployments",
            description="CodeDeploy deployment state changes, for the dashboard",
            event_pattern=json.dumps({
                "source": ["aws.codedeploy"],
                "detail-type": ["CodeDeploy Deployment State-change Notification"],
                "detail": {"application": [props.application_name]},
            }),
        )
        aws.cloudwatch_event_target.CloudwatchEventTarget(
            self, "target", rule=rule.name, arn=self.log_group.arn,
        )


@dataclass(frozen=True, kw_only=True)
class ContainerInsightsLogGroupProps:
    """``cluster_name``: the ECS cluster's literal name (Container Insights
    derives the group name from it, so a token is refused).
    ``kms_key_arn``/``retention_days``: the environment's logs key and
    retention."""

    cluster_name: str
    kms_key_arn: str
    retention_days: int


class ContainerInsightsLogGroup(Construct):
    """The group Container Insights writes its performance events to.

    Left to Container Insights, the group is created on the first metrics
    with a 1-day retention and no CMK; creating it beforehand (the cluster
    depends on it) puts it under the logs key and the configured retention
    like every other log group.
    """

    def __init__(self, scope: Construct, construct_id: str,
                 props: ContainerInsightsLogGroupProps) -> None:
        super().__init__(scope, construct_id)
        if Token.is_unresolved(props.cluster_name) or not props.cluster_name:
            raise ValueError(
                f"cluster_name: {props.cluster_name!r} is not allowed; give the literal "
                "cluster name (the log group name must be known at synth time)")
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self, "log-group",
            name=f"/aws/ecs/containerinsights/{props.cluster_name}/performance",
            retention_in_days=props.retention_days, kms_key_id=props.kms_key_arn,
        )


@dataclass(frozen=True, kw_only=True)
class DashboardService:
    """What the dashboard needs to know of one service."""

    name: str
    cluster_name: str
    service_name: str
    load_balancer_arn_suffix: str
    target_group_arn_suffixes: tuple[str, str]
    custom_metric: CustomScalingMetric | None = None


@dataclass(frozen=True, kw_only=True)
class DashboardProps:
    """``name``: dashboard name. ``deployment_log_group_name``: the log group
    of ``DeploymentEvents`` shown as the deployments table.
    ``alarm_arns``: alarms shown in an alarm widget; left empty, no widget."""

    name: str
    region: str
    services: tuple[DashboardService, ...]
    db_cluster_identifier: str
    deployment_log_group_name: str
    alarm_arns: tuple[str, ...] = ()


def dashboard_widgets(props: DashboardProps) -> list[dict]:
    """The widgets of the environment dashboard (pure, for tests)."""
    region = props.region
    widgets: list[dict] = []

    def metric_widget(title: str, metrics: list[list], stat: str = "Sum", width: int = 8) -> dict:
        return {"type": "metric", "width": width, "height": 6, "properties": {
            "title": title, "region": region, "view": "timeSeries", "stacked": False,
            "stat": stat, "period": 60, "metrics": metrics,
        }}

    widgets.append({"type": "text", "width": 24, "height": 2, "properties": {
        "markdown": f"# {props.name}\nRequests, errors and latency per service; task counts "
                    "(Fargate vs Spot); database; deployments (from CodeDeploy events)."}})
    for svc in props.services:
        lb, (blue, green) = svc.load_balancer_arn_suffix, svc.target_group_arn_suffixes

        def tg_metrics(name: str, label: str) -> list[list]:
            return [["AWS/ApplicationELB", name, "LoadBalancer", lb, "TargetGroup", tg,
                     {"label": f"{label} {color}"}] for color, tg in (("blue", blue), ("green", green))]

        widgets += [
            metric_widget(f"{svc.name}: requests", tg_metrics("RequestCount", "requests")),
            metric_widget(f"{svc.name}: 5xx errors", tg_metrics("HTTPCode_Target_5XX_Count", "5xx")),
            metric_widget(f"{svc.name}: p99 latency (s)", tg_metrics("TargetResponseTime", "p99"),
                          stat="p99"),
            metric_widget(f"{svc.name}: tasks running / desired", [
                ["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", svc.cluster_name,
                 "ServiceName", svc.service_name],
                ["ECS/ContainerInsights", "DesiredTaskCount", "ClusterName", svc.cluster_name,
                 "ServiceName", svc.service_name],
            ], stat="Average"),
            metric_widget(f"{svc.name}: CPU / memory (%)", [
                ["AWS/ECS", "CPUUtilization", "ClusterName", svc.cluster_name,
                 "ServiceName", svc.service_name],
                ["AWS/ECS", "MemoryUtilization", "ClusterName", svc.cluster_name,
                 "ServiceName", svc.service_name],
            ], stat="Average"),
        ]
        if svc.custom_metric is not None:
            m = svc.custom_metric
            widgets.append(metric_widget(f"{svc.name}: {m.name}", [
                [m.namespace, m.name, "ServiceName", svc.service_name],
            ], stat=m.statistic))
    # Fargate publishes usage in vCPU since its quotas moved to vCPU; the
    # older Resource=OnDemand/Spot, Class=None series no longer receive data.
    widgets.append(metric_widget("Fargate vs Fargate Spot (vCPU in use, account)", [
        ["AWS/Usage", "ResourceCount", "Service", "Fargate", "Type", "Resource",
         "Resource", "vCPU", "Class", "Standard/OnDemand", {"label": "Fargate"}],
        ["AWS/Usage", "ResourceCount", "Service", "Fargate", "Type", "Resource",
         "Resource", "vCPU", "Class", "Standard/Spot", {"label": "Fargate Spot"}],
    ], stat="Maximum", width=12))
    db = props.db_cluster_identifier
    widgets += [
        metric_widget("database: ACU (capacity / utilisation %)", [
            ["AWS/RDS", "ServerlessDatabaseCapacity", "DBClusterIdentifier", db],
            ["AWS/RDS", "ACUUtilization", "DBClusterIdentifier", db],
        ], stat="Average", width=12),
        metric_widget("database: connections / CPU", [
            ["AWS/RDS", "DatabaseConnections", "DBClusterIdentifier", db],
            ["AWS/RDS", "CPUUtilization", "DBClusterIdentifier", db],
        ], stat="Average", width=12),
    ]
    if props.alarm_arns:
        widgets.append({"type": "alarm", "width": 24, "height": 4, "properties": {
            "title": "alarms", "alarms": list(props.alarm_arns)}})
    widgets.append({"type": "log", "width": 24, "height": 6, "properties": {
        "title": "deployments (CodeDeploy state changes)", "region": region, "view": "table",
        "query": f"SOURCE '{props.deployment_log_group_name}' | fields @timestamp, "
                 "detail.application, detail.deploymentGroup, detail.deploymentId, "
                 "detail.state | sort @timestamp desc | limit 50",
    }})
    return widgets


class Dashboard(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: DashboardProps) -> None:
        super().__init__(scope, construct_id)
        self.widgets = dashboard_widgets(props)
        self.dashboard = aws.cloudwatch_dashboard.CloudwatchDashboard(
            self, "dashboard", dashboard_name=props.name,
            dashboard_body=json.dumps({"widgets": self.widgets}),
        )
