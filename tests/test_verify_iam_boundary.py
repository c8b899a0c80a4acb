"""`make verify`'s `iam.boundary` (verify/checks/iam.py): the IAM Policy
Simulator proves the deploy role changes roles only with the permissions
boundary (docs/decisions.md D49). moto has no SimulatePrincipalPolicy
(FIELD_NOTES §11): botocore Stubber, answering each request the way the
scenario's policy would, with the request's ContextEntries checked (IAM API
reference, SimulatePrincipalPolicy:
https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html)."""

from __future__ import annotations

import copy
from datetime import datetime

import pytest

from config.pipeline_contract import BOUNDED_ROLE_WRITES
from tests.verify_helpers import ACCOUNT, context, stubbed
from verify import report
from verify.checks import iam

#: Operations tools replayed against simulated AWS (docs/decisions.md D56).
pytestmark = [pytest.mark.aws_replay, pytest.mark.usefixtures("fake_aws")]


ACTIONS = [*BOUNDED_ROLE_WRITES, *iam.NEVER_WITH_ANY_BOUNDARY]


def _as_bounded(action: str, boundary: str | None, configured: str) -> str:
    """The deploy policy of D49: role writes only with the configured boundary,
    never a boundary's removal."""
    if action in iam.NEVER_WITH_ANY_BOUNDARY:
        return "explicitDeny"
    return "allowed" if boundary == configured else "implicitDeny"


def _unbounded(action: str, boundary: str | None, configured: str) -> str:
    """A deploy policy that lost the condition: every role write allowed."""
    return "explicitDeny" if action in iam.NEVER_WITH_ANY_BOUNDARY else "allowed"


def _run(example_prod, decide=_as_bounded, refuse: str | None = None):
    env, _ = example_prod
    client, stub = stubbed("iam", env.region)
    ctx = context(example_prod, {"iam": client})
    configured, roles = iam.bounded_roles(ctx)
    deploy_arn = f"arn:aws:iam::{ACCOUNT}:role/{env.deploy_role}"
    stub.add_response(
        "get_role",
        {
            "Role": {
                "Path": "/",
                "RoleName": env.deploy_role,
                "RoleId": "AROAEXAMPLEID123456",
                "Arn": deploy_arn,
                "CreateDate": datetime(2026, 1, 1),
            }
        },
        {"RoleName": env.deploy_role},
    )
    other = "arn:aws:iam::aws:policy/AdministratorAccess"
    for boundary in (None, other, configured):
        entries = iam.boundary_context(boundary) if boundary else []
        expected = {
            "PolicySourceArn": deploy_arn,
            "ActionNames": ACTIONS,
            "ResourceArns": roles,
            "ContextEntries": entries,
        }
        if refuse:
            stub.add_client_error(
                "simulate_principal_policy", refuse, "not authorized", 403, expected
            )
            break
        stub.add_response(
            "simulate_principal_policy",
            {
                "EvaluationResults": [
                    {
                        "EvalActionName": action,
                        "EvalResourceName": role,
                        "EvalDecision": decide(action, boundary, configured),
                    }
                    for action in ACTIONS
                    for role in roles
                ],
                "IsTruncated": False,
            },
            expected,
        )
    with stub:
        results = iam.check_boundary(ctx)
        stub.assert_no_pending_responses()
    return results, configured, roles


def test_the_stacks_roles_carry_one_boundary_and_the_release_role_is_left_out(example_prod):
    env, _ = example_prod
    configured, roles = iam.bounded_roles(context(example_prod, {}))
    assert configured and configured.endswith(":policy/" + f"{env.prefix}-workload-boundary")
    assert roles and all(f":role/{env.prefix}-" in r for r in roles)
    assert not any(r.endswith("/" + iam.release_role_name(env)) for r in roles)


def test_role_writes_denied_without_the_boundary_and_allowed_with_it_pass(example_prod):
    (result,), _, roles = _run(example_prod)
    assert result.status == report.PASS and result.check == "iam.boundary"
    assert f"on {len(roles)} role(s)" in result.message


