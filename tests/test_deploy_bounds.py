"""The deploy role cannot become the attacker (issue #25, docs/decisions.md
D49): roles only with the boundary and allowed managed policies, never the
pipeline's identities, the boundary or the release role's trust, no key
policies, no audit tampering, no unmasking or secret values; every role of
the stacks it applies is bounded, and the boundary holds what they call.
Evaluated over the synthesized policies with verify/iam_eval.py."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase

import pytest

from config.naming import (
    PIPELINE_APPLIED_PARTS,
    backup_alerts_name,
    ecs_role_patterns,
    execution_role_name,
    permissions_boundary_name,
    release_guard_function_name,
    release_guard_name,
    release_role_name,
    restore_validator_name,
    stack_part,
    task_role_name,
)
from modules.pipeline_roles import (
    ATTACHABLE_MANAGED_POLICIES,
    AUDIT_TAMPERING_ACTIONS,
    BASELINE_SERVICES,
    ECS_TASKS_SERVICE,
    NEVER_ACT_AS_ANOTHER_ROLE,
    NEVER_START_TASKS,
    service_of,
)
from tests.helpers import PARTITION, account_of, iam_arn, inline_policy
from verify.iam_eval import allowed, as_list, denied


@pytest.fixture
def deploy(stacks, environments, env_name):
    env = environments[env_name]
    return env, inline_policy(stacks[f"{env.prefix}-bootstrap"], "deploy")


def boundary_of(stacks, env) -> list[dict]:
    [policy] = stacks[f"{env.prefix}-bootstrap"].resources("aws_iam_policy").values()
    assert policy["name"] == permissions_boundary_name(env)
    return json.loads(policy["policy"])["Statement"]


def pipeline_stacks(stacks, env):
    return [
        s
        for name, s in stacks.items()
        if name.startswith(f"{env.prefix}-") and stack_part(name) in PIPELINE_APPLIED_PARTS
    ]


def test_roles_are_created_and_changed_only_with_the_boundary(deploy):
    env, statements = deploy
    role = iam_arn(env, "role", f"{env.prefix}-anything")
    boundary = iam_arn(env, "policy", permissions_boundary_name(env))
    other = iam_arn(env, "policy", "AdministratorAccess")
    for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"):
        assert allowed(statements, action, role, **{"iam:PermissionsBoundary": boundary})
        assert not allowed(statements, action, role), f"{action} without a boundary"
        assert not allowed(statements, action, role, **{"iam:PermissionsBoundary": other})
    assert not allowed(statements, "iam:DeleteRolePermissionsBoundary", role)
    # Roles outside the environment's prefix: never.
    outside = iam_arn(env, "role", "Admin")
    assert not allowed(
        statements, "iam:CreateRole", outside, **{"iam:PermissionsBoundary": boundary}
    )


def test_only_allowed_managed_policies_are_attached(deploy):
    env, statements = deploy
    role = iam_arn(env, "role", f"{env.prefix}-anything")
    boundary = {"iam:PermissionsBoundary": iam_arn(env, "policy", permissions_boundary_name(env))}
    for name in ATTACHABLE_MANAGED_POLICIES:
        policy = f"arn:{PARTITION}:iam::aws:policy/{name}"
        assert allowed(
            statements, "iam:AttachRolePolicy", role, **boundary, **{"iam:PolicyARN": policy}
        )
        assert not allowed(statements, "iam:AttachRolePolicy", role, **{"iam:PolicyARN": policy})
    admin = f"arn:{PARTITION}:iam::aws:policy/AdministratorAccess"
    assert not allowed(
        statements, "iam:AttachRolePolicy", role, **boundary, **{"iam:PolicyARN": admin}
    )


def test_the_boundary_the_pipeline_and_the_release_trust_are_out_of_reach(deploy):
    env, statements = deploy
    boundary_arn = iam_arn(env, "policy", permissions_boundary_name(env))
    context = {"iam:PermissionsBoundary": boundary_arn}
    for target in (env.plan_role, env.deploy_role):
        for action in ("iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:DeleteRole"):
            assert not allowed(statements, action, iam_arn(env, "role", target), **context)
    for action in ("iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:SetDefaultPolicyVersion"):
        assert not allowed(statements, action, boundary_arn)
    release = iam_arn(env, "role", release_role_name(env))
    for action in ("iam:UpdateAssumeRolePolicy", "iam:DeleteRole", "iam:CreateRole"):
        assert not allowed(statements, action, release, **context), action
    # Its permissions follow the services (inside the boundary).
    assert allowed(statements, "iam:PutRolePolicy", release, **context)


def test_no_key_policy_tampering_unmasking_or_secret_values(deploy):
    env, statements = deploy
    denied = [f"{svc}:{a}" for svc, actions in AUDIT_TAMPERING_ACTIONS.items() for a in actions]
    denied += [
        "kms:CreateKey",
        "logs:Unmask",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecret",
        "secretsmanager:GetSecretValue",
        "rds:ModifyDBClusterSnapshotAttribute",
    ]
    for action in denied:
        assert not allowed(statements, action, "*", **{"aws:RequestedRegion": env.region}), action
    # What the stacks it applies need stays allowed.
    for action in ("ecs:UpdateService", "rds:ModifyDBCluster", "kms:TagResource"):
        assert allowed(statements, action, "*", **{"aws:RequestedRegion": env.region}), action


def test_the_people_s_buckets_cannot_be_reconfigured(deploy):
    env, statements = deploy
    region = {"aws:RequestedRegion": env.region}
    for bucket in (env.state_bucket, f"{env.prefix}-audit-{account_of(env)}"):
        arn = f"arn:{PARTITION}:s3:::{bucket}"
        for action in ("s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:DeleteBucket"):
            assert not allowed(statements, action, arn, **region), (bucket, action)
    # State objects stay writable (Terraform's state).
    assert allowed(
        statements, "s3:PutObject", f"arn:{PARTITION}:s3:::{env.state_bucket}/x", **region
    )


def test_the_deploy_role_writes_no_baseline_service(deploy):
    env, statements = deploy
    for svc in BASELINE_SERVICES:
        assert not allowed(
            statements, f"{svc}:CreateAnything", "*", **{"aws:RequestedRegion": env.region}
        )


def test_no_stack_the_pipeline_applies_declares_a_baseline_service(stacks, environments):
    for env in environments.values():
        for stack in pipeline_stacks(stacks, env):
            for tf_type in stack.json.get("resource", {}):
                assert service_of(tf_type) not in BASELINE_SERVICES, (stack.name, tf_type)


def test_every_role_the_pipeline_applies_is_bounded_and_attaches_only_allowed_policies(
    stacks, environments
):
    checked = 0
    for env in environments.values():
        boundary = iam_arn(env, "policy", permissions_boundary_name(env))
        attachable = {f"arn:{PARTITION}:iam::aws:policy/{n}" for n in ATTACHABLE_MANAGED_POLICIES}
        for stack in pipeline_stacks(stacks, env):
            for address, role in stack.resources("aws_iam_role").items():
                assert role.get("permissions_boundary") == boundary, (stack.name, address)
                checked += 1
            for address, attached in stack.resources("aws_iam_role_policy_attachment").items():
                assert attached["policy_arn"] in attachable, (stack.name, address)
    assert checked


def test_the_boundary_holds_every_action_of_the_bounded_roles(stacks, environments):
    """A role whose policy calls outside the boundary would fail at run
    time, not at apply: every action must be inside."""
    for env in environments.values():
        boundary = boundary_of(stacks, env)
        for stack in pipeline_stacks(stacks, env):
            for address, policy in stack.resources("aws_iam_role_policy").items():
                for statement in json.loads(policy["policy"])["Statement"]:
                    if statement["Effect"] != "Allow":
                        continue
                    for action in as_list(statement["Action"]):
                        assert allowed(boundary, action.replace("*", "Any")), (
                            stack.name,
                            address,
                            action,
                        )


def test_the_boundary_refuses_escalation_and_tampering(stacks, environments, env_name):
    boundary = boundary_of(stacks, environments[env_name])
    for action in (
        "iam:CreateRole",
        "iam:AttachRolePolicy",
        "iam:PutRolePolicy",
        "iam:UpdateAssumeRolePolicy",
        "kms:PutKeyPolicy",
        "kms:CreateGrant",
        "cloudtrail:StopLogging",
        "logs:Unmask",
        "secretsmanager:PutSecretValue",
        "organizations:LeaveOrganization",
        "dynamodb:Scan",
    ):
        assert not allowed(boundary, action), action
    assert allowed(boundary, "iam:PassRole")
    # A grant for an AWS service acting for the role (AWS Backup copying a
    # recovery point, RDS) stays possible; one of the role's choosing does not.
    assert allowed(boundary, "kms:CreateGrant", **{"kms:GrantIsForAWSResource": "true"})
    assert not allowed(boundary, "kms:CreateGrant", **{"kms:GrantIsForAWSResource": "false"})
    # What the AWS Backup service role's managed policies do for the cluster.
    for action in ("backup:StartBackupJob", "rds:CopyDBClusterSnapshot", "tag:GetResources"):
        assert allowed(boundary, action), action


def key_statements(stacks, env):
    for name, stack in stacks.items():
        if name.startswith(f"{env.prefix}-"):
            for address, key in stack.resources("aws_kms_key").items():
                yield name, address, json.loads(key["policy"])["Statement"]


def test_no_key_lets_the_deploy_role_change_its_policy_or_end_it(stacks, environments, env_name):
    env = environments[env_name]
    deploy_arn = iam_arn(env, "role", env.deploy_role)
    root = f"arn:{PARTITION}:iam::{account_of(env)}:root"
    found = 0
    for name, address, statements in key_statements(stacks, env):
        for action in (
            "kms:PutKeyPolicy",
            "kms:ScheduleKeyDeletion",
            "kms:DisableKey",
            "kms:CancelKeyDeletion",
        ):
            assert not allowed(statements, action, **{"aws:PrincipalArn": deploy_arn}), (
                name,
                address,
                action,
            )
        if stack_part(name) in PIPELINE_APPLIED_PARTS:
            # Terraform refreshes and tags the keys of the stacks it applies.
            for action in ("kms:DescribeKey", "kms:GetKeyPolicy", "kms:TagResource"):
                assert allowed(statements, action, **{"aws:PrincipalArn": deploy_arn}), action
        # Nobody, root included, schedules a deletion under 30 days.
        for principal in (root, iam_arn(env, "role", env.access.break_glass_role_name)):
            short = {"aws:PrincipalArn": principal, "kms:ScheduleKeyDeletionPendingWindowInDays": 7}
            assert not allowed(statements, "kms:ScheduleKeyDeletion", **short)
            full = {**short, "kms:ScheduleKeyDeletionPendingWindowInDays": 30}
            assert allowed(statements, "kms:ScheduleKeyDeletion", **full), (name, address)
        found += 1
    assert found


# D75: the deploy role may rewrite a workload role's trust
# (iam:UpdateAssumeRolePolicy takes no condition on the document), and in
# one account a trust naming the caller's ARN is enough for AssumeRole
# without any Allow in the caller's policy (IAM user guide, "Policy
# evaluation logic":
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
# So only an explicit Deny protects: `denied`, not `allowed`, is the test.
# STS actions: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html


def ecs_roles(env) -> list[str]:
    return [
        iam_arn(env, "role", name(env, svc))
        for svc in env.services
        for name in (execution_role_name, task_role_name)
    ]


def test_the_deploy_role_cannot_act_as_a_role_whose_trust_it_rewrote(deploy):
    env, statements = deploy
    context = {"iam:PermissionsBoundary": iam_arn(env, "policy", permissions_boundary_name(env))}
    for role in ecs_roles(env):
        # The rewrite itself stays possible (Terraform manages the trusts) ...
        assert allowed(statements, "iam:UpdateAssumeRolePolicy", role, **context)
        # ... but no session of the deploy role may then assume the role.
        for action in NEVER_ACT_AS_ANOTHER_ROLE:
            assert denied(statements, action, role), (role, action)
    for action in NEVER_ACT_AS_ANOTHER_ROLE:
        assert denied(statements, action, iam_arn(env, "role", "any-role-of-the-account"))


def test_no_role_the_deploy_role_creates_can_act_as_another(stacks, environments, env_name):
    """A bounded role of the pipeline's making (a Lambda function's) must not
    do what the deploy role may not: the boundary denies the same."""
    env = environments[env_name]
    boundary = boundary_of(stacks, env)
    for role in ecs_roles(env):
        for action in NEVER_ACT_AS_ANOTHER_ROLE:
            assert denied(boundary, action, role), (role, action)
    for action in NEVER_START_TASKS:
        assert not allowed(boundary, action), action
    # sts stays in the boundary for what needs no role (GetCallerIdentity).
    assert allowed(boundary, "sts:GetCallerIdentity")


def test_the_services_roles_are_passed_to_ecs_tasks_only(stacks, deploy):
    """iam:PassedToService (IAM condition keys:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#ck_PassedToService):
    an execution role re-trusted to Lambda cannot become a function's role."""
    env, statements = deploy
    boundary = boundary_of(stacks, env)
    for policy in (statements, boundary):
        for role in ecs_roles(env):
            passed = {"iam:PassedToService": ECS_TASKS_SERVICE}
            assert allowed(policy, "iam:PassRole", role, **passed), role
            for service in ("lambda.amazonaws.com", "ec2.amazonaws.com", "events.amazonaws.com"):
                passed = {"iam:PassedToService": service}
                assert not allowed(policy, "iam:PassRole", role, **passed), (role, service)
    # Other roles of the environment keep going to their services.
    other = iam_arn(env, "role", release_guard_name(env))
    assert allowed(
        statements, "iam:PassRole", other, **{"iam:PassedToService": "lambda.amazonaws.com"}
    )


def test_no_task_is_started_or_entered_outside_a_service(deploy):
    """Service Authorization Reference, Amazon ECS:
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html."""
    env, statements = deploy
    region = {"aws:RequestedRegion": env.region}
    for action in NEVER_START_TASKS:
        assert not allowed(statements, action, "*", **region), action
    # What Terraform calls for a service stays allowed.
    for action in ("ecs:RegisterTaskDefinition", "ecs:CreateService", "ecs:UpdateService"):
        assert allowed(statements, action, "*", **region), action


#: Where a Terraform configuration could make the provider or backend assume
#: a role (provider and S3 backend arguments ``assume_role``,
#: ``assume_role_with_web_identity``, ``role_arn``).
ASSUMING_KEYS = {"assume_role", "assume_role_with_web_identity", "role_arn"}


def keys_in(value) -> set[str]:
    if isinstance(value, dict):
        return set(value).union(*(keys_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_in(v) for v in value))
    return set()


def test_terraform_with_the_deploy_role_assumes_no_role_and_runs_no_task(stacks, environments):
    """The deny on sts:AssumeRole breaks nothing: no provider (aliases for a
    copy region included), backend or remote state of the stacks the deploy
    role applies assumes a role; and the provider's only RunTask call, the
    ``aws_ecs_task_execution`` data source
    (internal/service/ecs/task_execution_data_source.go), is declared nowhere."""
    for env in environments.values():
        for stack in pipeline_stacks(stacks, env):
            where = {
                "provider": stack.json.get("provider", {}),
                "terraform": stack.json.get("terraform", {}),
                "remote_state": stack.json.get("data", {}).get("terraform_remote_state", {}),
            }
            for part, value in where.items():
                assert not keys_in(value) & ASSUMING_KEYS, (stack.name, part)
            assert "aws_ecs_task_execution" not in stack.json.get("data", {}), stack.name


def test_the_ecs_role_patterns_name_exactly_the_roles_ecs_tasks_assume(stacks, environments):
    """``ecs_role_patterns`` keeps the deny one size for any number of
    services: it must match every execution and task role and no role of
    another service (whose PassRole it would otherwise refuse)."""
    for env in environments.values():
        patterns = ecs_role_patterns(env)
        expected = {
            name(env, svc) for svc in env.services for name in (execution_role_name, task_role_name)
        }
        matched = set()
        for stack in pipeline_stacks(stacks, env):
            for address, role in stack.resources("aws_iam_role").items():
                if any(fnmatchcase(role["name"], p) for p in patterns):
                    matched.add(role["name"])
                    trust = json.loads(role["assume_role_policy"])["Statement"]
                    services = {
                        s for st in trust for s in as_list(st["Principal"].get("Service", []))
                    }
                    assert services == {ECS_TASKS_SERVICE}, (stack.name, address)
        assert matched == expected, env.name


def test_the_restore_and_release_checks_cannot_be_turned_off_invoked_or_exposed(stacks, deploy):
    """D75: what Terraform never calls on them is denied to the deploy role
    and the boundary (Service Authorization Reference, AWS Lambda and
    EventBridge:
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html,
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html);
    what it calls stays allowed, and alerts (tests/test_security_alerts.py)."""
    env, statements = deploy
    boundary = boundary_of(stacks, env)
    region = {"aws:RequestedRegion": env.region}
    account = account_of(env)
    lambda_arn = f"arn:{PARTITION}:lambda:{env.region}:{account}:function:"
    validator = f"{lambda_arn}{restore_validator_name(env)}"
    guard = f"{lambda_arn}{release_guard_function_name(env)}"
    rules = [
        f"arn:{PARTITION}:events:{env.region}:{account}:rule/{name}"
        for name in (
            restore_validator_name(env),
            f"{release_guard_name(env)}-deployments",
            f"{backup_alerts_name(env)}-restore",
        )
    ]
    for policy, context in ((statements, region), (boundary, {})):
        for action in ("lambda:InvokeFunction", "lambda:InvokeAsync"):
            for resource in (validator, f"{validator}:1"):
                assert not allowed(policy, action, resource, **context), (action, resource)
        for function in (validator, guard):
            for action in ("lambda:CreateFunctionUrlConfig", "lambda:UpdateFunctionUrlConfig"):
                assert not allowed(policy, action, function, **context), (action, function)
        for rule in rules:
            assert not allowed(policy, "events:DisableRule", rule, **context), rule
    # CodeDeploy's role (bounded) invokes the release check on BeforeInstall.
    assert allowed(boundary, "lambda:InvokeFunction", guard)
    # Terraform's own calls on them stay the deploy role's: the residual
    # risk of D75, alerted by the baseline.
    for action in ("lambda:UpdateFunctionCode", "lambda:AddPermission"):
        assert allowed(statements, action, validator, **region), action
    for action in ("events:PutRule", "events:PutTargets", "events:RemoveTargets"):
        assert allowed(statements, action, rules[0], **region), action


def test_no_stack_the_pipeline_applies_declares_a_function_url_or_an_invocation(
    stacks, environments
):
    """The denies above break nothing Terraform does."""
    for env in environments.values():
        for stack in pipeline_stacks(stacks, env):
            declared = set(stack.json.get("resource", {})) | set(stack.json.get("data", {}))
            assert not declared & {"aws_lambda_function_url", "aws_lambda_invocation"}, stack.name
