"""Backups happen and restores are tested: a recovery point within the RPO
(and a copy in the copy region), the vaults locked as configured, the
restore test's latest job validated (docs/backup.md, docs/decisions.md D48,
D60)."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from verify.context import Context, Unreadable
from verify.report import Result, failed, not_applicable, passed, unreadable

DOC_OBJECTIVES = "docs/backup.md, Recovery objectives (configuration)"
DOC_LOCK = "docs/backup.md, What no credential can do"
DOC_RUNBOOK = "docs/backup.md, How we know restores work; runbook: docs/recovery.md"
NOT_FOUND = frozenset({"ResourceNotFoundException", "DBClusterNotFoundFault"})


def _missing_or_unreadable(
    err: Unreadable, check: str, subject: str, what: str, doc: str, fix: str = ""
) -> Result:
    """A refused read: FAIL ``<what> not found (<error>)[; <fix>]`` when the
    resource does not exist (NOT_FOUND), else cannot read."""
    if err.code in NOT_FOUND:
        return failed(
            check, subject, f"{what} not found ({err})" + (f"; {fix}" if fix else ""), doc
        )
    return unreadable(check, subject, str(err))


#: The daily rule runs once a day (modules/backup.py DAILY_SCHEDULE); a
#: copy leaves after the backup job completes.
DAILY = timedelta(days=1)
#: Time a cross-region copy of the daily snapshot may take after its backup
#: job completed: an estimate (the plan sets no copy window), to be tuned
#: with the account's CopyJob durations (docs/decisions.md D60, amended).
COPY_MARGIN = timedelta(hours=2)
#: Time a restore job may take after its start window, validation included:
#: twice the runbook's 45-90 min for restoring the cluster (docs/recovery.md
#: step 1); the validator answers within minutes of the completion event.
RESTORE_MARGIN = timedelta(hours=3)


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _provider_region(stack, res: dict, default: str) -> str:
    """The region of a resource's provider (``aws.<alias>``), or ``default``."""
    alias = (res.get("provider") or "").removeprefix("aws.")
    for provider in stack.data.get("provider", {}).get("aws", []):
        if alias and provider.get("alias") == alias:
            return provider.get("region", default)
    return default


def check_backups(ctx: Context) -> list[Result]:
    stack = ctx.synth.stack("data")
    if stack is None or not stack.resources("aws_backup_vault"):
        return [
            not_applicable("backup.recovery-points", ctx.env.prefix, "no backup vault synthesized")
        ]
    return recovery_points(ctx, stack) + vault_locks(ctx, stack) + restore_tests(ctx, stack)


# -- backup.recovery-points ------------------------------------------------


def recovery_points(ctx: Context, stack) -> list[Result]:
    rpo = timedelta(minutes=ctx.env.backup.rpo_minutes)
    results = []
    vaults = {
        _provider_region(stack, res, ctx.region): stack.substitute(res["name"])
        for res in stack.resources("aws_backup_vault").values()
    }
    for res in stack.resources("aws_rds_cluster").values():
        identifier = stack.substitute(res["cluster_identifier"])
        arn = f"arn:{ctx.partition}:rds:{ctx.region}:{ctx.account}:cluster:{identifier}"
        results.append(_home_point(ctx, identifier, arn, vaults[ctx.region], rpo))
        for region, vault in vaults.items():
            if region != ctx.region:
                results.append(_copy_point(ctx, stack, arn, vault, region, rpo))
    return results


