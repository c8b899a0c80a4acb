"""EventBridge reaches its SNS topics under KMS.

A rule delivering to a KMS-encrypted topic needs two grants EventBridge
cannot report until an event fails: the topic policy's ``sns:Publish`` to
``events.amazonaws.com`` and the key policy's ``kms:GenerateDataKey*`` and
``kms:Decrypt`` to it (EventBridge user guide, troubleshooting, "SNS topic
encrypted with AWS KMS":
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-troubleshooting.html).
Both live policies are parsed and evaluated for the request EventBridge
makes (verify/iam_eval.py): to SNS with ``aws:SourceArn`` the rule, to KMS
with the topic's encryption context and no ``aws:SourceArn`` (FIELD_NOTES
§11). Then the rules' ``AWS/Events FailedInvocations`` must be 0 over the
window (GetMetricData): a failure the policies do not explain shows there.
"""

from __future__ import annotations

import json
from datetime import timedelta

from verify.checks.policies import provider_region
from verify.context import Context, Unreadable
from verify.iam_eval import Unsupported, allowed
from verify.report import Result, failed, passed, unreadable

CHECK = "events.topic"
DOC = "docs/decisions.md D51 (failed and stopped deployments on the topic)"
EVENTS = "events.amazonaws.com"
#: What SNS asks KMS for on EventBridge's behalf (a GenerateDataKey* grant covers it).
KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")


def topic_rules(ctx: Context) -> dict[tuple[str, str, bool], list[str]]:
    """(topic name, region, encrypted in the synthesis) -> the names of the
    rules targeting it, every stack."""
    found: dict[tuple[str, str, bool], list[str]] = {}
    for stack in ctx.synth.stacks.values():
        for target in stack.resources("aws_cloudwatch_event_target").values():
            topic = stack.referenced(target.get("arn", ""))
            if topic is None or "${aws_sns_topic." not in target.get("arn", ""):
                continue
            key = (
                stack.substitute(str(topic["name"])),
                provider_region(topic) or ctx.region,
                bool(topic.get("kms_master_key_id")),
            )
            found.setdefault(key, []).append(stack.substitute(str(target.get("rule", ""))))
    return found


def check_event_topics(ctx: Context) -> list[Result]:
    results = []
    for (name, region, encrypted), rules in topic_rules(ctx).items():
        topic_arn = f"arn:{ctx.partition}:sns:{region}:{ctx.account}:{name}"
        rule_arns = [f"arn:{ctx.partition}:events:{region}:{ctx.account}:rule/{r}" for r in rules]
        try:
            problems = _policies(ctx, region, topic_arn, rule_arns, encrypted)
            failures = _failed_invocations(ctx, region, rules)
        except Unreadable as err:
            results.append(unreadable(CHECK, name, str(err)))
            continue
        except Unsupported as err:
            results.append(
                unreadable(
                    CHECK, name, f"cannot evaluate the live policy ({err}): judge it by hand"
                )
            )
            continue
        problems += [
            f"rule {rule} FailedInvocations {count:g} in the last {ctx.datapoints_minutes} min"
            for rule, count in failures.items()
            if count
        ]
        if problems:
            results.append(
                failed(
                    CHECK,
                    name,
                    "expected EventBridge to publish (sns:Publish from its rules, "
                    f"{' and '.join(KEY_ACTIONS)} on the topic's key), found "
                    + "; ".join(problems)
                    + " (a key policy is a person's apply of its stack: D49)",
                    DOC,
                )
            )
        else:
            results.append(
                passed(
                    CHECK,
                    name,
                    f"{EVENTS} may publish from {', '.join(rules)}"
                    + (" and use the topic's key" if encrypted else "")
                    + f"; FailedInvocations 0 in the last {ctx.datapoints_minutes} min",
                )
            )
    return results


def _statements(text: str | None) -> list[dict]:
    body = json.loads(text).get("Statement", []) if text else []
    return body if isinstance(body, list) else [body]


def _policies(
    ctx: Context, region: str, topic_arn: str, rule_arns: list[str], encrypted: bool
) -> list[str]:
    attributes = ctx.call("sns", "get_topic_attributes", region=region, TopicArn=topic_arn)[
        "Attributes"
    ]
    topic_policy = _statements(attributes.get("Policy"))
    problems = [
        f"the topic policy does not allow sns:Publish from {arn}"
        for arn in rule_arns
        if not allowed(
            topic_policy,
            "sns:Publish",
            topic_arn,
            service=EVENTS,
            **{
                "aws:SourceArn": arn,
                "aws:SourceAccount": ctx.account,
                "aws:SecureTransport": "true",
            },
        )
    ]
    key_id = attributes.get("KmsMasterKeyId")
    if not key_id:
        if encrypted:
            problems.append("the topic is not encrypted (the synthesis sets kms_master_key_id)")
        return problems
    key = ctx.call("kms", "describe_key", region=region, KeyId=key_id)["KeyMetadata"]
    key_policy = _statements(
        ctx.call("kms", "get_key_policy", region=region, KeyId=key["KeyId"], PolicyName="default")[
            "Policy"
        ]
    )
    encryption_context = {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}
    problems += [
        f"the policy of key {key['KeyId']} does not allow {action} to {EVENTS} "
        "with the topic's encryption context"
        for action in KEY_ACTIONS
        if not allowed(key_policy, action, key["Arn"], service=EVENTS, **encryption_context)
    ]
    return problems


def _failed_invocations(ctx: Context, region: str, rules: list[str]) -> dict[str, float]:
    """rule -> the sum of its FailedInvocations over the window (no data: 0)."""
    window = timedelta(minutes=ctx.datapoints_minutes)
    queries = [
        {
            "Id": f"r{i}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/Events",
                    "MetricName": "FailedInvocations",
                    "Dimensions": [{"Name": "RuleName", "Value": rule}],
                },
                "Period": 300,
                "Stat": "Sum",
            },
            "ReturnData": True,
        }
        for i, rule in enumerate(rules)
    ]
    data = ctx.call(
        "cloudwatch",
        "get_metric_data",
        region=region,
        MetricDataQueries=queries,
        StartTime=ctx.now - window,
        EndTime=ctx.now,
    )
    sums = {r["Id"]: sum(r.get("Values", [])) for r in data.get("MetricDataResults", [])}
    return {rule: sums.get(f"r{i}", 0.0) for i, rule in enumerate(rules)}
