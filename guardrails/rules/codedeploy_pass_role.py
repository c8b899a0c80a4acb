"""PAY-CD-003: the service role of an ECS deployment group may pass the task
role and the execution role of its service's task definition to ECS tasks.

CodeDeploy's CreateTaskSet hands both roles of the revision to ECS
(iam:PassRole). The managed policy our deployment groups use,
AWSCodeDeployRoleForECSLimited, lets CodeDeploy pass only roles named like
ECS's default execution role; the ECS developer guide says to add
iam:PassRole for the task and execution roles. Without it every release is
denied at its first step, long after a green plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

from guardrails.rules import policies, tf
from guardrails.rules.model import Finding, Rule, RuleContext

GROUP = "aws_codedeploy_deployment_group"
SERVICE = "aws_ecs_service"
TASK_DEFINITION = "aws_ecs_task_definition"
ROLE = "aws_iam_role"
ECS_TASKS = "ecs-tasks.amazonaws.com"
#: The task definition arguments naming the roles CreateTaskSet passes.
TASK_ROLE_ARGUMENTS = ("task_role_arn", "execution_role_arn")

#: iam:PassRole of the AWS managed policies a CodeDeploy role for ECS may
#: carry: policy name -> role ARN patterns, each only to ecs-tasks.amazonaws.com.
#: - AWSCodeDeployRoleForECSLimited, version v3 (default since 2019-09-23):
#:   https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSCodeDeployRoleForECSLimited.html
#: - AWSCodeDeployRoleForECS: "*" (ECS developer guide, "Amazon ECS CodeDeploy IAM Role",
#:   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/codedeploy_IAM_role.html)
MANAGED_POLICY_PASS_ROLE: dict[str, tuple[str, ...]] = {
    "AWSCodeDeployRoleForECSLimited": (
        "arn:aws:iam::*:role/ecsTaskExecutionRole",
        "arn:aws:iam::*:role/ECSTaskExecution*",
    ),
    "AWSCodeDeployRoleForECS": ("*",),
}
_MANAGED_POLICY_ARN = re.compile(r"^arn:[^:]+:iam::aws:policy/(?:[^/]+/)*(?P<name>[^/]+)$")
_ROLE_ARN = re.compile(r"^arn:[^:]+:iam::[^:]+:role/(?P<path_name>.+)$")


@dataclass(frozen=True)
class PassedRole:
    """A role a task definition names: how it is written (``value``), and
    what is known of it (``path_name``: ``<path without the leading
    slash><name>``, None when unknown at synthesis)."""

    value: str
    path_name: str | None


def _role_body(stack: dict, value) -> dict | None:
    ref = tf.reference(value, ROLE)
    if ref is not None:
        return tf.resources(stack, ROLE).get(ref[1])
    ref = tf.reference(value, ROLE, data=True)
    if ref is not None:
        return tf.data_sources(stack, ROLE).get(ref[1])
    return None


def _path_name(body: dict) -> str | None:
    name = body.get("name")
    if not isinstance(name, str) or tf.is_expression(name):
        return None
    path = body.get("path") or "/"
    return f"{str(path).lstrip('/')}{name}"


def passed_role(stack: dict, value) -> PassedRole | None:
    """The role ``value`` (a role reference or literal role ARN) names;
    None for anything else (another expression)."""
    if not isinstance(value, str):
        return None
    body = _role_body(stack, value)
    if body is not None:
        return PassedRole(value=value, path_name=_path_name(body))
    match = _ROLE_ARN.match(value) if not tf.is_expression(value) else None
    if match:
        return PassedRole(value=value, path_name=match.group("path_name"))
    return None


def _role_name_in_stack(stack: dict, value) -> str | None:
    """Resource name of the ``aws_iam_role`` of this stack ``value`` (a
    reference, a role ARN or a role name) points at."""
    if not isinstance(value, str):
        return None
    ref = tf.reference(value, ROLE)
    if ref is not None:
        return ref[1] if ref[1] in tf.resources(stack, ROLE) else None
    if tf.is_expression(value):
        return None
    match = _ROLE_ARN.match(value)
    wanted = match.group("path_name").rsplit("/", 1)[-1] if match else value
    for name, body in tf.resources(stack, ROLE).items():
        if body.get("name") == wanted:
            return name
    return None


def _iam_pattern(pattern: str) -> re.Pattern[str]:
    """IAM's wildcards (``*``, ``?``), case-sensitive, nothing else special."""
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern),
        re.DOTALL,
    )


