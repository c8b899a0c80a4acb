"""`make verify`'s `backups` group (verify/checks/backup.py): recovery points
within the RPO and copies in the copy region, the vaults locked as
synthesized, the restore test's latest job validated. moto answers
DescribeBackupVault (it implements the vault lock: moto's backup backend);
botocore Stubber plays the calls moto lacks (ListRecoveryPointsByResource,
ListRecoveryPointsByBackupVault, GetRestoreTestingPlan, ListRestoreJobs)
and RDS's AwsBackupRecoveryPointArn/LatestRestorableTime, which moto does
not set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from tests.verify_helpers import context, stubbed
from verify import report
from verify.checks import backup
from verify.checks.backup import UnknownSchedule, check_backups, runs

#: Operations tools replayed against simulated AWS (docs/decisions.md D56).
pytestmark = [pytest.mark.aws_replay, pytest.mark.usefixtures("fake_aws")]

NOW = datetime(2025, 6, 18, 12, 0, tzinfo=UTC)  # a Wednesday
CONTINUOUS = "arn:aws:backup:eu-west-1:000000000000:recovery-point:continuous:cluster-x"


@pytest.fixture(scope="module")
def prod(example_prod):
    env, synth = example_prod
    assert env.backup.copy_region, "the example's production tier copies (docs/backup.md)"
    return env, synth


def _data(prod):
    return prod[1].stack("data")


def _cluster(prod) -> tuple[str, str]:
    env, synth = prod
    stack = _data(prod)
    (res,) = stack.resources("aws_rds_cluster").values()
    name = stack.substitute(res["cluster_identifier"])
    return name, f"arn:aws:rds:{env.region}:{stack.account}:cluster:{name}"


def _vault(prod) -> str:
    stack = _data(prod)
    return stack.substitute(next(iter(stack.resources("aws_backup_vault").values()))["name"])


def _recovery_results(prod, home_points, restorable, copies):
    """recovery_points with the home vault's points, the cluster's latest
    restorable time (continuous point CONTINUOUS) and the copy vault's points."""
    env, _ = prod
    name, arn = _cluster(prod)
    vault = _vault(prod)
    home, home_stub = stubbed("backup", env.region)
    rds, rds_stub = stubbed("rds", env.region)
    copy, copy_stub = stubbed("backup", env.backup.copy_region)
    home_stub.add_response(
        "list_recovery_points_by_resource",
        {"RecoveryPoints": home_points},
        {"ResourceArn": arn},
    )
    rds_stub.add_response(
        "describe_db_clusters",
        {
            "DBClusters": [
                {"AwsBackupRecoveryPointArn": CONTINUOUS, "LatestRestorableTime": restorable}
            ]
        },
        {"DBClusterIdentifier": name},
    )
    copy_stub.add_response(
        "list_recovery_points_by_backup_vault",
        {"RecoveryPoints": copies},
        {"BackupVaultName": vault, "ByResourceArn": arn},
    )
    clients = {"backup": home, "rds": rds, ("backup", env.backup.copy_region): copy}
    with home_stub, rds_stub, copy_stub:
        results = backup.recovery_points(context(prod, clients, NOW), _data(prod))
    return results


def _point(prod, arn: str, age: timedelta, status: str = "COMPLETED", vault=None) -> dict:
    return {
        "RecoveryPointArn": arn,
        "CreationDate": NOW - age,
        "Status": status,
        "BackupVaultName": vault or _vault(prod),
    }


def test_a_continuous_point_restorable_within_the_rpo_and_a_fresh_copy_pass(prod):
    env, _ = prod
    results = _recovery_results(
        prod,
        [_point(prod, CONTINUOUS, timedelta(days=90))],
        NOW - timedelta(minutes=4),
        [_point(prod, "arn:copy", timedelta(hours=20))],
    )
    assert [r.status for r in results] == [report.PASS, report.PASS], results
    assert "continuous" in results[0].message
    assert env.backup.copy_region in results[1].subject


