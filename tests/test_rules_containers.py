"""PAY-SEC-001 and PAY-CTR-001..003 in detail: secret-looking names and
values in a container's environment, privileged containers, writable root
filesystems, root users; container_definitions with tokens and as an
opaque expression; the suppression path for a documented sidecar exception."""

from __future__ import annotations

import json

import pytest

from framework import Fn
from framework.aws import aws
from guardrails.rules import (
    RULES_BY_ID,
    Finding,
    evaluate,
    register,
    suppress,
    suppression_report,
)
from guardrails.rules.container_environment_secrets import secret_name, secret_value
from tests.rules_helpers import (
    ABSENT,
    APP_ENVIRONMENT,
    container,
    ctx,
    finding_on,
    synth_json,
    task_definition,
    unit_stack,
    with_env,
)

CONTAINER_RULES = ("PAY-SEC-001", "PAY-CTR-001", "PAY-CTR-002", "PAY-CTR-003")
TASK = "aws_ecs_task_definition.task"


def findings(tmp_path, *containers, rule_id: str, definitions=None) -> list[Finding]:
    stack = unit_stack(tmp_path)
    task_definition(stack, *containers, definitions=definitions)
    return RULES_BY_ID[rule_id].check(synth_json(stack), ctx())


def moves_it_to_secrets(finding: Finding) -> bool:
    """The fix of PAY-SEC-001: the container's secrets, from Secrets Manager."""
    return "container's secrets" in finding.fix and "Secrets Manager" in finding.fix


# --- PAY-SEC-001 ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(APP_ENVIRONMENT))
def test_real_variable_names_are_not_secret_looking(name):
    assert not secret_name(name)
    assert secret_value(APP_ENVIRONMENT[name]) is None


@pytest.mark.parametrize(
    "name",
    [
        "DB_PASSWORD",
        "PASSWORD",
        "dbPassword",
        "DB_PASSWD",
        "DB_PASS",
        "PGPASSWORD",
        "MYSQL_PWD",
        "GPG_PASSPHRASE",
        "CLIENT_SECRET",
        "JWT_SECRET_KEY",
        "SECRET",
        "GITHUB_TOKEN",
        "authToken",
        "STRIPE_API_KEY",
        "API_KEY",
        "apiKey",
        "APIKEY",
        "X_APIKEY",
        "PRIVATE_KEY",
        "SSH_PRIVATE_KEY",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "CREDENTIALS",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "HMAC_SIGNING_KEY",
        "DATA_ENCRYPTION_KEY",
        "WIFI_PSK",
        "MASTER_KEY",
    ],
)
def test_secret_looking_names_are_refused(tmp_path, name):
    found = findings(tmp_path, with_env((name, "placeholder")), rule_id="PAY-SEC-001")
    finding = finding_on(found, "PAY-SEC-001", TASK)
    assert finding.problem == f"container app has secret-looking environment variable {name}"
    assert moves_it_to_secrets(finding)


@pytest.mark.parametrize(
    "name",
    [
        "DB_SECRET_ARN",
        "API_KEY_SECRET_NAME",
        "TOKEN_URL",
        "OAUTH_TOKEN_ENDPOINT",
        "PASSWORD_FILE",
        "BYPASS_CACHE",
        "COMPASS_URL",
        "PASSENGER_COUNT",
        "KEY_PREFIX",
        "CACHE_KEY",
        "AUTH_MODE",
        "DB_IAM_AUTH",
        "PARTITION_KEY",
    ],
)
def test_names_that_only_locate_or_resemble_a_secret_pass(name):
    assert not secret_name(name)


