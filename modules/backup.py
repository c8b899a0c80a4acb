"""AWS Backup for the Aurora cluster: a locked vault with a CMK, continuous
backup (point-in-time) and daily recovery points copied to a locked vault in
a second region, a selection by ARN, and a scheduled restore test
(docs/backup.md, docs/decisions.md D48).

Aurora recovery points stay encrypted with the cluster's own key (the data
key), not the vault's (AWS Backup developer guide, "Encryption for backups
in AWS Backup"); the copy in the other region is encrypted with the copy
vault's key there. Who may delete which key: docs/backup.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from framework import Construct, TerraformResourceLifecycle
from framework.aws import aws
from modules import iam
from modules.database import AuroraDatabase
from modules.kms import ManagedKey

#: AWS managed policies of the AWS Backup service role (AWS Managed Policy
#: Reference Guide, "AWSBackupServiceRolePolicyForBackup" and
#: "AWSBackupServiceRolePolicyForRestores":
#: https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSBackupServiceRolePolicyForBackup.html,
#: https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSBackupServiceRolePolicyForRestores.html).
BACKUP_POLICY = "service-role/AWSBackupServiceRolePolicyForBackup"
RESTORE_POLICY = "service-role/AWSBackupServiceRolePolicyForRestores"
COMPLIANCE = "compliance"
#: Vault access policies take no wildcard in ``Action`` (AWS Backup developer
#: guide, "Vault access policies"). Denied to every principal but the break-
#: glass role: deleting or shortening recovery points, stopping continuous
#: backup, and changing the vault, its lock or this policy. The AWS Config
#: rule backup-recovery-point-manual-deletion-disabled checks the first three.
PROTECTED_VAULT_ACTIONS = (
    "backup:DeleteRecoveryPoint",
    "backup:UpdateRecoveryPointLifecycle",
    "backup:DisassociateRecoveryPoint",
    "backup:DisassociateRecoveryPointFromParent",
    "backup:PutBackupVaultAccessPolicy",
    "backup:DeleteBackupVaultAccessPolicy",
    "backup:PutBackupVaultLockConfiguration",
    "backup:DeleteBackupVaultLockConfiguration",
    "backup:DeleteBackupVault",
)
#: The keys AWS Backup reads from a restore test's overrides for an Aurora
#: cluster (AWS Backup developer guide, "Restore testing inferred metadata";
#: key names are not case sensitive). Without them the restore lands in the
#: default VPC, or fails where there is none.
SUBNET_GROUP_OVERRIDE = "dbSubnetGroupName"
SECURITY_GROUPS_OVERRIDE = "vpcSecurityGroupIds"
#: Daily recovery points at 03:00 UTC, after the cluster's backup window.
DAILY_SCHEDULE = "cron(0 3 * * ? *)"


def vault_policy(vault_arn: str, break_glass_role_arn: str) -> list[dict]:
    """The vault access policy: nobody but the break-glass role may delete a
    recovery point or change the vault's lock, policy or existence."""
    return [
        {
            "Sid": "OnlyBreakGlassDeletesOrUnlocks",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": list(PROTECTED_VAULT_ACTIONS),
            "Resource": "*",
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": break_glass_role_arn}},
        }
    ]


@dataclass(frozen=True, kw_only=True)
class DatabaseBackupProps:
    """Inputs of ``DatabaseBackup``.

    ``name``: prefix of every name (``payment-<env>``). ``vault_name``: the
    vault's name here and in the copy region. ``restore_testing_name``: the
    restore testing plan and selection (letters, digits, underscores).
    ``database``: the cluster to protect (selected by ARN).
    ``vault_key``: encrypts the vault (the cluster's recovery points keep the
    cluster's key). ``continuous_retention_days``: point-in-time window
    (1-35); ``daily_retention_days``: daily recovery points and their copies.
    ``lock_mode``: ``compliance`` or ``governance``;
    ``lock_changeable_for_days``: compliance's grace time.
    ``break_glass_role_arn``: the one principal the vault policies let delete
    recovery points or change a lock. ``partition``: for the managed
    policies' ARNs. ``account_id``: binds the service role's trust.
    """

    name: str
    vault_name: str
    restore_testing_name: str
    database: AuroraDatabase
    vault_key: ManagedKey
    partition: str
    account_id: str | None = None
    continuous_retention_days: int
    daily_retention_days: int
    lock_mode: str
    lock_changeable_for_days: int = 3
    break_glass_role_arn: str
    #: Region of the copy vault; with ``copy_provider`` (an aliased provider
    #: there) and ``copy_key`` (its key there). Left out: no copy.
    copy_region: str | None = None
    copy_provider: Any = None
    copy_key: ManagedKey | None = None
    #: Another account whose vault of the same name in ``copy_region`` also
    #: receives the daily copies. Left out: none.
    copy_account_id: str | None = None
    #: When the restore test runs; left out: Sundays 05:00 UTC.
    restore_test_schedule: str = "cron(0 5 ? * SUN *)"
    #: Hours a restored copy is kept for validation before AWS Backup
    #: deletes it. Left out: 4.
    restore_test_validation_hours: int = 4
    #: Terraform refuses to destroy the vaults. Left out: False.
    prevent_destroy: bool = False


