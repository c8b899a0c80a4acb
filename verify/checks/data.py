"""Logs and the database: ALB access logs arriving, log groups masking card
data, every database instance's parameter groups in sync."""

from __future__ import annotations

import json
from datetime import timedelta

from verify.context import Context, Unreadable
from verify.report import Result, failed, not_applicable, passed, unreadable

DOC_LOGS = "docs/observability.md, Log groups"
DOC_ALB = "docs/services.md, Load balancers"
DOC_PGAUDIT = "docs/data-and-secrets.md, Audit of database reads (runbook, once per cluster)"
REBOOT = "reboot every instance, readers first, in a change window (the runbook's step 1)"
#: Parameter group type -> (Describe call, its name parameter); RDS API
#: reference, DescribeDBClusterParameters / DescribeDBParameters
#: (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBClusterParameters.html,
#: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBParameters.html).
PARAMETER_GROUPS = {
    "aws_rds_cluster_parameter_group": (
        "describe_db_cluster_parameters",
        "DBClusterParameterGroupName",
    ),
    "aws_db_parameter_group": ("describe_db_parameters", "DBParameterGroupName"),
}


def _identifiers(document: dict) -> dict[str, tuple]:
    return {
        s.get("Sid", str(i)): (
            tuple(sorted(s.get("DataIdentifier", []))),
            tuple(sorted(s.get("Operation", {}))),
        )
        for i, s in enumerate(document.get("Statement", []))
    }


def check_data_protection(ctx: Context) -> list[Result]:
    results = []
    for stack in ctx.synth.stacks.values():
        for res in stack.resources("aws_cloudwatch_log_data_protection_policy").values():
            group = stack.substitute(res["log_group_name"])
            try:
                found = ctx.call("logs", "get_data_protection_policy", logGroupIdentifier=group)
            except Unreadable as err:
                results.append(unreadable("logs.data-protection", group, str(err)))
                continue
            expected = _identifiers(json.loads(stack.substitute(res["policy_document"])))
            text = found.get("policyDocument")
            have = _identifiers(json.loads(text)) if text else {}
            if have == expected:
                results.append(
                    passed("logs.data-protection", group, "data protection policy as synthesized")
                )
            else:
                results.append(
                    failed(
                        "logs.data-protection",
                        group,
                        "expected the data protection "
                        f"policy {sorted(expected)} masking card data, found "
                        f"{sorted(have) if text else 'none'}",
                        DOC_LOGS,
                    )
                )
    return results


def check_parameter_groups(ctx: Context) -> list[Result]:
    stack = ctx.synth.stack("data")
    if stack is None:
        return []
    results = []
    for res in stack.resources("aws_rds_cluster").values():
        cluster = stack.substitute(res["cluster_identifier"])
        try:
            clusters = ctx.call("rds", "describe_db_clusters", DBClusterIdentifier=cluster)[
                "DBClusters"
            ]
            instances = ctx.call(
                "rds",
                "describe_db_instances",
                Filters=[{"Name": "db-cluster-id", "Values": [cluster]}],
            )["DBInstances"]
        except Unreadable as err:
            results.append(unreadable("db.parameters", cluster, str(err)))
            continue
        member = {
            m["DBInstanceIdentifier"]: m
            for m in (clusters[0].get("DBClusterMembers", []) if clusters else [])
        }
        if not instances:
            results.append(
                failed(
                    "db.parameters",
                    cluster,
                    "expected the cluster's instances, found none (apply the data stack)",
                    "docs/data-and-secrets.md, 3.1 Shape",
                )
            )
        for inst in instances:
            name = inst["DBInstanceIdentifier"]
            statuses = {
                g.get("DBParameterGroupName", "?"): g.get("ParameterApplyStatus")
                for g in inst.get("DBParameterGroups", [])
            }
            cluster_status = member.get(name, {}).get("DBClusterParameterGroupStatus")
            if cluster_status:
                statuses[
                    f"cluster {res.get('db_cluster_parameter_group_name') and stack.substitute(res['db_cluster_parameter_group_name'])}"
                ] = cluster_status
            behind = {g: s for g, s in statuses.items() if s != "in-sync"}
            if behind:
                results.append(
                    failed(
                        "db.parameters",
                        name,
                        "expected every parameter group in-sync, "
                        f"found {', '.join(f'{g}: {s}' for g, s in behind.items())}; " + REBOOT,
                        DOC_PGAUDIT,
                    )
                )
            else:
                results.append(
                    passed(
                        "db.parameters",
                        name,
                        "parameter groups in-sync; that is as "
                        "far as the API can tell: pgAudit loaded is proven by the "
                        f"runbook's SQL check ({DOC_PGAUDIT})",
                    )
                )
        results += _log_parameters(ctx, stack, res, instances, member)
    return results


