"""KMS keys, application secrets, and a scan of every synthesized stack for
secret material (a value in the JSON would also end up in Terraform state)."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from config.naming import (
    key_policy_administrators,
    permissions_boundary_name,
    restore_validator_name,
    secret_name,
)
from framework import App, TerraformStack
from framework import Testing as CdktfTesting
from framework.aws import aws
from modules.kms import KEY_READER_ACTIONS, ManagedKey, ManagedKeyProps
from modules.restore_validator import COPY_SECRETS
from modules.secrets import AppSecret, AppSecretProps
from tests.conftest import ENVIRONMENTS, stack
from tests.fixtures.example import DEV

# --- The secret-material scanner ----------------------------------------

#: Keys whose literal string value is a credential (matched on the last
#: ``_``-separated words, case-insensitive: ``DB_PASSWORD``, ``api_key``).
SECRET_KEY = re.compile(
    r"(^|_)(password|passwd|passphrase|secret|secret_string|secret_binary|secret_string_wo|"
    r"private_key|api_key|apikey|access_key|secret_key|secret_access_key|client_secret|"
    r"auth_token|token|credentials?)$",
    re.IGNORECASE,
)
#: Credential shapes that are wrong anywhere, whatever the key.
SECRET_SHAPES = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private key block": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "password in a connection URI": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^@\s/]+@"),
}
#: Resource types that copy their value into Terraform state.
VALUE_IN_STATE_TYPES = ("random_password", "random_string")
SECRET_VERSION_VALUE_KEYS = ("secret_string", "secret_binary")


def strip_interpolations(value: str) -> str:
    """``value`` without its ``${...}`` parts (braces may nest)."""
    out, depth, i = [], 0, 0
    while i < len(value):
        if value.startswith("${", i):
            depth += 1
            i += 2
            continue
        char = value[i]
        if depth:
            depth += {"{": 1, "}": -1}.get(char, 0)
        else:
            out.append(char)
        i += 1
    return "".join(out)


def is_literal(value: Any) -> bool:
    """A non-empty string that is not purely a reference to something else."""
    return isinstance(value, str) and bool(strip_interpolations(value).strip())


def _walk(node: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """(path, key, value) for every key of every dict, JSON strings opened."""
    if isinstance(node, str):
        text = node.strip()
        if text[:1] in "[{":
            try:
                yield from _walk(json.loads(text), path + "<json>")
            except ValueError:
                pass
        return
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, f"{path}[{index}]")
        return
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "//":
                continue
            yield path, key, value
            yield from _walk(value, f"{path}.{key}")
        # {"name": "DB_PASSWORD", "value": "..."}: container environment.
        name = node.get("name")
        if isinstance(name, str) and SECRET_KEY.search(name) and is_literal(node.get("value")):
            yield path, name, node["value"]


def _strings(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _strings(item, f"{path}[{index}]")
    elif isinstance(node, dict):
        for key, value in node.items():
            if key != "//":
                yield from _strings(value, f"{path}.{key}")


def find_secret_material(document: dict) -> list[str]:
    """Every place in a synthesized stack that holds a credential value."""
    findings: list[str] = []
    for path, key, value in _walk(document, "$"):
        where = f"{path}.{key}"
        if key.lower().startswith("master_password"):
            findings.append(f"{where}: master_password is set (use manage_master_user_password)")
        elif SECRET_KEY.search(key) and is_literal(value):
            findings.append(f"{where}: literal value for a password-like key")
    for rtype, resources in document.get("resource", {}).items():
        for name, body in resources.items():
            if rtype in VALUE_IN_STATE_TYPES:
                findings.append(f"$.resource.{rtype}.{name}: its value is stored in state")
            if rtype == "aws_secretsmanager_secret_version":
                for key in SECRET_VERSION_VALUE_KEYS:
                    if key in body:
                        findings.append(
                            f"$.resource.{rtype}.{name}.{key}: secret value in "
                            "Terraform (set it out of band)"
                        )
    for name, variable in document.get("variable", {}).items():
        if SECRET_KEY.search(name) and is_literal(variable.get("default")):
            findings.append(f"$.variable.{name}.default: literal default for a secret variable")
    for path, text in _strings(document, "$"):
        for label, shape in SECRET_SHAPES.items():
            if shape.search(text):
                findings.append(f"{path}: looks like a {label}")
    return sorted(set(findings))


def test_no_synthesized_stack_contains_secret_material(stacks):
    assert len(stacks) >= 12  # four parts x three environments, at least
    findings = {name: find_secret_material(s.json) for name, s in stacks.items()}
    assert {name: f for name, f in findings.items() if f} == {}


@pytest.mark.parametrize(
    "document, expected",
    [
        (
            {"resource": {"aws_rds_cluster": {"db": {"master_password": "hunter22"}}}},
            "master_password is set",
        ),
        (
            {"resource": {"aws_rds_cluster": {"db": {"master_password": "${var.pw}"}}}},
            "master_password is set",
        ),
        (
            {"resource": {"aws_db_instance": {"db": {"password": "Sup3rSecret"}}}},
            "password-like key",
        ),
        (
            {
                "resource": {
                    "aws_secretsmanager_secret_version": {
                        "v": {"secret_id": "x", "secret_string": '{"key": "abc"}'}
                    }
                }
            },
            "secret value in Terraform",
        ),
        (
            {
                "resource": {
                    "aws_secretsmanager_secret_version": {
                        "v": {"secret_id": "x", "secret_string": "${random_password.p.result}"}
                    }
                }
            },
            "secret value in Terraform",
        ),
        ({"resource": {"random_password": {"p": {"length": 32}}}}, "stored in state"),
        (
            {
                "resource": {
                    "aws_ecs_task_definition": {
                        "t": {
                            "container_definitions": json.dumps(
                                [
                                    {
                                        "name": "api",
                                        "environment": [{"name": "DB_PASSWORD", "value": "pw-123"}],
                                    }
                                ]
                            )
                        }
                    }
                }
            },
            "password-like key",
        ),
        (
            {
                "resource": {
                    "aws_lambda_function": {
                        "f": {"environment": {"variables": {"STRIPE_API_KEY": "sk_live_abc"}}}
                    }
                }
            },
            "password-like key",
        ),
        (
            {"variable": {"db_password": {"type": "string", "default": "changeme"}}},
            "secret variable",
        ),
        ({"locals": {"note": "AKIAABCDEFGHIJKLMNOP"}}, "AWS access key id"),
        ({"output": {"k": {"value": "-----BEGIN RSA PRIVATE KEY-----\nMII"}}}, "private key block"),
        ({"locals": {"url": "postgresql://app:pw@db.example:5432/payments"}}, "connection URI"),
    ],
    ids=[
        "master-password-literal",
        "master-password-reference",
        "password",
        "secret-version-literal",
        "secret-version-reference",
        "random-password",
        "container-environment",
        "lambda-env",
        "variable-default",
        "access-key",
        "private-key",
        "uri",
    ],
)
def test_scanner_catches_planted_secret(document, expected):
    findings = find_secret_material(document)
    assert findings and any(expected in f for f in findings), findings


@pytest.mark.parametrize(
    "document",
    [
        {
            "resource": {
                "aws_rds_cluster": {
                    "db": {
                        "manage_master_user_password": True,
                        "master_user_secret_kms_key_id": "${aws_kms_key.k.arn}",
                    }
                }
            }
        },
        {
            "resource": {
                "aws_ecs_task_definition": {
                    "t": {
                        "container_definitions": json.dumps(
                            [
                                {
                                    "name": "api",
                                    "secrets": [
                                        {
                                            "name": "DB_PASSWORD",
                                            "valueFrom": "arn:aws:secretsmanager:x",
                                        }
                                    ],
                                    "environment": [{"name": "DB_HOST", "value": "db.internal"}],
                                }
                            ]
                        )
                    }
                }
            }
        },
        {
            "resource": {
                "aws_secretsmanager_secret": {
                    "s": {"name": "payment-dev/api-keys", "kms_key_id": "${aws_kms_key.k.arn}"}
                }
            }
        },
        {"resource": {"aws_db_instance": {"db": {"password": '${var.nested["x"].y}'}}}},
    ],
    ids=["managed-password", "secret-from-secrets-manager", "secret-container", "reference"],
)
def test_scanner_accepts_references_and_managed_secrets(document):
    assert find_secret_material(document) == []


def test_scanner_catches_secrets_planted_in_a_real_stack():
    app = App()
    planted = TerraformStack(app, "planted")
    aws.provider.AwsProvider(planted, "aws", region="eu-west-1")
    secret = aws.secretsmanager_secret.SecretsmanagerSecret(planted, "secret", name="planted")
    aws.secretsmanager_secret_version.SecretsmanagerSecretVersion(
        planted, "value", secret_id=secret.id, secret_string="not-so-secret"
    )
    aws.rds_cluster.RdsCluster(
        planted,
        "db",
        engine="aurora-postgresql",
        master_username="admin_user",
        master_password="Password123!",
    )
    aws.ecs_task_definition.EcsTaskDefinition(
        planted,
        "task",
        family="planted",
        container_definitions=json.dumps(
            [
                {
                    "name": "app",
                    "image": "app",
                    "environment": [{"name": "API_TOKEN", "value": "tok-123"}],
                }
            ]
        ),
    )
    findings = find_secret_material(json.loads(CdktfTesting.synth(planted)))
    assert any("aws_secretsmanager_secret_version" in f and "secret_string" in f for f in findings)
    assert any(".master_password:" in f for f in findings)
    assert any("API_TOKEN" in f for f in findings)


# --- Who may read an application secret ----------------------------------

#: An application secret referenced in a policy, in its own stack or through
#: a cross-stack output: ``aws_secretsmanager_secret[.]secret-<name>_secret_<hash>``.
SECRET_REFERENCE = re.compile(r"aws_secretsmanager_secret\.?secret-([a-z0-9-]+)_secret_[0-9A-F]{8}")
ROLE_REFERENCE = re.compile(r"\$\{aws_iam_role\.([^.]+)\.(id|name)\}")


def _reads_secrets(statement: dict) -> bool:
    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    return statement.get("Effect") == "Allow" and any(
        fnmatch.fnmatch("secretsmanager:getsecretvalue", a.lower()) for a in actions
    )


def secret_read_grants(document: dict, boundaries: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(role name, secret name) for every IAM statement in a stack that lets
    a role read a secret value; unknown roles/resources are named as such.
    ``boundaries``: names of managed policies used only as permissions
    boundaries, which grant nothing by themselves (D49)."""
    resources = document.get("resource", {})
    roles = resources.get("aws_iam_role", {})
    policies = []
    for body in resources.get("aws_iam_role_policy", {}).values():
        match = ROLE_REFERENCE.fullmatch(str(body.get("role", "")))
        role = (
            roles[match.group(1)]["name"]
            if match and match.group(1) in roles
            else f"<role {body.get('role')}>"
        )
        policies.append((role, body["policy"]))
    for body in roles.values():
        for inline in body.get("inline_policy", []) or []:
            policies.append((body["name"], inline.get("policy", "{}")))
    for body in resources.get("aws_iam_policy", {}).values():
        if body.get("name") in boundaries:
            continue
        policies.append((f"<managed policy {body.get('name')}>", body["policy"]))
    grants = []
    for role, policy in policies:
        statements = json.loads(policy)["Statement"]
        for statement in statements if isinstance(statements, list) else [statements]:
            if not _reads_secrets(statement):
                continue
            targets = statement.get("Resource", [])
            for target in [targets] if isinstance(targets, str) else targets:
                match = SECRET_REFERENCE.search(target)
                grants.append((role, match.group(1) if match else f"<resource {target}>"))
    return grants


