"""Names of deployed things, derived from configuration in one place.

The services tier names its resources with these functions and the release
tool finds them with the same functions (when no stack outputs are given),
so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable

from config.model import EnvironmentConfig, ServiceConfig, baseline_owner

#: Name of the tracing sidecar container in every task definition.
TRACING_CONTAINER = "otel-collector"


def cluster_name(env: EnvironmentConfig) -> str:
    return env.prefix


def ecs_service_name(env: EnvironmentConfig, svc: ServiceConfig) -> str:
    return svc.name


def task_family(env: EnvironmentConfig, svc: ServiceConfig) -> str:
    return f"{env.prefix}-{svc.name}"


def execution_role_name(env: EnvironmentConfig, svc: ServiceConfig) -> str:
    """The role the ECS agent uses for a service: it pulls the image and
    injects the service's secrets. Secret policies name it (security stack)
    before the services stack creates it."""
    return f"{task_family(env, svc)}-execution"


def app_container_name(svc: ServiceConfig) -> str:
    return svc.name


def task_role_name(env: EnvironmentConfig, svc: ServiceConfig) -> str:
    """The role a service's application and sidecar run as (the release role
    may pass it, modules/release_role.py; the data key's policy names it for
    ECS Exec, security stack)."""
    return f"{task_family(env, svc)}-task"


def ecs_role_patterns(env: EnvironmentConfig) -> tuple[str, str]:
    """IAM resource-name patterns matching every service's execution and
    task role of ``env`` (and no other role of its stacks: a test): what
    may be passed only to ECS tasks (D75). Patterns, not one ARN a service,
    keep the deploy policy's size independent of the number of services."""
    family = f"{env.prefix}-*"
    return f"{family}-execution", f"{family}-task"


def release_environment(env_name: str) -> str:
    """The GitHub environment of release jobs for ``env_name``: its own
    subject, so a release job cannot assume the deploy role and a deploy
    job cannot assume the release role (docs/ci.md, "Identities")."""
    return f"{env_name}-release"


def plan_environment(env: EnvironmentConfig) -> str | None:
    """The GitHub environment of the pull-request plan job of a
    production-tier environment, ``<env>-plan`` (``prod-plan``): its plan
    role trusts only that environment's subject, so only a plan a reviewer
    of that environment let run reads the production state (D52, D59).
    None for the other tiers: their plans keep the pull request's subject."""
    return f"{env.name}-plan" if env.is_production else None


def key_configuration_readers(env: EnvironmentConfig) -> tuple[str, ...]:
    """The roles every key policy of ``env`` lets read the key's
    configuration (DescribeKey, GetKeyPolicy, GetKeyRotationStatus,
    ListResourceTags; never its use): the plan role, whose plans refresh
    every key (D57), and the deploy role, whose ``make verify`` step compares
    every key's policy with the synthesized one (``policy.key``, D67). A KMS
    key policy must allow a caller for any access, whatever its IAM policy
    says (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html)."""
    return (env.plan_role, env.deploy_role)


def github_environments(env: EnvironmentConfig) -> tuple[str, ...]:
    """Every GitHub environment whose subject a role of ``env`` trusts:
    deploy (``<env>``), release (``<env>-release``) and, for the production
    tier, plan (``<env>-plan``). ``tools/checks/github_settings.py`` checks them."""
    plan = plan_environment(env)
    return (env.name, release_environment(env.name), *((plan,) if plan else ()))


def release_role_name(env: EnvironmentConfig) -> str:
    """The role the release tool runs as (``python -m release``): the
    bootstrap stack creates it (modules/release_role.py), release.policy
    trusts the revisions it registers and release.session assumes it."""
    return f"{env.prefix}-release"


def service_alarm_prefix(env: EnvironmentConfig, svc: ServiceConfig) -> str:
    """How every alarm of a service begins (the services stack's
    ``ServiceAlarmsProps.name_prefix`` and a hyphen); the release role may
    read alarms with it, and tests/test_pci.py checks that each deployment
    group's rollback alarm has it."""
    return f"{env.prefix}-{svc.name}-"


