"""Observability (issue 5): alarm topic, alarms, rollback on alarm, dashboard,
deployment events and log groups, checked on the synthesized JSON of every
environment (session fixtures), plus one small app with changed thresholds
and unit tests of the pure dashboard builder and the props validation."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from config.model import AlarmConfig, CustomScalingMetric, EnvironmentConfig, validate_environment
from config.naming import cluster_name
from tests.conftest import EXAMPLE_ENVIRONMENTS
from tests.rules_helpers import unit_stack
from tests.services_helpers import find, path_of, ref, resolve, services_stack
from tests.synth import SynthesizedStack, synthesize

ROLLBACK_ALARMS = (
    "failing-colour",
    "target-5xx-rate",
    "target-connection-errors",
    "p99-latency",
    "unhealthy-hosts-blue",
    "unhealthy-hosts-green",
)

#: (construct id, alarm name suffix, threshold from config, missing-data treatment)
SERVICE_ALARMS = (
    ("target-5xx-rate", "target-5xx-rate", lambda a: a.target_5xx_rate_percent, "notBreaching"),
    (
        "target-connection-errors",
        "target-connection-errors",
        lambda a: a.target_5xx_rate_percent,
        "notBreaching",
    ),
    ("failing-colour", "failing-colour", lambda a: a.failing_colour_percent, "notBreaching"),
    ("p99-latency", "p99-latency", lambda a: a.p99_latency_seconds, "notBreaching"),
    ("unhealthy-hosts-blue", "unhealthy-hosts-blue", lambda a: 0, "notBreaching"),
    ("unhealthy-hosts-green", "unhealthy-hosts-green", lambda a: 0, "notBreaching"),
    ("cpu", "cpu", lambda a: a.cpu_percent, "notBreaching"),
    ("memory", "memory", lambda a: a.memory_percent, "notBreaching"),
    ("running-below-desired", "running-below-desired", lambda a: 0, "breaching"),
)

#: (construct id, alarm name suffix, metric, Role or None, threshold from
#: config, only with readers)
DATABASE_ALARMS = (
    ("writer-cpu", "db-writer-cpu", "CPUUtilization", "WRITER", lambda a: a.db_cpu_percent, False),
    (
        "writer-acu-utilization",
        "db-writer-acu-utilization",
        "ACUUtilization",
        "WRITER",
        lambda a: a.db_acu_utilization_percent,
        False,
    ),
    ("reader-cpu", "db-reader-cpu", "CPUUtilization", "READER", lambda a: a.db_cpu_percent, True),
    (
        "reader-acu-utilization",
        "db-reader-acu-utilization",
        "ACUUtilization",
        "READER",
        lambda a: a.db_acu_utilization_percent,
        True,
    ),
    (
        "connections",
        "db-connections",
        "DatabaseConnections",
        None,
        lambda a: a.db_connections,
        False,
    ),
)


def database_alarm_count(env: EnvironmentConfig) -> int:
    return sum(
        not readers_only or env.database.reader_count > 0 for *_, readers_only in DATABASE_ALARMS
    )


#: Metrics AWS publishes for what we deploy, with the dimension sets they
#: carry (CloudWatch user guide: ELB, ECS, Container Insights, RDS and Fargate
#: usage metrics).
_TG = frozenset({"LoadBalancer", "TargetGroup"})
_LB = frozenset({"LoadBalancer"})
_ECS = frozenset({"ClusterName", "ServiceName"})
_DB = frozenset({"DBClusterIdentifier"})
_DB_ROLE = frozenset({"DBClusterIdentifier", "Role"})
KNOWN_METRICS: dict[str, dict[str, set[frozenset[str]]]] = {
    "AWS/ApplicationELB": {
        "RequestCount": {_TG, _LB},
        "HTTPCode_Target_5XX_Count": {_TG, _LB},
        "TargetConnectionErrorCount": {_TG, _LB},
        "TargetResponseTime": {_TG, _LB},
        "UnHealthyHostCount": {_TG},
        "HealthyHostCount": {_TG},
        "HTTPCode_ELB_5XX_Count": {_LB},
    },
    "AWS/ECS": {"CPUUtilization": {_ECS}, "MemoryUtilization": {_ECS}},
    "ECS/ContainerInsights": {
        "RunningTaskCount": {_ECS},
        "DesiredTaskCount": {_ECS},
        "PendingTaskCount": {_ECS},
    },
    "AWS/RDS": {
        name: {_DB, _DB_ROLE}
        for name in (
            "CPUUtilization",
            "ACUUtilization",
            "ServerlessDatabaseCapacity",
            "DatabaseConnections",
        )
    },
    "AWS/Usage": {"ResourceCount": {frozenset({"Service", "Type", "Resource", "Class"})}},
}

REFERENCE = re.compile(r"^\$\{[^{}]+\}$")


# --- helpers ----------------------------------------------------------------


def alarm(stack: SynthesizedStack, owner: str, alarm_id: str) -> tuple[str, dict]:
    return find(stack, "aws_cloudwatch_metric_alarm", f"{owner}/alarms/{alarm_id}")


def topic_ref(stack: SynthesizedStack) -> str:
    key, _ = find(stack, "aws_sns_topic", "alarm-topic/topic")
    return ref("aws_sns_topic", key, "arn")


def queried_metrics(alarm_body: dict) -> list[dict]:
    """Every metric an alarm reads: {namespace, metric_name, dimensions}."""
    if "metric_query" in alarm_body:
        return [q["metric"] for q in alarm_body["metric_query"] if "metric" in q]
    return [
        {
            "namespace": alarm_body["namespace"],
            "metric_name": alarm_body["metric_name"],
            "dimensions": alarm_body["dimensions"],
        }
    ]


def points_at(
    stacks,
    stack: SynthesizedStack,
    value: str,
    resource_type: str,
    path_suffix: str,
    attribute: str | None = None,
) -> bool:
    """True when ``value`` references ``resource_type`` at ``*/path_suffix``
    (following cross-stack references) and that resource exists."""
    stack_name, rtype, key, attr = resolve(stacks, value)
    resources = stacks[stack_name or stack.name].resources(rtype)
    return (
        rtype == resource_type
        and key in resources
        and path_of(resources[key]).endswith("/" + path_suffix)
        and (attribute is None or attr == attribute)
    )


def load_balancer_kind(env: EnvironmentConfig, service: str) -> str:
    return "public" if env.service(service).public else "internal"


def dashboard_metrics(widgets: list[dict]) -> list[tuple[str, str, str, dict[str, str]]]:
    """(widget title, namespace, metric, dimensions) of every metric widget line."""
    found = []
    for widget in widgets:
        if widget["type"] != "metric":
            continue
        for line in widget["properties"]["metrics"]:
            options = line[-1] if isinstance(line[-1], dict) else None
            fields = line[:-1] if options is not None else line
            assert len(fields) % 2 == 0, f"odd metric line {line}"
            namespace, name, *pairs = fields
            dims = dict(zip(pairs[::2], pairs[1::2], strict=True))
            found.append((widget["properties"]["title"], namespace, name, dims))
    return found


# --- alarm topic --------------------------------------------------------------


def test_topic_is_encrypted_with_the_logs_key_of_the_security_stack(stacks, svc_stack, env):
    """The logs key, not the data key: the data key admits no service
    principal (docs/pci-responsibility.md, 3.6.1)."""
    _, topic = find(svc_stack, "aws_sns_topic", "alarm-topic/topic")
    assert topic["name"] == f"{env.prefix}-alarms"
    value = topic["kms_master_key_id"]
    assert value.startswith(
        f"${{data.terraform_remote_state.cross-stack-reference-input-{env.prefix}-security."
    )
    assert points_at(stacks, svc_stack, value, "aws_kms_key", "logs-key/key", "arn")


def test_subscriptions_are_exactly_the_configured_emails(svc_stack, env):
    subscriptions = list(svc_stack.resources("aws_sns_topic_subscription").values())
    assert sorted(s["endpoint"] for s in subscriptions) == sorted(env.alarms.emails)
    for s in subscriptions:
        assert s["protocol"] == "email"
        assert s["topic_arn"] == topic_ref(svc_stack)


def test_example_prod_pages_on_call_and_dev_subscribes_nobody(example_stacks):
    def subscriptions(env_name):
        synthesized = services_stack(example_stacks, env_name)
        return list(synthesized.resources("aws_sns_topic_subscription").values())

    assert len(subscriptions("prod")) == 1
    assert subscriptions("dev") == []


def test_topic_policy_lets_cloudwatch_of_this_account_publish(svc_stack):
    _, policy_resource = find(svc_stack, "aws_sns_topic_policy", "alarm-topic/policy")
    topic = topic_ref(svc_stack)
    assert policy_resource["arn"] == topic
    statements = json.loads(policy_resource["policy"])["Statement"]
    allow = [
        s
        for s in statements
        if s["Effect"] == "Allow" and s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert len(allow) == 1
    assert allow[0]["Action"] == "sns:Publish"
    assert allow[0]["Resource"] == topic
    assert "aws:SourceAccount" in allow[0]["Condition"]["StringEquals"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_logs_key_policy_lets_cloudwatch_encrypt_alarm_messages(stacks, env):
    security = stacks[f"{env.prefix}-security"]
    _, key = find(security, "aws_kms_key", "logs-key/key")
    statements = json.loads(key["policy"])["Statement"]
    for_cloudwatch = [
        s
        for s in statements
        if s["Effect"] == "Allow"
        and "cloudwatch.amazonaws.com" in (s["Principal"].get("Service") or [])
    ]
    assert len(for_cloudwatch) == 1
    actions = set(for_cloudwatch[0]["Action"])
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= actions
    assert not any(a in actions for a in ("kms:*", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"))


# --- alarms ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "alarm_id,suffix,threshold,missing", SERVICE_ALARMS, ids=[row[0] for row in SERVICE_ALARMS]
)
def test_each_service_has_the_alarm_on_the_topic(
    svc_stack, env, alarm_id, suffix, threshold, missing
):
    topic = topic_ref(svc_stack)
    for svc in env.services:
        _, body = alarm(svc_stack, f"alarms-{svc.name}", alarm_id)
        assert body["alarm_name"] == f"{env.prefix}-{svc.name}-{suffix}"
        assert body["alarm_actions"] == [topic]
        assert body["ok_actions"] == [topic]
        assert body["threshold"] == threshold(env.alarms)
        assert body["treat_missing_data"] == missing
        assert body["comparison_operator"] == "GreaterThanThreshold"
        if alarm_id == "failing-colour":
            # One minute whatever the configured period (D44): it must stop a
            # release inside a 5-minute canary.
            assert body["evaluation_periods"] == 1
            assert {q["metric"]["period"] for q in body["metric_query"] if "metric" in q} == {60}
        else:
            assert body["evaluation_periods"] >= env.alarms.evaluation_periods
        assert body["datapoints_to_alarm"] == body["evaluation_periods"]
        assert body["alarm_description"]


def test_custom_metric_alarm_per_service_uses_the_configured_metric(stacks, svc_stack, env):
    topic = topic_ref(svc_stack)
    alarms = svc_stack.resources("aws_cloudwatch_metric_alarm").values()
    for svc in env.services:
        if svc.custom_metric is None:
            suffix = f"/alarms-{svc.name}/alarms/custom-metric"
            assert not any(path_of(a).endswith(suffix) for a in alarms), svc.name
    with_metric = [s for s in env.services if s.custom_metric is not None]
    for svc in with_metric:
        m = svc.custom_metric
        _, body = alarm(svc_stack, f"alarms-{svc.name}", "custom-metric")
        expected = m.alarm_threshold if m.alarm_threshold is not None else 2 * m.target_value
        assert body["threshold"] == expected
        # Per running task, as its scaling policy reads it (D58).
        queries = {q["id"]: q for q in body["metric_query"]}
        backlog = queries["backlog"]["metric"]
        assert (backlog["namespace"], backlog["metric_name"], backlog["stat"]) == (
            m.namespace,
            m.name,
            m.statistic,
        )
        assert set(backlog["dimensions"]) == {"ServiceName"}
        assert points_at(
            stacks,
            svc_stack,
            backlog["dimensions"]["ServiceName"],
            "aws_ecs_service",
            f"service-{svc.name}/service",
            "name",
        )
        assert queries["tasks"]["metric"]["metric_name"] == "RunningTaskCount"
        assert queries["per_task"]["expression"] == "backlog / tasks"
        assert body["treat_missing_data"] == "notBreaching"
        assert body["alarm_actions"] == body["ok_actions"] == [topic]


@pytest.mark.parametrize(
    "alarm_id,suffix,metric,role,threshold,readers_only",
    DATABASE_ALARMS,
    ids=[row[0] for row in DATABASE_ALARMS],
)
def test_database_alarm_reads_the_cluster_of_the_data_stack(
    stacks, svc_stack, env, alarm_id, suffix, metric, role, threshold, readers_only
):
    if readers_only and env.database.reader_count == 0:
        suffix_path = f"/alarms-database/alarms/{alarm_id}"
        alarms = svc_stack.resources("aws_cloudwatch_metric_alarm").values()
        assert not any(path_of(a).endswith(suffix_path) for a in alarms)
        return
    _, body = alarm(svc_stack, "alarms-database", alarm_id)
    assert body["alarm_name"] == f"{env.prefix}-{suffix}"
    assert (body["namespace"], body["metric_name"]) == ("AWS/RDS", metric)
    assert body["threshold"] == threshold(env.alarms)
    assert body["alarm_actions"] == body["ok_actions"] == [topic_ref(svc_stack)]
    if role is None:
        assert set(body["dimensions"]) == {"DBClusterIdentifier"}
    else:
        # Aurora's Role dimension: the instances holding that role now, read
        # with Maximum (the busiest of them); the cluster alone averages all
        # instances (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/dimensions.html).
        assert body["dimensions"]["Role"] == role
        assert set(body["dimensions"]) == {"DBClusterIdentifier", "Role"}
        assert body["statistic"] == "Maximum"
    assert points_at(
        stacks,
        svc_stack,
        body["dimensions"]["DBClusterIdentifier"],
        "aws_rds_cluster",
        "database/cluster",
        "cluster_identifier",
    )
    # A paused cluster publishes nothing; elsewhere silence is itself a symptom.
    pauses = env.database.auto_pause_seconds is not None
    assert body["treat_missing_data"] == ("notBreaching" if pauses else "breaching")


@pytest.mark.parametrize("env_name", EXAMPLE_ENVIRONMENTS)
def test_database_missing_data_differs_between_pausing_dev_and_prod(example_stacks, env_name):
    _, body = alarm(services_stack(example_stacks, env_name), "alarms-database", "writer-cpu")
    expected = {"dev": "notBreaching", "staging": "breaching", "prod": "breaching"}[env_name]
    assert body["treat_missing_data"] == expected


def test_the_example_has_a_public_and_an_internal_load_balancer(example_environments):
    for env in example_environments.values():
        assert {load_balancer_kind(env, s.name) for s in env.services} == {"public", "internal"}


def test_load_balancer_5xx_rate_alarm_per_load_balancer(stacks, svc_stack, env):
    # One load balancer per kind a service of the configuration uses.
    kinds = {load_balancer_kind(env, s.name) for s in env.services}
    assert kinds and kinds <= {"public", "internal"}
    alarms = [
        a
        for a in svc_stack.resources("aws_cloudwatch_metric_alarm").values()
        if a["alarm_name"].endswith("-alb-elb-5xx-rate")
    ]
    assert len(alarms) == len(kinds)
    for kind in kinds:
        _, body = alarm(svc_stack, f"alarms-{kind}-alb", "elb-5xx-rate")
        assert body["alarm_name"] == f"{env.prefix}-{kind}-alb-elb-5xx-rate"
        assert body["threshold"] == env.alarms.alb_5xx_rate_percent
        assert body["treat_missing_data"] == "notBreaching"
        assert body["alarm_actions"] == body["ok_actions"] == [topic_ref(svc_stack)]
        metrics = {m["metric_name"]: m for m in queried_metrics(body)}
        assert set(metrics) == {"HTTPCode_ELB_5XX_Count", "RequestCount"}
        for m in metrics.values():
            assert m["namespace"] == "AWS/ApplicationELB"
            assert set(m["dimensions"]) == {"LoadBalancer"}
            assert points_at(
                stacks,
                svc_stack,
                m["dimensions"]["LoadBalancer"],
                "aws_lb",
                f"{kind}-alb/alb",
                "arn_suffix",
            )


def test_every_alarm_notifies_the_topic_on_alarm_and_ok(svc_stack, env):
    topic = topic_ref(svc_stack)
    alarms = svc_stack.resources("aws_cloudwatch_metric_alarm")
    custom_metrics = sum(svc.custom_metric is not None for svc in env.services)
    load_balancers = {load_balancer_kind(env, svc.name) for svc in env.services}
    assert len(alarms) == (
        len(SERVICE_ALARMS) * len(env.services)
        + custom_metrics
        + (custom_metrics if env.is_production else 0)  # metric absent (D51)
        + database_alarm_count(env)
        + len(load_balancers)
        + (1 if env.is_production else 0)  # card-data findings (D75)
        + env.load_balancer.waf  # card numbers in URLs (D77)
    )
    for body in alarms.values():
        assert body["alarm_actions"] == [topic] and body["ok_actions"] == [topic]
        assert body["treat_missing_data"] in ("breaching", "notBreaching")
        assert body["alarm_name"].startswith(env.prefix + "-")


def test_metric_math_reads_the_target_groups_and_load_balancer_of_that_service(
    stacks, svc_stack, env
):
    for svc in env.services:
        kind = load_balancer_kind(env, svc.name)
        for alarm_id in ROLLBACK_ALARMS:
            _, body = alarm(svc_stack, f"alarms-{svc.name}", alarm_id)
            colors = set()
            for m in queried_metrics(body):
                dims = m["dimensions"]
                assert m["namespace"] == "AWS/ApplicationELB"
                assert set(dims) == {"LoadBalancer", "TargetGroup"}
                assert points_at(
                    stacks,
                    svc_stack,
                    dims["LoadBalancer"],
                    "aws_lb",
                    f"{kind}-alb/alb",
                    "arn_suffix",
                ), (svc.name, alarm_id, dims)
                matched = [
                    c
                    for c in ("blue", "green")
                    if points_at(
                        stacks,
                        svc_stack,
                        dims["TargetGroup"],
                        "aws_lb_target_group",
                        f"service-{svc.name}/{c}-target-group",
                        "arn_suffix",
                    )
                ]
                assert len(matched) == 1, (svc.name, alarm_id, dims)
                colors.update(matched)
            if alarm_id.startswith("unhealthy-hosts-"):
                assert colors == {alarm_id.rsplit("-", 1)[1]}
            else:
                # Either colour may be live after a deployment: both are read.
                assert colors == {"blue", "green"}


def test_task_and_utilisation_alarms_read_that_service_of_the_cluster(stacks, svc_stack, env):
    for svc in env.services:
        for alarm_id, namespace in (
            ("cpu", "AWS/ECS"),
            ("memory", "AWS/ECS"),
            ("running-below-desired", "ECS/ContainerInsights"),
        ):
            _, body = alarm(svc_stack, f"alarms-{svc.name}", alarm_id)
            for m in queried_metrics(body):
                assert m["namespace"] == namespace
                assert set(m["dimensions"]) == {"ClusterName", "ServiceName"}
                assert points_at(
                    stacks,
                    svc_stack,
                    m["dimensions"]["ClusterName"],
                    "aws_ecs_cluster",
                    "cluster/cluster",
                    "name",
                )
                assert points_at(
                    stacks,
                    svc_stack,
                    m["dimensions"]["ServiceName"],
                    "aws_ecs_service",
                    f"service-{svc.name}/service",
                    "name",
                )
        _, below = alarm(svc_stack, f"alarms-{svc.name}", "running-below-desired")
        names = {m["metric_name"] for m in queried_metrics(below)}
        assert names == {"DesiredTaskCount", "RunningTaskCount"}


def test_metric_math_expressions_use_only_defined_queries(svc_stack):
    checked = 0
    for body in svc_stack.resources("aws_cloudwatch_metric_alarm").values():
        queries = body.get("metric_query")
        if not queries:
            assert "namespace" in body and "metric_name" in body
            continue
        ids = {q["id"] for q in queries}
        returned = [q for q in queries if q.get("return_data")]
        assert len(returned) == 1, body["alarm_name"]
        assert "expression" in returned[0]
        used = set(re.findall(r"\b[a-z][a-z0-9_]*\b", returned[0]["expression"])) - {"FILL", "MAX"}
        assert used and used <= ids, (body["alarm_name"], used - ids)
        assert "namespace" not in body and "metric_name" not in body
        checked += 1
    assert checked >= 3


# --- rollback on alarm ----------------------------------------------------------


def attributable_load_balancer_alarm(env: EnvironmentConfig, service: str) -> str | None:
    """Construct path suffix of the ELB 5xx alarm a service's releases also
    watch: only when the service is alone behind its load balancer (ELB 5xx
    exist per load balancer only, ALB metrics reference; D44)."""
    kind = load_balancer_kind(env, service)
    alone = [s for s in env.services if load_balancer_kind(env, s.name) == kind] == [
        env.service(service)
    ]
    return f"alarms-{kind}-alb/alarms/elb-5xx-rate" if alone else None


def test_rollback_on_alarm_in_staging_and_prod_uses_that_services_alarms(svc_stack, env):
    if env.is_production:
        assert env.deployment.rollback_on_alarm is True
    for svc in env.services:
        _, group = find(
            svc_stack, "aws_codedeploy_deployment_group", f"service-{svc.name}/deployment-group"
        )
        events = group["auto_rollback_configuration"]["events"]
        assert group["auto_rollback_configuration"]["enabled"] is True
        assert "DEPLOYMENT_FAILURE" in events
        if not env.deployment.rollback_on_alarm:
            assert "DEPLOYMENT_STOP_ON_ALARM" not in events
            assert "alarm_configuration" not in group
            continue
        assert "DEPLOYMENT_STOP_ON_ALARM" in events
        config = group["alarm_configuration"]
        assert config["enabled"] is True
        assert 1 <= len(config["alarms"]) <= 10
        own, shared = [], []
        for value in config["alarms"]:
            _, rtype, key, attr = resolve({}, value)
            assert (rtype, attr) == ("aws_cloudwatch_metric_alarm", "alarm_name")
            body = svc_stack.resources(rtype)[key]
            prefix = f"{svc_stack.name}/alarms-{svc.name}/alarms/"
            if path_of(body).startswith(prefix):
                own.append(path_of(body).removeprefix(prefix))
            else:
                shared.append(path_of(body).removeprefix(f"{svc_stack.name}/"))
        assert sorted(own) == sorted(ROLLBACK_ALARMS)
        expected = attributable_load_balancer_alarm(env, svc.name)
        assert shared == ([expected] if expected else []), svc.name


def test_the_example_rolls_back_on_alarm_in_staging_and_prod_only(example_environments):
    rolls_back = {
        name: env.deployment.rollback_on_alarm for name, env in example_environments.items()
    }
    assert rolls_back == {"dev": False, "staging": True, "prod": True}


# --- threshold changes reach the alarms (one small separate app) -------------------


@pytest.fixture(scope="module")
def retuned(tmp_path_factory, example_environments):
    """The example's dev with changed thresholds, two subscribers and rollback on alarm."""
    dev = example_environments["dev"]
    alarms = dataclasses.replace(
        dev.alarms,
        emails=("a@example.com", "b@example.com"),
        unsubscribed_reason=None,
        target_5xx_rate_percent=1.5,
        p99_latency_seconds=0.75,
        cpu_percent=70.0,
        db_connections=123,
        alb_5xx_rate_percent=2.5,
        evaluation_periods=4,
    )
    first = dev.services[0]
    metric = dataclasses.replace(first.custom_metric, alarm_threshold=77.0)
    services = (dataclasses.replace(first, custom_metric=metric), *dev.services[1:])
    env = dataclasses.replace(
        dev,
        alarms=alarms,
        services=services,
        deployment=dataclasses.replace(dev.deployment, rollback_on_alarm=True),
    )
    assert validate_environment(env) == []
    _, stacks = synthesize([env], tmp_path_factory.mktemp("retuned"))
    return env, stacks


