"""Failed backup, copy and restore jobs on the alarm topic (issue #28,
docs/decisions.md D60): three EventBridge rules on AWS Backup's job events.

AWS Backup sends ``Backup Job State Change``, ``Copy Job State Change`` and
``Restore Job State Change`` events from ``aws.backup``; backup and copy
jobs report ``state``, restore jobs ``status``, as the API does (AWS Backup
developer guide, "Monitoring AWS Backup events using Amazon EventBridge",
https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html;
the job states are the API's: BackupJob ``State``, CopyJob ``State``,
RestoreJob ``Status``,
https://docs.aws.amazon.com/aws-backup/latest/devguide/API_BackupJob.html,
https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CopyJob.html,
https://docs.aws.amazon.com/aws-backup/latest/devguide/API_RestoreJob.html).
Delivery is best effort, about every 5 minutes (same page).

EventBridge rather than vault notifications (``aws_backup_vault_notifications``):
the page says EventBridge tracks more than the notification API (copy job
state among it), the topic already admits EventBridge rules one by one
(``aws:SourceArn``) and its key already lets EventBridge encrypt for it
(D51), and the patterns are tested offline against sample events
(tests/event_pattern.py). Vault notifications would need ``backup.amazonaws.com``
in the topic policy and a key statement for AWS Backup, and one per vault.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from framework import Construct
from framework.aws import aws
from restore_validator.handler import DETAIL_TYPE as RESTORE_JOB_STATE_CHANGE
from restore_validator.handler import SOURCE

#: detail-type -> (the field holding the job's state, its id field, states alerted).
#: EXPIRED: a backup job that could not start within its start window.
JOB_EVENTS = {
    "backup-job": (
        "Backup Job State Change",
        "state",
        "backupJobId",
        ("FAILED", "ABORTED", "EXPIRED"),
    ),
    "copy-job": ("Copy Job State Change", "state", "copyJobId", ("FAILED",)),
    "restore-job": (RESTORE_JOB_STATE_CHANGE, "status", "restoreJobId", ("FAILED",)),
}


def backup_alert_patterns(
    vault_name: str, vault_arn: str, restore_testing_plan_arn: str
) -> dict[str, dict]:
    """kind -> event pattern, exact values only, this environment's jobs
    only: backup jobs into its vault (``backupVaultName``), copies out of it
    (``sourceBackupVaultArn``), restore jobs its restore testing plan
    started (``restoreTestingPlanArn``, which the restore-test event carries:
    AWS Backup developer guide, "Restore testing validation",
    https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing-validation.html).
    A restore a person starts is watched by that person (docs/backup.md)."""
    own = {
        "backup-job": {"backupVaultName": [vault_name]},
        "copy-job": {"sourceBackupVaultArn": [vault_arn]},
        "restore-job": {"restoreTestingPlanArn": [restore_testing_plan_arn]},
    }
    return {
        kind: {
            "source": [SOURCE],
            "detail-type": [detail_type],
            "detail": {state_field: list(states), **own[kind]},
        }
        for kind, (detail_type, state_field, _, states) in JOB_EVENTS.items()
    }


@dataclass(frozen=True, kw_only=True)
class BackupAlertsProps:
    """``name``: the rules are ``<name>-<kind>``. ``vault_name`` and
    ``vault_arn``: the environment's backup vault (home region).
    ``restore_testing_plan_arn``: its restore testing plan."""

    name: str
    vault_name: str
    vault_arn: str
    restore_testing_plan_arn: str


class BackupAlerts(Construct):
    """One rule per job kind; ``send_to`` makes the alarm topic their target.
    Two steps because the topic's policy names the rules
    (``AlarmTopicProps.event_rule_arns``)."""

    def __init__(self, scope: Construct, construct_id: str, props: BackupAlertsProps) -> None:
        super().__init__(scope, construct_id)
        self.rules = {
            kind: aws.cloudwatch_event_rule.CloudwatchEventRule(
                self,
                f"rule-{kind}",
                name=f"{props.name}-{kind}",
                description=f"AWS Backup {JOB_EVENTS[kind][0]} "
                f"{'/'.join(JOB_EVENTS[kind][3])}, to the alarm topic",
                event_pattern=json.dumps(pattern),
            )
            for kind, pattern in backup_alert_patterns(
                props.vault_name, props.vault_arn, props.restore_testing_plan_arn
            ).items()
        }

    @property
    def rule_arns(self) -> tuple[str, ...]:
        return tuple(rule.arn for rule in self.rules.values())

    def send_to(self, topic_arn: str) -> None:
        """The topic as each rule's target, with a one-line message (the
        e-mail subscriber reads it) built by an input transformer."""
        target = aws.cloudwatch_event_target
        for kind, rule in self.rules.items():
            detail_type, state_field, id_field, _ = JOB_EVENTS[kind]
            target.CloudwatchEventTarget(
                self,
                f"target-{kind}",
                rule=rule.name,
                arn=topic_arn,
                input_transformer=target.CloudwatchEventTargetInputTransformer(
                    input_paths={
                        "state": f"$.detail.{state_field}",
                        "job": f"$.detail.{id_field}",
                        "message": "$.detail.statusMessage",
                        "time": "$.time",
                    },
                    input_template=json.dumps(
                        f"AWS Backup {detail_type}: job <job> <state> at <time>: <message>. "
                        "See docs/backup.md (Alerts)."
                    ),
                ),
            )
