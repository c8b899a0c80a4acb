"""Policy follows the tier an environment declares, never its name
(issue #13): a production-tier environment called anything gets every
production rule, in configuration, in the synthesized stacks and in the
contract rules."""

from __future__ import annotations

import dataclasses

import pytest

from config import ConfigError, load_environments
from guardrails.rules import RULES_BY_ID, RuleContext
from tests.fixtures.example import DEV, PROD, STAGING
from tests.synth import synthesize


def renamed(env, name: str, **changes):
    """``env`` under another name, with its own VPC range and state bucket."""
    return dataclasses.replace(
        env,
        name=name,
        vpc_cidr="10.40.0.0/16",
        state_bucket=f"payment-platform-tfstate-{name}",
        **changes,
    )


def test_a_weak_copy_of_prod_under_another_name_is_refused():
    """The reviewer's case: prod copied as prod-eu with one NAT gateway,
    30-day logs, all-at-once deploys and no deletion protection."""
    weak = renamed(
        PROD,
        "prod-eu",
        nat_gateway_count=1,
        log_retention_days=30,
        database=dataclasses.replace(PROD.database, deletion_protection=False),
        deployment=dataclasses.replace(
            PROD.deployment, config_name="CodeDeployDefault.ECSAllAtOnce"
        ),
    )
    with pytest.raises(ConfigError) as caught:
        load_environments(defined=[DEV, STAGING, PROD, weak])
    problems = str(caught.value)
    for fragment in (
        "prod-eu.nat_gateway_count: 1 is not allowed in the production tier",
        "prod-eu.log_retention_days: 30 is not allowed in the production tier",
        "prod-eu.database.deletion_protection: False is not allowed in the production tier",
        "prod-eu.deployment.config_name: CodeDeployDefault.ECSAllAtOnce is not allowed in the "
        "production tier",
    ):
        assert fragment in problems


def test_the_same_settings_pass_in_the_non_production_tier():
    relaxed = renamed(
        PROD,
        "sandbox",
        tier="non-production",
        nat_gateway_count=1,
        log_retention_days=30,
        database=dataclasses.replace(PROD.database, deletion_protection=False),
        deployment=dataclasses.replace(
            PROD.deployment, config_name="CodeDeployDefault.ECSAllAtOnce"
        ),
    )
    assert (
        load_environments(["sandbox"], defined=[DEV, STAGING, PROD, relaxed])[0].name == "sandbox"
    )


@pytest.fixture(scope="module")
def live_stacks(tmp_path_factory):
    """prod's configuration as a production-tier environment called ``live``."""
    (live,) = load_environments(["live"], defined=[DEV, STAGING, PROD, renamed(PROD, "live")])
    _, stacks = synthesize([live], tmp_path_factory.mktemp("live"))
    return stacks


def _protected(stacks, env_name: str) -> set[tuple[str, str]]:
    """(resource type, construct path below the stack) of every resource
    with prevent_destroy or deletion protection."""
    found = set()
    for name, synthesized in stacks.items():
        if f"-{env_name}-" not in name:
            continue
        for rtype, resources in synthesized.json.get("resource", {}).items():
            for body in resources.values():
                lifecycle = body.get("lifecycle", {})
                if (
                    lifecycle.get("prevent_destroy")
                    or body.get("deletion_protection")
                    or body.get("enable_deletion_protection")
                ):
                    path = body["//"]["metadata"]["path"].split("/", 1)[1]
                    found.add((rtype, f"{name.rsplit('-', 1)[1]}/{path}"))
    return found


@pytest.mark.app_synthesis  # synthesizes its own variant (D79)
def test_a_production_tier_environment_with_any_name_is_protected_like_prod(
    example_stacks, live_stacks
):
    prod = _protected(example_stacks, "prod")
    assert len(prod) > 20
    assert _protected(live_stacks, "live") == prod


@pytest.mark.parametrize("rule_id", ["PAY-TLS-001", "PAY-DEL-001"])
def test_production_rules_follow_the_tier_not_the_name(example_stacks, rule_id):
    """The prod stacks pass as production; the same JSON stripped of its
    protection fails under any name in the production tier, and a stack
    called prod in the non-production tier is not judged by these rules."""
    data = example_stacks["payment-prod-data"].json
    stripped = {
        **data,
        "resource": {
            rtype: {
                name: {
                    k: v for k, v in body.items() if k not in ("lifecycle", "deletion_protection")
                }
                for name, body in resources.items()
            }
            for rtype, resources in data["resource"].items()
        },
    }
    rule = RULES_BY_ID[rule_id]
    assert rule.check(data, RuleContext(env_name="anything", tier="production")) == []
    if rule_id == "PAY-DEL-001":
        assert rule.check(stripped, RuleContext(env_name="anything", tier="production"))
    assert rule.check(stripped, RuleContext(env_name="prod", tier="non-production")) == []


