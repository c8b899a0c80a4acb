"""Replays failures through the synthesized CloudWatch alarms (#24).

Reads the ``aws_cloudwatch_metric_alarm`` resources and the CodeDeploy
deployment groups of a synthesized services stack (never a copy of them),
feeds them minute by minute with the metrics a scenario makes the load
balancer publish, and says at which minute CodeDeploy stops the release.

Sources of the model (docs/decisions.md D44):

* ALB metrics: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
  - metrics are sent in 60-second intervals and **only when requests flow**:
    a count that is zero in a minute has no datapoint (``None`` here);
  - ``RequestCount`` counts every request for which a target was chosen, also
    those that end in a connection error; ``HTTPCode_Target_5XX_Count`` only
    answers of the target; ``TargetConnectionErrorCount`` (per target group)
    counts connections to the target **not successfully established** (a
    refused or timed-out connect); ``HTTPCode_ELB_5XX_Count`` exists per load
    balancer only. A target that accepts the connection and then closes it
    gives the client a 502 from the load balancer, one that never answers a
    504 (ALB troubleshooting, "HTTP 502" and "HTTP 504":
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html);
    both count in ``HTTPCode_ELB_5XX_Count`` only: no target-group metric
    sees them, and ``TargetResponseTime`` records no answer;
  - ``TargetResponseTime`` is recorded only for answered requests;
  - ``UnHealthyHostCount`` is published for a target group with targets.
  AWS documents no arrival delay: ``arrival_delay_minutes`` (0-3) is a
  parameter; the datapoint of minute k is seen from minute k + 1 + delay.
* CodeDeploy alarm-based rollback:
  https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-rollback-and-redeploy.html
  and https://docs.aws.amazon.com/codedeploy/latest/userguide/monitoring-create-alarms.html
  (up to 10 alarms per deployment group; an alarm in ALARM stops the
  deployment). How often CodeDeploy reads alarm states is not documented:
  ``poll_delay_minutes`` (0-1) is added to the minute the alarm fires.
* Metric math: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
  Only the subset the stacks use is implemented (numbers, query ids,
  ``+ - * /``, comparisons, ``IF``, ``FILL(m, number)``, ``MAX([...])``);
  anything else raises ``UnsupportedExpression`` naming the expression, so a
  new alarm cannot go unproven.
* Alarm evaluation (period, evaluation periods, datapoints to alarm, missing
  data): https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html

**All inputs missing.** At a minute where none of an alarm's input metrics
has a datapoint, every expression of that alarm returns no datapoint (there
is no timestamp to fill), and the alarm's ``treat_missing_data`` decides.
``fill_when_all_missing=True`` evaluates the other reading (FILL produces its
value even then); the zero-traffic scenario is replayed both ways.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from config.model import EnvironmentConfig

# --------------------------------------------------------------------------
# Metric math: the subset the stacks use.


class UnsupportedExpression(ValueError):
    """An expression outside the implemented metric-math subset."""


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>>=|<=|==|!=|[-+*/()\[\],<>]))"
)
#: Functions implemented, with how many arguments they take.
FUNCTIONS = {"IF": 3, "FILL": 2, "MAX": 1}
_COMPARE = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _tokens(expression: str) -> list[str]:
    out, pos = [], 0
    text = expression.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise UnsupportedExpression(
                f"{expression!r}: cannot read {text[pos:]!r} (outside the metric-math subset "
                "tests/alarm_replay.py implements)"
            )
        out.append(match.group(match.lastgroup or 0))
        pos = match.end()
    return out


class _Parser:
    """Recursive descent; nodes are tuples (kind, ...)."""

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = _tokens(expression)
        self.i = 0

    def fail(self, why: str):
        raise UnsupportedExpression(f"{self.expression!r}: {why}")

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            self.fail(f"expected {expected or 'more'}, found {token!r}")
        self.i += 1
        return token  # type: ignore[return-value]

    def parse(self):
        node = self.comparison()
        if self.peek() is not None:
            self.fail(f"unexpected {self.peek()!r}")
        return node

    def comparison(self):
        left = self.additive()
        if self.peek() in _COMPARE:
            op = self.take()
            left = ("cmp", op, left, self.additive())
        return left

    def additive(self):
        node = self.term()
        while self.peek() in ("+", "-"):
            node = ("bin", self.take(), node, self.term())
        return node

    def term(self):
        node = self.unary()
        while self.peek() in ("*", "/"):
            node = ("bin", self.take(), node, self.unary())
        return node

    def unary(self):
        if self.peek() == "-":
            self.take()
            return ("bin", "-", ("num", 0.0), self.unary())
        return self.atom()

    def atom(self):
        token = self.take()
        if token == "(":
            node = self.comparison()
            self.take(")")
            return node
        if re.fullmatch(r"\d+(?:\.\d+)?", token):
            return ("num", float(token))
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token):
            if self.peek() != "(":
                if token.isupper() and token in FUNCTIONS:
                    self.fail(f"{token} without arguments")
                return ("id", token)
            if token not in FUNCTIONS:
                self.fail(
                    f"function {token} is outside the metric-math subset the replay "
                    f"implements ({', '.join(sorted(FUNCTIONS))}); implement and test it in "
                    "tests/alarm_replay.py before an alarm uses it"
                )
            self.take("(")
            args = [self.argument()]
            while self.peek() == ",":
                self.take()
                args.append(self.argument())
            self.take(")")
            if len(args) != FUNCTIONS[token]:
                self.fail(f"{token} takes {FUNCTIONS[token]} arguments, {len(args)} given")
            if token == "MAX" and args[0][0] != "list":
                self.fail("MAX is implemented for an array MAX([a, b, ...]) only")
            if token == "FILL" and args[1][0] != "num":
                self.fail("FILL is implemented with a number only (not REPEAT or LINEAR)")
            return ("call", token, args)
        self.fail(f"unexpected {token!r}")

    def argument(self):
        if self.peek() == "[":
            self.take()
            items = [self.comparison()]
            while self.peek() == ",":
                self.take()
                items.append(self.comparison())
            self.take("]")
            return ("list", items)
        return self.comparison()


def parse(expression: str):
    """The expression's syntax tree; ``UnsupportedExpression`` outside the subset."""
    return _Parser(expression).parse()


