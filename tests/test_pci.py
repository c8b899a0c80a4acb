"""PCI DSS 4.0 controls this repository provides (issue #15, docs/pci-responsibility.md):
each test fails if the control it names breaks."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from modules.network import INTERFACE_ENDPOINT_SERVICES, NO_RESOURCE_ACTIONS
from tests.conftest import ENVIRONMENTS, stack
from tests.fixtures.example import DEV, PROD, STAGING


def policy_of(body: dict) -> dict:
    return json.loads(body["policy"])


# --- 1.3.2: VPC endpoints only reach this account ---------------------------


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_every_endpoint_limits_principals_and_resources_to_the_account(stacks, env_name):
    endpoints = stack(stacks, env_name, "network").resources("aws_vpc_endpoint")
    assert len(endpoints) == 1 + len(INTERFACE_ENDPOINT_SERVICES)
    for name, body in endpoints.items():
        statements = policy_of(body)["Statement"]
        own = statements[0]
        assert own["Action"] == "*" and own["Resource"] == "*", name
        equals = own["Condition"]["StringEquals"]
        assert equals["aws:PrincipalAccount"] == equals["aws:ResourceAccount"], name
        for extra in statements[1:]:
            # Narrow statements only: named actions, this account's principals.
            assert extra["Action"] != "*", name
            assert (
                extra["Condition"]["StringEquals"]["aws:PrincipalAccount"]
                == (equals["aws:PrincipalAccount"])
            )


#: What a stack reads the account from when none is configured.
CALLER_ACCOUNT = "${data.aws_caller_identity.current.account_id}"


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_endpoint_policies_name_the_configured_account(stacks, environments, env_name):
    env = environments[env_name]
    if env.is_production:
        assert env.account_id
    account = env.account_id or CALLER_ACCOUNT
    for body in stack(stacks, env_name, "network").resources("aws_vpc_endpoint").values():
        equals = policy_of(body)["Statement"][0]["Condition"]["StringEquals"]
        assert equals == {"aws:PrincipalAccount": account, "aws:ResourceAccount": account}


def test_prod_endpoint_policies_name_the_configured_account(example_stacks):
    for body in stack(example_stacks, "prod", "network").resources("aws_vpc_endpoint").values():
        equals = policy_of(body)["Statement"][0]["Condition"]["StringEquals"]
        assert equals == {
            "aws:PrincipalAccount": PROD.account_id,
            "aws:ResourceAccount": PROD.account_id,
        }


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_calls_without_resource_and_ecr_layers_are_the_only_exceptions(
    stacks, environments, env_name
):
    prefix = f"com.amazonaws.{environments[env_name].region}."
    endpoints = stack(stacks, env_name, "network").resources("aws_vpc_endpoint")
    by_service = {b["service_name"].removeprefix(prefix): b for b in endpoints.values()}
    for service in INTERFACE_ENDPOINT_SERVICES:
        statements = policy_of(by_service[service])["Statement"]
        expected = 2 if service in NO_RESOURCE_ACTIONS else 1
        assert len(statements) == expected, service
        if service in NO_RESOURCE_ACTIONS:
            assert statements[1]["Action"] == list(NO_RESOURCE_ACTIONS[service])
    s3 = policy_of(by_service["s3"])["Statement"]
    assert len(s3) == 2
    assert s3[1]["Action"] == "s3:GetObject"
    # ECR's layer bucket: AWS names it prod-<region>-..., whatever our environment.
    region = environments[env_name].region
    assert s3[1]["Resource"].endswith(f":s3:::prod-{region}-starport-layer-bucket/*")


# --- 7.2.2 / 7.2.5 / 6.5.1: the release role ----------------------------------


def release_policy(stacks, env_name: str) -> tuple[dict, list[dict]]:
    services = stack(stacks, env_name, "services")
    roles = {b["name"]: b for b in services.resources("aws_iam_role").values()}
    role = roles[f"payment-{env_name}-release"]
    policies = [
        json.loads(b["policy"])["Statement"]
        for b in services.resources("aws_iam_role_policy").values()
        if b["name"] == "release"
    ]
    assert len(policies) == 1
    return role, policies[0]


def allowed_actions(statements: list[dict]) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        assert statement["Effect"] == "Allow"
        found.update(
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    return found


def documented_release_permissions() -> set[str]:
    """Every `service:Action` of docs/release.md's permissions tables."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "release.md").read_text()
    section = text[text.index("## Permissions of the release role") :]
    section = section[: section.index("\n## ", 1)]
    rows = [line.split(" | ")[0] for line in section.splitlines() if line.startswith("| `")]
    return {m for row in rows for m in re.findall(r"`([a-z0-9]+:[A-Za-z]+)`", row)}


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_release_role_covers_every_documented_call_and_the_hardening_calls(stacks, env_name):
    """The role allows exactly the permissions of docs/release.md's tables
    (the hardening calls, scan, stop and alarm states, included): nothing
    undocumented, nothing documented missing. (docs/pci-responsibility.md cites this name.)"""
    _, statements = release_policy(stacks, env_name)
    actions = allowed_actions(statements)
    # GetCallerIdentity needs no permission (STS API reference).
    documented = documented_release_permissions() - {"sts:GetCallerIdentity"}
    assert {
        "codedeploy:CreateDeployment",
        "iam:PassRole",
        "codedeploy:StopDeployment",
        "codedeploy:GetDeploymentTarget",
        "ecr:DescribeImageScanFindings",
        "cloudwatch:DescribeAlarms",
    } <= documented
    assert actions == documented, (
        f"undocumented: {sorted(actions - documented)}; missing: {sorted(documented - actions)}"
    )
    assert not any(a.endswith("*") for a in actions), "no wildcard actions"


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_release_role_reads_the_states_of_every_rollback_alarm_and_no_other_environments(
    stacks, env_name, environments
):
    """`python -m release status` reads the deployment groups' alarms: each
    one's ARN matches the role's DescribeAlarms resources; alarms of another
    environment (even one whose name starts with this one's) do not."""
    from fnmatch import fnmatchcase

    _, statements = release_policy(stacks, env_name)
    (read,) = [s for s in statements if "cloudwatch:DescribeAlarms" in allowed_actions([s])]
    assert read["Action"] == "cloudwatch:DescribeAlarms" and "Condition" not in read
    services = stack(stacks, env_name, "services")
    alarms = services.resources("aws_cloudwatch_metric_alarm")
    names = []
    for group in services.resources("aws_codedeploy_deployment_group").values():
        for ref in (group.get("alarm_configuration") or {}).get("alarms", []):
            # "${aws_cloudwatch_metric_alarm.<id>.alarm_name}"
            names.append(alarms[ref.split(".")[1]]["alarm_name"])
    env = environments[env_name]
    assert bool(names) == env.deployment.rollback_on_alarm
    prefix = read["Resource"][0].rsplit(":alarm:", 1)[0] + ":alarm:"
    assert all(r.startswith(prefix) and r.endswith("-*") for r in read["Resource"])
    patterns = [r.removeprefix(prefix) for r in read["Resource"]]
    kinds = sorted({s.public for s in env.services}, reverse=True)
    assert patterns == [f"payment-{env_name}-{s.name}-*" for s in env.services] + [
        f"payment-{env_name}-{'public' if public else 'internal'}-alb-*" for public in kinds
    ]
    for name in names:
        assert any(fnmatchcase(name, p) for p in patterns), name
    for other in (f"payment-{env_name}-eu-payment-api-5xx", f"payment-{env_name}2-x"):
        assert not any(fnmatchcase(other, p) for p in patterns), other


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_release_role_passes_only_the_services_roles_to_ecs_tasks(stacks, env_name, environments):
    _, statements = release_policy(stacks, env_name)
    services = stack(stacks, env_name, "services")
    role_names = {b["name"] for b in services.resources("aws_iam_role").values()}
    passing = [s for s in statements if "iam:PassRole" in allowed_actions([s])]
    assert len(passing) == 1
    (pass_role,) = passing
    assert pass_role["Action"] == "iam:PassRole"
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    passed = {arn.rsplit(":role/", 1)[1] for arn in pass_role["Resource"]}
    expected = set()
    for svc in environments[env_name].services:
        expected |= {
            f"payment-{env_name}-{svc.name}-execution",
            f"payment-{env_name}-{svc.name}-task",
        }
    assert passed == expected
    assert passed <= role_names, "every passable role is a role of the stack"
    # Nothing else of the policy names an IAM action.
    assert [a for a in allowed_actions(statements) if a.startswith("iam:")] == ["iam:PassRole"]


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_release_role_writes_only_the_environments_deployment_groups(stacks, env_name):
    _, statements = release_policy(stacks, env_name)
    (deploy,) = [s for s in statements if "codedeploy:CreateDeployment" in s["Action"]]
    assert deploy["Resource"] and all(
        f":deploymentgroup:payment-{env_name}/payment-{env_name}-" in arn
        for arn in deploy["Resource"]
    )


