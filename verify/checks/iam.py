"""IAM Policy Simulator: the CodeDeploy role can pass every task and
execution role; the deploy role changes roles only with the permissions
boundary.

SimulatePrincipalPolicy evaluates a role's identity policies only (it ignores
key and bucket policies for roles, FIELD_NOTES §11); iam:PassRole and the
IAM role writes have no resource policy, so here the simulator's answer is
the whole answer. Condition keys the simulated policies test come from
``ContextEntries`` (IAM API reference, SimulatePrincipalPolicy:
https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html);
the results are paginated with ``Marker``.
"""

from __future__ import annotations

from config.naming import release_role_name
from config.pipeline_contract import BOUNDED_ROLE_WRITES
from verify.context import Context, Unreadable
from verify.report import Result, failed, not_applicable, passed, unreadable

DOC = "docs/services.md, IAM (least privilege)"
DOC_BOUNDARY = "docs/decisions.md D49 (a permissions boundary on every role it creates)"
#: Denied to the deploy role whatever the boundary (D49 ``NeverRemoveABoundary``).
NEVER_WITH_ANY_BOUNDARY = ("iam:DeleteRolePermissionsBoundary",)


def simulate(
    ctx: Context, source: str, actions: list[str], resources: list[str], entries: list[dict]
) -> dict[tuple[str, str], str]:
    """(action, resource) -> EvalDecision of ``source``'s identity policies,
    every page read."""
    found = ctx.paginate(
        "iam",
        "simulate_principal_policy",
        "EvaluationResults",
        PolicySourceArn=source,
        ActionNames=actions,
        ResourceArns=resources,
        ContextEntries=entries,
    )
    return {
        (r.get("EvalActionName", ""), r.get("EvalResourceName", "")): r.get("EvalDecision", "")
        for r in found
    }


def boundary_context(arn: str) -> list[dict]:
    """The request's ``iam:PermissionsBoundary`` (IAM user guide, condition
    keys: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#ck_PermissionsBoundary)."""
    return [
        {
            "ContextKeyName": "iam:PermissionsBoundary",
            "ContextKeyType": "string",
            "ContextKeyValues": [arn],
        }
    ]


def pass_role_targets(ctx: Context) -> tuple[str | None, list[str]]:
    """The CodeDeploy role's name and the task and execution role names, from the synthesized JSON."""
    stack = ctx.synth.stack("services")
    if stack is None:
        return None, []
    codedeploy = None
    for group in stack.resources("aws_codedeploy_deployment_group").values():
        role = stack.referenced(group.get("service_role_arn", ""))
        codedeploy = role.get("name") if role else codedeploy
    passed_roles = []
    for task in stack.resources("aws_ecs_task_definition").values():
        for attr in ("task_role_arn", "execution_role_arn"):
            role = stack.referenced(task.get(attr, ""))
            if role and role.get("name") not in passed_roles:
                passed_roles.append(role["name"])
    return codedeploy, passed_roles


def check_pass_role(ctx: Context) -> list[Result]:
    codedeploy, roles = pass_role_targets(ctx)
    if codedeploy is None:
        return []
    try:
        source = ctx.call("iam", "get_role", RoleName=codedeploy)["Role"]["Arn"]
        arns = [ctx.call("iam", "get_role", RoleName=name)["Role"]["Arn"] for name in roles]
        decisions = simulate(
            ctx,
            source,
            ["iam:PassRole"],
            arns,
            [
                {
                    "ContextKeyName": "iam:PassedToService",
                    "ContextKeyType": "string",
                    "ContextKeyValues": ["ecs-tasks.amazonaws.com"],
                }
            ],
        )
    except Unreadable as err:
        return [unreadable("iam.pass-role", codedeploy, str(err))]
    results = []
    for name, arn in zip(roles, arns, strict=True):
        subject = f"{codedeploy} -> {name}"
        decision = decisions.get(("iam:PassRole", arn), "not evaluated")
        if decision == "allowed":
            results.append(
                passed("iam.pass-role", subject, "iam:PassRole to ecs-tasks.amazonaws.com allowed")
            )
        else:
            results.append(
                failed(
                    "iam.pass-role",
                    subject,
                    f"expected iam:PassRole of {arn} to "
                    f"ecs-tasks.amazonaws.com allowed, found {decision}; the inline policy "
                    "pass-service-roles grants it (apply the services stack)",
                    DOC,
                )
            )
    return results


