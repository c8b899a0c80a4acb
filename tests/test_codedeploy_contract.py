"""AWS's CODE_DEPLOY contract for an ECS service as one table
(config/codedeploy_contract.py, checked by PAY-ECS-001): complete against the provider
schema, one class per argument, enforced at synthesis, listed in the docs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config.codedeploy_contract import (
    CLASSES,
    CODEDEPLOY_OWNED,
    CONTRACT,
    CREATE_TIME,
    MUST_IGNORE,
    PROVIDER_ONLY,
    REFUSED,
    SERVICE_IGNORED_CHANGES,
    UPDATABLE,
    fields_of_class,
)
from framework import App, TerraformStack
from framework import Testing as CdktfTesting
from framework.aws import aws
from guardrails.rules import RULES_BY_ID, RuleContext, register
from guardrails.schema import load_schema
from tests.rules_helpers import blue_green, unit_stack

ROOT = Path(__file__).resolve().parent.parent
RULE = RULES_BY_ID["PAY-ECS-001"]


def check(stack) -> list[str]:
    return [
        str(f)
        for f in RULE.check(json.loads(CdktfTesting.synth(stack)), RuleContext(env_name="dev"))
    ]


def test_every_provider_argument_is_classified_or_refused_exactly_once():
    schema = load_schema()
    arguments = set(schema.arguments(schema.roots[("resource", "aws_ecs_service")]))
    assert not set(CONTRACT) & set(REFUSED)
    assert set(CONTRACT) | set(REFUSED) == arguments
    assert {cls for cls, _ in CONTRACT.values()} == set(CLASSES)


def test_classes_match_the_update_service_api_reference():
    """UpdateService on a CODE_DEPLOY service: desired count, deployment
    configuration, grace period, placement constraints/strategies, managed
    tags, propagate tags; the AppSpec carries task definition, load
    balancers, network configuration, platform version and capacity
    provider strategy."""
    assert set(fields_of_class(UPDATABLE)) == {
        "desired_count",
        "health_check_grace_period_seconds",
        "propagate_tags",
        "enable_ecs_managed_tags",
        # In place since provider 6.4.0 (terraform-provider-aws #43434).
        "deployment_controller",
    }
    assert set(fields_of_class(CODEDEPLOY_OWNED)) == {
        "task_definition",
        "load_balancer",
        "network_configuration",
        "platform_version",
        "capacity_provider_strategy",
    }
    assert {"service_registries", "enable_execute_command"} <= set(fields_of_class(CREATE_TIME))
    assert {"tags", "triggers"} <= set(fields_of_class(PROVIDER_ONLY))
    assert set(MUST_IGNORE) == set(fields_of_class(CODEDEPLOY_OWNED)) | {
        "service_registries",
        "enable_execute_command",
    }
    assert set(SERVICE_IGNORED_CHANGES) == set(MUST_IGNORE) | {"desired_count"}
    with pytest.raises(ValueError, match=r"cls: 'rolling' is not allowed; allowed: updatable"):
        fields_of_class("rolling")


def test_the_app_passes_and_ignores_what_codedeploy_owns(stacks):
    for name, synthesized in stacks.items():
        if not name.endswith("-services"):
            continue
        assert RULE.check(synthesized.json, RuleContext(env_name="dev")) == []
        for service in synthesized.resources("aws_ecs_service").values():
            assert set(service) - {"//", "lifecycle", "depends_on"} <= set(CONTRACT)
            assert service["platform_version"] != "LATEST"


# Values that make each refused argument "set" on the unit service.
REFUSED_VALUES = {
    "deployment_circuit_breaker": {"enable": True, "rollback": True},
    "alarms": {"alarm_names": ["a"], "enable": True, "rollback": True},
    "deployment_minimum_healthy_percent": 50,
    "deployment_maximum_percent": 200,
    "force_new_deployment": True,
    "deployment_configuration": {"strategy": "BLUE_GREEN"},
    "sigint_rollback": True,
    "service_connect_configuration": {"enabled": True},
    "volume_configuration": {"name": "data"},
    "vpc_lattice_configurations": [
        {"port_name": "http", "role_arn": "arn", "target_group_arn": "arn"}
    ],
    "availability_zone_rebalancing": "ENABLED",
    "wait_for_steady_state": True,
    "ordered_placement_strategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
    "placement_constraints": [{"type": "distinctInstance"}],
}


def test_every_refused_argument_has_a_test_value():
    assert set(REFUSED_VALUES) == set(REFUSED)


@pytest.mark.parametrize("argument", sorted(REFUSED))
def test_a_refused_argument_fails_with_its_fix(tmp_path, argument):
    stack = unit_stack(tmp_path)
    blue_green(stack).service.add_override(argument, REFUSED_VALUES[argument])
    findings = check(stack)
    assert (
        f"uses the CODE_DEPLOY controller but sets {argument}. Fix: {REFUSED[argument]}"
        in "\n".join(findings)
    )


def test_an_unclassified_argument_fails_synthesis(tmp_path):
    """A newer provider's argument is refused until the table classifies it."""
    stack = unit_stack(tmp_path)
    blue_green(stack).service.add_override("shiny_new_setting", True)
    register(stack, RuleContext(env_name="dev"))
    with pytest.raises(
        Exception,
        match=r"\[PAY-ECS-001\] aws_ecs_service\.service: sets "
        r"shiny_new_setting, which the CODE_DEPLOY contract table "
        r"does not classify\. Fix: add it to CONTRACT",
    ):
        stack.node.root.synth()