def test_role_writes_allowed_without_the_boundary_fail_naming_action_and_role(example_prod):
    (result,), configured, roles = _run(example_prod, decide=_unbounded)
    assert result.status == report.FAIL and "D49" in result.doc
    assert (
        "iam:CreateRole on " in result.message and "without a boundary: allowed" in result.message
    )
    assert "ChangeRolesOnlyWithTheBoundary" in result.message


def test_removing_a_boundary_allowed_fails(example_prod):
    def removable(action, boundary, configured):
        return (
            "allowed"
            if action in iam.NEVER_WITH_ANY_BOUNDARY
            else _as_bounded(action, boundary, configured)
        )

    (result,), _, _ = _run(example_prod, decide=removable)
    assert result.status == report.FAIL
    assert (
        "iam:DeleteRolePermissionsBoundary" in result.message
        and "expected denied" in result.message
    )


def test_a_refused_simulation_fails_where_a_boundary_is_configured(example_prod):
    """Skipping the check is not "cannot read": the boundary would be unproven."""
    (result,), configured, _ = _run(example_prod, refuse="AccessDenied")
    assert result.status == report.FAIL
    assert "AccessDenied" in result.message and configured in result.message
    assert "iam:SimulatePrincipalPolicy" in result.message


def _without_boundaries(synth):
    bare = copy.deepcopy(synth)
    for stack in bare.stacks.values():
        for role in stack.resources("aws_iam_role").values():
            role.pop("permissions_boundary", None)
    return bare


def test_no_boundary_configured_is_not_this_stacks(example_prod):
    env, synth = example_prod
    (result,) = iam.check_boundary(context((env, _without_boundaries(synth)), {}))
    assert result.status == report.NOT_APPLICABLE


def test_skipping_the_check_where_a_boundary_is_configured_fails_saying_why(example_prod):
    """``--skip iam-boundary`` (verify/cli.py): an unproven boundary fails, as
    a refused simulation does."""
    env, _ = example_prod
    (result,) = iam.boundary_skipped(context(example_prod, {}))
    configured, _ = iam.bounded_roles(context(example_prod, {}))
    assert result.status == report.FAIL and result.check == "iam.boundary"
    assert result.subject == env.deploy_role and "D49" in result.doc
    assert "--skip iam-boundary" in result.message and configured in result.message


def test_skipping_the_check_without_a_boundary_reports_nothing(example_prod):
    env, synth = example_prod
    assert iam.boundary_skipped(context((env, _without_boundaries(synth)), {})) == []


def test_simulation_pages_are_all_read(example_prod):
    env, _ = example_prod
    client, stub = stubbed("iam", env.region)
    ctx = context(example_prod, {"iam": client})
    source = f"arn:aws:iam::{ACCOUNT}:role/{env.deploy_role}"
    roles = [f"arn:aws:iam::{ACCOUNT}:role/{env.prefix}-{n}" for n in ("a", "b")]
    page = {"EvalActionName": "iam:PassRole", "EvalDecision": "allowed"}
    request = {
        "PolicySourceArn": source,
        "ActionNames": ["iam:PassRole"],
        "ResourceArns": roles,
        "ContextEntries": [],
    }
    stub.add_response(
        "simulate_principal_policy",
        {
            "EvaluationResults": [{**page, "EvalResourceName": roles[0]}],
            "IsTruncated": True,
            "Marker": "next-page",
        },
        request,
    )
    stub.add_response(
        "simulate_principal_policy",
        {"EvaluationResults": [{**page, "EvalResourceName": roles[1]}], "IsTruncated": False},
        {**request, "Marker": "next-page"},
    )
    with stub:
        found = iam.simulate(ctx, source, ["iam:PassRole"], roles, [])
    assert found == {("iam:PassRole", r): "allowed" for r in roles}