@pytest.mark.parametrize(
    "value, looks_like",
    [
        ("AKIAIOSFODNN7EXAMPLE", "an AWS access key id"),
        ("key=ASIAY34FZKBOKMUTVV7A;", "an AWS access key id"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow...", "a PEM private key"),
        ("-----BEGIN PRIVATE KEY-----", "a PEM private key"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", "a PEM private key"),
        ("postgres://app:s3cret@db.internal:5432/payments", "a URL with a password"),
        (
            "postgresql://payment_api:${random_password.db.result}@${aws_rds_cluster.db.endpoint}/x",
            "a URL with a password",
        ),
        ("amqp://guest:guest@mq:5672", "a URL with a password"),
        ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "a Stripe secret key"),
        ("rk_test_51H8abcdefghijklmnop", "a Stripe secret key"),
        ("ghp_" + "a" * 36, "a GitHub token"),
        ("xoxb-123456789012-abcdefghijkl", "a Slack token"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc", "a JWT"),
        (
            "${aws_secretsmanager_secret_version.db.secret_string}",
            "a reference to a secret attribute",
        ),
        (
            "${data.terraform_remote_state.data.outputs.cross-stack-output-"
            "aws_secretsmanager_secret_versiondb_version_ABCDsecret_string}",
            "a reference to a secret attribute",
        ),
        ("${random_password.api.result}", "a reference to a secret attribute"),
        ("${aws_iam_access_key.ci.secret}", "a reference to a secret attribute"),
        ("${tls_private_key.signing.private_key_pem}", "a reference to a secret attribute"),
        ("${aws_rds_cluster.db.master_password}", "a reference to a secret attribute"),
    ],
)
def test_secret_looking_values_are_refused_whatever_the_name(tmp_path, value, looks_like):
    found = findings(tmp_path, with_env(("SETTING", value)), rule_id="PAY-SEC-001")
    finding = finding_on(found, "PAY-SEC-001", TASK)
    assert finding.problem.startswith(
        f"container app has {looks_like} in environment variable SETTING"
    )
    assert moves_it_to_secrets(finding)


def test_secret_reference_through_tokens_is_refused(tmp_path):
    """jsondecode(secret_string).password through cdktf tokens."""
    stack = unit_stack(tmp_path)
    version = aws.data_aws_secretsmanager_secret_version.DataAwsSecretsmanagerSecretVersion(
        stack, "db", secret_id="unit/db"
    )
    password = Fn.lookup(Fn.jsondecode(version.secret_string), "password", "")
    task_definition(stack, with_env(("SETTING", password)))
    found = RULES_BY_ID["PAY-SEC-001"].check(synth_json(stack), ctx())
    assert finding_on(found, "PAY-SEC-001", TASK).problem.startswith(
        "container app has a reference to a secret attribute in environment variable SETTING"
    )


@pytest.mark.parametrize(
    "value",
    [
        "http://localhost:4317",
        "https://user@example.com/path",
        "${aws_rds_cluster.db.endpoint}",
        "${aws_secretsmanager_secret.db.arn}",
        "AKIA-not-a-key",
        "arn:aws:iam::111111111111:role/x",
        "eyJustAWord",
    ],
)
def test_ordinary_values_pass(value):
    assert secret_value(value) is None


def test_secrets_block_may_name_passwords(tmp_path):
    """DB_PASSWORD from Secrets Manager (container() puts it in secrets) is the fix."""
    assert findings(tmp_path, container("app"), rule_id="PAY-SEC-001") == []


def test_every_container_is_checked(tmp_path):
    sidecar = container("otel-collector", environment=[{"name": "API_TOKEN", "value": "x"}])
    found = findings(tmp_path, container("app"), sidecar, rule_id="PAY-SEC-001")
    assert finding_on(found, "PAY-SEC-001", TASK).problem == (
        "container otel-collector has secret-looking environment variable API_TOKEN"
    )


def test_environment_as_a_map_is_read_too(tmp_path):
    found = findings(
        tmp_path, container("app", environment={"DB_PASSWORD": "x"}), rule_id="PAY-SEC-001"
    )
    assert "DB_PASSWORD" in finding_on(found, "PAY-SEC-001", TASK).problem


# --- PAY-CTR-001..003 -----------------------------------------------------------


@pytest.mark.parametrize(
    "rule_id, fields, problem",
    [
        ("PAY-CTR-001", {"privileged": True}, "is privileged (privileged = true)"),
        ("PAY-CTR-001", {"privileged": "true"}, "is privileged (privileged = true)"),
        (
            "PAY-CTR-002",
            {"readonlyRootFilesystem": ABSENT},
            "has a writable root filesystem (readonlyRootFilesystem is absent)",
        ),
        (
            "PAY-CTR-002",
            {"readonlyRootFilesystem": False},
            "has a writable root filesystem (readonlyRootFilesystem is False)",
        ),
        ("PAY-CTR-003", {"user": ABSENT}, "sets no user, so it runs as the image's default user"),
        ("PAY-CTR-003", {"user": ""}, "sets no user"),
        ("PAY-CTR-003", {"user": "0"}, "runs as root (user = '0')"),
        ("PAY-CTR-003", {"user": "0:0"}, "runs as root (user = '0:0')"),
        ("PAY-CTR-003", {"user": "root"}, "runs as root (user = 'root')"),
        ("PAY-CTR-003", {"user": "root:root"}, "runs as root (user = 'root:root')"),
        ("PAY-CTR-003", {"user": "0:1000"}, "runs as root (user = '0:1000')"),
        (
            "PAY-CTR-003",
            {"user": "${var.container_user}"},
            "sets user to an expression (${var.container_user}), which cannot be checked",
        ),
        (
            "PAY-CTR-001",
            {"privileged": "${var.privileged}"},
            "sets privileged to an expression (${var.privileged}), which cannot be checked",
        ),
    ],
)
def test_container_hardening_findings(tmp_path, rule_id, fields, problem):
    found = findings(
        tmp_path, container("app"), container("otel-collector", **fields), rule_id=rule_id
    )
    assert finding_on(found, rule_id, TASK).problem.startswith(
        f"container otel-collector {problem}"
    )


@pytest.mark.parametrize(
    "rule_id, fields",
    [
        ("PAY-CTR-001", {"privileged": ABSENT}),
        ("PAY-CTR-001", {"privileged": False}),
        ("PAY-CTR-003", {"user": "1000"}),
        ("PAY-CTR-003", {"user": "nobody"}),
        ("PAY-CTR-003", {"user": "1000:0"}),
        ("PAY-CTR-003", {"user": "10001:10001"}),
    ],
)
def test_container_hardening_passes(tmp_path, rule_id, fields):
    assert findings(tmp_path, container("app", **fields), rule_id=rule_id) == []


# --- container_definitions with tokens, and opaque -------------------------------


def test_tokens_with_quotes_inside_json_dumps_are_read(tmp_path):
    """cdktf writes tokens into json.dumps output verbatim: the string is not
    JSON until Terraform interpolates it; the rules still read it."""
    stack = unit_stack(tmp_path)
    lookup = Fn.lookup({"dev": "1000:1000"}, "dev", "1000:1000")
    task_definition(
        stack,
        container("app", image=Fn.join(":", ["unit/app", "1"]), user=lookup),
        container("otel-collector", user="0:0"),
    )
    json_ = synth_json(stack)
    text = json_["resource"]["aws_ecs_task_definition"]["task"]["container_definitions"]
    with pytest.raises(ValueError):
        json.loads(text)
    found = RULES_BY_ID["PAY-CTR-003"].check(json_, ctx())
    assert [f.problem[:40] for f in found] == [
        "container app sets user to an expression",
        "container otel-collector runs as root (u",
    ]


@pytest.mark.parametrize("rule_id", CONTAINER_RULES)
def test_opaque_container_definitions_cannot_pass(tmp_path, rule_id):
    """${jsonencode(...)} is HCL until plan: no container rule can read it."""
    stack = unit_stack(tmp_path)
    task_definition(stack, definitions=Fn.jsonencode([container("app")]))
    found = RULES_BY_ID[rule_id].check(synth_json(stack), ctx())
    finding = finding_on(found, rule_id, TASK)
    # The field, its value (the expression) and what is allowed instead.
    assert finding.problem.startswith("has container_definitions that are not JSON at synthesis")
    assert "(${jsonencode([{" in finding.problem
    assert "literal JSON" in finding.fix and "suppress this rule" in finding.fix


# --- A documented exception: suppression of one rule ------------------------------


def test_documented_sidecar_exception_is_a_suppression_of_that_rule_only(tmp_path):
    stack = unit_stack(tmp_path)
    td = task_definition(
        stack, container("app"), container("otel-collector", readonlyRootFilesystem=False, user="0")
    )
    suppress(td, "PAY-CTR-002", reason="Collector writes its queue to /; image rebuild PAY-321")
    register(stack, ctx())
    found, suppressions = evaluate(stack, ctx())
    assert [(f.rule_id, f.address) for f in found] == [
        ("PAY-CTR-003", "aws_ecs_task_definition.task")
    ]
    assert [s.rule_id for s in suppressions] == ["PAY-CTR-002"]
    with pytest.raises(Exception, match=r"\[PAY-CTR-003\] .*container otel-collector runs as root"):
        stack.node.root.synth()
    assert "PAY-CTR-002 suppressed: Collector writes its queue" in suppression_report(stack).text()


def test_environment_written_as_an_expression_cannot_pass(tmp_path):
    found = findings(
        tmp_path, container("app", environment="${var.app_environment}"), rule_id="PAY-SEC-001"
    )
    finding = finding_on(found, "PAY-SEC-001", TASK)
    assert finding.problem.startswith("container app sets environment to an expression")
    assert "(${var.app_environment})" in finding.problem
    assert finding.fix == "set environment to a literal value"
