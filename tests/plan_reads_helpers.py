"""Whether the plan role can make every call of modules/plan_reads.py: its
own policy must allow each (verify/iam_eval.py), and no resource policy of
the environment's stacks may deny it; a KMS key policy must also allow it
(a key policy is required for any access to a key: AWS KMS developer guide,
https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from modules.plan_reads import Reads
from verify.iam_eval import allowed, applies, as_list

PARTITION_TOKEN = "${data.aws_partition.partition.partition}"
#: Resource type -> (its policy attribute, the IAM service it governs).
RESOURCE_POLICIES = {
    "aws_s3_bucket_policy": ("policy", "s3"),
    "aws_kms_key": ("policy", "kms"),
    "aws_secretsmanager_secret_policy": ("policy", "secretsmanager"),
    "aws_backup_vault_policy": ("policy", "backup"),
    "aws_sns_topic_policy": ("policy", "sns"),
}


def resolved(text: str, stack: dict) -> str:
    """``text`` with the partition token as ``aws`` and each
    ``${aws_s3_bucket.<id>.arn}`` of ``stack`` as the bucket's ARN."""
    text = text.replace(PARTITION_TOKEN, "aws")
    for rid, bucket in stack.get("resource", {}).get("aws_s3_bucket", {}).items():
        text = text.replace("${aws_s3_bucket." + rid + ".arn}", f"arn:aws:s3:::{bucket['bucket']}")
    return text


def plan_policy(bootstrap: dict) -> dict:
    """The plan role's inline policy in the bootstrap stack's JSON."""
    [policy] = [
        p["policy"]
        for key, p in bootstrap["resource"]["aws_iam_role_policy"].items()
        if key.startswith("pipeline_plan-policy")
    ]
    return json.loads(resolved(policy, bootstrap))


def buckets(stack_jsons: Iterable[dict]) -> list[str]:
    """The bucket ARNs the stacks manage."""
    return [
        f"arn:aws:s3:::{b['bucket']}"
        for stack in stack_jsons
        for b in stack.get("resource", {}).get("aws_s3_bucket", {}).values()
    ]


def state_objects(stack_jsons: Iterable[dict]) -> list[str]:
    """The upstream state objects the stacks read (terraform_remote_state)."""
    return [
        f"arn:aws:s3:::{data['config']['bucket']}/{data['config']['key']}"
        for stack in stack_jsons
        for data in stack.get("data", {}).get("terraform_remote_state", {}).values()
    ]


def calls_the_policy_denies(
    statements: list[dict],
    reads: Mapping[str, Reads],
    bucket_arns: list[str],
    state_arns: list[str],
) -> list[str]:
    """``<address>: <action> on <resource>`` for each call of ``reads`` that
    the identity policy ``statements`` do not allow; ``account`` and ``key``
    calls are checked on any resource (``*``)."""
    on = {"account": ["*"], "key": ["*"], "bucket": bucket_arns, "state": state_arns}
    return [
        f"{address}: {action} on {resource}"
        for address, row in reads.items()
        for action in row.actions
        for resource in on[row.on]
        if not allowed(statements, action, resource)
    ]


def _for_the_plan_role(statement: dict, plan_arn: str, root: str) -> bool:
    principal = statement.get("Principal", "*")
    if principal == "*":
        return True
    names = as_list(principal.get("AWS", []))
    return any(name in ("*", root, plan_arn) for name in names)


def calls_resource_policies_block(
    stack_jsons: Iterable[dict], reads: Mapping[str, Reads], plan_role: str
) -> list[str]:
    """``<policy>: <action>`` for each call of ``reads`` a resource policy of
    the stacks denies the plan role, or (a key policy) does not allow it.
    Statements are applied whatever their Resource (the policy's own
    resource); the request is over TLS from the plan role's account."""
    blocked = []
    for stack in stack_jsons:
        for policy_type, (attribute, service) in RESOURCE_POLICIES.items():
            for rid, resource in stack.get("resource", {}).get(policy_type, {}).items():
                document = json.loads(resolved(resource[attribute], stack))
                statements = document["Statement"]
                roots = [
                    name
                    for s in statements
                    if isinstance(s.get("Principal"), dict)
                    for name in as_list(s["Principal"].get("AWS", []))
                    if str(name).endswith(":root")
                ]
                root = roots[0] if roots else ""
                account = root.split(":")[4] if root else ""
                plan_arn = f"arn:aws:iam::{account}:role/{plan_role}"
                context = {
                    "aws:PrincipalArn": plan_arn,
                    "aws:PrincipalAccount": account,
                    "aws:SecureTransport": "true",
                    "kms:CallerAccount": account,
                }
                mine = [
                    {**s, "Resource": "*"}
                    for s in statements
                    if _for_the_plan_role(s, plan_arn, root)
                ]
                # Of KMS, only the calls on a key (ListAliases is not one).
                actions = sorted(
                    {
                        a
                        for row in reads.values()
                        if service != "kms" or row.on == "key"
                        for a in row.actions
                        if a.startswith(f"{service}:")
                    }
                )
                for action in actions:
                    effects = {s["Effect"] for s in mine if applies(s, action, "*", context)}
                    if "Deny" in effects or (service == "kms" and "Allow" not in effects):
                        blocked.append(f"{policy_type}.{rid}: {action}")
    return blocked
