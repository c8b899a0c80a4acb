"""The account's security baseline: CloudTrail, AWS Config, GuardDuty, Security
Hub, IAM Access Analyzer.

Each control is checked only where configuration says this repository
provides it (``security_baseline``, per control: D50); otherwise it is the
organization's, and says so.
"""

from __future__ import annotations

from verify.context import Context, Unreadable
from verify.expected import STACK_PARTS
from verify.report import Result, failed, not_applicable, passed, unreadable

DOC = "docs/pci-responsibility.md, The account's security baseline"
#: check -> the ``security_baseline`` control it checks (D50).
CONTROLS = {
    "baseline.cloudtrail": "trail",
    "baseline.config": "config_recorder",
    "baseline.guardduty": "guardduty",
    "baseline.securityhub": "security_hub",
    "baseline.access-analyzer": "access_analyzer",
}
#: Role findings still active are named, at most this many.
NAMED_FINDINGS = 3


def _here(ctx: Context, control: str) -> bool:
    baseline = ctx.env.security_baseline
    # The trail is ours also when only the state buckets' data events are.
    return baseline.builds_trail if control == "trail" else baseline.provided_here(control)


def check_baseline(ctx: Context) -> list[Result]:
    baseline = ctx.env.security_baseline
    subject = f"account {ctx.account} {ctx.region}"
    results = [
        not_applicable(
            check,
            subject,
            f"security_baseline.{control} = {baseline.provider_of(control)}: the "
            "organization's control, not this stack's to check",
            DOC,
        )
        for check, control in CONTROLS.items()
        if not _here(ctx, control)
    ]
    ours = [check for check, control in CONTROLS.items() if _here(ctx, control)]
    if not ours:
        return results
    stack = next((s for n, s in ctx.synth.stacks.items() if n.endswith("-baseline")), None)
    if stack is None:
        return results + [
            failed(
                check,
                subject,
                "expected a synthesized baseline stack for this account, found none in cdktf.out",
                DOC,
            )
            for check in ours
        ]
    for check, fn in (
        ("baseline.cloudtrail", _cloudtrail),
        ("baseline.config", _config),
        ("baseline.guardduty", _guardduty),
        ("baseline.securityhub", _securityhub),
        ("baseline.access-analyzer", _access_analyzer),
    ):
        if check not in ours:
            continue
        try:
            results += fn(ctx, stack)
        except Unreadable as err:
            results.append(unreadable(check, subject, str(err)))
    return results


def _cloudtrail(ctx: Context, stack) -> list[Result]:
    results = []
    for res in stack.resources("aws_cloudtrail").values():
        name = stack.substitute(res["name"])
        trails = ctx.call("cloudtrail", "describe_trails", trailNameList=[name]).get(
            "trailList", []
        )
        if not trails:
            results.append(
                failed(
                    "baseline.cloudtrail",
                    name,
                    f"expected the trail, found none (apply {stack.name})",
                    DOC,
                )
            )
            continue
        status = ctx.call("cloudtrail", "get_trail_status", Name=trails[0].get("TrailARN", name))
        problems = []
        if not status.get("IsLogging"):
            problems.append("IsLogging false (StartLogging, and find who stopped it)")
        if res.get("enable_log_file_validation") and not trails[0].get("LogFileValidationEnabled"):
            problems.append("log file validation off")
        if status.get("LatestDeliveryError"):
            problems.append(f"latest delivery error {status['LatestDeliveryError']}")
        results.append(
            failed(
                "baseline.cloudtrail",
                name,
                "expected logging with log file validation, found " + "; ".join(problems),
                DOC,
            )
            if problems
            else passed("baseline.cloudtrail", name, "logging, log file validation on")
        )
    return results


def _config(ctx: Context, stack) -> list[Result]:
    results = []
    for res in stack.resources("aws_config_configuration_recorder").values():
        name = stack.substitute(res["name"])
        found = ctx.call(
            "config", "describe_configuration_recorder_status", ConfigurationRecorderNames=[name]
        ).get("ConfigurationRecordersStatus", [])
        status = found[0] if found else {}
        problems = []
        if not status.get("recording"):
            problems.append("not recording")
        if status.get("lastStatus") == "Failure":
            problems.append(f"last recording failed ({status.get('lastErrorCode')})")
        results.append(
            failed(
                "baseline.config",
                f"recorder {name}",
                "expected recording, found " + "; ".join(problems),
                DOC,
            )
            if problems
            else passed("baseline.config", f"recorder {name}", "recording")
        )
    for res in stack.resources("aws_config_delivery_channel").values():
        name = stack.substitute(res["name"])
        found = ctx.call(
            "config", "describe_delivery_channel_status", DeliveryChannelNames=[name]
        ).get("DeliveryChannelsStatus", [])
        status = found[0] if found else {}
        history = (status.get("configHistoryDeliveryInfo") or {}).get("lastStatus")
        snapshot = (status.get("configSnapshotDeliveryInfo") or {}).get("lastStatus")
        if "Failure" in (history, snapshot) or not (history or snapshot):
            results.append(
                failed(
                    "baseline.config",
                    f"delivery channel {name}",
                    "expected the last "
                    f"delivery successful, found history {history}, snapshot {snapshot} "
                    "(a locked bucket refuses Config: FIELD_NOTES §10)",
                    DOC,
                )
            )
        else:
            results.append(
                passed(
                    "baseline.config",
                    f"delivery channel {name}",
                    f"last delivery history {history}, snapshot {snapshot}",
                )
            )
    return results