def evaluate(node, values: Mapping[str, float | None]) -> float | None:
    """One timestamp: ``values`` maps query ids to their value (None: no
    datapoint). Missing propagates through arithmetic and comparisons; a
    division by zero gives no datapoint; ``FILL`` replaces a missing value;
    ``MAX`` ignores missing members (all missing: missing); ``IF`` evaluates
    only the branch its condition selects (a condition is true when not 0)."""
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "id":
        if node[1] not in values:
            raise UnsupportedExpression(f"unknown query id {node[1]!r}")
        return values[node[1]]
    if kind in ("bin", "cmp"):
        a, b = evaluate(node[2], values), evaluate(node[3], values)
        if a is None or b is None:
            return None
        if kind == "cmp":
            return 1.0 if _COMPARE[node[1]](a, b) else 0.0
        if node[1] == "+":
            return a + b
        if node[1] == "-":
            return a - b
        if node[1] == "*":
            return a * b
        return None if b == 0 else a / b
    name, args = node[1], node[2]
    if name == "FILL":
        value = evaluate(args[0], values)
        return args[1][1] if value is None else value
    if name == "MAX":
        members = [evaluate(item, values) for item in args[0][1]]
        present = [m for m in members if m is not None]
        return max(present) if present else None
    condition = evaluate(args[0], values)  # IF
    if condition is None:
        return None
    return evaluate(args[1] if condition != 0 else args[2], values)


def ids_in(node) -> set[str]:
    if node[0] == "id":
        return {node[1]}
    if node[0] == "num":
        return set()
    if node[0] == "list":
        return set().union(*(ids_in(n) for n in node[1]))
    if node[0] == "call":
        return set().union(*(ids_in(n) for n in node[2]))
    return ids_in(node[2]) | ids_in(node[3])


# --------------------------------------------------------------------------
# Alarm definitions, read from the synthesized JSON.

_REF = re.compile(r"^\$\{([a-z0-9_]+)\.([^.}]+)\.([a-z_]+)\}$")