@pytest.mark.app_synthesis  # synthesizes its own variant (D79)
def test_changed_thresholds_change_the_alarms(retuned):
    env, synthesized = retuned
    stack = services_stack(synthesized, "dev")
    svc = env.services[0].name
    assert alarm(stack, f"alarms-{svc}", "target-5xx-rate")[1]["threshold"] == 1.5
    assert alarm(stack, f"alarms-{svc}", "p99-latency")[1]["threshold"] == 0.75
    assert alarm(stack, f"alarms-{svc}", "cpu")[1]["threshold"] == 70
    assert alarm(stack, f"alarms-{svc}", "custom-metric")[1]["threshold"] == 77
    assert alarm(stack, "alarms-database", "connections")[1]["threshold"] == 123
    assert alarm(stack, "alarms-public-alb", "elb-5xx-rate")[1]["threshold"] == 2.5
    assert alarm(stack, f"alarms-{svc}", "cpu")[1]["evaluation_periods"] == 4
    # Never fewer than five minutes: a task takes a while to start.
    assert alarm(stack, f"alarms-{svc}", "running-below-desired")[1]["evaluation_periods"] == 5


@pytest.mark.app_synthesis  # synthesizes its own variant (D79)
def test_changed_emails_and_rollback_flag_reach_topic_and_deployment_groups(retuned):
    env, synthesized = retuned
    stack = services_stack(synthesized, "dev")
    endpoints = sorted(
        s["endpoint"] for s in stack.resources("aws_sns_topic_subscription").values()
    )
    assert endpoints == ["a@example.com", "b@example.com"]
    for svc in env.services:
        _, group = find(
            stack, "aws_codedeploy_deployment_group", f"service-{svc.name}/deployment-group"
        )
        assert "DEPLOYMENT_STOP_ON_ALARM" in group["auto_rollback_configuration"]["events"]
        attributable = attributable_load_balancer_alarm(env, svc.name) is not None
        assert len(group["alarm_configuration"]["alarms"]) == len(ROLLBACK_ALARMS) + attributable


