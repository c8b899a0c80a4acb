"""IAM Policy Simulator: the CodeDeploy role can pass every task and execution role.

SimulatePrincipalPolicy evaluates a role's identity policies only (it ignores
key and bucket policies for roles, FIELD_NOTES §11); iam:PassRole has no
resource policy, so here the simulator's answer is the whole answer.
"""

from __future__ import annotations

from verify.context import Context, Unreadable
from verify.report import Result, failed, passed, unreadable

DOC = "docs/services.md, IAM (least privilege)"


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
        answer = ctx.call(
            "iam",
            "simulate_principal_policy",
            PolicySourceArn=source,
            ActionNames=["iam:PassRole"],
            ResourceArns=arns,
            ContextEntries=[
                {
                    "ContextKeyName": "iam:PassedToService",
                    "ContextKeyType": "string",
                    "ContextKeyValues": ["ecs-tasks.amazonaws.com"],
                }
            ],
        )
    except Unreadable as err:
        return [unreadable("iam.pass-role", codedeploy, str(err))]
    decisions = {}
    for result in answer.get("EvaluationResults", []):
        decisions[result.get("EvalResourceName")] = result.get("EvalDecision")
    results = []
    for name, arn in zip(roles, arns, strict=True):
        subject = f"{codedeploy} -> {name}"
        decision = decisions.get(arn, "not evaluated")
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
