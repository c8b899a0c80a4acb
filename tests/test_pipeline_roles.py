"""The identities the CI pipeline assumes (docs/ci.md, "Identities"): the
GitHub OIDC provider, the read-only plan role and the deploy role of every
environment's bootstrap stack, their trust, what the plan role may write,
and the configuration that names them."""

from __future__ import annotations

import dataclasses
import json
import re
from fnmatch import fnmatchcase

import pytest

from config.model import (
    PLACEHOLDER_GITHUB_REPOSITORY,
    ConfigError,
    PipelineConfig,
    placeholders,
    validate_all,
    validate_environment,
)
from guardrails.cdktf_out import environment_of
from guardrails.rules import RuleContext
from guardrails.rules.registry import RULES, run_rules
from modules.github_oidc import GITHUB_OIDC_HOST, STS_AUDIENCE
from modules.kms import KEY_READER_ACTIONS
from modules.pipeline_roles import (
    NO_PERMISSION_DATA_SOURCES,
    READ_ACTIONS,
    service_of,
)
from tests.fixtures.example import DEV, STAGING
from tests.helpers import problem_of
from tests.services_helpers import find

READ_VERBS = ("Describe", "Get", "List", "BatchGet")


def bootstrap(stacks, env):
    return stacks[f"{env.prefix}-bootstrap"]


def role(stack, name) -> dict:
    found = [r for r in stack.resources("aws_iam_role").values() if r["name"] == name]
    assert len(found) == 1, f"{stack.name}: expected one role {name}"
    return found[0]


def policy_of(stack, role_key_part: str) -> dict:
    found = [
        json.loads(p["policy"])
        for key, p in stack.resources("aws_iam_role_policy").items()
        if key.startswith(f"pipeline_{role_key_part}-policy")
    ]
    assert len(found) == 1
    return found[0]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def plan_subject(env, repo: str) -> str:
    """A production-tier plan runs in the GitHub environment ``<env>-plan``
    (``prod-plan``); the others in a pull request without one (GitHub docs,
    "About security hardening with OpenID Connect", example subject claims:
    https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect)."""
    if env.is_production:
        return f"repo:{repo}:environment:{env.name}-plan"
    return f"repo:{repo}:pull_request"