def _log_parameters(
    ctx: Context, stack, cluster: dict, instances: list, member: dict
) -> list[Result]:
    """One line per synthesized parameter group of the cluster (its own and
    its instances'): RDS holds every parameter we set with our value, none
    static is set ``immediate`` (RDS refuses it), and the instances using the
    group have applied it (``in-sync``; a static one waits for a reboot)."""
    groups: dict[str, tuple[str, list[dict]]] = {}
    for rtype in PARAMETER_GROUPS:
        for res in stack.resources(rtype).values():
            groups[stack.substitute(str(res.get("name", "")))] = (rtype, res.get("parameter") or [])
    # group -> {instance: apply status}
    applied: dict[str, dict[str, str]] = {}
    cluster_group = stack.substitute(str(cluster.get("db_cluster_parameter_group_name", "")))
    if cluster_group in groups:
        applied[cluster_group] = {
            name: m.get("DBClusterParameterGroupStatus", "?") for name, m in member.items()
        }
    for inst in instances:
        for g in inst.get("DBParameterGroups", []):
            if g.get("DBParameterGroupName") in groups:
                applied.setdefault(g["DBParameterGroupName"], {})[inst["DBInstanceIdentifier"]] = (
                    g.get("ParameterApplyStatus", "?")
                )
    results = []
    for group, statuses in applied.items():
        rtype, parameters = groups[group]
        operation, name_parameter = PARAMETER_GROUPS[rtype]
        try:
            live = {
                p["ParameterName"]: p
                for p in ctx.paginate(
                    "rds", operation, "Parameters", **{name_parameter: group, "Source": "user"}
                )
            }
        except Unreadable as err:
            results.append(unreadable("db.log-parameters", group, str(err)))
            continue
        problems, static = [], []
        for want in parameters:
            found = live.get(want["name"])
            if found is None:
                problems.append(f"{want['name']} not set (RDS keeps the family's default)")
                continue
            if str(found.get("ParameterValue")) != str(want["value"]):
                problems.append(
                    f"{want['name']} = {found.get('ParameterValue')!r} (expected {want['value']!r})"
                )
            if found.get("ApplyType") == "static":
                static.append(want["name"])
                if want.get("apply_method") == "immediate":
                    problems.append(
                        f"{want['name']} is static: RDS refuses apply_method immediate "
                        "(pending-reboot)"
                    )
        behind = {i: s for i, s in statuses.items() if s != "in-sync"}
        if behind:
            problems.append(
                f"not in effect on {', '.join(f'{i} ({s})' for i, s in sorted(behind.items()))}"
                + (f": {', '.join(static)} static" if static else "")
                + "; "
                + REBOOT
            )
        if problems:
            results.append(
                failed(
                    "db.log-parameters",
                    group,
                    "expected the synthesized parameters accepted and in effect, found "
                    + "; ".join(problems),
                    DOC_PGAUDIT,
                )
            )
        else:
            results.append(
                passed(
                    "db.log-parameters",
                    group,
                    f"{len(parameters)} parameters as synthesized"
                    + (f" ({', '.join(static)} static)" if static else "")
                    + f", in-sync on {', '.join(sorted(statuses))}",
                )
            )
    return results


def check_access_logs(ctx: Context) -> list[Result]:
    stack = ctx.synth.stack("services")
    if stack is None:
        return []
    buckets: dict[tuple[str, str], list[str]] = {}
    for res in stack.resources("aws_lb").values():
        logs = res.get("access_logs") or {}
        if logs.get("enabled"):
            key = (stack.substitute(logs["bucket"]), logs.get("prefix", ""))
            buckets.setdefault(key, []).append(stack.substitute(res.get("name", "?")))
    if not buckets:
        return [
            not_applicable(
                "alb.access-logs",
                ctx.env.prefix,
                "load_balancer.access_logs is off for this environment",
                DOC_ALB,
            )
        ]
    results = []
    for (bucket, prefix), albs in buckets.items():
        subject = f"s3://{bucket}/{prefix}"
        newest = None
        try:
            for days in (0, 1):
                day = ctx.now - timedelta(days=days)
                where = (
                    f"{prefix + '/' if prefix else ''}AWSLogs/{ctx.account}/elasticloadbalancing/"
                    f"{ctx.region}/{day:%Y/%m/%d}/"
                )
                for obj in ctx.paginate(
                    "s3", "list_objects_v2", "Contents", Bucket=bucket, Prefix=where
                ):
                    newest = max(newest, obj["LastModified"]) if newest else obj["LastModified"]
                if newest:
                    break
        except Unreadable as err:
            results.append(unreadable("alb.access-logs", subject, str(err)))
            continue
        limit = timedelta(minutes=ctx.access_log_max_age_minutes)
        if newest and ctx.now - newest <= limit:
            results.append(
                passed(
                    "alb.access-logs",
                    subject,
                    f"newest object {newest:%Y-%m-%dT%H:%M:%SZ} (load balancers {', '.join(albs)})",
                )
            )
        else:
            results.append(
                failed(
                    "alb.access-logs",
                    subject,
                    f"expected an access-log object newer "
                    f"than {ctx.access_log_max_age_minutes} min from {', '.join(albs)}, "
                    f"found {'the newest at ' + format(newest, '%Y-%m-%dT%H:%M:%SZ') if newest else 'none today or yesterday'}; "
                    "check the bucket policy's log-delivery statement",
                    DOC_ALB,
                )
            )
    return results