def resource_matches(pattern: str, role: PassedRole) -> bool:
    """Whether a statement's ``Resource`` entry covers ``role``: the same
    reference or ARN, ``*``, or a role ARN pattern whose path and name part
    matches. Partition and account are not compared: at synthesis they are
    often unknown (``${data.aws_caller_identity...}``), and an ARN of
    another account names no role of this one."""
    if pattern == role.value or pattern == "*":
        return True
    match = _ROLE_ARN.match(pattern)
    if match is None or role.path_name is None:
        return False
    return bool(_iam_pattern(match.group("path_name")).fullmatch(role.path_name))


def _allows_ecs_tasks(statement: dict) -> bool:
    """False when an iam:PassedToService condition leaves out ECS tasks."""
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return True
    for operator, block in condition.items():
        if not isinstance(block, dict):
            continue
        for key, values in block.items():
            if str(key).lower() != "iam:passedtoservice":
                continue
            op = str(operator).lower().split(":")[-1].removesuffix("ifexists")
            if op not in ("stringequals", "stringlike"):
                return False
            wanted = [str(v) for v in tf.as_list(values)]
            if op == "stringequals" and ECS_TASKS not in wanted:
                return False
            if op == "stringlike" and not any(fnmatchcase(ECS_TASKS, v) for v in wanted):
                return False
    return True


def _passes(statement: dict, role: PassedRole) -> bool:
    if not any(fnmatchcase("iam:passrole", a.lower()) for a in policies.actions(statement)):
        return False
    resources = [str(r) for r in tf.as_list(statement.get("Resource"))]
    return any(resource_matches(r, role) for r in resources)


@dataclass
class RolePolicies:
    """What the policies of one role say, as far as synthesis can read them."""

    statements: list[dict]
    unreadable: list[str]


def _attached(stack: dict, policy_arn, where: str, found: RolePolicies) -> None:
    if not isinstance(policy_arn, str):
        return
    managed = _MANAGED_POLICY_ARN.match(policy_arn)
    if managed is not None:
        patterns = MANAGED_POLICY_PASS_ROLE.get(managed.group("name"))
        if patterns is not None:
            found.statements.append(
                {
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": list(patterns),
                    "Condition": {"StringLike": {"iam:PassedToService": [ECS_TASKS]}},
                }
            )
        return  # other AWS managed policies: none grants our roles to ECS tasks
    ref = tf.reference(policy_arn, "aws_iam_policy")
    body = tf.resources(stack, "aws_iam_policy").get(ref[1]) if ref else None
    parsed = policies.statements(body.get("policy")) if body else None
    if parsed is None:
        found.unreadable.append(where)
    else:
        found.statements += parsed


def role_policies(stack: dict, role_name: str) -> RolePolicies:
    """Statements of every policy of the ``aws_iam_role`` ``role_name``:
    its ``aws_iam_role_policy`` resources, inline ``inline_policy`` blocks,
    attachments (``aws_iam_role_policy_attachment``, ``managed_policy_arns``)
    of AWS managed policies (``MANAGED_POLICY_PASS_ROLE``) or of an
    ``aws_iam_policy`` of this stack."""
    role = tf.resources(stack, ROLE)[role_name]
    found = RolePolicies(statements=[], unreadable=[])
    for _, name, body in tf.each(stack, "aws_iam_role_policy"):
        if _role_name_in_stack(stack, body.get("role")) != role_name:
            continue
        parsed = policies.statements(body.get("policy"))
        if parsed is None:
            found.unreadable.append(tf.address("aws_iam_role_policy", name))
        else:
            found.statements += parsed
    for inline in tf.blocks(role.get("inline_policy")):
        parsed = policies.statements(inline.get("policy"))
        if parsed is None:
            found.unreadable.append(f"{tf.address(ROLE, role_name)}.inline_policy")
        else:
            found.statements += parsed
    for _, name, body in tf.each(stack, "aws_iam_role_policy_attachment"):
        if _role_name_in_stack(stack, body.get("role")) == role_name:
            where = tf.address("aws_iam_role_policy_attachment", name)
            _attached(stack, body.get("policy_arn"), where, found)
    for arn in tf.as_list(role.get("managed_policy_arns")):
        _attached(stack, arn, f"{tf.address(ROLE, role_name)}.managed_policy_arns", found)
    return found


