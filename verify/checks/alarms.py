"""Each rollback alarm exists and its metrics have datapoints.

The alarms treat missing data as OK (docs/decisions.md D44), so an alarm
whose metric names or dimensions are wrong stays OK forever: its state
proves nothing. Datapoints in the window prove it watches a live metric.
"""

from __future__ import annotations

from datetime import timedelta

from verify.context import Context, Unreadable
from verify.report import Result, failed, passed, unreadable

DOC = "docs/observability.md, Which alarms roll a release back"


def rollback_alarms(ctx: Context) -> list[tuple[str, str]]:
    """(deployment group, alarm name) of every deployment group's alarms."""
    stack = ctx.synth.stack("services")
    if stack is None:
        return []
    pairs = []
    for res in stack.resources("aws_codedeploy_deployment_group").values():
        group = stack.substitute(str(res.get("deployment_group_name", "?")))
        for alarm in (res.get("alarm_configuration") or {}).get("alarms", []):
            pairs.append((group, stack.substitute(alarm)))
    return pairs


def check_alarms(ctx: Context) -> list[Result]:
    pairs = rollback_alarms(ctx)
    if not pairs:
        return []
    names = sorted({alarm for _, alarm in pairs})
    try:
        found = {}
        for start in range(0, len(names), 100):
            page = ctx.call(
                "cloudwatch",
                "describe_alarms",
                AlarmNames=names[start : start + 100],
                AlarmTypes=["MetricAlarm"],
                MaxRecords=100,
            )
            found.update({a["AlarmName"]: a for a in page.get("MetricAlarms", [])})
    except Unreadable as err:
        return [unreadable("alarm", ", ".join(names), str(err))]
    results = []
    for group, name in pairs:
        alarm = found.get(name)
        if alarm is None:
            results.append(
                failed(
                    "alarm.exists",
                    name,
                    f"expected the rollback alarm of {group}, "
                    "found no such alarm (apply the services stack)",
                    DOC,
                )
            )
            continue
        results.append(_datapoints(ctx, name, alarm))
    return results


def metric_queries(alarm: dict) -> list[dict]:
    """The alarm's raw metrics as GetMetricData queries (expressions left out:
    FILL turns no data into numbers)."""
    if alarm.get("Metrics"):
        return [
            {"Id": q["Id"], "MetricStat": q["MetricStat"], "ReturnData": True}
            for q in alarm["Metrics"]
            if q.get("MetricStat")
        ]
    return [
        {
            "Id": "m0",
            "MetricStat": {
                "Metric": {
                    "Namespace": alarm["Namespace"],
                    "MetricName": alarm["MetricName"],
                    "Dimensions": alarm.get("Dimensions", []),
                },
                "Period": alarm.get("Period", 60),
                "Stat": alarm.get("Statistic") or alarm.get("ExtendedStatistic", "Sum"),
            },
            "ReturnData": True,
        }
    ]


def _datapoints(ctx: Context, name: str, alarm: dict) -> Result:
    queries = metric_queries(alarm)
    window = timedelta(minutes=ctx.datapoints_minutes)
    try:
        data = ctx.call(
            "cloudwatch",
            "get_metric_data",
            MetricDataQueries=queries,
            StartTime=ctx.now - window,
            EndTime=ctx.now,
        )
    except Unreadable as err:
        return unreadable("alarm.datapoints", name, str(err))
    counts = {r["Id"]: len(r.get("Values", [])) for r in data.get("MetricDataResults", [])}
    if any(counts.values()):
        seen = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        return passed(
            "alarm.datapoints",
            name,
            f"state {alarm.get('StateValue')}; datapoints in "
            f"the last {ctx.datapoints_minutes} min ({seen})",
        )
    metrics = ", ".join(sorted({q["MetricStat"]["Metric"]["MetricName"] for q in queries}))
    return failed(
        "alarm.datapoints",
        name,
        f"expected datapoints of {metrics} in the last "
        f"{ctx.datapoints_minutes} min, found none: with missing data treated as OK the "
        "alarm cannot fire; send traffic first, or check its dimensions against the "
        "load balancer and target groups",
        DOC,
    )
