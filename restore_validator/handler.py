"""Validates a restore test of the database and reports the result to AWS
Backup (docs/decisions.md D60, D76).

AWS Backup validates nothing by itself: after a restore test's job reaches
``COMPLETED``, a validator named by an EventBridge rule checks the restored
resource and reports with PutRestoreValidationResult (``SUCCESSFUL`` or
``FAILED`` and a message) within the selection's validation window (AWS
Backup developer guide, "Restore testing validation",
https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing-validation.html;
API reference, PutRestoreValidationResult,
https://docs.aws.amazon.com/aws-backup/latest/devguide/API_PutRestoreValidationResult.html).
The event's ``detail`` carries ``restoreJobId``, ``restoreTestingPlanArn``
and ``createdResourceArn`` (same page's sample).

Two steps, each run by its own EventBridge rule (modules/restore_validator.py):

1. **Restore completed** (``on_restore_completed``). The restored cluster
   exists (DescribeDBClusters accepts its ARN, RDS API reference,
   https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBClusters.html),
   is ``available``, encrypted, not the source cluster, and was restored
   where the restore metadata overrides put it (the database's subnet
   group, the closed restore-test security group alone: modules/backup.py).
   Then the validator makes it answer: a restored cluster has no instance
   (RestoreDBClusterFromSnapshot creates none: "You must invoke the
   CreateDBInstance operation", RDS API reference,
   https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBClusterFromSnapshot.html),
   and no managed secret (Aurora lets RDS manage the master password when a
   cluster is created or modified, or restored from S3, not restored from a
   snapshot or to a point in time: Aurora user guide, "Password management
   with Amazon Aurora and AWS Secrets Manager",
   https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-secrets-manager.html;
   RestoreDBClusterFromSnapshot and RestoreDBClusterToPointInTime take no
   ``ManageMasterUserPassword``). So: ModifyDBCluster with
   ``ManageMasterUserPassword`` (RDS generates a new password for this copy
   and keeps it in a secret of its own; without
   ``MasterUserSecretKmsKeyId`` the secret is encrypted with
   ``aws/secretsmanager``, API reference, ModifyDBCluster,
   https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBCluster.html),
   plus a Serverless v2 capacity if the copy has none; EnableHttpEndpoint
   (the RDS Data API of an Aurora PostgreSQL Serverless v2 or provisioned
   cluster; ModifyDBCluster's ``EnableHttpEndpoint`` is for Serverless v1
   only: API reference, EnableHttpEndpoint,
   https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_EnableHttpEndpoint.html);
   and CreateDBInstance (``db.serverless``, the cluster's engine, tagged
   with the restore job's id). Nothing is reported yet unless a step is
   refused: then FAILED with the reason.
2. **Instance created** (``on_instance_created``): RDS's
   ``RDS-EVENT-0005`` ("DB instance created", Aurora user guide, "Amazon RDS
   event categories and event messages for Aurora",
   https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_Events.Messages.html)
   for an instance of the validator's prefix. It reads the restore job's id
   from the instance's tags (an instance without it is not the validator's:
   ignored), runs the configured check through the Data API
   (ExecuteStatement with the copy's managed secret and the configured
   database, RDS Data API reference,
   https://docs.aws.amazon.com/rdsdataservice/latest/APIReference/API_ExecuteStatement.html),
   reports SUCCESSFUL when its first value reaches the configured minimum,
   FAILED otherwise or on any error (an empty database, a missing database,
   the wrong one), and deletes the instance it created: AWS Backup deletes
   the resources of a restore test once the validation completes or its
   window closes ("Restore testing",
   https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing.html),
   and an Aurora cluster is deleted through the API only after its
   instances ("Deleting Aurora DB clusters and DB instances",
   https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_DeleteCluster.html),
   so an instance left behind would hold the copy up.

No network path into the closed group and no stored password: the Data API
is an HTTPS endpoint of RDS, and the copy's password is one RDS generated
for it. A FAILED result is also sent to the alarm topic.

Only the standard library and boto3 (shipped by Lambda's Python runtime);
boto3 is imported when a client is first needed, so the judging functions
(``validate``, ``instance_identifier``, ``judge``...) are pure.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

SOURCE = "aws.backup"
DETAIL_TYPE = "Restore Job State Change"
COMPLETED = "COMPLETED"
SUCCESSFUL = "SUCCESSFUL"
FAILED = "FAILED"
#: DescribeDBClusters ``Status`` of a cluster that answers (RDS user guide,
#: "Viewing DB cluster status").
AVAILABLE = "available"
#: The RDS error of a cluster that does not exist (RDS API reference,
#: DescribeDBClusters, Errors).
NOT_FOUND = "DBClusterNotFoundFault"

#: RDS's events in EventBridge (EventBridge events reference, "Amazon
#: Relational Database Service events",
#: https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-rds.html).
RDS_SOURCE = "aws.rds"
INSTANCE_EVENT = "RDS DB Instance Event"
#: "creation" category, "DB instance created" (USER_Events.Messages, above).
INSTANCE_CREATED = "RDS-EVENT-0005"
#: The instance class of an Aurora Serverless v2 instance.
INSTANCE_CLASS = "db.serverless"
#: The tag that ties a test instance to its restore job (step 2 reads it).
RESTORE_JOB_TAG = "restoreJobId"
#: Capacity given to a copy restored without a Serverless v2 configuration
#: (a ``db.serverless`` instance needs one on its cluster): the smallest,
#: enough for one read.
TEST_CAPACITY = {"MinCapacity": 0.5, "MaxCapacity": 2.0}
#: RDS instance identifiers: 1-63 letters, digits or hyphens (RDS API
#: reference, CreateDBInstance, DBInstanceIdentifier).
MAX_IDENTIFIER = 63


def settings(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """What the construct sets (``modules/restore_validator.py``)."""
    environ = os.environ if environ is None else environ
    return {
        "plan_arn": environ["RESTORE_VALIDATOR_PLAN_ARN"],
        "subnet_group": environ["RESTORE_VALIDATOR_SUBNET_GROUP"],
        "security_group": environ["RESTORE_VALIDATOR_SECURITY_GROUP"],
        "topic_arn": environ["RESTORE_VALIDATOR_TOPIC_ARN"],
        "source_cluster_arn": environ["RESTORE_VALIDATOR_SOURCE_CLUSTER_ARN"],
        "source_secret_arn": environ["RESTORE_VALIDATOR_SOURCE_SECRET_ARN"],
        "instance_prefix": environ["RESTORE_VALIDATOR_INSTANCE_PREFIX"],
        "database": environ["RESTORE_VALIDATOR_DATABASE"],
        "check_sql": environ["RESTORE_VALIDATOR_CHECK_SQL"],
        "check_minimum": environ["RESTORE_VALIDATOR_CHECK_MINIMUM"],
    }


def validate(cluster: Mapping | None, config: Mapping[str, str]) -> list[str]:
    """Why the restored cluster (DescribeDBClusters' ``DBClusters[0]``) does
    not pass; empty: it passes."""
    if cluster is None:
        return ["the restored cluster does not exist"]
    problems = []
    name = cluster.get("DBClusterIdentifier", "?")
    if cluster.get("DBClusterArn") == config["source_cluster_arn"]:
        # Never create instances in, or query, the production cluster.
        return [f"cluster {name} is the source cluster, not a restored copy"]
    if cluster.get("Status") != AVAILABLE:
        problems.append(f"cluster {name} is {cluster.get('Status')!r}, not {AVAILABLE}")
    if cluster.get("StorageEncrypted") is not True:
        problems.append(f"cluster {name} is not encrypted")
    if cluster.get("DBSubnetGroup") != config["subnet_group"]:
        problems.append(
            f"cluster {name} is in subnet group {cluster.get('DBSubnetGroup')!r}, "
            f"not {config['subnet_group']!r}"
        )
    groups = sorted(g.get("VpcSecurityGroupId") for g in cluster.get("VpcSecurityGroups") or [])
    if groups != [config["security_group"]]:
        problems.append(
            f"cluster {name} has security groups {groups}, not [{config['security_group']!r}]"
        )
    return problems


def instance_identifier(prefix: str, job_id: str) -> str:
    """The test instance of restore job ``job_id``: ``prefix`` and the job id's
    letters and digits, within RDS's 63 characters."""
    return (prefix + re.sub(r"[^a-z0-9]", "", job_id.lower()))[:MAX_IDENTIFIER]


def cluster_changes(cluster: Mapping) -> dict:
    """ModifyDBCluster's arguments that make the copy answer: a managed
    secret if it has none, a Serverless v2 capacity if it has none; empty:
    nothing to change."""
    changes: dict = {}
    if not cluster.get("MasterUserSecret"):
        changes["ManageMasterUserPassword"] = True
    if not cluster.get("ServerlessV2ScalingConfiguration"):
        changes["ServerlessV2ScalingConfiguration"] = dict(TEST_CAPACITY)
    return changes


def secret_problem(cluster: Mapping, config: Mapping[str, str]) -> str | None:
    """Why the copy's managed secret cannot be used, else None."""
    secret = cluster.get("MasterUserSecret") or {}
    arn = secret.get("SecretArn")
    name = cluster.get("DBClusterIdentifier", "?")
    if not arn:
        return f"cluster {name} has no managed master secret"
    if arn == config["source_secret_arn"]:
        return f"cluster {name} names the source cluster's secret"
    if secret.get("SecretStatus") not in (None, "active"):
        return f"cluster {name}'s managed secret is {secret.get('SecretStatus')!r}, not active"
    return None


def copy_problem(cluster: Mapping | None, config: Mapping[str, str]) -> str | None:
    """Why step 2 cannot query the cluster of its test instance, else None."""
    if cluster is None:
        return "the restored cluster does not exist"
    if cluster.get("DBClusterArn") == config["source_cluster_arn"]:
        return f"cluster {cluster.get('DBClusterIdentifier')} is the source cluster"
    return secret_problem(cluster, config)


def first_value(records: list) -> Any:
    """The first column of the first row of ExecuteStatement's ``records``
    (each field is one of ``longValue``, ``doubleValue``, ``stringValue``,
    ``booleanValue``, ``isNull``...: RDS Data API reference, Field)."""
    if not records or not records[0]:
        return None
    field = records[0][0]
    if field.get("isNull"):
        return None
    for kind in ("longValue", "doubleValue", "stringValue", "booleanValue"):
        if kind in field:
            return field[kind]
    return None


def judge(records: list, minimum: int, database: str) -> str | None:
    """Why the check's result fails (``None``: it passes): its first value
    must be a number of at least ``minimum``."""
    value = first_value(records)
    try:
        number = float(value) if value is not None and not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None:
        return f"the check on database {database!r} returned {value!r}, not a number"
    if number < minimum:
        return (
            f"the check on database {database!r} returned {value}, less than the "
            f"minimum {minimum} (an empty or wrong database)"
        )
    return None


def tags_of(instance: Mapping) -> dict[str, str]:
    return {t.get("Key"): t.get("Value") for t in instance.get("TagList") or []}


class Validator:
    """One invocation's reads and writes; ``clients(name)`` returns a boto3 client."""

    def __init__(self, clients: Callable[[str], Any], config: Mapping[str, str]) -> None:
        self.clients = clients
        self.config = config

    def restored_cluster(self, arn: str) -> dict | None:
        try:
            found = self.clients("rds").describe_db_clusters(DBClusterIdentifier=arn)
        except Exception as error:  # botocore ClientError; botocore is not imported here
            code = getattr(error, "response", {}).get("Error", {}).get("Code")
            if code == NOT_FOUND:
                return None
            raise
        clusters = found.get("DBClusters") or []
        return clusters[0] if clusters else None

    def prepare(self, cluster: Mapping, instance_id: str, job_id: str) -> None:
        """Step 1: a managed secret, the Data API and a ``db.serverless``
        instance for the copy."""
        rds = self.clients("rds")
        changes = cluster_changes(cluster)
        if changes:
            rds.modify_db_cluster(
                DBClusterIdentifier=cluster["DBClusterIdentifier"], ApplyImmediately=True, **changes
            )
        if not cluster.get("HttpEndpointEnabled"):
            rds.enable_http_endpoint(ResourceArn=cluster["DBClusterArn"])
        rds.create_db_instance(
            DBInstanceIdentifier=instance_id,
            DBInstanceClass=INSTANCE_CLASS,
            Engine=cluster["Engine"],
            DBClusterIdentifier=cluster["DBClusterIdentifier"],
            PubliclyAccessible=False,
            Tags=[{"Key": RESTORE_JOB_TAG, "Value": job_id}],
        )

    def test_instance(self, instance_id: str) -> dict | None:
        found = self.clients("rds").describe_db_instances(DBInstanceIdentifier=instance_id)
        instances = found.get("DBInstances") or []
        return instances[0] if instances else None

    def query(self, cluster: Mapping) -> list:
        """The configured check through the Data API, as the copy's master user."""
        answer = self.clients("rds-data").execute_statement(
            resourceArn=cluster["DBClusterArn"],
            secretArn=cluster["MasterUserSecret"]["SecretArn"],
            database=self.config["database"],
            sql=self.config["check_sql"],
        )
        return answer.get("records") or []

    def remove(self, instance_id: str, job_id: str) -> None:
        """Deletes the test instance (an Aurora instance has no final snapshot
        of its own: the storage is the cluster's, which AWS Backup deletes).
        A refusal is alerted, not raised: the result is reported already."""
        try:
            self.clients("rds").delete_db_instance(DBInstanceIdentifier=instance_id)
        except Exception as error:
            self.alert(
                "Restore test instance left running",
                f"The restore test instance {instance_id} (restore job {job_id}) could not be "
                f"deleted: {error}. Delete it by hand: the restored cluster cannot be deleted "
                "while it has an instance. See docs/backup.md (Restore test).",
            )

    def report(self, job_id: str, status: str, message: str) -> None:
        self.clients("backup").put_restore_validation_result(
            RestoreJobId=job_id, ValidationStatus=status, ValidationStatusMessage=message
        )

    def alert(self, subject: str, message: str) -> None:
        self.clients("sns").publish(
            TopicArn=self.config["topic_arn"], Subject=subject[:100], Message=message
        )

    def fail(self, job_id: str, resource: str | None, message: str) -> dict:
        self.report(job_id, FAILED, message)
        self.alert(
            "Restore test FAILED",
            f"AWS Backup restore job {job_id} ({resource}) failed validation: {message}. "
            "See docs/backup.md (Restore test).",
        )
        return {"action": "reported", "status": FAILED, "message": message}


def on_restore_completed(event: Mapping, validator: Validator) -> dict:
    """Step 1: checks the restored cluster of ``event`` if this environment's
    restore testing plan started it, then creates what it needs to answer;
    reports FAILED with the reasons if anything is wrong or refused."""
    detail = event.get("detail") or {}
    plan = detail.get("restoreTestingPlanArn")
    if plan != validator.config["plan_arn"]:
        return {"action": "ignored", "reason": f"restore testing plan {plan!r} is not ours"}
    if detail.get("status") != COMPLETED:
        return {"action": "ignored", "reason": f"status {detail.get('status')!r}"}
    job_id = detail["restoreJobId"]
    created = detail.get("createdResourceArn")
    if not created:
        return validator.fail(
            job_id, created, "the restore job names no restored resource (createdResourceArn)"
        )
    try:
        cluster = validator.restored_cluster(created)
    except Exception as error:  # unreadable: fail closed, with the reason
        return validator.fail(job_id, created, f"the restored cluster could not be read: {error}")
    problems = validate(cluster, validator.config)
    if problems:
        return validator.fail(job_id, created, "; ".join(problems))
    assert cluster is not None  # validate() says so
    instance_id = instance_identifier(validator.config["instance_prefix"], job_id)
    try:
        validator.prepare(cluster, instance_id, job_id)
    except Exception as error:  # refused: the reason is the validation's message
        return validator.fail(
            job_id, created, f"the restored cluster could not be made to answer: {error}"
        )
    return {"action": "preparing", "instance": instance_id}


def on_instance_created(event: Mapping, validator: Validator) -> dict:
    """Step 2: reads the restored data through the test instance of
    ``event``, reports, and deletes the instance."""
    detail = event.get("detail") or {}
    instance_id = str(detail.get("SourceArn", "")).rsplit(":", 1)[-1]
    if detail.get("EventID") != INSTANCE_CREATED or not instance_id.startswith(
        validator.config["instance_prefix"]
    ):
        return {"action": "ignored", "reason": f"{detail.get('EventID')} of {instance_id!r}"}
    instance = validator.test_instance(instance_id)
    job_id = tags_of(instance or {}).get(RESTORE_JOB_TAG)
    if not job_id:
        # Not created by this validator: not ours to report on or delete.
        return {"action": "ignored", "reason": f"{instance_id} has no {RESTORE_JOB_TAG} tag"}
    assert instance is not None
    cluster_name = instance.get("DBClusterIdentifier")
    try:
        try:
            cluster = validator.restored_cluster(cluster_name) if cluster_name else None
            problem = copy_problem(cluster, validator.config)
            if problem is None:
                assert cluster is not None
                problem = judge(
                    validator.query(cluster),
                    int(validator.config["check_minimum"]),
                    validator.config["database"],
                )
        except Exception as error:  # a missing database, no Data API, refused: fail closed
            problem = f"the restored data could not be read: {error}"
        if problem:
            return validator.fail(job_id, cluster_name, problem)
        message = (
            f"{cluster_name}: the check on database {validator.config['database']!r} "
            "read the restored data"
        )
        validator.report(job_id, SUCCESSFUL, message)
        return {"action": "reported", "status": SUCCESSFUL, "message": message}
    finally:
        validator.remove(instance_id, job_id)


def dispatch(event: Mapping, validator: Validator) -> dict:
    """The step ``event`` starts: a restore job's state or an RDS instance event."""
    kind = (event.get("source"), event.get("detail-type"))
    if kind == (SOURCE, DETAIL_TYPE):
        return on_restore_completed(event, validator)
    if kind == (RDS_SOURCE, INSTANCE_EVENT):
        return on_instance_created(event, validator)
    raise ValueError(f"not an event of this function: {event.get('detail-type')!r}")


@functools.cache
def _client(name: str) -> Any:
    import boto3  # Lambda's Python runtime ships it

    return boto3.client(name)


def handler(event: Mapping, context: object = None) -> dict:
    """Lambda's entry point."""
    result = dispatch(event, Validator(_client, settings()))
    print(json.dumps(result))
    return result
