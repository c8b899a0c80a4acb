"""The restore test's validator (D60) offline, with botocore Stubber: what it
reports to AWS Backup for an available, an unavailable and a missing
restored cluster, and that it leaves other plans' restore tests alone.

AWS facts encoded here:
- the validator answers with PutRestoreValidationResult (``RestoreJobId``,
  ``ValidationStatus`` SUCCESSFUL or FAILED, ``ValidationStatusMessage``;
  AWS Backup API reference,
  https://docs.aws.amazon.com/aws-backup/latest/devguide/API_PutRestoreValidationResult.html)
  on the restore test's ``COMPLETED`` event, whose detail names the plan and
  the restored resource ("Restore testing validation",
  https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing-validation.html);
- DescribeDBClusters takes the cluster's ARN and fails with
  ``DBClusterNotFoundFault`` for a cluster that does not exist (RDS API
  reference,
  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBClusters.html).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import botocore.session
import pytest
from botocore.stub import ANY, Stubber

from restore_validator.handler import (
    FAILED,
    SUCCESSFUL,
    Validator,
    on_restore_completed,
    settings,
    validate,
)

pytestmark = pytest.mark.aws_replay

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "events" / "restore-job-state-change.json"
REGION = "us-west-2"
TOPIC = "arn:aws:sns:us-west-2:111122223333:payment-prod-alarms"
CONFIG = {
    "plan_arn": (
        "arn:aws:backup:us-west-2:111122223333:restore-testing-plan:payment_prod_database-7c1e2b"
    ),
    "subnet_group": "payment-prod-database",
    "security_group": "sg-0restoretest0000001",
    "topic_arn": TOPIC,
}


def event() -> dict:
    return copy.deepcopy(json.loads(SAMPLE.read_text())["event"])


def cluster(**changes) -> dict:
    """DescribeDBClusters' DBClusters[0] of the restored cluster as expected."""
    restored = {
        "DBClusterIdentifier": "awsbackup-restore-test-5f2d7c1b",
        "DBClusterArn": event()["detail"]["createdResourceArn"],
        "Status": "available",
        "Engine": "aurora-postgresql",
        "StorageEncrypted": True,
        "DBSubnetGroup": CONFIG["subnet_group"],
        "VpcSecurityGroups": [{"VpcSecurityGroupId": CONFIG["security_group"], "Status": "active"}],
        "DBClusterMembers": [],
    }
    restored.update(changes)
    return restored