def unauthorised_secret_reads(documents: list[dict], env) -> tuple[list[str], set[tuple[str, str]]]:
    """Problems, and the (service, secret) pairs granted, for one environment."""
    problems, granted = [], set()
    for document in documents:
        for role, secret in secret_read_grants(document, (permissions_boundary_name(env),)):
            if role == restore_validator_name(env) and secret.endswith(f":{COPY_SECRETS}>"):
                continue  # the secrets RDS makes for restored copies (D76), no service's
            owners = [svc for svc in env.services if svc.name in role]
            if len(owners) != 1:
                problems.append(f"{role} reads {secret}: not the role of one configured service")
            elif secret not in owners[0].secrets:
                problems.append(
                    f"{role} reads {secret}: {owners[0].name} is configured with "
                    f"{list(owners[0].secrets)}"
                )
            else:
                granted.add((owners[0].name, secret))
    return problems, granted


def test_secrets_are_readable_only_by_services_configured_to_read_them(stacks, environments):
    for env in environments.values():
        documents = [s.json for name, s in stacks.items() if name.startswith(f"{env.prefix}-")]
        problems, granted = unauthorised_secret_reads(documents, env)
        assert problems == [], env.name
        configured = {(svc.name, secret) for svc in env.services for secret in svc.secrets}
        assert configured and granted == configured, env.name