def may_pass(found: RolePolicies, role: PassedRole) -> bool:
    """Some Allow statement passes ``role`` to ECS tasks and no Deny
    statement refuses it."""
    applying = [s for s in found.statements if _passes(s, role) and _allows_ecs_tasks(s)]
    if any(s.get("Effect") == "Deny" for s in applying):
        return False
    return any(policies.is_allow(s) for s in applying)


def _task_definition_of(stack: dict, group: dict) -> tuple[str, dict] | None:
    """The task definition of this stack that the group's ECS service runs."""
    service = tf.block(group.get("ecs_service")).get("service_name")
    service_name = tf.resolve(stack, service, SERVICE, "name")
    if service_name is None:
        return None
    task_definition = tf.resources(stack, SERVICE)[service_name].get("task_definition")
    ref = tf.reference(task_definition, TASK_DEFINITION)
    if ref is None or ref[1] not in tf.resources(stack, TASK_DEFINITION):
        return None  # a family:revision string or another stack's: nothing to read
    return ref[1], tf.resources(stack, TASK_DEFINITION)[ref[1]]


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    findings = []
    for _, name, group in tf.each(stack, GROUP):
        if not tf.blocks(group.get("ecs_service")):
            continue  # EC2/Lambda deployment groups pass no task roles
        found_task = _task_definition_of(stack, group)
        if found_task is None:
            continue
        td_name, task_definition = found_task
        where = tf.address(GROUP, name)
        wanted = [
            (argument, task_definition.get(argument))
            for argument in TASK_ROLE_ARGUMENTS
            if task_definition.get(argument) is not None
        ]
        if not wanted:
            continue
        service_role = _role_name_in_stack(stack, group.get("service_role_arn"))
        if service_role is None:
            findings.append(
                RULE.finding(
                    where,
                    f"service_role_arn {group.get('service_role_arn')!r} is not an aws_iam_role "
                    "of this stack, so whether it may pass the task roles cannot be checked",
                    "create the CodeDeploy service role in the same stack as the deployment group",
                )
            )
            continue
        found = role_policies(stack, service_role)
        for argument, value in wanted:
            role = passed_role(stack, value)
            if role is None:
                findings.append(
                    RULE.finding(
                        where,
                        f"{tf.address(TASK_DEFINITION, td_name)}.{argument} is {value!r}, not a "
                        "role reference or role ARN, so whether CodeDeploy may pass it cannot "
                        "be checked",
                        "set it to an aws_iam_role's arn",
                    )
                )
            elif not may_pass(found, role):
                unreadable = (
                    f" (unreadable: {', '.join(found.unreadable)})" if found.unreadable else ""
                )
                findings.append(
                    RULE.finding(
                        where,
                        f"service role {tf.address(ROLE, service_role)} may not pass "
                        f"{argument} {value} of {tf.address(TASK_DEFINITION, td_name)} to "
                        f"{ECS_TASKS}{unreadable}, so CreateTaskSet is denied and every "
                        "release fails",
                    )
                )
    return findings


RULE = Rule(
    id="PAY-CD-003",
    summary="The service role of an ECS deployment group may pass its service's task role and execution role to ecs-tasks.amazonaws.com.",
    why="CodeDeploy passes both roles of the revision to ECS when it creates the replacement "
    "task set; AWSCodeDeployRoleForECSLimited passes only role/ecsTaskExecutionRole and "
    "role/ECSTaskExecution*, so without an iam:PassRole grant on the services' roles every "
    "release is denied at its first step (ECS developer guide, Amazon ECS CodeDeploy IAM Role).",
    fix="Allow iam:PassRole on exactly the service's task and execution role ARNs with "
    "Condition StringEquals iam:PassedToService = ecs-tasks.amazonaws.com on the CodeDeploy "
    "role (CodeDeployEcsApplication.allow_pass_role).",
    check=check,
)