def test_release_role_trusts_the_configured_principals(tmp_path):
    from dataclasses import replace

    from config.model import AccessConfig
    from framework import App, TerraformStack
    from framework import Testing as CdktfTesting
    from modules.release_role import ReleaseRole, ReleaseRoleProps

    ci = "arn:aws:iam::111111111111:role/ci-release"
    env = replace(STAGING, access=AccessConfig(release_principal_arns=(ci,)))
    stack_ = TerraformStack(App(outdir=str(tmp_path)), "unit")
    ReleaseRole(
        stack_,
        "release",
        ReleaseRoleProps(
            environment=env, account_id="111111111111", partition="aws", region="eu-west-1"
        ),
    )
    role = next(iter(json.loads(CdktfTesting.synth(stack_))["resource"]["aws_iam_role"].values()))
    trust = json.loads(role["assume_role_policy"])["Statement"]
    assert [s["Principal"] for s in trust] == [
        {"AWS": [f"arn:aws:iam::111111111111:role/{env.access.break_glass_role_name}", ci]},
        {
            "Federated": "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
        },
    ]


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_the_release_role_trusts_break_glass_and_named_principals_never_the_root(
    stacks, environments, env_name
):
    """No root trust (issue #25, D52): the account's root would admit every
    principal whose IAM policy allows sts:AssumeRole on the role."""
    env = environments[env_name]
    role, _ = release_policy(stacks, env_name)
    trust, _release_job = json.loads(role["assume_role_policy"])["Statement"]
    principals = trust["Principal"]["AWS"]
    assert principals[0].endswith(f":role/{env.access.break_glass_role_name}")
    assert principals[1:] == list(env.access.release_principal_arns)
    assert not any(p.endswith(":root") or "*" in p for p in principals)