def _role_policy_document(role_name: str, statement: dict) -> dict:
    return {
        "resource": {
            "aws_iam_role": {"r": {"name": role_name}},
            "aws_iam_role_policy": {
                "p": {
                    "role": "${aws_iam_role.r.id}",
                    "policy": json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
                }
            },
        }
    }


API_KEYS = (
    "${data.terraform_remote_state.x.outputs.cross-stack-output-"
    "aws_secretsmanager_secretsecret-api-keys_secret_73C0A54Aarn}"
)


@pytest.mark.parametrize(
    "role, statement, expected",
    [
        (
            "payment-dev-notification-service-execution",
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": API_KEYS},
            "notification-service is configured with []",
        ),
        (
            "payment-dev-payment-api-task",
            {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"},
            "reads <resource *>",
        ),
        (
            "payment-dev-payment-api-task",
            {
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": "${aws_rds_cluster.db.master_user_secret[0].secret_arn}",
            },
            "reads <resource",
        ),
        (
            "payment-dev-ci-deployer",
            {"Effect": "Allow", "Action": "*", "Resource": API_KEYS},
            "not the role of one configured service",
        ),
        (
            # The restore validator reads restored copies' secrets alone (D76).
            "payment-dev-restore-validator",
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": API_KEYS},
            "not the role of one configured service",
        ),
        (
            "payment-dev-restore-validator",
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
            "reads <resource *>",
        ),
    ],
    ids=[
        "unconfigured-service",
        "wildcard",
        "master-secret",
        "foreign-role",
        "validator-app-secret",
        "validator-wildcard",
    ],
)
def test_secret_read_check_catches_planted_grants(role, statement, expected):
    problems, _ = unauthorised_secret_reads([_role_policy_document(role, statement)], DEV)
    assert any(expected in p for p in problems), problems


def test_secret_read_check_accepts_configured_grant_and_ignores_other_actions():
    allowed = _role_policy_document(
        "payment-dev-payment-api-execution",
        {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": API_KEYS},
    )
    describe_only = _role_policy_document(
        "payment-dev-notification-service-task",
        {"Effect": "Allow", "Action": "secretsmanager:DescribeSecret", "Resource": API_KEYS},
    )
    copies = _role_policy_document(
        restore_validator_name(DEV),
        {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": f"arn:aws:secretsmanager:eu-west-1:111122223333:{COPY_SECRETS}",
        },
    )
    problems, granted = unauthorised_secret_reads([allowed, describe_only, copies], DEV)
    assert problems == [] and granted == {("payment-api", "api-keys")}


# --- KMS keys -------------------------------------------------------------


@pytest.fixture(params=ENVIRONMENTS)
def security(request, stacks, environments):
    return stack(stacks, request.param, "security"), environments[request.param]


def keys_by_alias(synthesized) -> dict[str, dict]:
    aliases = synthesized.resources("aws_kms_alias")
    keys = synthesized.resources("aws_kms_key")
    out = {}
    for alias in aliases.values():
        key_id = re.fullmatch(r"\$\{aws_kms_key\.([^.]+)\.key_id\}", alias["target_key_id"]).group(
            1
        )
        out[alias["name"]] = keys[key_id]
    return out


def statements(key: dict) -> dict[str, dict]:
    policy = json.loads(key["policy"])
    assert policy["Version"] == "2012-10-17"
    return {s["Sid"]: s for s in policy["Statement"]}


def test_two_keys_with_yearly_rotation(security):
    synthesized, env = security
    keys = keys_by_alias(synthesized)
    assert set(keys) == {f"alias/{env.prefix}-logs", f"alias/{env.prefix}-data"}
    for key in keys.values():
        assert key["enable_key_rotation"] is True
        assert key["rotation_period_in_days"] == 365
        assert key["deletion_window_in_days"] == 30


def test_keys_are_never_destroyed_in_prod(security):
    synthesized, env = security
    for key in synthesized.resources("aws_kms_key").values():
        assert key.get("lifecycle", {}).get("prevent_destroy", False) is env.is_production


def account_of(env) -> str:
    """The configured account id, else the caller's (read at plan time)."""
    return env.account_id or "${data.aws_caller_identity.current.account_id}"


def test_named_roles_administer_every_key_and_nobody_gets_kms_star(security):
    synthesized, env = security
    root = f"arn:${{data.aws_partition.partition.partition}}:iam::{account_of(env)}:root"
    role = f"arn:${{data.aws_partition.partition.partition}}:iam::{account_of(env)}:role/"
    # Break-glass and the people who apply by hand (D46), never the deploy
    # role, which administers the keys of the stack it applies (D49).
    protected = [root, *(role + name for name in key_policy_administrators(env))]
    for key in synthesized.resources("aws_kms_key").values():
        by_sid = statements(key)
        admin = by_sid["KeyAdministrators"]
        assert admin["Principal"] == {"AWS": root}
        assert admin["Condition"]["ArnLike"]["aws:PrincipalArn"] == protected + [
            role + name for name in (*env.access.key_administrator_role_names, env.deploy_role)
        ]
        assert not {
            "kms:Decrypt",
            "kms:PutKeyPolicy",
            "kms:ScheduleKeyDeletion",
            "kms:CreateGrant",
        } & set(admin["Action"])
        assert by_sid["PolicyAndDeletionOnlyKeyPolicyAdministrators"]["Condition"] == {
            "ArnLike": {"aws:PrincipalArn": protected}
        }
        deny = by_sid["DenyPolicyAndDeletionToOthers"]
        assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
        assert {"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"} <= set(deny["Action"])
        assert deny["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": protected}}
        for statement in by_sid.values():
            assert statement["Action"] != "kms:*"
            if statement["Effect"] == "Allow":
                assert statement["Principal"] != "*"
                assert statement.get("Condition"), statement["Sid"]


def test_logs_key_serves_cloudwatch_logs_and_alarms_of_this_account_only(security):
    synthesized, env = security
    logs = statements(keys_by_alias(synthesized)[f"alias/{env.prefix}-logs"])
    exec_roles = [s for s in env.services if s.enable_execute_command]
    expected = {
        "KeyAdministrators",
        "PolicyAndDeletionOnlyKeyPolicyAdministrators",
        "DenyPolicyAndDeletionToOthers",
        "DenyShortDeletionWindows",
        # Pull-request plans refresh the key (modules/plan_reads.py, D57).
        "ConfigurationReaders",
        "CloudWatchLogsEncryptsLogGroups",
        "AwsServicePublishesEncrypted0",
        # Deployment FAILURE/STOP events to the alarm topic (D51,
        # tests/test_deployment_alerts.py).
        "EventBridgePublishesToAlarmTopic",
        # The release check's alerts (D55, tests/test_release_guard.py).
        "ReleaseGuardPublishesToAlarmTopic",
        # The restore validator's (D60, tests/test_backup_alerts.py).
        "RestoreValidatorPublishesToAlarmTopic",
    } | ({"NamedDirectUsers"} if exec_roles else set())
    assert set(logs) == expected
    service = logs["CloudWatchLogsEncryptsLogGroups"]
    assert service["Principal"] == {"Service": f"logs.{env.region}.amazonaws.com"}
    assert "kms:*" not in service["Action"] and "kms:Decrypt" in service["Action"]
    context = service["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert context.startswith(
        "arn:${data.aws_partition.partition.partition}:logs:"
        f"{env.region}:{account_of(env)}:log-group:"
    )
    alarms = logs["AwsServicePublishesEncrypted0"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"]["StringEquals"] == {"aws:SourceAccount": account_of(env)}
    assert alarms["Condition"]["ArnLike"]["aws:SourceArn"].endswith(
        f":{account_of(env)}:alarm:{env.prefix}-*"
    )
    if exec_roles:
        assert not env.is_production
        direct = logs["NamedDirectUsers"]["Condition"]["ArnLike"]["aws:PrincipalArn"]
        assert [a.rsplit("/", 1)[1] for a in direct] == [
            f"{env.prefix}-{s.name}-task" for s in exec_roles
        ]


def test_data_key_is_used_only_through_its_services(security):
    """Nobody decrypts with the data key directly: AdministratorAccess in
    IAM no longer reaches card data (PCI DSS 3.5.1.2, 3.6.1)."""
    synthesized, env = security
    data = statements(keys_by_alias(synthesized)[f"alias/{env.prefix}-data"])
    assert set(data) == {
        "KeyAdministrators",
        "PolicyAndDeletionOnlyKeyPolicyAdministrators",
        "DenyPolicyAndDeletionToOthers",
        "DenyShortDeletionWindows",
        "UseOnlyThroughServices",
        "GrantsOnlyForServiceResources",
        "ConfigurationReaders",
    }
    # The plan role reads the key's configuration, never uses it.
    readers = data["ConfigurationReaders"]
    assert readers["Action"] == list(KEY_READER_ACTIONS)
    assert not any(
        a.startswith(("kms:Decrypt", "kms:Encrypt", "kms:Generate")) for a in readers["Action"]
    )
    assert readers["Condition"]["ArnLike"]["aws:PrincipalArn"][0].endswith(f":role/{env.plan_role}")
    use = data["UseOnlyThroughServices"]
    assert "kms:Decrypt" in use["Action"]
    assert use["Condition"] == {
        "StringEquals": {
            "kms:ViaService": [
                f"{s}.{env.region}.amazonaws.com" for s in ("rds", "secretsmanager", "ecr")
            ],
            "kms:CallerAccount": account_of(env),
        }
    }
    grants = data["GrantsOnlyForServiceResources"]
    assert grants["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    assert "Service" not in json.dumps([s["Principal"] for s in data.values()])


# --- Application secrets --------------------------------------------------


def test_one_secret_per_configured_name_encrypted_with_data_key(security):
    synthesized, env = security
    secrets = synthesized.resources("aws_secretsmanager_secret")
    assert sorted(s["name"] for s in secrets.values()) == sorted(
        secret_name(env, name) for name in env.secrets
    )
    (data_key_id,) = [
        re.fullmatch(r"\$\{aws_kms_key\.([^.]+)\.key_id\}", a["target_key_id"]).group(1)
        for a in synthesized.resources("aws_kms_alias").values()
        if a["name"] == f"alias/{env.prefix}-data"
    ]
    for secret in secrets.values():
        assert secret["kms_key_id"] == f"${{aws_kms_key.{data_key_id}.arn}}"
        assert secret["recovery_window_in_days"] == 30


def test_no_stack_sets_a_secret_value(stacks):
    for name, synthesized in stacks.items():
        assert synthesized.resources("aws_secretsmanager_secret_version") == {}, name


def test_security_stack_exposes_keys_and_secrets(built_stacks, environments):
    for env_name in ENVIRONMENTS:
        security = built_stacks[env_name].security
        assert isinstance(security.logs_key, ManagedKey) and isinstance(
            security.data_key, ManagedKey
        )
        assert set(security.secrets) == set(environments[env_name].secrets)
        assert all(isinstance(s, AppSecret) for s in security.secrets.values())


@pytest.fixture(scope="module")
def grants():
    """Statements from the helpers, synthesized so their references resolve."""
    app = App()
    probe = TerraformStack(app, "grants")
    aws.provider.AwsProvider(probe, "aws", region="eu-west-1")
    key = ManagedKey(
        probe,
        "key",
        ManagedKeyProps(
            alias="probe",
            description="probe",
            account_id="123456789012",
            partition="aws",
            region="eu-west-1",
        ),
    )
    secret = AppSecret(
        probe,
        "secret",
        AppSecretProps(name=secret_name(DEV, "api-keys"), description="probe", kms_key_arn=key.arn),
    )
    aws.iam_policy.IamPolicy(
        probe,
        "policy",
        name="probe",
        policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    secret.read_statement(),
                    secret.decrypt_statement("eu-west-1"),
                    key.decrypt_statement("AnyDecrypt"),
                    key.decrypt_statement(
                        "ViaSecrets", via_services=("secretsmanager.eu-west-1.amazonaws.com",)
                    ),
                ],
            }
        ),
    )
    synthesized = json.loads(CdktfTesting.synth(probe))
    (policy,) = synthesized["resource"]["aws_iam_policy"].values()
    (key_id,) = synthesized["resource"]["aws_kms_key"]
    (secret_id,) = synthesized["resource"]["aws_secretsmanager_secret"]
    return (
        {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]},
        f"${{aws_kms_key.{key_id}.arn}}",
        f"${{aws_secretsmanager_secret.{secret_id}.arn}}",
    )