def _guardduty(ctx: Context, stack) -> list[Result]:
    detectors = ctx.call("guardduty", "list_detectors").get("DetectorIds", [])
    subject = f"detector in {ctx.region}"
    if not detectors:
        return [failed("baseline.guardduty", subject, "expected a detector, found none", DOC)]
    detector = ctx.call("guardduty", "get_detector", DetectorId=detectors[0])
    found = {f["Name"]: f for f in detector.get("Features", [])}
    problems = [] if detector.get("Status") == "ENABLED" else [f"detector {detector.get('Status')}"]
    fargate_agent = False
    for res in stack.resources("aws_guardduty_detector_feature").values():
        feature = found.get(res["name"], {})
        if feature.get("Status") != res.get("status"):
            problems.append(
                f"{res['name']} {feature.get('Status', 'absent')} (expected {res.get('status')})"
            )
        extra = {c["Name"]: c.get("Status") for c in feature.get("AdditionalConfiguration", [])}
        for conf in res.get("additional_configuration", []):
            if extra.get(conf["name"]) != conf["status"]:
                problems.append(
                    f"{res['name']}.{conf['name']} {extra.get(conf['name'], 'absent')} "
                    f"(expected {conf['status']})"
                )
            fargate_agent |= (
                conf["name"] == "ECS_FARGATE_AGENT_MANAGEMENT" and conf["status"] == "ENABLED"
            )
    results = [
        failed(
            "baseline.guardduty",
            subject,
            "expected the synthesized features, found " + "; ".join(problems),
            DOC,
        )
        if problems
        else passed(
            "baseline.guardduty",
            subject,
            f"{detectors[0]} enabled with "
            f"{', '.join(sorted(r['name'] for r in stack.resources('aws_guardduty_detector_feature').values()))}",
        )
    ]
    if not fargate_agent:
        results.append(
            not_applicable(
                "baseline.guardduty-ecs",
                subject,
                "the Fargate agent is DISABLED (D43): no ECS runtime coverage to check",
                "docs/decisions.md D43",
            )
        )
        return results
    return results + _guardduty_ecs(ctx, detectors[0], subject)


#: ListCoverage filter keys and the resource type of an ECS cluster's
#: coverage (GuardDuty API reference, CoverageFilterCriterion:
#: https://docs.aws.amazon.com/guardduty/latest/APIReference/API_CoverageFilterCriterion.html;
#: CoverageResourceDetails ``resourceType`` EKS | ECS | EC2:
#: https://docs.aws.amazon.com/guardduty/latest/APIReference/API_CoverageResourceDetails.html).
ECS_COVERAGE_FILTER = ("RESOURCE_TYPE", "ECS_CLUSTER_NAME")
ECS_RESOURCE_TYPE = "ECS"
DOC_ECS_COVERAGE = (
    "docs/decisions.md D43; GuardDuty user guide, Runtime coverage and troubleshooting for "
    "Amazon ECS clusters (https://docs.aws.amazon.com/guardduty/latest/ug/gdu-assess-coverage-ecs.html)"
)


def ecs_clusters(ctx: Context) -> list[str]:
    """The names of this environment's ECS clusters, from its own synthesized
    stacks (the baseline stack may be another environment's of the account)."""
    names = set()
    for part in STACK_PARTS:
        stack = ctx.synth.stack(part)
        if stack is None:
            continue
        for res in stack.resources("aws_ecs_cluster").values():
            names.add(stack.substitute(str(res["name"])))
    return sorted(names)