def _home_point(ctx: Context, identifier: str, arn: str, vault: str, rpo: timedelta) -> Result:
    """ListRecoveryPointsByResource (AWS Backup API reference,
    https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListRecoveryPointsByResource.html):
    the cluster's COMPLETED points in the vault. A continuous point's
    CreationDate is when continuous backup began; how recent it restores to
    is the cluster's LatestRestorableTime, and AwsBackupRecoveryPointArn
    names that point (RDS API reference, DBCluster,
    https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBCluster.html)."""
    subject = f"{vault} ({identifier})"
    try:
        points = ctx.paginate(
            "backup", "list_recovery_points_by_resource", "RecoveryPoints", ResourceArn=arn
        )
        clusters = ctx.call("rds", "describe_db_clusters", DBClusterIdentifier=identifier)[
            "DBClusters"
        ]
    except Unreadable as err:
        return _missing_or_unreadable(
            err,
            "backup.recovery-points",
            subject,
            f"cluster {identifier}",
            DOC_OBJECTIVES,
            fix="apply the data stack",
        )
    cluster = clusters[0] if clusters else {}
    continuous = cluster.get("AwsBackupRecoveryPointArn")
    newest: tuple[datetime, str] | None = None
    for point in points:
        if point.get("BackupVaultName") != vault or point.get("Status") != "COMPLETED":
            continue
        if point["RecoveryPointArn"] == continuous and cluster.get("LatestRestorableTime"):
            found = (cluster["LatestRestorableTime"], "continuous, latest restorable time")
        else:
            found = (point["CreationDate"], "snapshot, created")
        if newest is None or found[0] > newest[0]:
            newest = found
    if newest is None:
        return failed(
            "backup.recovery-points",
            subject,
            f"expected a COMPLETED recovery point of the cluster in {vault}, found none "
            f"({len(points)} elsewhere or not completed)",
            DOC_OBJECTIVES,
        )
    age = ctx.now - newest[0]
    message = f"newest recovery point ({newest[1]} {_stamp(newest[0])}) is {_minutes(age)} old"
    if age <= rpo:
        return passed(
            "backup.recovery-points", subject, f"{message}, within the RPO {_minutes(rpo)}"
        )
    hint = (
        ""
        if continuous
        else "; the cluster has no AWS Backup continuous recovery point (the plan's continuous rule)"
    )
    return failed(
        "backup.recovery-points",
        subject,
        f"expected a recovery point within the RPO {_minutes(rpo)}, {message}{hint}",
        DOC_OBJECTIVES,
    )


def _copy_point(ctx: Context, stack, arn: str, vault: str, region: str, rpo: timedelta) -> Result:
    """ListRecoveryPointsByBackupVault in the copy region (AWS Backup API
    reference,
    https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListRecoveryPointsByBackupVault.html,
    ``ByResourceArn``): copies are made of the daily points only, so the
    newest may be a day plus the daily rule's start and completion windows
    plus COPY_MARGIN older than the RPO allows at home."""
    subject = f"{vault} ({region})"
    daily: dict = next(
        (
            rule
            for plan in stack.resources("aws_backup_plan").values()
            for rule in plan.get("rule", [])
            if rule.get("copy_action")
        ),
        {},
    )
    windows = timedelta(
        minutes=int(daily.get("start_window", 60)) + int(daily.get("completion_window", 180))
    )
    allowed = rpo + DAILY + windows + COPY_MARGIN
    try:
        points = ctx.paginate(
            "backup",
            "list_recovery_points_by_backup_vault",
            "RecoveryPoints",
            region=region,
            BackupVaultName=vault,
            ByResourceArn=arn,
        )
    except Unreadable as err:
        return _missing_or_unreadable(
            err,
            "backup.recovery-points",
            subject,
            "copy vault",
            DOC_OBJECTIVES,
            fix="apply the data stack",
        )
    done = [p["CreationDate"] for p in points if p.get("Status") == "COMPLETED"]
    if not done:
        return failed(
            "backup.recovery-points",
            subject,
            "expected a COMPLETED copy of the cluster's daily recovery point, found none",
            DOC_OBJECTIVES,
        )
    age = ctx.now - max(done)
    message = f"newest copy created {_stamp(max(done))}, {_minutes(age)} old"
    if age <= allowed:
        return passed("backup.recovery-points", subject, f"{message}, within {_minutes(allowed)}")
    return failed(
        "backup.recovery-points",
        subject,
        f"expected a copy within {_minutes(allowed)} (RPO + a day + the daily rule's windows "
        f"+ the copy), {message}; look for failed copy jobs (the alarm topic, ListCopyJobs)",
        DOC_OBJECTIVES,
    )


# -- backup.vault-lock -------------------------------------------------------