def load_balancer_alarm_prefix(env: EnvironmentConfig, public: bool) -> str:
    """How the alarms of the public or internal load balancer begin (the
    services stack's ``LoadBalancerAlarmsProps.name_prefix`` and a hyphen);
    a service alone behind its load balancer also rolls back on its ELB 5xx
    rate (docs/decisions.md D44)."""
    return f"{env.prefix}-{'public' if public else 'internal'}-alb-"


def namespace_name(env: EnvironmentConfig) -> str:
    """The Cloud Map namespace of the environment's services (services stack)."""
    return f"{env.name}.payment.internal"


def ecr_repository_name(env: EnvironmentConfig, svc: ServiceConfig) -> str:
    return f"{env.prefix}/{svc.name}"


def codedeploy_application_name(env: EnvironmentConfig) -> str:
    return env.prefix


def alarm_topic_name(env: EnvironmentConfig) -> str:
    """The SNS topic every alarm and deployment failure notifies (services
    stack); the logs key's policy names it (security stack)."""
    return f"{env.prefix}-alarms"


def deployment_group_name(env: EnvironmentConfig, svc: ServiceConfig) -> str:
    return f"{env.prefix}-{svc.name}"


def vpc_name(env: EnvironmentConfig) -> str:
    """``Name`` tag of the environment's VPC."""
    return env.prefix


#: ``tier`` tag of the subnets the service tasks run in.
TASK_SUBNET_TIER = "private"
#: Tasks run in private subnets without public addresses (AppSpec spelling).
TASK_ASSIGN_PUBLIC_IP = "DISABLED"


def task_security_group_name(env: EnvironmentConfig, svc: ServiceConfig) -> str:
    """The security group of one service's tasks."""
    return f"{env.prefix}-{svc.name}-tasks"


def service_mesh_security_group_name(env: EnvironmentConfig) -> str:
    """The security group every service task carries besides its own."""
    return f"{env.prefix}-service-mesh"


#: The ``project`` tag of every resource and the first segment of every
#: state key.
PROJECT = "payment-platform"


def stack_name(env: EnvironmentConfig, part: str) -> str:
    """``payment-<env>-<part>``: a stack's name, also its resources' ``stack`` tag."""
    return f"{env.prefix}-{part}"


def state_key(env: EnvironmentConfig, part: str) -> str:
    """Key of a stack's state object in the environment's state bucket
    (the preflight reads the baseline's to tell its controls from others)."""
    return f"{PROJECT}/{env.name}/{part}.tfstate"


def state_key_alias(env: EnvironmentConfig) -> str:
    """Alias of the KMS key of the environment's Terraform state (bootstrap stack)."""
    return f"alias/{env.prefix}-terraform-state"


def state_access_log_bucket_name(env: EnvironmentConfig) -> str:
    """The bucket recording access to the state bucket (bootstrap stack)."""
    return f"{env.state_bucket}-access-logs"


def alb_access_log_bucket_name(env: EnvironmentConfig, account_id: str) -> str:
    """The load balancers' access-log bucket (services stack, when
    ``load_balancer.access_logs``)."""
    return f"{env.prefix}-alb-access-logs-{account_id}"


def audit_bucket_name(env: EnvironmentConfig, account_id: str) -> str:
    """The CloudTrail bucket of the baseline ``env`` owns."""
    return f"{env.prefix}-audit-{account_id}"


def config_bucket_name(env: EnvironmentConfig, account_id: str) -> str:
    """AWS Config's delivery bucket of the baseline ``env`` owns (AWS Config
    cannot deliver to the Object Lock audit bucket)."""
    return f"{env.prefix}-config-{account_id}"


def bucket_names(env: EnvironmentConfig, account_id: str) -> tuple[str, ...]:
    """Every S3 bucket the stacks of ``env`` may create: the state bucket
    and its access-log bucket, the state's replica where a backup copy
    region is configured (D60), the load balancers' access-log bucket when
    configured, and the audit and AWS Config buckets when this repository
    provides a trail or the AWS Config recorder (which exist only where ``env`` owns its
    account's baseline, D35). The plan role lists them (HeadBucket)."""
    names = [env.state_bucket, state_access_log_bucket_name(env)]
    if env.backup.copy_region:
        names.append(state_replica_bucket_name(env))
    if env.load_balancer.access_logs:
        names.append(alb_access_log_bucket_name(env, account_id))
    if env.security_baseline.builds_trail:
        names.append(audit_bucket_name(env, account_id))
    if env.security_baseline.provided_here("config_recorder"):
        names.append(config_bucket_name(env, account_id))
    return tuple(names)