def test_rule_context_takes_the_tier_from_configuration():
    assert RuleContext.for_environment(PROD).production
    assert not RuleContext.for_environment(STAGING).production
    assert RuleContext.for_environment(renamed(PROD, "live")).production


# --- Prod as the original design meant it ------------------------------------


def test_prod_workers_run_on_spot_with_an_on_demand_base_and_the_api_on_demand():
    """The original design: FARGATE base 1 weight 1, FARGATE_SPOT weight 4
    for the workers; the public API stays on-demand (D27)."""
    from config.naming import capacity_provider_strategy

    prod = PROD
    assert capacity_provider_strategy(prod.service("payment-api")) == [
        {"capacityProvider": "FARGATE", "base": 1, "weight": 1}
    ]
    for worker in ("transaction-processor", "notification-service"):
        assert capacity_provider_strategy(prod.service(worker)) == [
            {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
            {"capacityProvider": "FARGATE_SPOT", "base": 0, "weight": 4},
        ]


def test_the_production_tier_keeps_an_on_demand_base_under_spot():
    services = list(PROD.services)
    services[1] = dataclasses.replace(services[1], on_demand_base=0)
    with pytest.raises(
        ConfigError,
        match=r"prod\.services\.transaction-processor\.on_demand_base: 0 "
        r"is not allowed with use_spot in the production tier",
    ):
        load_environments(
            defined=[DEV, STAGING, dataclasses.replace(PROD, services=tuple(services))]
        )


def test_the_production_tier_requires_an_account_id():
    with pytest.raises(
        ConfigError,
        match=r"prod\.account_id: None is not allowed in the production "
        r"tier; set the environment's 12-digit account id",
    ):
        load_environments(defined=[DEV, STAGING, dataclasses.replace(PROD, account_id=None)])


def test_placeholders_are_listed_and_cannot_be_deployed(example_stacks):
    """Placeholders pass synthesis but are listed; the account placeholder
    is in allowed_account_ids, so every plan fails at the provider's account
    check (no AWS account has id 000000000000)."""
    from config.model import PLACEHOLDER_ACCOUNT_ID, PLACEHOLDER_GITHUB_REPOSITORY, placeholders

    found = placeholders(PROD)
    assert f"prod.account_id = {PLACEHOLDER_ACCOUNT_ID}" in found
    assert any(f.startswith("prod.load_balancer.certificate_arn = ") for f in found)
    assert "prod.load_balancer.test_listener_cidrs[0] = 203.0.113.0/28" in found
    assert "prod.alarms.emails[0] = payments-oncall@example.com" in found
    assert "prod.security_baseline.alert_emails[0] = security-oncall@example.com" in found
    assert f"prod.pipeline.github_repository = {PLACEHOLDER_GITHUB_REPOSITORY}" in found
    prod_stacks = [s for s in example_stacks.values() if "-prod-" in s.name]
    assert prod_stacks
    for synthesized in prod_stacks:
        assert synthesized.json["provider"]["aws"][0]["allowed_account_ids"] == [
            PLACEHOLDER_ACCOUNT_ID
        ]
    real = dataclasses.replace(
        PROD,
        account_id="123456789012",
        alarms=dataclasses.replace(PROD.alarms, emails=("oncall@payments.test",)),
        security_baseline=dataclasses.replace(
            PROD.security_baseline, alert_emails=("security@payments.test",)
        ),
        load_balancer=dataclasses.replace(
            PROD.load_balancer,
            test_listener_cidrs=("8.8.8.0/28",),
            certificate_arn="arn:aws:acm:eu-west-1:123456789012:certificate/1b2c3d4e-0000-4000-8000-000000000001",
        ),
        pipeline=dataclasses.replace(PROD.pipeline, github_repository="payments/platform"),
    )
    assert placeholders(real) == []


def test_the_synth_report_lists_the_placeholders():
    from config.model import placeholders
    from main import placeholder_report

    report = placeholder_report([PROD, DEV])
    count = len(placeholders(PROD) + placeholders(DEV))
    assert report.startswith(f"placeholders: {count} value(s) to replace")
    assert "  prod.account_id = 000000000000" in report.splitlines()
    assert placeholder_report([]) == ""