@dataclass(frozen=True)
class MetricInput:
    """One metric an alarm reads: ``dimensions`` hold Terraform references
    (``${aws_lb_target_group.<key>.arn_suffix}``), resolved by the traffic model."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str
    period_seconds: int


@dataclass(frozen=True)
class Alarm:
    key: str
    name: str
    inputs: dict[str, MetricInput]
    #: id -> parsed expression, in query order; the returned one is ``returned``.
    expressions: dict[str, tuple]
    returned: str
    period_seconds: int
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str
    threshold: float
    comparison: str

    def value(
        self, metrics: Mapping[str, float | None], fill_when_all_missing: bool
    ) -> float | None:
        """The returned value at one period, given each input's datapoint."""
        if not fill_when_all_missing and all(v is None for v in metrics.values()):
            return None
        values = dict(metrics)
        for query_id, node in self.expressions.items():
            values[query_id] = evaluate(node, values)
        return values[self.returned]

    def breaches(self, value: float) -> bool:
        return {
            "GreaterThanThreshold": value > self.threshold,
            "GreaterThanOrEqualToThreshold": value >= self.threshold,
            "LessThanThreshold": value < self.threshold,
            "LessThanOrEqualToThreshold": value <= self.threshold,
        }[self.comparison]


def read_alarm(key: str, resource: dict) -> Alarm:
    """The alarm as CloudWatch evaluates it; refuses what the replay cannot."""
    name = resource["alarm_name"]
    if resource.get("comparison_operator") not in (
        "GreaterThanThreshold",
        "GreaterThanOrEqualToThreshold",
        "LessThanThreshold",
        "LessThanOrEqualToThreshold",
    ):
        raise UnsupportedExpression(f"{name}: comparison {resource.get('comparison_operator')!r}")
    inputs: dict[str, MetricInput] = {}
    expressions: dict[str, tuple] = {}
    returned: list[str] = []
    period: int = resource.get("period") or 0
    if "metric_query" in resource:
        for query in resource["metric_query"]:
            if query.get("return_data"):
                returned.append(query["id"])
            if "expression" in query:
                try:
                    expressions[query["id"]] = parse(query["expression"])
                except UnsupportedExpression as error:
                    raise UnsupportedExpression(f"{name}: {error}") from None
            else:
                m = query["metric"]
                inputs[query["id"]] = MetricInput(
                    m["namespace"],
                    m["metric_name"],
                    tuple(sorted(m.get("dimensions", {}).items())),
                    m["stat"],
                    m["period"],
                )
        periods = {i.period_seconds for i in inputs.values()}
        if len(periods) != 1:
            raise UnsupportedExpression(f"{name}: queries with different periods {periods}")
        period = periods.pop()
        for query_id, node in expressions.items():
            unknown = ids_in(node) - set(inputs) - set(expressions)
            if unknown:
                raise UnsupportedExpression(f"{name}: {query_id} reads unknown ids {unknown}")
    else:
        returned = ["m"]
        inputs["m"] = MetricInput(
            resource["namespace"],
            resource["metric_name"],
            tuple(sorted(resource.get("dimensions", {}).items())),
            resource.get("statistic") or resource["extended_statistic"],
            resource["period"],
        )
        expressions["value"] = ("id", "m")
        returned = ["value"]
    if len(returned) != 1:
        raise UnsupportedExpression(f"{name}: {len(returned)} queries return data; one must")
    if period % 60:
        raise UnsupportedExpression(
            f"{name}: period {period} s; ALB, ECS and RDS metrics are published per 60 s"
        )
    return Alarm(
        key=key,
        name=name,
        inputs=inputs,
        expressions=expressions,
        returned=returned[0],
        period_seconds=period,
        evaluation_periods=resource["evaluation_periods"],
        datapoints_to_alarm=resource.get("datapoints_to_alarm", resource["evaluation_periods"]),
        treat_missing_data=resource.get("treat_missing_data", "missing"),
        threshold=float(resource["threshold"]),
        comparison=resource["comparison_operator"],
    )


def reference_key(token: str) -> tuple[str, str]:
    """``${type.key.attr}`` -> (type, key)."""
    match = _REF.match(token)
    if match is None:
        raise ValueError(f"not a reference: {token!r}")
    return match[1], match[2]