def bounded_roles(ctx: Context) -> tuple[str | None, list[str]]:
    """The boundary ARN the stacks set on their roles (None: no boundary
    configured) and the ARNs of those roles, the release role left out: its
    ``CreateRole`` is denied whatever the boundary (its trust is a
    person's, D49)."""
    boundaries: set[str] = set()
    arns: list[str] = []
    release = release_role_name(ctx.env)
    for stack in ctx.synth.stacks.values():
        for role in stack.resources("aws_iam_role").values():
            boundary = role.get("permissions_boundary")
            if not boundary:
                continue
            boundaries.add(stack.substitute(boundary))
            name = stack.substitute(str(role.get("name", "")))
            if name and name != release:
                arns.append(
                    f"arn:{ctx.partition}:iam::{ctx.account}:role{role.get('path', '/')}{name}"
                )
    if len(boundaries) > 1:
        raise ValueError(f"the stacks set more than one permissions boundary: {sorted(boundaries)}")
    return (boundaries.pop() if boundaries else None), sorted(set(arns))


def check_boundary(ctx: Context) -> list[Result]:
    """Without the boundary (none, or another policy) the deploy role may
    not create or change a role; with it, it may; it may never remove one.
    Where a boundary is configured, a simulation that cannot run fails: an
    unproven boundary is not a pass."""
    deploy = ctx.env.deploy_role
    boundary, roles = bounded_roles(ctx)
    if boundary is None:
        return [
            not_applicable(
                "iam.boundary", deploy, "no stack sets a permissions boundary on its roles"
            )
        ]
    if not roles:
        return []
    # An AWS managed policy that allows everything: a role bounded by it is unbounded.
    other = f"arn:{ctx.partition}:iam::aws:policy/AdministratorAccess"
    actions = [*BOUNDED_ROLE_WRITES, *NEVER_WITH_ANY_BOUNDARY]
    scenarios: tuple[tuple[str, list[dict], set[str]], ...] = (
        ("without a boundary", [], set()),
        (f"with {other}", boundary_context(other), set()),
        ("with the boundary", boundary_context(boundary), set(BOUNDED_ROLE_WRITES)),
    )
    try:
        source = ctx.call("iam", "get_role", RoleName=deploy)["Role"]["Arn"]
        answers = [simulate(ctx, source, actions, roles, entries) for _, entries, _ in scenarios]
    except Unreadable as err:
        return [
            failed(
                "iam.boundary",
                deploy,
                f"expected the simulation of {deploy}'s role writes, found none: {err}. "
                f"A boundary is configured ({boundary}), so an unproven boundary fails: "
                "give the caller iam:GetRole and iam:SimulatePrincipalPolicy on the deploy role",
                DOC_BOUNDARY,
            )
        ]
    problems = []
    for (label, _, allowed), decisions in zip(scenarios, answers, strict=True):
        for action in actions:
            for role in roles:
                decision = decisions.get((action, role), "not evaluated")
                want = "allowed" if action in allowed else "denied"
                if (decision == "allowed") != (want == "allowed"):
                    problems.append(
                        f"{action} on {role.rsplit('/', 1)[-1]} {label}: {decision} "
                        f"(expected {want})"
                    )
    if problems:
        shown = "; ".join(problems[:6]) + (
            f"; and {len(problems) - 6} more" if len(problems) > 6 else ""
        )
        return [
            failed(
                "iam.boundary",
                deploy,
                f"expected role writes only with {boundary} and never "
                f"{', '.join(NEVER_WITH_ANY_BOUNDARY)}, found {shown}; the deploy policy's "
                "ChangeRolesOnlyWithTheBoundary and NeverRemoveABoundary grant and deny them "
                "(a person applies the bootstrap stack)",
                DOC_BOUNDARY,
            )
        ]
    return [
        passed(
            "iam.boundary",
            deploy,
            f"{', '.join(BOUNDED_ROLE_WRITES)} on {len(roles)} role(s) denied without a boundary "
            f"and with another, allowed with {boundary}; "
            f"{', '.join(NEVER_WITH_ANY_BOUNDARY)} always denied",
        )
    ]


def boundary_skipped(ctx: Context) -> list[Result]:
    """``--skip iam-boundary``: where a boundary is configured, leaving its
    proof out is a failure (issue #29), not a silence; with none, nothing."""
    boundary, _ = bounded_roles(ctx)
    if boundary is None:
        return []
    return [
        failed(
            "iam.boundary",
            ctx.env.deploy_role,
            f"expected the simulation of {ctx.env.deploy_role}'s role writes, found it skipped "
            f"(--skip iam-boundary). A boundary is configured ({boundary}), so an unproven "
            "boundary fails: run without --skip iam-boundary",
            DOC_BOUNDARY,
        )
    ]
