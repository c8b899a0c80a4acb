"""AWS Backup of the database (issue #28, docs/backup.md, D48): what every
environment's data stack declares, derived from its configuration, and what
no pipeline credential can do to it, read from the policy JSON."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase

import pytest

from config.model import VAULT_LOCK_COMPLIANCE
from config.naming import backup_vault_name, restore_testing_name
from framework.aws import aws
from modules.backup import (
    BACKUP_POLICY,
    PROTECTED_VAULT_ACTIONS,
    RESTORE_POLICY,
    SECURITY_GROUPS_OVERRIDE,
    SUBNET_GROUP_OVERRIDE,
)
from modules.pipeline_roles import NEVER_BY_PIPELINE, NEVER_BY_PIPELINE_IN_PRODUCTION
from tests.conftest import first_production, stack
from tests.synth import synthesize


def ref(resource_type: str, key: str, attribute: str) -> str:
    return f"${{{resource_type}.{key}.{attribute}}}"


def one(stack_, resource_type: str) -> tuple[str, dict]:
    found = list(stack_.resources(resource_type).items())
    assert len(found) == 1, f"{stack_.name}: expected one {resource_type}, found {len(found)}"
    return found[0]


def provider_region(stack_, resource: dict, env) -> str:
    """The region a resource is created in: its aliased provider's, else the
    stack's default provider's."""
    alias = resource.get("provider")
    providers = json.loads(stack_.text)["provider"]["aws"]
    if alias is None:
        return next(p["region"] for p in providers if "alias" not in p)
    return next(p["region"] for p in providers if f"aws.{p.get('alias')}" == alias)


def vaults(stack_, env) -> dict[str, tuple[str, dict]]:
    """region -> (key, vault)."""
    return {
        provider_region(stack_, vault, env): (key, vault)
        for key, vault in stack_.resources("aws_backup_vault").items()
    }


def test_the_database_is_selected_by_arn_never_by_tag(stacks, env):
    data = stack(stacks, env.name, "data")
    cluster_key, _ = one(data, "aws_rds_cluster")
    plan_key, _ = one(data, "aws_backup_plan")
    _, selection = one(data, "aws_backup_selection")
    assert selection["resources"] == [ref("aws_rds_cluster", cluster_key, "arn")]
    assert selection["plan_id"] == ref("aws_backup_plan", plan_key, "id")
    assert "selection_tag" not in selection and "condition" not in selection


def test_continuous_backup_and_daily_points_with_the_configured_retention(stacks, env):
    data = stack(stacks, env.name, "data")
    _, plan = one(data, "aws_backup_plan")
    rules = {rule["rule_name"]: rule for rule in plan["rule"]}
    assert rules["continuous"]["enable_continuous_backup"] is True
    assert rules["continuous"]["lifecycle"]["delete_after"] == env.database.backup_retention_days
    assert rules["daily"]["lifecycle"]["delete_after"] == env.backup.retention_days
    assert not rules["daily"].get("enable_continuous_backup")
    (vault_key, _) = vaults(data, env)[env.region]
    for rule in rules.values():
        assert rule["target_vault_name"] == ref("aws_backup_vault", vault_key, "name")


def test_the_cluster_retention_is_the_plans_and_then_left_to_aws_backup(stacks, env):
    """Provider #33465: with continuous backup AWS Backup owns the cluster's
    retention and RDS refuses any other value. Created with the plan's value,
    then ignored."""
    data = stack(stacks, env.name, "data")
    _, cluster = one(data, "aws_rds_cluster")
    assert cluster["backup_retention_period"] == env.database.backup_retention_days
    assert "backup_retention_period" in cluster["lifecycle"]["ignore_changes"]


def test_vaults_use_their_own_key_in_their_region_and_are_locked_per_tier(stacks, env):
    data = stack(stacks, env.name, "data")
    found = vaults(data, env)
    expected_regions = {env.region} | (
        {env.backup.copy_region} if env.backup.copy_region else set()
    )
    assert set(found) == expected_regions
    keys = data.resources("aws_kms_key")
    locks = {
        lock["backup_vault_name"]: lock
        for lock in data.resources("aws_backup_vault_lock_configuration").values()
    }
    policies = {
        p["backup_vault_name"]: p for p in data.resources("aws_backup_vault_policy").values()
    }
    for region, (key, vault) in found.items():
        assert vault["name"] == backup_vault_name(env)
        assert vault["force_destroy"] is False
        key_ref = re.fullmatch(r"\$\{aws_kms_key\.([^.]+)\.arn\}", vault["kms_key_arn"])
        assert key_ref, vault["kms_key_arn"]
        assert provider_region(data, keys[key_ref.group(1)], env) == region
        name_ref = ref("aws_backup_vault", key, "name")
        lock = locks[name_ref]
        assert lock.get("provider") == vault.get("provider")
        if env.backup.vault_lock_mode == VAULT_LOCK_COMPLIANCE:
            assert lock["changeable_for_days"] == env.backup.lock_changeable_for_days >= 3
        else:
            assert "changeable_for_days" not in lock
        assert lock["min_retention_days"] <= env.backup.retention_days
        assert (
            lock["min_retention_days"] <= env.database.backup_retention_days or region != env.region
        )
        policy = policies[name_ref]
        assert policy.get("provider") == vault.get("provider")
        (statement,) = json.loads(policy["policy"])["Statement"]
        assert statement["Effect"] == "Deny" and statement["Principal"] == {"AWS": "*"}
        assert statement["Resource"] == "*"
        assert set(statement["Action"]) == set(PROTECTED_VAULT_ACTIONS)
        assert all("*" not in action for action in statement["Action"])  # none allowed
        assert statement["Condition"] == {
            "ArnNotLike": {
                "aws:PrincipalArn": f"arn:${{data.aws_partition.partition.partition}}:iam::{data_account(data, env)}:role/{env.access.break_glass_role_name}"
            }
        }
        if env.is_production:
            assert vault["lifecycle"]["prevent_destroy"] is True


def data_account(data, env) -> str:
    return env.account_id or "${data.aws_caller_identity.current.account_id}"


def test_daily_points_are_copied_to_the_copy_region_and_account(stacks, env):
    data = stack(stacks, env.name, "data")
    _, plan = one(data, "aws_backup_plan")
    daily = next(rule for rule in plan["rule"] if rule["rule_name"] == "daily")
    copies = [action["destination_vault_arn"] for action in daily.get("copy_action", [])]
    if env.backup.copy_region is None:
        assert copies == []
        return
    copy_key, _ = vaults(data, env)[env.backup.copy_region]
    assert copies[0] == ref("aws_backup_vault", copy_key, "arn")
    if env.backup.copy_account_id:
        assert copies[1].endswith(
            f":backup:{env.backup.copy_region}:{env.backup.copy_account_id}:"
            f"backup-vault:{backup_vault_name(env)}"
        )
    assert len(copies) == 1 + bool(env.backup.copy_account_id)
    for action in daily["copy_action"]:
        assert action["lifecycle"]["delete_after"] == env.backup.retention_days


def test_the_backup_role_has_the_backup_and_restore_managed_policies(stacks, env):
    data = stack(stacks, env.name, "data")
    role_key, role = next(
        (k, r) for k, r in data.resources("aws_iam_role").items() if k.startswith("backup_")
    )
    trust = json.loads(role["assume_role_policy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "backup.amazonaws.com"}
    attached = {
        a["policy_arn"].split(":policy/")[1]
        for a in data.resources("aws_iam_role_policy_attachment").values()
        if a["role"] == ref("aws_iam_role", role_key, "name")
    }
    assert attached == {BACKUP_POLICY, RESTORE_POLICY}


def test_the_restore_test_restores_into_our_subnets_and_a_closed_group(stacks, env):
    data = stack(stacks, env.name, "data")
    plan_key, plan = one(data, "aws_backup_restore_testing_plan")
    _, selection = one(data, "aws_backup_restore_testing_selection")
    for named in (plan, selection):
        assert re.fullmatch(r"[A-Za-z0-9_]+", named["name"])
        assert named["name"] == restore_testing_name(env)
    assert plan["schedule_expression"] == env.backup.restore_test_schedule
    vault_key, _ = vaults(data, env)[env.region]
    (points,) = plan["recovery_point_selection"]
    assert points["include_vaults"] == [ref("aws_backup_vault", vault_key, "arn")]
    cluster_key, _ = one(data, "aws_rds_cluster")
    assert selection["protected_resource_type"] == "Aurora"
    assert selection["protected_resource_arns"] == [ref("aws_rds_cluster", cluster_key, "arn")]
    assert selection["restore_testing_plan_name"] == ref(
        "aws_backup_restore_testing_plan", plan_key, "name"
    )
    assert selection["validation_window_hours"] == env.backup.restore_test_validation_hours
    subnet_key, _ = one(data, "aws_db_subnet_group")
    overrides = selection["restore_metadata_overrides"]
    assert overrides[SUBNET_GROUP_OVERRIDE] == ref("aws_db_subnet_group", subnet_key, "name")
    (group_ref,) = json.loads(overrides[SECURITY_GROUPS_OVERRIDE])
    group_key = re.fullmatch(r"\$\{aws_security_group\.([^.]+)\.id\}", group_ref).group(1)
    group = data.resources("aws_security_group")[group_key]
    assert group["name"] == f"{env.prefix}-restore-test"
    assert "ingress" not in group
    _, cluster = one(data, "aws_rds_cluster")
    assert group_ref not in cluster["vpc_security_group_ids"]


#: The restore metadata an Aurora restore test may override, spelled as the
#: AWS Backup developer guide's "Restore testing inferred metadata" table
#: spells them (row "Amazon RDS, Aurora, Amazon DocumentDB, Amazon Neptune
#: clusters", column "Overridable metadata"; D60):
#: https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing-inferred-metadata.html
#: AWS Backup passes them to RDS's cluster restore, whose parameters they
#: name ("Restoring an Amazon Aurora cluster",
#: https://docs.aws.amazon.com/aws-backup/latest/devguide/restoring-aur.html).
AURORA_OVERRIDABLE_METADATA = frozenset(
    {
        "availabilityZones",
        "databaseName",
        "dbClusterParameterGroupName",
        "dbSubnetGroupName",
        "enableIAMDatabaseAuthentication",
        "engineMode",
        "engineVersion",
        "kmsKeyId",
        "optionGroupName",
        "port",
        "vpcSecurityGroupIds",
    }
)


def test_every_restore_metadata_override_is_an_aurora_key_spelled_as_documented(stacks, env):
    """The page says keys are not case sensitive; the exact spelling is kept
    anyway, so a key that is not on the page cannot hide behind a case."""
    _, selection = one(stack(stacks, env.name, "data"), "aws_backup_restore_testing_selection")
    overrides = selection["restore_metadata_overrides"]
    assert {SUBNET_GROUP_OVERRIDE, SECURITY_GROUPS_OVERRIDE} <= set(overrides)
    assert set(overrides) <= AURORA_OVERRIDABLE_METADATA, sorted(
        set(overrides) - AURORA_OVERRIDABLE_METADATA
    )
    # A list-valued key takes a JSON array in the string-to-string map.
    assert isinstance(json.loads(overrides[SECURITY_GROUPS_OVERRIDE]), list)


def test_the_documented_aurora_keys_are_rds_cluster_restore_parameters():
    """Each key names a RestoreDBClusterFromSnapshot parameter (botocore's
    RDS model, compared without case: ``dbSubnetGroupName`` is
    ``DBSubnetGroupName``): a misspelt key in the table above fails here."""
    import botocore.session

    rds = botocore.session.get_session().get_service_model("rds")
    members = rds.operation_model("RestoreDBClusterFromSnapshot").input_shape.members
    by_lower = {name.lower(): name for name in members}
    for key in AURORA_OVERRIDABLE_METADATA:
        assert key.lower() in by_lower, key


# What no credential can do -------------------------------------------------


def statements(policy_text: str) -> list[dict]:
    found = json.loads(policy_text)["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def may(policy: list[dict], action: str) -> bool:
    """Whether an identity policy allows ``action`` on some resource: an
    Allow matches (any condition counted as met, the worst case) and no
    unconditional Deny on every resource matches."""

    def matches(statement: dict) -> bool:
        if "NotAction" in statement:
            return not any(
                fnmatchcase(action.lower(), a.lower()) for a in as_list(statement["NotAction"])
            )
        return any(fnmatchcase(action.lower(), a.lower()) for a in as_list(statement["Action"]))

    denied = any(
        s["Effect"] == "Deny" and matches(s) and "Condition" not in s and s.get("Resource") == "*"
        for s in policy
    )
    return not denied and any(s["Effect"] == "Allow" and matches(s) for s in policy)


def pipeline_policies(stacks, env) -> dict[str, list[dict]]:
    bootstrap = stack(stacks, env.name, "bootstrap")
    services = stack(stacks, env.name, "services")
    found = {
        key.split("_")[1].removesuffix("-policy"): statements(p["policy"])
        for key, p in bootstrap.resources("aws_iam_role_policy").items()
        if key.startswith("pipeline_")
    }
    (release,) = [
        statements(p["policy"])
        for key, p in services.resources("aws_iam_role_policy").items()
        if key.startswith("release-role_")
    ]
    found["release"] = release
    return found


def forbidden(env) -> tuple[str, ...]:
    return NEVER_BY_PIPELINE + (NEVER_BY_PIPELINE_IN_PRODUCTION if env.is_production else ())


def test_no_pipeline_role_can_delete_backups_unlock_vaults_or_stop_the_restore_test(stacks, env):
    policies = pipeline_policies(stacks, env)
    assert set(policies) == {"deploy", "plan", "release"}
    for name, policy in policies.items():
        allowed = [action for action in forbidden(env) if may(policy, action)]
        assert allowed == [], f"{env.prefix}-{name} may {allowed}"


def test_the_deploy_role_still_manages_backup_settings(stacks, env):
    """The deny is narrow: plans, selections, vault creation stay the pipeline's."""
    deploy = pipeline_policies(stacks, env)["deploy"]
    for action in (
        "backup:CreateBackupPlan",
        "backup:UpdateBackupPlan",
        "backup:CreateBackupVault",
        "backup:CreateBackupSelection",
        "backup-storage:MountCapsule",
        "backup:CreateRestoreTestingPlan",
    ):
        assert may(deploy, action), action


