"""`make preflight ENV=<env>` (verify/preflight.py): a passing and a failing
case per check, offline. moto where it implements the calls (STS, IAM, S3,
CloudTrail, GuardDuty, AWS Config, Security Hub, CloudWatch Logs, ACM, EC2);
botocore Stubber for RDS DescribeDBEngineVersions and IAM Access Analyzer
ListAnalyzers (moto lacks both) and for a refused state read. The environment is the example's production one
(tests/fixtures/example.py) in moto's account."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws, settings

from config.model import BASELINE_CONTROLS, PROVIDED_BY_ORGANIZATION, baseline_owner
from config.naming import key_policy_administrators, state_key
from config.pipeline_contract import PREFLIGHT_READS
from tests.conftest import EXAMPLE, first_production
from verify import preflight, report
from verify.expected import Synthesized
from verify.preflight import PreflightContext

#: Operations tools replayed against simulated AWS: the second, separately
#: timed step of make test (pytest.ini, docs/decisions.md D56).
pytestmark = [pytest.mark.aws_replay, pytest.mark.usefixtures("fake_aws")]


ACCOUNT = "123456789012"  # moto's


@pytest.fixture
def aws():
    with mock_aws():
        yield


def _env(**changes):
    env = next(e for e in EXAMPLE if e.name == first_production(EXAMPLE))
    return replace(env, **{"account_id": ACCOUNT, **changes})


def _defined(env):
    return tuple(env if e.name == env.name else e for e in EXAMPLE)


def ctx(env=None, caller=None, clients=None) -> PreflightContext:
    env = env or _env()
    made: dict = dict(clients or {})

    def client(name, region=None):
        key = name if region in (None, env.region) else (name, region)
        if key not in made:
            made[key] = boto3.client(name, region_name=region or env.region)
        return made[key]

    return PreflightContext(
        env=env,
        synth=Synthesized(env=env, outdir=Path()),
        client=client,
        account=ACCOUNT,
        partition="aws",
        now=datetime.now(UTC),
        caller=caller or f"arn:aws:iam::{ACCOUNT}:root",
        defined=_defined(env),
    )


def statuses(results) -> list[str]:
    return [r.status for r in results]


# --- account ------------------------------------------------------------------------


def test_account_passes_when_the_credentials_are_the_environments():
    assert statuses(preflight.check_account(ctx())) == [report.PASS]


def test_account_without_account_id_passes_naming_the_field():
    (result,) = preflight.check_account(ctx(_env(account_id=None)))
    assert result.status == report.PASS and "account_id is not set" in result.message


def test_account_of_another_account_fails_naming_account_id():
    env = _env(account_id="999999999999")
    (result,) = preflight.check_account(ctx(env))
    assert result.status == report.FAIL
    assert f"{env.name}.account_id" in result.message and "999999999999" in result.message


# --- key administrator -----------------------------------------------------------------


def _pattern_role(pattern: str) -> tuple[str, str]:
    """(path, name) of a role matching an IAM path/name ``pattern``."""
    concrete = pattern.replace("*", "x").replace("?", "y")
    path, _, name = concrete.rpartition("/")
    return (f"/{path}/" if path else "/"), name


def _session_of(role_path: str, role_name: str) -> str:
    boto3.client("iam").create_role(
        RoleName=role_name, Path=role_path, AssumeRolePolicyDocument=json.dumps({})
    )
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/someone@example.com"


@pytest.mark.parametrize("index", range(len(_env().access.key_policy_administrator_role_patterns)))
def test_a_role_matching_a_key_policy_pattern_passes_with_its_path(aws, index):
    env = _env()
    path, name = _pattern_role(env.access.key_policy_administrator_role_patterns[index])
    (result,) = preflight.check_key_administrator(ctx(env, _session_of(path, name)))
    assert result.status == report.PASS, result
    assert result.subject == f"arn:aws:iam::{ACCOUNT}:role{path}{name}"


def test_the_break_glass_role_passes(aws):
    env = _env()
    caller = _session_of("/", env.access.break_glass_role_name)
    assert statuses(preflight.check_key_administrator(ctx(env, caller))) == [report.PASS]


def test_the_same_name_on_another_path_fails_naming_the_field(aws):
    """Identity Center roles are told apart by their path: a role named like
    the permission set's but outside aws-reserved/sso.amazonaws.com/ does
    not match (when every pattern has a path)."""
    env = _env(
        access=replace(
            _env().access,
            key_policy_administrator_role_patterns=(
                "aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Admin_*",
            ),
        )
    )
    caller = _session_of("/people/", "AWSReservedSSO_Admin_abc")
    (result,) = preflight.check_key_administrator(ctx(env, caller))
    assert result.status == report.FAIL
    assert f"{env.name}.access.key_policy_administrator_role_patterns" in result.message


def test_a_developer_role_fails(aws):
    env = _env()
    caller = _session_of("/", "developer")
    (result,) = preflight.check_key_administrator(ctx(env, caller))
    assert result.status == report.FAIL and "lockout" in result.message


def test_an_iam_user_fails(aws):
    caller = f"arn:aws:iam::{ACCOUNT}:user/alice"
    (result,) = preflight.check_key_administrator(ctx(caller=caller))
    assert result.status == report.FAIL and "not a role session" in result.message


def test_the_deploy_role_creates_no_key_so_the_check_is_not_its(aws):
    env = _env()
    caller = f"arn:aws:sts::{ACCOUNT}:assumed-role/{env.deploy_role}/GitHubActions"
    assert statuses(preflight.check_key_administrator(ctx(env, caller))) == [report.NOT_APPLICABLE]


def test_a_role_whose_path_cannot_be_read_is_unreadable(aws):
    caller = f"arn:aws:sts::{ACCOUNT}:assumed-role/no-such-role/x"
    assert statuses(preflight.check_key_administrator(ctx(caller=caller))) == [report.UNREADABLE]


def test_arn_like_wildcards_cross_slashes_and_question_marks_take_one():
    match = preflight.role_arn_matches
    assert match("arn:aws:iam::1:role/a/b/c/Role_x", "arn:aws:iam::1:role/a/*/Role_*")
    assert match("arn:aws:iam::1:role/Rx", "arn:aws:iam::1:role/R?")
    assert not match("arn:aws:iam::1:role/Rxy", "arn:aws:iam::1:role/R?")
    assert not match("arn:aws:iam::1:role/other/Role_x", "arn:aws:iam::1:role/a/*/Role_*")
    # every configured entry is matched as the key policies write it
    env = _env()
    for entry in key_policy_administrators(env):
        path, name = _pattern_role(entry)
        assert match(f"arn:aws:iam::1:role{path}{name}", f"arn:aws:iam::1:role/{entry}")


# --- baseline ----------------------------------------------------------------------------


def _person() -> str:
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Security_1/alice"


def _here(**controls):
    """The example production environment with the given per-control providers."""
    base = _env().security_baseline
    return _env(security_baseline=replace(base, **controls))


def _access_analyzer(env, analyzers: list[dict] | None = None, error: str | None = None):
    """An IAM Access Analyzer client answering ListAnalyzers(type=ACCOUNT)
    with ``analyzers`` (or ``error``), in the response shape of
    https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_ListAnalyzers.html."""
    client = boto3.client("accessanalyzer", region_name=env.region)
    stub = Stubber(client)
    if error:
        stub.add_client_error("list_analyzers", error, http_status_code=403)
    else:
        stub.add_response("list_analyzers", {"analyzers": analyzers or []}, {"type": "ACCOUNT"})
    stub.activate()
    return client


def _analyzer(name: str, region: str) -> dict:
    return {
        "arn": f"arn:aws:access-analyzer:{region}:{ACCOUNT}:analyzer/{name}",
        "name": name,
        "type": "ACCOUNT",
        "createdAt": datetime(2024, 1, 1, tzinfo=UTC),
        "status": "ACTIVE",
    }


def _baseline(env, caller=None, analyzers=None):
    clients = {"accessanalyzer": _access_analyzer(env, analyzers)}
    return preflight.check_baseline_absent(ctx(env, caller or _person(), clients))


def test_an_empty_account_has_nothing_in_the_way(aws):
    results = _baseline(_env())
    assert set(statuses(results)) == {report.PASS}
    assert len(results) == len(preflight.BASELINE_READS)


def _create(control: str, region: str) -> None:
    if control == "trail":
        boto3.client("s3").create_bucket(
            Bucket="org-trail", CreateBucketConfiguration={"LocationConstraint": region}
        )
        boto3.client("cloudtrail").create_trail(
            Name="organization-trail", S3BucketName="org-trail", IsMultiRegionTrail=True
        )
    elif control == "guardduty":
        boto3.client("guardduty").create_detector(Enable=True)
    elif control == "config_recorder":
        config = boto3.client("config")
        config.put_configuration_recorder(
            ConfigurationRecorder={
                "name": "default",
                "roleARN": f"arn:aws:iam::{ACCOUNT}:role/config",
                "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
            }
        )
        boto3.client("s3").create_bucket(
            Bucket="org-config", CreateBucketConfiguration={"LocationConstraint": region}
        )
        config.put_delivery_channel(
            DeliveryChannel={"name": "default", "s3BucketName": "org-config"}
        )
    elif control == "security_hub":
        boto3.client("securityhub").enable_security_hub(EnableDefaultStandards=False)
    elif control == "rds_os_metrics":
        boto3.client("logs").create_log_group(logGroupName=preflight.RDS_OS_METRICS)


CREATED = ("trail", "guardduty", "config_recorder", "security_hub", "rds_os_metrics")


@pytest.mark.parametrize("control", CREATED)
def test_a_control_that_exists_already_fails_naming_its_field(aws, monkeypatch, control):
    env = _env()
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    boto3.setup_default_session(region_name=env.region)
    _create(control, env.region)
    results = _baseline(env)
    failures = [r for r in results if r.status == report.FAIL]
    assert failures, results
    for failure in failures:
        assert f"{env.name}.security_baseline.{control} = 'provided_by_organization'" in (
            failure.message
        )
    assert all(r.status == report.PASS for r in results if r not in failures)


@pytest.mark.parametrize("control", CREATED)
def test_a_control_the_organization_provides_is_not_looked_for(aws, monkeypatch, control):
    env = _here(**{control: PROVIDED_BY_ORGANIZATION})
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    boto3.setup_default_session(region_name=env.region)
    _create(control, env.region)
    results = _baseline(env)
    assert set(statuses(results)) == {report.PASS}, results


def test_everything_provided_by_the_organization_is_not_this_checks(aws):
    env = _here(**{c: PROVIDED_BY_ORGANIZATION for c in BASELINE_CONTROLS})
    assert statuses(_baseline(env)) == [report.NOT_APPLICABLE]


def _put_state(env, resources: list[dict]) -> None:
    owner = next(e for e in _defined(env) if e.name == baseline_owner(env, _defined(env)))
    s3 = boto3.client("s3", region_name=owner.backend_region)
    s3.create_bucket(
        Bucket=owner.state_bucket,
        CreateBucketConfiguration={"LocationConstraint": owner.backend_region},
    )
    s3.put_object(
        Bucket=owner.state_bucket,
        Key=state_key(owner, "baseline"),
        Body=json.dumps({"version": 4, "resources": resources}).encode(),
    )


def test_an_account_analyzer_that_exists_already_fails_naming_its_field(aws):
    env = _env()
    results = _baseline(env, analyzers=[_analyzer("ConsoleAnalyzer-account", env.region)])
    [failure] = [r for r in results if r.status == report.FAIL]
    assert failure.subject.startswith("an IAM Access Analyzer external access analyzer")
    assert f"arn:aws:access-analyzer:{env.region}:{ACCOUNT}:analyzer/ConsoleAnalyzer-account" in (
        failure.message
    )
    assert "CreateAnalyzer fails" in failure.message
    assert f"{env.name}.security_baseline.access_analyzer = 'provided_by_organization'" in (
        failure.message
    )
    assert all(r.status == report.PASS for r in results if r is not failure)


def test_an_analyzer_the_organization_provides_is_not_looked_for(aws):
    env = _here(access_analyzer=PROVIDED_BY_ORGANIZATION)
    results = _baseline(env, analyzers=[_analyzer("org-analyzer", env.region)])
    assert set(statuses(results)) == {report.PASS}
    assert len(results) == len(preflight.BASELINE_READS) - 1


def test_the_baselines_own_analyzer_is_ours(aws):
    env = _env()
    _put_state(env, _resources([_analyzer_state(env)]))
    results = _baseline(env, analyzers=[_analyzer(f"{env.prefix}-external-access", env.region)])
    assert set(statuses(results)) == {report.PASS}
    [ours] = [r for r in results if r.subject.startswith("an IAM Access Analyzer")]
    assert "this repository's baseline state" in ours.message


def test_a_refused_analyzer_list_is_unreadable_not_a_pass(aws):
    env = _env()
    clients = {"accessanalyzer": _access_analyzer(env, error="AccessDeniedException")}
    results = preflight.check_baseline_absent(ctx(env, _person(), clients))
    [unread] = [r for r in results if r.status == report.UNREADABLE]
    assert "accessanalyzer list_analyzers: AccessDeniedException" in unread.message


def _in_account(region: str) -> list[tuple[str, dict]]:
    """(Terraform type, the identifying attribute the provider stores) of
    each control the account holds, read back from moto: what the
    baseline's state holds when the controls are its own."""
    trails = boto3.client("cloudtrail").describe_trails()["trailList"]
    return [
        *(("aws_cloudtrail", {"arn": t["TrailARN"]}) for t in trails),
        *(
            ("aws_guardduty_detector", {"id": d})
            for d in boto3.client("guardduty").list_detectors()["DetectorIds"]
        ),
        ("aws_config_configuration_recorder", {"name": "default"}),
        ("aws_config_delivery_channel", {"name": "default"}),
        ("aws_securityhub_account", {"arn": boto3.client("securityhub").describe_hub()["HubArn"]}),
        ("aws_cloudwatch_log_group", {"name": preflight.RDS_OS_METRICS}),
    ]