def vault_locks(ctx: Context, stack) -> list[Result]:
    """DescribeBackupVault (AWS Backup API reference,
    https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeBackupVault.html):
    ``Locked``, ``MinRetentionDays``, ``MaxRetentionDays`` as synthesized;
    ``LockDate`` (when the lock becomes immutable) is set only with a grace
    time (compliance mode) and never later than ``changeable_for_days`` from
    now: a later one means the lock was put again and its immutability
    postponed."""
    results = []
    for res in stack.resources("aws_backup_vault_lock_configuration").values():
        vault = stack.substitute(res["backup_vault_name"])
        region = _provider_region(stack, res, ctx.region)
        subject = f"{vault} ({region})"
        try:
            found = ctx.call(
                "backup", "describe_backup_vault", region=region, BackupVaultName=vault
            )
        except Unreadable as err:
            results.append(
                _missing_or_unreadable(err, "backup.vault-lock", subject, "vault", DOC_LOCK)
            )
            continue
        problems = []
        if found.get("Locked") is not True:
            problems.append(f"Locked {found.get('Locked')!r}, expected true")
        for key, field in (
            ("MinRetentionDays", "min_retention_days"),
            ("MaxRetentionDays", "max_retention_days"),
        ):
            if found.get(key) != res.get(field):
                problems.append(f"{key} {found.get(key)!r}, expected {res.get(field)!r}")
        grace = res.get("changeable_for_days")
        lock_date = found.get("LockDate")
        if grace is None and lock_date is not None:
            problems.append(
                f"LockDate {_stamp(lock_date)}: compliance mode, expected governance (no grace time)"
            )
        elif grace is not None and lock_date is None:
            problems.append("no LockDate: governance mode, expected compliance")
        elif grace is not None and lock_date > ctx.now + timedelta(days=int(grace)):
            problems.append(
                f"LockDate {_stamp(lock_date)} is more than changeable_for_days ({grace}) away: "
                "the lock was put again"
            )
        if problems:
            results.append(failed("backup.vault-lock", subject, "; ".join(problems), DOC_LOCK))
            continue
        if lock_date is None:
            mode = "governance mode"
        elif lock_date <= ctx.now:
            mode = f"compliance mode, immutable since {_stamp(lock_date)}"
        else:
            mode = f"compliance mode, immutable from {_stamp(lock_date)}"
        results.append(
            passed(
                "backup.vault-lock",
                subject,
                f"locked, {mode}, minimum retention {found.get('MinRetentionDays')} days",
            )
        )
    return results


# -- backup.restore-tests ----------------------------------------------------