def test_every_vault_action_the_vault_policy_protects_is_denied_to_the_pipeline():
    assert set(PROTECTED_VAULT_ACTIONS) <= set(NEVER_BY_PIPELINE)


def test_the_evaluator_sees_an_allow_and_a_deny():
    allow = [{"Effect": "Allow", "Action": "backup:*", "Resource": "*"}]
    assert may(allow, "backup:DeleteRecoveryPoint")
    deny = allow + [{"Effect": "Deny", "Action": ["backup:DeleteRecoveryPoint"], "Resource": "*"}]
    assert not may(deny, "backup:DeleteRecoveryPoint")
    assert may(deny, "backup:CreateBackupPlan")


@pytest.mark.parametrize("action", sorted(PROTECTED_VAULT_ACTIONS))
def test_vault_policy_actions_are_real_backup_actions(action):
    assert re.fullmatch(r"backup:[A-Z][A-Za-z]+", action)


# PAY-BAK-001 on the real app -------------------------------------------------


def _unlock_the_vault(env_name):
    """A hurried engineer turns the production vault's lock into governance mode."""

    def prepare(built):
        data = built[env_name].data
        for node in data.node.find_all():
            if isinstance(node, aws.backup_vault_lock_configuration.BackupVaultLockConfiguration):
                node.add_override("changeable_for_days", None)

    return prepare


