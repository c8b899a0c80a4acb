"""``.venv/bin/python -m verify.preflight --env <env>``: read-only calls before
any apply (docs/cli.md, "Preflight"; docs/decisions.md D50).

Run by ``make preflight``, ``make bootstrap`` and ``make deploy`` before the
CDKTF CLI starts, and by the deploy workflow before its first stack. Every
check reads; nothing is created or changed. Each failure is one line naming
the configuration field to change (or the credentials to use); exit codes as
``python -m verify`` (verify/report.py): 0, 1 a check failed, 2 bad input,
3 no usable credentials, 4 nothing failed but something could not be read.

It shares ``verify``'s context (AWS reads that turn every error into
"cannot read"), results and exit codes, and needs no synthesis: every
expected value comes from configuration.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config import ConfigError, EnvironmentConfig, load_environments
from config.model import baseline_owner
from config.naming import key_policy_administrators, stack_name, state_key
from verify import report
from verify.cli import CredentialsError, InputError, identity
from verify.context import Context, Unreadable, session_clients
from verify.expected import Synthesized
from verify.report import Result, failed, not_applicable, passed, unreadable

DOC = "docs/cli.md, Preflight"
#: Aurora PostgreSQL, as modules/database.py creates it.
ENGINE = "aurora-postgresql"
#: The log group RDS Enhanced Monitoring writes to (stacks/security_baseline.py).
RDS_OS_METRICS = "RDSOSMetrics"


@dataclass
class PreflightContext(Context):
    """``verify``'s context plus who calls and every configured environment
    (which one owns the account's baseline, D35)."""

    #: The caller's ARN as STS returns it.
    caller: str = ""
    defined: tuple[EnvironmentConfig, ...] = ()


# --- the caller ------------------------------------------------------------------


def check_account(ctx: PreflightContext) -> list[Result]:
    """The credentials are the environment's account (the provider's
    ``allowed_account_ids`` would refuse any other, but only after the CLI
    has synthesized and initialized every stack)."""
    env = ctx.env
    if env.account_id is None:
        return [
            passed(
                "preflight.account",
                f"account {ctx.account}",
                f"{env.name}.account_id is not set: the stacks go to the caller's account "
                f"{ctx.account} (set {env.name}.account_id to pin it)",
            )
        ]
    if env.account_id != ctx.account:
        return [
            failed(
                "preflight.account",
                f"account {ctx.account}",
                f"the credentials are for account {ctx.account}, {env.name}.account_id is "
                f"{env.account_id}: use credentials of {env.account_id}, or correct "
                f"{env.name}.account_id",
                DOC,
            )
        ]
    return [passed("preflight.account", f"account {ctx.account}", f"{env.name}.account_id")]


_ASSUMED_ROLE = re.compile(r"^arn:[^:]+:sts::\d{12}:assumed-role/(?P<name>[^/]+)/")


def role_arn_matches(arn: str, pattern_arn: str) -> bool:
    """``ArnLike`` as KMS evaluates ``aws:PrincipalArn``: ``*`` any run of
    characters, ``/`` included; ``?`` one character (IAM user guide, "IAM JSON
    policy elements: Condition operators", ARN condition operators)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern_arn)
    return re.fullmatch(regex, arn) is not None


def check_key_administrator(ctx: PreflightContext) -> list[Result]:
    """The caller can manage the keys it is about to create: its role ARN,
    with the role's path, matches an entry of
    ``config.naming.key_policy_administrators`` (D46), which every key policy
    admits to ``kms:PutKeyPolicy``. KMS refuses CreateKey and PutKeyPolicy
    to a caller the new policy would lock out (CreateKey,
    BypassPolicyLockoutSafetyCheck,
    https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html).
    No API proves more: the policy simulator ignores key policies for roles
    (FIELD_NOTES §11), and a real CreateKey would create a key."""
    env, check = ctx.env, "preflight.key-administrator"
    field = f"{env.name}.access.key_policy_administrator_role_patterns"
    account = f"arn:{ctx.partition}:iam::{ctx.account}"
    if ctx.caller == f"{account}:root":
        return [passed(check, ctx.caller, "the root user: every key policy admits it")]
    match = _ASSUMED_ROLE.match(ctx.caller)
    if match is None:
        return [
            failed(
                check,
                ctx.caller,
                "not a role session: key policies admit roles only (besides the root "
                f"user); run as a role that matches an entry of {field}",
                DOC,
            )
        ]
    name = match["name"]
    if name == env.deploy_role:
        return [
            not_applicable(
                check,
                f"role {name}",
                "the deploy role creates no key and changes no key policy (D49): "
                "KMS refuses it both; a change that needs one is a person's apply",
            )
        ]
    try:
        role_arn = ctx.call("iam", "get_role", RoleName=name)["Role"]["Arn"]
    except Unreadable as err:
        return [unreadable(check, f"role {name}", f"{err}: the role's path decides")]
    for pattern in key_policy_administrators(env):
        if role_arn_matches(role_arn, f"{account}:role/{pattern}"):
            return [
                passed(
                    check,
                    role_arn,
                    f"matches {pattern!r}: every key policy admits it to PutKeyPolicy "
                    "(the only proof short of creating a key)",
                )
            ]
    return [
        failed(
            check,
            role_arn,
            "matches no key-policy administrator, so KMS would refuse the first key "
            f"(lockout check): add its path/name pattern to {field}, or run as a role "
            f"that matches one ({', '.join(key_policy_administrators(env))})",
            DOC,
        )
    ]


# --- the account's baseline ---------------------------------------------------------


def baseline_state(ctx: PreflightContext) -> dict[str, list[dict]]:
    """Resource type -> the attributes of each instance the baseline's
    Terraform state manages (state format version 4); empty before its
    first apply, also when the state bucket does not exist yet."""
    owner = next(e for e in ctx.defined if e.name == baseline_owner(ctx.env, ctx.defined))
    from botocore import exceptions as bx

    client: Any = ctx.client("s3", owner.backend_region)
    try:
        body = client.get_object(Bucket=owner.state_bucket, Key=state_key(owner, "baseline"))
    except bx.ClientError as err:
        code = err.response.get("Error", {}).get("Code", "?")
        if code in ("NoSuchKey", "NoSuchBucket", "404"):
            return {}
        raise Unreadable(
            f"s3 GetObject s3://{owner.state_bucket}/{state_key(owner, 'baseline')}: {code}"
        ) from None
    except (bx.BotoCoreError, OSError) as err:
        raise Unreadable(f"s3 GetObject {owner.state_bucket}: {err}") from None
    try:
        state = json.loads(body["Body"].read())
    except ValueError as err:
        raise Unreadable(f"the baseline state is not JSON ({err})") from None
    found: dict[str, list[dict]] = {}
    for resource in state.get("resources", []):
        if resource.get("mode") == "managed":
            found.setdefault(resource.get("type", ""), []).extend(
                i.get("attributes") or {} for i in resource.get("instances", [])
            )
    return found


def _field(env: EnvironmentConfig, control: str) -> str:
    return f"{env.name}.security_baseline.{control}"


def _existing_trails(ctx: PreflightContext) -> list[str]:
    trails = ctx.call("cloudtrail", "describe_trails", includeShadowTrails=True)["trailList"]
    return [
        t.get("TrailARN", t.get("Name", "?"))
        for t in trails
        if t.get("IsMultiRegionTrail") or t.get("HomeRegion") == ctx.region
    ]


def _existing_detectors(ctx: PreflightContext) -> list[str]:
    return ctx.call("guardduty", "list_detectors").get("DetectorIds", [])


def _existing_recorders(ctx: PreflightContext) -> list[str]:
    found = ctx.call("config", "describe_configuration_recorders").get("ConfigurationRecorders", [])
    # Service-linked recorders (servicePrincipal set) coexist with ours.
    return [r["name"] for r in found if not r.get("servicePrincipal")]


def _existing_channels(ctx: PreflightContext) -> list[str]:
    found = ctx.call("config", "describe_delivery_channels").get("DeliveryChannels", [])
    return [c["name"] for c in found]


def _existing_hub(ctx: PreflightContext) -> list[str]:
    from botocore import exceptions as bx

    try:
        securityhub: Any = ctx.client("securityhub")
        hub = securityhub.describe_hub()
    except bx.ClientError as err:
        code = err.response.get("Error", {}).get("Code", "?")
        # "Account ... is not subscribed to AWS Security Hub" (DescribeHub errors,
        # https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_DescribeHub.html).
        if code in ("InvalidAccessException", "ResourceNotFoundException"):
            return []
        raise Unreadable(f"securityhub DescribeHub: {code}") from None
    except (bx.BotoCoreError, OSError) as err:
        raise Unreadable(f"securityhub DescribeHub: {err}") from None
    return [hub.get("HubArn", "the hub")]


def _existing_rds_os_metrics(ctx: PreflightContext) -> list[str]:
    groups = ctx.call("logs", "describe_log_groups", logGroupNamePrefix=RDS_OS_METRICS)
    return [
        g["logGroupName"]
        for g in groups.get("logGroups", [])
        if g["logGroupName"] == RDS_OS_METRICS
    ]


def _existing_analyzers(ctx: PreflightContext) -> list[str]:
    # Every analyzer with the account as zone of trust (ListAnalyzers,
    # https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_ListAnalyzers.html);
    # outside the management and delegated administrator accounts there can
    # be only one per region (IAM user guide, "Create an IAM Access Analyzer
    # external access analyzer").
    found = ctx.paginate("accessanalyzer", "list_analyzers", "analyzers", type="ACCOUNT")
    return [a.get("arn", a.get("name", "?")) for a in found]


@dataclass(frozen=True)
class BaselineRead:
    """How one control of the baseline is looked for: ``control`` (its
    ``security_baseline`` field), ``what`` it is, the Terraform type that is
    it in the baseline's state and the ``state_attribute`` holding the
    identifier ``find`` returns for each one in the account, and the
    ``consequence`` of creating it beside another."""

    control: str
    what: str
    state_type: str
    state_attribute: str
    find: Callable[[PreflightContext], list[str]]
    consequence: str


#: The attributes are the provider's (hashicorp/terraform-provider-aws, each
#: resource's Read): the trail's and analyzer's ``arn`` (DescribeTrails
#: ``TrailARN``, ListAnalyzers ``arn``), the detector's ``id`` (ListDetectors'
#: ids), the recorder's, channel's and log group's ``name``, and the Security
#: Hub account's ``arn``, ``arn:<partition>:securityhub:<region>:<account>:hub/default``
#: (internal/service/securityhub/account.go ``accountHubARN``), DescribeHub's ``HubArn``.
BASELINE_READS: tuple[BaselineRead, ...] = (
    BaselineRead(
        "trail",
        "a trail recording this region",
        "aws_cloudtrail",
        "arn",
        _existing_trails,
        "a second trail bills every management event twice",
    ),
    BaselineRead(
        "guardduty",
        "a GuardDuty detector",
        "aws_guardduty_detector",
        "id",
        _existing_detectors,
        "CreateDetector fails: one detector per account and region",
    ),
    BaselineRead(
        "config_recorder",
        "an AWS Config recorder",
        "aws_config_configuration_recorder",
        "name",
        _existing_recorders,
        "PutConfigurationRecorder fails: one customer-managed recorder per region",
    ),
    BaselineRead(
        "config_recorder",
        "an AWS Config delivery channel",
        "aws_config_delivery_channel",
        "name",
        _existing_channels,
        "PutDeliveryChannel fails: one delivery channel per region",
    ),
    BaselineRead(
        "security_hub",
        "Security Hub",
        "aws_securityhub_account",
        "arn",
        _existing_hub,
        "EnableSecurityHub fails: the account is already subscribed",
    ),
    BaselineRead(
        "access_analyzer",
        "an IAM Access Analyzer external access analyzer (zone of trust: the account)",
        "aws_accessanalyzer_analyzer",
        "arn",
        _existing_analyzers,
        "CreateAnalyzer fails: one analyzer with the account as zone of trust per region "
        "outside the organization's management and delegated administrator accounts",
    ),
    BaselineRead(
        "rds_os_metrics",
        f"the {RDS_OS_METRICS} log group",
        "aws_cloudwatch_log_group",
        "name",
        _existing_rds_os_metrics,
        "CreateLogGroup fails (RDS created it, without the CMK)",
    ),
)


def check_baseline_absent(ctx: PreflightContext) -> list[Result]:
    """Every control this repository is configured to create in the account
    is either absent or the baseline's own: each one the account holds is
    compared, by its identifier, with those the baseline's Terraform state
    holds, so a foreign trail, detector or recorder is found also beside
    ours. On an account an organization covers, the baseline apply would
    otherwise fail halfway, after the locked audit bucket and a second trail
    exist (FIELD_NOTES §10), or a second trail would bill every management
    event twice. The deploy role applies no baseline (D42, D49): not its
    check."""
    env, check = ctx.env, "preflight.baseline"
    subject = f"account {ctx.account} {ctx.region}"
    baseline = env.security_baseline
    wanted = [row for row in BASELINE_READS if baseline.provided_here(row.control)]
    if not wanted:
        return [
            not_applicable(
                check, subject, "every control is provided by the organization (security_baseline)"
            )
        ]
    match = _ASSUMED_ROLE.match(ctx.caller)
    if match and match["name"] == env.deploy_role:
        return [
            not_applicable(
                check,
                subject,
                "the deploy workflow does not apply the baseline (D42, D49): "
                f"a person's preflight checks it before payment-{baseline_owner(env, ctx.defined)}-baseline",
            )
        ]
    try:
        state = baseline_state(ctx)
    except Unreadable as err:
        return [unreadable(check, subject, f"{err}: cannot tell ours from others")]
    return [_baseline_control(ctx, row, state) for row in wanted]


def _baseline_control(ctx: PreflightContext, row: BaselineRead, state: dict) -> Result:
    """One control: ours (in the baseline's state), none yet, or a foreign
    one in the account, beside ours or not, in one line naming the field."""
    check, field = "preflight.baseline", _field(ctx.env, row.control)
    ours = [
        a[row.state_attribute] for a in state.get(row.state_type, []) if a.get(row.state_attribute)
    ]
    try:
        found = row.find(ctx)
    except Unreadable as err:
        return unreadable(check, row.what, str(err))
    foreign = [f for f in found if f not in ours]
    if foreign:
        beside = f" beside this repository's {', '.join(ours)}" if ours else ""
        return failed(
            check,
            row.what,
            f"{', '.join(foreign)} already exists{beside} and is not in this repository's "
            f"baseline state: {row.consequence}; set {field} = 'provided_by_organization' "
            "(or import it into the baseline stack, or remove it)",
            DOC,
        )
    if ours and found:
        return passed(check, row.what, "in this repository's baseline state: nothing to create")
    if ours:
        return passed(
            check,
            row.what,
            "in this repository's baseline state, not in the account: the baseline re-creates it",
        )
    return passed(check, row.what, "none yet: the baseline creates it")


# --- what the stacks ask of AWS -----------------------------------------------------


def check_engine_version(ctx: PreflightContext) -> list[Result]:
    """The configured Aurora PostgreSQL version is offered for new clusters,
    in Serverless v2 with the configured capacity. DescribeDBEngineVersions
    lists only available versions unless ``IncludeAll``
    (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBEngineVersions.html);
    ``ServerlessV2FeaturesSupport`` gives its capacity range
    (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBEngineVersion.html)."""
    env, check = ctx.env, "preflight.engine-version"
    db = env.database
    field = f"{env.name}.database.engine_version"
    subject = f"{ENGINE} {db.engine_version}"
    try:
        versions = ctx.call(
            "rds", "describe_db_engine_versions", Engine=ENGINE, EngineVersion=db.engine_version
        ).get("DBEngineVersions", [])
    except Unreadable as err:
        return [unreadable(check, subject, str(err))]
    found = next((v for v in versions if v.get("EngineVersion") == db.engine_version), None)
    if found is None or found.get("Status", "available") != "available":
        return [
            failed(
                check,
                subject,
                f"not offered for new clusters in {ctx.region} "
                f"({'deprecated' if found else 'not listed'}): set {field} to a listed "
                f"version (aws rds describe-db-engine-versions --engine {ENGINE})",
                DOC,
            )
        ]
    problems = []
    if "provisioned" not in found.get("SupportedEngineModes", ["provisioned"]):
        problems.append("no provisioned engine mode (Serverless v2 needs it)")
    support = found.get("ServerlessV2FeaturesSupport")
    if support is not None:
        low, high = support.get("MinCapacity"), support.get("MaxCapacity")
        if low is not None and db.min_capacity_acu < low:
            problems.append(
                f"its Serverless v2 minimum is {low} ACU, {env.name}.database.min_capacity_acu "
                f"is {db.min_capacity_acu}"
            )
        if high is not None and db.max_capacity_acu > high:
            problems.append(
                f"its Serverless v2 maximum is {high} ACU, {env.name}.database.max_capacity_acu "
                f"is {db.max_capacity_acu}"
            )
    if problems:
        return [
            failed(
                check,
                subject,
                "; ".join(problems) + f": change {field} or the capacity fields",
                DOC,
            )
        ]
    return [passed(check, subject, "offered for new clusters, Serverless v2 capacity fits")]


def covers(certificate_name: str, name: str) -> bool:
    """A certificate name covers ``name``: equal, or a wildcard of exactly
    one leftmost label (ACM user guide, "Wildcard names" in "AWS Certificate
    Manager concepts": ``*.example.com`` protects ``www.example.com``, not
    ``example.com`` nor ``a.b.example.com``)."""
    certificate_name, name = certificate_name.lower(), name.lower()
    if certificate_name.startswith("*."):
        label, _, rest = name.partition(".")
        return bool(label) and rest == certificate_name[2:]
    return certificate_name == name


def check_certificate(ctx: PreflightContext) -> list[Result]:
    """The load balancers' certificate exists in the environment's account
    and region, is ISSUED and covers ``load_balancer.domain_names``
    (ACM DescribeCertificate,
    https://docs.aws.amazon.com/acm/latest/APIReference/API_DescribeCertificate.html;
    an ALB takes certificates of its own region only)."""
    env, check = ctx.env, "preflight.certificate"
    lb = env.load_balancer
    field = f"{env.name}.load_balancer.certificate_arn"
    if lb.certificate_arn is None:
        return [
            not_applicable(check, "load balancers", "plain HTTP (allow_plain_http): no certificate")
        ]
    arn = lb.certificate_arn
    parts = arn.split(":")
    if parts[3] != ctx.region or parts[4] != ctx.account:
        return [
            failed(
                check,
                arn,
                f"is in {parts[4]} {parts[3]}; the load balancers need a certificate of "
                f"{ctx.account} {ctx.region}: change {field}",
                DOC,
            )
        ]
    from botocore import exceptions as bx

    try:
        acm: Any = ctx.client("acm")
        detail = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    except bx.ClientError as err:
        code = err.response.get("Error", {}).get("Code", "?")
        if code == "ResourceNotFoundException":
            return [
                failed(check, arn, f"does not exist: request or import it, or change {field}", DOC)
            ]
        return [unreadable(check, arn, f"acm DescribeCertificate: {code}")]
    except (bx.BotoCoreError, OSError) as err:
        return [unreadable(check, arn, f"acm DescribeCertificate: {err}")]
    if detail.get("Status") != "ISSUED":
        return [
            failed(
                check,
                arn,
                f"is {detail.get('Status')}, not ISSUED (complete its validation, or change {field})",
                DOC,
            )
        ]
    names = [detail.get("DomainName", ""), *detail.get("SubjectAlternativeNames", [])]
    uncovered = [n for n in lb.domain_names if not any(covers(c, n) for c in names)]
    if uncovered:
        return [
            failed(
                check,
                arn,
                f"covers {', '.join(dict.fromkeys(names))}, not {', '.join(uncovered)}: change "
                f"{field} or {env.name}.load_balancer.domain_names",
                DOC,
            )
        ]
    if not lb.domain_names:
        return [
            passed(
                check,
                arn,
                f"ISSUED for {', '.join(dict.fromkeys(names))}; no "
                f"{env.name}.load_balancer.domain_names to check it against",
            )
        ]
    return [passed(check, arn, f"ISSUED, covers {', '.join(lb.domain_names)}")]


def check_elastic_ips(ctx: PreflightContext) -> list[Result]:
    """The region's Elastic IP quota leaves one address per NAT gateway the
    network stack creates (one each, ``nat_gateway_count``); addresses it
    already holds (tag ``stack``) count as allocated and are reused.
    ``vpc-max-elastic-ips`` is the quota (EC2 DescribeAccountAttributes,
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeAccountAttributes.html;
    default 5 per region, https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html)."""
    env, check = ctx.env, "preflight.elastic-ips"
    subject = f"Elastic IPs in {ctx.region}"
    try:
        attributes = ctx.call(
            "ec2", "describe_account_attributes", AttributeNames=["vpc-max-elastic-ips"]
        )["AccountAttributes"]
        addresses = ctx.call("ec2", "describe_addresses")["Addresses"]
    except Unreadable as err:
        return [unreadable(check, subject, str(err))]
    quota = int(attributes[0]["AttributeValues"][0]["AttributeValue"])
    network = stack_name(env, "network")
    ours = [
        a
        for a in addresses
        if any(t.get("Key") == "stack" and t.get("Value") == network for t in a.get("Tags", []))
    ]
    needed = max(env.nat_gateway_count - len(ours), 0)
    free = quota - len(addresses)
    if needed > free:
        return [
            failed(
                check,
                subject,
                f"{env.name}.nat_gateway_count = {env.nat_gateway_count} needs {needed} more, "
                f"{free} free of the quota {quota} ({len(addresses)} allocated): lower "
                f"{env.name}.nat_gateway_count or raise the quota (Service Quotas, Amazon "
                "EC2, 'EC2-VPC Elastic IPs')",
                DOC,
            )
        ]
    return [
        passed(
            check,
            subject,
            f"{needed} needed for {env.nat_gateway_count} NAT gateway(s), {free} free of {quota}",
        )
    ]


#: (name for --only, function), in the order they run: the account first (a
#: wrong account makes every later read meaningless, so a failure stops).
CHECKS: tuple[tuple[str, Callable[[PreflightContext], list[Result]]], ...] = (
    ("account", check_account),
    ("key-administrator", check_key_administrator),
    ("baseline", check_baseline_absent),
    ("engine-version", check_engine_version),
    ("certificate", check_certificate),
    ("elastic-ips", check_elastic_ips),
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise InputError(f"{self.prog}: {message} (see --help)")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog=".venv/bin/python -m verify.preflight", description=__doc__.split("\n\n")[0])
    p.add_argument("--env", required=True, help="environment name in the configuration")
    p.add_argument(
        "--only",
        action="append",
        choices=[name for name, _ in CHECKS],
        help="run only this check (repeatable; the account check always runs)",
    )
    return p


def run(argv: list[str] | None = None, session=None, out=None) -> int:
    out = out or sys.stdout
    try:
        args = parser().parse_args(argv)
        try:
            defined = load_environments()
            (env,) = load_environments([args.env], defined)
        except ConfigError as err:
            raise InputError("; ".join(err.problems)) from None
        if session is None:
            import boto3

            session = boto3.Session(region_name=env.region)
        account, partition, caller = identity(session)
    except InputError as err:
        print(str(err), file=sys.stderr)
        return report.EXIT_INPUT
    except CredentialsError as err:
        print(f"preflight: {err}", file=sys.stderr)
        return report.EXIT_CREDENTIALS

    client = session_clients(session, env.region)
    ctx = PreflightContext(
        env=env,
        synth=Synthesized(env=env, outdir=Path()),
        client=client,
        account=account,
        partition=partition,
        now=datetime.now(UTC),
        caller=caller,
        defined=defined,
    )
    results: list[Result] = []
    for name, check in CHECKS:
        if args.only and name not in args.only and name != "account":
            continue
        try:
            found = check(ctx)
        except Unreadable as err:
            found = [unreadable(f"preflight.{name}", env.prefix, str(err))]
        for result in found:
            print(result.line(), file=out)
        results += found
        if name == "account" and report.exit_code(found) == report.EXIT_FAILED:
            break
    code = report.exit_code(results)
    verdict = "nothing applied" if code else "nothing applied; the apply may start"
    print(f"{env.name}: preflight {report.summary(results)} -> exit {code} ({verdict})", file=out)
    return code


def main() -> int:
    return run()


if __name__ == "__main__":
    sys.exit(main())
