"""PAY-LOG-003: a log resource policy never makes EventBridge's stream
creation depend on ``aws:SourceArn``.

EventBridge delivers a rule's events to a log group by calling
``logs:CreateLogStream`` and then ``logs:PutLogEvents`` under the log
group's resource policy (EventBridge user guide, "CloudWatch Logs
permissions",
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-cloudwatchlogs-permissions;
its sample has no condition). The rule's ARN arrives as ``aws:SourceArn``
with PutLogEvents only: AWS's sample that conditioned both was split into
two statements for that reason (aws-samples/serverless-patterns PR #618), and the provider's example for
``aws_cloudwatch_event_target`` was corrected the same way
(hashicorp/terraform-provider-aws #26628). A statement that conditions
CreateLogStream on it is applied without error and nothing is ever
delivered.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from guardrails.rules import policies, tf
from guardrails.rules.model import Finding, Rule, RuleContext

RESOURCE = "aws_cloudwatch_log_resource_policy"
EVENTS = "events.amazonaws.com"


def _allows_create_log_stream(statement: dict) -> bool:
    return any(fnmatchcase("logs:createlogstream", a.lower()) for a in policies.actions(statement))


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    findings = []
    for _, name, body in tf.each(stack, RESOURCE):
        parsed = policies.statements(body.get("policy_document"))
        for statement in parsed or ():
            if (
                policies.is_allow(statement)
                and EVENTS in policies.principals(statement, "Service")
                and _allows_create_log_stream(statement)
                and "aws:sourcearn" in policies.condition_keys(statement)
            ):
                findings.append(
                    RULE.finding(
                        tf.address(RESOURCE, name),
                        f"statement {statement.get('Sid', '(no Sid)')!r} allows "
                        f"{EVENTS} logs:CreateLogStream only with aws:SourceArn, which "
                        "EventBridge does not send when it creates a stream: no event is delivered",
                    )
                )
    return findings


RULE = Rule(
    id="PAY-LOG-003",
    summary="No log resource policy conditions EventBridge's logs:CreateLogStream on aws:SourceArn.",
    why="EventBridge sends the rule's ARN as aws:SourceArn with PutLogEvents only (AWS sample "
    "aws-samples/serverless-patterns PR #618; terraform-provider-aws #26628): with the condition "
    "on CreateLogStream the policy applies cleanly and the log group never receives an event, "
    "so the deployments table and its audit trail stay empty.",
    fix="Split the statement: logs:CreateLogStream on the log group's streams (<group ARN>:*) "
    "without a condition, logs:PutLogEvents with ArnEquals aws:SourceArn = the rule "
    "(modules.observability.deployment_events.delivery_statements).",
    check=check,
)