def _resources(typed: list[tuple[str, dict]]) -> list[dict]:
    return [
        {"mode": "managed", "type": kind, "name": "x", "instances": [{"attributes": attributes}]}
        for kind, attributes in typed
    ]


def _analyzer_state(env) -> tuple[str, dict]:
    analyzer = _analyzer(f"{env.prefix}-external-access", env.region)
    return "aws_accessanalyzer_analyzer", {"arn": analyzer["arn"]}


def test_controls_in_the_baselines_own_state_are_ours(aws, monkeypatch):
    env = _env()
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    boto3.setup_default_session(region_name=env.region)
    for control in CREATED:
        _create(control, env.region)
    _put_state(env, _resources([*_in_account(env.region), _analyzer_state(env)]))
    results = _baseline(env, analyzers=[_analyzer(f"{env.prefix}-external-access", env.region)])
    assert set(statuses(results)) == {report.PASS}
    assert all("this repository's baseline state: nothing to create" in r.message for r in results)


def test_a_foreign_trail_beside_ours_fails_naming_its_field(aws, monkeypatch):
    """The state holds our trail; a second, organization trail records the
    region too: one line naming it, ours and the field."""
    env = _env()
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    boto3.setup_default_session(region_name=env.region)
    s3 = boto3.client("s3")
    s3.create_bucket(
        Bucket="our-audit", CreateBucketConfiguration={"LocationConstraint": env.region}
    )
    ours = boto3.client("cloudtrail").create_trail(
        Name=f"{env.prefix}-audit", S3BucketName="our-audit", IsMultiRegionTrail=True
    )["TrailARN"]
    _put_state(env, _resources([("aws_cloudtrail", {"arn": ours})]))
    _create("trail", env.region)
    results = _baseline(env)
    [failure] = [r for r in results if r.status == report.FAIL]
    assert failure.subject == "a trail recording this region"
    foreign = f"arn:aws:cloudtrail:{env.region}:{ACCOUNT}:trail/organization-trail"
    assert failure.message.startswith(
        f"{foreign} already exists beside this repository's {ours} and is not in this "
        "repository's baseline state: a second trail bills every management event twice; "
        f"set {env.name}.security_baseline.trail = 'provided_by_organization'"
    )
    assert "\n" not in failure.line()
    assert all(r.status == report.PASS for r in results if r is not failure)


