"""Builders of small stacks and contexts the rule tests share
(tests/test_rules*.py, tests/test_codedeploy_contract.py): unit stacks,
synthesized JSON, compliant and non-compliant resources, the rule cases
table. A helper module, not a test module (tests/test_test_layout.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from config.codedeploy_contract import SERVICE_IGNORED_CHANGES
from framework import App, S3Backend, TerraformResourceLifecycle, TerraformStack
from framework import Testing as CdktfTesting
from framework.aws import aws
from guardrails.rules import (
    Finding,
    RuleContext,
    register,
)
from modules.observability.data_protection import protect_card_data
from tests.fixtures.example import ENVIRONMENTS as EXAMPLE_ENVIRONMENTS

#: The card-data findings log group of the unit stacks.
UNIT_FINDINGS = {
    "findings_log_group_name": "/unit/card-data-findings",
    "kms_key_arn": "arn:aws:kms:eu-west-1:111111111111:key/unit",
    "retention_days": 365,
}

ROOT = Path(__file__).resolve().parent.parent


KEY_ARN = "arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-0000-0000-000000000001"


CERT_ARN = "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000009"


VPC = "vpc-0123456789abcdef0"


SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]


BLUE_GREEN_IGNORES = list(SERVICE_IGNORED_CHANGES)


def ingress(stack, construct_id: str, security_group, port: int, cidr: str):
    """One TCP port of ``security_group`` opened to ``cidr``."""
    return aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
        stack,
        construct_id,
        security_group_id=security_group.id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        cidr_ipv4=cidr,
    )


def fixed_response(status_code: str):
    """A listener default action answering ``status_code`` itself."""
    li = aws.lb_listener
    return li.LbListenerDefaultAction(
        type="fixed-response",
        fixed_response=li.LbListenerDefaultActionFixedResponse(
            content_type="text/plain", status_code=status_code
        ),
    )


def redirect_to_https():
    """A listener default action redirecting to HTTPS on 443."""
    li = aws.lb_listener
    return li.LbListenerDefaultAction(
        type="redirect",
        redirect=li.LbListenerDefaultActionRedirect(
            protocol="HTTPS", port="443", status_code="HTTP_301"
        ),
    )


def unit_cluster(stack, key, *, storage_encrypted: bool = True, **arguments):
    """The unit Aurora PostgreSQL cluster encrypted with ``key``;
    ``arguments``: deletion protection and lifecycle."""
    return aws.rds_cluster.RdsCluster(
        stack,
        "database",
        cluster_identifier="unit",
        engine="aurora-postgresql",
        storage_encrypted=storage_encrypted,
        kms_key_id=key.arn,
        **arguments,
    )


def unit_repository(stack, key, **arguments):
    """The unit ECR repository encrypted with ``key``; ``arguments``: its lifecycle."""
    er = aws.ecr_repository
    return er.EcrRepository(
        stack,
        "repository",
        name="unit",
        encryption_configuration=[
            er.EcrRepositoryEncryptionConfiguration(encryption_type="KMS", kms_key=key.arn)
        ],
        **arguments,
    )


def locked_vault(stack, construct_id: str, key, lock_days: int | None, **arguments):
    """A backup vault and its lock (compliance mode when ``lock_days`` is set)."""
    vault = aws.backup_vault.BackupVault(
        stack, construct_id, name="unit", kms_key_arn=key.arn, **arguments
    )
    aws.backup_vault_lock_configuration.BackupVaultLockConfiguration(
        stack,
        f"{construct_id}-lock",
        backup_vault_name=vault.name,
        changeable_for_days=lock_days,
        **arguments,
    )
    return vault


def unit_stack(tmp_path: Path, name: str = "unit") -> TerraformStack:
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, name)
    aws.provider.AwsProvider(stack, "aws", region="eu-west-1")
    return stack


def synth_json(stack: TerraformStack) -> dict:
    return json.loads(CdktfTesting.synth(stack))


def ctx(env_name: str = "dev", tier: str | None = None) -> RuleContext:
    """The rule context of ``env_name`` with ``tier``; left out, the tier of
    the example environment of that name (tests/fixtures/example.py). The
    rules see only the tier (test_tiers.py proves names do not matter)."""
    if tier is None:
        (tier,) = [env.tier for env in EXAMPLE_ENVIRONMENTS if env.name == env_name]
    return RuleContext(env_name=env_name, tier=tier, state_bucket="unit-state-bucket")


def finding_on(findings, rule_id: str, address: str) -> Finding:
    """The one finding of ``rule_id`` on ``address`` among ``findings``;
    fails unless it is the only finding. Tests then assert the value in its
    ``problem`` and what is allowed in its ``fix``, not the whole line (the
    line's format is pinned once, test_rules.py::test_a_finding_is_one_line)."""
    assert [(f.rule_id, f.address) for f in findings] == [(rule_id, address)], [
        str(f) for f in findings
    ]
    return findings[0]


def load_balancer(
    stack,
    *,
    name: str = "alb",
    https: bool = True,
    world_ports=(443,),
    deletion_protection: bool = False,
    ignore_default_action: bool = True,
):
    """ALB with its security group, production listener, test listener and,
    with HTTPS, an HTTP listener that only redirects."""
    sg = aws.security_group.SecurityGroup(stack, f"{name}-sg", name=f"{name}-sg", vpc_id=VPC)
    for port in world_ports:
        ingress(stack, f"{name}-world-{port}", sg, port, "0.0.0.0/0")
    lb = aws.lb.Lb(
        stack,
        name,
        name=name,
        load_balancer_type="application",
        security_groups=[sg.id],
        subnets=SUBNETS,
        enable_deletion_protection=deletion_protection,
    )
    li = aws.lb_listener
    tls = (
        dict(
            protocol="HTTPS",
            certificate_arn=CERT_ARN,
            ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        )
        if https
        else dict(protocol="HTTP")
    )
    lifecycle = (
        TerraformResourceLifecycle(ignore_changes=["default_action"])
        if ignore_default_action
        else None
    )

    def answering_404(role: str, port: int):
        return li.LbListener(
            stack,
            f"{name}-{role}",
            load_balancer_arn=lb.arn,
            port=port,
            default_action=[fixed_response("404")],
            lifecycle=lifecycle,
            **tls,
        )

    production = answering_404("production", 443 if https else 80)
    test = answering_404("test", 8443)
    redirect = None
    if https:
        redirect = li.LbListener(
            stack,
            f"{name}-redirect",
            load_balancer_arn=lb.arn,
            port=80,
            protocol="HTTP",
            default_action=[redirect_to_https()],
        )
    return SimpleNamespace(sg=sg, lb=lb, production=production, test=test, redirect=redirect)


def blue_green(
    stack,
    *,
    controller: str | None = "CODE_DEPLOY",
    rolling: bool = False,
    ignore_changes=tuple(BLUE_GREEN_IGNORES),
    with_load_balancer: bool = True,
    test_rule_to: str = "green",
    rule_ignores_action: bool = True,
    listener_ignores_default_action: bool = True,
    extra_prod_listener: bool = False,
    rollback: bool = True,
    with_deployment_group: bool = True,
    task_definition: str = "unit-task:1",
    service_role_arn: str = "arn:aws:iam::111111111111:role/codedeploy",
):
    """The blue/green topology of one service, compliant by default; each
    keyword injects one known defect."""
    alb = load_balancer(stack, ignore_default_action=listener_ignores_default_action)
    tgs = {
        color: aws.lb_target_group.LbTargetGroup(
            stack,
            f"{color}-tg",
            name=f"unit-{color}",
            port=8080,
            protocol="HTTP",
            target_type="ip",
            vpc_id=VPC,
        )
        for color in ("blue", "green")
    }
    lr = aws.lb_listener_rule

    def rule(construct_id, listener, target):
        return lr.LbListenerRule(
            stack,
            construct_id,
            listener_arn=listener.arn,
            priority=10,
            condition=[
                lr.LbListenerRuleCondition(
                    path_pattern=lr.LbListenerRuleConditionPathPattern(values=["/pay", "/pay/*"])
                )
            ],
            action=[lr.LbListenerRuleAction(type="forward", target_group_arn=target.arn)],
            lifecycle=TerraformResourceLifecycle(ignore_changes=["action"])
            if rule_ignores_action
            else None,
        )

    production_rule = rule("production-rule", alb.production, tgs["blue"])
    test_rule = rule("test-rule", alb.test, tgs[test_rule_to])
    es = aws.ecs_service
    service_kwargs = {}
    if controller is not None:
        service_kwargs["deployment_controller"] = es.EcsServiceDeploymentController(type=controller)
    if rolling:
        # The original AWS CDK design: rolling-update safety settings.
        service_kwargs.update(
            deployment_circuit_breaker=es.EcsServiceDeploymentCircuitBreaker(
                enable=True, rollback=True
            ),
            deployment_minimum_healthy_percent=50,
            deployment_maximum_percent=200,
        )
    if with_load_balancer:
        service_kwargs["load_balancer"] = [
            es.EcsServiceLoadBalancer(
                target_group_arn=tgs["blue"].arn, container_name="app", container_port=8080
            )
        ]
    service = es.EcsService(
        stack,
        "service",
        name="unit-service",
        cluster="unit-cluster",
        task_definition=task_definition,
        desired_count=2,
        lifecycle=TerraformResourceLifecycle(ignore_changes=list(ignore_changes))
        if ignore_changes
        else None,
        depends_on=[production_rule, test_rule],
        **service_kwargs,
    )
    group = None
    if with_deployment_group:
        dg = aws.codedeploy_deployment_group
        pair = dg.CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfo
        prod_listeners = [alb.production.arn] + ([alb.redirect.arn] if extra_prod_listener else [])
        group = dg.CodedeployDeploymentGroup(
            stack,
            "deployment-group",
            app_name="unit",
            deployment_group_name="unit-service",
            service_role_arn=service_role_arn,
            deployment_config_name="CodeDeployDefault.ECSAllAtOnce",
            deployment_style=dg.CodedeployDeploymentGroupDeploymentStyle(
                deployment_option="WITH_TRAFFIC_CONTROL", deployment_type="BLUE_GREEN"
            ),
            ecs_service=dg.CodedeployDeploymentGroupEcsService(
                cluster_name="unit-cluster", service_name=service.name
            ),
            load_balancer_info=dg.CodedeployDeploymentGroupLoadBalancerInfo(
                target_group_pair_info=pair(
                    prod_traffic_route=dg.CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfoProdTrafficRoute(
                        listener_arns=prod_listeners
                    ),
                    test_traffic_route=dg.CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfoTestTrafficRoute(
                        listener_arns=[alb.test.arn]
                    ),
                    target_group=[
                        dg.CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfoTargetGroup(
                            name=tg.name
                        )
                        for tg in tgs.values()
                    ],
                )
            ),
            auto_rollback_configuration=dg.CodedeployDeploymentGroupAutoRollbackConfiguration(
                enabled=True, events=["DEPLOYMENT_FAILURE"]
            )
            if rollback
            else None,
        )
    return SimpleNamespace(
        alb=alb,
        target_groups=tgs,
        production_rule=production_rule,
        test_rule=test_rule,
        service=service,
        deployment_group=group,
    )


def key_policy(*, root_kms_star: bool = False, admin_create_star: bool = False) -> str:
    """modules.kms's key policy for a unit key; ``root_kms_star``: the
    policy AWS attaches by default (root gets kms:*) instead;
    ``admin_create_star``: its administrators hold ``kms:Create*`` (the
    default key policy's administrator statement) as they did before #23."""
    from modules.kms import ManagedKeyProps
    from modules.kms import key_policy as build

    if root_kms_star:
        return json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    }
                ]
            }
        )
    props = ManagedKeyProps(
        alias="unit",
        description="unit",
        account_id="111111111111",
        partition="aws",
        region="eu-west-1",
        administrator_role_names=("key-admin",),
        protected_role_names=("terraform", "break-glass"),
        via_services=("rds",),
        allow_cloudwatch_logs=True,
    )
    statements = build(props)
    if admin_create_star:
        admin = next(s for s in statements if s["Sid"] == "KeyAdministrators")
        admin["Action"] = ["kms:Create*", *admin["Action"]]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def unit_key(stack, *, root_kms_star: bool = False, admin_create_star: bool = False, **kwargs):
    return aws.kms_key.KmsKey(
        stack,
        "key",
        enable_key_rotation=True,
        policy=key_policy(root_kms_star=root_kms_star, admin_create_star=admin_create_star),
        **kwargs,
    )