# --- dashboard --------------------------------------------------------------------


@pytest.fixture
def dashboard(svc_stack) -> list[dict]:
    _, body = find(svc_stack, "aws_cloudwatch_dashboard", "dashboard/dashboard")
    return json.loads(body["dashboard_body"])["widgets"]


def test_dashboard_is_named_after_the_environment_with_valid_json(svc_stack, env):
    _, body = find(svc_stack, "aws_cloudwatch_dashboard", "dashboard/dashboard")
    assert body["dashboard_name"] == env.prefix
    document = json.loads(body["dashboard_body"])
    assert set(document) == {"widgets"} and document["widgets"]
    for widget in document["widgets"]:
        assert widget["type"] in ("metric", "text", "alarm", "log")
        assert 1 <= widget["width"] <= 24 and widget["height"] >= 1
        if widget["type"] in ("metric", "log"):
            assert widget["properties"]["region"] == env.region


def test_dashboard_metrics_exist_in_their_namespace(dashboard, env):
    known = {ns: dict(metrics) for ns, metrics in KNOWN_METRICS.items()}
    for svc in env.services:
        if svc.custom_metric is not None:
            m = svc.custom_metric
            known.setdefault(m.namespace, {})[m.name] = {frozenset({"ServiceName"})}
    lines = dashboard_metrics(dashboard)
    assert len(lines) >= 5 * len(env.services)
    for title, namespace, name, dims in lines:
        assert namespace in known, (title, namespace)
        assert name in known[namespace], (title, namespace, name)
        assert frozenset(dims) in known[namespace][name], (title, namespace, name, sorted(dims))


