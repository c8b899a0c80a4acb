"""Key, secret and VPC endpoint policies equal in meaning to the synthesized ones.

Both sides are parsed and normalized (lists as sets, single values as
lists, actions and condition keys case-insensitive, an account id as its
root ARN, ``"*"`` as ``{"AWS": "*"}``) and compared statement by statement,
never as text.
"""

from __future__ import annotations

import json

from verify.context import Context, Unreadable
from verify.expected import REFERENCE
from verify.report import Result, failed, passed, unreadable

DOC_KEYS = "docs/data-and-secrets.md, Key policies"
DOC_SECRETS = "docs/data-and-secrets.md, Who can read a secret"
DOC_ENDPOINTS = "docs/pci-responsibility.md, Control matrix (1.3.2, 1.4.2)"


def _values(value) -> list:
    return sorted(
        {json.dumps(v, sort_keys=True) for v in (value if isinstance(value, list) else [value])}
    )


def _principal(value, partition: str) -> object:
    if value == "*":
        value = {"AWS": "*"}
    if not isinstance(value, dict):
        return value
    out = {}
    for kind, ids in value.items():
        ids = ids if isinstance(ids, list) else [ids]
        out[kind] = sorted(
            f"arn:{partition}:iam::{i}:root" if kind == "AWS" and str(i).isdigit() else str(i)
            for i in ids
        )
    return out


def normalize_statement(statement: dict, partition: str = "aws") -> str:
    canon: dict = {}
    for key, value in statement.items():
        if key in ("Action", "NotAction"):
            canon[key] = sorted(
                {str(a).lower() for a in (value if isinstance(value, list) else [value])}
            )
        elif key in ("Principal", "NotPrincipal"):
            canon[key] = _principal(value, partition)
        elif key == "Condition":
            canon[key] = {
                op.lower(): {k.lower(): _values(v) for k, v in block.items()}
                for op, block in value.items()
            }
        elif key in ("Resource", "NotResource"):
            canon[key] = _values(value)
        else:
            canon[key] = value
    return json.dumps(canon, sort_keys=True)


def statements(document: dict, partition: str = "aws") -> dict[str, str]:
    """Sid (or the statement itself) -> normalized statement."""
    body = document.get("Statement", [])
    body = body if isinstance(body, list) else [body]
    out = {}
    for s in body:
        norm = normalize_statement(s, partition)
        out[s.get("Sid") or norm] = norm
    return out


def compare(expected: dict, found: dict, partition: str) -> list[str]:
    """What differs, one phrase per statement; empty when equal in meaning."""
    want, have = statements(expected, partition), statements(found, partition)
    problems = [f"statement {sid} missing" for sid in want if sid not in have]
    problems += [f"unexpected statement {sid[:80]}" for sid in have if sid not in want]
    problems += [
        f"statement {sid} differs: expected {want[sid]}, found {have[sid]}"
        for sid in want
        if sid in have and want[sid] != have[sid]
    ]
    return problems


def _judge(
    check: str, subject: str, stack, text: str, found_text: str | None, doc: str, partition: str
) -> Result:
    resolved = stack.substitute(text)
    token = REFERENCE.search(resolved)
    if token:
        return unreadable(
            check,
            subject,
            f"cannot compare: the synthesized policy refers to "
            f"{token.group(0)}, which only Terraform resolves",
        )
    if not found_text:
        return failed(check, subject, "expected the synthesized policy, found none", doc)
    problems = compare(json.loads(resolved), json.loads(found_text), partition)
    if problems:
        return failed(
            check,
            subject,
            "expected the synthesized policy; "
            + "; ".join(problems)
            + " (apply the stack; a change outside Terraform is drift to investigate)",
            doc,
        )
    return passed(check, subject, "equal in meaning to the synthesized policy")


def check_key_policies(ctx: Context) -> list[Result]:
    results = []
    for stack in ctx.synth.stacks.values():
        aliases = {}
        for alias_res in stack.resources("aws_kms_alias").values():
            target = stack.referenced(alias_res.get("target_key_id", ""))
            if target is not None:
                aliases[id(target)] = stack.substitute(alias_res["name"])
        for key in stack.resources("aws_kms_key").values():
            alias = aliases.get(id(key))
            if alias is None or "policy" not in key:
                continue
            # A key of another region (the backup copy vault's) has the same
            # alias there: read it where its provider creates it.
            region = provider_region(key) or ctx.region
            subject = alias if region == ctx.region else f"{alias} ({region})"
            try:
                key_id = ctx.call("kms", "describe_key", KeyId=alias, region=region)["KeyMetadata"][
                    "KeyId"
                ]
                found = ctx.call(
                    "kms", "get_key_policy", KeyId=key_id, PolicyName="default", region=region
                )["Policy"]
            except Unreadable as err:
                results.append(unreadable("policy.key", subject, str(err)))
                continue
            results.append(
                _judge("policy.key", subject, stack, key["policy"], found, DOC_KEYS, ctx.partition)
            )
    return results


def provider_region(resource: dict) -> str | None:
    """The region of a resource created by an aliased provider: the stacks
    name each other-region provider after its region (``aws.eu-central-1``,
    ``EnvironmentStack.provider_in``); None for the default provider."""
    provider = resource.get("provider") or ""
    return provider.removeprefix("aws.") if provider.startswith("aws.") else None


def check_secret_policies(ctx: Context) -> list[Result]:
    results = []
    for stack in ctx.synth.stacks.values():
        for res in stack.resources("aws_secretsmanager_secret_policy").values():
            secret = stack.referenced(res.get("secret_arn", ""))
            name = stack.substitute(secret["name"]) if secret else str(res.get("secret_arn"))
            try:
                found = ctx.call("secretsmanager", "get_resource_policy", SecretId=name).get(
                    "ResourcePolicy"
                )
            except Unreadable as err:
                results.append(unreadable("policy.secret", name, str(err)))
                continue
            results.append(
                _judge(
                    "policy.secret", name, stack, res["policy"], found, DOC_SECRETS, ctx.partition
                )
            )
    return results


def check_endpoint_policies(ctx: Context) -> list[Result]:
    stack = ctx.synth.stack("network")
    if stack is None:
        return []
    results = []
    for res in stack.resources("aws_vpc_endpoint").values():
        name = (res.get("tags") or {}).get("Name") or res.get("service_name", "?")
        if "policy" not in res:
            continue
        try:
            found = ctx.call(
                "ec2", "describe_vpc_endpoints", Filters=[{"Name": "tag:Name", "Values": [name]}]
            ).get("VpcEndpoints", [])
        except Unreadable as err:
            results.append(unreadable("policy.endpoint", name, str(err)))
            continue
        if not found:
            results.append(
                failed(
                    "policy.endpoint",
                    name,
                    f"expected the VPC endpoint, found none (apply {stack.name})",
                    DOC_ENDPOINTS,
                )
            )
            continue
        results.append(
            _judge(
                "policy.endpoint",
                f"{name} ({found[0].get('VpcEndpointId')})",
                stack,
                res["policy"],
                found[0].get("PolicyDocument"),
                DOC_ENDPOINTS,
                ctx.partition,
            )
        )
    return results