def test_a_restorable_time_older_than_the_rpo_and_a_stale_copy_fail(prod):
    env, _ = prod
    results = _recovery_results(
        prod,
        [_point(prod, CONTINUOUS, timedelta(days=90))],
        NOW - timedelta(minutes=env.backup.rpo_minutes + 30),
        [_point(prod, "arn:copy", timedelta(days=2))],
    )
    assert [r.status for r in results] == [report.FAIL, report.FAIL], results
    assert f"RPO {env.backup.rpo_minutes} min" in results[0].message
    assert "copy jobs" in results[1].message


def test_the_copy_allowance_is_a_day_plus_the_windows_plus_the_copy_margin(prod):
    """A copy just inside the allowance passes, just outside fails."""
    env, _ = prod
    allowed = (
        timedelta(minutes=env.backup.rpo_minutes)
        + backup.DAILY
        + timedelta(minutes=60 + 180)  # the daily rule's start and completion windows
        + backup.COPY_MARGIN
    )
    fresh = [_point(prod, CONTINUOUS, timedelta(days=9))]
    inside = _recovery_results(
        prod, fresh, NOW, [_point(prod, "c", allowed - timedelta(minutes=1))]
    )
    outside = _recovery_results(
        prod, fresh, NOW, [_point(prod, "c", allowed + timedelta(minutes=1))]
    )
    assert (inside[1].status, outside[1].status) == (report.PASS, report.FAIL)


def test_points_elsewhere_or_unfinished_do_not_count(prod):
    results = _recovery_results(
        prod,
        [
            _point(prod, CONTINUOUS, timedelta(days=1), vault="someone-elses"),
            _point(prod, "arn:snapshot", timedelta(minutes=1), status="PARTIAL"),
        ],
        NOW,
        [_point(prod, "arn:copy", timedelta(hours=1), status="DELETING")],
    )
    assert [r.status for r in results] == [report.FAIL, report.FAIL]
    assert "found none" in results[0].message and "found none" in results[1].message


def test_no_copy_line_without_a_copy_region(example_environments, example_synth_outdir):
    from verify import expected

    env = next(e for e in example_environments.values() if not e.backup.copy_region)
    synth = expected.load(env, example_synth_outdir[0], None)
    synth.bind("aws", "123456789012", env.region)
    home, home_stub = stubbed("backup", env.region)
    rds, rds_stub = stubbed("rds", env.region)
    home_stub.add_client_error("list_recovery_points_by_resource", "AccessDeniedException")
    with home_stub, rds_stub:
        results = backup.recovery_points(
            context((env, synth), {"backup": home, "rds": rds}, NOW), synth.stack("data")
        )
    assert [(r.check, r.status) for r in results] == [("backup.recovery-points", report.UNREADABLE)]
    assert "AccessDeniedException" in results[0].message


# -- backup.vault-lock (moto) --------------------------------------------------


def _locks(prod, put) -> list:
    """vault_locks against moto, after ``put(client, region, vault, lock)``
    for each synthesized lock."""
    env, _ = prod
    stack = _data(prod)
    with mock_aws():
        clients = {}
        for res in stack.resources("aws_backup_vault_lock_configuration").values():
            region = backup._provider_region(stack, res, env.region)
            client = boto3.client("backup", region_name=region)
            clients["backup" if region == env.region else ("backup", region)] = client
            put(client, stack.substitute(res["backup_vault_name"]), res)
        return backup.vault_locks(context(prod, clients, datetime.now(UTC)), stack)


def _as_synthesized(client, vault, lock):
    client.create_backup_vault(BackupVaultName=vault)
    params = {"MinRetentionDays": lock["min_retention_days"]}
    if lock.get("changeable_for_days"):
        params["ChangeableForDays"] = lock["changeable_for_days"]
    client.put_backup_vault_lock_configuration(BackupVaultName=vault, **params)


def test_vaults_locked_as_synthesized_pass_in_both_regions(prod):
    results = _locks(prod, _as_synthesized)
    assert len(results) == 2 and {r.status for r in results} == {report.PASS}, results
    assert all("compliance mode" in r.message for r in results)


