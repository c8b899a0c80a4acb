"""The rules of the configuration: ``validate_all`` checks the declared
types first (``type_problems``), then every value of each environment and of
the set, and raises one ``ConfigError`` naming each field, the value given
and what is allowed.
"""

from __future__ import annotations

import ipaddress
import math
import re
import types
import typing
from collections.abc import Iterable
from dataclasses import fields, is_dataclass

from config.model.placeholder_values import PLACEHOLDER_ACCOUNT_ID
from config.model.timing import (
    ECS_DEPLOYMENT_CONFIGS,
    MAX_SCAN_WAIT_MINUTES,
    RELEASE_SESSION_MINUTES,
    deployment_minutes,
)
from config.model.types import (
    BASELINE_CONTROLS,
    FINDING_ALERT_SEVERITIES,
    FINDING_SEVERITIES,
    KEPT_UNLESS_PROVIDED,
    KEY_POLICY_ADMINISTRATOR_SSO,
    MIN_LOCK_CHANGEABLE_DAYS,
    PLACEHOLDER_GITHUB_REPOSITORY,
    PRODUCTION_BLOCKING_SEVERITIES,
    SECURITY_BASELINE_PROVIDERS,
    THIS_REPOSITORY,
    TIERS,
    VAULT_LOCK_COMPLIANCE,
    VAULT_LOCK_MODES,
    ConfigError,
    EnvironmentConfig,
    ServiceConfig,
)

BOOTSTRAP_STATES = ("local", "s3")


#: Environment names: they end up in resource names (``payment-<env>-internal``
#: must fit the 32-character ALB limit).
ENVIRONMENT_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,10}[a-z0-9]$")


# Fargate task sizes: cpu units -> allowed memory (MiB).
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}


# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


SERVICE_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")


SECRET_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,40}[a-z0-9]$")


REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


ACCOUNT_PATTERN = re.compile(r"^\d{12}$")


PATH_PATTERN = re.compile(r"^/[A-Za-z0-9_\-/]*$")


BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


CERTIFICATE_ARN_PATTERN = re.compile(
    r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$"
)


#: A DNS name clients use: dot-separated labels of lowercase letters, digits
#: and inner hyphens, at most 63 each, at least two labels.
DOMAIN_NAME_PATTERN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


PLATFORM_VERSION_PATTERN = re.compile(r"^\d+\.\d+\.\d+$")


IMAGE_TAG_PATTERN = re.compile(r"^(sha256:[a-f0-9]{64}|[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$")


METRIC_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_./#:-]{1,255}$")


# Aurora PostgreSQL pauses at 0 ACU from these minor versions on (majors
# 17 and later from their first release; 12 and older never).
AUTO_PAUSE_MIN_MINOR = {13: 15, 14: 12, 15: 7, 16: 3}


# Reserved by the platform: the load balancers and Aurora use these.
RESERVED_PORTS = (80, 443, 5432)


# Listener rule priorities an ALB accepts (ELBv2 CreateRule).
LISTENER_PRIORITIES = range(1, 50000 + 1)


#: Continuous backup (point-in-time recovery) keeps 1-35 days; its restorable
#: time lags at most about 5 minutes (AWS Backup developer guide,
#: "Continuous backups and point-in-time recovery (PITR)").
CONTINUOUS_BACKUP_LAG_MINUTES = 5


#: Daily recovery points kept at least this long in the production tier.
PRODUCTION_MIN_BACKUP_RETENTION_DAYS = 35


#: The restore validator's check: one read-only statement (the Data API
#: runs it as the copy's master user).
RESTORE_CHECK_PATTERN = re.compile(r"^\s*(select|with)\s[^;]*$", re.IGNORECASE | re.DOTALL)
#: EventBridge schedule expressions a restore testing plan accepts.
SCHEDULE_PATTERN = re.compile(r"^(cron|rate)\(.+\)$")


#: GitHub repositories as the OIDC ``sub`` names them: ``owner/repo``, the
#: owner by GitHub's account-name rules (letters, digits, single inner
#: hyphens, at most 39), the repository by its own (letters, digits, ``.``,
#: ``_``, ``-``, at most 100).
GITHUB_OWNER_PATTERN = re.compile(r"^(?=.{1,39}$)[A-Za-z0-9](?:-?[A-Za-z0-9])*$")


GITHUB_REPOSITORY_NAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


LOG_DESTINATION_ARN_PATTERN = re.compile(
    r"^arn:aws[a-z-]*:logs:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:destination:[A-Za-z0-9_.#/-]{1,512}$"
)


def _memory_sizes(allowed: tuple[int, ...]) -> str:
    """Exactly the allowed memory sizes: a regular run as ``first-last in
    steps of N``, an irregular one (cpu 256: 512, 1024, 2048) listed."""
    steps = {b - a for a, b in zip(allowed, allowed[1:], strict=False)}
    if len(allowed) > 3 and len(steps) == 1:
        return f"{allowed[0]}-{allowed[-1]} in steps of {steps.pop()}"
    return _fmt(allowed)


def _fmt(values: Iterable[object]) -> str:
    return ", ".join(str(v) for v in values)