def encrypted_resources(
    stack, *, key=None, sns_key=None, storage_encrypted: bool = True, log_group_key: bool = True
):
    """One of each resource PAY-KMS-001 covers, encrypted with ``key``."""
    key = key or unit_key(stack)
    aws.cloudwatch_log_group.CloudwatchLogGroup(
        stack, "logs", name="/unit", kms_key_id=key.arn if log_group_key else None
    )
    aws.sns_topic.SnsTopic(stack, "topic", name="unit", kms_master_key_id=sns_key or key.arn)
    unit_repository(stack, key)
    aws.secretsmanager_secret.SecretsmanagerSecret(stack, "secret", name="unit", kms_key_id=KEY_ARN)
    unit_cluster(
        stack,
        key,
        storage_encrypted=storage_encrypted,
        deletion_protection=True,
        lifecycle=TerraformResourceLifecycle(prevent_destroy=True),
    )
    protect_card_data(stack, "unit-card-data", **UNIT_FINDINGS)
    return key


def stateful_resources(
    stack,
    *,
    protect: bool = True,
    database_deletion_protection: bool = True,
    alb_deletion_protection: bool = True,
):
    """Every resource type PAY-DEL-001 covers; ``protect``: prevent_destroy."""
    keep = TerraformResourceLifecycle(prevent_destroy=True) if protect else None
    key = unit_key(stack, lifecycle=keep)
    cluster = unit_cluster(
        stack, key, deletion_protection=database_deletion_protection, lifecycle=keep
    )
    backed_up(stack, cluster, key=key)
    aws.s3_bucket.S3Bucket(stack, "state", bucket="unit-state-bucket", lifecycle=keep)
    unit_repository(stack, key, lifecycle=keep)
    aws.secretsmanager_secret.SecretsmanagerSecret(
        stack, "secret", name="unit", kms_key_id=key.arn, lifecycle=keep
    )
    # Every bucket and log group in prod holds state or audit trail.
    aws.s3_bucket.S3Bucket(stack, "logs", bucket="unit-logs", lifecycle=keep)
    aws.cloudwatch_log_group.CloudwatchLogGroup(
        stack, "audit", name="/unit/audit", kms_key_id=key.arn, lifecycle=keep
    )
    protect_card_data(stack, "unit-card-data", **UNIT_FINDINGS)
    if protect:  # the findings group too (ProtectAuditLogs does it in the stacks)
        stack.node.find_child("card-data-findings").add_override("lifecycle.prevent_destroy", True)
    load_balancer(stack, deletion_protection=alb_deletion_protection)