def secret_name(env: EnvironmentConfig, secret: str) -> str:
    return f"{env.prefix}/{secret}"


def capacity_provider_strategy(svc: ServiceConfig) -> list[dict]:
    """The strategy of a service; the release tool repeats it in each AppSpec
    because CodeDeploy drops it otherwise (containers-roadmap #1752)."""
    strategy = [{"capacityProvider": "FARGATE", "base": svc.on_demand_base, "weight": 1}]
    if svc.use_spot:
        strategy.append({"capacityProvider": "FARGATE_SPOT", "base": 0, "weight": svc.spot_weight})
    return strategy


def key_policy_administrators(env: EnvironmentConfig) -> tuple[str, ...]:
    """Roles (names or IAM ``path/name`` patterns) that every key policy of
    the environment lets change the policy, disable and delete the key,
    besides the account's root user: the break-glass role and the people
    who apply stacks by hand (docs/decisions.md D42, D46, D49). Never the
    deploy role: a merged pull request must not be able to open a key to
    another account or destroy it (D49). Whoever creates a key must be one
    of them (KMS lockout safety check), so a new key or a key-policy change
    is a person's apply."""
    return (
        env.access.break_glass_role_name,
        *env.access.key_policy_administrator_role_patterns,
    )


#: The parts of an environment's stacks (``payment-<env>-<part>``), one word
#: each: environment names may contain hyphens (``stack_part``).
BOOTSTRAP_PART = "bootstrap"
BASELINE_PART = "baseline"
SECURITY_PART = "security"
NETWORK_PART = "network"
DATA_PART = "data"
SERVICES_PART = "services"
#: The stacks (``payment-<env>-<part>``) the deploy workflow applies with the
#: deploy role; the bootstrap and baseline stacks are a person's (D42, D49).
PIPELINE_APPLIED_PARTS = (SECURITY_PART, NETWORK_PART, DATA_PART, SERVICES_PART)


def builds_baseline(env: EnvironmentConfig, defined: Iterable[EnvironmentConfig]) -> bool:
    """Whether ``env`` has a baseline stack: this repository provides any
    control of its account's baseline and ``env`` deploys it (``defined``:
    every configured environment, whatever is selected)."""
    return env.security_baseline.builds_anything and baseline_owner(env, defined) == env.name


def stack_names(
    environments: Iterable[EnvironmentConfig], defined: Iterable[EnvironmentConfig]
) -> tuple[str, ...]:
    """Every stack main.py synthesizes for ``environments``, in build order:
    bootstrap, the baseline where the environment deploys it, then the
    pipeline's (stacks/app.py builds exactly these)."""
    defined = tuple(defined)
    return tuple(
        stack_name(env, part)
        for env in environments
        for part in (
            BOOTSTRAP_PART,
            *((BASELINE_PART,) if builds_baseline(env, defined) else ()),
            *PIPELINE_APPLIED_PARTS,
        )
    )


def card_data_findings_log_group(stack_name: str) -> str:
    """The log group a stack's data protection policies send their card-data
    audit findings to (``protect_card_data``): one per stack, so that it
    exists before the stack's policies whoever applies the stack."""
    return f"/{PROJECT}/{stack_name}/card-data-findings"


def stack_part(stack_name: str) -> str:
    """``services`` of ``payment-dev-eu-services``: parts are one word."""
    return stack_name.rsplit("-", 1)[-1]


def permissions_boundary_name(env: EnvironmentConfig) -> str:
    """The managed policy (bootstrap stack) every role the pipeline-applied
    stacks create carries as its permissions boundary; the deploy role may
    create and change roles only with it (D49)."""
    return f"{env.prefix}-workload-boundary"


def release_tag_prefix(env: EnvironmentConfig) -> str:
    """Prefix of the tag the release tool adds to every image it deploys;
    the repositories' top lifecycle rule keeps the newest
    ``ecr_keep_released_images`` images carrying it (docs/decisions.md D46)."""
    return f"release-{env.name}-"


