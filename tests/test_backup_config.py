"""Recovery objectives in configuration (issue #28, docs/backup.md): validated
at load, the production tier refuses a weaker vault lock or no off-region copy."""

from __future__ import annotations

import dataclasses

import pytest

from config import ConfigError, load_environments
from config.model import (
    MIN_LOCK_CHANGEABLE_DAYS,
    VAULT_LOCK_COMPLIANCE,
    BackupConfig,
    validate_environment,
)
from tests.fixtures.example import DEV, PROD


def with_backup(env, **changes):
    return dataclasses.replace(env, backup=dataclasses.replace(env.backup, **changes))


def problems(env) -> list[str]:
    return validate_environment(env)


def test_every_configured_production_environment_keeps_a_locked_copied_vault(environments):
    for env in environments.values():
        if env.is_production:
            assert env.backup.vault_lock_mode == VAULT_LOCK_COMPLIANCE
            assert env.backup.copy_region not in (None, env.region)
            assert env.backup.lock_changeable_for_days >= MIN_LOCK_CHANGEABLE_DAYS


def test_the_defaults_are_valid_outside_the_production_tier():
    assert not [p for p in problems(with_backup(DEV)) if ".backup." in p]
    assert DEV.backup == BackupConfig()


BAD = [
    (
        "prod-governance",
        lambda: with_backup(PROD, vault_lock_mode="governance"),
        "prod.backup.vault_lock_mode: 'governance' is not allowed in the production tier; "
        "allowed: compliance",
    ),
    (
        "prod-no-copy",
        lambda: with_backup(PROD, copy_region=None),
        "prod.backup.copy_region: None is not allowed in the production tier",
    ),
    (
        "copy-same-region",
        lambda: with_backup(DEV, copy_region=DEV.region),
        f"dev.backup.copy_region: {DEV.region} is not allowed; it is the environment's own region",
    ),
    (
        "copy-region-name",
        lambda: with_backup(DEV, copy_region="frankfurt"),
        "dev.backup.copy_region: 'frankfurt' is not an AWS region name",
    ),
    (
        "lock-mode",
        lambda: with_backup(DEV, vault_lock_mode="strict"),
        "dev.backup.vault_lock_mode: 'strict' is not allowed; allowed: compliance, governance",
    ),
    (
        "changeable-days",
        lambda: with_backup(PROD, lock_changeable_for_days=1),
        "prod.backup.lock_changeable_for_days: 1 is not allowed; use 3-36500",
    ),
    (
        "rpo",
        lambda: with_backup(DEV, rpo_minutes=1),
        "dev.backup.rpo_minutes: 1 is not allowed; use at least 5",
    ),
    (
        "rto",
        lambda: with_backup(DEV, rto_minutes=5),
        "dev.backup.rto_minutes: 5 is not allowed; use 30-10080",
    ),
    (
        "prod-retention",
        lambda: with_backup(PROD, retention_days=30),
        "prod.backup.retention_days: 30 is not allowed in the production tier; use 35-36500",
    ),
    (
        "retention-below-continuous",
        lambda: with_backup(
            dataclasses.replace(PROD, database=dataclasses.replace(PROD.database)),
            retention_days=20,
        ),
        "prod.backup.retention_days: 20 is less than database.backup_retention_days 30",
    ),
    (
        "copy-account-own",
        lambda: with_backup(PROD, copy_account_id=PROD.account_id),
        f"prod.backup.copy_account_id: {PROD.account_id} is the environment's own account",
    ),
    (
        "copy-account-without-region",
        lambda: with_backup(DEV, copy_account_id="123456789012"),
        "dev.backup.copy_account_id: needs copy_region",
    ),
    (
        "schedule",
        lambda: with_backup(DEV, restore_test_schedule="weekly"),
        "dev.backup.restore_test_schedule: 'weekly' is not allowed",
    ),
    (
        "check-writes",
        lambda: with_backup(DEV, restore_check_sql="DELETE FROM payments"),
        "dev.backup.restore_check_sql: 'DELETE FROM payments' is not allowed; use one SELECT",
    ),
    (
        "check-two-statements",
        lambda: with_backup(DEV, restore_check_sql="SELECT 1; DROP TABLE payments"),
        "dev.backup.restore_check_sql: 'SELECT 1; DROP TABLE payments' is not allowed",
    ),
    (
        "check-minimum-zero",
        # 0 would pass an empty database (D76).
        lambda: with_backup(DEV, restore_check_minimum=0),
        "dev.backup.restore_check_minimum: 0 is not allowed",
    ),
]


def test_the_restore_check_accepts_a_select_or_with_statement():
    for sql in (
        "select count(*) from payments.transactions",
        "  WITH t AS (SELECT 1) SELECT count(*) FROM t",
        "SELECT count(*)\nFROM information_schema.tables",
    ):
        assert not [p for p in problems(with_backup(DEV, restore_check_sql=sql)) if "check" in p]


@pytest.mark.parametrize("build, fragment", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_weaker_values_are_refused_in_one_line_naming_field_value_and_allowed(build, fragment):
    found = problems(build())
    assert any(fragment in p for p in found), found
    assert all("\n" not in p for p in found)


def test_a_wrong_type_is_refused_before_the_value_rules():
    env = with_backup(DEV, rpo_minutes="15")
    with pytest.raises(ConfigError) as caught:
        load_environments(defined=(env,))
    assert "dev.backup.rpo_minutes: '15' is a str; expected int" in str(caught.value)