def backed_up(
    stack,
    cluster=None,
    *,
    key=None,
    lock_days: int | None = 3,
    copy: bool = True,
    copy_locked: bool = True,
    by_tag: bool = False,
):
    """PAY-BAK-001's shape: a cluster selected by ARN by a plan into a vault
    locked in compliance mode (``lock_days`` set), copied to a locked vault
    whose provider is in another region."""
    key = key or unit_key(stack, lifecycle=TerraformResourceLifecycle(prevent_destroy=True))
    if cluster is None:
        cluster = unit_cluster(
            stack,
            key,
            deletion_protection=True,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True),
        )
    vault = locked_vault(stack, "vault", key, lock_days)
    copy_actions = None
    if copy:
        other = aws.provider.AwsProvider(stack, "aws-copy", region="eu-central-1", alias="copy")
        copy_vault = locked_vault(
            stack, "copy-vault", key, 3 if copy_locked else None, provider=other
        )
        copy_actions = [
            aws.backup_plan.BackupPlanRuleCopyAction(destination_vault_arn=copy_vault.arn)
        ]
    plan = aws.backup_plan.BackupPlan(
        stack,
        "plan",
        name="unit",
        rule=[
            aws.backup_plan.BackupPlanRule(
                rule_name="daily",
                target_vault_name=vault.name,
                schedule="cron(0 3 * * ? *)",
                copy_action=copy_actions,
            )
        ],
    )
    selected = (
        dict(
            selection_tag=[
                aws.backup_selection.BackupSelectionSelectionTag(
                    type="STRINGEQUALS", key="backup", value="true"
                )
            ]
        )
        if by_tag
        else dict(resources=[cluster.arn])
    )
    aws.backup_selection.BackupSelection(
        stack,
        "selection",
        name="unit",
        plan_id=plan.id,
        iam_role_arn="arn:aws:iam::123456789012:role/unit",
        **selected,
    )


def open_ports(
    stack,
    *,
    database_world: bool = False,
    inline_world_port: int | None = None,
    legacy_rule_all_ports: bool = False,
):
    """A load balancer open to the world on 443 and a database SG open to the VPC."""
    alb = load_balancer(stack)
    db = aws.security_group.SecurityGroup(stack, "db-sg", name="db", vpc_id=VPC)
    ingress(stack, "db-from-vpc", db, 5432, "0.0.0.0/0" if database_world else "10.0.0.0/16")
    if inline_world_port is not None:
        sg = aws.security_group
        sg.SecurityGroup(
            stack,
            "inline-sg",
            name="inline",
            vpc_id=VPC,
            ingress=[
                sg.SecurityGroupIngress(
                    from_port=inline_world_port,
                    to_port=inline_world_port,
                    protocol="tcp",
                    ipv6_cidr_blocks=["::/0"],
                )
            ],
        )
    if legacy_rule_all_ports:
        aws.security_group_rule.SecurityGroupRule(
            stack,
            "legacy-all",
            type="ingress",
            security_group_id=alb.sg.id,
            protocol="-1",
            from_port=0,
            to_port=0,
            cidr_blocks=["0.0.0.0/0"],
        )


def plain_http_listener(stack, *, redirect: bool):
    alb = load_balancer(stack, https=True, deletion_protection=True)
    action = redirect_to_https() if redirect else fixed_response("200")
    aws.lb_listener.LbListener(
        stack,
        "plain",
        load_balancer_arn=alb.lb.arn,
        port=8080,
        protocol="HTTP",
        default_action=[action],
    )


def second_service_on_blue(stack):
    """A second CODE_DEPLOY service attached to the first one's blue target group."""
    topology = blue_green(stack)
    es = aws.ecs_service
    es.EcsService(
        stack,
        "intruder",
        name="intruder",
        cluster="unit-cluster",
        task_definition="other:1",
        deployment_controller=es.EcsServiceDeploymentController(type="CODE_DEPLOY"),
        load_balancer=[
            es.EcsServiceLoadBalancer(
                target_group_arn=topology.target_groups["blue"].arn,
                container_name="app",
                container_port=8080,
            )
        ],
        lifecycle=TerraformResourceLifecycle(ignore_changes=BLUE_GREEN_IGNORES),
    )