def test_dashboard_references_resources_that_exist(stacks, svc_stack, dashboard):
    references = 0
    for title, _namespace, _name, dims in dashboard_metrics(dashboard):
        for dim, value in dims.items():
            if not value.startswith("${"):
                continue
            assert REFERENCE.match(value), (title, dim, value)
            stack_name, rtype, key, _ = resolve(stacks, value)
            owner = stacks[stack_name or svc_stack.name]
            assert key in owner.resources(rtype), (title, dim, value)
            if stack_name:
                # Only the database lives elsewhere (the data stack).
                assert stack_name == svc_stack.name.replace("-services", "-data"), value
                assert rtype == "aws_rds_cluster", value
            references += 1
    assert references > 0


def test_dashboard_shows_requests_errors_latency_tasks_and_utilisation_per_service(
    stacks, svc_stack, dashboard, env
):
    lines = dashboard_metrics(dashboard)
    for svc in env.services:

        def reads(namespace, name, dim, resource_type, suffix, attribute):
            return any(
                ns == namespace
                and n == name
                and dim in dims
                and points_at(stacks, svc_stack, dims[dim], resource_type, suffix, attribute)
                for _, ns, n, dims in lines
            )

        for name in ("RequestCount", "HTTPCode_Target_5XX_Count", "TargetResponseTime"):
            for color in ("blue", "green"):
                assert reads(
                    "AWS/ApplicationELB",
                    name,
                    "TargetGroup",
                    "aws_lb_target_group",
                    f"service-{svc.name}/{color}-target-group",
                    "arn_suffix",
                ), (svc.name, name, color)
        for namespace, name in (
            ("ECS/ContainerInsights", "RunningTaskCount"),
            ("ECS/ContainerInsights", "DesiredTaskCount"),
            ("AWS/ECS", "CPUUtilization"),
            ("AWS/ECS", "MemoryUtilization"),
        ):
            assert reads(
                namespace,
                name,
                "ServiceName",
                "aws_ecs_service",
                f"service-{svc.name}/service",
                "name",
            ), (svc.name, name)
        titles = {w["properties"].get("title") for w in dashboard if w["type"] == "metric"}
        for part in (
            "requests",
            "5xx errors",
            "p99 latency (s)",
            "tasks running / desired",
            "CPU / memory (%)",
        ):
            assert f"{svc.name}: {part}" in titles


