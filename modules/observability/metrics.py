"""Every CloudWatch metric the platform watches, defined once.

Alarms (``alarms.py``) and dashboard widgets (``dashboard.py``) take these
objects instead of spelling namespaces, metric names and dimensions
themselves, as aws-ecs ``BaseService.metricCpuUtilization()`` returns one
metric that alarms and graphs share. A ``Metric`` is plain data; no
resource is created here.

Metric names, statistics and dimension sets are those AWS publishes
(CloudWatch user guide: Application Load Balancer, ECS, Container Insights,
Aurora and AWS/Usage metrics).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from config.model import CustomScalingMetric

ALB = "AWS/ApplicationELB"
ECS = "AWS/ECS"
CONTAINER_INSIGHTS = "ECS/ContainerInsights"
RDS = "AWS/RDS"
#: AWS WAF's namespace; a regional web ACL's rule metrics have the
#: dimensions ``Region``, ``Rule`` (the rule's metric name) and ``WebACL``
#: (AWS WAF developer guide, "AWS WAF metrics and dimensions":
#: https://docs.aws.amazon.com/waf/latest/developerguide/waf-metrics.html).
WAF = "AWS/WAFV2"
USAGE = "AWS/Usage"
#: Percentile statistics ("p99") are CloudWatch extended statistics.
PERCENTILE_PREFIX = "p"
#: Aurora instance roles (``Role`` dimension with ``DBClusterIdentifier``):
#: the metric aggregated over the instances that hold the role now, so it
#: follows a failover (Aurora user guide, "Amazon CloudWatch dimensions for
#: Aurora", https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/dimensions.html;
#: "Creating CloudWatch alarms to monitor Amazon Aurora" recommends alarms on
#: WRITER/READER role metrics rather than on instances,
#: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/creating_alarms.html).
WRITER = "WRITER"
READER = "READER"
ROLES = (WRITER, READER)


@dataclass(frozen=True)
class Metric:
    """One metric: namespace, name, dimensions (in this order) and the
    statistic it is read with by default."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str

    @property
    def dimension_map(self) -> dict[str, str]:
        return dict(self.dimensions)

    @property
    def is_percentile(self) -> bool:
        return self.statistic.startswith(PERCENTILE_PREFIX)

    def widget_line(self, label: str | None = None) -> list:
        """The metric as a line of a dashboard metric widget:
        ``[namespace, name, dim, value, ..., {"label": ...}]``."""
        line: list = [self.namespace, self.name]
        for dimension, value in self.dimensions:
            line += [dimension, value]
        if label is not None:
            line.append({"label": label})
        return line


def _metric(namespace: str, name: str, statistic: str, **dimensions: str) -> Metric:
    return Metric(namespace, name, tuple(dimensions.items()), statistic)


@dataclass(frozen=True, kw_only=True)
class ServiceMetrics:
    """The metrics of one blue/green service.

    ``target_group_arn_suffixes``: colour (blue, green) -> ``arn_suffix`` of
    its target group; target group metrics come per colour, in this order
    (either colour may be live after a deployment). ``custom_metric``:
    the service's own scaling metric (published with dimension
    ``ServiceName``); left out, ``custom()`` is None.
    """

    cluster_name: str
    service_name: str
    load_balancer_arn_suffix: str
    target_group_arn_suffixes: Mapping[str, str]
    custom_metric: CustomScalingMetric | None = None

    def _per_target_group(self, name: str, statistic: str) -> dict[str, Metric]:
        return {
            color: _metric(
                ALB,
                name,
                statistic,
                LoadBalancer=self.load_balancer_arn_suffix,
                TargetGroup=target_group,
            )
            for color, target_group in self.target_group_arn_suffixes.items()
        }

    def request_count(self) -> dict[str, Metric]:
        """Requests per colour (Sum)."""
        return self._per_target_group("RequestCount", "Sum")

    def target_5xx_count(self) -> dict[str, Metric]:
        """5xx answers of the tasks per colour (Sum)."""
        return self._per_target_group("HTTPCode_Target_5XX_Count", "Sum")

    def target_connection_error_count(self) -> dict[str, Metric]:
        """Connections to a task that failed (refused, reset, timed out) per
        colour (Sum): the client gets a 502/504 from the load balancer, which
        ``HTTPCode_Target_5XX_Count`` does not count and
        ``TargetResponseTime`` does not record (ALB metrics reference)."""
        return self._per_target_group("TargetConnectionErrorCount", "Sum")

    def response_time_p99(self) -> dict[str, Metric]:
        """Slowest 1% of responses per colour, in seconds (p99)."""
        return self._per_target_group("TargetResponseTime", "p99")

    def unhealthy_host_count(self) -> dict[str, Metric]:
        """Targets failing the health check per colour (Maximum)."""
        return self._per_target_group("UnHealthyHostCount", "Maximum")

    def _service(self, namespace: str, name: str) -> Metric:
        return _metric(
            namespace, name, "Average", ClusterName=self.cluster_name, ServiceName=self.service_name
        )

    def cpu_utilization(self) -> Metric:
        """Percent of the reserved CPU (Average)."""
        return self._service(ECS, "CPUUtilization")

    def memory_utilization(self) -> Metric:
        """Percent of the reserved memory (Average)."""
        return self._service(ECS, "MemoryUtilization")

    def running_task_count(self) -> Metric:
        return self._service(CONTAINER_INSIGHTS, "RunningTaskCount")

    def desired_task_count(self) -> Metric:
        return self._service(CONTAINER_INSIGHTS, "DesiredTaskCount")

    def custom(self) -> Metric | None:
        """The configured scaling metric with its statistic; None without one."""
        m = self.custom_metric
        if m is None:
            return None
        return _metric(m.namespace, m.name, m.statistic, ServiceName=self.service_name)

    def custom_samples(self) -> Metric | None:
        """How many values of the scaling metric arrived (SampleCount): 0 or
        no datapoint means nothing publishes it; None without one."""
        m = self.custom()
        return None if m is None else Metric(m.namespace, m.name, m.dimensions, "SampleCount")