def _in_range(problems: list[str], where: str, value: object, low: float, high: float) -> bool:
    """Whether ``value`` is a number (not a bool) within ``low``-``high``;
    when it is not, appends the family's one line ``where: value is not
    allowed; use low-high`` (every plain range check shares it, D68)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high
    if not ok:
        problems.append(f"{where}: {value!r} is not allowed; use {low}-{high}")
    return ok


def _positive(problems: list[str], where: str, value: object, *, integer: bool = False) -> bool:
    """Whether ``value`` is a positive number (an int when ``integer``);
    appends ``where: value is not allowed; must be positive`` (``must be a
    positive integer``) when it is not."""
    number = int if integer else (int, float)
    ok = isinstance(value, number) and not isinstance(value, bool) and value > 0
    if not ok:
        what = "a positive integer" if integer else "positive"
        problems.append(f"{where}: {value!r} is not allowed; must be {what}")
    return ok


#: Private address space: RFC 1918 and RFC 6598 (carrier-grade NAT).
PRIVATE_IPV4_RANGES = tuple(
    ipaddress.IPv4Network(c)
    for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)


def is_private_range(net: ipaddress.IPv4Network) -> bool:
    """True when ``net`` lies inside (or overlaps) private address space."""
    return any(net.overlaps(private) for private in PRIVATE_IPV4_RANGES)


def _cidr(problems: list[str], where: str, value: str) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except (ValueError, TypeError) as err:
        problems.append(
            f"{where}: {value!r} is not a valid IPv4 CIDR ({err}); "
            "allowed: a network address with prefix, e.g. 10.0.0.0/16"
        )
        return None


def _service_problems(env: EnvironmentConfig, idx: int, svc: ServiceConfig) -> list[str]:
    p: list[str] = []
    where = f"{env.name}.services[{idx}]"
    if not isinstance(svc.name, str) or not SERVICE_NAME_PATTERN.match(svc.name):
        p.append(
            f"{where}.name: {svc.name!r} is not allowed; use 3-32 lowercase "
            "letters, digits and hyphens, starting with a letter"
        )
    where = f"{env.name}.services.{svc.name}"
    if not isinstance(svc.port, int) or not 1024 <= svc.port <= 65535 or svc.port in RESERVED_PORTS:
        p.append(
            f"{where}.port: {svc.port!r} is not allowed; use 1024-65535, not one of "
            f"{_fmt(RESERVED_PORTS)} or the test listener port"
        )
    elif svc.port == env.load_balancer.test_listener_port:
        p.append(f"{where}.port: {svc.port} collides with load_balancer.test_listener_port")
    for fname in ("cpu", "memory_mib", "desired_count", "min_count", "max_count"):
        _positive(p, f"{where}.{fname}", getattr(svc, fname), integer=True)
    if not p or all(".cpu" not in x and ".memory_mib" not in x for x in p):
        if svc.cpu not in FARGATE_SIZES:
            p.append(
                f"{where}.cpu: {svc.cpu} is not a Fargate size; allowed: {_fmt(FARGATE_SIZES)}"
            )
        elif svc.memory_mib not in FARGATE_SIZES[svc.cpu]:
            allowed = FARGATE_SIZES[svc.cpu]
            p.append(
                f"{where}.memory_mib: {svc.memory_mib} is not allowed with cpu "
                f"{svc.cpu}; allowed: {_memory_sizes(allowed)}"
            )
    counts = (svc.min_count, svc.desired_count, svc.max_count)
    if all(isinstance(c, int) and c > 0 for c in counts):
        if svc.min_count > svc.max_count:
            p.append(
                f"{where}.min_count: {svc.min_count} is greater than max_count "
                f"{svc.max_count}; allowed: min_count <= max_count"
            )
        elif not svc.min_count <= svc.desired_count <= svc.max_count:
            p.append(
                f"{where}.desired_count: {svc.desired_count} is outside "
                f"min_count..max_count ({svc.min_count}..{svc.max_count})"
            )
    for fname in ("path_prefix", "health_check_path"):
        value = getattr(svc, fname)
        if (
            not isinstance(value, str)
            or not PATH_PATTERN.match(value)
            or value.endswith("/")
            and value != "/"
        ):
            p.append(
                f"{where}.{fname}: {value!r} is not allowed; use an absolute path "
                "like /payments (letters, digits, _ - /, no trailing slash)"
            )
    if svc.path_prefix == "/":
        p.append(
            f"{where}.path_prefix: '/' is not allowed; the listener default "
            "action answers 404 for unrouted paths, give each service a prefix"
        )
    priority = svc.listener_priority
    if (
        isinstance(priority, bool)
        or not isinstance(priority, int)
        or priority not in LISTENER_PRIORITIES
    ):
        p.append(
            f"{where}.listener_priority: {priority!r} is not allowed; use an integer "
            f"{LISTENER_PRIORITIES.start}-{LISTENER_PRIORITIES.stop - 1}, unique per load balancer"
        )
    unknown = [s for s in svc.secrets if s not in env.secrets]
    if unknown:
        p.append(
            f"{where}.secrets: {_fmt(unknown)} not defined; allowed: "
            f"{_fmt(env.secrets) or '(no secrets defined)'}"
        )
    if not isinstance(svc.image_tag, str) or not IMAGE_TAG_PATTERN.match(svc.image_tag):
        p.append(f"{where}.image_tag: {svc.image_tag!r} is not a valid image tag or sha256 digest")
    _in_range(p, f"{where}.spot_weight", svc.spot_weight, 1, 1000)
    base_ok = _in_range(p, f"{where}.on_demand_base", svc.on_demand_base, 0, 100000)
    if base_ok and svc.use_spot and env.is_production and svc.on_demand_base < 1:
        p.append(
            f"{where}.on_demand_base: 0 is not allowed with use_spot in the production "
            "tier; keep at least one on-demand task (Spot can be reclaimed at once)"
        )
    if svc.enable_execute_command and env.is_production:
        p.append(
            f"{where}.enable_execute_command: True is not allowed in the production tier; "
            "a shell in a task reaches card data outside any reviewed change (PCI DSS "
            "7.2.2, docs/pci-responsibility.md): use it in a non-production tier"
        )
    if not isinstance(svc.platform_version, str) or not PLATFORM_VERSION_PATTERN.fullmatch(
        svc.platform_version
    ):
        p.append(
            f"{where}.platform_version: {svc.platform_version!r} is not allowed; pin a "
            "Fargate platform version such as '1.4.0' (not LATEST: ECS reports the "
            "resolved version and every plan would differ)"
        )
    for fname in ("cpu_target_percent", "memory_target_percent"):
        _in_range(p, f"{where}.{fname}", getattr(svc, fname), 10, 95)
    _positive(p, f"{where}.requests_per_target", svc.requests_per_target, integer=True)
    metric = svc.custom_metric
    if metric is not None:
        for fname in ("namespace", "name"):
            value = getattr(metric, fname)
            if (
                not isinstance(value, str)
                or not METRIC_NAME_PATTERN.match(value)
                or value.startswith("AWS/")
            ):
                p.append(
                    f"{where}.custom_metric.{fname}: {value!r} is not allowed; use "
                    "1-255 of A-Z a-z 0-9 _ . / # : - (namespaces may not start with AWS/)"
                )
        _positive(p, f"{where}.custom_metric.target_value", metric.target_value)
        if metric.statistic not in ("Average", "Sum", "Maximum", "Minimum", "SampleCount"):
            p.append(
                f"{where}.custom_metric.statistic: {metric.statistic!r} is not allowed; "
                "allowed: Average, Sum, Maximum, Minimum, SampleCount"
            )
    return p


IAM_ROLE_NAME_PATTERN = re.compile(r"^[\w+=,.@-]{1,64}$")


#: One IAM path segment or role name, with ``*``/``?`` wildcards (IAM
#: names: letters, digits and +=,.@_-; IAM user guide, "IAM object quotas":
#: path at most 512 characters, role name at most 64).
_ROLE_PATTERN_SEGMENT = re.compile(r"^[\w+=,.@*?-]+$")


def role_pattern_problem(value: object) -> str | None:
    """Why ``value`` is not an IAM role path/name pattern, else None.

    ``path/.../name`` or ``name``; the name must begin with a character
    that is not a wildcard, so no pattern matches every role of a path."""
    allowed = (
        "; allowed: an IAM role name or path/name, 1-64 letters, digits, +=,.@_- and the "
        "wildcards * ?, the name beginning with no wildcard, e.g. "
        f"{KEY_POLICY_ADMINISTRATOR_SSO[0]}"
    )
    if not isinstance(value, str) or not value:
        return "is not a role pattern" + allowed
    *path, name = value.split("/")
    if not all(_ROLE_PATTERN_SEGMENT.match(s) for s in [*path, name]):
        return "is not a role pattern" + allowed
    if len(name) > 64 or len("/".join(path)) + 2 > 512:
        return "is too long (path at most 512, name at most 64 characters)" + allowed
    if name[0] in "*?":
        return "begins its role name with a wildcard" + allowed
    return None


def _access_problems(env: EnvironmentConfig) -> list[str]:
    a, where = env.access, f"{env.name}.access"
    names = {
        "deploy_role_name": (env.deploy_role,),
        "break_glass_role_name": (a.break_glass_role_name,),
        "key_administrator_role_names": a.key_administrator_role_names,
        "secret_administrator_role_names": a.secret_administrator_role_names,
    }
    p = []
    for field_name, values in names.items():
        if not values:
            p.append(f"{where}.{field_name}: empty; name at least one IAM role")
        for value in values:
            if not isinstance(value, str) or not IAM_ROLE_NAME_PATTERN.match(value):
                p.append(
                    f"{where}.{field_name}: {value!r} is not an IAM role name "
                    "(1-64 letters, digits and +=,.@_-)"
                )
    for value in a.key_policy_administrator_role_patterns:
        problem = role_pattern_problem(value)
        if problem:
            p.append(f"{where}.key_policy_administrator_role_patterns: {value!r} {problem}")
    for arn in a.release_principal_arns:
        if not isinstance(arn, str) or not re.match(
            r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$", arn
        ):
            p.append(
                f"{where}.release_principal_arns: {arn!r} is not an IAM principal ARN "
                "(arn:aws:iam::<account>:role/... or :user/..., no wildcard)"
            )
    return p


def _release_problems(env: EnvironmentConfig) -> list[str]:
    r, where = env.release, f"{env.name}.release"
    p = []
    severities = r.blocking_severities
    if not isinstance(severities, tuple):
        p.append(
            f"{where}.blocking_severities: {severities!r} is not allowed; give a tuple of "
            f"{_fmt(FINDING_SEVERITIES)}"
        )
        severities = ()
    for severity in severities:
        if severity not in FINDING_SEVERITIES:
            p.append(
                f"{where}.blocking_severities: {severity!r} is not allowed; allowed: "
                f"{_fmt(FINDING_SEVERITIES)}"
            )
    for dup in sorted({s for s in severities if severities.count(s) > 1}, key=str):
        p.append(f"{where}.blocking_severities: {dup!r} is given more than once")
    required = PRODUCTION_BLOCKING_SEVERITIES if env.is_production else ("CRITICAL",)
    missing = [s for s in required if s not in severities]
    if missing:
        p.append(
            f"{where}.blocking_severities: {_fmt(severities) or '()'} is not allowed"
            + (" in the production tier" if env.is_production else "")
            + f"; it must include {_fmt(required)}"
        )
    wait = r.scan_wait_minutes
    if (
        isinstance(wait, bool)
        or not isinstance(wait, (int, float))
        or not 0 < wait <= MAX_SCAN_WAIT_MINUTES
    ):
        p.append(
            f"{where}.scan_wait_minutes: {wait!r} is not allowed; use a number of minutes "
            f"greater than 0, at most {MAX_SCAN_WAIT_MINUTES}"
        )
    return p


def _security_baseline_problems(env: EnvironmentConfig) -> list[str]:
    b, where = env.security_baseline, f"{env.name}.security_baseline"
    p = []
    if b.provided_by not in SECURITY_BASELINE_PROVIDERS:
        p.append(
            f"{where}.provided_by: {b.provided_by!r} is not allowed; allowed: "
            f"{_fmt(SECURITY_BASELINE_PROVIDERS)}"
        )
    for control in BASELINE_CONTROLS:
        value = getattr(b, control)
        if value is not None and value not in SECURITY_BASELINE_PROVIDERS:
            p.append(
                f"{where}.{control}: {value!r} is not allowed; allowed: "
                f"{_fmt(SECURITY_BASELINE_PROVIDERS)}, or None (follows "
                + ("this repository" if control in KEPT_UNLESS_PROVIDED else "provided_by")
                + ")"
            )
    arn = b.log_archive_destination_arn
    if arn is not None and not (
        isinstance(arn, str) and LOG_DESTINATION_ARN_PATTERN.match(arn) and env.region in arn
    ):
        p.append(
            f"{where}.log_archive_destination_arn: {arn!r} is not allowed; give a "
            f"CloudWatch Logs destination ARN in {env.region} "
            "(arn:aws:logs:<region>:<account>:destination:<name>) or None"
        )
    if b.finding_alert_severity not in FINDING_ALERT_SEVERITIES:
        p.append(
            f"{where}.finding_alert_severity: {b.finding_alert_severity!r} is not allowed; "
            f"allowed: {_fmt(FINDING_ALERT_SEVERITIES)}"
        )
    for email in b.alert_emails:
        if not isinstance(email, str) or not EMAIL_PATTERN.match(email):
            p.append(f"{where}.alert_emails: {email!r} is not an e-mail address")
    if env.is_production and b.provided_by == THIS_REPOSITORY and not b.alert_emails:
        p.append(
            f"{where}.alert_emails: empty in the production tier; name at least one address "
            "that receives audit-tampering and finding alerts (PCI DSS 10.7.2)"
        )
    return p


def _backup_problems(env: EnvironmentConfig) -> list[str]:
    b, where = env.backup, f"{env.name}.backup"
    p: list[str] = []
    prod = " in the production tier" if env.is_production else ""
    if not isinstance(b.rpo_minutes, int) or not CONTINUOUS_BACKUP_LAG_MINUTES <= b.rpo_minutes:
        p.append(
            f"{where}.rpo_minutes: {b.rpo_minutes!r} is not allowed; use at least "
            f"{CONTINUOUS_BACKUP_LAG_MINUTES} (continuous backup lags up to "
            f"{CONTINUOUS_BACKUP_LAG_MINUTES} minutes)"
        )
    if not isinstance(b.rto_minutes, int) or not 30 <= b.rto_minutes <= 10080:
        p.append(
            f"{where}.rto_minutes: {b.rto_minutes!r} is not allowed; use 30-10080 "
            "(a restore and re-pointing take at least half an hour)"
        )
    low = PRODUCTION_MIN_BACKUP_RETENTION_DAYS if env.is_production else 1
    if not isinstance(b.retention_days, int) or not low <= b.retention_days <= 36500:
        p.append(
            f"{where}.retention_days: {b.retention_days!r} is not allowed{prod}; use {low}-36500"
        )
    if b.copy_region is None:
        if env.is_production:
            p.append(
                f"{where}.copy_region: None is not allowed in the production tier; name a "
                f"region other than {env.region} for the off-region copy"
            )
    elif not isinstance(b.copy_region, str) or not REGION_PATTERN.match(b.copy_region):
        p.append(
            f"{where}.copy_region: {b.copy_region!r} is not an AWS region name, e.g. eu-central-1"
        )
    elif b.copy_region == env.region:
        p.append(
            f"{where}.copy_region: {b.copy_region} is not allowed; it is the environment's own "
            "region; name another region or None"
        )
    if b.copy_account_id is not None:
        if not isinstance(b.copy_account_id, str) or not ACCOUNT_PATTERN.match(b.copy_account_id):
            p.append(
                f"{where}.copy_account_id: {b.copy_account_id!r} is not allowed; use 12 digits or None"
            )
        elif b.copy_account_id == env.account_id:
            p.append(
                f"{where}.copy_account_id: {b.copy_account_id} is the environment's own account; "
                "name another account or None"
            )
        if b.copy_region is None:
            p.append(
                f"{where}.copy_account_id: needs copy_region (the copy account's vault region)"
            )
    if b.vault_lock_mode not in VAULT_LOCK_MODES:
        p.append(
            f"{where}.vault_lock_mode: {b.vault_lock_mode!r} is not allowed; allowed: "
            f"{_fmt(VAULT_LOCK_MODES)}"
        )
    elif env.is_production and b.vault_lock_mode != VAULT_LOCK_COMPLIANCE:
        p.append(
            f"{where}.vault_lock_mode: {b.vault_lock_mode!r} is not allowed in the production "
            f"tier; allowed: {VAULT_LOCK_COMPLIANCE}"
        )
    days = b.lock_changeable_for_days
    if not isinstance(days, int) or not MIN_LOCK_CHANGEABLE_DAYS <= days <= 36500:
        p.append(
            f"{where}.lock_changeable_for_days: {days!r} is not allowed; use "
            f"{MIN_LOCK_CHANGEABLE_DAYS}-36500 (Vault Lock's grace time)"
        )
    if not isinstance(b.restore_test_schedule, str) or not SCHEDULE_PATTERN.match(
        b.restore_test_schedule
    ):
        p.append(
            f"{where}.restore_test_schedule: {b.restore_test_schedule!r} is not allowed; use "
            "an EventBridge cron(...) or rate(...) expression"
        )
    _in_range(p, f"{where}.restore_test_validation_hours", b.restore_test_validation_hours, 1, 168)
    sql = b.restore_check_sql
    if not isinstance(sql, str) or not RESTORE_CHECK_PATTERN.match(sql):
        p.append(
            f"{where}.restore_check_sql: {sql!r} is not allowed; use one SELECT or WITH "
            "statement without ';' (the restore validator reads its first value)"
        )
    _in_range(p, f"{where}.restore_check_minimum", b.restore_check_minimum, 1, 10**12)
    retention = env.database.backup_retention_days
    if (
        isinstance(b.retention_days, int)
        and isinstance(retention, int)
        and b.retention_days < retention
    ):
        p.append(
            f"{where}.retention_days: {b.retention_days} is less than "
            f"database.backup_retention_days {retention}; allowed: at least the continuous "
            "retention (the vault lock's minimum retention is the shorter of the two)"
        )
    return p


def github_repository_problem(where: str, repository: object) -> str | None:
    """Why ``repository`` cannot be trusted as ``owner/repo``, else None."""
    if repository == PLACEHOLDER_GITHUB_REPOSITORY:
        return None
    allowed = (
        "give one repository as owner/repo (owner: letters, digits and single inner "
        "hyphens, at most 39; repo: letters, digits, '.', '_', '-')"
    )
    if not isinstance(repository, str):
        return f"{where}: {repository!r} is not allowed; {allowed}"
    if any(c in repository for c in "*?[]{}"):
        return (
            f"{where}: {repository!r} is not allowed: wildcards would let other "
            f"repositories' workflows assume the roles; {allowed}"
        )
    owner, slash, name = repository.partition("/")
    if (
        not slash
        or not GITHUB_OWNER_PATTERN.match(owner)
        or not GITHUB_REPOSITORY_NAME_PATTERN.match(name)
        or name in (".", "..")
    ):
        return f"{where}: {repository!r} is not allowed; {allowed}"
    return None


def _pipeline_problems(env: EnvironmentConfig) -> list[str]:
    pipe, where = env.pipeline, f"{env.name}.pipeline"
    p = []
    problem = github_repository_problem(f"{where}.github_repository", pipe.github_repository)
    if problem:
        p.append(problem)
    if not isinstance(env.plan_role, str) or not IAM_ROLE_NAME_PATTERN.match(env.plan_role):
        p.append(
            f"{where}.plan_role_name: {env.plan_role!r} is not an IAM role name "
            "(1-64 letters, digits and +=,.@_-)"
        )
    elif env.plan_role in (env.deploy_role, env.access.break_glass_role_name):
        p.append(
            f"{where}.plan_role_name: {env.plan_role!r} is not allowed; the read-only plan "
            "role needs a name of its own (not the deploy or break-glass role's)"
        )
    if not isinstance(pipe.creates_github_oidc_provider, bool):
        p.append(
            f"{where}.creates_github_oidc_provider: {pipe.creates_github_oidc_provider!r} "
            "is not allowed; allowed: True, False"
        )
    return p


def _shared_oidc_provider_problems(envs: list[EnvironmentConfig]) -> list[str]:
    """IAM has one OIDC provider per URL per account: of the environments
    sharing an account id, at most one creates GitHub's (without a real
    account id the account is unknown, so nothing can be compared)."""
    creators: dict[str, str] = {}
    p = []
    for env in envs:
        account = env.account_id
        # The placeholder account stands for an account not known yet.
        if account in (None, PLACEHOLDER_ACCOUNT_ID) or not isinstance(account, str):
            continue
        if env.pipeline.creates_github_oidc_provider is not True:
            continue
        first = creators.setdefault(account, env.name)
        if first != env.name:
            p.append(
                f"{env.name}.pipeline.creates_github_oidc_provider: True is not allowed; "
                f"{first} creates the GitHub OIDC provider of account {account} "
                "(one per account): set False here"
            )
    return p


def validate_environment(env: EnvironmentConfig) -> list[str]:
    """Returns every problem of one environment (empty when valid)."""
    p: list[str] = []
    n = env.name
    if not isinstance(n, str) or not ENVIRONMENT_NAME_PATTERN.match(n):
        p.append(
            f"name: {n!r} is not allowed; use 2-12 lowercase letters, digits and "
            "hyphens, starting with a letter"
        )
    if env.bootstrap_state not in BOOTSTRAP_STATES:
        p.append(
            f"{n}.bootstrap_state: {env.bootstrap_state!r} is not allowed; allowed: "
            f"{_fmt(BOOTSTRAP_STATES)}"
        )
    if env.tier not in TIERS:
        p.append(f"{n}.tier: {env.tier!r} is not allowed; allowed: {_fmt(TIERS)}")
    if not isinstance(env.region, str) or not REGION_PATTERN.match(env.region):
        p.append(f"{n}.region: {env.region!r} is not an AWS region name, e.g. eu-west-1")
    if env.availability_zones is not None and (
        len(env.availability_zones) != 3
        or len(set(env.availability_zones)) != 3
        or not all(str(az).startswith(str(env.region)) for az in env.availability_zones)
    ):
        p.append(
            f"{n}.availability_zones: {env.availability_zones!r} is not allowed; "
            f"use three distinct AZs of {env.region}, or None"
        )
    if env.state_region is not None and not REGION_PATTERN.match(str(env.state_region)):
        p.append(f"{n}.state_region: {env.state_region!r} is not an AWS region name")
    if env.account_id is not None and not ACCOUNT_PATTERN.match(str(env.account_id)):
        p.append(f"{n}.account_id: {env.account_id!r} is not allowed; use 12 digits or None")
    elif env.account_id is None and env.is_production:
        p.append(
            f"{n}.account_id: None is not allowed in the production tier; set the "
            "environment's 12-digit account id (the provider then refuses every other "
            "account)"
        )
    if not isinstance(env.state_bucket, str) or not BUCKET_PATTERN.match(env.state_bucket):
        p.append(
            f"{n}.state_bucket: {env.state_bucket!r} is not a valid S3 bucket name "
            "(3-63 lowercase letters, digits, dots, hyphens)"
        )
    if not isinstance(env.cost_center, str) or not env.cost_center.strip():
        p.append(f"{n}.cost_center: {env.cost_center!r} is not allowed; must be non-empty")
    vpc = _cidr(p, f"{n}.vpc_cidr", env.vpc_cidr)
    # /21 is the smallest VPC whose subnets (4 bits longer: /25) leave room
    # for an ALB (needs /27 and 8 free addresses), nine endpoint interfaces
    # and the tasks.
    if vpc is not None and not 16 <= vpc.prefixlen <= 21:
        p.append(
            f"{n}.vpc_cidr: {env.vpc_cidr} has prefix /{vpc.prefixlen}; allowed: "
            "/16 to /21 (nine subnets, 4 bits longer, are carved from it)"
        )
    if vpc is not None and not vpc.is_private:
        p.append(f"{n}.vpc_cidr: {env.vpc_cidr} is not a private (RFC 1918) range")
    nat_ok = _in_range(p, f"{n}.nat_gateway_count", env.nat_gateway_count, 1, 3)
    if nat_ok and env.is_production and env.nat_gateway_count != 3:
        p.append(
            f"{n}.nat_gateway_count: {env.nat_gateway_count} is not allowed in the production "
            "tier; it needs one NAT gateway per AZ (3)"
        )
    if env.log_retention_days not in LOG_RETENTION_DAYS:
        p.append(
            f"{n}.log_retention_days: {env.log_retention_days!r} is not allowed; "
            f"allowed: {_fmt(LOG_RETENTION_DAYS)}"
        )
    elif env.is_production and env.log_retention_days < 365:
        p.append(
            f"{n}.log_retention_days: {env.log_retention_days} is not allowed in the production "
            "tier; PCI DSS expects at least 365 days of audit trail"
        )
    for secret in env.secrets:
        if not isinstance(secret, str) or not SECRET_NAME_PATTERN.match(secret):
            p.append(
                f"{n}.secrets: {secret!r} is not allowed; use lowercase letters, digits and hyphens"
            )
    if len(set(env.secrets)) != len(env.secrets):
        p.append(f"{n}.secrets: duplicate names in {_fmt(env.secrets)}")
    for label, value, low, high in (
        ("ecr_keep_tagged_images", env.ecr_keep_tagged_images, 1, 1000),
        ("ecr_untagged_expiry_days", env.ecr_untagged_expiry_days, 1, 365),
        ("ecr_keep_released_images", env.ecr_keep_released_images, 1, 1000),
    ):
        _in_range(p, f"{n}.{label}", value, low, high)

    p += _database_problems(env)
    p += _load_balancer_problems(env)
    p += _deployment_problems(env)
    p += _alarm_problems(env)
    p += _access_problems(env)
    p += _pipeline_problems(env)
    p += _security_baseline_problems(env)
    p += _release_problems(env)
    p += _backup_problems(env)

    if not env.services:
        p.append(f"{n}.services: empty; at least one service is required")
    names = [s.name for s in env.services]
    for dup in sorted({x for x in names if names.count(x) > 1}):
        p.append(f"{n}.services: duplicate service name {dup!r}; names must be unique")
    prefixes = [s.path_prefix for s in env.services]
    for dup in sorted({x for x in prefixes if prefixes.count(x) > 1}):
        p.append(f"{n}.services: duplicate path_prefix {dup!r}; each service needs its own")
    p += _listener_priority_problems(env)
    for idx, svc in enumerate(env.services):
        p += _service_problems(env, idx, svc)
    return p


def _listener_priority_problems(env: EnvironmentConfig) -> list[str]:
    """Listener rule priorities are unique per load balancer: every service
    but the first to claim a priority on its load balancer is named."""
    p: list[str] = []
    for kind, public in (("internet-facing", True), ("internal", False)):
        claims = [
            (svc.name, svc.listener_priority)
            for svc in env.services
            if svc.public == public
            and isinstance(svc.listener_priority, int)
            and not isinstance(svc.listener_priority, bool)
        ]
        taken = _fmt(sorted({priority for _, priority in claims}))
        owners: dict[int, str] = {}
        for name, priority in claims:
            if priority in owners:
                p.append(
                    f"{env.name}.services.{name}.listener_priority: {priority} is not "
                    f"allowed; {owners[priority]} has it on the {kind} load balancer; "
                    f"allowed: {LISTENER_PRIORITIES.start}-{LISTENER_PRIORITIES.stop - 1}, "
                    f"unique per load balancer (taken there: {taken})"
                )
            else:
                owners[priority] = name
    return p


def _database_problems(env: EnvironmentConfig) -> list[str]:
    p: list[str] = []
    db = env.database
    w = f"{env.name}.database"
    if not isinstance(db.major_version_upgrade, bool):
        p.append(
            f"{w}.major_version_upgrade: {db.major_version_upgrade!r} is not allowed; "
            "use True or False"
        )
    acu_ok = True
    for fname in ("min_capacity_acu", "max_capacity_acu"):
        value = getattr(db, fname)
        if not isinstance(value, (int, float)) or not 0 <= value <= 256 or (value * 2) % 1:
            p.append(f"{w}.{fname}: {value!r} is not allowed; use 0-256 ACU in steps of 0.5")
            acu_ok = False
    if acu_ok:
        if db.max_capacity_acu < db.min_capacity_acu:
            p.append(
                f"{w}.max_capacity_acu: {db.max_capacity_acu} is less than "
                f"min_capacity_acu {db.min_capacity_acu}; allowed: max >= min"
            )
        if db.max_capacity_acu < 1:
            p.append(f"{w}.max_capacity_acu: {db.max_capacity_acu} is not allowed; minimum 1")
        if db.min_capacity_acu == 0 and db.auto_pause_seconds is None:
            p.append(
                f"{w}.min_capacity_acu: 0 needs auto_pause_seconds (pausing); set it or use 0.5"
            )
        if db.auto_pause_seconds is not None and db.min_capacity_acu != 0:
            p.append(
                f"{w}.auto_pause_seconds: {db.auto_pause_seconds} needs "
                "min_capacity_acu 0; Aurora pauses only at 0 ACU"
            )
    if db.auto_pause_seconds is not None:
        if not isinstance(db.auto_pause_seconds, int) or not 300 <= db.auto_pause_seconds <= 86400:
            p.append(
                f"{w}.auto_pause_seconds: {db.auto_pause_seconds!r} is not allowed; "
                "use 300-86400 or None"
            )
        if env.is_production:
            p.append(
                f"{w}.auto_pause_seconds: auto-pause is not allowed in the production tier "
                "(a paused database adds seconds to the first payment)"
            )
        major, _, minor = str(db.engine_version).partition(".")
        supported = (
            major.isdigit()
            and minor.isdigit()
            and int(major) >= 13
            and int(minor) >= AUTO_PAUSE_MIN_MINOR.get(int(major), 0)
        )
        if not supported:
            p.append(
                f"{w}.auto_pause_seconds: engine {db.engine_version!r} does not "
                "support auto-pause; needs aurora-postgresql 13.15+, 14.12+, 15.7+ or 16.3+"
            )
    if not re.match(r"^\d{2}\.\d+$", str(db.engine_version)):
        p.append(
            f"{w}.engine_version: {db.engine_version!r} is not allowed; use MAJOR.MINOR, e.g. 16.6"
        )
    readers_ok = _in_range(p, f"{w}.reader_count", db.reader_count, 0, 2)
    if readers_ok and env.is_production and db.reader_count < 1:
        p.append(
            f"{w}.reader_count: 0 is not allowed in the production tier; multi-AZ needs "
            "at least one reader"
        )
    retention_ok = _in_range(p, f"{w}.backup_retention_days", db.backup_retention_days, 1, 35)
    if retention_ok and env.is_production and db.backup_retention_days < 7:
        p.append(
            f"{w}.backup_retention_days: {db.backup_retention_days} is not allowed "
            "in the production tier; use 7-35"
        )
    if env.is_production and not db.deletion_protection:
        p.append(f"{w}.deletion_protection: False is not allowed in the production tier")
    if not re.match(r"^[a-z][a-z0-9_]{0,62}$", str(db.database_name)):
        p.append(
            f"{w}.database_name: {db.database_name!r} is not allowed; lowercase "
            "letters, digits, underscore, starting with a letter"
        )
    if not re.match(r"^[a-z][a-z0-9_]{0,62}$", str(db.master_username)) or db.master_username in (
        "admin",
        "postgres",
        "rdsadmin",
    ):
        p.append(
            f"{w}.master_username: {db.master_username!r} is not allowed; "
            "lowercase identifier, not a reserved name"
        )
    return p


def _load_balancer_problems(env: EnvironmentConfig) -> list[str]:
    p: list[str] = []
    lb = env.load_balancer
    w = f"{env.name}.load_balancer"
    if lb.certificate_arn is None:
        if not lb.allow_plain_http:
            p.append(
                f"{w}.certificate_arn: None needs allow_plain_http=True "
                "(an explicit choice of plain HTTP); or give an ACM certificate ARN"
            )
        if env.is_production:
            p.append(
                f"{w}.certificate_arn: the production tier must serve HTTPS; plain "
                "HTTP is not allowed there"
            )
    elif not CERTIFICATE_ARN_PATTERN.match(str(lb.certificate_arn)):
        p.append(f"{w}.certificate_arn: {lb.certificate_arn!r} is not an ACM certificate ARN")
    if lb.allow_plain_http and env.is_production:
        p.append(f"{w}.allow_plain_http: True is not allowed in the production tier")
    if lb.domain_names and lb.certificate_arn is None:
        p.append(f"{w}.domain_names: names need a certificate_arn that covers them")
    for idx, name in enumerate(lb.domain_names):
        if not isinstance(name, str) or not DOMAIN_NAME_PATTERN.match(name) or len(name) > 253:
            p.append(
                f"{w}.domain_names[{idx}]: {name!r} is not allowed; give a lowercase DNS "
                "name such as api.example.com (no wildcard: the name clients use)"
            )
    _in_range(p, f"{w}.test_listener_port", lb.test_listener_port, 1024, 65535)
    for idx, cidr in enumerate(lb.test_listener_cidrs):
        net = _cidr(p, f"{w}.test_listener_cidrs[{idx}]", cidr)
        if net is not None and net.prefixlen == 0:
            p.append(
                f"{w}.test_listener_cidrs[{idx}]: 0.0.0.0/0 is not allowed; the "
                "test listener serves untested code"
            )
        elif net is not None and is_private_range(net):
            p.append(
                f"{w}.test_listener_cidrs[{idx}]: {cidr!r} is not allowed; it is a "
                "private range, and clients reach the internet-facing ALB's test "
                "listener from public addresses; give the public egress range of "
                "your CI runners or VPN (the VPC's NAT addresses are always admitted)"
            )
    for idx, cidr in enumerate(lb.public_ingress_cidrs):
        _cidr(p, f"{w}.public_ingress_cidrs[{idx}]", cidr)
    if env.is_production:
        for fname in ("deletion_protection", "access_logs", "waf"):
            if not getattr(lb, fname):
                p.append(f"{w}.{fname}: False is not allowed in the production tier")
    _in_range(p, f"{w}.idle_timeout_seconds", lb.idle_timeout_seconds, 1, 4000)
    _in_range(p, f"{w}.deregistration_delay_seconds", lb.deregistration_delay_seconds, 0, 3600)
    return p


def _deployment_problems(env: EnvironmentConfig) -> list[str]:
    p: list[str] = []
    d = env.deployment
    w = f"{env.name}.deployment"
    if d.config_name not in ECS_DEPLOYMENT_CONFIGS:
        p.append(
            f"{w}.config_name: {d.config_name!r} is not allowed; allowed: "
            f"{_fmt(ECS_DEPLOYMENT_CONFIGS)}"
        )
    elif env.is_production and d.config_name.endswith("AllAtOnce"):
        p.append(
            f"{w}.config_name: {d.config_name} is not allowed in the production tier; use a "
            "canary or linear configuration"
        )
    _in_range(p, f"{w}.terminate_blue_after_minutes", d.terminate_blue_after_minutes, 0, 2880)
    if env.is_production and not d.rollback_on_alarm:
        p.append(f"{w}.rollback_on_alarm: False is not allowed in the production tier")
    wait = env.release.scan_wait_minutes
    if not p and isinstance(wait, (int, float)) and 0 < wait <= MAX_SCAN_WAIT_MINUTES:
        longest = math.ceil(wait) + deployment_minutes(d)
        if longest > RELEASE_SESSION_MINUTES:
            most = d.terminate_blue_after_minutes - (longest - RELEASE_SESSION_MINUTES)
            p.append(
                f"{w}.terminate_blue_after_minutes: {d.terminate_blue_after_minutes} is not "
                f"allowed with {d.config_name} and release.scan_wait_minutes {wait}: a release "
                f"would take up to {longest} minutes, longer than the release role's "
                f"{RELEASE_SESSION_MINUTES}-minute session; use at most {max(most, 0)}"
            )
    return p


def _alarm_problems(env: EnvironmentConfig) -> list[str]:
    p: list[str] = []
    a = env.alarms
    w = f"{env.name}.alarms"
    for email in a.emails:
        if not isinstance(email, str) or not EMAIL_PATTERN.match(email):
            p.append(f"{w}.emails: {email!r} is not an e-mail address")
    reason = a.unsubscribed_reason
    required = (
        "the production tier"
        if env.is_production
        else "an environment that rolls back on alarm (deployment.rollback_on_alarm)"
        if env.deployment.rollback_on_alarm
        else None
    )
    if reason is not None and (not isinstance(reason, str) or not reason.strip()):
        p.append(f"{w}.unsubscribed_reason: {reason!r} is not allowed; say why, or leave it out")
    elif reason is not None and a.emails:
        p.append(f"{w}.unsubscribed_reason: not allowed next to emails; the topic has subscribers")
    elif reason is not None and required:
        p.append(
            f"{w}.unsubscribed_reason: not allowed in {required}: someone must hear about "
            "alarms and failed deployments; set emails"
        )
    elif not a.emails and required:
        p.append(
            f"{w}.emails: () is not allowed in {required}: someone must hear about alarms "
            "and failed deployments (docs/observability.md, Where alarms go)"
        )
    elif not a.emails and reason is None:
        p.append(
            f"{w}.emails: () without unsubscribed_reason is not allowed: nobody would hear "
            "about alarms and failed deployments; set emails or say why not"
        )
    for fname in (
        "alb_5xx_rate_percent",
        "target_5xx_rate_percent",
        "failing_colour_percent",
        "cpu_percent",
        "memory_percent",
        "db_cpu_percent",
        "db_acu_utilization_percent",
    ):
        value = getattr(a, fname)
        if not isinstance(value, (int, float)) or not 0 < value <= 100:
            p.append(f"{w}.{fname}: {value!r} is not allowed; use a percentage in (0, 100]")
    _positive(p, f"{w}.p99_latency_seconds", a.p99_latency_seconds)
    _positive(p, f"{w}.db_connections", a.db_connections)
    _in_range(p, f"{w}.evaluation_periods", a.evaluation_periods, 1, 10)
    if a.period_seconds not in (10, 30, 60, 300, 900, 3600):
        p.append(
            f"{w}.period_seconds: {a.period_seconds!r} is not allowed; allowed: "
            "10, 30, 60, 300, 900, 3600"
        )
    return p


def validate_all(envs: Iterable[EnvironmentConfig]) -> None:
    """Validates each environment and the set: unique names, disjoint VPCs."""
    envs = list(envs)
    problems = [
        p for env in envs for p in type_problems(env, str(getattr(env, "name", "environment")))
    ]
    if problems:
        raise ConfigError(problems)  # the value rules below assume the declared types
    for env in envs:
        problems += validate_environment(env)
    names = [e.name for e in envs]
    for dup in sorted({x for x in names if names.count(x) > 1}):
        problems.append(f"name: environment {dup!r} is defined twice")
    nets: list[tuple[str, ipaddress.IPv4Network]] = []
    for env in envs:
        try:
            nets.append((env.name, ipaddress.IPv4Network(env.vpc_cidr, strict=True)))
        except (ValueError, TypeError):
            continue  # already reported
    for i, (a_name, a_net) in enumerate(nets):
        for b_name, b_net in nets[i + 1 :]:
            if a_net.overlaps(b_net):
                problems.append(
                    f"{b_name}.vpc_cidr: {b_net} overlaps {a_name}.vpc_cidr {a_net}; "
                    "environment VPCs must not overlap (peering, VPN, Transit Gateway)"
                )
    first_in_scope: dict[tuple[str, str], EnvironmentConfig] = {}
    for env in envs:
        first = first_in_scope.setdefault(env.account_scope, env)
        if env.security_baseline != first.security_baseline:
            problems.append(
                f"{env.name}.security_baseline: {env.security_baseline} differs from "
                f"{first.name}'s, which shares account {env.account_id} in {env.region}; "
                "the baseline is one per account and region: declare the same values"
            )
    problems += _shared_oidc_provider_problems(envs)
    if problems:
        raise ConfigError(problems)


def type_problems(value: object, where: str) -> list[str]:
    """Every field of the configuration dataclass ``value`` (and those nested
    in it) whose value is not of its declared type, as ``field: value is a
    X; expected Y``. Run before the value rules, which assume the types."""
    problems: list[str] = []
    hints = typing.get_type_hints(type(value))
    for item in fields(value):  # type: ignore[arg-type]
        field_value = getattr(value, item.name)
        problems += _typed(field_value, hints[item.name], f"{where}.{item.name}")
    return problems


def _typed(value: object, expected: object, where: str) -> list[str]:
    origin = typing.get_origin(expected)
    if origin in (types.UnionType, typing.Union):
        options = typing.get_args(expected)
        if any(not _typed(value, option, where) for option in options):
            return []
        return [f"{where}: {value!r} is a {type(value).__name__}; expected {_type_name(expected)}"]
    if origin is tuple:
        item_type = typing.get_args(expected)[0]
        if not isinstance(value, tuple):
            return [
                f"{where}: {value!r} is a {type(value).__name__}; expected a tuple "
                f"(write ({value!r},) for one value)"
                if isinstance(value, (str, list))
                else f"{where}: {value!r} is a {type(value).__name__}; expected a tuple"
            ]
        return [
            p
            for idx, item in enumerate(value)
            for p in _typed(item, item_type, f"{where}{_item_label(item, idx)}")
        ]
    if expected is type(None):
        ok = value is None
    elif expected is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(expected, type):
        ok = isinstance(value, expected)
        if ok and is_dataclass(value):
            return type_problems(value, where)
    else:
        ok = True
    if ok:
        return []
    return [f"{where}: {value!r} is a {type(value).__name__}; expected {_type_name(expected)}"]


def _item_label(item: object, idx: int) -> str:
    """``.payment-api`` for a named item (services, as the value rules name
    them), ``[idx]`` for the others."""
    name = getattr(item, "name", None) if is_dataclass(item) else None
    return f".{name}" if isinstance(name, str) else f"[{idx}]"


def _type_name(expected: object) -> str:
    if typing.get_origin(expected) in (types.UnionType, typing.Union):
        return " or ".join(_type_name(option) for option in typing.get_args(expected))
    if expected is type(None):
        return "None"
    return getattr(expected, "__name__", str(expected))
