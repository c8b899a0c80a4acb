"""GuardDuty, Security Hub and IAM Access Analyzer of an account and region
(PCI DSS 10.4.1.1, 11.5.1: automated review and intrusion detection; 7.2.x:
access granted outside the account is detected, D66)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from framework import Construct
from framework.aws import aws

#: Security Hub's PCI DSS standard (Security Hub user guide, "PCI DSS v4.0.1").
PCI_DSS_STANDARD = "standards/pci-dss/v/4.0.1"
#: GuardDuty features -> their additional configurations and status.
#: RUNTIME_MONITORING lists all three GuardDuty returns: the provider stores
#: every one in a ForceNew set, so one left out replaces the feature on every
#: plan (PAY-GD-001). Its agents stay off (docs/decisions.md D43): the
#: Fargate sidecar is pulled by the task execution role from GuardDuty's own
#: ECR repository in another account, which the execution roles' ECR scope,
#: the ECR endpoint policies (aws:ResourceAccount) and the tasks' egress
#: refuse, and no EKS cluster or EC2 instance runs here. The feature stays
#: enabled: turning an agent on is then the only change once its
#: prerequisites are met (the organization's, or a follow-up).
GUARDDUTY_FEATURES: dict[str, dict[str, str]] = {
    "RUNTIME_MONITORING": {
        "EKS_ADDON_MANAGEMENT": "DISABLED",
        "ECS_FARGATE_AGENT_MANAGEMENT": "DISABLED",
        "EC2_AGENT_MANAGEMENT": "DISABLED",
    },
    "RDS_LOGIN_EVENTS": {},
}


#: Most values one criterion of an archive rule's filter may hold (IAM
#: Access Analyzer API reference, Criterion:
#: https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_Criterion.html).
MAX_CRITERION_VALUES = 20


@dataclass(frozen=True, kw_only=True)
class ExpectedTrust:
    """Trusts that are meant: the roles ``role_arns`` (exact ARNs, never a
    pattern) assumable by the federated principal ``federated_principal``
    (an identity provider's ARN). Their findings are archived by the rule
    ``rule_name``; the same provider trusted by any other role, or another
    principal trusted by these roles, still alerts (D66)."""

    rule_name: str
    role_arns: tuple[str, ...]
    federated_principal: str

    def __post_init__(self) -> None:
        if not self.role_arns or len(self.role_arns) > MAX_CRITERION_VALUES:
            raise ValueError(
                f"ExpectedTrust {self.rule_name}: {len(self.role_arns)} role ARNs given; "
                f"allowed: 1 to {MAX_CRITERION_VALUES} (one criterion of an archive rule)"
            )
        wild = [v for v in (*self.role_arns, self.federated_principal) if "*" in v or "?" in v]
        if wild:
            raise ValueError(
                f"ExpectedTrust {self.rule_name}: {wild} given; allowed: exact ARNs only "
                "(an archive rule's eq matches the value itself)"
            )


@dataclass(frozen=True, kw_only=True)
class ThreatDetectionProps:
    """``guardduty``/``security_hub``: build each (False: the organization
    provides it, docs/decisions.md D50). ``access_analyzer_name``: an
    external access analyzer of that name with the account as its zone of
    trust; left out: none (the organization provides it, D66).
    ``expected_trusts``: an archive rule of that analyzer for each (none
    without the analyzer: an organization's analyzer is the organization's
    to tune); left out: every finding stays active."""

    partition: str
    region: str
    guardduty: bool = True
    security_hub: bool = True
    access_analyzer_name: str | None = None
    expected_trusts: tuple[ExpectedTrust, ...] = ()


class ThreatDetection(Construct):
    """A GuardDuty detector with Runtime Monitoring (no agent managed yet:
    D43) and RDS login protection, and Security Hub with the PCI DSS
    standard only (no default standards)."""

    def __init__(self, scope: Construct, construct_id: str, props: ThreatDetectionProps) -> None:
        super().__init__(scope, construct_id)
        self.detector: Any = None
        self.features: dict[str, Any] = {}
        self.security_hub: Any = None
        self.access_analyzer: Any = None
        self.archive_rules: dict[str, Any] = {}
        if props.guardduty:
            self._guardduty()
        if props.security_hub:
            self._security_hub(props)
        if props.access_analyzer_name is not None:
            # Type ACCOUNT: the account is the zone of trust, so a role
            # trust policy naming another account (or a federated or
            # anonymous principal) is a finding; ORGANIZATION would need the
            # management or delegated administrator account (IAM user
            # guide, "Create an IAM Access Analyzer external access
            # analyzer", https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-create-external.html;
            # findings for IAM roles: https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-resources.html#access-analyzer-iam-role).
            self.access_analyzer = aws.accessanalyzer_analyzer.AccessanalyzerAnalyzer(
                self, "access-analyzer", analyzer_name=props.access_analyzer_name, type="ACCOUNT"
            )
            for trust in props.expected_trusts:
                self.archive_rules[trust.rule_name] = self._archive_rule(trust)

    def _archive_rule(self, trust: ExpectedTrust) -> Any:
        """Archives a new or updated finding only when every criterion
        matches (criteria are ANDed, the values of one criterion ORed): the
        resource is one of the roles AND the federated principal is the
        provider (filter keys ``resource`` and ``principal.Federated``, IAM
        user guide, "IAM Access Analyzer filter keys",
        https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-filter-keys.html;
        archive rules: https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-archive-rules.html).
        Never the principal alone (a new role trusting the provider must
        alert) nor the resource type alone."""
        rule = aws.accessanalyzer_archive_rule
        return rule.AccessanalyzerArchiveRule(
            self,
            f"expected-trust-{trust.rule_name}",
            analyzer_name=self.access_analyzer.analyzer_name,
            rule_name=trust.rule_name,
            filter=[
                rule.AccessanalyzerArchiveRuleFilter(criteria="resource", eq=list(trust.role_arns)),
                rule.AccessanalyzerArchiveRuleFilter(
                    criteria="principal.Federated", eq=[trust.federated_principal]
                ),
            ],
        )

    def _guardduty(self) -> None:
        self.detector = aws.guardduty_detector.GuarddutyDetector(
            self, "guardduty", enable=True, finding_publishing_frequency="FIFTEEN_MINUTES"
        )
        gf = aws.guardduty_detector_feature
        for feature, extras in GUARDDUTY_FEATURES.items():
            self.features[feature] = gf.GuarddutyDetectorFeature(
                self,
                f"guardduty-{feature.lower().replace('_', '-')}",
                detector_id=self.detector.id,
                name=feature,
                status="ENABLED",
                additional_configuration=[
                    gf.GuarddutyDetectorFeatureAdditionalConfiguration(name=extra, status=status)
                    for extra, status in extras.items()
                ]
                or None,
            )

    def _security_hub(self, props: ThreatDetectionProps) -> None:
        self.security_hub = aws.securityhub_account.SecurityhubAccount(
            self,
            "security-hub",
            enable_default_standards=False,
            control_finding_generator="SECURITY_CONTROL",
            auto_enable_controls=True,
        )
        aws.securityhub_standards_subscription.SecurityhubStandardsSubscription(
            self,
            "pci-dss",
            standards_arn=f"arn:{props.partition}:securityhub:{props.region}::{PCI_DSS_STANDARD}",
            depends_on=[self.security_hub],
        )
