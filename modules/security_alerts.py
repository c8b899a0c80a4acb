"""Alerts on audit tampering and on GuardDuty and Security Hub findings
(PCI DSS 10.7.2: failures of critical security controls detected and
alerted; 10.4.1.1, 11.5.1: findings reach people; docs/decisions.md D52).

EventBridge rules on the account's default event bus publish to a
KMS-encrypted SNS topic of their own, subscribed by e-mail:

- audit tampering, from the CloudTrail management events EventBridge
  receives as ``AWS API Call via CloudTrail``: the calls in
  ``modules.pipeline_roles.AUDIT_TAMPERING_ACTIONS`` (the same table the
  deploy role and the workload boundary deny, so the two cannot drift), the
  KMS ones on this account's keys, and bucket-policy and logging changes on
  the audit and AWS Config buckets;
- GuardDuty findings at or above a severity, and Security Hub findings at
  or above the same label that are new and active (GuardDuty's own
  findings, which Security Hub imports too, alert once, from GuardDuty);
- IAM Access Analyzer's active findings on IAM roles: a role whose trust
  policy admits a principal outside the account (D66; the deploy role may
  create bounded roles, and IAM has no condition on a trust policy's
  content, D49).
- writes on the release check's and restore validator's functions and on
  their and the backup alerts' EventBridge rules (D75): the deploy role
  applies them, so it may change them; every change, a reviewed apply's
  included, reaches the security team.

EventBridge sees the events of its own region only: these rules watch the
baseline's region (the trail's home region, where the audit and AWS Config
buckets and the baseline's keys live).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from framework import Construct
from framework.aws import aws
from modules import iam
from modules.email_subscriptions import subscribe_emails
from modules.kms import ManagedKey, ManagedKeyProps
from modules.pipeline_roles import AUDIT_BUCKET_TAMPERING_ACTIONS, AUDIT_TAMPERING_ACTIONS

#: detail-type of CloudTrail management events on the default bus (EventBridge
#: user guide, "AWS service events delivered via AWS CloudTrail",
#: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html).
CLOUDTRAIL_API_CALL = "AWS API Call via CloudTrail"
#: detail-types of findings (EventBridge events reference, "Amazon GuardDuty
#: events", https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-guardduty.html;
#: Security Hub user guide, "EventBridge event formats for Security Hub CSPM",
#: https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-cwe-event-formats.html).
GUARDDUTY_FINDING = "GuardDuty Finding"
SECURITY_HUB_FINDING = "Security Hub Findings - Imported"
#: The lowest numeric GuardDuty severity of each label (GuardDuty user guide,
#: "Severity levels for GuardDuty findings",
#: https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings-severity.html:
#: Low 1.0-3.9, Medium 4.0-6.9, High 7.0-8.9, Critical 9.0-10.0).
GUARDDUTY_SEVERITY_FLOORS = {"LOW": 1.0, "MEDIUM": 4.0, "HIGH": 7.0, "CRITICAL": 9.0}
#: Security Hub ``Severity.Label`` values, lowest first (Security Hub API
#: reference, "Severity",
#: https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_Severity.html).
SECURITY_HUB_LABELS = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
#: detail-type of IAM Access Analyzer's findings on the default bus
#: (EventBridge events reference, "AWS Identity and Access Management Access
#: Analyzer events", https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-access-analyzer.html).
ACCESS_ANALYZER_FINDING = "Access Analyzer Finding"
#: ``resourceType`` of a role finding (IAM Access Analyzer API reference,
#: "Finding", https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_Finding.html).
IAM_ROLE_RESOURCE_TYPE = "AWS::IAM::Role"
#: ASFF ``ProductName`` of the findings GuardDuty sends to Security Hub
#: (Security Hub user guide, "Amazon GuardDuty integration").
GUARDDUTY_PRODUCT_NAME = "GuardDuty"


#: Lambda calls that change what a function runs, or who invokes it and
#: how (Service Authorization Reference, AWS Lambda,
#: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html).
#: Matched as prefixes: CloudTrail may record a Lambda call with its API
#: version after the name (``UpdateFunctionCode20150331v2``; Lambda developer
#: guide, "Logging AWS Lambda API calls using AWS CloudTrail",
#: https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html).
CHECK_FUNCTION_WRITES = (
    "AddPermission",
    "CreateFunctionUrlConfig",
    "DeleteFunction",
    "PutFunctionConcurrency",
    "RemovePermission",
    "UpdateFunctionCode",
    "UpdateFunctionConfiguration",
    "UpdateFunctionUrlConfig",
)
#: EventBridge calls that disable, delete or re-aim a rule, by the request
#: field that names the rule (EventBridge API reference: PutRule,
#: DisableRule and DeleteRule take ``Name``, PutTargets and RemoveTargets
#: ``Rule``; https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html).
#: PutRule can itself set ``State`` DISABLED, so denying DisableRule alone
#: would not keep a rule on.
CHECK_RULE_WRITES = {
    "name": ("DeleteRule", "DisableRule", "PutRule"),
    "rule": ("PutTargets", "RemoveTargets"),
}


def _event_source(service: str) -> tuple[str, str]:
    """(EventBridge ``source``, CloudTrail ``eventSource``) of a service."""
    return f"aws.{service}", f"{service}.amazonaws.com"


def tampering_pattern() -> dict:
    """CloudTrail, AWS Config, GuardDuty and Security Hub calls that stop or
    blind them: any call of these names in this account is tampering."""
    services = sorted(s for s in AUDIT_TAMPERING_ACTIONS if s != "kms")
    return {
        "source": [_event_source(s)[0] for s in services],
        "detail-type": [CLOUDTRAIL_API_CALL],
        "detail": {
            "eventSource": [_event_source(s)[1] for s in services],
            "eventName": sorted(a for s in services for a in AUDIT_TAMPERING_ACTIONS[s]),
        },
    }


def key_tampering_pattern(partition: str, region: str, account_id: str) -> dict:
    """Disabling, scheduling the deletion of, or re-writing the policy of a
    key of this account in this region (the key's ARN is in the event's
    ``resources``)."""
    source, event_source = _event_source("kms")
    return {
        "source": [source],
        "detail-type": [CLOUDTRAIL_API_CALL],
        "detail": {
            "eventSource": [event_source],
            "eventName": sorted(AUDIT_TAMPERING_ACTIONS["kms"]),
            "resources": {"ARN": [{"prefix": f"arn:{partition}:kms:{region}:{account_id}:key/"}]},
        },
    }


def bucket_tampering_pattern(bucket_names: Sequence[str]) -> dict:
    """Policy and logging changes on the audit and AWS Config buckets."""
    source, event_source = _event_source("s3")
    return {
        "source": [source],
        "detail-type": [CLOUDTRAIL_API_CALL],
        "detail": {
            "eventSource": [event_source],
            "eventName": sorted(AUDIT_BUCKET_TAMPERING_ACTIONS),
            "requestParameters": {"bucketName": sorted(bucket_names)},
        },
    }


def guardduty_findings_pattern(severity: str) -> dict:
    """GuardDuty findings of ``severity`` (a label) or worse."""
    return {
        "source": ["aws.guardduty"],
        "detail-type": [GUARDDUTY_FINDING],
        "detail": {"severity": [{"numeric": [">=", GUARDDUTY_SEVERITY_FLOORS[severity]]}]},
    }


def security_hub_findings_pattern(severity: str) -> dict:
    """New, active Security Hub findings of ``severity`` or worse, other than
    GuardDuty's (they alert from GuardDuty's own rule)."""
    labels = list(SECURITY_HUB_LABELS[SECURITY_HUB_LABELS.index(severity) :])
    return {
        "source": ["aws.securityhub"],
        "detail-type": [SECURITY_HUB_FINDING],
        "detail": {
            "findings": {
                "Severity": {"Label": labels},
                "Workflow": {"Status": ["NEW"]},
                "RecordState": ["ACTIVE"],
                "ProductName": [{"anything-but": GUARDDUTY_PRODUCT_NAME}],
            }
        },
    }


def access_analyzer_findings_pattern() -> dict:
    """Active IAM Access Analyzer findings on IAM roles: a trust policy
    admitting a principal outside the account (the analyzer's zone of
    trust). ``status`` ACTIVE: a new finding, or one re-opened; ARCHIVED and
    RESOLVED are a person's triage or the trust removed. ``isDeleted``
    false: a finding deleted with its analyzer keeps its status (IAM user
    guide, "Monitoring AWS IAM Access Analyzer with Amazon EventBridge",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-eventbridge.html).
    Roles only: the key policies admit no AWSServiceRoleForAccessAnalyzer
    read, so every key has an ACTIVE ACCESS_DENIED error finding; other
    resource types reach Security Hub (cross-account access as LOW) and
    alert by its rule's severity."""
    return {
        "source": ["aws.access-analyzer"],
        "detail-type": [ACCESS_ANALYZER_FINDING],
        "detail": {
            "status": ["ACTIVE"],
            "isDeleted": [False],
            "resourceType": [IAM_ROLE_RESOURCE_TYPE],
        },
    }


