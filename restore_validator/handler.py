"""Validates a restore test of the database and reports the result to AWS
Backup (docs/decisions.md D60).

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

The check: the restored cluster exists (DescribeDBClusters accepts its
ARN, RDS API reference,
https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBClusters.html),
is ``available``, encrypted, and was restored where the restore metadata
overrides put it (the database's subnet group, the closed restore-test
security group alone: modules/backup.py). Reading data needs an instance
(AWS Backup restores an Aurora cluster without one) and credentials: not
done here (D60). A ``FAILED`` result is also sent to the alarm topic.

Only the standard library and boto3 (shipped by Lambda's Python runtime);
boto3 is imported when a client is first needed, so ``validate`` is pure.
"""

from __future__ import annotations

import functools
import json
import os
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


def settings(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """What the construct sets (``modules/restore_validator.py``)."""
    environ = os.environ if environ is None else environ
    return {
        "plan_arn": environ["RESTORE_VALIDATOR_PLAN_ARN"],
        "subnet_group": environ["RESTORE_VALIDATOR_SUBNET_GROUP"],
        "security_group": environ["RESTORE_VALIDATOR_SECURITY_GROUP"],
        "topic_arn": environ["RESTORE_VALIDATOR_TOPIC_ARN"],
    }


def validate(cluster: Mapping | None, config: Mapping[str, str]) -> list[str]:
    """Why the restored cluster (DescribeDBClusters' ``DBClusters[0]``) does
    not pass; empty: it passes."""
    if cluster is None:
        return ["the restored cluster does not exist"]
    problems = []
    name = cluster.get("DBClusterIdentifier", "?")
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

    def report(self, job_id: str, status: str, message: str) -> None:
        self.clients("backup").put_restore_validation_result(
            RestoreJobId=job_id, ValidationStatus=status, ValidationStatusMessage=message
        )

    def alert(self, subject: str, message: str) -> None:
        self.clients("sns").publish(
            TopicArn=self.config["topic_arn"], Subject=subject[:100], Message=message
        )


def on_restore_completed(event: Mapping, validator: Validator) -> dict:
    """Validates the restore job of ``event`` if this environment's restore
    testing plan started it; reports SUCCESSFUL or FAILED with the reasons."""
    if event.get("source") != SOURCE or event.get("detail-type") != DETAIL_TYPE:
        raise ValueError(f"not an event of this function: {event.get('detail-type')!r}")
    detail = event.get("detail") or {}
    plan = detail.get("restoreTestingPlanArn")
    if plan != validator.config["plan_arn"]:
        return {"action": "ignored", "reason": f"restore testing plan {plan!r} is not ours"}
    if detail.get("status") != COMPLETED:
        return {"action": "ignored", "reason": f"status {detail.get('status')!r}"}
    job_id = detail["restoreJobId"]
    created = detail.get("createdResourceArn")
    if not created:
        problems = ["the restore job names no restored resource (createdResourceArn)"]
    else:
        try:
            problems = validate(validator.restored_cluster(created), validator.config)
        except Exception as error:  # unreadable: fail closed, with the reason
            problems = [f"the restored cluster could not be read: {error}"]
    status = FAILED if problems else SUCCESSFUL
    message = "; ".join(problems) if problems else f"{created} is available where expected"
    validator.report(job_id, status, message)
    if problems:
        validator.alert(
            "Restore test FAILED",
            f"AWS Backup restore job {job_id} ({created}) failed validation: {message}. "
            "See docs/backup.md (Restore test).",
        )
    return {"action": "reported", "status": status, "message": message}


@functools.cache
def _client(name: str) -> Any:
    import boto3  # Lambda's Python runtime ships it

    return boto3.client(name)


def handler(event: Mapping, context: object = None) -> dict:
    """Lambda's entry point."""
    result = on_restore_completed(event, Validator(_client, settings()))
    print(json.dumps(result))
    return result
