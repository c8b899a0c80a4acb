"""The services tier: ECR, cluster, task definitions, ECS services under the
CODE_DEPLOY controller, CodeDeploy deployment groups, scaling, outputs."""

from __future__ import annotations

import json

import pytest

from config.codedeploy_contract import SERVICE_IGNORED_CHANGES
from config.naming import (
    TRACING_CONTAINER,
    app_container_name,
    capacity_provider_strategy,
    cluster_name,
    codedeploy_application_name,
    deployment_group_name,
    ecr_repository_name,
    ecs_service_name,
    release_tag_prefix,
    task_family,
)
from modules.blue_green_service import database_user
from modules.container_definition import (
    TRACING_IMAGE_REPOSITORY,
    TRACING_IMAGE_VERSION,
    secret_variable,
)
from tests.services_helpers import (
    actions,
    containers,
    find,
    of_service,
    path_of,
    ref,
    resolve,
    resolved_path,
    statements,
)


def _one(resources: dict[str, dict]) -> tuple[str, dict]:
    assert len(resources) == 1, list(resources)
    return next(iter(resources.items()))


# -- ECR -----------------------------------------------------------------------
def test_one_repository_per_service_immutable_scanned_kms(stacks, svc_stack, env):
    repos = svc_stack.resources("aws_ecr_repository")
    assert sorted(r["name"] for r in repos.values()) == sorted(
        ecr_repository_name(env, s) for s in env.services
    )
    for repo in repos.values():
        assert repo["image_tag_mutability"] == "IMMUTABLE"
        assert repo["image_scanning_configuration"] == {"scan_on_push": True}
        (enc,) = repo["encryption_configuration"]
        assert enc["encryption_type"] == "KMS"
        assert resolved_path(stacks, enc["kms_key"], svc_stack.name).endswith(
            "security/data-key/key"
        )


def test_repository_lifecycle_keeps_released_first_then_expires_untagged_and_old_tagged(
    svc_stack, env
):
    """ECR never lets a lower-priority rule expire an image a higher one's
    tag selection matches (ECR user guide, "Lifecycle policy evaluation
    rules"): the top rule selects the release tool's tags, so only it, by
    count, ever expires a released image (containers-roadmap #1078)."""
    policies = svc_stack.resources("aws_ecr_lifecycle_policy")
    assert len(policies) == len(env.services)
    repo_keys = set(svc_stack.resources("aws_ecr_repository"))
    for policy in policies.values():
        assert policy["repository"] in {ref("aws_ecr_repository", k, "name") for k in repo_keys}
        released, untagged, tagged = sorted(
            json.loads(policy["policy"])["rules"], key=lambda r: r["rulePriority"]
        )
        assert released["selection"] == {
            "tagStatus": "tagged",
            "tagPrefixList": [release_tag_prefix(env)],
            "countType": "imageCountMoreThan",
            "countNumber": env.ecr_keep_released_images,
        }
        assert untagged["selection"]["tagStatus"] == "untagged"
        assert untagged["selection"]["countType"] == "sinceImagePushed"
        assert untagged["selection"]["countNumber"] == env.ecr_untagged_expiry_days
        assert tagged["selection"]["tagStatus"] == "tagged"
        assert tagged["selection"]["countType"] == "imageCountMoreThan"
        assert tagged["selection"]["countNumber"] == env.ecr_keep_tagged_images
        assert all(r["action"] == {"type": "expire"} for r in (released, untagged, tagged))


