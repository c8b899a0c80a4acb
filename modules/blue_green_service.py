"""A containerised service released blue/green by CodeDeploy.

One ``BlueGreenService`` per configured service owns everything that
service needs: image repository, task definition, ECS service, target group
pair, listener rules, Cloud Map name, security group, deployment group and
scaling. Adding a service is one ``ServiceConfig`` entry.

The ECS/CodeDeploy contract this follows is in docs/services.md: the ECS
service uses the CODE_DEPLOY controller (no circuit breaker, no ECS alarms),
and Terraform ignores what CodeDeploy owns, what autoscaling owns and the
create-time settings (``SERVICE_IGNORED_CHANGES``, from the contract table in
config/codedeploy_contract.py, which rule PAY-ECS-001 checks too), and listener rule actions.
Environment-level constructs it uses live in their own modules
(``codedeploy_application``, ``public_image_cache``,
``callers_security_group``); its containers in ``container_definition``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from config.codedeploy_contract import SERVICE_IGNORED_CHANGES
from config.model import LISTENER_PRIORITIES, EnvironmentConfig, ServiceConfig
from config.naming import (
    TASK_ASSIGN_PUBLIC_IP,
    app_container_name,
    capacity_provider_strategy,
    deployment_group_name,
    ecr_repository_name,
    ecs_service_name,
    execution_role_name,
    release_tag_prefix,
    task_family,
    task_role_name,
    task_security_group_name,
)
from framework import Construct, TerraformResourceLifecycle, Token
from framework.aws import aws
from modules.callers_security_group import CallersSecurityGroup
from modules.codedeploy_application import CodeDeployEcsApplication
from modules.container_definition import (
    TRACING_IMAGE_REPOSITORY,
    TRACING_IMAGE_VERSION,
    ContainerDefinitionProps,
    DatabaseConnection,
    container_definitions,
    image_reference,
    writable_volumes,
)
from modules.ecr import ServiceRepository, ServiceRepositoryProps
from modules.ecs_cluster import FargateCluster
from modules.iam import service_role
from modules.kms import ManagedKey
from modules.load_balancer import ApplicationLoadBalancer
from modules.network import Network
from modules.observability.metrics import Metric, ServiceMetrics
from modules.public_image_cache import PublicImageCache
from modules.secrets import AppSecret
from modules.service_discovery import ServiceNamespace

#: CodeDeploy accepts at most this many alarms per deployment group.
MAX_ROLLBACK_ALARMS = 10
TARGET_GROUP_NAME_MAX = 32
COLORS = ("blue", "green")


def target_group_name(env_name: str, service_name: str, color: str) -> str:
    """``<env>-<service>-<b|g>``, at most 32 characters (ALB limit).

    When that is too long, the middle is cut and a hash of the full name is
    inserted, so two long service names sharing a prefix stay distinct.
    """
    if color not in COLORS:
        raise ValueError(f"color: {color!r} is not allowed; allowed: {', '.join(COLORS)}")
    base = f"{env_name}-{service_name}"
    name = f"{base}-{color[0]}"
    if len(name) <= TARGET_GROUP_NAME_MAX:
        return name
    digest = hashlib.sha256(base.encode()).hexdigest()[:6]
    keep = TARGET_GROUP_NAME_MAX - len(f"-{digest}-{color[0]}")
    return f"{base[:keep].rstrip('-')}-{digest}-{color[0]}"


def database_user(svc: ServiceConfig) -> str:
    """PostgreSQL user a service logs in as with IAM authentication."""
    return svc.name.replace("-", "_")


class DatabaseAccess(Protocol):
    """What a service needs from the database (``modules.database.AuroraDatabase``)."""

    @property
    def endpoint(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def security_group_id(self) -> str: ...

    def allow_connections_from(
        self, scope: Construct, construct_id: str, source_security_group_id: str, description: str
    ): ...

    def iam_connect_statement(
        self, db_user: str, account_id: str, region: str, partition: str
    ) -> dict: ...


@dataclass(frozen=True, kw_only=True)
class BlueGreenServiceProps:
    """Inputs of one service.

    ``environment``/``service``: configuration (names come from
    ``config.naming``). ``cluster``, ``load_balancer`` (the ALB its
    ``public`` flag selects), ``deployments``, ``namespace``, ``network``,
    ``image_cache``: shared constructs of the environment. ``callers``: the
    environment's callers group; the tasks carry it, so they may call the
    internal ALB (never another task directly).
    ``internal_service_urls``: service name -> base URL of a service behind
    the internal ALB, given to the app as ``<NAME>_URL`` (its own left
    out); left out: none.
    ``logs_key``: CMK of its log group. ``data_key``: CMK of its images.
    ``secrets``: the environment's secrets by name; the service gets only
    those its configuration lists. ``account_id``/``region``/``partition``: where it runs.
    ``database``: required when ``service.uses_database``; left out for a
    service that does not use it (no rule, no permission, no variables).
    """

    environment: EnvironmentConfig
    service: ServiceConfig
    cluster: FargateCluster
    load_balancer: ApplicationLoadBalancer
    deployments: CodeDeployEcsApplication
    namespace: ServiceNamespace
    network: Network
    callers: CallersSecurityGroup
    image_cache: PublicImageCache
    logs_key: ManagedKey
    data_key: ManagedKey
    secrets: Mapping[str, AppSecret]
    account_id: str
    region: str
    partition: str
    database: DatabaseAccess | None = None
    internal_service_urls: Mapping[str, str] = field(default_factory=dict)


def _validate(props: BlueGreenServiceProps) -> None:
    svc = props.service
    problems = []
    missing = [s for s in svc.secrets if s not in props.secrets]
    if missing:
        problems.append(
            f"secrets: {', '.join(missing)} not among the given secrets "
            f"({', '.join(props.secrets) or 'none'})"
        )
    if svc.uses_database and props.database is None:
        problems.append(
            "database: None is not allowed when uses_database=True; pass the data tier's database"
        )
    if svc.public == props.load_balancer.internal:
        wanted = "internet-facing" if svc.public else "internal"
        problems.append(f"load_balancer: public={svc.public} needs the {wanted} ALB")
    priority = svc.listener_priority
    if (
        isinstance(priority, bool)
        or not isinstance(priority, int)
        or priority not in LISTENER_PRIORITIES
    ):
        problems.append(
            f"service.listener_priority: {priority!r} is not allowed; use "
            f"{LISTENER_PRIORITIES.start}-{LISTENER_PRIORITIES.stop - 1}"
        )
    if problems:
        raise ValueError(f"service {svc.name!r}: " + "; ".join(problems))


def _per_task_specification(inputs: list[tuple[str, Metric]], expression: str, label: str) -> Any:
    """Target tracking's customized metric as metric math: ``inputs``
    (query id, metric read with its statistic), one returned ``expression``.
    Metric math in target tracking: one expression returns the single time
    series, any CloudWatch function is allowed (Application Auto Scaling
    user guide, "Create a target tracking scaling policy for Application
    Auto Scaling using metric math",
    https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking-metric-math.html;
    provider 6.25.0: ``customized_metric_specification.metrics``)."""
    ap = aws.appautoscaling_policy
    spec = (
        ap.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecification
    )
    query = ap.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetrics
    stat = ap.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricsMetricStat
    metric = ap.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricsMetricStatMetric
    dimension = ap.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricsMetricStatMetricDimensions

    def read(query_id: str, m: Metric) -> Any:
        return query(
            id=query_id,
            return_data=False,
            metric_stat=stat(
                stat=m.statistic,
                metric=metric(
                    namespace=m.namespace,
                    metric_name=m.name,
                    dimensions=[dimension(name=k, value=v) for k, v in m.dimensions],
                ),
            ),
        )

    return spec(
        metrics=[
            *(read(query_id, m) for query_id, m in inputs),
            query(id="per_task", expression=expression, label=label, return_data=True),
        ]
    )


def requests_per_task_specification(metrics: ServiceMetrics) -> Any:
    """Requests per minute to both target groups (blue, green; each
    ``FILL``ed with 0, as ALB publishes no zero count) divided by the
    service's running tasks (Container Insights ``RunningTaskCount``,
    enabled on the cluster). The policy's target is then the same figure
    ``ALBRequestCountPerTarget`` held (requests per task per minute), for the
    live colour whichever it is; while both task sets run during a release,
    both count as tasks."""
    requests = list(metrics.request_count().values())
    summed = " + ".join(f"FILL(r{i}, 0)" for i in range(len(requests)))
    return _per_task_specification(
        [*((f"r{i}", m) for i, m in enumerate(requests)), ("tasks", metrics.running_task_count())],
        f"({summed}) / tasks",
        "requests per running task, both target groups",
    )


def backlog_per_task_specification(metrics: ServiceMetrics) -> Any:
    """The custom scaling metric (a service total: a queue depth, the
    transactions in flight, read with its statistic) divided by the
    service's running tasks, so that target tracking holds
    ``custom_metric.target_value`` per task (D58). Target tracking on the
    total held the whole backlog at the per-task target, whatever the task
    count. No datapoint of either input: no datapoint (no scaling by this
    policy; the production tier's ``-absent`` alarm reports the silence)."""
    custom = metrics.custom()
    if custom is None:
        raise ValueError(f"service {metrics.service_name!r}: no custom_metric to scale on")
    return _per_task_specification(
        [("backlog", custom), ("tasks", metrics.running_task_count())],
        "backlog / tasks",
        f"{custom.name} per running task",
    )


class BlueGreenService(Construct):
    """Typed attributes: ``repository``, ``task_definition``, ``service``,
    ``target_groups`` (``blue``/``green``), ``blue_target_group``,
    ``green_target_group``, ``production_rule``, ``test_rule``,
    ``deployment_group``, ``log_group``, ``security_group`` (own group; the
    tasks also carry ``props.callers.security_group``),
    ``execution_role``, ``task_role``, ``discovery``, ``scalable_target``,
    ``scaling_policies``, ``metrics``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: BlueGreenServiceProps) -> None:
        super().__init__(scope, construct_id)
        _validate(props)
        self.props = props
        env, svc = props.environment, props.service
        self.config = svc
        self.name = ecs_service_name(env, svc)
        self.family = task_family(env, svc)
        self.container_name = app_container_name(svc)
        self.port = svc.port

        self.repository = ServiceRepository(
            self,
            "repository",
            ServiceRepositoryProps(
                name=ecr_repository_name(env, svc),
                kms_key_arn=props.data_key.arn,
                keep_tagged_images=env.ecr_keep_tagged_images,
                untagged_expiry_days=env.ecr_untagged_expiry_days,
                release_tag_prefix=release_tag_prefix(env),
                keep_released_images=env.ecr_keep_released_images,
                prevent_destroy=env.is_production,
            ),
        )
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "log-group",
            name=f"/{env.prefix}/services/{svc.name}",
            retention_in_days=env.log_retention_days,
            kms_key_id=props.logs_key.arn,
        )
        self._security_group()
        self._roles()
        self._task_definition()
        self._routing()
        self.discovery = props.namespace.register(self, "discovery", svc.name)
        self._ecs_service()
        self._deployment_group()
        self._scaling()

    @cached_property
    def metrics(self) -> ServiceMetrics:
        """Its CloudWatch metrics (load balancer, both target groups, ECS,
        Container Insights, its custom metric), for alarms and dashboards."""
        return ServiceMetrics(
            cluster_name=self.props.cluster.name,
            service_name=self.service_name,
            load_balancer_arn_suffix=self.props.load_balancer.arn_suffix,
            target_group_arn_suffixes=self.target_group_arn_suffixes,
            custom_metric=self.config.custom_metric,
        )

    # -- network -----------------------------------------------------------
    def _security_group(self) -> None:
        p, svc = self.props, self.props.service
        self.security_group = aws.security_group.SecurityGroup(
            self,
            "security-group",
            name=task_security_group_name(self.props.environment, svc),
            description=f"Tasks of {svc.name}",
            vpc_id=p.network.vpc_id,
        )
        sg = self.security_group_id = self.security_group.id
        ingress = aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule
        egress = aws.vpc_security_group_egress_rule.VpcSecurityGroupEgressRule
        ingress(
            self,
            "from-alb",
            security_group_id=sg,
            description=f"{svc.name} port from its ALB",
            ip_protocol="tcp",
            from_port=svc.port,
            to_port=svc.port,
            referenced_security_group_id=p.load_balancer.security_group_id,
        )
        p.load_balancer.allow_egress_to(
            self,
            "alb-to-tasks",
            sg,
            svc.port,
            f"ALB to {svc.name} tasks",
        )
        # Other services reach these tasks only through the internal ALB
        # (modules/callers_security_group.py): no task-to-task rule.
        egress(
            self,
            "to-endpoints",
            security_group_id=sg,
            description="HTTPS to the VPC interface endpoints",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            referenced_security_group_id=p.network.endpoint_security_group_id,
        )
        egress(
            self,
            "to-s3",
            security_group_id=sg,
            description="HTTPS to S3 (image layers) via the gateway endpoint",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            prefix_list_id=p.network.s3_prefix_list_id,
        )
        if svc.uses_database and p.database is not None:  # _validate: present when used
            db = p.database
            db.allow_connections_from(
                self,
                "database-from-tasks",
                sg,
                f"PostgreSQL from {svc.name} tasks",
            )
            egress(
                self,
                "to-database",
                security_group_id=sg,
                description="PostgreSQL to the database",
                ip_protocol="tcp",
                from_port=db.port,
                to_port=db.port,
                referenced_security_group_id=db.security_group_id,
            )

    # -- IAM ---------------------------------------------------------------
    def _roles(self) -> None:
        p, svc = self.props, self.props.service
        execution = [
            # GetAuthorizationToken has no resource-level permissions.
            {
                "Sid": "EcrLogin",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
            self.repository.pull_statement(),
            p.image_cache.pull_statement(TRACING_IMAGE_REPOSITORY),
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{self.log_group.arn}:*",
            },
        ]
        for index, name in enumerate(svc.secrets):
            secret = p.secrets[name]
            execution.append(secret.read_statement(sid=f"ReadSecret{index}"))
            execution.append(secret.decrypt_statement(p.region, sid=f"DecryptSecret{index}"))
        self.execution_role = service_role(
            self,
            "execution-role",
            name=execution_role_name(p.environment, svc),
            description=f"ECS agent of {svc.name}: pull, log, inject secrets",
            service="ecs-tasks.amazonaws.com",
            source_account=p.account_id,
            inline_policy=("execution-policy", "task-execution", execution),
        )

        task: list[dict[str, Any]] = [
            {
                # X-Ray has no resource-level permissions for these actions.
                "Sid": "CollectorSendsTraces",
                "Effect": "Allow",
                "Action": [
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                    "xray:GetSamplingStatisticSummaries",
                ],
                "Resource": "*",
            }
        ]
        if svc.custom_metric is not None:
            task.append(
                {
                    "Sid": "PublishScalingMetric",
                    "Effect": "Allow",
                    "Action": "cloudwatch:PutMetricData",
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"cloudwatch:namespace": svc.custom_metric.namespace}
                    },
                }
            )
        if svc.enable_execute_command:
            task.extend(p.cluster.exec_statements())
        if svc.uses_database and p.database is not None:
            task.append(
                p.database.iam_connect_statement(
                    database_user(svc), p.account_id, p.region, p.partition
                )
            )
        self.task_role = service_role(
            self,
            "task-role",
            name=task_role_name(p.environment, svc),
            description=f"Application and tracing collector of {svc.name}",
            service="ecs-tasks.amazonaws.com",
            source_account=p.account_id,
            inline_policy=("task-policy", "task", task),
        )

    # -- task definition ---------------------------------------------------
    def container_definitions(self) -> list[dict]:
        """The app container and the tracing sidecar (JSON-ready)."""
        p, env, svc = self.props, self.props.environment, self.props.service
        database = None
        if svc.uses_database and p.database is not None:
            database = DatabaseConnection(
                host=p.database.endpoint,
                port=p.database.port,
                name=env.database.database_name,
                user=database_user(svc),
            )
        return container_definitions(
            ContainerDefinitionProps(
                service=svc,
                environment_name=env.name,
                region=p.region,
                image=image_reference(self.repository.url, svc.image_tag),
                collector_image=p.image_cache.image(
                    TRACING_IMAGE_REPOSITORY, TRACING_IMAGE_VERSION
                ),
                log_group_name=self.log_group.name,
                namespace_name=p.namespace.name,
                secret_arns={name: p.secrets[name].arn for name in svc.secrets},
                internal_service_urls=p.internal_service_urls,
                database=database,
            )
        )

    def _task_definition(self) -> None:
        svc = self.props.service
        td = aws.ecs_task_definition
        self.task_definition = td.EcsTaskDefinition(
            self,
            "task-definition",
            family=self.family,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(svc.cpu),
            memory=str(svc.memory_mib),
            execution_role_arn=self.execution_role.arn,
            task_role_arn=self.task_role.arn,
            runtime_platform=td.EcsTaskDefinitionRuntimePlatform(
                operating_system_family="LINUX", cpu_architecture="X86_64"
            ),
            volume=[td.EcsTaskDefinitionVolume(name=name) for name in writable_volumes(svc)],
            container_definitions=json.dumps(self.container_definitions()),
        )
        self.task_family = self.task_definition.family

    # -- load balancing ----------------------------------------------------
    def _routing(self) -> None:
        p, env, svc = self.props, self.props.environment, self.props.service
        tg = aws.lb_target_group
        self.target_groups = {
            color: tg.LbTargetGroup(
                self,
                f"{color}-target-group",
                name=target_group_name(env.name, svc.name, color),
                port=svc.port,
                protocol="HTTP",
                target_type="ip",
                vpc_id=p.network.vpc_id,
                deregistration_delay=str(env.load_balancer.deregistration_delay_seconds),
                health_check=tg.LbTargetGroupHealthCheck(
                    enabled=True,
                    path=svc.health_check_path,
                    protocol="HTTP",
                    matcher="200",
                    interval=15,
                    timeout=5,
                    healthy_threshold=2,
                    unhealthy_threshold=3,
                ),
                tags={"color": color, "service": svc.name},
            )
            for color in COLORS
        }
        self.blue_target_group = self.target_groups["blue"]
        self.green_target_group = self.target_groups["green"]
        # Read once: the rules, the ECS service, CodeDeploy and alarms use them.
        self.target_group_arns = {c: tg.arn for c, tg in self.target_groups.items()}
        self.target_group_names = {c: tg.name for c, tg in self.target_groups.items()}
        self.target_group_arn_suffixes = {c: tg.arn_suffix for c, tg in self.target_groups.items()}
        rule = aws.lb_listener_rule
        # CodeDeploy swaps the forward target on every release.
        ignore_action = TerraformResourceLifecycle(ignore_changes=["action"])

        def path_rule(construct_id: str, listener_arn: str, target_group_arn: str):
            return rule.LbListenerRule(
                self,
                construct_id,
                listener_arn=listener_arn,
                priority=svc.listener_priority,
                condition=[
                    rule.LbListenerRuleCondition(
                        path_pattern=rule.LbListenerRuleConditionPathPattern(
                            values=[svc.path_prefix, f"{svc.path_prefix}/*"]
                        ),
                    )
                ],
                action=[
                    rule.LbListenerRuleAction(type="forward", target_group_arn=target_group_arn)
                ],
                lifecycle=ignore_action,
            )

        # Production starts on blue, test on green: CodeDeploy needs both
        # target groups attached to a listener before the first deployment.
        self.production_rule = path_rule(
            "production-rule",
            p.load_balancer.production_listener_arn,
            self.target_group_arns["blue"],
        )
        self.test_rule = path_rule(
            "test-rule", p.load_balancer.test_listener_arn, self.target_group_arns["green"]
        )

    # -- ECS service ---------------------------------------------------------
    def _ecs_service(self) -> None:
        p, svc = self.props, self.props.service
        es = aws.ecs_service
        self.capacity_provider_strategy = capacity_provider_strategy(svc)
        #: What the service is created with and every release's AppSpec
        #: repeats (release manifest): AppSpec AwsvpcConfiguration needs all three.
        self.network_configuration = {
            "subnets": p.network.private_subnet_ids,
            "security_groups": [self.security_group_id, p.callers.security_group_id],
            "assign_public_ip": TASK_ASSIGN_PUBLIC_IP,
        }
        self.service = es.EcsService(
            self,
            "service",
            name=self.name,
            cluster=p.cluster.arn,
            task_definition=self.task_definition.arn,
            desired_count=svc.desired_count,
            deployment_controller=es.EcsServiceDeploymentController(type="CODE_DEPLOY"),
            capacity_provider_strategy=[
                es.EcsServiceCapacityProviderStrategy(
                    capacity_provider=item["capacityProvider"],
                    base=item["base"],
                    weight=item["weight"],
                )
                for item in self.capacity_provider_strategy
            ],
            load_balancer=[
                es.EcsServiceLoadBalancer(
                    target_group_arn=self.target_group_arns["blue"],
                    container_name=self.container_name,
                    container_port=svc.port,
                )
            ],
            network_configuration=es.EcsServiceNetworkConfiguration(
                subnets=self.network_configuration["subnets"],
                security_groups=self.network_configuration["security_groups"],
                assign_public_ip=TASK_ASSIGN_PUBLIC_IP == "ENABLED",
            ),
            service_registries=es.EcsServiceServiceRegistries(registry_arn=self.discovery.arn),
            enable_execute_command=svc.enable_execute_command,
            enable_ecs_managed_tags=True,
            propagate_tags="SERVICE",
            health_check_grace_period_seconds=60,
            platform_version=svc.platform_version,
            # What CodeDeploy owns (every release's AppSpec carries it), what
            # autoscaling owns, and the create-time settings UpdateService
            # refuses on a CODE_DEPLOY service: config/codedeploy_contract.py
            # holds the table and its sources (rule PAY-ECS-001 checks it).
            lifecycle=TerraformResourceLifecycle(ignore_changes=list(SERVICE_IGNORED_CHANGES)),
            # ECS rejects a target group without a listener, and a strategy
            # naming providers not yet attached to the cluster.
            depends_on=[self.production_rule, self.test_rule, p.cluster.capacity_providers],
        )
        self.service_name = self.service.name

    # -- CodeDeploy --------------------------------------------------------
    def _deployment_group(self) -> None:
        p, env, svc = self.props, self.props.environment, self.props.service
        # CreateTaskSet passes the revision's roles to ECS (PAY-CD-003).
        p.deployments.allow_pass_role(self.task_role, self.execution_role)
        dg = aws.codedeploy_deployment_group
        lbi = dg.CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfo
        self.deployment_group = dg.CodedeployDeploymentGroup(
            self,
            "deployment-group",
            app_name=p.deployments.name,
            deployment_group_name=deployment_group_name(env, svc),
            service_role_arn=p.deployments.role_arn,
            deployment_config_name=env.deployment.config_name,
            deployment_style=dg.CodedeployDeploymentGroupDeploymentStyle(
                deployment_option="WITH_TRAFFIC_CONTROL", deployment_type="BLUE_GREEN"
            ),
            blue_green_deployment_config=dg.CodedeployDeploymentGroupBlueGreenDeploymentConfig(
                deployment_ready_option=dg.CodedeployDeploymentGroupBlueGreenDeploymentConfigDeploymentReadyOption(
                    action_on_timeout="CONTINUE_DEPLOYMENT"
                ),
                terminate_blue_instances_on_deployment_success=dg.CodedeployDeploymentGroupBlueGreenDeploymentConfigTerminateBlueInstancesOnDeploymentSuccess(
                    action="TERMINATE",
                    termination_wait_time_in_minutes=env.deployment.terminate_blue_after_minutes,
                ),
            ),
            ecs_service=dg.CodedeployDeploymentGroupEcsService(
                cluster_name=p.cluster.name, service_name=self.service_name
            ),
            load_balancer_info=dg.CodedeployDeploymentGroupLoadBalancerInfo(
                target_group_pair_info=lbi(
                    prod_traffic_route=dg.CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfoProdTrafficRoute(
                        listener_arns=[p.load_balancer.production_listener_arn]
                    ),
                    test_traffic_route=dg.CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfoTestTrafficRoute(
                        listener_arns=[p.load_balancer.test_listener_arn]
                    ),
                    target_group=[
                        dg.CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfoTargetGroup(
                            name=self.target_group_names[color]
                        )
                        for color in COLORS
                    ],
                ),
            ),
            auto_rollback_configuration=dg.CodedeployDeploymentGroupAutoRollbackConfiguration(
                enabled=True, events=["DEPLOYMENT_FAILURE"]
            ),
        )
        self.deployment_group_name = self.deployment_group.deployment_group_name

    def rollback_on_alarms(self, alarm_names: list[str]) -> None:
        """Stops and rolls back a release when any of ``alarm_names`` fires.

        Sets the deployment group's alarm configuration (1-10 alarms, a
        CodeDeploy limit) and adds DEPLOYMENT_STOP_ON_ALARM to the rollback
        events. A second call replaces the alarms of the first.
        """
        names = list(alarm_names) if not isinstance(alarm_names, str) else None
        if names is None:
            raise ValueError(f"alarm_names: {alarm_names!r} is not allowed; give a list of names")
        if not 1 <= len(names) <= MAX_ROLLBACK_ALARMS:
            raise ValueError(
                f"alarm_names: {len(names)} alarms given for {self.name!r}; allowed: "
                f"1-{MAX_ROLLBACK_ALARMS} (CodeDeploy limit per deployment group)"
            )
        bad = [
            n
            for n in names
            if not isinstance(n, str)
            or (not Token.is_unresolved(n) and not 1 <= len(n.strip()) <= 255)
        ]
        if bad:
            raise ValueError(
                f"alarm_names: {bad!r} are not allowed; use alarm names of 1-255 characters"
            )
        literal = [n for n in names if not Token.is_unresolved(n)]
        duplicates = sorted({n for n in literal if literal.count(n) > 1})
        if duplicates:
            raise ValueError(
                f"alarm_names: {duplicates!r} given more than once; names must be unique"
            )
        self.deployment_group.put_alarm_configuration(alarms=names, enabled=True)
        self.deployment_group.put_auto_rollback_configuration(
            enabled=True, events=["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
        )

    # -- scaling -----------------------------------------------------------
    def _scaling(self) -> None:
        p, svc = self.props, self.props.service
        self.scalable_target = aws.appautoscaling_target.AppautoscalingTarget(
            self,
            "scalable-target",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=f"service/{p.cluster.name}/{self.service_name}",
            min_capacity=svc.min_count,
            max_capacity=svc.max_count,
        )
        ap = aws.appautoscaling_policy
        tt = ap.AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration
        predefined = ap.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification
        # Read once: each attribute read is a round trip to jsii.
        scaled = dict(
            service_namespace=self.scalable_target.service_namespace,
            scalable_dimension=self.scalable_target.scalable_dimension,
            resource_id=self.scalable_target.resource_id,
        )

        def policy(kind: str, target: float, **metric):
            return ap.AppautoscalingPolicy(
                self,
                f"scale-on-{kind}",
                name=f"{self.family}-{kind}",
                policy_type="TargetTrackingScaling",
                **scaled,
                target_tracking_scaling_policy_configuration=tt(
                    target_value=target, scale_in_cooldown=300, scale_out_cooldown=60, **metric
                ),
            )

        self.scaling_policies = {
            "cpu": policy(
                "cpu",
                svc.cpu_target_percent,
                predefined_metric_specification=predefined(
                    predefined_metric_type="ECSServiceAverageCPUUtilization"
                ),
            ),
            "memory": policy(
                "memory",
                svc.memory_target_percent,
                predefined_metric_specification=predefined(
                    predefined_metric_type="ECSServiceAverageMemoryUtilization"
                ),
            ),
            # Both colours: requests follow traffic to whichever target
            # group is live (ALBRequestCountPerTarget names one target group
            # and is empty after every other release, containers-roadmap
            # #1681), per running task of the service (D51).
            "requests": policy(
                "requests",
                svc.requests_per_target,
                customized_metric_specification=requests_per_task_specification(self.metrics),
            ),
        }
        metric = svc.custom_metric
        if metric is not None:
            # Per running task: the published value is the service's total (D58).
            self.scaling_policies["custom"] = policy(
                "custom",
                metric.target_value,
                customized_metric_specification=backlog_per_task_specification(self.metrics),
            )