@dataclass(frozen=True)
class ServiceRelease:
    """What CodeDeploy watches for one service: its deployment group's
    alarms, its two target groups (in the deployment group's order) and its
    production listener's load balancer."""

    service: str
    deployment_group: str
    config_name: str
    rollback_alarms: tuple[Alarm, ...]
    target_groups: tuple[str, str]
    load_balancer: str
    #: Target groups of every service behind the same load balancer.
    neighbours: tuple[str, ...]


def service_releases(stack_json: dict) -> dict[str, ServiceRelease]:
    resources = stack_json["resource"]
    alarms = resources.get("aws_cloudwatch_metric_alarm", {})
    listeners = resources["aws_lb_listener"]
    groups = resources["aws_codedeploy_deployment_group"]
    lb_of_tgs: dict[str, list[str]] = {}
    parsed = []
    for key, group in groups.items():
        info = group["load_balancer_info"]["target_group_pair_info"]
        tgs = tuple(reference_key(t["name"])[1] for t in info["target_group"])
        (listener_ref,) = info["prod_traffic_route"]["listener_arns"]
        listener = listeners[reference_key(listener_ref)[1]]
        lb = reference_key(listener["load_balancer_arn"])[1]
        lb_of_tgs.setdefault(lb, []).extend(tgs)
        names = (group.get("alarm_configuration") or {}).get("alarms", [])
        watched = tuple(read_alarm(reference_key(n)[1], alarms[reference_key(n)[1]]) for n in names)
        parsed.append((key, group, tgs, lb, watched))
    out = {}
    for key, group, tgs, lb, watched in parsed:
        # construct path <stack>/service-<name>/deployment-group
        service = group["//"]["metadata"]["path"].split("/")[1].removeprefix("service-")
        out[service] = ServiceRelease(
            service=service,
            deployment_group=key,
            config_name=group["deployment_config_name"],
            rollback_alarms=watched,
            target_groups=tgs,  # type: ignore[arg-type]
            load_balancer=lb,
            neighbours=tuple(lb_of_tgs[lb]),
        )
    return out


def all_alarms(stack_json: dict) -> list[Alarm]:
    return [
        read_alarm(k, v)
        for k, v in stack_json["resource"].get("aws_cloudwatch_metric_alarm", {}).items()
    ]


# --------------------------------------------------------------------------
# Traffic shifting (CodeDeploy predefined ECS configurations).

_CONFIG = re.compile(
    r"CodeDeployDefault\.ECS(?:(?P<all>AllAtOnce)"
    r"|Linear(?P<step>\d+)PercentEvery(?P<every>\d+)Minutes?"
    r"|Canary(?P<canary>\d+)Percent(?P<wait>\d+)Minutes?)"
)


def green_percent(config_name: str, minute: float) -> float:
    """Percent of production traffic on green at ``minute`` (0: the first
    shift). Shifts take effect at their minute (a tie goes against the
    alarm): Canary X% Y min: X from 0, 100 from Y; Linear X% every Y min: X
    from 0, 2X from Y, ...; AllAtOnce: 100 from 0. CodeDeploy deployment
    configurations: https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html"""
    match = _CONFIG.fullmatch(config_name)
    if match is None:
        raise ValueError(f"{config_name}: not a predefined ECS configuration")
    if minute < 0:
        return 0.0
    if match["all"]:
        return 100.0
    if match["step"]:
        return float(min(100, int(match["step"]) * (math.floor(minute / int(match["every"])) + 1)))
    return 100.0 if minute >= int(match["wait"]) else float(match["canary"])


def minute_reaching(config_name: str, percent: float) -> float | None:
    """First minute at which green carries at least ``percent``; None if never
    within an hour (cannot happen for a predefined configuration)."""
    for minute in range(0, 61):
        if green_percent(config_name, minute) >= percent:
            return float(minute)
    return None


# --------------------------------------------------------------------------
# Scenarios: what each colour does, and the metrics that follow.


@dataclass(frozen=True)
class Behaviour:
    """How one task set answers from ``from_minute`` on (before: healthy).
    ``error_fraction``: share of requests answered 5xx by the target;
    ``connection_error_fraction``: share whose connection the target refuses
    (``TargetConnectionErrorCount``; the client gets a 5xx from the load
    balancer); ``unanswered_fraction``: share the target accepts and then
    closes or never answers (the load balancer's 502/504 only: counted in
    ``HTTPCode_ELB_5XX_Count`` of the load balancer, in the minute of the
    request); ``latency_factor``: p99 multiplier;
    ``failing_health_checks``: every target fails the ALB health check."""

    error_fraction: float = 0.0
    connection_error_fraction: float = 0.0
    unanswered_fraction: float = 0.0
    latency_factor: float = 1.0
    failing_health_checks: bool = False
    from_minute: float = -math.inf


