"""The contract rules from the first apply on a real account (issue #23):
each way to break PAY-CD-003 (CodeDeploy may pass the task roles) and
PAY-GD-001 (GuardDuty features declared completely), and the shapes each
rule must accept."""

from __future__ import annotations

import pytest

from guardrails.rules import RULES_BY_ID, run_rules
from tests.rules_helpers import (
    ctx,
    finding_on,
    released_with_roles,
    runtime_monitoring,
    synth_json,
    unit_stack,
)


def findings(tmp_path, rule_id: str, build) -> list[str]:
    stack = unit_stack(tmp_path)
    build(stack)
    return [str(f) for f in RULES_BY_ID[rule_id].check(synth_json(stack), ctx())]


def all_findings(tmp_path, build) -> list[str]:
    stack = unit_stack(tmp_path)
    build(stack)
    return [str(f) for f in run_rules(synth_json(stack), ctx())]


# --- PAY-CD-003 -----------------------------------------------------------------

PASS_TO_ECS_TASKS = {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


@pytest.mark.parametrize(
    "execution_role_name",
    ["ecsTaskExecutionRole", "ECSTaskExecutionRole-unit"],
)
def test_the_managed_policy_passes_roles_named_like_the_ecs_default(tmp_path, execution_role_name):
    """AWSCodeDeployRoleForECSLimited v3 passes role/ecsTaskExecutionRole and
    role/ECSTaskExecution*: such an execution role needs no inline grant."""
    assert (
        all_findings(
            tmp_path,
            lambda s: released_with_roles(
                s, passable="task", execution_role_name=execution_role_name
            ),
        )
        == []
    )


def test_an_execution_role_named_otherwise_needs_the_grant(tmp_path):
    found = findings(tmp_path, "PAY-CD-003", lambda s: released_with_roles(s, passable="task"))
    assert len(found) == 1
    assert "may not pass execution_role_arn ${aws_iam_role.execution-role.arn}" in found[0]


@pytest.mark.parametrize(
    "statement, passes",
    [
        pytest.param(
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": "arn:aws:iam::*:role/unit-*",
                "Condition": PASS_TO_ECS_TASKS,
            },
            True,
            id="wildcard-on-our-names",
        ),
        pytest.param(
            {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
            True,
            id="every-iam-action",
        ),
        pytest.param(
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": "arn:aws:iam::*:role/unit-*",
                "Condition": {"StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}},
            },
            False,
            id="passed-to-another-service",
        ),
        pytest.param(
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": "arn:aws:iam::*:role/other-*",
                "Condition": PASS_TO_ECS_TASKS,
            },
            False,
            id="other-roles",
        ),
        pytest.param(
            {"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"},
            False,
            id="another-action",
        ),
    ],
)
def test_other_grants_are_read_as_iam_would(tmp_path, statement, passes):
    found = findings(
        tmp_path,
        "PAY-CD-003",
        lambda s: released_with_roles(s, passable="none", pass_policy_statement=statement),
    )
    assert (found == []) is passes, found


def test_a_deny_outweighs_the_grant(tmp_path):
    deny = {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "arn:aws:iam::*:role/unit-task"}
    found = findings(
        tmp_path, "PAY-CD-003", lambda s: released_with_roles(s, pass_policy_statement=deny)
    )
    assert len(found) == 1 and "task_role_arn" in found[0], found


def test_allow_pass_role_needs_roles(tmp_path):
    from modules.codedeploy_application import (
        CodeDeployEcsApplication,
        CodeDeployEcsApplicationProps,
    )

    deployments = CodeDeployEcsApplication(
        unit_stack(tmp_path),
        "codedeploy",
        CodeDeployEcsApplicationProps(name="unit", account_id="111111111111", partition="aws"),
    )
    with pytest.raises(ValueError, match="roles: none given"):
        deployments.allow_pass_role()


# --- PAY-GD-001 -----------------------------------------------------------------


def test_an_override_appending_a_second_status_is_refused(tmp_path):
    """An override list is appended to the declared one (cdktf merges
    lists): the same additional configuration twice, with two statuses."""

    def build(stack):
        feature = runtime_monitoring(stack).features["RUNTIME_MONITORING"]
        feature.add_override(
            "additional_configuration",
            [{"name": "ECS_FARGATE_AGENT_MANAGEMENT", "status": "ENABLED"}],
        )

    stack = unit_stack(tmp_path)
    build(stack)
    finding = finding_on(
        RULES_BY_ID["PAY-GD-001"].check(synth_json(stack), ctx()),
        "PAY-GD-001",
        "aws_guardduty_detector_feature.detection_guardduty-runtime-monitoring_7D605876",
    )
    # The feature, the field and its value, and what is allowed: once.
    assert finding.problem.startswith("RUNTIME_MONITORING declares additional_configuration")
    assert "ECS_FARGATE_AGENT_MANAGEMENT more than once" in finding.problem
    assert "once, with one status" in finding.fix


def test_other_features_need_no_additional_configuration(tmp_path):
    stack = unit_stack(tmp_path)
    runtime_monitoring(stack)
    features = synth_json(stack)["resource"]["aws_guardduty_detector_feature"]
    assert {f["name"] for f in features.values()} == {"RUNTIME_MONITORING", "RDS_LOGIN_EVENTS"}
    assert RULES_BY_ID["PAY-GD-001"].check(synth_json(stack), ctx()) == []
