"""A Lambda function packaged from a Python package of this repository, the
way the release check (D55) and the restore validator (D60) are built: the
package's ``*.py`` files zipped at synthesis (cdktf ``TerraformAsset``, no
download), ``python3.13``, X-Ray, a KMS-encrypted log group with a finite
retention, the alarm topic as dead-letter target, and a role of its own.

``FunctionConstruct`` creates them under the ids ``log-group``, ``role``,
``policy``, ``code`` and ``function`` (the release check's first ids:
renaming one would replace a resource); ``invoke_on`` lets an EventBridge
rule invoke it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from framework import AssetType, Construct, TerraformAsset
from framework.aws import aws
from modules import iam

#: Lambda's Python runtime (ships boto3; supported until 2029: Lambda
#: developer guide, "Lambda runtimes",
#: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).
RUNTIME = "python3.13"
HANDLER = "handler.handler"
#: 1980-01-02 UTC: the staged files' time (a zip cannot record earlier).
FIXED_MTIME = 315619200


def staged_source(source: Path) -> str:
    """A copy of ``source``'s Python files alone: the asset's hash is its
    content's, and ``__pycache__`` left by the tests must not change it. The
    copies carry a fixed time, which the archive records, so the same code
    gives the same archive byte for byte (``make other-python`` compares
    ``cdktf.out``)."""
    staging = Path(tempfile.mkdtemp(prefix=f"{source.name.replace('_', '-')}-"))
    # The synthesis copies it into cdktf.out; nothing needs it after the process.
    atexit.register(shutil.rmtree, staging, ignore_errors=True)
    for path in sorted(source.glob("*.py")):
        shutil.copyfile(path, staging / path.name)
        os.utime(staging / path.name, (FIXED_MTIME, FIXED_MTIME))
    return str(staging)


def tracing_and_logging_statements(log_group_arn: str) -> list[dict]:
    """What every such function needs: its own log streams and X-Ray."""
    return [
        {
            "Sid": "WriteItsLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:*",
        },
        {
            # Active tracing (X-Ray does not support resource-level permissions).
            "Sid": "Traces",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        },
    ]


def publish_to_topic_statements(topic_arn: str, topic_key_arn: str) -> list[dict]:
    """Publishing to the encrypted alarm topic (alerts and the dead-letter
    target): ``sns:Publish`` on it and the key for its encryption context
    only (SNS developer guide, "Key management": the publisher needs
    GenerateDataKey* and Decrypt,
    https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html)."""
    return [
        {
            "Sid": "AlertTheAlarmTopic",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": topic_arn,
        },
        {
            "Sid": "EncryptForTheAlarmTopic",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": topic_key_arn,
            "Condition": {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}},
        },
    ]


class FunctionHome(Protocol):
    """What every such function's props name the same way: the alarm topic
    (alerts and dead-letter target) and its key, the logs key and
    retention, the account."""

    @property
    def topic_arn(self) -> str: ...
    @property
    def topic_key_arn(self) -> str: ...
    @property
    def logs_key_arn(self) -> str: ...
    @property
    def log_retention_days(self) -> int: ...
    @property
    def account_id(self) -> str: ...


@dataclass(frozen=True, kw_only=True)
class PythonFunctionProps:
    """``source``: the package directory (its ``handler.handler`` is the
    entry point). ``statements``: the role's own statements; the alarm
    topic's, the logs' and X-Ray's are added. ``policy_name``: the inline
    policy's name."""

    source: Path
    function_name: str
    role_name: str
    policy_name: str
    description: str
    role_description: str
    statements: Sequence[dict]
    environment: Mapping[str, str]
    timeout_seconds: int = 60
    memory_mb: int = 256


class FunctionConstruct(Construct):
    """The function, its role, log group and archive; subclasses add what
    invokes it."""

    def __init__(
        self, scope: Construct, construct_id: str, home: FunctionHome, props: PythonFunctionProps
    ) -> None:
        super().__init__(scope, construct_id)
        if len(props.function_name) > 64:
            raise ValueError(
                f"function_name: {props.function_name!r} has {len(props.function_name)} "
                "characters; Lambda allows 64 (shorten the environment prefix)"
            )
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "log-group",
            name=f"/aws/lambda/{props.function_name}",
            retention_in_days=home.log_retention_days,
            kms_key_id=home.logs_key_arn,
        )
        self.role = iam.service_role(
            self,
            "role",
            name=props.role_name,
            service="lambda.amazonaws.com",
            source_account=home.account_id,
            description=props.role_description,
            inline_policy=(
                "policy",
                props.policy_name,
                [
                    *props.statements,
                    *publish_to_topic_statements(home.topic_arn, home.topic_key_arn),
                    *tracing_and_logging_statements(self.log_group.arn),
                ],
            ),
        )
        self.code = TerraformAsset(
            self, "code", path=staged_source(props.source), type=AssetType.ARCHIVE
        )
        self.function = aws.lambda_function.LambdaFunction(
            self,
            "function",
            function_name=props.function_name,
            description=props.description,
            role=self.role.arn,
            runtime=RUNTIME,
            handler=HANDLER,
            filename=self.code.path,
            # The content hash of the staged files: a change of the code
            # updates the function, a new synthesis of the same code does not.
            source_code_hash=self.code.asset_hash,
            timeout=props.timeout_seconds,
            memory_size=props.memory_mb,
            environment={"variables": dict(props.environment)},
            tracing_config={"mode": "Active"},
            # EventBridge invokes asynchronously: an event the function could
            # not handle after Lambda's retries reaches the alarm topic.
            dead_letter_config={"target_arn": home.topic_arn},
            logging_config={"log_format": "Text", "log_group": self.log_group.name},
            depends_on=[self.log_group],
        )


def invoke_on(scope: Construct, suffix: str, rule: Any, function: Any) -> None:
    """``rule`` invokes ``function``; only that rule may (``aws:SourceArn``
    of the Lambda permission)."""
    aws.cloudwatch_event_target.CloudwatchEventTarget(
        scope, f"target-{suffix}", rule=rule.name, arn=function.arn
    )
    aws.lambda_permission.LambdaPermission(
        scope,
        f"permission-{suffix}",
        statement_id=f"EventBridge-{suffix}",
        action="lambda:InvokeFunction",
        function_name=function.function_name,
        principal="events.amazonaws.com",
        source_arn=rule.arn,
    )