def test_a_foreign_detector_where_the_state_holds_another_fails(aws, monkeypatch):
    """The state's detector is gone and the account's is someone else's
    (an organization enabled GuardDuty since): CreateDetector would fail."""
    env = _env()
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    boto3.setup_default_session(region_name=env.region)
    _put_state(env, _resources([("aws_guardduty_detector", {"id": "0" * 32})]))
    _create("guardduty", env.region)
    results = _baseline(env)
    [failure] = [r for r in results if r.status == report.FAIL]
    assert failure.subject == "a GuardDuty detector"
    assert f"beside this repository's {'0' * 32}" in failure.message
    assert f"{env.name}.security_baseline.guardduty = 'provided_by_organization'" in (
        failure.message
    )


def test_ours_in_the_state_but_gone_from_the_account_passes(aws):
    env = _env()
    _put_state(env, _resources([("aws_guardduty_detector", {"id": "0" * 32})]))
    results = _baseline(env)
    [detector] = [r for r in results if r.subject == "a GuardDuty detector"]
    assert detector.status == report.PASS
    assert "not in the account: the baseline re-creates it" in detector.message


def test_another_log_group_in_the_state_does_not_make_rdsosmetrics_ours(aws, monkeypatch):
    env = _env()
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    boto3.setup_default_session(region_name=env.region)
    _create("rds_os_metrics", env.region)
    _put_state(
        env,
        [
            {
                "mode": "managed",
                "type": "aws_cloudwatch_log_group",
                "name": "x",
                "instances": [{"attributes": {"name": "something-else"}}],
            }
        ],
    )
    assert report.FAIL in statuses(_baseline(env))