def world_https_on_tasks(stack):
    tasks = aws.security_group.SecurityGroup(stack, "tasks-sg", name="tasks", vpc_id=VPC)
    ingress(stack, "tasks-world-443", tasks, 443, "0.0.0.0/0")


def forward_rule_on_http_listener(stack):
    alb = load_balancer(stack, deletion_protection=True)
    tg = aws.lb_target_group.LbTargetGroup(
        stack, "tg", name="unit", port=8080, protocol="HTTP", target_type="ip", vpc_id=VPC
    )
    lr = aws.lb_listener_rule
    lr.LbListenerRule(
        stack,
        "http-forward",
        listener_arn=alb.redirect.arn,
        priority=5,
        condition=[
            lr.LbListenerRuleCondition(
                path_pattern=lr.LbListenerRuleConditionPathPattern(values=["/legacy/*"])
            )
        ],
        action=[lr.LbListenerRuleAction(type="forward", target_group_arn=tg.arn)],
    )


#: The plain environment of the real app's containers (modules/container_definition.py).
APP_ENVIRONMENT = {
    "SERVICE_NAME": "payment-api",
    "ENVIRONMENT": "dev",
    "PORT": "8080",
    "SERVICE_DISCOVERY_NAMESPACE": "dev.payment.internal",
    "OTEL_SERVICE_NAME": "payment-api",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4317",
    "DB_HOST": "unit.cluster-abc.eu-west-1.rds.amazonaws.com",
    "DB_PORT": "5432",
    "DB_NAME": "payments",
    "DB_USER": "payment_api",
    "DB_IAM_AUTH": "true",
}


SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:unit/db-AbCdEf"


def app_variables(*extra: tuple[str, str]) -> list[dict]:
    """APP_ENVIRONMENT then ``extra`` (name, value) as a container's ``environment``."""
    pairs = [*sorted(APP_ENVIRONMENT.items()), *extra]
    return [{"name": k, "value": v} for k, v in pairs]


#: Leaves a key out of a container (``container(name, user=ABSENT)``).
ABSENT = object()


def container(name: str, **fields) -> dict:
    """A compliant container definition; ``fields`` replace or (ABSENT) drop keys."""
    definition = {
        "name": name,
        "image": f"unit/{name}:1",
        "essential": name == "app",
        "user": "1000:1000",
        "privileged": False,
        "readonlyRootFilesystem": True,
        "environment": app_variables(),
        "secrets": [{"name": "DB_PASSWORD", "valueFrom": SECRET_ARN}],
    }
    definition.update(fields)
    return {k: v for k, v in definition.items() if v is not ABSENT}


def task_definition(
    stack, *containers: dict, construct_id: str = "task", definitions=None, **arguments
):
    """A Fargate task definition of ``containers`` (default: app + collector)
    as json.dumps writes it; ``definitions`` replaces the JSON string;
    ``arguments``: more of its arguments (e.g. the roles)."""
    containers = containers or (
        container("app"),
        container("otel-collector", user="10001:10001", environment=[], secrets=[]),
    )
    return aws.ecs_task_definition.EcsTaskDefinition(
        stack,
        construct_id,
        family="unit",
        requires_compatibilities=["FARGATE"],
        network_mode="awsvpc",
        cpu="256",
        memory="512",
        container_definitions=definitions
        if definitions is not None
        else json.dumps(list(containers)),
        **arguments,
    )


def with_env(*extra: tuple[str, str]) -> dict:
    """The app container with ``extra`` (name, value) variables added."""
    return container("app", environment=app_variables(*extra))


def released_with_roles(
    stack,
    *,
    passable: str = "both",
    execution_role_name: str = "unit-execution",
    pass_policy_statement: dict | None = None,
):
    """A blue/green service whose task definition names a task role and an
    execution role, deployed by modules.codedeploy_application's role.
    ``passable``: the roles given to ``allow_pass_role`` (both, task, none);
    ``pass_policy_statement``: one more inline policy statement on the
    CodeDeploy role instead."""
    from modules.codedeploy_application import (
        CodeDeployEcsApplication,
        CodeDeployEcsApplicationProps,
    )
    from modules.iam import document, service_role

    deployments = CodeDeployEcsApplication(
        stack,
        "codedeploy",
        CodeDeployEcsApplicationProps(name="unit", account_id="111111111111", partition="aws"),
    )
    roles = {
        kind: service_role(
            stack,
            f"{kind}-role",
            name=name,
            service="ecs-tasks.amazonaws.com",
            source_account="111111111111",
        )
        for kind, name in (("task", "unit-task"), ("execution", execution_role_name))
    }
    td = task_definition(
        stack, task_role_arn=roles["task"].arn, execution_role_arn=roles["execution"].arn
    )
    if passable == "both":
        deployments.allow_pass_role(roles["task"], roles["execution"])
    elif passable == "task":
        deployments.allow_pass_role(roles["task"])
    if pass_policy_statement is not None:
        aws.iam_role_policy.IamRolePolicy(
            stack,
            "extra-pass-policy",
            role=deployments.role.name,
            policy=document(pass_policy_statement),
        )
    blue_green(stack, task_definition=td.arn, service_role_arn=deployments.role_arn)
    return roles


def config_delivery(stack, *, into: str | None = None):
    """modules.config_recorder's recorder with its own bucket; ``into``:
    the delivery channel delivers instead to a bucket locked the way it
    names (``lock_configuration``: aws_s3_bucket_object_lock_configuration,
    by literal name; ``object_lock_enabled``: the bucket argument, by
    reference)."""
    from modules.config_recorder import ConfigRecorder, ConfigRecorderProps
    from modules.private_bucket import PrivateBucket, log_expiry_rule

    recorder = ConfigRecorder(
        stack,
        "config",
        ConfigRecorderProps(
            name="unit-config",
            account_id="111111111111",
            partition="aws",
            bucket_name="unit-config",
            kms_key_arn=KEY_ARN,
            retention_days=365,
            prevent_destroy=False,
        ),
    )
    if into == "lock_configuration":
        audit = PrivateBucket(
            stack,
            "audit",
            name="unit-audit",
            kms_key_arn=KEY_ARN,
            lifecycle_rule=log_expiry_rule("expire-audit-logs", 365),
            prevent_destroy=False,
        )
        audit.lock_objects("GOVERNANCE", 365)
        recorder.channel.add_override("s3_bucket_name", "unit-audit")
    elif into == "object_lock_enabled":
        locked = aws.s3_bucket.S3Bucket(
            stack, "locked", bucket="unit-locked", object_lock_enabled=True
        )
        recorder.channel.add_override("s3_bucket_name", locked.id)
    return recorder