def test_dashboard_shows_fargate_vs_spot_and_the_database(stacks, svc_stack, dashboard):
    lines = dashboard_metrics(dashboard)
    usage = [dims for _, ns, _, dims in lines if ns == "AWS/Usage"]
    assert sorted(d["Class"] for d in usage) == ["Standard/OnDemand", "Standard/Spot"]
    for dims in usage:
        assert {k: dims[k] for k in ("Service", "Type", "Resource")} == {
            "Service": "Fargate",
            "Type": "Resource",
            "Resource": "vCPU",
        }
    rds = {
        name
        for _, ns, name, dims in lines
        if ns == "AWS/RDS"
        and points_at(
            stacks,
            svc_stack,
            dims["DBClusterIdentifier"],
            "aws_rds_cluster",
            "database/cluster",
            "cluster_identifier",
        )
    }
    assert {"ServerlessDatabaseCapacity", "ACUUtilization", "DatabaseConnections"} <= rds


def test_dashboard_graphs_database_cpu_per_role_as_the_alarms_read_it(svc_stack, dashboard, env):
    """Database CPU by Role (WRITER, READER with readers), Maximum: the
    series of the db-writer-cpu / db-reader-cpu alarms; no cluster average,
    which hid a saturated writer beside idle readers (D58; Aurora user guide,
    "Amazon CloudWatch dimensions for Aurora",
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/dimensions.html)."""
    (widget,) = (
        w for w in dashboard if w["type"] == "metric" and "CPU by role" in w["properties"]["title"]
    )
    lines = dashboard_metrics([widget])
    roles = ["WRITER"] + (["READER"] if env.database.reader_count > 0 else [])
    assert [dims.get("Role") for _, _, _, dims in lines] == roles
    assert {(ns, name) for _, ns, name, _ in lines} == {("AWS/RDS", "CPUUtilization")}
    assert widget["properties"]["stat"] == "Maximum"
    alarmed = {
        (body["dimensions"]["Role"], body["statistic"])
        for body in svc_stack.resources("aws_cloudwatch_metric_alarm").values()
        if body.get("metric_name") == "CPUUtilization" and "Role" in body.get("dimensions", {})
    }
    assert alarmed == {(role, "Maximum") for role in roles}
    cluster_cpu = [
        dims
        for _, ns, name, dims in dashboard_metrics(dashboard)
        if (ns, name) == ("AWS/RDS", "CPUUtilization") and "Role" not in dims
    ]
    assert cluster_cpu == []