def test_the_deploy_role_applies_no_baseline(aws):
    env = _env()
    caller = f"arn:aws:sts::{ACCOUNT}:assumed-role/{env.deploy_role}/GitHubActions"
    assert statuses(_baseline(env, caller)) == [report.NOT_APPLICABLE]


def test_a_refused_state_read_is_unreadable_not_a_pass():
    env = _env()
    owner = next(e for e in _defined(env) if e.name == baseline_owner(env, _defined(env)))
    s3 = boto3.client("s3", region_name=owner.backend_region)
    with Stubber(s3) as stub:
        stub.add_client_error("get_object", "AccessDenied", http_status_code=403)
        results = preflight.check_baseline_absent(
            ctx(
                env,
                _person(),
                {("s3", owner.backend_region) if owner.backend_region != env.region else "s3": s3},
            )
        )
    assert statuses(results) == [report.UNREADABLE]


# --- engine version ------------------------------------------------------------------------


def _engine(env, versions: list[dict]):
    rds = boto3.client("rds", region_name=env.region)
    stub = Stubber(rds)
    stub.add_response(
        "describe_db_engine_versions",
        {"DBEngineVersions": versions},
        {"Engine": preflight.ENGINE, "EngineVersion": env.database.engine_version},
    )
    with stub:
        return preflight.check_engine_version(ctx(env, clients={"rds": rds}))


