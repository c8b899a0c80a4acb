"""The services tier: cluster, load balancers and one blue/green service per
configured service."""

from __future__ import annotations

from config import EnvironmentConfig, naming
from config.naming import (
    SERVICES_PART,
    alarm_topic_name,
    alb_access_log_bucket_name,
    capacity_provider_strategy,
    cluster_name,
    codedeploy_application_name,
    load_balancer_alarm_prefix,
    namespace_name,
    service_alarm_prefix,
    service_mesh_security_group_name,
)
from framework import Construct, TerraformOutput
from framework.aws import aws
from modules.blue_green_service import BlueGreenService, BlueGreenServiceProps
from modules.callers_security_group import CallersSecurityGroup, CallersSecurityGroupProps
from modules.codedeploy_application import CodeDeployEcsApplication, CodeDeployEcsApplicationProps
from modules.ecs_cluster import FargateCluster, FargateClusterProps
from modules.load_balancer import (
    AccessLogBucket,
    AccessLogBucketProps,
    ApplicationLoadBalancer,
    ApplicationLoadBalancerProps,
    WebAcl,
    WebAclProps,
)
from modules.observability.alarms import (
    CardNumberAlarm,
    CardNumberAlarmProps,
    DatabaseAlarms,
    DatabaseAlarmsProps,
    LoadBalancerAlarms,
    LoadBalancerAlarmsProps,
    ServiceAlarms,
    ServiceAlarmsProps,
)
from modules.observability.backup_alerts import BackupAlerts, BackupAlertsProps
from modules.observability.dashboard import Dashboard, DashboardProps, DashboardService
from modules.observability.deployment_events import (
    DeploymentAlerts,
    DeploymentAlertsProps,
    DeploymentEvents,
    DeploymentEventsProps,
)
from modules.observability.log_groups import (
    ContainerInsightsLogGroup,
    ContainerInsightsLogGroupProps,
)
from modules.observability.metrics import card_data_findings
from modules.observability.topic import AlarmTopic, AlarmTopicProps
from modules.public_image_cache import PublicImageCache, PublicImageCacheProps
from modules.release_guard import GuardedService, ReleaseGuard, ReleaseGuardProps
from modules.release_role import ReleaseRole, ReleaseRoleProps
from modules.restore_validator import RestoreValidator, RestoreValidatorProps
from modules.service_discovery import ServiceNamespace, ServiceNamespaceProps
from stacks.base import PlatformStack
from stacks.data import DataStack
from stacks.network import NetworkStack
from stacks.security import SecurityStack