@pytest.mark.parametrize("field", MUST_IGNORE)
def test_a_service_that_stops_ignoring_a_field_fails_synthesis(tmp_path, field):
    """A module edit that drops one field from ignore_changes. (cdktf merges
    an ``add_override`` of a list into the existing one, so an override can
    add ignored fields but not remove them.)"""
    stack = unit_stack(tmp_path)
    blue_green(stack, ignore_changes=[f for f in SERVICE_IGNORED_CHANGES if f != field])
    register(stack, RuleContext(env_name="dev"))
    with pytest.raises(
        Exception, match=rf"does not ignore changes to {field}, which a CODE_DEPLOY"
    ):
        stack.node.root.synth()


def test_a_non_code_deploy_service_is_not_judged_by_the_table(tmp_path):
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "unit")
    aws.provider.AwsProvider(stack, "aws", region="eu-west-1")
    aws.ecs_service.EcsService(
        stack,
        "svc",
        name="rolling",
        deployment_maximum_percent=200,
        deployment_minimum_healthy_percent=50,
    )
    assert check(stack) == []


def test_docs_list_every_row_with_its_class():
    docs = (ROOT / "docs" / "rules.md").read_text()
    for argument, (cls, _) in CONTRACT.items():
        assert any(
            line.startswith(f"| `{argument}` |") and f"({CLASSES.index(cls) + 1})" in line
            for line in docs.splitlines()
        ), argument
    for argument in REFUSED:
        assert f"| `{argument}` | refused" in docs, argument


def test_the_rows_issue_23_corrected(tmp_path):
    """#23, item 8 (docs/decisions.md D46): the controller changes in place
    since provider 6.4.0 (terraform-provider-aws #43434); the steady-state
    wait hangs on a CODE_DEPLOY service (#29252); Fargate supports no task
    placement strategies or constraints (ECS developer guide, "How Amazon
    ECS places tasks on container instances",
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement.html)."""
    assert CONTRACT["deployment_controller"][0] == UPDATABLE
    assert "#43434" in CONTRACT["deployment_controller"][1]
    assert "#29252" in REFUSED["wait_for_steady_state"]
    for argument in ("ordered_placement_strategy", "placement_constraints"):
        assert argument in REFUSED and argument not in CONTRACT
        assert "Fargate" in REFUSED[argument]
    # false is the provider's default and waits for nothing: allowed.
    stack = unit_stack(tmp_path)
    blue_green(stack).service.add_override("wait_for_steady_state", False)
    assert check(stack) == []


def test_every_service_of_the_app_runs_on_fargate(stacks):
    """Why the placement arguments are refused, not conditioned: every
    service's capacity is FARGATE/FARGATE_SPOT."""
    for name, synthesized in stacks.items():
        for service in synthesized.resources("aws_ecs_service").values():
            providers = {s["capacity_provider"] for s in service["capacity_provider_strategy"]}
            assert providers <= {"FARGATE", "FARGATE_SPOT"}, name
            assert service.get("launch_type") in (None, "FARGATE"), name


def test_the_module_and_the_rule_import_the_table_neither_defines_it():
    """The services tier's ignore_changes and PAY-ECS-001 read one table in
    config/codedeploy_contract.py: the checker does not define what it checks."""
    import ast

    import config.codedeploy_contract as contract
    import guardrails.rules.ecs_codedeploy_service as rule
    import modules.blue_green_service as module

    root = Path(__file__).resolve().parent.parent
    for imported in (rule, module):
        tree = ast.parse(Path(imported.__file__).read_text())
        assigned = {
            target.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign | ast.AnnAssign)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        }
        assert not assigned & {"CONTRACT", "REFUSED", "MUST_IGNORE", "SERVICE_IGNORED_CHANGES"}
        sources = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert "config.codedeploy_contract" in sources, imported.__file__
    assert module.SERVICE_IGNORED_CHANGES is contract.SERVICE_IGNORED_CHANGES
    assert rule.MUST_IGNORE is contract.MUST_IGNORE
    assert (root / "config" / "codedeploy_contract.py").exists()
