"""PAY-TF-001: remote state is encrypted with the state key and locked.

The rule reads ``terraform.backend`` of the stack JSON (cdktf writes
``{"s3": {...}}`` there, escape-hatch overrides such as
``terraform.backend.s3.use_lockfile`` included) and ``terraform.cloud``.
"""

from __future__ import annotations

from guardrails.rules import tf
from guardrails.rules.model import Finding, Rule, RuleContext

#: The bootstrap stack keeps its state locally (it creates the state bucket).
LOCAL = "local"
REMOTE = "s3"
FIX = (
    "use the environment's S3 backend (stacks/base.py PlatformStack): encrypt = true, "
    "use_lockfile = true, kms_key_id = the state key's alias or ARN"
)


def _s3_problems(config: dict) -> list[str]:
    problems = []
    if not tf.is_true(config.get("encrypt")):
        problems.append(f"encrypt is {config.get('encrypt')!r}, not true")
    if not tf.is_true(config.get("use_lockfile")):
        problems.append(
            f"use_lockfile is {config.get('use_lockfile')!r}, not true (S3-native locking)"
        )
    key = config.get("kms_key_id")
    if not isinstance(key, str) or not key.strip():
        problems.append("kms_key_id is absent, so state is written with SSE-S3")
    elif tf.is_expression(key):
        problems.append(f"kms_key_id is an expression ({key}); backend values must be literal")
    elif "alias/aws/" in key:
        problems.append(f"kms_key_id is the AWS-managed key {key!r}, not the state key")
    return problems


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    terraform = stack.get("terraform") or {}
    findings = []
    for kind, config in (terraform.get("backend") or {}).items():
        where = f"terraform.backend.{kind}"
        if kind == LOCAL:
            continue
        if kind != REMOTE:
            findings.append(
                RULE.finding(
                    where,
                    f"keeps state in a {kind} backend; only s3 (or local for the state "
                    "bootstrap) is allowed",
                    FIX,
                )
            )
            continue
        problems = _s3_problems(tf.block(config))
        if problems:
            findings.append(RULE.finding(where, "; ".join(problems), FIX))
    if terraform.get("cloud") is not None:
        findings.append(
            RULE.finding(
                "terraform.cloud",
                "keeps state in HCP Terraform (cloud block); only s3 (or local "
                "for the state bootstrap) is allowed",
                FIX,
            )
        )
    return findings


RULE = Rule(
    id="PAY-TF-001",
    summary="Every remote backend is S3 with encrypt, use_lockfile and kms_key_id; "
    "a local backend (state bootstrap) is allowed, no other type.",
    why="State holds every resource attribute, secrets included: without kms_key_id "
    "Terraform writes it with SSE-S3 (overriding the bucket's KMS default), and without "
    "a lock two applies corrupt it.",
    fix="Use the environment's S3 backend (PlatformStack): encrypt = true, use_lockfile = "
    "true, kms_key_id = the state key alias.",
    check=check,
)