class ServicesStack(PlatformStack):
    """Composes the services tier; every resource comes from a module."""

    def __init__(
        self,
        scope: Construct,
        env: EnvironmentConfig,
        security: SecurityStack,
        network: NetworkStack,
        data: DataStack,
    ) -> None:
        super().__init__(scope, env, SERVICES_PART)
        net = network.network
        common = dict(account_id=self.account_id, region=env.region, partition=self.partition)
        self.cluster = FargateCluster(
            self,
            "cluster",
            FargateClusterProps(
                name=cluster_name(env),
                logs_key_arn=security.logs_key.arn,
                exec_key_arn=security.logs_key.arn,
                log_retention_days=env.log_retention_days,
            ),
        )
        self.namespace = ServiceNamespace(
            self,
            "namespace",
            ServiceNamespaceProps(
                name=namespace_name(env),
                vpc_id=net.vpc_id,
            ),
        )
        self.deployments = CodeDeployEcsApplication(
            self,
            "codedeploy",
            CodeDeployEcsApplicationProps(
                name=codedeploy_application_name(env),
                account_id=self.account_id,
                partition=self.partition,
            ),
        )
        self.image_cache = PublicImageCache(
            self,
            "public-image-cache",
            PublicImageCacheProps(
                repository_prefix=f"{env.prefix}-public",
                **common,
            ),
        )
        self.web_acl: WebAcl | None = None
        self.load_balancers = self._load_balancers(env, security, network)
        # Every task carries this group; it lets tasks call other services
        # through the internal ALB only (modules/callers_security_group.py).
        # Construct id and name are those of its first version, "service-mesh":
        # changing either would replace a group every running task carries.
        self.callers = CallersSecurityGroup(
            self,
            "service-mesh",
            CallersSecurityGroupProps(
                name=service_mesh_security_group_name(env),
                network=net,
            ),
        )
        internal_urls = {}
        if "internal" in self.load_balancers:
            internal = self.load_balancers["internal"]
            self.callers.call_through(internal)
            scheme = "https" if internal.https else "http"
            internal_urls = {
                svc.name: f"{scheme}://{internal.dns_name}{svc.path_prefix}"
                for svc in env.services
                if not svc.public
            }
        self.services: dict[str, BlueGreenService] = {}
        for svc in env.services:
            self.services[svc.name] = BlueGreenService(
                self,
                f"service-{svc.name}",
                BlueGreenServiceProps(
                    environment=env,
                    service=svc,
                    cluster=self.cluster,
                    load_balancer=self.load_balancers["public" if svc.public else "internal"],
                    deployments=self.deployments,
                    namespace=self.namespace,
                    network=net,
                    callers=self.callers,
                    image_cache=self.image_cache,
                    logs_key=security.logs_key,
                    data_key=security.data_key,
                    secrets=security.secrets,
                    database=data.database if svc.uses_database else None,
                    internal_service_urls=internal_urls,
                    **common,
                ),
            )
        # Releases run as this role (docs/release.md, docs/pci-responsibility.md 7.2.2).
        self.release_role = ReleaseRole(
            self,
            "release-role",
            ReleaseRoleProps(
                environment=env,
                account_id=self.account_id,
                partition=self.partition,
                region=env.region,
            ),
        )
        self._observability(env, security, data)
        # The release check on BeforeInstall and on CloudTrail (D55).
        self.release_guard = ReleaseGuard(
            self,
            "release-guard",
            ReleaseGuardProps(
                name=naming.release_guard_name(env),
                function_name=naming.release_guard_function_name(env),
                application_name=self.deployments.name,
                family_prefix=f"{env.prefix}-",
                services=tuple(
                    GuardedService(
                        deployment_group=naming.deployment_group_name(env, svc),
                        cluster=naming.cluster_name(env),
                        service=naming.ecs_service_name(env, svc),
                        family=naming.task_family(env, svc),
                        container=naming.app_container_name(svc),
                    )
                    for svc in env.services
                ),
                topic_arn=self.alarm_topic.arn,
                topic_key_arn=security.logs_key.arn,
                logs_key_arn=security.logs_key.arn,
                log_retention_days=env.log_retention_days,
                deploy_role_name=env.deploy_role,
                account_id=self.account_id,
                partition=self.partition,
                region=env.region,
            ),
        )
        self.restore_validator = self._restore_validator(env, security, data)
        self._outputs(env)
        # Card data that reaches a log group is masked (PAY-LOG-001, docs/pci-responsibility.md 3.3.1).
        self.mask_card_data(security.logs_key.arn)

    def _restore_validator(
        self, env: EnvironmentConfig, security: SecurityStack, data: DataStack
    ) -> RestoreValidator:
        """The restore test's validator (D60, D76), next to the alarm topic it
        reports failures to; the plan, groups, cluster and secret are the
        data stack's."""
        backup = data.backup
        return RestoreValidator(
            self,
            "restore-validator",
            RestoreValidatorProps(
                name=naming.restore_validator_name(env),
                restore_testing_plan_arn=backup.restore_testing_plan.arn,
                subnet_group_name=data.database.subnet_group.name,
                security_group_id=backup.restore_security_group.id,
                source_cluster_arn=data.database.cluster.arn,
                source_secret_arn=data.database.master_user_secret_arn,
                instance_prefix=naming.restore_test_instance_prefix(env),
                database_name=env.database.database_name,
                check_sql=env.backup.restore_check_sql,
                check_minimum=env.backup.restore_check_minimum,
                topic_arn=self.alarm_topic.arn,
                topic_key_arn=security.logs_key.arn,
                logs_key_arn=security.logs_key.arn,
                log_retention_days=env.log_retention_days,
                account_id=self.account_id,
                partition=self.partition,
                region=env.region,
            ),
        )

    def rollback_alarms(self, env: EnvironmentConfig, name: str) -> list:
        """The alarms that stop and roll back a release of service ``name``:
        its own (``ServiceAlarms.rollback_alarms``) and, when it is the only
        service behind its load balancer, that load balancer's ELB 5xx rate
        (ELB 5xx exist per load balancer only: with several services behind
        it they cannot be attributed to one, docs/decisions.md D44)."""
        svc = next(s for s in env.services if s.name == name)
        alarms = list(self.service_alarms[name].rollback_alarms)
        neighbours = [s for s in env.services if s.public == svc.public]
        if len(neighbours) == 1:
            kind = "public" if svc.public else "internal"
            alarms.append(self.load_balancer_alarms[kind].elb_5xx_rate)
        return alarms

    def _observability(
        self, env: EnvironmentConfig, security: SecurityStack, data: DataStack
    ) -> None:
        """Alarms on the environment topic, rollback on alarm, dashboard."""
        self.deployment_alerts = DeploymentAlerts(
            self,
            "deployment-alerts",
            DeploymentAlertsProps(name=env.prefix, application_name=self.deployments.name),
        )
        backup = data.backup
        self.backup_alerts = BackupAlerts(
            self,
            "backup-alerts",
            BackupAlertsProps(
                name=naming.backup_alerts_name(env),
                vault_name=naming.backup_vault_name(env),
                vault_arn=backup.vault.arn,
                restore_testing_plan_arn=backup.restore_testing_plan.arn,
            ),
        )
        self.alarm_topic = AlarmTopic(
            self,
            "alarm-topic",
            AlarmTopicProps(
                name=alarm_topic_name(env),
                kms_key_arn=security.logs_key.arn,
                account_id=self.account_id,
                emails=env.alarms.emails,
                event_rule_arns=(
                    self.deployment_alerts.rule.arn,
                    *self.backup_alerts.rule_arns,
                ),
            ),
        )
        topic = self.alarm_topic.arn
        self.deployment_alerts.send_to(topic)
        self.backup_alerts.send_to(topic)
        self.service_alarms: dict[str, ServiceAlarms] = {}
        for svc in env.services:
            name, service = svc.name, self.services[svc.name]
            alarms = ServiceAlarms(
                self,
                f"alarms-{name}",
                ServiceAlarmsProps(
                    name_prefix=service_alarm_prefix(env, svc).removesuffix("-"),
                    thresholds=env.alarms,
                    topic_arn=topic,
                    metrics=service.metrics,
                    metric_absent_alarm=env.is_production,
                ),
            )
            self.service_alarms[name] = alarms
        self.load_balancer_alarms = {
            kind: LoadBalancerAlarms(
                self,
                f"alarms-{kind}-alb",
                LoadBalancerAlarmsProps(
                    name_prefix=load_balancer_alarm_prefix(env, kind == "public").removesuffix("-"),
                    thresholds=env.alarms,
                    topic_arn=topic,
                    metrics=alb.metrics,
                ),
            )
            for kind, alb in self.load_balancers.items()
        }
        self.web_acl_alarms = None
        if self.web_acl is not None:
            self.web_acl_alarms = CardNumberAlarm(
                self,
                "alarms-web-acl",
                CardNumberAlarmProps(
                    name_prefix=env.prefix,
                    thresholds=env.alarms,
                    topic_arn=topic,
                    alarm_id="card-number-in-url",
                    description="The web ACL blocked a request with a card number in its URL "
                    "path or query string: find the client in the WAF log group (values "
                    "masked) and have it fixed; the request line is in the ALB access logs "
                    "(docs/observability.md).",
                    metric=self.web_acl.card_number_blocks,
                ),
            )
        if env.deployment.rollback_on_alarm:
            for svc in env.services:
                self.services[svc.name].rollback_on_alarms(
                    [a.alarm_name for a in self.rollback_alarms(env, svc.name)]
                )
        self.database_alarms = DatabaseAlarms(
            self,
            "alarms-database",
            DatabaseAlarmsProps(
                name_prefix=env.prefix,
                thresholds=env.alarms,
                topic_arn=topic,
                metrics=data.database.metrics,
                may_pause=env.database.auto_pause_seconds is not None,
                reader_count=env.database.reader_count,
            ),
        )
        # Card data in a log group of any stack of the environment (D75):
        # production tier only, where a card number in a log is an incident;
        # the other tiers log test card numbers by design, and their
        # findings stay in the findings groups for review.
        self.card_data_alarm = (
            CardNumberAlarm(
                self,
                "alarms-card-data",
                CardNumberAlarmProps(
                    name_prefix=env.prefix,
                    thresholds=env.alarms,
                    topic_arn=topic,
                    alarm_id="card-data-findings",
                    description="Card data was written to a log group (masked there): find "
                    "the writer in the stack's card-data-findings log group and stop it "
                    "(PCI DSS 3.3.1, 3.4.1).",
                    metric=card_data_findings(env.prefix),
                ),
            )
            if env.is_production
            else None
        )
        self.deployment_events = DeploymentEvents(
            self,
            "deployment-events",
            DeploymentEventsProps(
                name=env.prefix,
                log_group_name=f"/aws/events/{env.prefix}-deployments",
                kms_key_arn=security.logs_key.arn,
                retention_days=env.log_retention_days,
                application_name=self.deployments.name,
            ),
        )
        self.container_insights_logs = ContainerInsightsLogGroup(
            self,
            "container-insights-logs",
            ContainerInsightsLogGroupProps(
                cluster_name=cluster_name(env),
                kms_key_arn=security.logs_key.arn,
                retention_days=env.log_retention_days,
            ),
        )
        # Container Insights creates the group itself once tasks run; the
        # cluster comes after ours so that never happens first.
        performance_logs = self.container_insights_logs.log_group
        self.cluster.cluster.depends_on = [
            f"{performance_logs.terraform_resource_type}.{performance_logs.friendly_unique_id}"
        ]
        rollback_alarms = [
            a.arn for alarms in self.service_alarms.values() for a in alarms.rollback_alarms
        ]
        self.dashboard = Dashboard(
            self,
            "dashboard",
            DashboardProps(
                name=env.prefix,
                region=env.region,
                services=tuple(
                    DashboardService(name=name, metrics=service.metrics)
                    for name, service in self.services.items()
                ),
                database=data.database.metrics,
                deployment_log_group_name=self.deployment_events.log_group.name,
                alarm_arns=tuple(rollback_alarms),
                database_reader_count=env.database.reader_count,
            ),
        )

    def _load_balancers(
        self, env: EnvironmentConfig, security: SecurityStack, network: NetworkStack
    ) -> dict[str, ApplicationLoadBalancer]:
        lb = env.load_balancer
        net = network.network
        access_logs = None
        if lb.access_logs:
            elb_account = aws.data_aws_elb_service_account.DataAwsElbServiceAccount(
                self, "elb-account"
            )
            access_logs = AccessLogBucket(
                self,
                "access-logs",
                AccessLogBucketProps(
                    bucket_name=alb_access_log_bucket_name(env, self.account_id),
                    expiry_days=env.log_retention_days,
                    elb_account_arn=elb_account.arn,
                    account_id=self.account_id,
                    object_lock_mode="COMPLIANCE" if env.is_production else "GOVERNANCE",
                ),
            )
        web_acl = None
        if lb.waf:
            web_acl = self.web_acl = WebAcl(
                self,
                "web-acl",
                WebAclProps(
                    name=env.prefix,
                    logs_key_arn=security.logs_key.arn,
                    log_retention_days=env.log_retention_days,
                    region=env.region,
                ),
            )
        wanted = {
            "public": any(s.public for s in env.services),
            "internal": any(not s.public for s in env.services),
        }
        built = {}
        for kind, needed in wanted.items():
            if not needed:
                continue
            internal = kind == "internal"
            built[kind] = ApplicationLoadBalancer(
                self,
                f"{kind}-alb",
                ApplicationLoadBalancerProps(
                    name=f"{env.prefix}-{kind}",
                    internal=internal,
                    vpc_id=net.vpc_id,
                    subnet_ids=net.private_subnet_ids if internal else net.public_subnet_ids,
                    # Internal: only service tasks, through the callers group
                    # (CallersSecurityGroup.call_through); no range admitted.
                    production_ingress_cidrs=() if internal else lb.public_ingress_cidrs,
                    # Internal: test hooks in the VPC reach it on private
                    # addresses. Internet-facing: clients come from public
                    # addresses, in-VPC hooks through the NAT gateways.
                    test_listener_cidrs=(env.vpc_cidr,) if internal else lb.test_listener_cidrs,
                    test_listener_nat_ips=() if internal else tuple(net.nat_public_ips),
                    test_listener_port=lb.test_listener_port,
                    certificate_arn=lb.certificate_arn,
                    allow_plain_http=lb.allow_plain_http,
                    idle_timeout_seconds=lb.idle_timeout_seconds,
                    deletion_protection=lb.deletion_protection,
                    access_logs=access_logs,
                    web_acl=web_acl,
                ),
            )
        return built

    def _outputs(self, env: EnvironmentConfig) -> None:
        TerraformOutput(self, "cluster_name", value=self.cluster.name)
        TerraformOutput(self, "codedeploy_application", value=self.deployments.name)
        for kind, alb in self.load_balancers.items():
            TerraformOutput(self, f"{kind}_alb_dns_name", value=alb.dns_name)
            TerraformOutput(
                self, f"{kind}_production_listener_arn", value=alb.production_listener_arn
            )
            TerraformOutput(self, f"{kind}_test_listener_arn", value=alb.test_listener_arn)
        TerraformOutput(
            self, "service_names", value={n: s.service_name for n, s in self.services.items()}
        )
        TerraformOutput(
            self,
            "deployment_groups",
            value={n: s.deployment_group_name for n, s in self.services.items()},
        )
        TerraformOutput(
            self,
            "ecr_repository_urls",
            value={n: s.repository.url for n, s in self.services.items()},
        )
        TerraformOutput(
            self, "task_families", value={n: s.task_family for n, s in self.services.items()}
        )
        TerraformOutput(
            self,
            "release_manifest",
            description="Per service: what the release tool needs to run a blue/green deployment",
            value={
                svc.name: {
                    "cluster": self.cluster.name,
                    "service": self.services[svc.name].service_name,
                    "task_family": self.services[svc.name].task_family,
                    "container_name": self.services[svc.name].container_name,
                    "container_port": svc.port,
                    "codedeploy_application": self.deployments.name,
                    "deployment_group": self.services[svc.name].deployment_group_name,
                    "ecr_repository_name": self.services[svc.name].repository.name,
                    "ecr_repository_url": self.services[svc.name].repository.url,
                    "capacity_provider_strategy": capacity_provider_strategy(svc),
                    # Terraform ignores these on the service (CodeDeploy owns
                    # them); every release's AppSpec carries them from here.
                    "platform_version": svc.platform_version,
                    "network_configuration": self.services[svc.name].network_configuration,
                }
                for svc in env.services
            },
        )