def test_read_statement_covers_only_that_secret(grants):
    by_sid, _, secret_arn = grants
    assert by_sid["ReadSecret"] == {
        "Sid": "ReadSecret",
        "Effect": "Allow",
        "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        "Resource": secret_arn,
    }


def test_secret_decrypt_only_through_secrets_manager(grants):
    by_sid, key_arn, _ = grants
    assert by_sid["DecryptSecret"] == {
        "Sid": "DecryptSecret",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": key_arn,
        "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}},
    }


def test_key_decrypt_statement_optionally_limited_to_services(grants):
    by_sid, key_arn, _ = grants
    assert by_sid["AnyDecrypt"] == {
        "Sid": "AnyDecrypt",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:DescribeKey"],
        "Resource": key_arn,
    }
    assert by_sid["ViaSecrets"]["Condition"] == {
        "StringEquals": {"kms:ViaService": ["secretsmanager.eu-west-1.amazonaws.com"]}
    }


# --- Resource policies: only the configured services' roles read a secret ---


def _role_names_in(policy: dict) -> set[str]:
    statement = policy["Statement"][0]
    assert statement["Sid"] == "OnlyConfiguredServicesRead"
    assert statement["Effect"] == "Deny" and statement["Principal"] == "*"
    assert statement["Action"] == "secretsmanager:GetSecretValue"
    arns = statement.get("Condition", {}).get("StringNotLike", {}).get("aws:PrincipalArn", [])
    return {arn.rsplit(":role/", 1)[1] for arn in arns}


