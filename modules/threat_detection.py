"""GuardDuty and Security Hub of an account and region (PCI DSS 10.4.1.1,
11.5.1: automated review and intrusion detection)."""

from __future__ import annotations

from dataclasses import dataclass

from framework import Construct
from framework.aws import aws

#: Security Hub's PCI DSS standard (Security Hub user guide, "PCI DSS v4.0.1").
PCI_DSS_STANDARD = "standards/pci-dss/v/4.0.1"
#: GuardDuty features: ECS (Fargate) runtime monitoring with the agent
#: managed by GuardDuty, and RDS login activity monitoring.
GUARDDUTY_FEATURES = {
    "RUNTIME_MONITORING": ("ECS_FARGATE_AGENT_MANAGEMENT",),
    "RDS_LOGIN_EVENTS": (),
}


@dataclass(frozen=True, kw_only=True)
class ThreatDetectionProps:
    partition: str
    region: str


class ThreatDetection(Construct):
    """A GuardDuty detector with ECS runtime and RDS protection, and Security
    Hub with the PCI DSS standard only (no default standards)."""

    def __init__(self, scope: Construct, construct_id: str, props: ThreatDetectionProps) -> None:
        super().__init__(scope, construct_id)
        self.detector = aws.guardduty_detector.GuarddutyDetector(
            self, "guardduty", enable=True, finding_publishing_frequency="FIFTEEN_MINUTES"
        )
        gf = aws.guardduty_detector_feature
        for feature, extras in GUARDDUTY_FEATURES.items():
            gf.GuarddutyDetectorFeature(
                self,
                f"guardduty-{feature.lower().replace('_', '-')}",
                detector_id=self.detector.id,
                name=feature,
                status="ENABLED",
                additional_configuration=[
                    gf.GuarddutyDetectorFeatureAdditionalConfiguration(name=extra, status="ENABLED")
                    for extra in extras
                ]
                or None,
            )
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