class Aws:
    """Stubbed RDS, AWS Backup and SNS clients for one invocation."""

    def __init__(self) -> None:
        session = botocore.session.get_session()
        self.clients = {
            name: session.create_client(
                name,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            for name in ("rds", "backup", "sns")
        }
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}
        for stub in self.stubs.values():
            stub.activate()

    def validator(self) -> Validator:
        return Validator(self.clients.__getitem__, CONFIG)

    def describes(self, found: dict | None) -> None:
        arn = event()["detail"]["createdResourceArn"]
        if found is None:
            self.stubs["rds"].add_client_error(
                "describe_db_clusters",
                service_error_code="DBClusterNotFoundFault",
                http_status_code=404,
                expected_params={"DBClusterIdentifier": arn},
            )
        else:
            self.stubs["rds"].add_response(
                "describe_db_clusters", {"DBClusters": [found]}, {"DBClusterIdentifier": arn}
            )

    def reports(self, status: str, message: str | None = None) -> None:
        expected = {
            "RestoreJobId": event()["detail"]["restoreJobId"],
            "ValidationStatus": status,
            "ValidationStatusMessage": message if message is not None else ANY,
        }
        self.stubs["backup"].add_response("put_restore_validation_result", {}, expected)

    def alerts(self) -> None:
        self.stubs["sns"].add_response(
            "publish",
            {"MessageId": "1"},
            {"TopicArn": TOPIC, "Subject": "Restore test FAILED", "Message": ANY},
        )

    def verify(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


def test_an_available_cluster_where_expected_is_reported_successful():
    aws = Aws()
    aws.describes(cluster())
    aws.reports(SUCCESSFUL)
    result = on_restore_completed(event(), aws.validator())
    assert result["status"] == SUCCESSFUL
    assert "available where expected" in result["message"]
    aws.verify()


def test_a_cluster_not_available_is_reported_failed_with_its_status_and_alerted():
    aws = Aws()
    aws.describes(cluster(Status="inaccessible-encryption-credentials"))
    message = (
        "cluster awsbackup-restore-test-5f2d7c1b is 'inaccessible-encryption-credentials', "
        "not available"
    )
    aws.reports(FAILED, message)
    aws.alerts()
    result = on_restore_completed(event(), aws.validator())
    assert result == {"action": "reported", "status": FAILED, "message": message}
    aws.verify()


def test_a_missing_cluster_is_reported_failed_and_alerted():
    aws = Aws()
    aws.describes(None)
    aws.reports(FAILED, "the restored cluster does not exist")
    aws.alerts()
    assert on_restore_completed(event(), aws.validator())["status"] == FAILED
    aws.verify()


def test_an_event_without_the_restored_resource_is_reported_failed():
    aws = Aws()
    missing = event()
    del missing["detail"]["createdResourceArn"]
    aws.reports(FAILED, "the restore job names no restored resource (createdResourceArn)")
    aws.alerts()
    assert on_restore_completed(missing, aws.validator())["status"] == FAILED
    aws.verify()


def test_a_cluster_restored_outside_our_network_is_reported_failed():
    """The overrides did not apply: the default VPC's subnet group and group."""
    aws = Aws()
    aws.describes(
        cluster(
            DBSubnetGroup="default",
            VpcSecurityGroups=[{"VpcSecurityGroupId": "sg-default", "Status": "active"}],
        )
    )
    aws.reports(FAILED)
    aws.alerts()
    message = on_restore_completed(event(), aws.validator())["message"]
    assert "subnet group 'default'" in message and "sg-default" in message
    aws.verify()


def test_an_unreadable_cluster_fails_closed():
    aws = Aws()
    aws.stubs["rds"].add_client_error(
        "describe_db_clusters", service_error_code="AccessDenied", http_status_code=403
    )
    aws.reports(FAILED)
    aws.alerts()
    message = on_restore_completed(event(), aws.validator())["message"]
    assert (
        message.startswith("the restored cluster could not be read") and "AccessDenied" in message
    )
    aws.verify()


def test_another_plans_restore_test_is_ignored_without_a_call():
    aws = Aws()
    other = event()
    other["detail"]["restoreTestingPlanArn"] = CONFIG["plan_arn"].replace("prod", "dev")
    result = on_restore_completed(other, aws.validator())
    assert result["action"] == "ignored"
    aws.verify()  # nothing stubbed, nothing called


def test_a_failed_restore_is_left_to_the_alarm_topic():
    aws = Aws()
    failed = event()
    failed["detail"]["status"] = "FAILED"
    assert on_restore_completed(failed, aws.validator())["action"] == "ignored"
    aws.verify()


def test_other_events_are_refused():
    with pytest.raises(ValueError, match="not an event"):
        on_restore_completed(
            {**event(), "detail-type": "Backup Job State Change"}, Aws().validator()
        )


def test_an_unencrypted_cluster_does_not_pass():
    assert validate(cluster(StorageEncrypted=False), CONFIG) == [
        "cluster awsbackup-restore-test-5f2d7c1b is not encrypted"
    ]
    assert validate(cluster(), CONFIG) == []


def test_settings_read_the_constructs_variables():
    assert (
        settings(
            {
                "RESTORE_VALIDATOR_PLAN_ARN": CONFIG["plan_arn"],
                "RESTORE_VALIDATOR_SUBNET_GROUP": CONFIG["subnet_group"],
                "RESTORE_VALIDATOR_SECURITY_GROUP": CONFIG["security_group"],
                "RESTORE_VALIDATOR_TOPIC_ARN": TOPIC,
            }
        )
        == CONFIG
    )