def runtime_monitoring(stack, *, declared: tuple[str, ...] | None = None):
    """modules.threat_detection's detector and features; ``declared``: the
    RUNTIME_MONITORING feature declares only these additional
    configurations instead (``()``: none)."""
    from modules.threat_detection import ThreatDetection, ThreatDetectionProps

    detection = ThreatDetection(
        stack, "detection", ThreatDetectionProps(partition="aws", region="eu-west-1")
    )
    if declared is not None:
        gf = aws.guardduty_detector_feature
        feature = detection.features["RUNTIME_MONITORING"]
        feature.reset_additional_configuration()
        if declared:
            feature.put_additional_configuration(
                [
                    gf.GuarddutyDetectorFeatureAdditionalConfiguration(name=name, status="ENABLED")
                    for name in declared
                ]
            )
    return detection


def state_backend(
    stack,
    *,
    encrypt: bool = True,
    use_lockfile: bool | None = True,
    kms_key_id: str | None = "alias/unit-terraform-state",
):
    """The S3 backend PlatformStack writes; each keyword can take one setting away."""
    S3Backend(
        stack,
        bucket="unit-state-bucket",
        key="unit/services.tfstate",
        region="eu-west-1",
        encrypt=encrypt,
        kms_key_id=kms_key_id,
    )
    if use_lockfile is not None:
        stack.add_override("terraform.backend.s3.use_lockfile", use_lockfile)


def vpc_endpoints(stack, *, policy: bool = True, full_access: bool = False):
    """An S3 gateway endpoint and a Logs interface endpoint; ``policy``
    gives both modules.network's endpoint policy, ``full_access`` the
    Logs endpoint AWS's default one instead."""
    from modules.network import endpoint_policy

    default = json.dumps(
        {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}
    )
    aws.vpc_endpoint.VpcEndpoint(
        stack,
        "s3",
        vpc_id=VPC,
        service_name="com.amazonaws.eu-west-1.s3",
        vpc_endpoint_type="Gateway",
        policy=endpoint_policy("s3", "111111111111", "aws", "eu-west-1") if policy else None,
    )
    aws.vpc_endpoint.VpcEndpoint(
        stack,
        "logs",
        vpc_id=VPC,
        service_name="com.amazonaws.eu-west-1.logs",
        vpc_endpoint_type="Interface",
        subnet_ids=SUBNETS,
        policy=default
        if full_access
        else (endpoint_policy("logs", "111111111111", "aws", "eu-west-1") if policy else None),
    )


def service_trust(stack, *, source_account: bool = True):
    """A role RDS Enhanced Monitoring assumes, bound to the account or not."""
    from modules.iam import service_role

    service_role(
        stack,
        "monitoring",
        name="unit-monitoring",
        service="monitoring.rds.amazonaws.com",
        source_account="111111111111" if source_account else None,
    )


def logged(stack, *, protected: bool = True):
    """A log group, with the card-data protection policy or without."""
    aws.cloudwatch_log_group.CloudwatchLogGroup(stack, "logs", name="/unit", kms_key_id=KEY_ARN)
    if protected:
        protect_card_data(stack, "unit-card-data", **UNIT_FINDINGS)


def event_log_delivery(stack, *, single_statement: bool = False, any_group: bool = False):
    """An EventBridge rule's log group and its resource policy: the split
    form (D58), the single statement conditioning both actions on the rule,
    or stream creation on every /aws/events/ group."""
    from modules import iam
    from modules.observability.deployment_events import (
        EVENT_DELIVERY_PRINCIPALS,
        delivery_statements,
    )

    group = aws.cloudwatch_log_group.CloudwatchLogGroup(
        stack, "events", name="/aws/events/unit", kms_key_id=KEY_ARN
    )
    protect_card_data(stack, "unit-card-data", **UNIT_FINDINGS)
    rule = aws.cloudwatch_event_rule.CloudwatchEventRule(
        stack, "rule", name="unit", event_pattern='{"source": ["aws.codedeploy"]}'
    )
    create, put = delivery_statements(log_group_arn=group.arn, rule_arn=rule.arn)
    if single_statement:
        statements = [
            {
                **put,
                "Sid": "Both",
                "Principal": {"Service": list(EVENT_DELIVERY_PRINCIPALS)},
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            }
        ]
    elif any_group:
        statements = [{**create, "Resource": "arn:aws:logs:*:*:log-group:/aws/events/*:*"}, put]
    else:
        statements = [create, put]
    aws.cloudwatch_log_resource_policy.CloudwatchLogResourcePolicy(
        stack, "delivery", policy_name="unit", policy_document=iam.document(*statements)
    )


@dataclass(frozen=True)
class Case:
    env: str
    compliant: Callable
    non_compliant: Callable
    #: Regular expression the non-compliant finding must match.
    message: str


