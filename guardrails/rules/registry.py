"""Every contract rule, in the order findings are reported."""

from __future__ import annotations

from guardrails.rules import (
    backup_locked_copy,
    codedeploy_actions_ignored,
    codedeploy_group_shape,
    codedeploy_pass_role,
    config_delivery_bucket,
    container_environment_secrets,
    container_non_root,
    container_privileged,
    container_read_only_root,
    ecs_codedeploy_service,
    ecs_target_group_owner,
    event_log_delivery,
    guardduty_features_complete,
    kms_customer_managed,
    kms_key_policy,
    kms_no_self_grants,
    log_data_protection,
    network_world_ingress,
    prod_deletion_protection,
    service_principal_source,
    state_backend,
    tls_prod_https_only,
    vpc_endpoint_policy,
)
from guardrails.rules.model import Finding, Rule, RuleContext

RULES: tuple[Rule, ...] = (
    ecs_codedeploy_service.RULE,
    ecs_target_group_owner.RULE,
    codedeploy_group_shape.RULE,
    codedeploy_actions_ignored.RULE,
    codedeploy_pass_role.RULE,
    network_world_ingress.RULE,
    vpc_endpoint_policy.RULE,
    container_environment_secrets.RULE,
    container_privileged.RULE,
    container_read_only_root.RULE,
    container_non_root.RULE,
    tls_prod_https_only.RULE,
    kms_customer_managed.RULE,
    kms_key_policy.RULE,
    kms_no_self_grants.RULE,
    service_principal_source.RULE,
    log_data_protection.RULE,
    config_delivery_bucket.RULE,
    event_log_delivery.RULE,
    guardduty_features_complete.RULE,
    prod_deletion_protection.RULE,
    backup_locked_copy.RULE,
    state_backend.RULE,
)
RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}


def run_rules(stack: dict, ctx: RuleContext, rules: tuple[Rule, ...] = RULES) -> list[Finding]:
    """Findings of every rule on one resolved stack JSON (no suppressions),
    by rule, then address: the same whatever the key order of the JSON."""
    findings: list[Finding] = []
    for rule in rules:
        findings += sorted(rule.check(stack, ctx), key=lambda f: (f.address, f.problem))
    return findings