def test_release_principals_are_named_roles_or_users():
    from dataclasses import replace

    from config.model import AccessConfig, validate_environment

    for bad in (
        "arn:aws:iam::111111111111:root",
        "arn:aws:iam::111111111111:role/*",
        "111111111111",
    ):
        problems = validate_environment(
            replace(STAGING, access=AccessConfig(release_principal_arns=(bad,)))
        )
        assert any(
            f"release_principal_arns: {bad!r} is not an IAM principal ARN" in p for p in problems
        ), bad
    good = ("arn:aws:iam::111111111111:role/ci-release", "arn:aws:iam::111111111111:user/releaser")
    assert (
        validate_environment(replace(STAGING, access=AccessConfig(release_principal_arns=good)))
        == []
    )


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_release_jobs_assume_the_release_role_with_their_own_subject(
    stacks, environments, env_name
):
    """The release workflow runs in the GitHub environment ``<env>-release``:
    a subject no deploy or plan role trusts, and the only one (with the
    configured principals) this role trusts (docs/ci.md, "Identities")."""
    from modules.github_oidc import GITHUB_OIDC_HOST, STS_AUDIENCE

    env = environments[env_name]
    role, _ = release_policy(stacks, env_name)
    _, statement = json.loads(role["assume_role_policy"])["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"].endswith(f":oidc-provider/{GITHUB_OIDC_HOST}")
    assert statement["Condition"] == {
        "StringEquals": {
            f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE,
            f"{GITHUB_OIDC_HOST}:sub": (
                f"repo:{env.pipeline.github_repository}:environment:{env_name}-release"
            ),
        }
    }
    assert role["max_session_duration"] == 3 * 3600