def check_function_writes_pattern(function_names: Sequence[str]) -> dict:
    """Changes to the functions named (each as a name, a partial ARN
    ``<account>:function:<name>`` or an ARN: Lambda takes all three, Lambda
    API reference, UpdateFunctionCode,
    https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionCode.html)."""
    return {
        "source": ["aws.lambda"],
        "detail-type": [CLOUDTRAIL_API_CALL],
        "detail": {
            "eventSource": ["lambda.amazonaws.com"],
            "eventName": [{"prefix": name} for name in CHECK_FUNCTION_WRITES],
            "requestParameters": {"functionName": sorted(function_names)},
        },
    }


def check_rule_writes_pattern(field: str, rule_prefixes: Sequence[str]) -> dict:
    """``CHECK_RULE_WRITES[field]`` on a rule whose name starts with one of
    ``rule_prefixes``."""
    return {
        "source": ["aws.events"],
        "detail-type": [CLOUDTRAIL_API_CALL],
        "detail": {
            "eventSource": ["events.amazonaws.com"],
            "eventName": list(CHECK_RULE_WRITES[field]),
            "requestParameters": {field: [{"prefix": p} for p in sorted(rule_prefixes)]},
        },
    }


@dataclass(frozen=True, kw_only=True)
class SecurityAlertsProps:
    """``name``: the topic and its key's alias; each rule is
    ``<name>-<kind>`` (``config.naming.security_alerts_name``).
    ``account_id``/``partition``/``region``: where they live (tokens are
    fine). ``audit_bucket_names``: buckets whose policy and logging changes
    alert. ``finding_severity``: the lowest finding severity that alerts
    (``config.model.FINDING_ALERT_SEVERITIES``). ``emails``: subscribed
    addresses; left out: none. ``administrator_role_names``/
    ``protected_role_names``/``reader_role_names``: the key's
    administrators, key-policy administrators and configuration readers
    (``modules.kms.ManagedKeyProps``). ``check_function_names``: the
    release check's and restore validator's functions in every form a
    caller may name them (``release_check_function_names``);
    ``check_rule_prefixes``: name prefixes of their and the backup alerts'
    rules (D75). Neither may be empty: EventBridge refuses an empty list."""

    name: str
    account_id: str
    partition: str
    region: str
    audit_bucket_names: Sequence[str]
    finding_severity: str
    check_function_names: Sequence[str]
    check_rule_prefixes: Sequence[str]
    emails: Sequence[str] = ()
    administrator_role_names: tuple[str, ...] = ()
    protected_role_names: tuple[str, ...] = ()
    reader_role_names: tuple[str, ...] = ()