@pytest.mark.parametrize(
    ("role_name", "subject"),
    [
        (lambda env: env.plan_role, plan_subject),
        (lambda env: env.deploy_role, lambda env, repo: f"repo:{repo}:environment:{env.name}"),
    ],
    ids=["plan", "deploy"],
)
def test_trust_names_the_exact_subject_and_audience(
    stacks, environments, env_name, role_name, subject
):
    env = environments[env_name]
    stack = bootstrap(stacks, env)
    trust = json.loads(role(stack, role_name(env))["assume_role_policy"])
    [statement] = trust["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    # The provider this stack creates, or the one of its account it looks up.
    source = "" if env.pipeline.creates_github_oidc_provider else "data."
    assert statement["Principal"] == {
        "Federated": f"${{{source}aws_iam_openid_connect_provider.github-oidc_provider_D7593BA3.arn}}"
    }
    # StringEquals only: no StringLike, so no pattern can widen the subject.
    assert statement["Condition"] == {
        "StringEquals": {
            f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE,
            f"{GITHUB_OIDC_HOST}:sub": subject(env, env.pipeline.github_repository),
        }
    }
    assert "*" not in json.dumps(trust) and "?" not in json.dumps(trust)


def test_the_deploy_role_keeps_the_name_key_and_secret_policies_trust(stacks, environments):
    for env in environments.values():
        stack = bootstrap(stacks, env)
        # The names of the configuration, else the default ones.
        deploy = env.access.deploy_role_name or f"payment-{env.name}-deploy"
        plan = env.pipeline.plan_role_name or f"payment-{env.name}-plan"
        assert role(stack, env.deploy_role)["name"] == deploy
        assert role(stack, env.plan_role)["name"] == plan
        # The state key is a person's (bootstrap): the deploy role uses it
        # through S3 only (D49); its policy names the deploy role only to let
        # make verify read the key's configuration, never to use it (D67).
        key_policy = json.loads(find(stack, "aws_kms_key", "state-key/key")[1]["policy"])
        naming = [s for s in key_policy["Statement"] if f":role/{env.deploy_role}" in json.dumps(s)]
        assert [s["Sid"] for s in naming] == ["ConfigurationReaders"]
        assert set(naming[0]["Action"]) == set(KEY_READER_ACTIONS)


def test_each_environment_creates_the_provider_its_configuration_says(stacks, environments):
    for env in environments.values():
        stack = bootstrap(stacks, env)
        created = stack.resources("aws_iam_openid_connect_provider")
        looked_up = stack.data_sources("aws_iam_openid_connect_provider")
        if not env.pipeline.creates_github_oidc_provider:
            # Another environment of the account creates it (test below).
            assert not created and len(looked_up) == 1, env.name
            continue
        assert [(p["url"], p["client_id_list"]) for p in created.values()] == [
            (f"https://{GITHUB_OIDC_HOST}", [STS_AUDIENCE])
        ]
        assert not looked_up


def test_every_example_environment_creates_its_provider(example_environments):
    assert all(e.pipeline.creates_github_oidc_provider for e in example_environments.values())


def test_an_environment_sharing_the_account_looks_the_provider_up(tmp_path, environments):
    from tests.synth import synthesize_bootstrap

    dev = next(iter(environments.values()))
    shared = dataclasses.replace(
        dev, pipeline=dataclasses.replace(dev.pipeline, creates_github_oidc_provider=False)
    )
    stack = synthesize_bootstrap(shared, tmp_path)
    assert stack.name == f"{dev.prefix}-bootstrap"
    assert not stack.resources("aws_iam_openid_connect_provider")
    [found] = stack.data_sources("aws_iam_openid_connect_provider").values()
    assert found["url"] == f"https://{GITHUB_OIDC_HOST}"
    trust = json.loads(role(stack, dev.plan_role)["assume_role_policy"])
    assert trust["Statement"][0]["Principal"]["Federated"].startswith(
        "${data.aws_iam_openid_connect_provider."
    )


def test_plan_role_writes_nothing_but_the_state_lock(stacks, environments, env_name):
    env = environments[env_name]
    statements = policy_of(bootstrap(stacks, env), "plan")["Statement"]
    assert all(s["Effect"] == "Allow" for s in statements)
    lock = f"arn:${{data.aws_partition.partition.partition}}:s3:::{env.state_bucket}/payment-platform/{env.name}/*.tfstate.tflock"
    for statement in statements:
        for action in as_list(statement["Action"]):
            service, _, verb = action.partition(":")
            assert "*" != verb and service != "*"
            if verb.startswith(READ_VERBS):
                continue
            if action in ("s3:PutObject", "s3:DeleteObject"):
                assert as_list(statement["Resource"]) == [lock], action
            elif action in ("kms:Decrypt", "kms:GenerateDataKey"):
                # The state key, only on S3's behalf.
                assert statement["Condition"] == {
                    "StringEquals": {"kms:ViaService": f"s3.{env.backend_region}.amazonaws.com"}
                }
                key, _ = find(bootstrap(stacks, env), "aws_kms_key", "state-key/key")
                assert statement["Resource"] == f"${{aws_kms_key.{key}.arn}}"
            else:
                pytest.fail(f"the plan role may {action}")


@pytest.mark.parametrize(
    "data_read",
    [
        "s3:GetObject",
        "secretsmanager:GetSecretValue",
        "logs:GetLogEvents",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
        "ssm:GetParameter",
        "kms:Decrypt",
    ],
)
def test_plan_role_reads_no_data_outside_the_state(stacks, env, data_read):
    statements = policy_of(bootstrap(stacks, env), "plan")["Statement"]
    for statement in statements:
        if any(fnmatchcase(data_read, a) for a in as_list(statement["Action"])):
            resources = as_list(statement["Resource"])
            assert "*" not in resources, f"{data_read} on every resource"
            assert all(
                f"{env.state_bucket}/" in r or "aws_kms_key.state-key" in r for r in resources
            )


def test_deploy_role_cannot_change_the_pipeline_identities(stacks, environments, env_name):
    env = environments[env_name]
    statements = policy_of(bootstrap(stacks, env), "deploy")["Statement"]
    [deny] = [s for s in statements if s["Sid"] == "NeverChangeThePipelineIdentities"]
    assert deny["Effect"] == "Deny"
    resources = " ".join(deny["Resource"])
    for name in (f"role/{env.plan_role}", f"role/{env.deploy_role}", "oidc-provider/"):
        assert name in resources
    for write in ("iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:AttachRolePolicy"):
        assert any(fnmatchcase(write, a) for a in deny["Action"])
    assert not any(a == "iam:*" for s in statements for a in as_list(s["Action"]))


def test_deploy_role_never_reads_the_access_log_objects(stacks, environments, env_name):
    """A request blocked for a card number in its URL is in the ALB access
    logs in clear (D77): the deploy role, whose s3 grant covers every bucket
    of its regions, is denied their objects."""
    env = environments[env_name]
    statements = policy_of(bootstrap(stacks, env), "deploy")["Statement"]
    denies = [s for s in statements if s["Sid"] == "NeverReadTheAccessLogObjects"]
    if not env.load_balancer.access_logs:
        assert denies == []
        return
    [deny] = denies
    assert deny["Effect"] == "Deny" and "Condition" not in deny
    assert set(deny["Action"]) == {"s3:GetObject", "s3:GetObjectVersion"}
    account = env.account_id or "*"
    assert fnmatchcase(
        deny["Resource"].replace("${data.aws_partition.partition.partition}", "aws"),
        f"arn:aws:s3:::{env.prefix}-alb-access-logs-*/*",
    )
    assert account == "*" or f"-{account}/" in deny["Resource"]


def test_every_type_the_stacks_declare_has_its_service_in_the_roles(stacks, environments, env_name):
    """A new resource type without a row would fail the deploy (and the
    plan) at the first call: the table must grow with the stacks."""
    env = environments[env_name]
    unknown = set()
    for name, stack in stacks.items():
        if not name.startswith(f"{env.prefix}-"):
            continue
        for kind in ("resource", "data"):
            for tf_type in stack.json.get(kind, {}):
                if kind == "data" and tf_type in NO_PERMISSION_DATA_SOURCES:
                    continue
                if service_of(tf_type) not in READ_ACTIONS:
                    unknown.add(tf_type)
    assert not unknown, f"no IAM service for {sorted(unknown)} in modules/pipeline_roles.py"


def buckets_the_plan_cannot_read(stack_jsons, env, plan_policy: dict) -> list[str]:
    """Names of the aws_s3_bucket resources of ``env``'s stacks that the
    plan role may not s3:ListBucket: the provider reads each with HeadBucket,
    which needs it (S3 API reference, HeadBucket), so the plan gets 403."""
    listable = [
        str(resource).split(":s3:::", 1)[1]
        for statement in plan_policy["Statement"]
        if statement["Effect"] == "Allow"
        and any(fnmatchcase("s3:ListBucket", a) for a in as_list(statement["Action"]))
        for resource in as_list(statement["Resource"])
        if ":s3:::" in str(resource) and "/" not in str(resource)
    ]
    missing = []
    for stack in stack_jsons:
        if environment_of(stack) != env.name:
            continue
        for bucket in stack.get("resource", {}).get("aws_s3_bucket", {}).values():
            if not any(fnmatchcase(bucket["bucket"], pattern) for pattern in listable):
                missing.append(bucket["bucket"])
    return missing


def test_plan_role_may_list_every_bucket_its_environment_manages(stacks, environments, env_name):
    """Pull-request plans read every aws_s3_bucket with HeadBucket (issue #23)."""
    env = environments[env_name]
    policy = policy_of(bootstrap(stacks, env), "plan")
    assert buckets_the_plan_cannot_read([s.json for s in stacks.values()], env, policy) == []
    [statement] = [s for s in policy["Statement"] if s["Sid"] == "ListTheEnvironmentsBuckets"]
    assert statement["Action"] == "s3:ListBucket"
    assert "*" not in json.dumps(statement["Resource"])


def test_a_bucket_added_without_the_plan_role_is_found(stacks, environments):
    env = environments["dev"]
    policy = policy_of(bootstrap(stacks, env), "plan")
    services = stacks[f"{env.prefix}-services"].json
    services.setdefault("resource", {}).setdefault("aws_s3_bucket", {})["exports"] = {
        "bucket": f"{env.prefix}-exports"
    }
    assert buckets_the_plan_cannot_read([services], env, policy) == [f"{env.prefix}-exports"]


def test_plan_role_reads_log_subscription_filters():
    """Needed once a log-archive destination is configured (modules/log_archive.py)."""
    assert "DescribeSubscriptionFilters" in READ_ACTIONS["logs"]


def test_contract_rules_pass_on_the_bootstrap_stacks(stacks, environments, env_name):
    env = environments[env_name]
    findings = run_rules(bootstrap(stacks, env).json, RuleContext.for_environment(env), RULES)
    assert findings == []


# --- Configuration ----------------------------------------------------------


@pytest.mark.parametrize(
    ("repository", "expected"),
    [
        ("acme/*", "wildcards would let other repositories"),
        ("*/payment-platform", "wildcards would let other repositories"),
        ("acme/payment-?", "wildcards would let other repositories"),
        ("acme", "give one repository as owner/repo"),
        ("acme/", "give one repository as owner/repo"),
        ("-acme/payment", "give one repository as owner/repo"),
        ("acme--corp/payment", "give one repository as owner/repo"),
        ("acme/pay/ment", "give one repository as owner/repo"),
        ("acme/..", "give one repository as owner/repo"),
        ("a" * 40 + "/payment", "give one repository as owner/repo"),
        ("", "give one repository as owner/repo"),
    ],
)
def test_a_repository_that_is_not_exactly_one_is_refused(repository, expected):
    dev = DEV
    env = dataclasses.replace(dev, pipeline=PipelineConfig(github_repository=repository))
    problems = validate_environment(env)
    assert problems == [
        next(p for p in problems if p.startswith("dev.pipeline.github_repository: "))
    ]
    assert repr(repository) in problems[0] and expected in problems[0]
    assert "owner/repo" in problems[0]


@pytest.mark.parametrize("repository", ["acme/payment-platform", "Acme-Corp/pay.ments_2"])
def test_a_real_repository_is_accepted(environments, repository):
    for configured in environments.values():
        env = dataclasses.replace(
            configured,
            pipeline=dataclasses.replace(configured.pipeline, github_repository=repository),
        )
        assert validate_environment(env) == []
        assert not any("github_repository" in p for p in placeholders(env))


def placeholder_line(env) -> str:
    return f"{env.name}.pipeline.github_repository = {PLACEHOLDER_GITHUB_REPOSITORY}"


def test_the_placeholder_repository_is_listed_and_can_belong_to_nobody(example_environments):
    owner = PLACEHOLDER_GITHUB_REPOSITORY.split("/")[0]
    assert len(owner) > 39  # GitHub account names have at most 39 characters
    for env in example_environments.values():
        assert env.pipeline.github_repository == PLACEHOLDER_GITHUB_REPOSITORY
        assert placeholder_line(env) in placeholders(env)


def test_the_configured_repository_is_listed_exactly_when_it_is_the_placeholder(environments):
    for env in environments.values():
        is_placeholder = env.pipeline.github_repository == PLACEHOLDER_GITHUB_REPOSITORY
        assert (placeholder_line(env) in placeholders(env)) is is_placeholder, env.name
        if not is_placeholder:
            assert not any("github_repository" in p for p in placeholders(env)), env.name


def test_plan_role_name_is_checked():
    dev = DEV
    for name, expected in (
        ("plan role", "is not an IAM role name"),
        (dev.deploy_role, "needs a name of its own"),
    ):
        env = dataclasses.replace(dev, pipeline=PipelineConfig(plan_role_name=name))
        [problem] = validate_environment(env)
        assert problem.startswith(f"dev.pipeline.plan_role_name: {name!r} ") and expected in problem


def test_environments_sharing_an_account_create_the_provider_once():
    dev, staging = DEV, STAGING
    account = "123456789012"
    both = [dataclasses.replace(e, account_id=account) for e in (dev, staging)]
    with pytest.raises(ConfigError) as refused:
        validate_all(both)
    problem = problem_of(refused.value.problems, "staging.pipeline.creates_github_oidc_provider")
    assert len(refused.value.problems) == 1
    assert problem.split(": ", 1)[1].startswith("True is not allowed")
    assert f"dev creates the GitHub OIDC provider of account {account}" in problem
    assert problem.endswith("set False here")
    one = dataclasses.replace(
        both[1], pipeline=dataclasses.replace(staging.pipeline, creates_github_oidc_provider=False)
    )
    validate_all([both[0], one])


def test_deploy_role_reads_exactly_the_configured_certificate_for_the_preflight(
    stacks, environments, env_name
):
    """The deploy workflow's preflight describes the load balancers'
    certificate (verify/preflight.py); no other ACM call, no other certificate."""
    env = environments[env_name]
    statements = policy_of(bootstrap(stacks, env), "deploy")["Statement"]
    acm = [s for s in statements if any(a.startswith("acm:") for a in as_list(s["Action"]))]
    if env.load_balancer.certificate_arn is None:
        assert acm == []
        return
    assert [(s["Action"], s["Resource"]) for s in acm] == [
        (["acm:DescribeCertificate"], env.load_balancer.certificate_arn)
    ]


#: IAM quota: a role's inline policies together hold at most 10,240
#: characters, whitespace not counted (IAM user guide, "IAM and AWS STS
#: quotas": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
ROLE_INLINE_POLICY_CHARACTERS = 10_240


def test_the_pipeline_roles_inline_policies_fit_iams_quota(stacks, environments, env_name):
    """With the partition and a 12-digit account in place of their tokens:
    the deploy role's policy grows with every verify read (D67)."""
    env = environments[env_name]
    bootstrap = stacks[f"{env.prefix}-bootstrap"]
    policies = {
        key: policy
        for key, policy in bootstrap.resources("aws_iam_role_policy").items()
        if key.startswith("pipeline_")
    }
    assert len(policies) == 2
    for key, policy in policies.items():
        text = json.dumps(json.loads(policy["policy"]), separators=(",", ":"))
        text = text.replace("${data.aws_partition.partition.partition}", "aws-us-gov")
        text = re.sub(r"\$\{data\.aws_caller_identity\.[^}]*\}", "123456789012", text)
        # arn:aws-us-gov:kms:<region>:<account>:key/<uuid> is under 100.
        text = re.sub(r"\$\{aws_kms_key\.[^}]*\.arn\}", "k" * 100, text)
        assert not re.search(r"\$\{", text), f"{key}: a reference of unknown length"
        assert len(text) <= ROLE_INLINE_POLICY_CHARACTERS, (key, len(text))