def _version(env, **extra) -> dict:
    return {
        "Engine": preflight.ENGINE,
        "EngineVersion": env.database.engine_version,
        "Status": "available",
        "SupportedEngineModes": ["provisioned"],
        **extra,
    }


def test_an_offered_engine_version_passes():
    env = _env()
    support = {"MinCapacity": 0.0, "MaxCapacity": 256.0}
    results = _engine(env, [_version(env, ServerlessV2FeaturesSupport=support)])
    assert statuses(results) == [report.PASS]


@pytest.mark.parametrize("status", ["not listed", "deprecated"])
def test_an_engine_version_not_offered_fails_naming_engine_version(status):
    env = _env()
    versions = [] if status == "not listed" else [_version(env, Status="deprecated")]
    (result,) = _engine(env, versions)
    assert result.status == report.FAIL
    assert f"{env.name}.database.engine_version" in result.message and status in result.message


def test_a_capacity_outside_the_versions_serverless_range_fails():
    env = _env()
    support = {"MinCapacity": env.database.min_capacity_acu + 0.5, "MaxCapacity": 256.0}
    (result,) = _engine(env, [_version(env, ServerlessV2FeaturesSupport=support)])
    assert result.status == report.FAIL
    assert f"{env.name}.database.min_capacity_acu" in result.message


# --- certificate ----------------------------------------------------------------------------


def _certificate(env, names: list[str], issued: bool = True) -> str:
    if issued:
        settings.ACM_VALIDATION_WAIT = 0
    try:
        acm = boto3.client("acm", region_name=env.region)
        arn = acm.request_certificate(
            DomainName=names[0], SubjectAlternativeNames=names, ValidationMethod="DNS"
        )["CertificateArn"]
        acm.describe_certificate(CertificateArn=arn)  # moto issues it on this read
    finally:
        settings.ACM_VALIDATION_WAIT = 60
    return arn


def _with_certificate(arn: str, names=()):
    env = _env()
    return _env(load_balancer=replace(env.load_balancer, certificate_arn=arn, domain_names=names))


