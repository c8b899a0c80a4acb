"""The account-level security baseline (issue #15, docs/pci-responsibility.md,
D35): one per account and region, built only when configuration says this
repository provides it."""

from __future__ import annotations

import dataclasses
import json

import pytest

from config import ConfigError, load_environments
from config.model import (
    BASELINE_CONTROLS,
    KEPT_UNLESS_PROVIDED,
    PROVIDED_BY_ORGANIZATION,
    THIS_REPOSITORY,
    SecurityBaselineConfig,
    account_environments,
    baseline_owner,
)
from config.naming import access_analyzer_name, stack_names
from modules.github_oidc import GITHUB_OIDC_HOST
from modules.threat_detection import MAX_CRITERION_VALUES, PCI_DSS_STANDARD, ExpectedTrust
from tests.conftest import CONFIGURED, stack
from tests.fixtures.example import DEV, PROD, STAGING
from tests.helpers import log_groups_but_findings
from tests.services_helpers import find

#: The environments of the configuration under test that deploy their
#: account's baseline (one per account and region this repository provides).
BASELINE_OWNERS = tuple(
    env.name
    for env in CONFIGURED
    if env.security_baseline.builds_anything and baseline_owner(env, CONFIGURED) == env.name
)


def members_of(owner):
    """The environments sharing ``owner``'s baseline, ``owner`` included."""
    return [e for e in CONFIGURED if e.account_scope == owner.account_scope]


def test_each_account_this_repository_provides_has_one_baseline(stacks):
    built = {name for name in stacks if name.endswith("-baseline")}
    assert built == {f"payment-{name}-baseline" for name in BASELINE_OWNERS}
    for env in CONFIGURED:
        provided_here = env.security_baseline.builds_anything
        assert (baseline_owner(env, CONFIGURED) in BASELINE_OWNERS) is provided_here, env.name


def test_every_example_environment_deploys_its_own_baseline(example_stacks):
    built = {name for name in example_stacks if name.endswith("-baseline")}
    assert built == {f"payment-{name}-baseline" for name in ("dev", "staging", "prod")}