RULE_CASES: dict[str, Case] = {
    "PAY-ECS-001": Case(
        "dev",
        lambda s: blue_green(s),
        lambda s: blue_green(s, ignore_changes=("desired_count",)),
        r"^\[PAY-ECS-001\] aws_ecs_service\.service: does not ignore changes to task_definition, "
        r"load_balancer, network_configuration, platform_version, capacity_provider_strategy, "
        r"service_registries, enable_execute_command, .*\. Fix: add lifecycle \{ ignore_changes = "
        r"\[task_definition, load_balancer, network_configuration, platform_version, "
        r"capacity_provider_strategy, service_registries, enable_execute_command\] \}",
    ),
    "PAY-ECS-002": Case(
        "dev",
        lambda s: blue_green(s),
        lambda s: blue_green(s, with_deployment_group=False),
        r"^\[PAY-ECS-002\] aws_ecs_service\.service: uses the CODE_DEPLOY controller but no "
        r"deployment group .*\. Fix: add an aws_codedeploy_deployment_group",
    ),
    "PAY-CD-001": Case(
        "dev",
        lambda s: blue_green(s),
        lambda s: blue_green(s, test_rule_to="blue"),
        r"^\[PAY-CD-001\] aws_codedeploy_deployment_group\.deployment-group: target group green-tg "
        r"is not forwarded to by any listener rule or listener.*\. Fix: forward .* test listener rule to the green one",
    ),
    "PAY-CD-002": Case(
        "dev",
        lambda s: blue_green(s),
        lambda s: blue_green(s, rule_ignores_action=False),
        r"^\[PAY-CD-002\] aws_lb_listener_rule\.(production|test)-rule: forwards to target group "
        r".*\. Fix: add lifecycle \{ ignore_changes = \[action\] \}",
    ),
    "PAY-CD-003": Case(
        "dev",
        lambda s: released_with_roles(s),
        lambda s: released_with_roles(s, passable="none"),
        r"^\[PAY-CD-003\] aws_codedeploy_deployment_group\.deployment-group: service role "
        r"aws_iam_role\.codedeploy_service-role_\w+ may not pass task_role_arn "
        r"\$\{aws_iam_role\.task-role\.arn\} of aws_ecs_task_definition\.task to "
        r"ecs-tasks\.amazonaws\.com, so CreateTaskSet is denied and every release fails\. "
        r"Fix: Allow iam:PassRole on exactly",
    ),
    "PAY-NET-001": Case(
        "dev",
        lambda s: open_ports(s),
        lambda s: open_ports(s, database_world=True),
        r"^\[PAY-NET-001\] aws_vpc_security_group_ingress_rule\.db-from-vpc: opens port 5432 of "
        r"security group db-sg \(not an internet-facing load balancer's\) to 0\.0\.0\.0/0, a "
        r"world-wide range, .*\. Fix: use a private range or a security group",
    ),
    "PAY-NET-002": Case(
        "dev",
        lambda s: vpc_endpoints(s),
        lambda s: vpc_endpoints(s, policy=False),
        r"^\[PAY-NET-002\] aws_vpc_endpoint\.s3: has no policy, so AWS attaches the default "
        r"policy allowing every action .*\. Fix: Set policy to modules\.network\.endpoint_policy",
    ),
    "PAY-SEC-001": Case(
        "dev",
        lambda s: task_definition(s),
        lambda s: task_definition(s, with_env(("DB_PASSWORD", "hunter2"))),
        r"^\[PAY-SEC-001\] aws_ecs_task_definition\.task: container app has secret-looking "
        r"environment variable DB_PASSWORD\. Fix: move it to the container's secrets",
    ),
    "PAY-CTR-001": Case(
        "dev",
        lambda s: task_definition(s),
        lambda s: task_definition(s, container("app", privileged=True)),
        r"^\[PAY-CTR-001\] aws_ecs_task_definition\.task: container app is privileged "
        r"\(privileged = true\)\. Fix: remove privileged",
    ),
    "PAY-CTR-002": Case(
        "dev",
        lambda s: task_definition(s),
        lambda s: task_definition(
            s, container("app"), container("otel-collector", readonlyRootFilesystem=False)
        ),
        r"^\[PAY-CTR-002\] aws_ecs_task_definition\.task: container otel-collector has a writable "
        r"root filesystem \(readonlyRootFilesystem is False\)\. Fix: set readonlyRootFilesystem = true",
    ),
    "PAY-CTR-003": Case(
        "dev",
        lambda s: task_definition(s),
        lambda s: task_definition(s, container("app", user="0:0")),
        r"^\[PAY-CTR-003\] aws_ecs_task_definition\.task: container app runs as root "
        r"\(user = '0:0'\)\. Fix: set user to a non-root UID:GID",
    ),
    "PAY-TLS-001": Case(
        "prod",
        lambda s: plain_http_listener(s, redirect=True),
        lambda s: plain_http_listener(s, redirect=False),
        r"^\[PAY-TLS-001\] aws_lb_listener\.plain: listens on plain HTTP \(port 8080\) in the production tier "
        r"without redirecting to HTTPS\. Fix: make the listener HTTPS",
    ),
    "PAY-KMS-001": Case(
        "dev",
        lambda s: encrypted_resources(s),
        lambda s: encrypted_resources(s, log_group_key=False),
        r"^\[PAY-KMS-001\] aws_cloudwatch_log_group\.logs: kms_key_id is absent, not a "
        r"customer-managed KMS key\. Fix: set kms_key_id",
    ),
    "PAY-KMS-002": Case(
        "dev",
        lambda s: unit_key(s),
        lambda s: unit_key(s, root_kms_star=True),
        r"^\[PAY-KMS-002\] aws_kms_key\.key: statement '\(no Sid\)' allows \['kms:\*'\] \(every key "
        r"operation\)\. Fix: Build the policy with modules\.kms\.key_policy",
    ),
    "PAY-KMS-003": Case(
        "dev",
        lambda s: unit_key(s),
        lambda s: unit_key(s, admin_create_star=True),
        r"^\[PAY-KMS-003\] aws_kms_key\.key: statement 'KeyAdministrators' allows kms:CreateGrant "
        r"\(through \['kms:Create\*', .*\]\) without Bool kms:GrantIsForAWSResource = true.*"
        r"Fix: List the administrator actions exactly",
    ),
    "PAY-IAM-001": Case(
        "dev",
        lambda s: service_trust(s),
        lambda s: service_trust(s, source_account=False),
        r"^\[PAY-IAM-001\] aws_iam_role\.monitoring: assume_role_policy statement '\(no Sid\)' lets "
        r"\['monitoring\.rds\.amazonaws\.com'\] act without aws:SourceAccount or aws:SourceArn\. "
        r"Fix: Add Condition",
    ),
    "PAY-LOG-001": Case(
        "dev",
        lambda s: logged(s),
        lambda s: logged(s, protected=False),
        r"^\[PAY-LOG-001\] aws_cloudwatch_log_group\.logs: has no data protection policy masking "
        r"card numbers\. Fix: Call modules\.observability\.data_protection\.protect_card_data",
    ),
    "PAY-LOG-002": Case(
        "dev",
        lambda s: config_delivery(s),
        lambda s: config_delivery(s, into="lock_configuration"),
        r"^\[PAY-LOG-002\] aws_config_delivery_channel\.config_delivery-channel_\w+: delivers "
        r"to aws_s3_bucket\.audit_bucket_\w+, which has Object Lock "
        r"\(aws_s3_bucket_object_lock_configuration\.audit_object-lock_\w+\); AWS Config does "
        r"not deliver to such a bucket\. Fix: Give the delivery channel a bucket of its own",
    ),
    "PAY-LOG-003": Case(
        "dev",
        lambda s: event_log_delivery(s),
        lambda s: event_log_delivery(s, single_statement=True),
        r"^\[PAY-LOG-003\] aws_cloudwatch_log_resource_policy\.delivery: statement 'Both' allows "
        r"events\.amazonaws\.com logs:CreateLogStream only with aws:SourceArn, which EventBridge "
        r"does not send when it creates a stream: no event is delivered\. Fix: Split the statement",
    ),
    "PAY-GD-001": Case(
        "dev",
        lambda s: runtime_monitoring(s),
        lambda s: runtime_monitoring(s, declared=("ECS_FARGATE_AGENT_MANAGEMENT",)),
        r"^\[PAY-GD-001\] aws_guardduty_detector_feature\.detection_guardduty-runtime-monitoring_"
        r"\w+: RUNTIME_MONITORING declares additional_configuration "
        r"\['ECS_FARGATE_AGENT_MANAGEMENT'\] but GuardDuty returns EKS_ADDON_MANAGEMENT, "
        r"ECS_FARGATE_AGENT_MANAGEMENT, EC2_AGENT_MANAGEMENT; .* \(missing: EKS_ADDON_MANAGEMENT, "
        r"EC2_AGENT_MANAGEMENT\)\. Fix: Declare each of them",
    ),
    "PAY-DEL-001": Case(
        "prod",
        lambda s: stateful_resources(s),
        lambda s: stateful_resources(s, protect=False),
        r"^\[PAY-DEL-001\] aws_kms_key\.key: has no lifecycle\.prevent_destroy in the production tier\. "
        r"Fix: add lifecycle \{ prevent_destroy = true \}",
    ),
    "PAY-BAK-001": Case(
        "prod",
        lambda s: backed_up(s),
        lambda s: backed_up(s, lock_days=None),
        r"^\[PAY-BAK-001\] aws_rds_cluster\.database: has no locked, copied backup plan: "
        r"aws_backup_plan\.plan rule daily targets aws_backup_vault\.vault, not locked in "
        r"compliance mode\. Fix: Select the cluster by ARN",
    ),
    "PAY-TF-001": Case(
        "dev",
        lambda s: state_backend(s),
        lambda s: state_backend(s, use_lockfile=None),
        r"^\[PAY-TF-001\] terraform\.backend\.s3: use_lockfile is None, not true \(S3-native "
        r"locking\)\. Fix: use the environment's S3 backend",
    ),
}