def test_an_issued_certificate_covering_the_names_passes(aws):
    env = _env()
    arn = _certificate(env, ["*.pay.example.com", "pay.example.com"])
    env = _with_certificate(arn, ("api.pay.example.com", "pay.example.com"))
    assert statuses(preflight.check_certificate(ctx(env))) == [report.PASS]


def test_a_name_the_certificate_does_not_cover_fails(aws):
    env = _env()
    arn = _certificate(env, ["*.pay.example.com"])
    # a wildcard covers one label: not the apex, not two levels down
    env = _with_certificate(arn, ("pay.example.com", "a.b.pay.example.com"))
    (result,) = preflight.check_certificate(ctx(env))
    assert result.status == report.FAIL
    assert "not pay.example.com, a.b.pay.example.com" in result.message
    assert f"{env.name}.load_balancer.domain_names" in result.message


def test_a_certificate_not_issued_fails(aws):
    env = _env()
    arn = _certificate(env, ["pay.example.com"], issued=False)
    (result,) = preflight.check_certificate(ctx(_with_certificate(arn)))
    assert result.status == report.FAIL and "PENDING_VALIDATION" in result.message


def test_a_missing_certificate_fails_naming_certificate_arn(aws):
    env = _env()
    arn = f"arn:aws:acm:{env.region}:{ACCOUNT}:certificate/00000000-0000-0000-0000-000000000009"
    (result,) = preflight.check_certificate(ctx(_with_certificate(arn)))
    assert result.status == report.FAIL and "does not exist" in result.message
    assert f"{env.name}.load_balancer.certificate_arn" in result.message


def test_a_certificate_of_another_region_fails_before_any_read():
    env = _env()
    other = "us-east-1" if env.region != "us-east-1" else "eu-west-1"
    arn = f"arn:aws:acm:{other}:{ACCOUNT}:certificate/00000000-0000-0000-0000-000000000009"
    (result,) = preflight.check_certificate(ctx(_with_certificate(arn), clients={"acm": None}))
    assert result.status == report.FAIL and other in result.message


def test_no_certificate_is_not_this_checks():
    env = _env()
    env = replace(env, load_balancer=replace(env.load_balancer, certificate_arn=None))
    assert statuses(preflight.check_certificate(ctx(env))) == [report.NOT_APPLICABLE]


@pytest.mark.parametrize(
    ("certificate", "name", "covered"),
    [
        ("pay.example.com", "pay.example.com", True),
        ("*.example.com", "pay.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.pay.example.com", False),
        ("PAY.example.com", "pay.example.com", True),
    ],
)
def test_covers(certificate, name, covered):
    assert preflight.covers(certificate, name) is covered


# --- Elastic IPs -------------------------------------------------------------------------------


def _allocate(env, count: int, stack: str | None = None) -> None:
    ec2 = boto3.client("ec2", region_name=env.region)
    for _ in range(count):
        spec = (
            [{"ResourceType": "elastic-ip", "Tags": [{"Key": "stack", "Value": stack}]}]
            if stack
            else []
        )
        ec2.allocate_address(Domain="vpc", TagSpecifications=spec)


def _quota(env) -> int:
    attributes = boto3.client("ec2", region_name=env.region).describe_account_attributes(
        AttributeNames=["vpc-max-elastic-ips"]
    )["AccountAttributes"]
    return int(attributes[0]["AttributeValues"][0]["AttributeValue"])


def test_enough_free_elastic_ips_pass(aws):
    env = _env()
    _allocate(env, _quota(env) - env.nat_gateway_count)
    assert statuses(preflight.check_elastic_ips(ctx(env))) == [report.PASS]


def test_too_few_free_elastic_ips_fail_naming_nat_gateway_count(aws):
    env = _env()
    _allocate(env, _quota(env) - env.nat_gateway_count + 1)
    (result,) = preflight.check_elastic_ips(ctx(env))
    assert result.status == report.FAIL
    assert f"{env.name}.nat_gateway_count" in result.message


def test_addresses_the_network_stack_holds_are_reused(aws):
    env = _env()
    _allocate(env, env.nat_gateway_count, stack=f"{env.prefix}-network")
    _allocate(env, _quota(env) - env.nat_gateway_count)
    assert statuses(preflight.check_elastic_ips(ctx(env))) == [report.PASS]