def _problems(props: DatabaseBackupProps) -> list[str]:
    p = []
    if not 1 <= props.continuous_retention_days <= 35:
        p.append(
            f"continuous_retention_days: {props.continuous_retention_days} is not allowed; use 1-35"
        )
    if props.lock_mode not in (COMPLIANCE, "governance"):
        p.append(f"lock_mode: {props.lock_mode!r} is not allowed; allowed: compliance, governance")
    if props.copy_region is not None and (props.copy_provider is None or props.copy_key is None):
        p.append("copy_region: needs copy_provider and copy_key (the copy vault's key there)")
    if not props.restore_testing_name.replace("_", "").isalnum():
        p.append(
            f"restore_testing_name: {props.restore_testing_name!r} is not allowed; "
            "letters, digits and underscores only"
        )
    return p


class DatabaseBackup(Construct):
    """The database's vaults, lock, access policy, plan, selection and
    restore test. ``role`` is the service role both backups and restores use."""

    def __init__(self, scope: Construct, construct_id: str, props: DatabaseBackupProps) -> None:
        problems = _problems(props)
        if problems:
            raise ValueError(f"DatabaseBackup {props.name!r}: " + "; ".join(problems))
        super().__init__(scope, construct_id)
        self.props = props
        keep = TerraformResourceLifecycle(prevent_destroy=True) if props.prevent_destroy else None
        managed = f"arn:{props.partition}:iam::aws:policy"
        self.role = iam.service_role(
            self,
            "role",
            name=f"{props.name}-backup",
            service="backup.amazonaws.com",
            source_account=props.account_id,
            description=f"AWS Backup backs up, copies and restore-tests {props.database.props.name}",
            managed_policy=("backup-policy", f"{managed}/{BACKUP_POLICY}"),
        )
        aws.iam_role_policy_attachment.IamRolePolicyAttachment(
            self, "restore-policy", role=self.role.name, policy_arn=f"{managed}/{RESTORE_POLICY}"
        )
        # The shortest recovery point the plan keeps: a lock minimum above it
        # would fail those backup jobs.
        min_retention = min(props.continuous_retention_days, props.daily_retention_days)
        self.vault = self._locked_vault("vault", props.vault_key, min_retention, keep, None)
        copy_actions = []
        self.copy_vault = None
        if props.copy_region is not None:
            assert props.copy_key is not None  # _problems
            self.copy_vault = self._locked_vault(
                "copy-vault", props.copy_key, props.daily_retention_days, keep, props.copy_provider
            )
            destinations = [self.copy_vault.arn]
            if props.copy_account_id:
                destinations.append(
                    f"arn:{props.partition}:backup:{props.copy_region}:"
                    f"{props.copy_account_id}:backup-vault:{props.vault_name}"
                )
            copy_actions = [
                aws.backup_plan.BackupPlanRuleCopyAction(
                    destination_vault_arn=destination,
                    lifecycle=aws.backup_plan.BackupPlanRuleCopyActionLifecycle(
                        delete_after=props.daily_retention_days
                    ),
                )
                for destination in destinations
            ]
        self.plan = aws.backup_plan.BackupPlan(
            self,
            "plan",
            name=f"{props.name}-database",
            rule=[
                aws.backup_plan.BackupPlanRule(
                    # Point-in-time recovery; AWS Backup then manages the
                    # cluster's backup_retention_period (modules/database.py).
                    rule_name="continuous",
                    target_vault_name=self.vault.name,
                    enable_continuous_backup=True,
                    schedule=DAILY_SCHEDULE,
                    start_window=60,
                    completion_window=180,
                    lifecycle=aws.backup_plan.BackupPlanRuleLifecycle(
                        delete_after=props.continuous_retention_days
                    ),
                ),
                aws.backup_plan.BackupPlanRule(
                    rule_name="daily",
                    target_vault_name=self.vault.name,
                    schedule=DAILY_SCHEDULE,
                    start_window=60,
                    completion_window=180,
                    lifecycle=aws.backup_plan.BackupPlanRuleLifecycle(
                        delete_after=props.daily_retention_days
                    ),
                    copy_action=copy_actions or None,
                ),
            ],
        )
        # By ARN, never by tag: a missing or misspelt tag would silently
        # leave the cluster out.
        self.selection = aws.backup_selection.BackupSelection(
            self,
            "selection",
            name=f"{props.name}-database",
            plan_id=self.plan.id,
            iam_role_arn=self.role.arn,
            resources=[props.database.cluster.arn],
        )
        self._restore_test(props)

    def _locked_vault(self, construct_id: str, key: ManagedKey, min_retention: int, keep, provider):
        props = self.props
        vault = aws.backup_vault.BackupVault(
            self,
            construct_id,
            name=props.vault_name,
            kms_key_arn=key.arn,
            force_destroy=False,
            provider=provider,
            lifecycle=keep,
        )
        compliance = props.lock_mode == COMPLIANCE
        lock = aws.backup_vault_lock_configuration.BackupVaultLockConfiguration(
            self,
            f"{construct_id}-lock",
            backup_vault_name=vault.name,
            min_retention_days=min_retention,
            # Governance mode is a lock without a grace time; with one,
            # the lock becomes compliance mode once it has passed.
            changeable_for_days=props.lock_changeable_for_days if compliance else None,
            provider=provider,
        )
        # After the lock: the policy denies changing it to all but break-glass.
        aws.backup_vault_policy.BackupVaultPolicy(
            self,
            f"{construct_id}-policy",
            backup_vault_name=vault.name,
            policy=iam.document(*vault_policy(vault.arn, props.break_glass_role_arn)),
            provider=provider,
            depends_on=[lock],
        )
        return vault

    def _restore_test(self, props: DatabaseBackupProps) -> None:
        database = props.database
        # The restored cluster answers nobody until a validator opens this
        # group from its own (docs/backup.md, "Restore test").
        self.restore_security_group = aws.security_group.SecurityGroup(
            self,
            "restore-test-security-group",
            name=f"{props.name}-restore-test",
            description=f"Restore tests of {database.props.name}; no ingress until a validator",
            vpc_id=database.props.network.vpc_id,
            tags={"Name": f"{props.name}-restore-test"},
        )
        self.restore_testing_plan = aws.backup_restore_testing_plan.BackupRestoreTestingPlan(
            self,
            "restore-testing-plan",
            name=props.restore_testing_name,
            schedule_expression=props.restore_test_schedule,
            start_window_hours=1,
            recovery_point_selection=[
                aws.backup_restore_testing_plan.BackupRestoreTestingPlanRecoveryPointSelection(
                    algorithm="LATEST_WITHIN_WINDOW",
                    include_vaults=[self.vault.arn],
                    recovery_point_types=["CONTINUOUS", "SNAPSHOT"],
                    selection_window_days=7,
                )
            ],
        )
        self.restore_testing_selection = (
            aws.backup_restore_testing_selection.BackupRestoreTestingSelection(
                self,
                "restore-testing-selection",
                name=props.restore_testing_name,
                restore_testing_plan_name=self.restore_testing_plan.name,
                protected_resource_type="Aurora",
                protected_resource_arns=[database.cluster.arn],
                iam_role_arn=self.role.arn,
                validation_window_hours=props.restore_test_validation_hours,
                restore_metadata_overrides={
                    SUBNET_GROUP_OVERRIDE: database.subnet_group.name,
                    SECURITY_GROUPS_OVERRIDE: _json_list(self.restore_security_group.id),
                },
            )
        )


def _json_list(token: str) -> str:
    """``["<id>"]`` with a token inside: the string Terraform resolves."""
    return f'["{token}"]'