def test_dashboard_log_widget_queries_the_deployment_events(svc_stack, dashboard):
    key, _ = find(svc_stack, "aws_cloudwatch_log_group", "deployment-events/log-group")
    logs = [w for w in dashboard if w["type"] == "log"]
    assert len(logs) == 1
    query = logs[0]["properties"]["query"]
    assert query.startswith(f"SOURCE '{ref('aws_cloudwatch_log_group', key, 'name')}' |")
    assert "detail.deploymentGroup" in query and "detail.state" in query


def test_dashboard_alarm_widget_shows_the_rollback_alarms(svc_stack, dashboard, env):
    widgets = [w for w in dashboard if w["type"] == "alarm"]
    assert len(widgets) == 1
    shown = widgets[0]["properties"]["alarms"]
    assert len(shown) == len(ROLLBACK_ALARMS) * len(env.services)
    alarms = svc_stack.resources("aws_cloudwatch_metric_alarm")
    for value in shown:
        _, rtype, key, attr = resolve({}, value)
        assert (rtype, attr) == ("aws_cloudwatch_metric_alarm", "arn") and key in alarms
        assert path_of(alarms[key]).rsplit("/", 1)[1] in ROLLBACK_ALARMS


# --- deployment events --------------------------------------------------------------


def test_codedeploy_events_of_this_environment_reach_the_log_group(svc_stack, env):
    group_key, group = find(svc_stack, "aws_cloudwatch_log_group", "deployment-events/log-group")
    assert group["name"] == f"/aws/events/{env.prefix}-deployments"
    rule_key, rule = find(svc_stack, "aws_cloudwatch_event_rule", "deployment-events/rule")
    pattern = json.loads(rule["event_pattern"])
    assert pattern["source"] == ["aws.codedeploy"]
    assert pattern["detail-type"] == ["CodeDeploy Deployment State-change Notification"]
    app_key, _ = find(svc_stack, "aws_codedeploy_app", "codedeploy/application")
    assert pattern["detail"] == {"application": [ref("aws_codedeploy_app", app_key, "name")]}
    _, target = find(svc_stack, "aws_cloudwatch_event_target", "deployment-events/target")
    assert target["rule"] == ref("aws_cloudwatch_event_rule", rule_key, "name")
    assert target["arn"] == ref("aws_cloudwatch_log_group", group_key, "arn")
    _, policy = find(
        svc_stack, "aws_cloudwatch_log_resource_policy", "deployment-events/delivery-policy"
    )
    create, put = json.loads(policy["policy_document"])["Statement"]
    for statement in (create, put):
        assert "events.amazonaws.com" in statement["Principal"]["Service"]
        assert statement["Resource"] == ref("aws_cloudwatch_log_group", group_key, "arn") + ":*"
    assert (create["Action"], put["Action"]) == ("logs:CreateLogStream", "logs:PutLogEvents")
    # EventBridge sends aws:SourceArn with PutLogEvents only (D58): stream
    # creation conditioned on it delivered nothing. Sources: EventBridge user
    # guide, "CloudWatch Logs permissions" (no condition in its sample),
    # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-cloudwatchlogs-permissions;
    # aws-samples/serverless-patterns PR #618 (its sample split for that
    # reason); hashicorp/terraform-provider-aws #26628 (the provider's example).
    assert "Condition" not in create
    assert put["Condition"] == {
        "ArnEquals": {"aws:SourceArn": ref("aws_cloudwatch_event_rule", rule_key, "arn")}
    }


# --- log groups ------------------------------------------------------------------------