def release_tag(env: EnvironmentConfig, revision: int) -> str:
    """The tag of the image a release deploys with task definition revision
    ``revision``: unique in the service's repository (one family per
    repository), so immutable tags accept it."""
    return f"{release_tag_prefix(env)}{revision}"


def backup_vault_name(env: EnvironmentConfig) -> str:
    """The database's backup vault, the same name in the copy region (and in
    the copy account, which creates its own: docs/backup.md)."""
    return f"{env.prefix}-database"


def restore_testing_name(env: EnvironmentConfig) -> str:
    """Restore testing plan and selection names allow only letters, digits
    and underscores (AWS Backup CreateRestoreTestingPlan)."""
    return f"{env.prefix}-database".replace("-", "_")


#: The word that names the baseline's security alerts: its topic
#: ``<owner prefix>-security-alerts`` and rules
#: ``<owner prefix>-security-alerts-<kind>`` (modules/security_alerts.py).
SECURITY_ALERTS = "security-alerts"


def security_alerts_name(owner: EnvironmentConfig) -> str:
    """The security alert topic (and its key's alias) of the baseline
    ``owner`` deploys; its rules are named ``<this>-<kind>``."""
    return f"{owner.prefix}-{SECURITY_ALERTS}"


def security_alert_patterns() -> tuple[str, str]:
    """IAM resource-name patterns (rule, topic) matching the alert rules and
    topic of any environment's baseline: every environment of an account
    (not only the owner) is denied changing them (D52)."""
    return f"payment-*-{SECURITY_ALERTS}-*", f"payment-*-{SECURITY_ALERTS}"


def access_analyzer_name(owner: EnvironmentConfig) -> str:
    """The external access analyzer the baseline ``owner`` deploys (D66)."""
    return f"{owner.prefix}-external-access"


def github_trusted_role_names(env: EnvironmentConfig) -> tuple[str, ...]:
    """The roles of ``env`` whose trust names GitHub's OIDC provider: plan
    and deploy (bootstrap stack), release (services stack). The baseline's
    analyzer archives exactly their findings for that provider (D66)."""
    return (env.plan_role, env.deploy_role, release_role_name(env))


def github_trust_archive_rule_name(env: EnvironmentConfig) -> str:
    """The archive rule of the baseline's analyzer that archives the findings
    of ``github_trusted_role_names(env)`` for GitHub's provider (D66)."""
    return f"{env.prefix}-github-oidc-roles"


#: CodeDeploy's service role (AWSCodeDeployRoleForECSLimited) invokes only
#: hook functions whose name starts with this (FIELD_NOTES §4).
HOOK_FUNCTION_PREFIX = "CodeDeployHook_"


def release_guard_name(env: EnvironmentConfig) -> str:
    """The release check (D55): its role, log group suffix and rules."""
    return f"{env.prefix}-release-guard"


def release_guard_function_name(env: EnvironmentConfig) -> str:
    """The release check's Lambda function, a ``CodeDeployHook_*`` name so
    that CodeDeploy's Limited role may invoke it on ``BeforeInstall``."""
    return f"{HOOK_FUNCTION_PREFIX}{release_guard_name(env)}"


def backup_alerts_name(env: EnvironmentConfig) -> str:
    """The rules that send failed backup, copy and restore-test jobs to the
    alarm topic (D60) are named ``<this>-<kind>``."""
    return f"{env.prefix}-backup-alerts"


def restore_validator_name(env: EnvironmentConfig) -> str:
    """The restore test's validator (D60): its function, role, log group
    suffix and rule."""
    return f"{env.prefix}-restore-validator"


def restore_test_instance_prefix(env: EnvironmentConfig) -> str:
    """The restore validator's test instances (D76) are named this and the
    restore job's id: its rule, role and handler match this prefix alone."""
    return f"{env.prefix}-restore-test-"


def state_replica_bucket_name(env: EnvironmentConfig) -> str:
    """The state bucket's replica in the backup copy region (D60)."""
    return f"{env.state_bucket}-replica"


def state_replication_role_name(env: EnvironmentConfig) -> str:
    """The role S3 replicates the state bucket as (D60)."""
    return f"{env.prefix}-state-replication"