def _guardduty_ecs(ctx: Context, detector: str, subject: str) -> list[Result]:
    """GuardDuty's runtime coverage of each of this environment's ECS clusters
    is HEALTHY (ListCoverage, filtered to ECS and these clusters: the
    detector covers every cluster of the account and region). A cluster
    missing from the coverage fails too: Fargate tasks are covered only once
    started after the agent was enabled."""
    check = "baseline.guardduty-ecs"
    clusters = ecs_clusters(ctx)
    if not clusters:
        return [not_applicable(check, subject, "no ECS cluster in this environment's stacks")]
    key_type, key_name = ECS_COVERAGE_FILTER
    try:
        coverage = ctx.paginate(
            "guardduty",
            "list_coverage",
            "Resources",
            DetectorId=detector,
            FilterCriteria={
                "FilterCriterion": [
                    {"CriterionKey": key_type, "FilterCondition": {"Equals": [ECS_RESOURCE_TYPE]}},
                    {"CriterionKey": key_name, "FilterCondition": {"Equals": clusters}},
                ]
            },
        )
    except Unreadable as err:
        return [unreadable(check, subject, str(err))]
    found: dict[str, list[dict]] = {}
    for item in coverage:
        details = item.get("ResourceDetails") or {}
        name = (details.get("EcsClusterDetails") or {}).get("ClusterName") or str(
            item.get("ResourceId", "")
        ).rsplit("/", 1)[-1]
        found.setdefault(name, []).append(item)
    results = []
    for cluster in clusters:
        where = f"ECS cluster {cluster}"
        items = found.get(cluster, [])
        if not items:
            results.append(
                failed(
                    check,
                    where,
                    f"expected {cluster} in GuardDuty's runtime coverage (detector {detector}), "
                    "found none: only Fargate tasks started after the agent was enabled are "
                    "covered; release again so new tasks start, and check the execution roles "
                    "can pull GuardDuty's agent",
                    DOC_ECS_COVERAGE,
                )
            )
            continue
        unhealthy = [i for i in items if i.get("CoverageStatus") != "HEALTHY"]
        if not unhealthy:
            results.append(passed(check, where, "runtime coverage HEALTHY"))
            continue
        issues = []
        for item in unhealthy:
            fargate = ((item.get("ResourceDetails") or {}).get("EcsClusterDetails") or {}).get(
                "FargateDetails"
            ) or {}
            issues += [item.get("Issue")] + list(fargate.get("Issues", []))
        shown = "; ".join(dict.fromkeys(i for i in issues if i)) or "no issue given"
        results.append(
            failed(
                check,
                where,
                f"expected HEALTHY runtime coverage of {cluster}, found "
                f"{unhealthy[0].get('CoverageStatus') or 'no status'}: {shown}",
                DOC_ECS_COVERAGE,
            )
        )
    return results


def _securityhub(ctx: Context, stack) -> list[Result]:
    results = []
    enabled = {
        s["StandardsArn"]: s.get("StandardsStatus")
        for s in ctx.paginate("securityhub", "get_enabled_standards", "StandardsSubscriptions")
    }
    for res in stack.resources("aws_securityhub_standards_subscription").values():
        arn = stack.substitute(res["standards_arn"])
        status = enabled.get(arn)
        results.append(
            passed("baseline.securityhub", arn, "standard enabled (READY)")
            if status == "READY"
            else failed(
                "baseline.securityhub",
                arn,
                f"expected the standard READY, found {status or 'not enabled'}",
                DOC,
            )
        )
    return results


def _access_analyzer(ctx: Context, stack) -> list[Result]:
    """The baseline's analyzer is ACTIVE (ListAnalyzers, type ACCOUNT:
    https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_ListAnalyzers.html)
    and holds no ACTIVE finding on an IAM role (ListFindingsV2, filter keys
    ``status`` and ``resourceType``:
    https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_ListFindingsV2.html,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-filter-keys.html):
    the intended trusts are archived (D66), so an active one is a role
    trusted outside the account that nobody has decided on."""
    check = "baseline.access-analyzer"
    found = {
        a.get("name"): a
        for a in ctx.paginate("accessanalyzer", "list_analyzers", "analyzers", type="ACCOUNT")
    }
    results = []
    for res in stack.resources("aws_accessanalyzer_analyzer").values():
        name = stack.substitute(res["analyzer_name"])
        analyzer = found.get(name, {})
        status = analyzer.get("status")
        if status != "ACTIVE":
            reason = (analyzer.get("statusReason") or {}).get("code")
            results.append(
                failed(
                    check,
                    f"analyzer {name}",
                    f"expected ACTIVE, found {status or 'none'}"
                    + (f" ({reason})" if reason else "")
                    + f" (security_baseline.access_analyzer: apply {stack.name}, a person's "
                    "apply, D42)",
                    DOC,
                )
            )
            continue
        results.append(passed(check, f"analyzer {name}", "ACTIVE, zone of trust the account"))
        subject = f"role findings of {name}"
        try:
            findings = ctx.paginate(
                "accessanalyzer",
                "list_findings_v2",
                "findings",
                analyzerArn=analyzer["arn"],
                filter={"status": {"eq": ["ACTIVE"]}, "resourceType": {"eq": ["AWS::IAM::Role"]}},
            )
        except Unreadable as err:
            results.append(unreadable(check, subject, str(err)))
            continue
        roles = sorted({f.get("resource", "?") for f in findings})
        results.append(
            failed(
                check,
                subject,
                f"expected none active, found {len(findings)} on "
                + ", ".join(roles[:NAMED_FINDINGS])
                + (
                    f" and {len(roles) - NAMED_FINDINGS} more"
                    if len(roles) > NAMED_FINDINGS
                    else ""
                )
                + ": a role trusted outside the account; remove the trust or archive the finding "
                "(docs/decisions.md D66)",
                DOC,
            )
            if findings
            else passed(check, subject, "no active finding on an IAM role")
        )
    return results