def test_every_log_group_of_every_stack_uses_the_logs_key_and_configured_retention(
    stacks, built_stacks, environments
):
    seen = {name: 0 for name in environments}
    env_of_stack = {s.node.id: name for name, built in built_stacks.items() for s in built.all()}
    assert set(env_of_stack) <= set(stacks)
    for stack_name, stack in stacks.items():
        if stack_name.endswith("-baseline"):
            continue  # the account's: its own key (tests/test_security_baseline.py)
        env_name = env_of_stack[stack_name]
        env = environments[env_name]
        for key, group in stack.resources("aws_cloudwatch_log_group").items():
            where = f"{stack_name}/{key}"
            assert group.get("retention_in_days") == env.log_retention_days, where
            value = group.get("kms_key_id", "")
            assert value.startswith("${"), where
            assert points_at(stacks, stack, value, "aws_kms_key", "logs-key/key", "arn"), where
            assert resolve(stacks, value)[0] in ("", f"{env.prefix}-security"), where
            seen[env_name] += 1
    # flow logs, database, ECS Exec, one per service, deployments, Container Insights
    for name, count in seen.items():
        assert count >= 5 + len(environments[name].services), seen
    for env in environments.values():
        if env.is_production:
            assert env.log_retention_days >= 365, env.name


def test_container_insights_log_group_exists_before_the_cluster(svc_stack, env):
    key, group = find(svc_stack, "aws_cloudwatch_log_group", "container-insights-logs/log-group")
    assert group["name"] == f"/aws/ecs/containerinsights/{cluster_name(env)}/performance"
    _, cluster = find(svc_stack, "aws_ecs_cluster", "cluster/cluster")
    assert cluster["name"] == cluster_name(env)
    assert f"aws_cloudwatch_log_group.{key}" in cluster["depends_on"]
    settings = {s["name"]: s["value"] for s in cluster["setting"]}
    assert settings["containerInsights"] in ("enabled", "enhanced")


# --- unit: dashboard_widgets() ----------------------------------------------------------


def _service_metrics(service_name: str, lb: str, blue: str, green: str, custom=None):
    from modules.observability.metrics import ServiceMetrics

    return ServiceMetrics(
        cluster_name="c",
        service_name=service_name,
        load_balancer_arn_suffix=lb,
        target_group_arn_suffixes={"blue": blue, "green": green},
        custom_metric=custom,
    )


def _dashboard_props(**overrides):
    from modules.observability.dashboard import DashboardProps, DashboardService
    from modules.observability.metrics import DatabaseMetrics

    services = (
        DashboardService(
            name="api",
            metrics=_service_metrics(
                "api-svc",
                "app/lb/1",
                "tg/b",
                "tg/g",
                custom=CustomScalingMetric(
                    namespace="Ns/Api", name="Inflight", target_value=5, statistic="Maximum"
                ),
            ),
        ),
        DashboardService(
            name="worker", metrics=_service_metrics("worker-svc", "app/lb/2", "tg/b2", "tg/g2")
        ),
    )
    values = dict(
        name="payment-test",
        region="eu-central-1",
        services=services,
        database=DatabaseMetrics(cluster_identifier="db-1"),
        deployment_log_group_name="/aws/events/x",
        alarm_arns=("arn:a", "arn:b"),
    )
    values.update(overrides)
    return DashboardProps(**values)


def test_dashboard_widgets_per_service_and_custom_metric():
    from modules.observability.dashboard import dashboard_widgets

    widgets = dashboard_widgets(_dashboard_props())
    titles = [w["properties"].get("title") for w in widgets]
    assert [t for t in titles if t and t.startswith("api:")] == [
        "api: requests",
        "api: 5xx errors",
        "api: p99 latency (s)",
        "api: tasks running / desired",
        "api: CPU / memory (%)",
        "api: Inflight",
    ]
    assert len([t for t in titles if t and t.startswith("worker:")]) == 5
    (custom,) = [w for w in widgets if w["properties"].get("title") == "api: Inflight"]
    assert custom["properties"]["stat"] == "Maximum"
    assert custom["properties"]["metrics"] == [["Ns/Api", "Inflight", "ServiceName", "api-svc"]]
    (latency,) = [w for w in widgets if w["properties"].get("title") == "worker: p99 latency (s)"]
    assert latency["properties"]["stat"] == "p99"
    assert [line[5] for line in latency["properties"]["metrics"]] == ["tg/b2", "tg/g2"]
    assert all(line[3] == "app/lb/2" for line in latency["properties"]["metrics"])
    assert {w["properties"]["region"] for w in widgets if w["type"] in ("metric", "log")} == {
        "eu-central-1"
    }
    assert all(w["width"] <= 24 for w in widgets)
    json.dumps(widgets)  # serialisable as it is


def test_dashboard_widgets_alarm_widget_only_with_alarms_and_log_widget_source():
    from modules.observability.dashboard import dashboard_widgets

    with_alarms = dashboard_widgets(_dashboard_props())
    (alarm_widget,) = [w for w in with_alarms if w["type"] == "alarm"]
    assert alarm_widget["properties"]["alarms"] == ["arn:a", "arn:b"]
    without = dashboard_widgets(_dashboard_props(alarm_arns=()))
    assert not [w for w in without if w["type"] == "alarm"]
    (log,) = [w for w in without if w["type"] == "log"]
    assert log["properties"]["query"].startswith("SOURCE '/aws/events/x' |")
    db_lines = dashboard_metrics(without)
    assert {
        n for _, ns, n, d in db_lines if ns == "AWS/RDS" and d == {"DBClusterIdentifier": "db-1"}
    } == {"ServerlessDatabaseCapacity", "ACUUtilization", "DatabaseConnections"}
    # CPU only per role; the reader line only with readers (D58).
    cpu_roles = [
        d.get("Role") for _, ns, n, d in db_lines if n == "CPUUtilization" and ns == "AWS/RDS"
    ]
    assert cpu_roles == ["WRITER"]
    with_readers = dashboard_metrics(dashboard_widgets(_dashboard_props(database_reader_count=2)))
    assert [
        d.get("Role") for _, _, n, d in with_readers if n == "CPUUtilization" and "Role" in d
    ] == [
        "WRITER",
        "READER",
    ]


# --- unit: props validation and alarm sets (small stacks) ------------------------------


def test_deployment_events_refuse_a_log_group_outside_aws_events(tmp_path):
    stack = unit_stack(tmp_path, "observability-unit")
    from modules.observability.deployment_events import DeploymentEvents, DeploymentEventsProps

    message = r"log_group_name: '/payment/deployments' is not allowed.*/aws/events/"
    with pytest.raises(ValueError, match=message):
        DeploymentEvents(
            stack,
            "bad-events",
            DeploymentEventsProps(
                name="x",
                log_group_name="/payment/deployments",
                kms_key_arn="arn:k",
                retention_days=30,
                application_name="app",
            ),
        )


