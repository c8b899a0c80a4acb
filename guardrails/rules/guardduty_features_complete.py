"""PAY-GD-001: a GuardDuty detector feature declares every additional
configuration GuardDuty returns for it.

The provider's ``aws_guardduty_detector_feature`` keeps
``additional_configuration`` as a set whose ``name`` is ForceNew, and its
Read stores every additional configuration GetDetector returns
(hashicorp/terraform-provider-aws internal/service/guardduty/detector_feature.go:
``d.Set("additional_configuration", flattenDetectorAdditionalConfigurationResults(...))``).
For RUNTIME_MONITORING GuardDuty returns three, whatever was sent: a
declaration that leaves one out plans a replacement on every run, so a
reviewer learns to wave the plan through.
"""

from __future__ import annotations

from guardrails.rules import tf
from guardrails.rules.model import Finding, Rule, RuleContext

FEATURE = "aws_guardduty_detector_feature"
#: Feature -> the additional configurations GuardDuty returns for it
#: (GuardDuty API reference, DetectorAdditionalConfiguration:
#: https://docs.aws.amazon.com/guardduty/latest/APIReference/API_DetectorAdditionalConfiguration.html;
#: docs/decisions.md D43).
RETURNED_ADDITIONAL_CONFIGURATIONS: dict[str, tuple[str, ...]] = {
    "RUNTIME_MONITORING": (
        "EKS_ADDON_MANAGEMENT",
        "ECS_FARGATE_AGENT_MANAGEMENT",
        "EC2_AGENT_MANAGEMENT",
    ),
}


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    findings = []
    for _, name, body in tf.each(stack, FEATURE):
        returned = RETURNED_ADDITIONAL_CONFIGURATIONS.get(str(body.get("name")))
        if returned is None:
            continue
        where = tf.address(FEATURE, name)
        declared_value = body.get("additional_configuration")
        if tf.is_expression(declared_value):
            findings.append(
                RULE.finding(
                    where,
                    f"additional_configuration is {declared_value!r}, which cannot be checked "
                    "at synthesis",
                    f"write one additional_configuration block for each of {', '.join(returned)}",
                )
            )
            continue
        declared = [block.get("name") for block in tf.blocks(declared_value)]
        twice = sorted({str(d) for d in declared if declared.count(d) > 1})
        if twice:
            findings.append(
                RULE.finding(
                    where,
                    f"{body.get('name')} declares additional_configuration {', '.join(twice)} "
                    "more than once",
                    "declare each additional configuration once, with one status",
                )
            )
        missing = [extra for extra in returned if extra not in declared]
        if missing:
            findings.append(
                RULE.finding(
                    where,
                    f"{body.get('name')} declares additional_configuration "
                    f"{sorted(str(d) for d in declared) or 'none'} but GuardDuty returns "
                    f"{', '.join(returned)}; the provider stores all of them, so every plan "
                    f"replaces the feature (missing: {', '.join(missing)})",
                )
            )
    return findings


RULE = Rule(
    id="PAY-GD-001",
    summary="Every GuardDuty RUNTIME_MONITORING detector feature declares all three additional configurations GuardDuty returns (EKS_ADDON_MANAGEMENT, ECS_FARGATE_AGENT_MANAGEMENT, EC2_AGENT_MANAGEMENT).",
    why="The provider stores every additional configuration GuardDuty returns in a set whose "
    "name is ForceNew (detector_feature.go): one left out makes every plan replace the "
    "feature, and a plan that always shows a replacement teaches reviewers to ignore it.",
    fix="Declare each of them with an explicit status, ENABLED or DISABLED "
    "(modules/threat_detection.py GUARDDUTY_FEATURES).",
    check=check,
)