# -- cluster -------------------------------------------------------------------
def test_cluster_insights_capacity_providers_and_audited_exec(stacks, svc_stack, env):
    key, cluster = _one(svc_stack.resources("aws_ecs_cluster"))
    assert cluster["name"] == cluster_name(env)
    assert {"name": "containerInsights", "value": "enhanced"} in cluster["setting"]
    exec_cfg = cluster["configuration"]["execute_command_configuration"]
    assert exec_cfg["logging"] == "OVERRIDE"
    # Session encryption with the logs key: the data key has no direct users.
    assert resolved_path(stacks, exec_cfg["kms_key_id"], svc_stack.name).endswith("logs-key/key")
    log_cfg = exec_cfg["log_configuration"]
    assert log_cfg["cloud_watch_encryption_enabled"] is True
    lg_key, log_group = find(svc_stack, "aws_cloudwatch_log_group", "cluster/exec-log-group")
    assert log_cfg["cloud_watch_log_group_name"] == ref("aws_cloudwatch_log_group", lg_key, "name")
    assert resolved_path(stacks, log_group["kms_key_id"], svc_stack.name).endswith("logs-key/key")
    assert log_group["retention_in_days"] == env.log_retention_days
    providers = svc_stack.only("aws_ecs_cluster_capacity_providers")
    assert providers["cluster_name"] == ref("aws_ecs_cluster", key, "name")
    assert sorted(providers["capacity_providers"]) == ["FARGATE", "FARGATE_SPOT"]


# -- task definitions ------------------------------------------------------------
@pytest.fixture
def task_definitions(svc_stack, env):
    """service name -> (key, task definition)."""
    return {
        s.name: _one(of_service(svc_stack, "aws_ecs_task_definition", s.name)) for s in env.services
    }


def test_task_definitions_fargate_sized_from_config(svc_stack, env, task_definitions):
    for svc in env.services:
        _, td = task_definitions[svc.name]
        assert td["family"] == task_family(env, svc)
        assert td["requires_compatibilities"] == ["FARGATE"]
        assert td["network_mode"] == "awsvpc"
        assert (td["cpu"], td["memory"]) == (str(svc.cpu), str(svc.memory_mib))
        exec_key, _ = find(svc_stack, "aws_iam_role", f"service-{svc.name}/execution-role")
        task_key, _ = find(svc_stack, "aws_iam_role", f"service-{svc.name}/task-role")
        assert td["execution_role_arn"] == ref("aws_iam_role", exec_key, "arn")
        assert td["task_role_arn"] == ref("aws_iam_role", task_key, "arn")
        assert exec_key != task_key


def test_app_container_is_locked_down(svc_stack, env, task_definitions):
    for svc in env.services:
        app = containers(task_definitions[svc.name][1])[app_container_name(svc)]
        assert app["essential"] is True
        assert app["readonlyRootFilesystem"] is True
        assert app["privileged"] is False
        assert app["user"] and not app["user"].startswith(("0", "root"))
        assert app["portMappings"][0]["containerPort"] == svc.port
        assert svc.health_check_path in " ".join(app["healthCheck"]["command"])
        repo_key, _ = find(
            svc_stack, "aws_ecr_repository", f"service-{svc.name}/repository/repository"
        )
        assert (
            app["image"]
            == ref("aws_ecr_repository", repo_key, "repository_url") + f":{svc.image_tag}"
        )


def test_read_only_root_has_writable_tmp_and_exec_agent_dirs(env, task_definitions):
    for svc in env.services:
        _, td = task_definitions[svc.name]
        app = containers(td)[app_container_name(svc)]
        mounts = {m["containerPath"]: m["sourceVolume"] for m in app["mountPoints"]}
        expected = {"/tmp"}
        if svc.enable_execute_command:
            # The ECS Exec agent cannot start on a read-only root otherwise.
            expected |= {"/var/lib/amazon", "/var/log/amazon"}
        assert set(mounts) == expected
        assert sorted(v["name"] for v in td["volume"]) == sorted(mounts.values())
        assert all(m["readOnly"] is False for m in app["mountPoints"])


def test_secrets_are_injected_by_arn_never_as_plain_values(
    stacks, svc_stack, env, task_definitions
):
    for svc in env.services:
        app = containers(task_definitions[svc.name][1])[app_container_name(svc)]
        assert [s["name"] for s in app["secrets"]] == [secret_variable(s) for s in svc.secrets]
        for injected, name in zip(app["secrets"], svc.secrets, strict=True):
            path = resolved_path(stacks, injected["valueFrom"], svc_stack.name)
            assert path.endswith(f"security/secret-{name}/secret")
        plain = {e["name"] for e in app["environment"]}
        assert not plain & {secret_variable(s) for s in env.secrets}
        assert not any("PASSWORD" in n or "SECRET" in n for n in plain)


