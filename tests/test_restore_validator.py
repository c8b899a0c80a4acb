"""The restore test's validator (D60, D76) offline, with botocore Stubber:
step 1 checks the restored cluster and makes it answer (a managed secret,
the Data API, a ``db.serverless`` instance); step 2 reads the restored data
through the Data API, reports, and deletes the instance, whatever the
outcome.

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
  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBClusters.html);
- a restored cluster has no instance and no managed secret: the validator
  turns on ``ManageMasterUserPassword`` (ModifyDBCluster), the Data API
  with EnableHttpEndpoint (Aurora PostgreSQL Serverless v2 and provisioned;
  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_EnableHttpEndpoint.html)
  and creates a ``db.serverless`` instance (the request shapes are botocore's
  RDS model, which Stubber checks);
- RDS announces a created instance with ``RDS-EVENT-0005``
  (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_Events.Messages.html);
- ExecuteStatement returns ``records``, lists of fields such as
  ``{"longValue": n}``, and fails with ``BadRequestException`` on a SQL or
  connection error (RDS Data API reference,
  https://docs.aws.amazon.com/rdsdataservice/latest/APIReference/API_ExecuteStatement.html).
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
    TEST_CAPACITY,
    Validator,
    cluster_changes,
    dispatch,
    instance_identifier,
    judge,
    settings,
    validate,
)

pytestmark = pytest.mark.aws_replay

EVENTS = Path(__file__).resolve().parent / "fixtures" / "events"
REGION = "us-west-2"
ACCOUNT = "111122223333"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:payment-prod-alarms"
PREFIX = "payment-prod-restore-test-"
SOURCE_CLUSTER = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:payment-prod"
SOURCE_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!cluster-source-AbCdEf"
COPY_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!cluster-copy-GhIjKl"
CHECK_SQL = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
CONFIG = {
    "plan_arn": (
        f"arn:aws:backup:{REGION}:{ACCOUNT}:restore-testing-plan:payment_prod_database-7c1e2b"
    ),
    "subnet_group": "payment-prod-database",
    "security_group": "sg-0restoretest0000001",
    "topic_arn": TOPIC,
    "source_cluster_arn": SOURCE_CLUSTER,
    "source_secret_arn": SOURCE_SECRET,
    "instance_prefix": PREFIX,
    "database": "payments",
    "check_sql": CHECK_SQL,
    "check_minimum": "1",
}


def event() -> dict:
    return copy.deepcopy(
        json.loads((EVENTS / "restore-job-state-change.json").read_text())["event"]
    )


def instance_event() -> dict:
    return copy.deepcopy(json.loads((EVENTS / "rds-instance-created.json").read_text())["event"])


JOB_ID = event()["detail"]["restoreJobId"]
CLUSTER_ARN = event()["detail"]["createdResourceArn"]
CLUSTER_ID = CLUSTER_ARN.rsplit(":", 1)[-1]
INSTANCE_ID = instance_identifier(PREFIX, JOB_ID)


def cluster(**changes) -> dict:
    """DescribeDBClusters' DBClusters[0] of the restored cluster as expected,
    as AWS Backup leaves it: no instance, no managed secret, no Data API."""
    restored = {
        "DBClusterIdentifier": CLUSTER_ID,
        "DBClusterArn": CLUSTER_ARN,
        "Status": "available",
        "Engine": "aurora-postgresql",
        "StorageEncrypted": True,
        "DBSubnetGroup": CONFIG["subnet_group"],
        "VpcSecurityGroups": [{"VpcSecurityGroupId": CONFIG["security_group"], "Status": "active"}],
        "DBClusterMembers": [],
        "ServerlessV2ScalingConfiguration": {"MinCapacity": 0.5, "MaxCapacity": 4.0},
        "HttpEndpointEnabled": False,
    }
    restored.update(changes)
    return restored


def answering_cluster(**changes) -> dict:
    """The copy after step 1: its own managed secret, the Data API on."""
    after = {
        "MasterUserSecret": {"SecretArn": COPY_SECRET, "SecretStatus": "active"},
        "HttpEndpointEnabled": True,
        "DBClusterMembers": [{"DBInstanceIdentifier": INSTANCE_ID, "IsClusterWriter": True}],
    }
    return cluster(**{**after, **changes})


class Aws:
    """Stubbed RDS, RDS Data API, AWS Backup and SNS clients for one invocation."""

    def __init__(self) -> None:
        session = botocore.session.get_session()
        self.clients = {
            name: session.create_client(
                name,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            for name in ("rds", "rds-data", "backup", "sns")
        }
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}
        for stub in self.stubs.values():
            stub.activate()

    def validator(self) -> Validator:
        return Validator(self.clients.__getitem__, CONFIG)

    def describes(self, found: dict | None, identifier: str = CLUSTER_ARN) -> None:
        if found is None:
            self.stubs["rds"].add_client_error(
                "describe_db_clusters",
                service_error_code="DBClusterNotFoundFault",
                http_status_code=404,
                expected_params={"DBClusterIdentifier": identifier},
            )
        else:
            self.stubs["rds"].add_response(
                "describe_db_clusters", {"DBClusters": [found]}, {"DBClusterIdentifier": identifier}
            )

    def prepares(self, changes: dict, refused: str | None = None) -> None:
        """Step 1's calls: ModifyDBCluster, EnableHttpEndpoint, CreateDBInstance
        (``refused``: its error code)."""
        rds = self.stubs["rds"]
        rds.add_response(
            "modify_db_cluster",
            {"DBCluster": {"DBClusterIdentifier": CLUSTER_ID}},
            {"DBClusterIdentifier": CLUSTER_ID, "ApplyImmediately": True, **changes},
        )
        rds.add_response(
            "enable_http_endpoint",
            {"ResourceArn": CLUSTER_ARN, "HttpEndpointEnabled": True},
            {"ResourceArn": CLUSTER_ARN},
        )
        expected = {
            "DBInstanceIdentifier": INSTANCE_ID,
            "DBInstanceClass": "db.serverless",
            "Engine": "aurora-postgresql",
            "DBClusterIdentifier": CLUSTER_ID,
            "PubliclyAccessible": False,
            "Tags": [{"Key": "restoreJobId", "Value": JOB_ID}],
        }
        if refused:
            rds.add_client_error(
                "create_db_instance",
                service_error_code=refused,
                service_message="The maximum number of DB instances has been reached",
                http_status_code=400,
                expected_params=expected,
            )
        else:
            rds.add_response(
                "create_db_instance",
                {"DBInstance": {"DBInstanceIdentifier": INSTANCE_ID}},
                expected,
            )

    def finds_instance(self, tags: list[dict] | None = None) -> None:
        tags = [{"Key": "restoreJobId", "Value": JOB_ID}] if tags is None else tags
        self.stubs["rds"].add_response(
            "describe_db_instances",
            {
                "DBInstances": [
                    {
                        "DBInstanceIdentifier": INSTANCE_ID,
                        "DBClusterIdentifier": CLUSTER_ID,
                        "DBInstanceStatus": "available",
                        "TagList": tags,
                    }
                ]
            },
            {"DBInstanceIdentifier": INSTANCE_ID},
        )

    def queries(self, records: list | None = None, error: str | None = None) -> None:
        expected = {
            "resourceArn": CLUSTER_ARN,
            "secretArn": COPY_SECRET,
            "database": "payments",
            "sql": CHECK_SQL,
        }
        if error:
            self.stubs["rds-data"].add_client_error(
                "execute_statement",
                service_error_code="BadRequestException",
                service_message=error,
                http_status_code=400,
                expected_params=expected,
            )
        else:
            self.stubs["rds-data"].add_response(
                "execute_statement", {"records": records or []}, expected
            )

    def deletes_instance(self) -> None:
        self.stubs["rds"].add_response(
            "delete_db_instance",
            {"DBInstance": {"DBInstanceIdentifier": INSTANCE_ID}},
            {"DBInstanceIdentifier": INSTANCE_ID},
        )

    def reports(self, status: str, message: str | None = None) -> None:
        expected = {
            "RestoreJobId": JOB_ID,
            "ValidationStatus": status,
            "ValidationStatusMessage": message if message is not None else ANY,
        }
        self.stubs["backup"].add_response("put_restore_validation_result", {}, expected)

    def alerts(self, subject: str = "Restore test FAILED") -> None:
        self.stubs["sns"].add_response(
            "publish", {"MessageId": "1"}, {"TopicArn": TOPIC, "Subject": subject, "Message": ANY}
        )

    def verify(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


def step2_reading(records: list | None = None, error: str | None = None) -> Aws:
    """Step 2 up to the query: the tagged instance, its copy, the statement."""
    aws = Aws()
    aws.finds_instance()
    aws.describes(answering_cluster(), identifier=CLUSTER_ID)
    aws.queries(records, error)
    return aws


# -- step 1: the restore job completed --------------------------------------------


def test_a_restored_cluster_gets_a_secret_the_data_api_and_an_instance_and_no_report_yet():
    aws = Aws()
    aws.describes(cluster())
    aws.prepares({"ManageMasterUserPassword": True})
    result = dispatch(event(), aws.validator())
    assert result == {"action": "preparing", "instance": INSTANCE_ID}
    aws.verify()  # nothing reported, nothing alerted


def test_instance_creation_refused_is_reported_failed_with_the_reason():
    aws = Aws()
    aws.describes(cluster())
    aws.prepares({"ManageMasterUserPassword": True}, refused="InstanceQuotaExceeded")
    aws.reports(FAILED)
    aws.alerts()
    result = dispatch(event(), aws.validator())
    assert result["status"] == FAILED
    assert result["message"].startswith("the restored cluster could not be made to answer")
    assert "InstanceQuotaExceeded" in result["message"]
    aws.verify()


def test_a_copy_without_serverless_capacity_gets_the_smallest():
    assert cluster_changes(cluster(ServerlessV2ScalingConfiguration=None)) == {
        "ManageMasterUserPassword": True,
        "ServerlessV2ScalingConfiguration": TEST_CAPACITY,
    }
    assert cluster_changes(answering_cluster()) == {}


def test_a_cluster_not_available_is_reported_failed_with_its_status_and_alerted():
    aws = Aws()
    aws.describes(cluster(Status="inaccessible-encryption-credentials"))
    message = f"cluster {CLUSTER_ID} is 'inaccessible-encryption-credentials', not available"
    aws.reports(FAILED, message)
    aws.alerts()
    result = dispatch(event(), aws.validator())
    assert result == {"action": "reported", "status": FAILED, "message": message}
    aws.verify()


def test_a_missing_cluster_is_reported_failed_and_alerted():
    aws = Aws()
    aws.describes(None)
    aws.reports(FAILED, "the restored cluster does not exist")
    aws.alerts()
    assert dispatch(event(), aws.validator())["status"] == FAILED
    aws.verify()


def test_an_event_without_the_restored_resource_is_reported_failed():
    aws = Aws()
    missing = event()
    del missing["detail"]["createdResourceArn"]
    aws.reports(FAILED, "the restore job names no restored resource (createdResourceArn)")
    aws.alerts()
    assert dispatch(missing, aws.validator())["status"] == FAILED
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
    message = dispatch(event(), aws.validator())["message"]
    assert "subnet group 'default'" in message and "sg-default" in message
    aws.verify()


def test_the_source_cluster_is_never_prepared():
    aws = Aws()
    aws.describes(cluster(DBClusterArn=SOURCE_CLUSTER))
    aws.reports(FAILED, f"cluster {CLUSTER_ID} is the source cluster, not a restored copy")
    aws.alerts()
    assert dispatch(event(), aws.validator())["status"] == FAILED
    aws.verify()  # no ModifyDBCluster, no instance


def test_an_unreadable_cluster_fails_closed():
    aws = Aws()
    aws.stubs["rds"].add_client_error(
        "describe_db_clusters", service_error_code="AccessDenied", http_status_code=403
    )
    aws.reports(FAILED)
    aws.alerts()
    message = dispatch(event(), aws.validator())["message"]
    assert (
        message.startswith("the restored cluster could not be read") and "AccessDenied" in message
    )
    aws.verify()


def test_another_plans_restore_test_is_ignored_without_a_call():
    aws = Aws()
    other = event()
    other["detail"]["restoreTestingPlanArn"] = CONFIG["plan_arn"].replace("prod", "dev")
    assert dispatch(other, aws.validator())["action"] == "ignored"
    aws.verify()  # nothing stubbed, nothing called


def test_a_failed_restore_is_left_to_the_alarm_topic():
    aws = Aws()
    failed = event()
    failed["detail"]["status"] = "FAILED"
    assert dispatch(failed, aws.validator())["action"] == "ignored"
    aws.verify()


def test_other_events_are_refused():
    with pytest.raises(ValueError, match="not an event"):
        dispatch({**event(), "detail-type": "Backup Job State Change"}, Aws().validator())


# -- step 2: the test instance was created ----------------------------------------


def test_a_populated_database_passes_and_the_instance_is_deleted():
    aws = step2_reading(records=[[{"longValue": 12}]])
    aws.reports(SUCCESSFUL)
    aws.deletes_instance()
    result = dispatch(instance_event(), aws.validator())
    assert result["status"] == SUCCESSFUL
    assert "read the restored data" in result["message"]
    aws.verify()


def test_an_empty_database_fails_and_the_instance_is_deleted():
    aws = step2_reading(records=[[{"longValue": 0}]])
    message = (
        "the check on database 'payments' returned 0, less than the minimum 1 "
        "(an empty or wrong database)"
    )
    aws.reports(FAILED, message)
    aws.alerts()
    aws.deletes_instance()
    assert dispatch(instance_event(), aws.validator())["message"] == message
    aws.verify()


def test_a_wrong_database_fails_with_the_data_api_error_and_the_instance_is_deleted():
    aws = step2_reading(error='FATAL: database "payments" does not exist')
    aws.reports(FAILED)
    aws.alerts()
    aws.deletes_instance()
    message = dispatch(instance_event(), aws.validator())["message"]
    assert message.startswith("the restored data could not be read")
    assert "BadRequestException" in message and "does not exist" in message
    aws.verify()


def test_the_sources_secret_is_never_used_and_the_instance_is_deleted():
    aws = Aws()
    aws.finds_instance()
    aws.describes(
        answering_cluster(MasterUserSecret={"SecretArn": SOURCE_SECRET, "SecretStatus": "active"}),
        identifier=CLUSTER_ID,
    )
    aws.reports(FAILED, f"cluster {CLUSTER_ID} names the source cluster's secret")
    aws.alerts()
    aws.deletes_instance()
    assert dispatch(instance_event(), aws.validator())["status"] == FAILED
    aws.verify()  # no ExecuteStatement


def test_an_instance_without_the_tag_is_ignored_and_left_alone():
    aws = Aws()
    aws.finds_instance(tags=[{"Key": "team", "Value": "payments"}])
    result = dispatch(instance_event(), aws.validator())
    assert result["action"] == "ignored" and "restoreJobId" in result["reason"]
    aws.verify()  # no report, no DeleteDBInstance


def test_another_instance_event_is_ignored_without_a_call():
    aws = Aws()
    other = instance_event()
    other["detail"]["SourceArn"] = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:payment-prod-1"
    assert dispatch(other, aws.validator())["action"] == "ignored"
    deleted = instance_event()
    deleted["detail"]["EventID"] = "RDS-EVENT-0003"
    assert dispatch(deleted, aws.validator())["action"] == "ignored"
    aws.verify()


def test_an_instance_that_cannot_be_deleted_is_alerted_after_the_report():
    aws = step2_reading(records=[[{"longValue": 3}]])
    aws.reports(SUCCESSFUL)
    aws.stubs["rds"].add_client_error(
        "delete_db_instance",
        service_error_code="InvalidDBInstanceState",
        http_status_code=400,
        expected_params={"DBInstanceIdentifier": INSTANCE_ID},
    )
    aws.alerts("Restore test instance left running")
    assert dispatch(instance_event(), aws.validator())["status"] == SUCCESSFUL
    aws.verify()


# -- the pure parts ----------------------------------------------------------------


def test_the_check_needs_a_number_of_at_least_the_minimum():
    assert judge([[{"longValue": 1}]], 1, "payments") is None
    assert judge([[{"stringValue": "250"}]], 100, "payments") is None
    assert "less than the minimum 100" in judge([[{"longValue": 99}]], 100, "payments")
    assert "not a number" in judge([], 1, "payments")
    assert "not a number" in judge([[{"isNull": True}]], 1, "payments")
    assert "not a number" in judge([[{"booleanValue": True}]], 1, "payments")


def test_instance_names_are_the_prefix_and_the_job_within_rds_limits():
    name = instance_identifier(PREFIX, JOB_ID)
    assert name.startswith(PREFIX) and len(name) <= 63
    assert name == PREFIX + JOB_ID.replace("-", "")[: 63 - len(PREFIX)]
    assert "--" not in name and not name.endswith("-")


def test_an_unencrypted_cluster_does_not_pass():
    assert validate(cluster(StorageEncrypted=False), CONFIG) == [
        f"cluster {CLUSTER_ID} is not encrypted"
    ]
    assert validate(cluster(), CONFIG) == []


def test_settings_read_the_constructs_variables():
    names = {
        "plan_arn": "PLAN_ARN",
        "subnet_group": "SUBNET_GROUP",
        "security_group": "SECURITY_GROUP",
        "topic_arn": "TOPIC_ARN",
        "source_cluster_arn": "SOURCE_CLUSTER_ARN",
        "source_secret_arn": "SOURCE_SECRET_ARN",
        "instance_prefix": "INSTANCE_PREFIX",
        "database": "DATABASE",
        "check_sql": "CHECK_SQL",
        "check_minimum": "CHECK_MINIMUM",
    }
    environ = {f"RESTORE_VALIDATOR_{variable}": CONFIG[key] for key, variable in names.items()}
    assert settings(environ) == CONFIG
