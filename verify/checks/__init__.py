"""Every check, in the order they run and are reported (most important first)."""

from __future__ import annotations

from collections.abc import Callable

from verify.checks.alarms import check_alarms
from verify.checks.backup import check_backups
from verify.checks.baseline import check_baseline
from verify.checks.data import check_access_logs, check_data_protection, check_parameter_groups
from verify.checks.events import check_event_topics
from verify.checks.iam import boundary_skipped, check_boundary, check_pass_role
from verify.checks.plan_reads import check_plan_reads
from verify.checks.policies import (
    check_endpoint_policies,
    check_key_policies,
    check_secret_policies,
)
from verify.checks.services import check_services
from verify.context import Context
from verify.report import Result

#: (name for --only, function)
CHECKS: tuple[tuple[str, Callable[[Context], list[Result]]], ...] = (
    ("services", check_services),
    ("alarms", check_alarms),
    ("iam", check_pass_role),
    ("iam-boundary", check_boundary),
    ("plan-reads", check_plan_reads),
    ("baseline", check_baseline),
    ("key-policies", check_key_policies),
    ("secret-policies", check_secret_policies),
    ("event-topics", check_event_topics),
    ("access-logs", check_access_logs),
    ("db-parameters", check_parameter_groups),
    ("backups", check_backups),
    ("endpoint-policies", check_endpoint_policies),
    ("data-protection", check_data_protection),
)

#: name -> what a group reports when ``--skip`` leaves it out (the others: nothing).
WHEN_SKIPPED: dict[str, Callable[[Context], list[Result]]] = {
    "iam-boundary": boundary_skipped,
}