# --- 7.2.2: no shell into production tasks ------------------------------------


def test_production_tier_refuses_ecs_exec():
    from dataclasses import replace

    from config.model import validate_environment

    prod = PROD
    svc = replace(prod.services[0], enable_execute_command=True)
    problems = validate_environment(replace(prod, services=(svc, *prod.services[1:])))
    assert any(
        "enable_execute_command: True is not allowed in the production tier" in p for p in problems
    ), problems
    dev = DEV
    assert any(s.enable_execute_command for s in dev.services)
    assert validate_environment(dev) == []


def test_access_roles_are_validated():
    from dataclasses import replace

    from config.model import AccessConfig, validate_environment

    bad = AccessConfig(key_administrator_role_names=(), release_principal_arns=("ci",))
    problems = validate_environment(replace(DEV, access=bad))
    assert "dev.access.key_administrator_role_names: empty; name at least one IAM role" in problems
    assert any("release_principal_arns: 'ci' is not an IAM principal ARN" in p for p in problems)


# --- 7.2.2 / 8.6.3: the secret policy cannot be removed or the value swapped ---


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_secret_policy_reserves_value_and_policy_changes(stacks, environments, env_name):
    env = environments[env_name]
    role = f":iam::{env.account_id or '${data.aws_caller_identity.current.account_id}'}:role/"
    admins = [role + n for n in env.access.secret_administrator_role_names]
    break_glass = role + env.access.break_glass_role_name
    security = stack(stacks, env_name, "security")
    for body in security.resources("aws_secretsmanager_secret_policy").values():
        by_sid = {s["Sid"]: s for s in policy_of(body)["Statement"]}
        value = by_sid["OnlyAdministratorsChangeTheValue"]
        assert value["Effect"] == "Deny" and value["Principal"] == "*"
        assert {"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"} <= set(
            value["Action"]
        )
        allowed = value["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
        assert [a.split("arn:", 1)[1].split(":", 1)[1] for a in allowed] == [
            a.lstrip(":") for a in admins + [break_glass]
        ]
        policy = by_sid["OnlyDeployAndAdministratorsChangeThePolicy"]
        assert policy["Effect"] == "Deny" and policy["Principal"] == "*"
        assert {
            "secretsmanager:PutResourcePolicy",
            "secretsmanager:DeleteResourcePolicy",
            "secretsmanager:DeleteSecret",
        } <= set(policy["Action"])
        allowed = policy["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
        assert allowed[0].endswith(role + env.deploy_role)
        assert allowed[-1].endswith(break_glass)


# --- 7.2.2: confused-deputy conditions ------------------------------------------


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_rds_monitoring_role_trusts_only_this_account(stacks, environments, env_name):
    data = stack(stacks, env_name, "data")
    roles = [b for b in data.resources("aws_iam_role").values() if "rds-monitoring" in b["name"]]
    if not roles:
        pytest.skip("no Enhanced Monitoring in this environment")
    (statement,) = json.loads(roles[0]["assume_role_policy"])["Statement"]
    assert statement["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    account = environments[env_name].account_id or "${data.aws_caller_identity.current.account_id}"
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_alb_log_delivery_writes_only_below_this_accounts_prefix(stacks, environments, env_name):
    env = environments[env_name]
    services = stack(stacks, env_name, "services")
    policies = [
        b
        for b in services.resources("aws_s3_bucket_policy").values()
        if "access-logs" in b["bucket"]
    ]
    if env.is_production:
        assert env.load_balancer.access_logs
    if not env.load_balancer.access_logs:
        assert policies == []
        return
    (policy,) = policies
    writes = [s for s in policy_of(policy)["Statement"] if s["Action"] == "s3:PutObject"]
    assert len(writes) == 2
    for statement in writes:
        assert statement["Resource"].endswith(
            f"/alb/AWSLogs/{env.account_id or CALLER_ACCOUNT}/*"
        ), statement


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_deployment_events_accept_only_their_rules_deliveries(stacks, env_name):
    services = stack(stacks, env_name, "services")
    (policy,) = services.resources("aws_cloudwatch_log_resource_policy").values()
    statements = {s["Action"]: s for s in json.loads(policy["policy_document"])["Statement"]}
    # The recording rule (the other one sends failures to the alarm topic, D51).
    (rule_name,) = (
        key
        for key, rule in services.resources("aws_cloudwatch_event_rule").items()
        if rule["//"]["metadata"]["path"].endswith("/deployment-events/rule")
    )
    # Only the rule writes events; stream creation, which EventBridge calls
    # without aws:SourceArn (D58, PAY-LOG-003), is bound to this group's streams.
    assert statements["logs:PutLogEvents"]["Condition"] == {
        "ArnEquals": {"aws:SourceArn": f"${{aws_cloudwatch_event_rule.{rule_name}.arn}}"}
    }
    assert "Condition" not in statements["logs:CreateLogStream"]
    assert (
        statements["logs:CreateLogStream"]["Resource"]
        == statements["logs:PutLogEvents"]["Resource"]
    )


# --- 3.3.1 / 3.4.1: card data does not reach logs in clear ----------------------


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_waf_logs_redact_authorization_and_cookie(stacks, environments, env_name):
    env = environments[env_name]
    services = stack(stacks, env_name, "services")
    if env.is_production:
        assert env.load_balancer.waf
    if not env.load_balancer.waf:
        assert services.resources("aws_wafv2_web_acl_logging_configuration") == {}
        return
    logging = services.only("aws_wafv2_web_acl_logging_configuration")
    redacted = [f["single_header"]["name"] for f in logging["redacted_fields"]]
    assert redacted == ["authorization", "cookie"]


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_every_log_group_masks_card_numbers(stacks, env_name):
    total = 0
    for part in ("bootstrap", "security", "network", "data", "services"):
        synthesized = stack(stacks, env_name, part)
        groups = synthesized.resources("aws_cloudwatch_log_group")
        policies = synthesized.resources("aws_cloudwatch_log_data_protection_policy")
        protected = {p["log_group_name"] for p in policies.values()}
        assert protected == {f"${{aws_cloudwatch_log_group.{name}.name}}" for name in groups}
        for body in policies.values():
            document = json.loads(body["policy_document"])
            (mask,) = [s for s in document["Statement"] if "Deidentify" in s["Operation"]]
            assert any(i.endswith("/CreditCardNumber") for i in mask["DataIdentifier"])
        total += len(groups)
    assert total >= 5


# --- docs/pci-responsibility.md and the runbook stay true ---------------------------------------


def test_pgaudit_runbook_names_the_parameter_groups_role():
    from pathlib import Path

    from modules.database import PGAUDIT_ROLE, cluster_parameters

    text = (Path(__file__).resolve().parent.parent / "docs" / "data-and-secrets.md").read_text()
    runbook = text[text.index("#### Audit of database reads") :]
    assert f"CREATE ROLE {PGAUDIT_ROLE};" in runbook
    assert "CREATE EXTENSION IF NOT EXISTS pgaudit;" in runbook
    params = {name: value for name, value, _ in cluster_parameters(1000)}
    assert params["pgaudit.role"] == PGAUDIT_ROLE
    assert "pgaudit" in params["shared_preload_libraries"].split(",")


def test_pci_matrix_cites_only_real_rules_stacks_and_tests():
    import re
    from pathlib import Path

    from guardrails.rules import RULES_BY_ID

    root = Path(__file__).resolve().parent.parent
    text = (root / "docs" / "pci-responsibility.md").read_text()
    cited_rules = set(re.findall(r"PAY-[A-Z]+-\d{3}", text))
    assert cited_rules, "docs/pci-responsibility.md cites no rule"
    # Every cited rule exists, and every PCI-relevant rule is cited.
    assert cited_rules <= set(RULES_BY_ID), sorted(cited_rules - set(RULES_BY_ID))
    pci_rules = {
        "PAY-NET-001",
        "PAY-NET-002",
        "PAY-KMS-001",
        "PAY-KMS-002",
        "PAY-IAM-001",
        "PAY-LOG-001",
        "PAY-SEC-001",
        "PAY-TLS-001",
        "PAY-DEL-001",
        "PAY-BAK-001",
        "PAY-TF-001",
    }
    assert pci_rules <= cited_rules, sorted(pci_rules - cited_rules)
    # Stack names, and the three other names of this shape it cites (release
    # role, deploy role, alarm topic), each checked against the code.
    from config.model import EnvironmentConfig
    from config.naming import release_role_name

    env = SimpleNamespace(prefix="payment-<env>", access=SimpleNamespace(deploy_role_name=None))
    others = {
        release_role_name(env).removeprefix("payment-<env>-"),  # type: ignore[arg-type]
        EnvironmentConfig.deploy_role.fget(env).removeprefix("payment-<env>-"),  # type: ignore[attr-defined]
        "alarms",
    }
    from stacks.security_baseline import PART as BASELINE_PART

    parts = {"bootstrap", "security", "network", "data", "services", BASELINE_PART}
    for part in re.findall(r"payment-<env>-([a-z]+)", text):
        assert part in parts | others, part
    for path, name in re.findall(r"(tests/[a-z_]+\.py)::([a-z0-9_]+)", text):
        source = (root / path).read_text()
        assert re.search(rf"^def {name}\(", source, flags=re.M), f"{path}::{name} does not exist"
    for path in re.findall(r"`(tests/[a-z_]+\.py)`", text):
        assert (root / path).exists(), path


#: Every PCI DSS 4.0 principal requirement, and the sub-requirements an
#: assessor found missing (issue #25, item 6), each must have a row.
REQUIRED_ROWS = (
    "3.2.1",
    "5.2.1",
    "6.2.1",
    "6.3.2",
    "6.5.3",
    "6.5.4",
    "6.5.5",
    "6.5.6",
    "10.7.2",
    "11.3.1",
    "11.4.1",
    "11.5.2",
    "11.6.1",
    "12.3.1",
    "12.8.1",
    "12.10.1",
)
#: Who may provide a control (docs/pci-responsibility.md, first section).
PROVIDERS = {"stack", "organization", "AWS", "application"}


def _matrix_rows() -> list[list[str]]:
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "pci-responsibility.md").read_text()
    matrix = text[text.index("## Control matrix") : text.index("## Roles the platform names")]
    rows = [line.split(" | ") for line in matrix.splitlines() if line.startswith("| ")]
    return [[cell.strip("| ") for cell in row] for row in rows[2:]]  # header, rule


def _covers(cell: str, requirement: str) -> bool:
    """Whether the requirement cell (``3.5.1.2, 3.7.1-3.7.6, 10.2.1.x, 9.x``)
    names ``requirement``."""
    import re

    wanted = [int(n) for n in requirement.split(".")]
    for item in (i.strip() for i in cell.split(",")):
        if item.endswith(".x"):
            if requirement.startswith(item[:-1]) or requirement == item[:-2]:
                return True
            continue
        low, _, high = item.partition("-")
        high = high or low
        if not re.fullmatch(r"[\d.]+", low + high):
            continue
        a, b = [int(n) for n in low.split(".")], [int(n) for n in high.split(".")]
        if len(a) == len(wanted) and a <= wanted <= b:
            return True
        if len(a) > len(wanted) and a[: len(wanted)] == wanted:
            return True
    return False


def test_the_matrix_has_a_row_for_every_requirement_1_to_12():
    rows = _matrix_rows()
    cells = [row[0] for row in rows]
    for principal in range(1, 13):
        assert any(_covers(c, str(principal)) for c in cells), f"requirement {principal}"
    for requirement in REQUIRED_ROWS:
        assert any(_covers(c, requirement) for c in cells), requirement
    for row in rows:
        assert len(row) == 4, row
        providers = {w for w in row[2].replace(",", " ").split() if w in PROVIDERS}
        assert providers, f"{row[0]}: provided by {row[2]!r} names nobody"


def test_the_matrix_cites_only_resource_types_the_stacks_declare(example_stacks):
    import re

    declared = {
        tf_type
        for stack_ in example_stacks.values()
        for block in ("resource", "data")
        for tf_type in stack_.json.get(block, {})
    }
    cited = {t for row in _matrix_rows() for t in re.findall(r"`(aws_[a-z0-9_]+)`", row[3])}
    assert cited, "the matrix cites no resource type"
    assert cited <= declared, sorted(cited - declared)