#: Rule kind -> what it alerts on (its description).
RULE_KINDS = {
    "tampering": "Audit trail, AWS Config, GuardDuty or Security Hub stopped or changed",
    "key-tampering": "A KMS key of the account disabled, scheduled for deletion or re-policied",
    "bucket-tampering": "Policy or logging of the audit or AWS Config bucket changed",
    "guardduty": "GuardDuty findings at or above the configured severity",
    "security-hub": "New Security Hub findings at or above the configured severity",
    "access-analyzer": "A role trusted outside the account (IAM Access Analyzer finding)",
    "check-functions": "The release check or restore validator function changed",
    "check-rules": "A release check, restore validator or backup alert rule changed",
    "check-targets": "A release check, restore validator or backup alert rule re-aimed",
}


def release_check_function_names(
    names: Sequence[str], partition: str, region: str, account_id: str
) -> list[str]:
    """Each function name as a name, a partial ARN and an ARN."""
    return [
        form
        for name in names
        for form in (
            name,
            f"{account_id}:function:{name}",
            f"arn:{partition}:lambda:{region}:{account_id}:function:{name}",
        )
    ]


def patterns(props: SecurityAlertsProps) -> dict[str, dict]:
    """Rule kind -> its event pattern."""
    return {
        "tampering": tampering_pattern(),
        "key-tampering": key_tampering_pattern(props.partition, props.region, props.account_id),
        "bucket-tampering": bucket_tampering_pattern(props.audit_bucket_names),
        "guardduty": guardduty_findings_pattern(props.finding_severity),
        "security-hub": security_hub_findings_pattern(props.finding_severity),
        "access-analyzer": access_analyzer_findings_pattern(),
        "check-functions": check_function_writes_pattern(
            release_check_function_names(
                props.check_function_names, props.partition, props.region, props.account_id
            )
        ),
        "check-rules": check_rule_writes_pattern("name", props.check_rule_prefixes),
        "check-targets": check_rule_writes_pattern("rule", props.check_rule_prefixes),
    }