def test_secret_policy_denies_reads_to_all_but_configured_execution_roles(stacks, environments):
    import json as _json

    from config.naming import execution_role_name

    for env_name, env in environments.items():
        security = stacks[f"payment-{env_name}-security"]
        policies = security.resources("aws_secretsmanager_secret_policy")
        secrets = security.resources("aws_secretsmanager_secret")
        assert len(policies) == len(secrets) == len(env.secrets)
        for secret in env.secrets:
            (policy,) = [p for key, p in policies.items() if f"secret-{secret}_" in key]
            assert policy["block_public_policy"] is True
            assert f"secret-{secret}_secret" in policy["secret_arn"]
            expected = {
                execution_role_name(env, svc) for svc in env.services if secret in svc.secrets
            }
            assert _role_names_in(_json.loads(policy["policy"])) == expected
            # The roles the policy names are the ones the services stack creates.
            services = stacks[f"payment-{env_name}-services"]
            created = {r["name"] for r in services.resources("aws_iam_role").values()}
            assert expected <= created


def test_secret_without_readers_is_unreadable():
    from framework import App, TerraformStack
    from framework import Testing as CdktfTesting
    from framework.aws import aws
    from modules.secrets import AppSecret, AppSecretProps

    app = App()
    stack = TerraformStack(app, "unit")
    aws.provider.AwsProvider(stack, "aws", region="eu-west-1")
    AppSecret(stack, "s", AppSecretProps(name="x/y", description="d", kms_key_arn="arn:k"))
    import json as _json

    synthesized = _json.loads(CdktfTesting.synth(stack))
    (policy,) = synthesized["resource"]["aws_secretsmanager_secret_policy"].values()
    statements = _json.loads(policy["policy"])["Statement"]
    assert len(statements) == 3
    # Nobody named: reads, value changes and policy changes denied to everyone.
    for statement in statements:
        assert statement["Effect"] == "Deny" and "Condition" not in statement