@dataclass(frozen=True, kw_only=True)
class LoadBalancerMetrics:
    """``load_balancer_arn_suffix``: the ALB's ``arn_suffix`` (the
    ``LoadBalancer`` dimension)."""

    load_balancer_arn_suffix: str

    def elb_5xx_count(self) -> Metric:
        """5xx the load balancer itself answers (Sum)."""
        return _metric(
            ALB, "HTTPCode_ELB_5XX_Count", "Sum", LoadBalancer=self.load_balancer_arn_suffix
        )

    def request_count(self) -> Metric:
        return _metric(ALB, "RequestCount", "Sum", LoadBalancer=self.load_balancer_arn_suffix)


@dataclass(frozen=True, kw_only=True)
class WebAclMetrics:
    """``web_acl_name``: the regional web ACL (``WebACL`` dimension);
    ``region``: its region (``Region``)."""

    web_acl_name: str
    region: str

    def blocked_requests(self, rule_metric_name: str) -> Metric:
        """Requests the rule whose metric name is ``rule_metric_name`` blocked (Sum)."""
        return _metric(
            WAF,
            "BlockedRequests",
            "Sum",
            Region=self.region,
            Rule=rule_metric_name,
            WebACL=self.web_acl_name,
        )


@dataclass(frozen=True, kw_only=True)
class DatabaseMetrics:
    """``cluster_identifier``: the Aurora cluster (``DBClusterIdentifier``)."""

    cluster_identifier: str

    def _cluster(self, name: str, statistic: str) -> Metric:
        return _metric(RDS, name, statistic, DBClusterIdentifier=self.cluster_identifier)

    def _role(self, name: str, role: str) -> Metric:
        """``name`` of the instances holding ``role`` (WRITER, READER), read
        with Maximum: the busiest of them. The cluster-level series
        averages every instance (a writer at 100 % with two idle readers
        reads about 37 %); Role narrows it to one role, and Maximum keeps
        one hot reader from being averaged away by an idle one (cluster
        aggregates report the smallest and largest instance value as
        Minimum and Maximum: Aurora user guide, "Checking uptime for Aurora
        clusters and instances",
        https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_Reboot.Uptime.html)."""
        if role not in ROLES:
            raise ValueError(f"role: {role!r} is not allowed; allowed: {', '.join(ROLES)}")
        return _metric(RDS, name, "Maximum", DBClusterIdentifier=self.cluster_identifier, Role=role)

    def role_cpu_utilization(self, role: str) -> Metric:
        """CPU of the busiest instance holding ``role`` (Maximum)."""
        return self._role("CPUUtilization", role)

    def role_acu_utilization(self, role: str) -> Metric:
        """Percent of the maximum ACU the busiest instance holding ``role``
        uses (Maximum): Aurora Serverless v2 scales each instance on its own."""
        return self._role("ACUUtilization", role)

    def acu_utilization(self) -> Metric:
        """Percent of the maximum ACU in use (Average)."""
        return self._cluster("ACUUtilization", "Average")

    def serverless_capacity(self) -> Metric:
        """ACU in use (Average)."""
        return self._cluster("ServerlessDatabaseCapacity", "Average")

    def connections(self) -> Metric:
        """Open connections; the peak of a period (Maximum)."""
        return self._cluster("DatabaseConnections", "Maximum")


def fargate_vcpu_in_use(capacity_class: str) -> Metric:
    """vCPU of the account's Fargate tasks in use (Maximum); ``capacity_class``
    ``Standard/OnDemand`` or ``Standard/Spot``. Fargate publishes usage in
    vCPU since its quotas moved to vCPU; the older ``Resource=OnDemand/Spot,
    Class=None`` series no longer receive data."""
    return _metric(
        USAGE,
        "ResourceCount",
        "Maximum",
        Service="Fargate",
        Type="Resource",
        Resource="vCPU",
        Class=capacity_class,
    )


#: The metric the card-data findings log groups publish (D75): one data
#: point of 1 a finding report; the namespace is the environment's, so
#: environments sharing an account never add to each other's.
CARD_DATA_FINDINGS = "CardDataFindings"


def card_data_findings(prefix: str) -> Metric:
    """Findings reports of the card-data audit (``Sum``: how many) of the
    environment ``prefix``; published by a metric filter on each stack's
    findings group (``modules.observability.data_protection``)."""
    return _metric(f"{prefix}/data-protection", CARD_DATA_FINDINGS, "Sum")