def _select_by_tag(env_name):
    def prepare(built):
        selection = built[env_name].data.backup.selection
        selection.add_override("resources", None)
        selection.add_override(
            "selection_tag", [{"type": "STRINGEQUALS", "key": "backup", "value": "true"}]
        )

    return prepare


@pytest.mark.parametrize(
    "override, message",
    [
        pytest.param(
            _unlock_the_vault,
            r"\[PAY-BAK-001\] aws_rds_cluster\.\S+: has no locked, copied backup plan: "
            r"aws_backup_plan\.\S+ rule continuous targets aws_backup_vault\.\S+, not locked in "
            r"compliance mode",
            id="unlocked",
        ),
        pytest.param(
            _select_by_tag,
            r"\[PAY-BAK-001\] aws_rds_cluster\.\S+: is selected by ARN in no aws_backup_selection",
            id="by-tag",
        ),
    ],
)
@pytest.mark.app_synthesis  # synthesizes its own variant (D79)
def test_an_override_weakening_the_production_backup_fails_synthesis(
    tmp_path, environments, override, message
):
    production = first_production(environments)
    env = environments[production]
    with pytest.raises(Exception, match=message):
        synthesize([env], tmp_path, prepare=override(production))
    assert not (tmp_path / "stacks" / f"{env.prefix}-data" / "cdk.tf.json").exists()
    assert not (tmp_path / "manifest.json").exists()