@pytest.mark.parametrize("env_name", BASELINE_OWNERS)
def test_trail_validates_log_files_into_a_locked_encrypted_bucket(stacks, environments, env_name):
    env = environments[env_name]
    members = members_of(env)
    # Shared by environments of one account: the strictest of them decides.
    production = any(e.is_production for e in members)
    retention_days = max(e.log_retention_days for e in members)
    baseline = stack(stacks, env_name, "baseline")
    trail = baseline.only("aws_cloudtrail")
    assert trail["enable_log_file_validation"] is True
    assert trail["is_multi_region_trail"] is True
    assert trail["kms_key_id"].startswith("${aws_kms_key.audit-key_")
    lock = baseline.only("aws_s3_bucket_object_lock_configuration")
    mode = "COMPLIANCE" if production else "GOVERNANCE"
    assert lock["rule"]["default_retention"] == {"mode": mode, "days": retention_days}
    key, bucket = find(baseline, "aws_s3_bucket", "trail/bucket/bucket")
    assert lock["bucket"] == f"${{aws_s3_bucket.{key}.id}}"
    assert "object_lock_enabled" not in bucket
    assert bucket.get("lifecycle", {}).get("prevent_destroy", False) is production
    _, sse = find(
        baseline, "aws_s3_bucket_server_side_encryption_configuration", "trail/bucket/encryption"
    )
    assert sse["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms"
    _, policy = find(baseline, "aws_s3_bucket_policy", "trail/bucket/policy")
    assert json.loads(policy["policy"])["Statement"][0]["Sid"] == "DenyInsecureTransport"
    # The state bucket's reads and writes are recorded (its access-log bucket cannot be locked).
    data = [s for s in trail["advanced_event_selector"] if s["name"] == "terraform-state-objects"]
    (arns,) = [f["starts_with"] for f in data[0]["field_selector"] if f["field"] == "resources.ARN"]
    assert arns == [
        f"arn:${{data.aws_partition.partition.partition}}:s3:::{bucket}/"
        for bucket in sorted({e.state_bucket for e in members})
    ]
    # So are AWS Config's deliveries (their bucket cannot be locked: PAY-LOG-002).
    history = [
        s for s in trail["advanced_event_selector"] if s["name"] == "configuration-history-objects"
    ]
    (arns,) = [
        f["starts_with"] for f in history[0]["field_selector"] if f["field"] == "resources.ARN"
    ]
    account = env.account_id or "${data.aws_caller_identity.current.account_id}"
    assert arns == [
        f"arn:${{data.aws_partition.partition.partition}}:s3:::{env.prefix}-config-{account}/"
    ]


@pytest.mark.parametrize("env_name", BASELINE_OWNERS)
def test_guardduty_config_security_hub_and_rds_os_metrics(stacks, environments, env_name):
    env = environments[env_name]
    baseline = stack(stacks, env_name, "baseline")
    features = {f["name"]: f for f in baseline.resources("aws_guardduty_detector_feature").values()}
    assert set(features) == {"RUNTIME_MONITORING", "RDS_LOGIN_EVENTS"}
    assert all(f["status"] == "ENABLED" for f in features.values())
    # All three that GuardDuty returns (PAY-GD-001); no agent yet (D43).
    assert features["RUNTIME_MONITORING"]["additional_configuration"] == [
        {"name": "EKS_ADDON_MANAGEMENT", "status": "DISABLED"},
        {"name": "ECS_FARGATE_AGENT_MANAGEMENT", "status": "DISABLED"},
        {"name": "EC2_AGENT_MANAGEMENT", "status": "DISABLED"},
    ]
    recorder = baseline.only("aws_config_configuration_recorder")
    assert recorder["recording_group"]["all_supported"] is True
    assert baseline.only("aws_config_configuration_recorder_status")["is_enabled"] is True
    hub = baseline.only("aws_securityhub_standards_subscription")
    assert hub["standards_arn"].endswith(f":securityhub:{env.region}::{PCI_DSS_STANDARD}")
    assert baseline.only("aws_securityhub_account")["enable_default_standards"] is False
    (group,) = log_groups_but_findings(baseline).values()
    assert group["name"] == "RDSOSMetrics"
    assert group["kms_key_id"].startswith("${aws_kms_key.audit-key_")
    assert group["retention_in_days"] == max(e.log_retention_days for e in members_of(env))


@pytest.mark.parametrize("env_name", BASELINE_OWNERS)
def test_an_account_zone_access_analyzer_where_this_repository_provides_it(
    stacks, environments, env_name
):
    """IAM Access Analyzer with the account as its zone of trust, in the
    baseline's region (an analyzer sees its own region; a role, global, is
    reported in every region that has one: D66); none where configuration
    says the organization provides it."""
    env = environments[env_name]
    baseline = stack(stacks, env_name, "baseline")
    analyzers = list(baseline.resources("aws_accessanalyzer_analyzer").values())
    if not env.security_baseline.provided_here("access_analyzer"):
        assert analyzers == []
        return
    [analyzer] = analyzers
    assert (analyzer["analyzer_name"], analyzer["type"]) == (access_analyzer_name(env), "ACCOUNT")
    assert "configuration" not in analyzer  # external access, not unused access
    [provider] = baseline.json["provider"]["aws"]
    assert provider["region"] == env.region


def github_trusted_roles(stacks, env) -> set[str]:
    """Names of the roles any stack of ``env`` creates whose trust policy
    names GitHub's OIDC provider (a federated principal: the provider the
    stack creates or looks up by URL, or its ARN spelled out)."""
    names = set()
    for name, synthesized in stacks.items():
        if name.rsplit("-", 1)[0] != env.prefix:
            continue
        github = {
            f"${{{prefix}aws_iam_openid_connect_provider.{key}.arn}}"
            for prefix, found in (
                ("", synthesized.resources("aws_iam_openid_connect_provider")),
                ("data.", synthesized.data_sources("aws_iam_openid_connect_provider")),
            )
            for key, provider in found.items()
            if provider["url"] == f"https://{GITHUB_OIDC_HOST}"
        }
        for role in synthesized.resources("aws_iam_role").values():
            trust = json.loads(role["assume_role_policy"])
            federated = [st.get("Principal", {}).get("Federated", "") for st in trust["Statement"]]
            if any(
                f in github or f.endswith(f":oidc-provider/{GITHUB_OIDC_HOST}") for f in federated
            ):
                names.add(role["name"])
    return names


def archives(rule: dict, finding: dict[str, str]) -> bool:
    """Whether an archive rule archives ``finding`` (filter key -> value):
    every criterion must match; ``eq`` one of its values, ``neq`` none,
    ``contains`` a substring, ``exists`` the key's presence (IAM user guide,
    "Archive rules" and "IAM Access Analyzer filter keys",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-filter-keys.html;
    API reference, Criterion)."""
    for criterion in rule["filter"]:
        value = finding.get(criterion["criteria"])
        if "eq" in criterion and value not in criterion["eq"]:
            return False
        if "neq" in criterion and value in criterion["neq"]:
            return False
        if "contains" in criterion and not (
            value and any(c in value for c in criterion["contains"])
        ):
            return False
        if "exists" in criterion and (value is not None) != (criterion["exists"] == "true"):
            return False
    return True


def archive_rules_of(stacks, env) -> list[dict]:
    return list(
        stack(stacks, env.name, "baseline").resources("aws_accessanalyzer_archive_rule").values()
    )


@pytest.mark.parametrize("env_name", BASELINE_OWNERS)
def test_archive_rules_name_exactly_the_pipeline_roles_and_githubs_provider(
    stacks, environments, env_name
):
    """The intended trusts (plan, deploy and release roles of every
    environment of the account, any region: roles are global) are archived
    by resource AND federated principal, exact ARNs, never a wildcard; none
    without this repository's analyzer (D66)."""
    owner = environments[env_name]
    rules = archive_rules_of(stacks, owner)
    if not owner.security_baseline.provided_here("access_analyzer"):
        assert rules == []
        return
    account = account_environments(owner, CONFIGURED)
    assert len(rules) == len(account)
    [analyzer_key] = stack(stacks, env_name, "baseline").resources("aws_accessanalyzer_analyzer")
    named: set[str] = set()
    for rule in rules:
        assert rule["analyzer_name"] == (
            f"${{aws_accessanalyzer_analyzer.{analyzer_key}.analyzer_name}}"
        )
        criteria = {c["criteria"]: c for c in rule["filter"]}
        assert set(criteria) == {"resource", "principal.Federated"}
        assert all(set(c) == {"criteria", "eq"} for c in rule["filter"])
        [provider] = criteria["principal.Federated"]["eq"]
        assert provider.endswith(f":oidc-provider/{GITHUB_OIDC_HOST}")
        account_arn = provider.split(":oidc-provider/")[0]
        for arn in criteria["resource"]["eq"]:
            assert "*" not in arn and "?" not in arn
            prefix, name = arn.split(":role/")
            assert prefix == account_arn
            named.add(name)
    assert named == set().union(*(github_trusted_roles(stacks, e) for e in account))
    assert len(named) == 3 * len(account)


@pytest.mark.parametrize("env_name", BASELINE_OWNERS)
def test_only_the_pipeline_roles_findings_for_githubs_provider_are_archived(
    stacks, environments, env_name
):
    """Evaluated as Access Analyzer matches (all criteria): a bounded role
    the deploy role creates trusting the same provider, a pipeline role
    trusting another account or another identity provider, and a finding
    of another type on the role's name all stay active and alert."""
    owner = environments[env_name]
    rules = archive_rules_of(stacks, owner)
    if not rules:
        pytest.skip("the organization provides the analyzer: no archive rule is this stack's")
    provider = rules[0]["filter"][
        [c["criteria"] for c in rules[0]["filter"]].index("principal.Federated")
    ]["eq"][0]
    account_arn = provider.split(":oidc-provider/")[0]
    for env in account_environments(owner, CONFIGURED):
        for name in github_trusted_roles(stacks, env):
            role = f"{account_arn}:role/{name}"
            meant = {"resource": role, "principal.Federated": provider}
            assert sum(archives(rule, meant) for rule in rules) == 1, name
            for other in (
                {"resource": role, "principal.AWS": "111122223333"},
                {"resource": role, "principal.Federated": f"{account_arn}:saml-provider/AWSSSO_x"},
                {"resource": f"{account_arn}:role/{name}-bounded", "principal.Federated": provider},
            ):
                assert not any(archives(rule, other) for rule in rules), other
        bounded = f"{account_arn}:role/{env.prefix}-payment-api-task"
        assert not any(
            archives(rule, {"resource": bounded, "principal.Federated": provider}) for rule in rules
        )


def test_an_expected_trust_takes_exact_arns_and_at_most_one_criterions_worth():
    arn = "arn:aws:iam::111122223333:role/payment-dev-plan"
    github = f"arn:aws:iam::111122223333:oidc-provider/{GITHUB_OIDC_HOST}"
    with pytest.raises(ValueError, match="exact ARNs only"):
        ExpectedTrust(
            rule_name="r",
            role_arns=("arn:aws:iam::111122223333:role/*",),
            federated_principal=github,
        )
    with pytest.raises(ValueError, match="exact ARNs only"):
        ExpectedTrust(rule_name="r", role_arns=(arn,), federated_principal="*")
    with pytest.raises(ValueError, match=f"allowed: 1 to {MAX_CRITERION_VALUES}"):
        ExpectedTrust(rule_name="r", role_arns=(), federated_principal=github)
    with pytest.raises(ValueError, match=f"allowed: 1 to {MAX_CRITERION_VALUES}"):
        ExpectedTrust(
            rule_name="r", role_arns=(arn,) * (MAX_CRITERION_VALUES + 1), federated_principal=github
        )
    assert ExpectedTrust(rule_name="r", role_arns=(arn,), federated_principal=github).role_arns


@pytest.mark.parametrize("env_name", BASELINE_OWNERS)
def test_config_delivers_to_its_own_bucket_without_object_lock(stacks, environments, env_name):
    """AWS Config cannot deliver to an Object Lock bucket (AWS::Config::
    DeliveryChannel; PAY-LOG-002): its bucket is its own, encrypted with the
    audit key, TLS-only, versioned, private, owner-enforced, kept as long
    as the audit trail, and its policy admits AWS Config's documented
    delivery calls for this account only."""
    env = environments[env_name]
    members = members_of(env)
    production = any(e.is_production for e in members)
    retention_days = max(e.log_retention_days for e in members)
    baseline = stack(stacks, env_name, "baseline")
    key, bucket = find(baseline, "aws_s3_bucket", "config/bucket/bucket")
    account = env.account_id or "${data.aws_caller_identity.current.account_id}"
    assert bucket["bucket"] == f"{env.prefix}-config-{account}"
    assert "object_lock_enabled" not in bucket
    assert bucket.get("lifecycle", {}).get("prevent_destroy", False) is production
    channel = baseline.only("aws_config_delivery_channel")
    assert channel["s3_bucket_name"] == f"${{aws_s3_bucket.{key}.id}}"
    assert "s3_key_prefix" not in channel
    assert channel["s3_kms_key_arn"].startswith("${aws_kms_key.audit-key_")
    bucket_ref = f"${{aws_s3_bucket.{key}.id}}"
    [lock] = baseline.resources("aws_s3_bucket_object_lock_configuration").values()
    assert lock["bucket"] != bucket_ref

    def of_bucket(resource_type: str) -> dict:
        [found] = [
            r for r in baseline.resources(resource_type).values() if r["bucket"] == bucket_ref
        ]
        return found

    sse = of_bucket("aws_s3_bucket_server_side_encryption_configuration")["rule"][0]
    default = sse["apply_server_side_encryption_by_default"]
    assert default["sse_algorithm"] == "aws:kms"
    assert default["kms_master_key_id"].startswith("${aws_kms_key.audit-key_")
    assert of_bucket("aws_s3_bucket_versioning")["versioning_configuration"]["status"] == "Enabled"
    assert of_bucket("aws_s3_bucket_public_access_block")["restrict_public_buckets"] is True
    ownership = of_bucket("aws_s3_bucket_ownership_controls")["rule"]["object_ownership"]
    assert ownership == "BucketOwnerEnforced"
    [rule] = of_bucket("aws_s3_bucket_lifecycle_configuration")["rule"]
    assert rule["expiration"] == [{"days": retention_days}]
    # Not locked: versioning keeps what is deleted or overwritten as long.
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": retention_days}]
    statements = {
        s["Sid"]: s for s in json.loads(of_bucket("aws_s3_bucket_policy")["policy"])["Statement"]
    }
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"
    arn = f"${{aws_s3_bucket.{key}.arn}}"
    expected = {
        "AWSConfigBucketPermissionsCheck": ("s3:GetBucketAcl", arn),
        "AWSConfigBucketExistenceCheck": ("s3:ListBucket", arn),
        "AWSConfigBucketDelivery": (
            "s3:PutObject",
            f"{arn}/AWSLogs/{account}/Config/*",
        ),
    }
    for sid, (action, resource) in expected.items():
        statement = statements[sid]
        assert statement["Principal"] == {"Service": "config.amazonaws.com"}
        assert (statement["Action"], statement["Resource"]) == (action, resource)
        source = statement["Condition"]["StringEquals"]["aws:SourceAccount"]
        assert source == account


def test_the_baseline_has_its_own_state_key(example_stacks):
    backend = stack(example_stacks, "prod", "baseline").json["terraform"]["backend"]["s3"]
    assert backend["key"] == "payment-platform/prod/baseline.tfstate"
    assert backend["bucket"] == PROD.state_bucket


def test_environments_sharing_an_account_share_one_baseline():
    dev, staging, prod = DEV, STAGING, PROD
    shared = [dataclasses.replace(e, account_id="123456789012") for e in (dev, staging)]
    assert [baseline_owner(e, [*shared, prod]) for e in shared] == ["dev", "dev"]
    # The first production-tier environment of an account owns it.
    live = dataclasses.replace(
        prod, name="live", account_id="123456789012", vpc_cidr="10.40.0.0/16"
    )
    assert baseline_owner(shared[0], [*shared, live]) == "live"
    different = dataclasses.replace(
        shared[1], security_baseline=SecurityBaselineConfig(provided_by=PROVIDED_BY_ORGANIZATION)
    )
    with pytest.raises(ConfigError, match="staging.security_baseline: .* differs from dev's"):
        load_environments(defined=[shared[0], different])
    # The stacks make diff may name (config.naming.stack_names): the owner's baseline only.
    names = stack_names(shared, shared)
    assert "payment-dev-baseline" in names and "payment-staging-baseline" not in names


@pytest.mark.app_synthesis  # synthesizes its own variant (D79)
def test_a_baseline_the_organization_provides_entirely_is_not_built(tmp_path):
    from tests.synth import synthesize

    dev = dataclasses.replace(
        DEV,
        security_baseline=SecurityBaselineConfig(
            **{"provided_by": PROVIDED_BY_ORGANIZATION}
            | {c: PROVIDED_BY_ORGANIZATION for c in KEPT_UNLESS_PROVIDED}
        ),
    )
    built, stacks = synthesize([dev], tmp_path)
    assert built["dev"].security_baseline is None
    assert not any(name.endswith("-baseline") for name in stacks)
    assert sorted(stack_names([dev], [dev])) == sorted(stacks)


def baseline_of(tmp_path, **controls):
    """The baseline stack of the example's dev alone, with ``controls``
    (security_baseline fields) set, synthesized with its contract rules."""
    from framework import App
    from stacks.security_baseline import SecurityBaselineStack
    from tests.synth import read_outdir

    env = dataclasses.replace(DEV, security_baseline=SecurityBaselineConfig(**controls))
    app = App(outdir=str(tmp_path))
    SecurityBaselineStack(app, env, [env])
    app.synth()
    (synthesized,) = read_outdir(tmp_path).values()
    return env, synthesized


#: control -> the Terraform types that are it in the baseline stack.
CONTROL_TYPES = {
    "guardduty": ("aws_guardduty_detector", "aws_guardduty_detector_feature"),
    "security_hub": ("aws_securityhub_account", "aws_securityhub_standards_subscription"),
    "config_recorder": (
        "aws_config_configuration_recorder",
        "aws_config_delivery_channel",
        "aws_config_configuration_recorder_status",
    ),
    "access_analyzer": ("aws_accessanalyzer_analyzer", "aws_accessanalyzer_archive_rule"),
}


def selectors(stack) -> set[str]:
    trail = stack.only("aws_cloudtrail")
    return {s["name"] for s in trail["advanced_event_selector"]}


def log_group_names(stack) -> set[str]:
    return {g["name"] for g in stack.resources("aws_cloudwatch_log_group").values()}


def test_provided_by_the_organization_keeps_the_state_data_events_and_rdsosmetrics(tmp_path):
    """Backward compatible: ``provided_by`` still takes the trail, GuardDuty,
    Config and Security Hub together; what organizations rarely provide
    stays ours (D50): a trail of only the state buckets' data events (no
    management events billed twice) and RDSOSMetrics with the CMK."""
    env, stack = baseline_of(tmp_path, provided_by=PROVIDED_BY_ORGANIZATION)
    for types in CONTROL_TYPES.values():
        assert not any(stack.resources(t) for t in types), types
    assert selectors(stack) == {"terraform-state-objects"}
    assert "RDSOSMetrics" in log_group_names(stack)
    group = next(
        g
        for g in stack.resources("aws_cloudwatch_log_group").values()
        if g["name"] == "RDSOSMetrics"
    )
    assert group["kms_key_id"].startswith("${aws_kms_key.")
    assert not any("-config-" in b["bucket"] for b in stack.resources("aws_s3_bucket").values())


@pytest.mark.parametrize("control", sorted(CONTROL_TYPES))
def test_a_control_the_organization_provides_alone_is_left_out(tmp_path, control):
    env, stack = baseline_of(tmp_path, **{control: PROVIDED_BY_ORGANIZATION})
    for other, types in CONTROL_TYPES.items():
        present = {t for t in types if stack.resources(t)}
        assert present == (set() if other == control else set(types)), (other, present)
    expected = {"management-events", "terraform-state-objects"}
    if control != "config_recorder":
        expected.add("configuration-history-objects")
    assert selectors(stack) == expected


def test_the_trail_provided_elsewhere_leaves_a_data_events_trail(tmp_path):
    env, stack = baseline_of(tmp_path, trail=PROVIDED_BY_ORGANIZATION)
    assert selectors(stack) == {"terraform-state-objects", "configuration-history-objects"}


def test_state_data_events_provided_elsewhere_leave_management_events(tmp_path):
    env, stack = baseline_of(tmp_path, state_data_events=PROVIDED_BY_ORGANIZATION)
    assert selectors(stack) == {"management-events", "configuration-history-objects"}


def test_no_trail_at_all_builds_neither_trail_nor_audit_bucket_nor_cloudtrail_key_grants(tmp_path):
    env, stack = baseline_of(
        tmp_path, trail=PROVIDED_BY_ORGANIZATION, state_data_events=PROVIDED_BY_ORGANIZATION
    )
    assert not stack.resources("aws_cloudtrail")
    assert not any("-audit-" in b["bucket"] for b in stack.resources("aws_s3_bucket").values())
    # No key of the stack (the audit key; the security alerts' key, D52)
    # grants CloudTrail anything.
    keys = stack.resources("aws_kms_key").values()
    assert keys and all("cloudtrail.amazonaws.com" not in key["policy"] for key in keys)


def test_rdsosmetrics_provided_elsewhere_is_not_built(tmp_path):
    env, stack = baseline_of(tmp_path, rds_os_metrics=PROVIDED_BY_ORGANIZATION)
    assert "RDSOSMetrics" not in log_group_names(stack)


def test_per_control_values_are_validated_one_line_each():
    bad = dataclasses.replace(
        DEV, security_baseline=SecurityBaselineConfig(guardduty="nobody", state_data_events="x")
    )
    with pytest.raises(ConfigError) as err:
        load_environments(defined=[bad])
    problems = err.value.problems
    assert any(
        p.startswith("dev.security_baseline.guardduty: 'nobody' is not allowed") for p in problems
    )
    assert any(
        p.startswith("dev.security_baseline.state_data_events: 'x' is not allowed")
        and "follows this repository" in p
        for p in problems
    )
    assert len([p for p in problems if "security_baseline" in p]) == 2


def test_who_provides_each_control():
    everything = SecurityBaselineConfig()
    assert all(everything.provided_here(c) for c in BASELINE_CONTROLS)
    org = SecurityBaselineConfig(provided_by=PROVIDED_BY_ORGANIZATION)
    assert {c for c in BASELINE_CONTROLS if org.provided_here(c)} == set(KEPT_UNLESS_PROVIDED)
    assert org.builds_trail and org.builds_anything
    mixed = SecurityBaselineConfig(provided_by=PROVIDED_BY_ORGANIZATION, guardduty=THIS_REPOSITORY)
    assert mixed.provided_here("guardduty") and not mixed.provided_here("security_hub")


def test_bad_baseline_settings_are_refused():
    bad = dataclasses.replace(
        DEV,
        security_baseline=SecurityBaselineConfig(
            provided_by="nobody", log_archive_destination_arn="arn:aws:s3:::bucket"
        ),
    )
    with pytest.raises(ConfigError) as err:
        load_environments(defined=[bad])
    text = str(err.value)
    assert "dev.security_baseline.provided_by: 'nobody' is not allowed" in text
    assert "dev.security_baseline.log_archive_destination_arn: 'arn:aws:s3:::bucket'" in text