def test_container_insights_log_group_needs_a_literal_cluster_name(tmp_path):
    stack = unit_stack(tmp_path, "observability-unit")
    from framework.aws import aws
    from modules.observability.log_groups import (
        ContainerInsightsLogGroup,
        ContainerInsightsLogGroupProps,
    )

    cluster = aws.ecs_cluster.EcsCluster(stack, "token-cluster", name="c")
    with pytest.raises(
        ValueError, match=r"cluster_name: .* is not allowed; give the literal cluster name"
    ):
        ContainerInsightsLogGroup(
            stack,
            "bad-insights",
            ContainerInsightsLogGroupProps(
                cluster_name=cluster.name, kms_key_arn="arn:k", retention_days=30
            ),
        )


def test_service_alarms_without_custom_metric_and_rollback_set_within_codedeploy_limit(tmp_path):
    stack = unit_stack(tmp_path, "observability-unit")
    from modules.blue_green_service import MAX_ROLLBACK_ALARMS
    from modules.observability.alarms import ServiceAlarms, ServiceAlarmsProps

    alarms = ServiceAlarms(
        stack,
        "unit-alarms",
        ServiceAlarmsProps(
            name_prefix="p-svc",
            thresholds=AlarmConfig(),
            topic_arn="arn:topic",
            metrics=_service_metrics("svc", "app/lb/1", "tg/b", "tg/g"),
        ),
    )
    assert alarms.custom_metric is None
    assert 1 <= len(alarms.rollback_alarms) <= MAX_ROLLBACK_ALARMS == 10
    assert len(alarms.all_alarms) == len(SERVICE_ALARMS)
    assert set(alarms.rollback_alarms) <= set(alarms.all_alarms)


# --- metrics are defined once ------------------------------------------------------------


def _all_metrics() -> list:
    """Every metric ``modules/observability/metrics.py`` defines."""
    from modules.observability.metrics import (
        DatabaseMetrics,
        LoadBalancerMetrics,
        fargate_vcpu_in_use,
    )

    service = _service_metrics(
        "svc",
        "app/lb/1",
        "tg/b",
        "tg/g",
        custom=CustomScalingMetric(namespace="Ns/Own", name="Backlog", target_value=1),
    )
    found = [
        service.custom(),
        service.cpu_utilization(),
        service.memory_utilization(),
        service.running_task_count(),
        service.desired_task_count(),
        fargate_vcpu_in_use("Standard/Spot"),
    ]
    for per_color in (
        service.request_count(),
        service.target_5xx_count(),
        service.target_connection_error_count(),
        service.response_time_p99(),
        service.unhealthy_host_count(),
    ):
        assert list(per_color) == ["blue", "green"]
        found += per_color.values()
    lb, db = (
        LoadBalancerMetrics(load_balancer_arn_suffix="app/lb/1"),
        DatabaseMetrics(cluster_identifier="db"),
    )
    found += [
        lb.elb_5xx_count(),
        lb.request_count(),
        db.acu_utilization(),
        *(db.role_cpu_utilization(r) for r in ("WRITER", "READER")),
        *(db.role_acu_utilization(r) for r in ("WRITER", "READER")),
        db.serverless_capacity(),
        db.connections(),
    ]
    return found


def test_every_defined_metric_is_one_aws_publishes():
    for metric in _all_metrics():
        if metric.namespace == "Ns/Own":
            continue
        assert frozenset(metric.dimension_map) in KNOWN_METRICS[metric.namespace][metric.name], (
            metric
        )


def test_no_module_or_stack_spells_a_metric_outside_metrics_py():
    """Namespaces and metric names appear only in modules/observability/metrics.py:
    alarms and dashboard read the same metric objects (aws-ecs BaseService.metric*)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    spelled = {m.namespace for m in _all_metrics()} | {m.name for m in _all_metrics()}
    spelled -= {"Ns/Own", "Backlog"}
    offenders = []
    for path in sorted([*(root / "modules").rglob("*.py"), *(root / "stacks").glob("*.py")]):
        if path == root / "modules" / "observability" / "metrics.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in spelled:
                offenders.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
    assert not offenders, offenders


def test_alarm_and_dashboard_read_the_same_metric_objects(tmp_path):
    stack = unit_stack(tmp_path, "observability-unit")
    """One ServiceMetrics feeds both: each dashboard line of the service is a
    metric the alarms read or a sibling from the same object."""
    from modules.observability.alarms import ServiceAlarms, ServiceAlarmsProps
    from modules.observability.dashboard import DashboardService, dashboard_widgets

    metrics = _service_metrics("same-svc", "app/lb/9", "tg/b9", "tg/g9")
    alarms = ServiceAlarms(
        stack,
        "same-alarms",
        ServiceAlarmsProps(
            name_prefix="p-same", thresholds=AlarmConfig(), topic_arn="arn:topic", metrics=metrics
        ),
    )
    widgets = dashboard_widgets(
        _dashboard_props(services=(DashboardService(name="same", metrics=metrics),))
    )
    lines = {
        (ns, name, tuple(sorted(dims.items())))
        for title, ns, name, dims in dashboard_metrics(widgets)
        if title.startswith("same:")
    }
    expected = {
        (m.namespace, m.name, tuple(sorted(m.dimension_map.items())))
        for group in (
            metrics.request_count(),
            metrics.target_5xx_count(),
            metrics.response_time_p99(),
        )
        for m in group.values()
    }
    expected |= {
        (m.namespace, m.name, tuple(sorted(m.dimension_map.items())))
        for m in (
            metrics.running_task_count(),
            metrics.desired_task_count(),
            metrics.cpu_utilization(),
            metrics.memory_utilization(),
        )
    }
    assert lines == expected
    cpu, metric = alarms.cpu, metrics.cpu_utilization()
    assert (
        cpu.namespace_input,
        cpu.metric_name_input,
        cpu.statistic_input,
        cpu.dimensions_input,
    ) == (metric.namespace, metric.name, metric.statistic, metric.dimension_map)