def test_a_governance_lock_passes_where_configured(example_environments, example_synth_outdir):
    from verify import expected

    env = next(e for e in example_environments.values() if e.backup.vault_lock_mode != "compliance")
    synth = expected.load(env, example_synth_outdir[0], None)
    synth.bind("aws", "123456789012", env.region)
    results = _locks((env, synth), _as_synthesized)
    assert [(r.status, "governance mode" in r.message) for r in results] == [(report.PASS, True)]


def test_a_governance_lock_where_compliance_is_synthesized_fails(prod):
    def governance(client, vault, lock):
        client.create_backup_vault(BackupVaultName=vault)
        client.put_backup_vault_lock_configuration(
            BackupVaultName=vault, MinRetentionDays=lock["min_retention_days"]
        )

    results = _locks(prod, governance)
    assert {r.status for r in results} == {report.FAIL}
    assert all("expected compliance" in r.message for r in results)


def test_an_unlocked_vault_or_another_minimum_fails(prod):
    def unlocked(client, vault, lock):
        client.create_backup_vault(BackupVaultName=vault)

    def shorter(client, vault, lock):
        client.create_backup_vault(BackupVaultName=vault)
        client.put_backup_vault_lock_configuration(
            BackupVaultName=vault,
            MinRetentionDays=lock["min_retention_days"] - 1,
            ChangeableForDays=lock["changeable_for_days"],
        )

    assert all("Locked False" in r.message for r in _locks(prod, unlocked))
    assert all("MinRetentionDays" in r.message for r in _locks(prod, shorter))


def test_a_lock_put_again_with_a_later_lock_date_fails(prod):
    def postponed(client, vault, lock):
        client.create_backup_vault(BackupVaultName=vault)
        client.put_backup_vault_lock_configuration(
            BackupVaultName=vault,
            MinRetentionDays=lock["min_retention_days"],
            ChangeableForDays=lock["changeable_for_days"] + 30,
        )

    results = _locks(prod, postponed)
    assert {r.status for r in results} == {report.FAIL}
    assert all("put again" in r.message for r in results)


def test_a_missing_vault_fails(prod):
    results = _locks(prod, lambda client, vault, lock: None)
    assert {r.status for r in results} == {report.FAIL}
    assert all("not found" in r.message for r in results)


# -- backup.restore-tests (Stubber) ----------------------------------------------

PLAN_ARN = "arn:aws:backup:eu-west-1:000000000000:restore-testing-plan:plan-1"
WEEKLY = "cron(0 5 ? * SUN *)"
LAST_SUNDAY = datetime(2025, 6, 15, 5, 0, tzinfo=UTC)


def _restore(prod, jobs, created=NOW - timedelta(days=60), schedule=WEEKLY):
    env, _ = prod
    stack = _data(prod)
    (res,) = stack.resources("aws_backup_restore_testing_plan").values()
    name = stack.substitute(res["name"])
    client, stub = stubbed("backup", env.region)
    stub.add_response(
        "get_restore_testing_plan",
        {
            "RestoreTestingPlan": {
                "CreationTime": created,
                "RecoveryPointSelection": {},
                "RestoreTestingPlanArn": PLAN_ARN,
                "RestoreTestingPlanName": name,
                "ScheduleExpression": schedule,
                "StartWindowHours": 1,
            }
        },
        {"RestoreTestingPlanName": name},
    )
    if jobs is not None:
        stub.add_response(
            "list_restore_jobs",
            {"RestoreJobs": jobs},
            {"ByRestoreTestingPlanArn": PLAN_ARN, "ByCreatedAfter": LAST_SUNDAY},
        )
    with stub:
        (result,) = backup.restore_tests(context(prod, {"backup": client}, NOW), stack)
    return result


