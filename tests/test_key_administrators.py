"""Who may manage the keys (#23, item 5; docs/decisions.md D46).

KMS runs a lockout safety check on CreateKey and PutKeyPolicy: the caller
must be allowed ``kms:PutKeyPolicy`` by the new policy, or the call fails
(AWS KMS API reference, CreateKey, ``BypassPolicyLockoutSafetyCheck``:
https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html).
The people who apply stacks by hand (D42) are IAM Identity Center roles,
``role/aws-reserved/sso.amazonaws.com/<region>/AWSReservedSSO_<set>_<suffix>``
(https://docs.aws.amazon.com/singlesignon/latest/userguide/referencingpermissionsets.html),
and a key policy ``Principal`` takes no wildcards
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html):
the statements name the account and narrow it with ``ArnLike
aws:PrincipalArn``, whose ``*`` also matches ``/``
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN).

The tests evaluate every synthesized key policy the way KMS does for an
account principal whose IAM policies allow the action: allowed by some
Allow statement, denied by none.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from config.model import (
    KEY_POLICY_ADMINISTRATOR_SSO,
    AccessConfig,
    validate_environment,
)
from config.naming import key_policy_administrators
from guardrails.rules import kms_no_self_grants
from modules.kms import KEY_ADMINISTRATOR_ACTIONS
from tests.fixtures.example import DEV

KEY_STACKS = ("bootstrap", "security", "baseline")
#: Actions that use a key or hand its use to someone: no administrator
#: statement may allow one (a grant gives Decrypt unseen in the policy).
USE_OR_GRANT = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GenerateDataKeyPair",
    "kms:CreateGrant",
    "kms:PutKeyPolicy",
)
PARTITION = "${data.aws_partition.partition.partition}"


def account_of(env) -> str:
    return env.account_id or "${data.aws_caller_identity.current.account_id}"


def keys_of(stacks, environments):
    """(env, stack name, key address, statements) of every synthesized key,
    with the environment whose access configuration wrote its policy."""
    for env in environments.values():
        for part in KEY_STACKS:
            name = f"{env.prefix}-{part}"
            if name not in stacks:
                continue
            for address, body in stacks[name].resources("aws_kms_key").items():
                yield env, name, address, json.loads(body["policy"])["Statement"]


def _matches(value: str, patterns) -> bool:
    return any(
        fnmatchcase(value, p) for p in ([patterns] if isinstance(patterns, str) else patterns)
    )


def _applies(statement: dict, action: str, principal_arn: str) -> bool:
    if not _matches(action, statement["Action"]):
        return False
    for operator, block in statement.get("Condition", {}).items():
        for key, patterns in block.items():
            if key != "aws:PrincipalArn":
                return False  # other conditions (kms:ViaService...) do not hold for a person
            if operator == "ArnLike" and not _matches(principal_arn, patterns):
                return False
            if operator == "ArnNotLike" and _matches(principal_arn, patterns):
                return False
    return True


def allowed(statements: list[dict], action: str, principal_arn: str) -> bool:
    """KMS's answer for a principal of the account whose IAM policies allow
    ``action``: some Allow applies and no Deny does."""
    effects = {s["Effect"] for s in statements if _applies(s, action, principal_arn)}
    return "Allow" in effects and "Deny" not in effects


def example_principal(env, pattern: str) -> str:
    """An ARN the pattern matches: each ``*`` a region or a suffix, each ``?`` a letter."""
    concrete = pattern.replace("/*/", "/eu-west-1/").replace("*", "0123456789abcdef")
    return f"arn:{PARTITION}:iam::{account_of(env)}:role/{concrete.replace('?', 'a')}"


def test_every_key_lets_whoever_applies_it_pass_the_lockout_check(stacks, environments):
    """The break-glass role and every configured person may PutKeyPolicy on
    every key (so CreateKey passes the lockout check)."""
    checked = 0
    for env, name, address, statements in keys_of(stacks, environments):
        for entry in key_policy_administrators(env):
            principal = example_principal(env, entry)
            assert allowed(statements, "kms:PutKeyPolicy", principal), (name, address, principal)
            assert allowed(statements, "kms:DescribeKey", principal), (name, address, principal)
            checked += 1
    assert checked


def test_other_people_of_the_account_cannot_change_a_key_policy(stacks, environments):
    for env, name, address, statements in keys_of(stacks, environments):
        for other in (
            "aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_ReadOnlyAccess_0123456789abcdef",
            "payment-developer",
            *env.access.key_administrator_role_names,
        ):
            if other in key_policy_administrators(env):
                continue
            principal = f"arn:{PARTITION}:iam::{account_of(env)}:role/{other}"
            for action in ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey"):
                assert not allowed(statements, action, principal), (name, address, other, action)


def test_key_policy_principals_are_the_account_never_a_pattern(stacks, environments):
    """Principal takes no wildcards: patterns live in aws:PrincipalArn only."""
    for env, name, address, statements in keys_of(stacks, environments):
        root = f"arn:{PARTITION}:iam::{account_of(env)}:root"
        for statement in statements:
            aws = (
                statement["Principal"].get("AWS")
                if isinstance(statement["Principal"], dict)
                else None
            )
            if aws is not None:
                assert aws == root, (name, address, statement["Sid"])


def test_key_administrators_hold_exactly_the_listed_actions_and_no_use_or_grant(
    stacks, environments
):
    assert not any(_matches(a, KEY_ADMINISTRATOR_ACTIONS) for a in USE_OR_GRANT)
    assert not any("*" in a for a in KEY_ADMINISTRATOR_ACTIONS)
    for env, name, address, statements in keys_of(stacks, environments):
        admin = next(s for s in statements if s["Sid"] == "KeyAdministrators")
        assert admin["Action"] == list(KEY_ADMINISTRATOR_ACTIONS), (name, address)
        for role in env.access.key_administrator_role_names:
            principal = f"arn:{PARTITION}:iam::{account_of(env)}:role/{role}"
            assert allowed(statements, "kms:EnableKeyRotation", principal)
            for action in USE_OR_GRANT:
                assert not allowed(statements, action, principal), (name, address, role, action)


# --- what the docs say about it --------------------------------------------

DOCS_ROOT = Path(__file__).resolve().parent.parent
#: The sentences of the docs that list who may change a key's policy: the
#: document, then the words opening and closing the list.
WHO_CHANGES_KEY_POLICIES = (
    ("README.md", "Every key these stacks create lets only", "change its policy"),
    ("docs/pci-responsibility.md", "A key policy change made by anyone but", "is denied"),
)


def role_fields(env) -> dict[str, tuple[str, ...]]:
    """Each ``AccessConfig`` field that names roles of the account -> a
    principal ARN per role it names (a pattern's as ``example_principal``)."""

    def arn(name: str) -> str:
        return f"arn:{PARTITION}:iam::{account_of(env)}:role/{name}"

    access = env.access
    return {
        "deploy_role_name": (arn(env.deploy_role),),
        "break_glass_role_name": (arn(access.break_glass_role_name),),
        "key_administrator_role_names": tuple(map(arn, access.key_administrator_role_names)),
        "key_policy_administrator_role_patterns": tuple(
            example_principal(env, p) for p in access.key_policy_administrator_role_patterns
        ),
        "secret_administrator_role_names": tuple(map(arn, access.secret_administrator_role_names)),
    }


def who_may_change_key_policies(stacks, environments) -> tuple[set[str], set[str]]:
    """(fields whose every role may PutKeyPolicy on every synthesized key,
    fields none of whose roles may on any), read from the key policies."""
    verdicts: dict[str, set[bool]] = {}
    for env, _name, _address, statements in keys_of(stacks, environments):
        for field, principals in role_fields(env).items():
            for principal in principals:
                verdicts.setdefault(field, set()).add(
                    allowed(statements, "kms:PutKeyPolicy", principal)
                )
    assert all(len(v) == 1 for v in verdicts.values()), verdicts  # all or none: docs can say it
    return (
        {f for f, v in verdicts.items() if v == {True}},
        {f for f, v in verdicts.items() if v == {False}},
    )


def listed_in(document: str, opening: str, closing: str) -> str:
    text = " ".join((DOCS_ROOT / document).read_text().split())
    start = text.index(opening) + len(opening)
    return text[start : text.index(closing, start)]


@pytest.mark.parametrize(("document", "opening", "closing"), WHO_CHANGES_KEY_POLICIES)
def test_the_docs_name_exactly_who_the_key_policies_let_change_them(
    stacks, environments, document, opening, closing
):
    """The docs list, by configuration field, the roles the synthesized key
    policies admit to ``kms:PutKeyPolicy`` (D49: never the deploy role), and
    the root user; a role the policies refuse is not named, in words
    either."""
    admitted, refused = who_may_change_key_policies(stacks, environments)
    assert "deploy_role_name" in refused  # D49; were it admitted, the docs would say so
    listed = listed_in(document, opening, closing)
    named = {word.removeprefix("access.") for word in re.findall(r"`([\w.]+)`", listed)}
    assert named & (admitted | refused) == admitted, (document, listed)
    words = re.sub(r"`[^`]*`", "", listed).replace("-", " ")
    for field in refused:
        spoken = field.removesuffix("_names").removesuffix("_name").replace("_", " ")
        assert spoken not in words, (document, field, listed)
    assert "root user" in words
    for env, _name, _address, statements in keys_of(stacks, environments):
        root = f"arn:{PARTITION}:iam::{account_of(env)}:root"
        assert allowed(statements, "kms:PutKeyPolicy", root)


# --- configuration ----------------------------------------------------------


def test_the_default_matches_the_identity_center_role_with_and_without_region():
    arns = (
        "aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_PaymentPlatformAdministrator_0123456789abcdef",
        "aws-reserved/sso.amazonaws.com/AWSReservedSSO_PaymentPlatformAdministrator_0123456789abcdef",
    )
    for arn in arns:
        assert _matches(arn, KEY_POLICY_ADMINISTRATOR_SSO), arn
    assert not _matches(
        "aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_ReadOnly_0123456789abcdef",
        KEY_POLICY_ADMINISTRATOR_SSO,
    )
    assert AccessConfig().key_policy_administrator_role_patterns == KEY_POLICY_ADMINISTRATOR_SSO
    assert validate_environment(DEV) == []


@pytest.mark.parametrize(
    "pattern",
    [
        "aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Ops_*",
        "platform/bootstrap-operator",
        "payment-admin",
        "team/ops-admin-?",
    ],
)
def test_role_patterns_with_paths_are_accepted(pattern):
    access = AccessConfig(key_policy_administrator_role_patterns=(pattern,))
    assert validate_environment(replace(DEV, access=access)) == []


@pytest.mark.parametrize(
    "pattern, problem",
    [
        ("*", "begins its role name with a wildcard"),
        ("aws-reserved/sso.amazonaws.com/*", "begins its role name with a wildcard"),
        ("arn:aws:iam::111122223333:role/admin", "is not a role pattern"),
        ("/platform/admin", "is not a role pattern"),
        ("platform//admin", "is not a role pattern"),
        ("team/" + "a" * 65, "is too long"),
        ("", "is not a role pattern"),
    ],
)
def test_other_role_patterns_are_refused_in_one_line(pattern, problem):
    access = AccessConfig(key_policy_administrator_role_patterns=(pattern,))
    problems = validate_environment(replace(DEV, access=access))
    assert len(problems) == 1, problems
    assert re.fullmatch(
        rf"dev\.access\.key_policy_administrator_role_patterns: {re.escape(repr(pattern))} "
        rf"{problem}.*; allowed: an IAM role name or path/name.*",
        problems[0],
    ), problems


# --- PAY-KMS-003, the pure check ------------------------------------------------

ROOT = {"AWS": "arn:aws:iam::111111111111:root"}


@pytest.mark.parametrize(
    "statement, finds",
    [
        ({"Effect": "Allow", "Principal": ROOT, "Action": "kms:CreateGrant"}, True),
        ({"Effect": "Allow", "Principal": ROOT, "Action": ["kms:Create*"]}, True),
        ({"Effect": "Allow", "Principal": ROOT, "Action": "kms:*"}, True),
        (
            {
                "Effect": "Allow",
                "Principal": ROOT,
                "Action": "kms:CreateGrant",
                "Condition": {"StringEquals": {"kms:ViaService": "rds.eu-west-1.amazonaws.com"}},
            },
            True,
        ),
        (
            {
                "Effect": "Allow",
                "Principal": ROOT,
                "Action": "kms:CreateGrant",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "false"}},
            },
            True,
        ),
        (
            {
                "Effect": "Allow",
                "Principal": ROOT,
                "Action": ["kms:CreateGrant", "kms:ListGrants"],
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
            False,
        ),
        ({"Effect": "Deny", "Principal": "*", "Action": "kms:CreateGrant"}, False),
        ({"Effect": "Allow", "Principal": ROOT, "Action": ["kms:CreateAlias"]}, False),
    ],
)
def test_kms_003_finds_self_grants_only(statement, finds):
    assert bool(kms_no_self_grants.problems(statement)) is finds
