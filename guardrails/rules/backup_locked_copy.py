"""PAY-BAK-001: a production-tier database is backed up into a vault locked
in compliance mode and copied to another region (docs/backup.md, D48)."""

from __future__ import annotations

import re

from guardrails.rules import tf
from guardrails.rules.model import Finding, Rule, RuleContext

#: Region of a literal backup vault ARN.
_VAULT_ARN = re.compile(r"^arn:aws[a-z-]*:backup:(?P<region>[a-z0-9-]+):\d{12}:backup-vault:.+$")


def _region(stack: dict, body: dict) -> str | None:
    """The region a resource is created in: its ``region`` argument, its
    aliased provider's region, else the default provider's."""
    if isinstance(body.get("region"), str):
        return body["region"]
    providers = tf.blocks((stack.get("provider") or {}).get("aws"))
    alias = body.get("provider")
    for provider in providers:
        if alias is None and "alias" not in provider:
            return provider.get("region")
        if alias is not None and f"aws.{provider.get('alias')}" == alias:
            return provider.get("region")
    return None


def _compliance_locked(stack: dict, vault_name: str) -> bool:
    """A lock configuration on the vault with ``changeable_for_days`` (the
    grace time after which the lock is compliance mode)."""
    for _, _, lock in tf.each(stack, "aws_backup_vault_lock_configuration"):
        if (
            tf.resolve(stack, lock.get("backup_vault_name"), "aws_backup_vault", "name")
            == vault_name
        ):
            days = lock.get("changeable_for_days")
            if isinstance(days, (int, float)) and not isinstance(days, bool) and days >= 3:
                return True
    return False


def _plan_problems(stack: dict, plan_name: str) -> list[str]:
    plan = tf.resources(stack, "aws_backup_plan")[plan_name]
    vaults = tf.resources(stack, "aws_backup_vault")
    rules = tf.blocks(plan.get("rule"))
    problems = []
    if not rules:
        problems.append("has no rule")
    home_region = _region(stack, plan)
    copied_elsewhere = False
    for rule in rules:
        target = tf.resolve(stack, rule.get("target_vault_name"), "aws_backup_vault", "name")
        label = rule.get("rule_name", "?")
        if target is None:
            problems.append(f"rule {label} targets a vault this stack does not declare")
        elif not _compliance_locked(stack, target):
            problems.append(
                f"rule {label} targets aws_backup_vault.{target}, not locked in compliance mode"
            )
        for action in tf.blocks(rule.get("copy_action")):
            destination = action.get("destination_vault_arn")
            copy = tf.resolve(stack, destination, "aws_backup_vault", "arn")
            if copy is not None:
                region = _region(stack, vaults[copy])
                if region and region != home_region:
                    if _compliance_locked(stack, copy):
                        copied_elsewhere = True
                    else:
                        problems.append(
                            f"rule {label} copies to aws_backup_vault.{copy}, not locked in "
                            "compliance mode"
                        )
            elif isinstance(destination, str):
                match = _VAULT_ARN.match(destination)
                if match and match["region"] != home_region:
                    copied_elsewhere = True  # another account's vault: its lock is that account's
    if not copied_elsewhere:
        problems.append(f"copies no recovery point to a locked vault outside {home_region}")
    return problems


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    if not ctx.production:
        return []
    findings = []
    for _, cluster_name, _ in tf.each(stack, "aws_rds_cluster"):
        address = tf.address("aws_rds_cluster", cluster_name)
        plans = [
            tf.resolve(stack, selection.get("plan_id"), "aws_backup_plan", "id")
            for _, _, selection in tf.each(stack, "aws_backup_selection")
            if any(
                tf.reference(item, "aws_rds_cluster") == ("aws_rds_cluster", cluster_name, "arn")
                for item in tf.as_list(selection.get("resources"))
            )
        ]
        if not plans:
            findings.append(
                RULE.finding(address, "is selected by ARN in no aws_backup_selection of this stack")
            )
            continue
        problems = {name: _plan_problems(stack, name) for name in plans if name is not None}
        if not any(found == [] for found in problems.values()):
            detail = (
                "; ".join(
                    f"aws_backup_plan.{name} {p}" for name, found in problems.items() for p in found
                )
                or "its selection names a plan this stack does not declare"
            )
            findings.append(RULE.finding(address, f"has no locked, copied backup plan: {detail}"))
    return findings


RULE = Rule(
    id="PAY-BAK-001",
    summary="In the production tier, every Aurora cluster is selected by ARN by an AWS Backup plan "
    "whose vaults are locked in compliance mode and which copies to a locked vault in "
    "another region.",
    why="Card-transaction data must survive a compromised pipeline, an operator's mistake and "
    "the loss of a region: a compliance-mode lock makes recovery points undeletable before "
    "their retention ends, by anyone; the copy keeps them outside the region. A tag-based "
    "selection silently misses a cluster whose tag changes.",
    fix="Select the cluster by ARN (aws_backup_selection.resources); give every target vault an "
    "aws_backup_vault_lock_configuration with changeable_for_days >= 3; add a copy_action to "
    "a locked vault whose provider is in another region (modules/backup.py).",
    check=check,
)