# --- the deploy role's reads ----------------------------------------------------------------


def test_the_deploy_roles_run_makes_exactly_its_preflight_reads(aws):
    """Every check run as the deploy role (with a certificate, so each read
    is reached), every AWS call recorded: they are exactly the rows of
    ``PREFLIGHT_READS`` marked ``deploy_role`` (config/pipeline_contract.py,
    D67), the reads its policy grants; the baseline and key-administrator
    reads stop before AWS."""
    env = _env()
    arn = _certificate(env, ["pay.example.com"])
    env = _with_certificate(arn, ("pay.example.com",))
    rds = boto3.client("rds", region_name=env.region)
    stub = Stubber(rds)
    stub.add_response(
        "describe_db_engine_versions",
        {"DBEngineVersions": [_version(env)]},
        {"Engine": preflight.ENGINE, "EngineVersion": env.database.engine_version},
    )
    caller = f"arn:aws:sts::{ACCOUNT}:assumed-role/{env.deploy_role}/GitHubActions"
    context = ctx(env, caller, {"rds": rds})
    made = context.client
    calls: set[tuple[str, str]] = set()

    def recording(name, region=None):
        client = made(name, region)

        def record(model, **_):
            calls.add((name, model.name))

        client.meta.events.register_first("before-parameter-build", record)
        return client

    context.client = recording
    with stub:
        results = [r for _, check in preflight.CHECKS for r in check(context)]
    assert report.UNREADABLE not in statuses(results), results
    assert calls == {(r.client, r.operation) for r in PREFLIGHT_READS if r.deploy_role}


# --- the command -------------------------------------------------------------------------------


def _run(monkeypatch, env, argv=()):
    monkeypatch.setattr(preflight, "load_environments", _loader(env))
    out = io.StringIO()
    code = preflight.run(
        ["--env", env.name, *argv], session=boto3.Session(region_name=env.region), out=out
    )
    return code, out.getvalue()


def _loader(env):
    def load(names=None, defined=None):
        if names is None:
            return _defined(env)
        return tuple(e for e in (defined or _defined(env)) if e.name in names)

    return load


def test_another_account_stops_after_the_account_line_with_exit_1(aws, monkeypatch):
    env = _env(account_id="999999999999")
    code, out = _run(monkeypatch, env)
    assert code == report.EXIT_FAILED
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("FAIL") and "preflight.account" in lines[0]
    assert "nothing applied" in lines[1]


def test_each_failure_is_one_line_naming_a_field(aws, monkeypatch):
    env = _env()
    env = replace(env, load_balancer=replace(env.load_balancer, certificate_arn=None))
    _allocate(env, _quota(env))
    code, out = _run(monkeypatch, env, ["--only", "elastic-ips", "--only", "certificate"])
    assert code == report.EXIT_FAILED
    failures = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(failures) == 1 and f"{env.name}.nat_gateway_count" in failures[0]


def test_every_check_passing_is_exit_0(aws, monkeypatch):
    env = _env()
    env = replace(env, load_balancer=replace(env.load_balancer, certificate_arn=None))
    code, out = _run(monkeypatch, env, ["--only", "certificate", "--only", "elastic-ips"])
    assert code == report.EXIT_OK, out
    assert "the apply may start" in out


def test_missing_credentials_exit_3(monkeypatch, tmp_path, capsys):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    env = _env()
    monkeypatch.setattr(preflight, "load_environments", _loader(env))
    assert preflight.run(["--env", env.name]) == report.EXIT_CREDENTIALS
    assert "no AWS credentials" in capsys.readouterr().err


def test_an_undefined_environment_is_exit_2(capsys):
    assert preflight.run(["--env", "no-such-environment"]) == report.EXIT_INPUT
    assert capsys.readouterr().err.count("\n") == 1


def test_usage_and_input_errors_name_the_command_as_the_docs_run_it(capsys):
    """D41: every hint a tool prints is `.venv/bin/python -m ...`, as
    release/cli.py's; a bare `python` is on no promised machine."""
    with pytest.raises(SystemExit):
        preflight.parser().parse_args(["--help"])
    assert capsys.readouterr().out.startswith("usage: .venv/bin/python -m verify.preflight ")
    assert preflight.run(["--only", "account"]) == report.EXIT_INPUT
    assert capsys.readouterr().err.startswith(".venv/bin/python -m verify.preflight: ")