HEALTHY = Behaviour()


@dataclass(frozen=True)
class Scenario:
    name: str
    green: Behaviour = HEALTHY
    blue: Behaviour = HEALTHY
    #: Requests per minute of the service (0: zero traffic).
    requests_per_minute: float = 600.0
    #: Fraction of requests a healthy service answers 5xx (background noise).
    baseline_error_fraction: float = 0.001


@dataclass(frozen=True)
class Replay:
    """Parameters of one replay. ``green_index``: which of the deployment
    group's two target groups is green (they alternate every release)."""

    arrival_delay_minutes: int = 0
    poll_delay_minutes: float = 0.0
    green_index: int = 1
    fill_when_all_missing: bool = False
    #: Healthy tasks per colour (UnHealthyHostCount counts these).
    tasks: int = 2
    #: Minutes replayed before the first shift (steady state).
    history_minutes: int = 15


@dataclass
class Outcome:
    """``fired``: alarm name -> minute it first was in ALARM (from minute 0);
    ``stopped_at``: the minute CodeDeploy stops the release (first alarm +
    poll delay) or None; ``green_percent_at_stop``: traffic exposed then;
    ``already_alarming``: alarms in ALARM before the release started."""

    fired: dict[str, float] = field(default_factory=dict)
    stopped_at: float | None = None
    green_percent_at_stop: float | None = None
    already_alarming: list[str] = field(default_factory=list)

    @property
    def first_alarm(self) -> str | None:
        if not self.fired:
            return None
        return min(self.fired, key=lambda n: (self.fired[n], n))


def _metric_source(
    release: ServiceRelease, scenario: Scenario, replay: Replay, p99_baseline: float
) -> Callable[[MetricInput, int], float | None]:
    green_tg = release.target_groups[replay.green_index]
    blue_tg = release.target_groups[1 - replay.green_index]
    others = [tg for tg in release.neighbours if tg not in release.target_groups]

    # The same (target group, minute) and (metric, minute) are read by every
    # alarm and every delay of a scenario: computed once each.
    @functools.cache
    def colour_minute(tg: str, minute: int) -> dict[str, float | None]:
        if tg in others:  # another service behind the load balancer: healthy
            requests = scenario.requests_per_minute
            behaviour = HEALTHY
        else:
            share = green_percent(release.config_name, minute) / 100
            share = share if tg == green_tg else 1 - share
            requests = scenario.requests_per_minute * share
            colour = scenario.green if tg == green_tg else scenario.blue
            behaviour = colour if minute >= colour.from_minute else HEALTHY
        refused = requests * behaviour.connection_error_fraction
        unanswered = (requests - refused) * behaviour.unanswered_fraction
        answered = requests - refused - unanswered
        errors = answered * max(behaviour.error_fraction, scenario.baseline_error_fraction)
        has_targets = tg in others or tg == blue_tg or minute >= -5  # green registered 5 min ahead

        def count(value: float) -> float | None:
            return value if value > 0 else None  # ALB: no datapoint for zero

        return {
            "RequestCount": count(requests),
            "HTTPCode_Target_5XX_Count": count(errors),
            "TargetConnectionErrorCount": count(refused),
            # the load balancer's 5xx for each request no target answered
            "HTTPCode_ELB_5XX_Count": count(refused + unanswered),
            "TargetResponseTime": p99_baseline * behaviour.latency_factor if answered > 0 else None,
            "UnHealthyHostCount": (
                float(replay.tasks if behaviour.failing_health_checks else 0)
                if has_targets
                else None
            ),
            "HealthyHostCount": (
                float(0 if behaviour.failing_health_checks else replay.tasks)
                if has_targets
                else None
            ),
        }

    @functools.cache
    def source(metric: MetricInput, minute: int) -> float | None:
        if metric.namespace != "AWS/ApplicationELB":
            raise UnsupportedExpression(
                f"{metric.namespace}/{metric.name}: the replay models ALB metrics only"
            )
        dims = dict(metric.dimensions)
        if "TargetGroup" in dims:
            tg = reference_key(dims["TargetGroup"])[1]
            if metric.name == "HTTPCode_ELB_5XX_Count":
                raise UnsupportedExpression("HTTPCode_ELB_5XX_Count exists per load balancer only")
            values = colour_minute(tg, minute)
        else:
            lb = reference_key(dims["LoadBalancer"])[1]
            if lb != release.load_balancer:
                values = {"RequestCount": scenario.requests_per_minute}
            else:
                per_tg = [colour_minute(tg, minute) for tg in release.neighbours]
                values = {
                    name: (
                        sum(v[name] or 0 for v in per_tg) or None
                        if name
                        in (
                            "RequestCount",
                            "HTTPCode_Target_5XX_Count",
                            "HTTPCode_ELB_5XX_Count",
                            "TargetConnectionErrorCount",
                        )
                        else None
                    )
                    for name in (
                        "RequestCount",
                        "HTTPCode_Target_5XX_Count",
                        "HTTPCode_ELB_5XX_Count",
                        "TargetConnectionErrorCount",
                    )
                }
        if metric.name not in values:
            raise UnsupportedExpression(f"{metric.name}: not modelled by the replay")
        return values[metric.name]

    return source