class SecurityAlerts(Construct):
    """The alert topic, its key, its e-mail subscriptions and one
    EventBridge rule per ``RULE_KINDS`` entry targeting it."""

    def __init__(self, scope: Construct, construct_id: str, props: SecurityAlertsProps) -> None:
        super().__init__(scope, construct_id)
        if not props.check_function_names or not props.check_rule_prefixes:
            raise ValueError("check_function_names and check_rule_prefixes: none given")
        if props.finding_severity not in GUARDDUTY_SEVERITY_FLOORS:
            raise ValueError(
                f"finding_severity: {props.finding_severity!r} is not allowed; allowed: "
                + ", ".join(GUARDDUTY_SEVERITY_FLOORS)
            )
        regional = f"{props.region}:{props.account_id}"
        # Spelled, not referenced: the key policy names the topic and the
        # topic names the key (a reference would be a cycle).
        topic_arn = f"arn:{props.partition}:sns:{regional}:{props.name}"
        rule_arns = [
            f"arn:{props.partition}:events:{regional}:rule/{props.name}-{kind}"
            for kind in RULE_KINDS
        ]
        self.key = ManagedKey(
            self,
            "key",
            ManagedKeyProps(
                alias=props.name,
                description=f"Encrypts the security alert topic {props.name}",
                account_id=props.account_id,
                partition=props.partition,
                region=props.region,
                administrator_role_names=props.administrator_role_names,
                protected_role_names=props.protected_role_names,
                reader_role_names=props.reader_role_names,
                extra_statements=(
                    {
                        # EventBridge sends no aws:SourceArn to KMS when it
                        # publishes to an encrypted topic: SNS names the
                        # topic in the encryption context (SNS developer
                        # guide, "Encryption at rest", key policy for
                        # EventBridge, https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
                        "Sid": "EventBridgePublishesToTheAlertTopic",
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                        "Resource": "*",
                        "Condition": {
                            "StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}
                        },
                    },
                ),
            ),
        )
        self.topic = aws.sns_topic.SnsTopic(
            self, "topic", name=props.name, kms_master_key_id=self.key.arn
        )
        aws.sns_topic_policy.SnsTopicPolicy(
            self,
            "policy",
            arn=self.topic.arn,
            policy=iam.document(
                {
                    "Sid": "TheAlertRulesPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    # EventBridge user guide, "Amazon SNS permissions":
                    # aws:SourceArn is the rule's ARN.
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns}},
                },
                iam.deny_insecure_transport("sns:Publish", topic_arn),
            ),
        )
        subscribe_emails(self, self.topic.arn, props.emails)
        self.rules = {}
        for kind, pattern in patterns(props).items():
            rule = aws.cloudwatch_event_rule.CloudwatchEventRule(
                self,
                f"rule-{kind}",
                name=f"{props.name}-{kind}",
                description=RULE_KINDS[kind],
                event_pattern=json.dumps(pattern),
            )
            aws.cloudwatch_event_target.CloudwatchEventTarget(
                self, f"target-{kind}", rule=rule.name, arn=self.topic.arn
            )
            self.rules[kind] = rule