def test_logs_go_to_an_encrypted_log_group_with_retention(stacks, svc_stack, env, task_definitions):
    for svc in env.services:
        lg_key, log_group = find(
            svc_stack, "aws_cloudwatch_log_group", f"service-{svc.name}/log-group"
        )
        assert log_group["retention_in_days"] == env.log_retention_days
        assert resolved_path(stacks, log_group["kms_key_id"], svc_stack.name).endswith(
            "logs-key/key"
        )
        prefixes = set()
        for container in containers(task_definitions[svc.name][1]).values():
            cfg = container["logConfiguration"]
            assert cfg["logDriver"] == "awslogs"
            assert cfg["options"]["awslogs-group"] == ref(
                "aws_cloudwatch_log_group", lg_key, "name"
            )
            prefixes.add(cfg["options"]["awslogs-stream-prefix"])
        assert len(prefixes) == 2, "app and collector need their own log streams"


def test_tracing_sidecar_is_a_pinned_non_essential_otel_collector(env, task_definitions):
    for svc in env.services:
        defs = containers(task_definitions[svc.name][1])
        assert set(defs) == {app_container_name(svc), TRACING_CONTAINER}
        collector = defs[TRACING_CONTAINER]
        assert collector["essential"] is False
        assert collector["image"].endswith(f"/{TRACING_IMAGE_REPOSITORY}:{TRACING_IMAGE_VERSION}")
        assert TRACING_IMAGE_VERSION.startswith("v") and TRACING_IMAGE_VERSION != "vlatest"
        assert collector["command"] == ["--config=/etc/ecs/ecs-xray.yaml"]
        assert collector["readonlyRootFilesystem"] is True and collector["privileged"] is False
        app = defs[app_container_name(svc)]
        env_vars = {e["name"]: e["value"] for e in app["environment"]}
        assert env_vars["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://localhost:4317"


def test_database_users_get_connection_settings(svc_stack, env, task_definitions):
    for svc in env.services:
        app = containers(task_definitions[svc.name][1])[app_container_name(svc)]
        env_vars = {e["name"]: e["value"] for e in app["environment"]}
        if svc.uses_database:
            assert env_vars["DB_USER"] == database_user(svc)
            assert "payment-" in env_vars["DB_HOST"] and "data" in env_vars["DB_HOST"]
            assert env_vars["DB_NAME"] == env.database.database_name
        else:
            assert not any(k.startswith("DB_") for k in env_vars)


def test_public_collector_image_comes_through_the_pull_through_cache(svc_stack, env):
    rule = svc_stack.only("aws_ecr_pull_through_cache_rule")
    assert rule["upstream_registry_url"] == "public.ecr.aws"
    assert rule["ecr_repository_prefix"] == f"{env.prefix}-public"


# -- IAM -----------------------------------------------------------------------
def _policy(svc_stack, service: str, role: str) -> list[dict]:
    return statements(find(svc_stack, "aws_iam_role_policy", f"service-{service}/{role}-policy")[1])


def test_execution_role_reads_only_its_secrets_and_decrypts_only_their_key(stacks, svc_stack, env):
    for svc in env.services:
        stmts = _policy(svc_stack, svc.name, "execution")
        secret_reads = [s for s in stmts if "secretsmanager:GetSecretValue" in actions(s)]
        read_paths = sorted(
            resolved_path(stacks, s["Resource"], svc_stack.name) for s in secret_reads
        )
        assert read_paths == sorted(
            f"payment-{env.name}-security/secret-{n}/secret" for n in svc.secrets
        )
        decrypts = [s for s in stmts if any(a.startswith("kms:") for a in actions(s))]
        assert len(decrypts) == len(svc.secrets)
        for s in decrypts:
            assert actions(s) == ["kms:Decrypt"]
            assert resolved_path(stacks, s["Resource"], svc_stack.name).endswith("data-key/key")
            assert "kms:ViaService" in s["Condition"]["StringEquals"]
        wildcard = [s for s in stmts if s["Resource"] == "*"]
        assert [actions(s) for s in wildcard] == [["ecr:GetAuthorizationToken"]]


def test_execution_role_pulls_own_repository_and_writes_own_log_group(svc_stack, env):
    for svc in env.services:
        stmts = {s["Sid"]: s for s in _policy(svc_stack, svc.name, "execution")}
        repo_key, _ = find(
            svc_stack, "aws_ecr_repository", f"service-{svc.name}/repository/repository"
        )
        assert stmts["PullOwnImages"]["Resource"] == ref("aws_ecr_repository", repo_key, "arn")
        lg_key, _ = find(svc_stack, "aws_cloudwatch_log_group", f"service-{svc.name}/log-group")
        assert (
            stmts["WriteOwnLogs"]["Resource"]
            == ref("aws_cloudwatch_log_group", lg_key, "arn") + ":*"
        )
        assert stmts["PullCachedPublicImage"]["Resource"].endswith(
            f"repository/{env.prefix}-public/{TRACING_IMAGE_REPOSITORY}"
        )


def test_task_role_permissions_follow_configuration(stacks, svc_stack, env):
    for svc in env.services:
        stmts = _policy(svc_stack, svc.name, "task")
        all_actions = {a for s in stmts for a in actions(s)}
        assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= all_actions
        assert ("ssmmessages:OpenDataChannel" in all_actions) is svc.enable_execute_command
        assert ("rds-db:connect" in all_actions) is svc.uses_database
        if svc.custom_metric is not None:
            (put,) = [s for s in stmts if "cloudwatch:PutMetricData" in actions(s)]
            assert (
                put["Condition"]["StringEquals"]["cloudwatch:namespace"]
                == svc.custom_metric.namespace
            )
        if svc.uses_database:
            (connect,) = [s for s in stmts if actions(s) == ["rds-db:connect"]]
            assert connect["Resource"].endswith(f"/{database_user(svc)}")
        assert not any(a in ("*", "iam:PassRole") or a.endswith(":*") for a in all_actions)


def test_dev_allows_exec_and_prod_does_not(example_environments, environments):
    assert all(s.enable_execute_command for s in example_environments["dev"].services)
    assert not any(s.enable_execute_command for s in example_environments["prod"].services)
    # Whatever the configuration: no shell into a production-tier task.
    for env in environments.values():
        if env.is_production:
            assert not any(s.enable_execute_command for s in env.services), env.name


# -- ECS services ------------------------------------------------------------------
@pytest.fixture
def ecs_services(svc_stack, env):
    return {s.name: _one(of_service(svc_stack, "aws_ecs_service", s.name)) for s in env.services}


def test_every_service_uses_the_code_deploy_controller(svc_stack, env):
    services = list(svc_stack.resources("aws_ecs_service").values())
    assert len(services) == len(env.services)
    for service in services:
        assert service["deployment_controller"] == {"type": "CODE_DEPLOY"}


def test_code_deploy_services_have_no_ecs_deployment_features(stacks, environments):
    """The seed's fatal bug: rolling-update settings on a CodeDeploy service."""
    checked = 0
    for synthesized in stacks.values():
        for service in synthesized.resources("aws_ecs_service").values():
            if service.get("deployment_controller", {}).get("type") != "CODE_DEPLOY":
                continue
            checked += 1
            assert "deployment_circuit_breaker" not in service
            assert "alarms" not in service
            assert "force_new_deployment" not in service
            assert "deployment_configuration" not in service
            ignored = service["lifecycle"]["ignore_changes"]
            assert {"task_definition", "load_balancer"} <= set(ignored)
    assert checked == sum(len(env.services) for env in environments.values())


def test_service_is_wired_for_blue_green(svc_stack, env, ecs_services):
    listener_rule_keys = set(svc_stack.resources("aws_lb_listener_rule"))
    for svc in env.services:
        _, service = ecs_services[svc.name]
        assert service["name"] == ecs_service_name(env, svc)
        assert service["lifecycle"]["ignore_changes"] == list(SERVICE_IGNORED_CHANGES)
        assert service["platform_version"] == svc.platform_version
        blue_key, _ = find(
            svc_stack, "aws_lb_target_group", f"service-{svc.name}/blue-target-group"
        )
        assert service["load_balancer"] == [
            {
                "target_group_arn": ref("aws_lb_target_group", blue_key, "arn"),
                "container_name": app_container_name(svc),
                "container_port": svc.port,
            }
        ]
        prod_key, _ = find(svc_stack, "aws_lb_listener_rule", f"service-{svc.name}/production-rule")
        test_key, _ = find(svc_stack, "aws_lb_listener_rule", f"service-{svc.name}/test-rule")
        (providers_key,) = svc_stack.resources("aws_ecs_cluster_capacity_providers")
        assert sorted(service["depends_on"]) == sorted(
            [
                f"aws_lb_listener_rule.{prod_key}",
                f"aws_lb_listener_rule.{test_key}",
                f"aws_ecs_cluster_capacity_providers.{providers_key}",
            ]
        )
        assert {
            d.split(".")[1] for d in service["depends_on"] if d.startswith("aws_lb_listener_rule.")
        } <= listener_rule_keys
        assert service["desired_count"] == svc.desired_count
        assert service["propagate_tags"] == "SERVICE"
        assert service["health_check_grace_period_seconds"] > 0
        assert service["enable_execute_command"] is svc.enable_execute_command
        assert "launch_type" not in service


def test_service_networking_is_private(stacks, svc_stack, env, ecs_services):
    for svc in env.services:
        _, service = ecs_services[svc.name]
        net = service["network_configuration"]
        assert net["assign_public_ip"] is False
        paths = [resolved_path(stacks, s, svc_stack.name) for s in net["subnets"]]
        assert sorted(p.rsplit("/", 1)[1] for p in paths) == ["private-0", "private-1", "private-2"]
        # Its own group first, then the environment's callers group.
        assert net["security_groups"] == [
            ref("aws_security_group", find(svc_stack, "aws_security_group", path)[0], "id")
            for path in (f"service-{svc.name}/security-group", "service-mesh/security-group")
        ]


def test_capacity_provider_strategy_matches_naming(env, ecs_services):
    for svc in env.services:
        _, service = ecs_services[svc.name]
        expected = [
            {"capacity_provider": i["capacityProvider"], "base": i["base"], "weight": i["weight"]}
            for i in capacity_provider_strategy(svc)
        ]
        assert service["capacity_provider_strategy"] == expected
        assert any(i["capacity_provider"] == "FARGATE_SPOT" for i in expected) is svc.use_spot


def test_services_register_in_cloud_map(stacks, svc_stack, env, ecs_services):
    ns_key, namespace = _one(svc_stack.resources("aws_service_discovery_private_dns_namespace"))
    assert namespace["name"] == f"{env.name}.payment.internal"
    assert resolved_path(stacks, namespace["vpc"], svc_stack.name) == (
        f"payment-{env.name}-network/network/vpc"
    )
    for svc in env.services:
        sd_key, sd = find(
            svc_stack, "aws_service_discovery_service", f"service-{svc.name}/discovery"
        )
        assert sd["name"] == svc.name
        assert sd["dns_config"]["namespace_id"] == ref(
            "aws_service_discovery_private_dns_namespace", ns_key, "id"
        )
        assert sd["dns_config"]["routing_policy"] == "MULTIVALUE"
        assert [r["type"] for r in sd["dns_config"]["dns_records"]] == ["A"]
        assert "health_check_custom_config" in sd
        _, service = ecs_services[svc.name]
        assert service["service_registries"] == {
            "registry_arn": ref("aws_service_discovery_service", sd_key, "arn")
        }


# -- CodeDeploy ----------------------------------------------------------------
def test_codedeploy_application_and_role(svc_stack, env):
    app_key, app = _one(svc_stack.resources("aws_codedeploy_app"))
    assert app == {**app, "name": codedeploy_application_name(env), "compute_platform": "ECS"}
    _, attachment = _one(svc_stack.resources("aws_iam_role_policy_attachment"))
    # The limited policy: hooks only CodeDeployHook_* functions, topics only
    # CodeDeployTopic_*; the unscoped one allows lambda/s3/sns on "*".
    assert (
        attachment["policy_arn"]
        == "arn:${data.aws_partition.partition.partition}:iam::aws:policy/AWSCodeDeployRoleForECSLimited"
    )
    role_key, role = find(svc_stack, "aws_iam_role", "codedeploy/service-role")
    assert json.loads(role["assume_role_policy"])["Statement"][0]["Principal"] == {
        "Service": "codedeploy.amazonaws.com"
    }
    for group in svc_stack.resources("aws_codedeploy_deployment_group").values():
        assert group["app_name"] == ref("aws_codedeploy_app", app_key, "name")
        assert group["service_role_arn"] == ref("aws_iam_role", role_key, "arn")


def test_codedeploy_role_passes_exactly_the_services_roles_to_ecs_tasks(svc_stack, env):
    """The managed policy passes only role/ecsTaskExecutionRole and
    role/ECSTaskExecution*; CreateTaskSet passes each service's task and
    execution roles (PAY-CD-003), and nothing else may be passed."""
    role_key, _ = find(svc_stack, "aws_iam_role", "codedeploy/service-role")
    _, policy = find(svc_stack, "aws_iam_role_policy", "codedeploy/pass-service-roles")
    assert policy["role"] == ref("aws_iam_role", role_key, "id")
    [statement] = statements(policy)
    expected = []
    for svc in env.services:
        for kind in ("task", "execution"):
            key, _ = find(svc_stack, "aws_iam_role", f"service-{svc.name}/{kind}-role")
            expected.append(ref("aws_iam_role", key, "arn"))
    assert statement == {
        "Sid": "PassTheServicesRolesToEcsTasks",
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": expected,
        "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
    }


def test_deployment_groups_are_blue_green_with_traffic_control(svc_stack, env, ecs_services):
    cluster_key, _ = _one(svc_stack.resources("aws_ecs_cluster"))
    for svc in env.services:
        _, group = _one(of_service(svc_stack, "aws_codedeploy_deployment_group", svc.name))
        assert group["deployment_group_name"] == deployment_group_name(env, svc)
        assert group["deployment_config_name"] == env.deployment.config_name
        assert group["deployment_style"] == {
            "deployment_option": "WITH_TRAFFIC_CONTROL",
            "deployment_type": "BLUE_GREEN",
        }
        bg = group["blue_green_deployment_config"]
        assert bg["deployment_ready_option"] == {"action_on_timeout": "CONTINUE_DEPLOYMENT"}
        assert bg["terminate_blue_instances_on_deployment_success"] == {
            "action": "TERMINATE",
            "termination_wait_time_in_minutes": env.deployment.terminate_blue_after_minutes,
        }
        service_key, _ = ecs_services[svc.name]
        assert group["ecs_service"] == {
            "cluster_name": ref("aws_ecs_cluster", cluster_key, "name"),
            "service_name": ref("aws_ecs_service", service_key, "name"),
        }
        rollback = group["auto_rollback_configuration"]
        assert rollback["enabled"] is True and "DEPLOYMENT_FAILURE" in rollback["events"]


def test_every_deployment_group_has_one_production_and_one_test_listener(stacks, environments):
    checked = 0
    for synthesized in stacks.values():
        listeners = synthesized.resources("aws_lb_listener")
        for group in synthesized.resources("aws_codedeploy_deployment_group").values():
            checked += 1
            pair = group["load_balancer_info"]["target_group_pair_info"]
            (prod,) = pair["prod_traffic_route"]["listener_arns"]
            (test,) = pair["test_traffic_route"]["listener_arns"]
            assert prod != test
            prod_listener = listeners[resolve(stacks, prod)[2]]
            test_listener = listeners[resolve(stacks, test)[2]]
            assert path_of(prod_listener).endswith("/production-listener")
            assert path_of(test_listener).endswith("/test-listener")
            assert prod_listener["load_balancer_arn"] == test_listener["load_balancer_arn"]
            assert len(pair["target_group"]) == 2
    assert checked == sum(len(env.services) for env in environments.values())


def test_deployment_group_uses_the_service_target_groups_and_its_alb(svc_stack, env):
    for svc in env.services:
        _, group = _one(of_service(svc_stack, "aws_codedeploy_deployment_group", svc.name))
        pair = group["load_balancer_info"]["target_group_pair_info"]
        expected = [
            ref(
                "aws_lb_target_group",
                find(svc_stack, "aws_lb_target_group", f"service-{svc.name}/{c}-target-group")[0],
                "name",
            )
            for c in ("blue", "green")
        ]
        assert [t["name"] for t in pair["target_group"]] == expected
        alb = "public-alb" if svc.public else "internal-alb"
        prod_key, _ = find(svc_stack, "aws_lb_listener", f"{alb}/production-listener")
        assert pair["prod_traffic_route"]["listener_arns"] == [
            ref("aws_lb_listener", prod_key, "arn")
        ]


def test_rollback_on_alarm_config_is_prod_and_staging(example_environments, environments):
    # The observability tier calls BlueGreenService.rollback_on_alarms when set.
    assert example_environments["prod"].deployment.rollback_on_alarm is True
    assert example_environments["dev"].deployment.rollback_on_alarm is False
    for env in environments.values():
        if env.is_production:
            assert env.deployment.rollback_on_alarm is True, env.name


# -- scaling -------------------------------------------------------------------
def test_autoscaling_target_and_policies(svc_stack, env, ecs_services):
    cluster_key, _ = _one(svc_stack.resources("aws_ecs_cluster"))
    for svc in env.services:
        target_key, target = _one(of_service(svc_stack, "aws_appautoscaling_target", svc.name))
        service_key, _ = ecs_services[svc.name]
        assert (target["min_capacity"], target["max_capacity"]) == (svc.min_count, svc.max_count)
        assert target["scalable_dimension"] == "ecs:service:DesiredCount"
        assert target["resource_id"] == (
            "service/"
            + ref("aws_ecs_cluster", cluster_key, "name")
            + "/"
            + ref("aws_ecs_service", service_key, "name")
        )
        policies = {
            path_of(p).rsplit("/", 1)[1]: p["target_tracking_scaling_policy_configuration"]
            for p in of_service(svc_stack, "aws_appautoscaling_policy", svc.name).values()
        }
        expected_kinds = {"scale-on-cpu", "scale-on-memory", "scale-on-requests"}
        if svc.custom_metric is not None:
            expected_kinds.add("scale-on-custom")
        assert set(policies) == expected_kinds
        assert policies["scale-on-cpu"]["target_value"] == svc.cpu_target_percent
        assert (
            policies["scale-on-cpu"]["predefined_metric_specification"]["predefined_metric_type"]
            == "ECSServiceAverageCPUUtilization"
        )
        assert policies["scale-on-memory"]["target_value"] == svc.memory_target_percent
        assert (
            policies["scale-on-memory"]["predefined_metric_specification"]["predefined_metric_type"]
            == "ECSServiceAverageMemoryUtilization"
        )
        requests = policies["scale-on-requests"]
        assert requests["target_value"] == svc.requests_per_target
        # Both colours' RequestCount per running task (D51; the predefined
        # ALBRequestCountPerTarget names one target group, containers-roadmap
        # #1681). The arithmetic is replayed in tests/test_scaling_metric.py.
        assert "predefined_metric_specification" not in requests
        queries = {q["id"]: q for q in requests["customized_metric_specification"]["metrics"]}
        assert [q["id"] for q in queries.values() if q["return_data"]] == ["per_task"]
        alb = "public-alb" if svc.public else "internal-alb"
        alb_key, _ = find(svc_stack, "aws_lb", f"{alb}/alb")
        for query_id, color in (("r0", "blue"), ("r1", "green")):
            tg_key, _ = find(
                svc_stack, "aws_lb_target_group", f"service-{svc.name}/{color}-target-group"
            )
            stat = queries[query_id]["metric_stat"]
            assert stat["stat"] == "Sum"
            assert stat["metric"]["namespace"] == "AWS/ApplicationELB"
            assert stat["metric"]["metric_name"] == "RequestCount"
            assert stat["metric"]["dimensions"] == [
                {"name": "LoadBalancer", "value": ref("aws_lb", alb_key, "arn_suffix")},
                {"name": "TargetGroup", "value": ref("aws_lb_target_group", tg_key, "arn_suffix")},
            ]
        tasks = queries["tasks"]["metric_stat"]
        assert (tasks["metric"]["namespace"], tasks["metric"]["metric_name"]) == (
            "ECS/ContainerInsights",
            "RunningTaskCount",
        )
        assert [d["name"] for d in tasks["metric"]["dimensions"]] == ["ClusterName", "ServiceName"]
        assert tasks["metric"]["dimensions"][1]["value"] == ref(
            "aws_ecs_service", service_key, "name"
        )
        if svc.custom_metric is not None:
            custom = policies["scale-on-custom"]
            assert custom["target_value"] == svc.custom_metric.target_value
            # The published total per running task (D58; values replayed in
            # tests/test_scaling_metric.py).
            queries = {q["id"]: q for q in custom["customized_metric_specification"]["metrics"]}
            assert queries["backlog"]["metric_stat"] == {
                "stat": svc.custom_metric.statistic,
                "metric": {
                    "namespace": svc.custom_metric.namespace,
                    "metric_name": svc.custom_metric.name,
                    "dimensions": [
                        {
                            "name": "ServiceName",
                            "value": ref("aws_ecs_service", service_key, "name"),
                        }
                    ],
                },
            }
            assert queries["tasks"]["metric_stat"] == tasks
            assert queries["per_task"]["expression"] == "backlog / tasks"
            assert [q["id"] for q in queries.values() if q["return_data"]] == ["per_task"]


# -- outputs -------------------------------------------------------------------
def test_outputs_for_users_and_release_tooling(svc_stack, env):
    outputs = svc_stack.json["output"]
    expected = {
        "cluster_name",
        "codedeploy_application",
        "service_names",
        "deployment_groups",
        "ecr_repository_urls",
        "task_families",
        "release_manifest",
    }
    used = {"public" if s.public else "internal" for s in env.services}
    for kind in ("public", "internal"):
        per_alb = {
            f"{kind}_alb_dns_name",
            f"{kind}_production_listener_arn",
            f"{kind}_test_listener_arn",
        }
        if kind in used:
            expected |= per_alb
        else:
            assert not per_alb & set(outputs), kind
    assert expected <= set(outputs)
    assert set(outputs["task_families"]["value"]) == {s.name for s in env.services}


def test_release_manifest_has_what_the_release_tool_reads(svc_stack, env):
    from release.target import MANIFEST_FIELDS, parse_strategy

    manifest = svc_stack.json["output"]["release_manifest"]["value"]
    assert set(manifest) == {s.name for s in env.services}
    cluster_key, _ = _one(svc_stack.resources("aws_ecs_cluster"))
    for svc in env.services:
        entry = manifest[svc.name]
        assert set(entry) == set(MANIFEST_FIELDS)
        assert entry["cluster"] == ref("aws_ecs_cluster", cluster_key, "name")
        assert entry["container_name"] == app_container_name(svc)
        assert entry["container_port"] == svc.port
        assert entry["capacity_provider_strategy"] == capacity_provider_strategy(svc)
        parse_strategy(entry["capacity_provider_strategy"], "manifest")
        assert entry["platform_version"] == svc.platform_version
        service = svc_stack.resources("aws_ecs_service")[resolve({}, entry["service"])[2]]
        # The AppSpec repeats exactly what the service was created with.
        network = service["network_configuration"]
        assert entry["network_configuration"] == {
            "subnets": network["subnets"],
            "security_groups": network["security_groups"],
            "assign_public_ip": "DISABLED",
        }
        assert network["assign_public_ip"] is False
        for field, rtype in (
            ("service", "aws_ecs_service"),
            ("task_family", "aws_ecs_task_definition"),
            ("deployment_group", "aws_codedeploy_deployment_group"),
            ("ecr_repository_url", "aws_ecr_repository"),
        ):
            key = resolve({}, entry[field])[2]
            assert path_of(svc_stack.resources(rtype)[key]).startswith(
                f"{svc_stack.name}/service-{svc.name}/"
            ), field