def _aggregate(stat: str, values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    if stat == "Sum":
        return sum(present)
    if stat in ("Maximum",) or stat.startswith("p"):
        return max(present)  # a percentile of several minutes: their maximum (upper bound)
    if stat == "Minimum":
        return min(present)
    if stat == "Average":
        return sum(present) / len(present)
    raise UnsupportedExpression(f"statistic {stat!r} is not modelled by the replay")


def alarm_values(
    alarm: Alarm,
    source: Callable[[MetricInput, int], float | None],
    first: int,
    last: int,
    fill: bool,
) -> dict[int, float | None]:
    """Datapoint index j (covering minutes [jP, (j+1)P)) -> returned value."""
    p = alarm.period_seconds // 60
    out = {}
    for j in range(math.floor(first / p), math.ceil(last / p) + 1):
        metrics = {
            qid: _aggregate(m.stat, [source(m, minute) for minute in range(j * p, (j + 1) * p)])
            for qid, m in alarm.inputs.items()
        }
        out[j] = alarm.value(metrics, fill)
    return out


def in_alarm(alarm: Alarm, values: dict[int, float | None], now: float, delay: int) -> bool:
    """The alarm's state at minute ``now``: the last ``evaluation_periods``
    datapoints that have arrived (datapoint j arrives at (j+1)P + delay),
    ``datapoints_to_alarm`` of them breaching; a missing one counts as
    breaching or not per ``treat_missing_data`` (``missing``/``ignore``: not
    counted)."""
    p = alarm.period_seconds // 60
    # ``values`` holds consecutive datapoints (alarm_values): the last one
    # arrived is the largest j with (j + 1) * P + delay <= now.
    newest = min(math.floor((now - delay) / p) - 1, max(values))
    window = [j for j in range(newest - alarm.evaluation_periods + 1, newest + 1) if j in values]
    breaching = 0
    for j in window:
        value = values[j]
        if value is None:
            breaching += alarm.treat_missing_data == "breaching"
        elif alarm.breaches(value):
            breaching += 1
    return breaching >= alarm.datapoints_to_alarm


def replay(
    release: ServiceRelease,
    env: EnvironmentConfig,
    scenario: Scenario,
    replay: Replay = Replay(),
    until_minute: float | None = None,
) -> Outcome:
    """Replays ``scenario`` through the service's rollback alarms, from the
    first shift (minute 0) until ``until_minute`` (default: the shift ends,
    blue is terminated: the whole time CodeDeploy may read alarms)."""
    from config.model import shift_minutes

    shift = shift_minutes(release.config_name) or 0
    end = (
        until_minute
        if until_minute is not None
        else shift + env.deployment.terminate_blue_after_minutes
    )
    every_alarm = _values_of(release, env, scenario, replay, int(end) + 1)
    outcome = Outcome()
    for alarm in release.rollback_alarms:
        values = every_alarm[alarm.name]
        if in_alarm(alarm, values, 0, replay.arrival_delay_minutes):
            outcome.already_alarming.append(alarm.name)
            continue
        for now in range(0, int(end) + 1):
            if in_alarm(alarm, values, now, replay.arrival_delay_minutes):
                outcome.fired[alarm.name] = float(now)
                break
    if outcome.fired:
        first = min(outcome.fired.values())
        stop = first + replay.poll_delay_minutes
        if stop <= end:
            outcome.stopped_at = stop
            outcome.green_percent_at_stop = green_percent(release.config_name, stop)
    return outcome


#: id(release) -> (the release, kept so its id stays its own; values by key).
_VALUES: dict[int, tuple[ServiceRelease, dict]] = {}


def _values_of(
    release: ServiceRelease, env: EnvironmentConfig, scenario: Scenario, replay: Replay, last: int
) -> dict[str, dict[int, float | None]]:
    """Each rollback alarm's datapoints for the scenario. They do not depend
    on the two delays, which only decide when a datapoint is seen: a test
    replaying one scenario at several delays computes them once."""
    key = (
        scenario,
        replace(replay, arrival_delay_minutes=0, poll_delay_minutes=0.0),
        last,
        healthy_p99(env),
    )
    cached = _VALUES.setdefault(id(release), (release, {}))[1]
    if key not in cached:
        source = _metric_source(release, scenario, replay, healthy_p99(env))
        cached[key] = {
            alarm.name: alarm_values(
                alarm, source, -replay.history_minutes, last, replay.fill_when_all_missing
            )
            for alarm in release.rollback_alarms
        }
    return cached[key]


def healthy_p99(env: EnvironmentConfig) -> float:
    """A healthy service's p99: 40 % of the configured threshold (so ×5 is
    twice the threshold, whatever the configuration)."""
    return env.alarms.p99_latency_seconds * 0.4


#: Green's connections fail while /health passes, in the two ways the load
#: balancer tells apart: a refused connect is a target connection error of
#: green's target group; a connection accepted, then closed or left without
#: an answer, is only a 502/504 of the whole load balancer.
REFUSES = "green refuses connections, /health passes"
CLOSES_OR_HANGS = "green closes connections after accepting them or hangs, /health passes"


def scenarios(env: EnvironmentConfig) -> dict[str, Scenario]:
    """The scenarios of issue #24; green fails from the first shift."""
    shift = _shift(env)
    return {
        "healthy release": Scenario("healthy release"),
        "5xx storm on green": Scenario("5xx storm on green", green=Behaviour(error_fraction=1.0)),
        "20% error regression on green": Scenario(
            "20% error regression on green", green=Behaviour(error_fraction=0.2)
        ),
        REFUSES: Scenario(REFUSES, green=Behaviour(connection_error_fraction=1.0)),
        CLOSES_OR_HANGS: Scenario(CLOSES_OR_HANGS, green=Behaviour(unanswered_fraction=1.0)),
        "green latency x5": Scenario("green latency x5", green=Behaviour(latency_factor=5.0)),
        "zero traffic": Scenario("zero traffic", requests_per_minute=0.0),
        "blue fails after the shift": Scenario(
            "blue fails after the shift",
            blue=Behaviour(
                error_fraction=1.0,
                connection_error_fraction=0.0,
                failing_health_checks=True,
                from_minute=shift,
            ),
        ),
    }


def _shift(env: EnvironmentConfig) -> float:
    from config.model import shift_minutes

    return float(shift_minutes(env.deployment.config_name) or 0)


def with_delays(r: Replay, arrival: int, poll: float) -> Replay:
    return replace(r, arrival_delay_minutes=arrival, poll_delay_minutes=poll)


def sees_load_balancer_5xx(release: ServiceRelease) -> bool:
    """Whether a rollback alarm of ``release`` reads the load balancer's own
    5xx (``HTTPCode_ELB_5XX_Count``): the only metric that sees a target
    closing accepted connections or hanging. The stacks add it only for a
    service alone behind its load balancer (stacks/services.py,
    ``rollback_alarms``), where the 5xx can be attributed to it."""
    return any(
        m.name == "HTTPCode_ELB_5XX_Count"
        for alarm in release.rollback_alarms
        for m in alarm.inputs.values()
    )