def _job(job_id, status="COMPLETED", validation="SUCCESSFUL", **more):
    job = {
        "RestoreJobId": job_id,
        "CreationDate": LAST_SUNDAY + timedelta(minutes=20),
        "CompletionDate": LAST_SUNDAY + timedelta(hours=1),
        "Status": status,
        **more,
    }
    if validation:
        job["ValidationStatus"] = validation
    return job


def test_the_latest_run_validated_successfully_passes(prod):
    result = _restore(prod, [_job("job-1")])
    assert result.status == report.PASS, result
    assert "job-1" in result.message and "2025-06-15 05:00 UTC" in result.message


def test_a_failed_validation_fails_naming_the_job_and_the_runbook(prod):
    result = _restore(
        prod, [_job("job-2", validation="FAILED", ValidationStatusMessage="not encrypted")]
    )
    assert result.status == report.FAIL
    assert "job-2" in result.message and "not encrypted" in result.message
    assert "docs/recovery.md" in result.doc


def test_a_failed_restore_job_fails(prod):
    result = _restore(prod, [_job("job-3", status="FAILED", validation=None, StatusMessage="x")])
    assert (result.status, "job-3 FAILED" in result.message) == (report.FAIL, True)


def test_no_job_after_a_scheduled_run_fails(prod):
    result = _restore(prod, [])
    assert result.status == report.FAIL
    assert "no restore job" in result.message and "2025-06-15 05:00 UTC" in result.message


def test_a_job_nobody_validated_fails_and_a_newer_settled_one_decides(prod):
    unvalidated = _restore(prod, [_job("job-4", validation=None)])
    assert unvalidated.status == report.FAIL and "job-4" in unvalidated.message
    newer = _job("job-5", CreationDate=LAST_SUNDAY + timedelta(hours=2))
    assert _restore(prod, [_job("job-4", validation="VALIDATING"), newer]).status == report.PASS


def test_a_plan_younger_than_its_first_run_is_not_yet_with_the_expected_date(prod):
    result = _restore(prod, None, created=NOW - timedelta(days=1))
    assert result.status == report.NOT_APPLICABLE
    assert "not yet" in result.message and "2025-06-22 05:00 UTC" in result.message
    # start window (1 h) + RESTORE_MARGIN
    assert "2025-06-22 09:00 UTC" in result.message


def test_a_schedule_the_check_does_not_evaluate_cannot_read(prod):
    result = _restore(prod, None, schedule="cron(0 5 L * ? *)")
    assert result.status == report.UNREADABLE


def test_runs_of_cron_and_rate_schedules():
    start = datetime(2025, 1, 1, tzinfo=UTC)
    end = datetime(2025, 1, 20, tzinfo=UTC)
    assert [r.day for r in runs(WEEKLY, start, end)] == [5, 12, 19]  # Sundays
    assert [r.day for r in runs("cron(30 3 * * ? *)", start, start + timedelta(days=2))] == [1, 2]
    assert [r.day for r in runs("rate(7 days)", start, end)] == [8, 15]
    with pytest.raises(UnknownSchedule):
        list(runs("cron(0 5 ? * 2#1 *)", start, end))


def test_every_read_refused_is_one_cannot_read_line_per_check(prod):
    env, _ = prod
    home, home_stub = stubbed("backup", env.region)
    copy, copy_stub = stubbed("backup", env.backup.copy_region)
    for operation in (
        "list_recovery_points_by_resource",
        "describe_backup_vault",
        "get_restore_testing_plan",
    ):
        home_stub.add_client_error(operation, "AccessDeniedException")
    for operation in ("list_recovery_points_by_backup_vault", "describe_backup_vault"):
        copy_stub.add_client_error(operation, "AccessDeniedException")
    clients = {"backup": home, ("backup", env.backup.copy_region): copy}
    with home_stub, copy_stub:
        results = check_backups(context(prod, clients, NOW))
    assert {r.status for r in results} == {report.UNREADABLE}
    assert [r.check for r in results] == [
        "backup.recovery-points",
        "backup.recovery-points",
        "backup.vault-lock",
        "backup.vault-lock",
        "backup.restore-tests",
    ]