VARIANTS = [
    pytest.param(
        "PAY-IAM-001",
        "dev",
        lambda s: aws.lambda_permission.LambdaPermission(
            s,
            "invoke",
            action="lambda:InvokeFunction",
            function_name="CodeDeployHook_unit",
            principal="events.amazonaws.com",
        ),
        r"aws_lambda_permission\.invoke: lets events\.amazonaws\.com invoke without source_account",
        id="IAM-001-lambda-permission",
    ),
    pytest.param(
        "PAY-IAM-001",
        "dev",
        lambda s: event_log_delivery(s, any_group=True),
        r"aws_cloudwatch_log_resource_policy\.delivery: policy_document statement "
        r"'EventBridgeCreatesStreams' lets \['events\.amazonaws\.com', "
        r"'delivery\.logs\.amazonaws\.com'\] act without aws:SourceAccount or aws:SourceArn",
        id="IAM-001-stream-creation-on-every-group",
    ),
    pytest.param(
        "PAY-KMS-002",
        "dev",
        lambda s: aws.kms_key.KmsKey(s, "key"),
        r"aws_kms_key\.key: has no policy, so AWS attaches the default one",
        id="KMS-002-no-policy",
    ),
    pytest.param(
        "PAY-KMS-002",
        "dev",
        lambda s: aws.kms_key.KmsKey(
            s,
            "key",
            policy=json.dumps(
                {
                    "Statement": [
                        {
                            "Sid": "Decrypt",
                            "Effect": "Allow",
                            "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                            "Action": ["kms:Decrypt*"],
                            "Resource": "*",
                        },
                        {
                            "Sid": "Alarms",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudwatch.amazonaws.com"},
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            "Resource": "*",
                        },
                    ]
                }
            ),
        ),
        r"statement 'Decrypt' lets \['arn:aws:iam::111111111111:root'\] decrypt without "
        r"kms:ViaService|statement 'Alarms' lets service",
        id="KMS-002-unconditioned-decrypt",
    ),
    pytest.param(
        "PAY-NET-002",
        "dev",
        lambda s: vpc_endpoints(s, full_access=True),
        r"aws_vpc_endpoint\.logs: policy statement '\(no Sid\)' allows every action on every "
        r"resource to any principal without a condition",
        id="NET-002-default-full-access-policy",
    ),
    pytest.param(
        "PAY-ECS-001",
        "dev",
        lambda s: blue_green(s, rolling=True),
        r"CODE_DEPLOY controller but sets deployment_circuit_breaker\. Fix: remove the "
        r"deployment_circuit_breaker block",
        id="ECS-001-circuit-breaker",
    ),
    pytest.param(
        "PAY-ECS-001",
        "dev",
        lambda s: blue_green(s, rolling=True),
        r"CODE_DEPLOY controller but sets deployment_minimum_healthy_percent",
        id="ECS-001-min-percent",
    ),
    pytest.param(
        "PAY-ECS-001",
        "dev",
        lambda s: blue_green(s, with_load_balancer=False),
        r"without a load_balancer block",
        id="ECS-001-no-load-balancer",
    ),
    pytest.param(
        "PAY-ECS-002",
        "dev",
        lambda s: blue_green(s, controller=None),
        r"aws_codedeploy_deployment_group\.deployment-group: releases aws_ecs_service\.service, "
        r"whose deployment controller is ECS",
        id="ECS-002-group-drives-rolling-service",
    ),
    pytest.param(
        "PAY-ECS-002",
        "dev",
        second_service_on_blue,
        r"aws_ecs_service\.intruder: is attached to target group blue-tg of deployment group "
        r"deployment-group, which releases a different service",
        id="ECS-002-foreign-service",
    ),
    pytest.param(
        "PAY-CD-001",
        "dev",
        lambda s: blue_green(s, extra_prod_listener=True),
        r"has 2 production listeners in prod_traffic_route",
        id="CD-001-two-prod-listeners",
    ),
    pytest.param(
        "PAY-CD-001",
        "dev",
        lambda s: blue_green(s, rollback=False),
        r"has no automatic rollback on DEPLOYMENT_FAILURE",
        id="CD-001-no-rollback",
    ),
    pytest.param(
        "PAY-CD-002",
        "dev",
        lambda s: blue_green(s, listener_ignores_default_action=False),
        r"aws_lb_listener\.alb-(production|test): is a traffic route of deployment group "
        r"deployment-group but does not ignore default_action",
        id="CD-002-listener",
    ),
    pytest.param(
        "PAY-NET-001",
        "dev",
        lambda s: open_ports(s, inline_world_port=8443),
        r"aws_security_group\.inline-sg: opens port 8443 .* to ::/0",
        id="NET-001-inline-ipv6",
    ),
    pytest.param(
        "PAY-NET-001",
        "dev",
        lambda s: open_ports(s, legacy_rule_all_ports=True),
        r"aws_security_group_rule\.legacy-all: opens all ports of security group alb-sg of "
        r"internet-facing load balancer alb to 0\.0\.0\.0/0",
        id="NET-001-legacy-rule-all-ports",
    ),
    pytest.param(
        "PAY-NET-001",
        "dev",
        lambda s: load_balancer(s, world_ports=(8443,)),
        r"opens port 8443 of security group alb-sg of internet-facing load balancer alb to "
        r"0\.0\.0\.0/0, a world-wide range",
        id="NET-001-test-listener-world",
    ),
    pytest.param(
        "PAY-NET-001",
        "dev",
        world_https_on_tasks,
        r"aws_vpc_security_group_ingress_rule\.tasks-world-443: opens port 443 of security group "
        r"tasks-sg \(not an internet-facing load balancer's\)",
        id="NET-001-443-not-on-load-balancer",
    ),
    pytest.param(
        "PAY-TLS-001",
        "prod",
        forward_rule_on_http_listener,
        r"aws_lb_listener_rule\.http-forward: serves requests on plain-HTTP listener alb-redirect",
        id="TLS-001-forward-rule-on-http",
    ),
    pytest.param(
        "PAY-TLS-001",
        "prod",
        lambda s: load_balancer(s, https=False),
        r"aws_lb_listener\.alb-production: listens on plain HTTP \(port 80\)",
        id="TLS-001-http-alb",
    ),
    pytest.param(
        "PAY-KMS-001",
        "dev",
        lambda s: encrypted_resources(s, sns_key="alias/aws/sns"),
        r"aws_sns_topic\.topic: kms_master_key_id is 'alias/aws/sns', not a customer-managed",
        id="KMS-001-aws-managed-alias",
    ),
    pytest.param(
        "PAY-KMS-001",
        "dev",
        lambda s: encrypted_resources(s, storage_encrypted=False),
        r"aws_rds_cluster\.database: has storage_encrypted unset or false",
        id="KMS-001-rds-unencrypted",
    ),
    pytest.param(
        "PAY-LOG-002",
        "dev",
        lambda s: config_delivery(s, into="object_lock_enabled"),
        r"aws_config_delivery_channel\.config_delivery-channel_\w+: delivers to "
        r"aws_s3_bucket\.locked, which has Object Lock \(object_lock_enabled = true\)",
        id="LOG-002-bucket-argument",
    ),
    pytest.param(
        "PAY-GD-001",
        "dev",
        lambda s: runtime_monitoring(s, declared=()),
        r"RUNTIME_MONITORING declares additional_configuration none but GuardDuty returns",
        id="GD-001-none-declared",
    ),
    pytest.param(
        "PAY-DEL-001",
        "prod",
        lambda s: stateful_resources(s, protect=False),
        r"aws_s3_bucket\.state: has no lifecycle\.prevent_destroy in the production tier",
        id="DEL-001-state-bucket",
    ),
    pytest.param(
        "PAY-DEL-001",
        "prod",
        lambda s: stateful_resources(s, protect=False),
        r"aws_cloudwatch_log_group\.audit: has no lifecycle\.prevent_destroy in the production tier",
        id="DEL-001-log-group",
    ),
    pytest.param(
        "PAY-DEL-001",
        "prod",
        lambda s: stateful_resources(s, database_deletion_protection=False),
        r"aws_rds_cluster\.database: has deletion_protection unset or false in the production tier",
        id="DEL-001-database",
    ),
    pytest.param(
        "PAY-DEL-001",
        "prod",
        lambda s: stateful_resources(s, alb_deletion_protection=False),
        r"aws_lb\.alb: has enable_deletion_protection unset or false in the production tier",
        id="DEL-001-alb",
    ),
    pytest.param(
        "PAY-BAK-001",
        "prod",
        lambda s: backed_up(s, copy=False),
        r"aws_rds_cluster\.database: has no locked, copied backup plan: aws_backup_plan\.plan "
        r"copies no recovery point to a locked vault outside eu-west-1",
        id="BAK-001-no-copy",
    ),
    pytest.param(
        "PAY-BAK-001",
        "prod",
        lambda s: backed_up(s, copy_locked=False),
        r"rule daily copies to aws_backup_vault\.copy-vault, not locked in compliance mode",
        id="BAK-001-copy-unlocked",
    ),
    pytest.param(
        "PAY-BAK-001",
        "prod",
        lambda s: backed_up(s, by_tag=True),
        r"aws_rds_cluster\.database: is selected by ARN in no aws_backup_selection",
        id="BAK-001-by-tag",
    ),
]


def _run_main(monkeypatch, tmp_path, build_unit) -> int:
    """main.main() with the real config but a unit stack instead of the app."""
    import main

    def build(app, environments, defined=None):
        stack = TerraformStack(app, "unit")
        aws.provider.AwsProvider(stack, "aws", region="eu-west-1")
        build_unit(stack)
        register(stack, ctx())

    monkeypatch.setattr("framework.App", lambda: App(outdir=str(tmp_path)))
    monkeypatch.setattr("stacks.app.build", build)
    monkeypatch.setenv("PAYMENT_ENVIRONMENTS", "dev")
    return main.main()