_DAYS = {name: i for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")


class UnknownSchedule(ValueError):
    """A schedule expression this check does not evaluate (L, W, #, steps)."""


def _field(text: str, low: int, high: int, names: dict | None = None) -> set[int] | None:
    """Values of one cron field; None for ``*`` and ``?`` (any)."""
    if text in ("*", "?"):
        return None
    values: set[int] = set()
    for part in text.split(","):
        bounds = [names.get(b, b) if names else b for b in part.split("-")]
        if len(bounds) > 2 or not all(str(b).isdigit() for b in bounds):
            raise UnknownSchedule(text)
        start, end = int(bounds[0]), int(bounds[-1])
        if not low <= start <= end <= high:
            raise UnknownSchedule(text)
        values |= set(range(start, end + 1))
    return values


def runs(expression: str, start: datetime, end: datetime, zone: str | None = None):
    """The times an EventBridge schedule fires in [start, end], oldest first
    (EventBridge user guide, schedule expressions,
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html:
    six fields, day-of-week 1-7 from Sunday). ``rate()`` counts from
    ``start`` (the plan's creation)."""
    rate = _RATE.match(expression)
    if rate:
        unit = rate.group(2).rstrip("s")
        step = timedelta(**{f"{unit}s": int(rate.group(1))})
        when = start + step
        while when <= end:
            yield when
            when += step
        return
    m = re.fullmatch(r"cron\((.+)\)", expression)
    fields = m.group(1).split() if m else []
    if len(fields) != 6:
        raise UnknownSchedule(expression)
    minutes = _field(fields[0], 0, 59) or set(range(60))
    hours = _field(fields[1], 0, 23) or set(range(24))
    days = _field(fields[2], 1, 31)
    months = _field(
        fields[3], 1, 12, {n.upper(): i for i, n in enumerate(calendar.month_abbr) if n}
    )
    weekdays = _field(fields[4], 1, 7, _DAYS)
    years = _field(fields[5], 1970, 2199)
    tz = ZoneInfo(zone) if zone else UTC
    day = start.astimezone(tz).date()
    while day <= end.astimezone(tz).date():
        if (
            (days is None or day.day in days)
            and (months is None or day.month in months)
            and (weekdays is None or day.isoweekday() % 7 + 1 in weekdays)
            and (years is None or day.year in years)
        ):
            for hour in sorted(hours):
                for minute in sorted(minutes):
                    when = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                    if start <= when <= end:
                        yield when
        day += timedelta(days=1)


def restore_tests(ctx: Context, stack) -> list[Result]:
    return [
        _restore_test(ctx, stack.substitute(res["name"]))
        for res in stack.resources("aws_backup_restore_testing_plan").values()
    ]


def _restore_test(ctx: Context, name: str) -> Result:
    """GetRestoreTestingPlan, then ListRestoreJobs with
    ``ByRestoreTestingPlanArn`` (AWS Backup API reference,
    https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListRestoreJobs.html;
    RestoreJobsListMember ``ValidationStatus``,
    https://docs.aws.amazon.com/aws-backup/latest/devguide/API_RestoreJobsListMember.html).
    The run judged is the latest whose start window and RESTORE_MARGIN
    have passed; the newest settled job since it (failed, or with a
    verdict) decides."""
    try:
        plan = ctx.call("backup", "get_restore_testing_plan", RestoreTestingPlanName=name)[
            "RestoreTestingPlan"
        ]
    except Unreadable as err:
        return _missing_or_unreadable(
            err, "backup.restore-tests", name, "restore testing plan", DOC_RUNBOOK
        )
    allowance = timedelta(hours=int(plan.get("StartWindowHours") or 0)) + RESTORE_MARGIN
    created = plan["CreationTime"]
    schedule, zone = plan["ScheduleExpression"], plan.get("ScheduleExpressionTimezone")
    try:
        due = list(runs(schedule, created, ctx.now - allowance, zone))
        first = (
            due[0] if due else next(runs(schedule, created, ctx.now + timedelta(days=400), zone))
        )
    except (UnknownSchedule, StopIteration, ValueError):
        return unreadable(
            "backup.restore-tests",
            name,
            f"schedule {plan['ScheduleExpression']!r} is not one this check evaluates",
        )
    if not due:
        return not_applicable(
            "backup.restore-tests",
            name,
            f"not yet: the plan was created {_stamp(created)}; its first restore test runs "
            f"{_stamp(first)} and is expected validated by {_stamp(first + allowance)}",
        )
    last = due[-1]
    try:
        jobs = ctx.paginate(
            "backup",
            "list_restore_jobs",
            "RestoreJobs",
            ByRestoreTestingPlanArn=plan["RestoreTestingPlanArn"],
            ByCreatedAfter=last,
        )
    except Unreadable as err:
        return unreadable("backup.restore-tests", name, str(err))
    jobs = sorted(
        (j for j in jobs if j["CreationDate"] >= last),
        key=lambda j: j["CreationDate"],
        reverse=True,
    )
    window = f"the run scheduled {_stamp(last)} (due by {_stamp(last + allowance)})"
    settled = [
        j
        for j in jobs
        if j.get("Status") in ("FAILED", "ABORTED")
        or (
            j.get("Status") == "COMPLETED" and j.get("ValidationStatus") not in (None, "VALIDATING")
        )
    ]
    if not settled:
        found = (
            ", ".join(
                f"{j['RestoreJobId']} {j.get('Status')}/{j.get('ValidationStatus', 'no validation')}"
                for j in jobs
            )
            or "no restore job"
        )
        return failed(
            "backup.restore-tests",
            name,
            f"expected a validated restore job of {window}, found {found}: check the "
            "schedule, the selection and the validator's log group",
            DOC_RUNBOOK,
        )
    job = settled[0]
    job_id = job["RestoreJobId"]
    if job.get("Status") != "COMPLETED":
        return failed(
            "backup.restore-tests",
            name,
            f"restore job {job_id} {job.get('Status')}: {job.get('StatusMessage', '')}",
            DOC_RUNBOOK,
        )
    if job.get("ValidationStatus") != "SUCCESSFUL":
        return failed(
            "backup.restore-tests",
            name,
            f"restore job {job_id} validation {job.get('ValidationStatus')}: "
            f"{job.get('ValidationStatusMessage', '')}",
            DOC_RUNBOOK,
        )
    return passed(
        "backup.restore-tests",
        name,
        f"restore job {job_id} of {window} completed {_stamp(job['CompletionDate'])}, "
        "validation SUCCESSFUL",
    )
