"""The plan role's reads through resource policies, made for real.

The IAM Policy Simulator ignores key and bucket policies for roles
(FIELD_NOTES §11), so whether the plan role can read what Terraform reads
in a plan is proven by reading it with the plan role's credentials: STS
AssumeRole, then read-only calls (never a secret's value, an object or a log
event). One line per read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from verify.checks.policies import provider_region
from verify.context import DENIED_CODES, Context, Unreadable
from verify.expected import REFERENCE
from verify.report import Result, failed, not_applicable, passed, unreadable

CHECK = "plan.reads"
DOC = "docs/verify.md, plan.reads"
#: Codes of a resource that is not there (S3 HeadBucket: the HTTP status).
MISSING_CODES = frozenset({"404", "NoSuchBucket", "NotFoundException", "ResourceNotFoundException"})


@dataclass(frozen=True)
class Read:
    #: The resource, by its name in the account.
    subject: str
    service: str
    operation: str
    params: dict
    #: The policy that decides, besides the plan role's own.
    policy: str
    #: None: the environment's.
    region: str | None = None


def plan_role_arn(ctx: Context) -> str:
    """The bootstrap stack's ``plan_role_arn`` output, else the configured name."""
    stack = ctx.synth.stack("bootstrap")
    output = ((stack.data.get("output") or {}).get("plan_role_arn") or {}) if stack else {}
    arn = stack.substitute(str(output.get("value", ""))) if stack else ""
    if arn and not REFERENCE.search(arn):
        return arn
    return f"arn:{ctx.partition}:iam::{ctx.account}:role/{ctx.env.plan_role}"


def reads(ctx: Context) -> Iterator[Read]:
    """What a plan of the environment's own stacks reads through a resource
    policy: each bucket, key, secret and log group they declare."""
    own = [s for name, s in ctx.synth.stacks.items() if name.startswith(f"{ctx.env.prefix}-")]
    for stack in own:
        for res in stack.resources("aws_s3_bucket").values():
            bucket = stack.substitute(str(res.get("bucket", "")))
            policy = f"the bucket policy of {bucket} ({stack.name})"
            yield Read(f"s3://{bucket}", "s3", "head_bucket", {"Bucket": bucket}, policy)
            yield Read(f"s3://{bucket}", "s3", "get_bucket_policy", {"Bucket": bucket}, policy)
    for stack in own:
        keys = {
            id(stack.referenced(a.get("target_key_id", ""))): a
            for a in stack.resources("aws_kms_alias").values()
        }
        for key in stack.resources("aws_kms_key").values():
            alias = keys.get(id(key))
            if alias is None:
                continue
            name = stack.substitute(alias["name"])
            policy = f"the key policy of {name} ({stack.name})"
            region = provider_region(key)
            subject = f"{name} ({region})" if region and region != ctx.region else name
            yield Read(subject, "kms", "describe_key", {"KeyId": name}, policy, region)
            yield Read(
                subject,
                "kms",
                "get_key_policy",
                {"KeyId": name, "PolicyName": "default"},
                policy,
                region,
            )
    for stack in own:
        for res in stack.resources("aws_secretsmanager_secret").values():
            name = stack.substitute(str(res.get("name", "")))
            policy = f"the secret's resource policy ({stack.name} aws_secretsmanager_secret_policy)"
            yield Read(name, "secretsmanager", "describe_secret", {"SecretId": name}, policy)
    for stack in own:
        for res in stack.resources("aws_cloudwatch_log_group").values():
            name = stack.substitute(str(res.get("name", "")))
            yield Read(
                name,
                "logs",
                "describe_log_groups",
                {"logGroupNamePrefix": name},
                "the plan role's policy (log groups have no resource policy)",
                provider_region(res),
            )


def check_plan_reads(ctx: Context) -> list[Result]:
    arn = plan_role_arn(ctx)
    role = arn.rsplit("/", 1)[-1]
    planned = list(reads(ctx))
    if not planned:
        return []
    if f":assumed-role/{role}/" in ctx.caller:
        as_plan = ctx  # already the plan role (a pull-request job)
    else:
        try:
            if ctx.assume is None:
                raise Unreadable("no way to assume a role in this run")
            as_plan = dataclasses.replace(ctx, client=ctx.assume(arn), _cache={})
        except Unreadable as err:
            return [
                unreadable(
                    CHECK,
                    role,
                    f"cannot assume {arn} ({err}): its trust admits GitHub OIDC pull-request "
                    f"jobs of {ctx.env.pipeline.github_repository}; run `python -m verify --env "
                    f"{ctx.env.name} --only plan-reads` there, with the plan role's credentials",
                    DOC,
                )
            ]
    return [_read(as_plan, role, read) for read in planned]


def _read(ctx: Context, role: str, read: Read) -> Result:
    call = f"{read.service} {''.join(p.title() for p in read.operation.split('_'))}"
    try:
        params = dict(read.params)
        if read.operation == "get_key_policy":
            # GetKeyPolicy takes a key id or ARN, not an alias (KMS API reference).
            params["KeyId"] = ctx.call(
                "kms", "describe_key", region=read.region, KeyId=read.params["KeyId"]
            )["KeyMetadata"]["Arn"]
        if read.operation == "describe_log_groups":
            found = {
                "logGroups": ctx.paginate(
                    "logs", "describe_log_groups", "logGroups", region=read.region, **params
                )
            }
        else:
            found = ctx.call(read.service, read.operation, region=read.region, **params)
    except Unreadable as err:
        if read.operation == "get_bucket_policy" and err.code == "NoSuchBucketPolicy":
            return passed(
                CHECK, read.subject, f"{call} as {role}: allowed; the bucket has no policy"
            )
        if err.code in DENIED_CODES:
            return failed(
                CHECK,
                read.subject,
                f"expected {call} allowed to {role}, found {err.code}: look at {read.policy} "
                f"and the plan role's policy (bootstrap stack, {role})",
                DOC,
            )
        if err.code in MISSING_CODES:
            return _not_there(read, call)
        return unreadable(CHECK, read.subject, str(err))
    if read.operation == "describe_log_groups" and not any(
        g.get("logGroupName") == read.subject for g in found.get("logGroups", [])
    ):
        return _not_there(read, call)
    return passed(CHECK, read.subject, f"{call} as {role}: allowed")


def _not_there(read: Read, call: str) -> Result:
    """Not in the account (yet): a pull request's plan meets resources the
    next apply creates. Nothing to read, so nothing proven or refused; the
    checks after an apply (policies, log groups) find a missing one."""
    return not_applicable(CHECK, read.subject, f"{call}: not in the account yet, nothing to read")
