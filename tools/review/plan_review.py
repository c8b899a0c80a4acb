"""Review of real Terraform plans for a pull request, without credentials.

Reads plans in Terraform's JSON output format (``terraform show -json
PLANFILE``, ``format_version`` 1.x; ``make plan ENV=<env>`` writes them to
``plans/<env>/<stack>.json``) and prints one Markdown report, for a pull
request comment or a GitHub Actions job summary:

* per stack, the number of resources created, updated, replaced and
  destroyed, and per changed resource its action, the attributes that
  change and those that force its replacement;
* four flags, each marked in the report:

  (a) a stateful resource (database cluster or instance, KMS key, secret,
      S3 bucket, log group, ECR repository) is destroyed or replaced;
  (b) access widens: an IAM, key, bucket or other resource policy gains
      principals, actions, resources or loses a condition or a Deny; a
      security group admits new CIDRs, ports or groups; a managed policy
      is attached;
  (c) a change to a field CodeDeploy owns, which reverts a release: the
      ``CODEDEPLOY_OWNED`` fields of a ``CODE_DEPLOY`` ECS service (the
      CODE_DEPLOY contract table, config/codedeploy_contract.py),
      the replacement of such a service (it starts again on Terraform's
      task definition), and ``default_action`` / ``action`` of the listeners
      and listener rules CodeDeploy rewrites (PAY-CD-002);
  (d) a changed or removed output that downstream stacks read through
      ``terraform_remote_state`` (cdktf's ``cross-stack-output-*``).

The tier of a plan's environment decides what blocks: its environment is
the AWS provider's ``environment`` default tag in the plan's configuration,
its tier the one configuration declares (``EnvironmentConfig.is_production``),
never the name. ``--tier`` overrides that for every plan given.

Usage::

    .venv/bin/python tools/review/plan_review.py plans/prod/*.json > review.md
    .venv/bin/python tools/review/plan_review.py --output review.md plans/dev/*.json

Exit codes (docs/plan-review.md):

* 0 -- nothing blocks: (b) and (d), and (a)/(c) outside the production tier,
  are reported only;
* 1 -- (a) or (c) in a production-tier environment;
* 2 -- unreadable input (not JSON, not a plan, an unsupported format
  version, an errored plan, an environment whose tier is unknown), with one
  line on stderr saying why; no report is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from config import ConfigError, environment_tiers  # noqa: E402
from config.codedeploy_contract import CODEDEPLOY_OWNED, fields_of_class  # noqa: E402
from guardrails.rules import tf  # noqa: E402
from guardrails.rules.ecs_codedeploy_service import SERVICE, controller_type  # noqa: E402
from guardrails.rules.prod_deletion_protection import PREVENT_DESTROY_TYPES  # noqa: E402

OK, BLOCKED, UNREADABLE = 0, 1, 2
PRODUCTION, NON_PRODUCTION = "production", "non-production"

#: (a): what PAY-DEL-001 protects in the production tier, plus the database
#: instances (a replaced cluster instance is a failover and a cold cache).
STATEFUL_TYPES = tuple(PREVENT_DESTROY_TYPES) + ("aws_rds_cluster_instance", "aws_db_instance")
#: (c): ECS service arguments only a CodeDeploy deployment may change.
CODEDEPLOY_FIELDS = fields_of_class(CODEDEPLOY_OWNED)
LISTENER, LISTENER_RULE, TARGET_GROUP = (
    "aws_lb_listener",
    "aws_lb_listener_rule",
    "aws_lb_target_group",
)
DEPLOYMENT_GROUP = "aws_codedeploy_deployment_group"
#: (d): cdktf names every output a cross-stack reference reads this way.
CROSS_STACK_OUTPUT = "cross-stack-output-"
#: (b): attributes holding a JSON policy document, on any resource type.
POLICY_ATTRIBUTES = ("policy", "assume_role_policy")
SECURITY_GROUP_TYPES = ("aws_security_group", "aws_default_security_group")
SECURITY_GROUP_RULE_TYPES = {
    "aws_vpc_security_group_ingress_rule": "ingress",
    "aws_vpc_security_group_egress_rule": "egress",
}

FLAG_TITLES = {
    "a": "stateful resource destroyed or replaced",
    "b": "access widened",
    "c": "field CodeDeploy owns changed (reverts a release)",
    "d": "output read by downstream stacks changed or removed",
}
BLOCKING_FLAGS = ("a", "c")
COUNTED = ("create", "update", "replace", "destroy")
#: Rows of the per-stack change table; flags are never cut.
MAX_ROWS = 100


class PlanError(Exception):
    """Unreadable input: exit code 2, one line."""


@dataclass(frozen=True)
class Flag:
    code: str
    address: str
    detail: str
    blocking: bool

    def markdown(self) -> str:
        mark = "⛔ **BLOCKING**" if self.blocking else "⚠️ **REVIEW**"
        return f"- {mark} ({self.code}) {FLAG_TITLES[self.code]}: `{self.address}` {self.detail}"


@dataclass
class ResourceChange:
    address: str
    type: str
    name: str
    action: str
    before: dict
    after: dict
    after_unknown: dict
    replace_paths: list[str]
    reason: str | None
    previous_address: str | None

    @property
    def changed(self) -> list[str]:
        """Top-level attributes whose value changes (or becomes known only
        after apply); all of them for a create or destroy are implied."""
        if self.action in ("create", "destroy", "forget"):
            return []
        keys = sorted(set(self.before) | set(self.after) | set(self.after_unknown))
        return [
            key
            for key in keys
            if _unknown(self.after_unknown.get(key)) or self.before.get(key) != self.after.get(key)
        ]

    def unknown(self, attribute: str) -> bool:
        return _unknown(self.after_unknown.get(attribute))


@dataclass
class StackReview:
    path: Path
    stack: str
    environment: str | None
    tier: str
    changes: list[ResourceChange]
    outputs: dict[str, dict]
    config_text: str
    flags: list[Flag] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {a: sum(1 for c in self.changes if c.action == a) for a in COUNTED}

    @property
    def production(self) -> bool:
        return self.tier == PRODUCTION


# --------------------------------------------------------------- reading


def _unknown(value: Any) -> bool:
    """after_unknown holds true where a value is known only after apply."""
    if value is True:
        return True
    if isinstance(value, dict):
        return any(_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_unknown(v) for v in value)
    return False


def _path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_SINGLE_ACTIONS = {
    "create": "create",
    "update": "update",
    "delete": "destroy",
    "no-op": "no-op",
    "read": "read",
    "forget": "forget",
}


def _action(actions: list[str]) -> str:
    key: tuple[str, ...] = tuple(actions)
    if key in (("delete", "create"), ("create", "delete")):
        return "replace"
    if len(key) == 1 and key[0] in _SINGLE_ACTIONS:
        return _SINGLE_ACTIONS[key[0]]
    return "+".join(actions) or "no-op"  # a newer Terraform's action, shown as is


def load_plan(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PlanError(f"{path}: cannot read it ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise PlanError(
            f"{path}: not UTF-8 text; a binary plan file? Run terraform show -json PLANFILE"
        ) from None
    try:
        plan = json.loads(text)
    except ValueError as error:
        raise PlanError(f"{path}: not JSON ({error})") from None
    if not isinstance(plan, dict) or "format_version" not in plan:
        raise PlanError(f"{path}: not a Terraform plan in JSON (no format_version)")
    version = str(plan["format_version"])
    if version.split(".")[0] != "1":
        raise PlanError(f"{path}: format_version {version} is not supported; supported: 1.x")
    if "planned_values" not in plan and "resource_changes" not in plan:
        what = "a state, not a plan" if "values" in plan else "not a plan"
        raise PlanError(f"{path}: {what} (no planned_values or resource_changes)")
    if plan.get("errored") is True:
        raise PlanError(f"{path}: the plan errored; Terraform could not finish planning")
    for key in ("resource_changes", "output_changes", "configuration"):
        expected = list if key == "resource_changes" else dict
        if key in plan and not isinstance(plan[key], expected):
            raise PlanError(f"{path}: {key} is not a JSON {expected.__name__}")
    return plan


def default_tags(plan: dict) -> dict[str, str]:
    """The AWS provider's constant default tags from the plan's configuration."""
    providers = (plan.get("configuration") or {}).get("provider_config") or {}
    for key, provider in sorted(providers.items()):
        if key != "aws" and not key.startswith("aws."):
            continue
        for block in tf.blocks((provider.get("expressions") or {}).get("default_tags")):
            tags = (block.get("tags") or {}).get("constant_value")
            if isinstance(tags, dict):
                return {str(k): str(v) for k, v in tags.items()}
    return {}


def read_review(path: Path, tier_override: str | None, tiers: dict[str, str] | None) -> StackReview:
    plan = load_plan(path)
    tags = default_tags(plan)
    environment = tags.get("environment")
    stack = tags.get("stack") or path.stem
    if tier_override is not None:
        tier = tier_override
    else:
        if environment is None:
            raise PlanError(
                f"{path}: cannot tell the environment (no 'environment' default tag on the aws "
                "provider); pass --tier production|non-production"
            )
        tiers = tiers if tiers is not None else environment_tiers()
        if environment not in tiers:
            raise PlanError(
                f"{path}: environment {environment!r} is not defined in configuration; allowed: "
                f"{', '.join(tiers)} (or pass --tier)"
            )
        tier = tiers[environment]
    changes = []
    for index, entry in enumerate(plan.get("resource_changes") or []):
        if not isinstance(entry, dict) or not isinstance(entry.get("change"), dict):
            raise PlanError(f"{path}: resource_changes[{index}] has no change object")
        if entry.get("mode", "managed") != "managed":
            continue
        change = entry["change"]
        changes.append(
            ResourceChange(
                address=str(entry.get("address")),
                type=str(entry.get("type")),
                name=str(entry.get("name")),
                action=_action(list(change.get("actions") or [])),
                before=change.get("before") if isinstance(change.get("before"), dict) else {},
                after=change.get("after") if isinstance(change.get("after"), dict) else {},
                after_unknown=change.get("after_unknown")
                if isinstance(change.get("after_unknown"), dict)
                else {},
                replace_paths=[_path(p) for p in change.get("replace_paths") or []],
                reason=entry.get("action_reason"),
                previous_address=entry.get("previous_address"),
            )
        )
    return StackReview(
        path=path,
        stack=stack,
        environment=environment,
        tier=tier,
        changes=changes,
        outputs=plan.get("output_changes") or {},
        config_text=json.dumps(plan.get("configuration") or {}),
    )


# --------------------------------------------------------------- (a) stateful


def stateful_flags(review: StackReview) -> Iterator[Flag]:
    for change in review.changes:
        if change.type not in STATEFUL_TYPES or change.action not in ("replace", "destroy"):
            continue
        if change.action == "replace":
            forced = ", ".join(f"`{p}`" for p in change.replace_paths) or "not named by the plan"
            detail = f"is **replaced** (destroyed, then created new): forced by {forced}"
        else:
            detail = "is **destroyed**"
        if change.reason:
            detail += f" ({change.reason})"
        yield Flag("a", change.address, detail + "; its data does not come back", review.production)


# --------------------------------------------------------------- (b) widening


def _principals(statement: dict) -> list[str]:
    for key, prefix in (("Principal", ""), ("NotPrincipal", "NOT ")):
        if key in statement:
            value = statement[key]
            if not isinstance(value, dict):
                return [prefix + str(p) for p in tf.as_list(value)]
            return [
                f"{prefix}{kind}:{p}" for kind, ps in sorted(value.items()) for p in tf.as_list(ps)
            ]
    return ["(identity policy)"]


def _listed(statement: dict, key: str) -> list[str]:
    if key in statement:
        return [str(v) for v in tf.as_list(statement[key])]
    if f"Not{key}" in statement:
        return [f"NOT {v}" for v in tf.as_list(statement[f"Not{key}"])]
    return ["(none)"]


def grants(document: Any) -> set[tuple[str, str, str, str, str]]:
    """(effect, principal, action, resource, condition) of every statement."""
    if isinstance(document, str):
        try:
            document = tf.template_json(document)
        except ValueError:
            return {("Unparsed", "", "", "", document)}
    if not isinstance(document, dict):
        return set()
    found = set()
    for statement in tf.blocks(document.get("Statement")):
        condition = json.dumps(statement.get("Condition") or {}, sort_keys=True)
        effect = str(statement.get("Effect", "Allow"))
        for principal in _principals(statement):
            for action in _listed(statement, "Action"):
                for resource in _listed(statement, "Resource"):
                    found.add((effect, principal, action, resource, condition))
    return found


def _summary(items: Iterable[str], limit: int = 6) -> str:
    values = sorted(set(items))
    shown = ", ".join(f"`{v}`" for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def policy_widening(before: Any, after: Any) -> str | None:
    old, new = grants(before), grants(after)
    added = {g for g in new - old if g[0] == "Allow"}
    lost_denies = {g for g in old - new if g[0] == "Deny"}
    parts = []
    if added:
        old_allowed = {g[1:4] for g in old if g[0] == "Allow"}
        loosened = [g for g in added if g[1:4] in old_allowed]  # same grant, other condition
        fresh = [g for g in added if g[1:4] not in old_allowed]
        if fresh:
            old_p = {g[1] for g in old}
            old_a = {g[2] for g in old}
            old_r = {g[3] for g in old}
            new_p = [g[1] for g in fresh if g[1] not in old_p]
            new_a = [g[2] for g in fresh if g[2] not in old_a]
            new_r = [g[3] for g in fresh if g[3] not in old_r]
            text = f"{len(fresh)} new allowed grant(s)"
            details = [
                f"{label} {_summary(values)}"
                for label, values in (
                    ("principals", new_p),
                    ("actions", new_a),
                    ("resources", new_r),
                )
                if values
            ]
            if not details:
                details = [f"actions {_summary(g[2] for g in fresh)} in new combinations"]
            parts.append(text + ": new " + "; new ".join(details))
        if loosened:
            parts.append(
                f"conditions changed on {len(loosened)} allowed grant(s) "
                f"(actions {_summary(g[2] for g in loosened)})"
            )
    if lost_denies:
        parts.append(f"Deny removed for actions {_summary(g[2] for g in lost_denies)}")
    if any(g[0] == "Unparsed" for g in new - old):
        parts.append("the new document is not JSON Terraform can read; review it")
    return "; ".join(parts) or None


def _source(network: str) -> str:
    parsed = tf.literal_cidr(network)
    if parsed is None:
        return f"`{network}`"
    if parsed.prefixlen == 0:
        return f"`{network}` (anywhere)"
    return f"`{network}` ({'private' if tf.is_private(parsed) else 'public'})"


def _ports(protocol: Any, low: Any, high: Any) -> str:
    if str(protocol) in ("-1", "all"):
        return "all traffic"
    if low in (None, -1) and high in (None, -1):
        return f"{protocol}"
    return f"{protocol}/{low}" if low == high else f"{protocol}/{low}-{high}"


def _block_rules(direction: str, body: dict) -> set[tuple[str, str, str]]:
    rules: set[tuple[str, str, str]] = set()
    for rule in tf.blocks(body.get(direction)):
        ports = _ports(rule.get("protocol"), rule.get("from_port"), rule.get("to_port"))
        sources = [
            *(str(c) for c in tf.as_list(rule.get("cidr_blocks"))),
            *(str(c) for c in tf.as_list(rule.get("ipv6_cidr_blocks"))),
            *(f"prefix list {p}" for p in tf.as_list(rule.get("prefix_list_ids"))),
            *(f"group {g}" for g in tf.as_list(rule.get("security_groups"))),
            *(["itself"] if tf.is_true(rule.get("self")) else []),
        ]
        rules.update((direction, ports, source) for source in sources)
    return rules


def _rule_resource(direction: str, body: dict) -> set[tuple[str, str, str]]:
    if not body:
        return set()
    ports = _ports(body.get("ip_protocol"), body.get("from_port"), body.get("to_port"))
    source = (
        body.get("cidr_ipv4")
        or body.get("cidr_ipv6")
        or (body.get("prefix_list_id") and f"prefix list {body['prefix_list_id']}")
        or (
            body.get("referenced_security_group_id")
            and f"group {body['referenced_security_group_id']}"
        )
        or "(unknown until apply)"
    )
    return {(direction, ports, str(source))}


def security_group_rules(review: StackReview, side: str) -> dict[str, set[tuple[str, str, str]]]:
    """group -> rules on one side of the plan ("before" or "after"): inline
    blocks and separate rule resources, so a rule that moves between
    resources is not reported as new."""
    groups: dict[str, set[tuple[str, str, str]]] = {}
    for change in review.changes:
        body = change.before if side == "before" else change.after
        if change.type in SECURITY_GROUP_TYPES and body:
            key = str(body.get("id") or change.address)
            for direction in ("ingress", "egress"):
                groups.setdefault(key, set()).update(_block_rules(direction, body))
        elif change.type in SECURITY_GROUP_RULE_TYPES and body:
            key = str(body.get("security_group_id") or change.address)
            groups.setdefault(key, set()).update(
                _rule_resource(SECURITY_GROUP_RULE_TYPES[change.type], body)
            )
    return groups


def _group_address(review: StackReview, key: str) -> str:
    for change in review.changes:
        for body in (change.before, change.after):
            if change.type in SECURITY_GROUP_TYPES and body and body.get("id") == key:
                return change.address
    return key


def widening_flags(review: StackReview) -> Iterator[Flag]:
    for change in review.changes:
        if change.action not in ("create", "update", "replace"):
            continue
        documents = [(a, change.before.get(a), change.after.get(a)) for a in POLICY_ATTRIBUTES]
        for index, inline in enumerate(tf.blocks(change.after.get("inline_policy"))):
            old = tf.blocks(change.before.get("inline_policy"))
            documents.append(
                (
                    f"inline_policy[{index}]",
                    old[index].get("policy") if index < len(old) else None,
                    inline.get("policy"),
                )
            )
        for attribute, before, after in documents:
            if change.unknown(attribute) and after is None:
                yield Flag(
                    "b",
                    change.address,
                    f"`{attribute}` is known only after apply; review its source",
                    False,
                )
                continue
            if after is None or after == before:
                continue
            widened = policy_widening(before, after)
            if widened:
                yield Flag("b", change.address, f"`{attribute}`: {widened}", False)
        if change.type.endswith("_policy_attachment"):
            arn = change.after.get("policy_arn")
            if arn != change.before.get("policy_arn"):
                shown = f"`{arn}`" if arn else "a policy known only after apply"
                yield Flag("b", change.address, f"attaches {shown}", False)
    before = security_group_rules(review, "before")
    for key, rules in sorted(security_group_rules(review, "after").items()):
        added = rules - before.get(key, set())
        if not added:
            continue
        described = "; ".join(
            f"{direction} {ports} from {_source(source)}"
            if direction == "ingress"
            else f"{direction} {ports} to {_source(source)}"
            for direction, ports, source in sorted(added)
        )
        yield Flag("b", _group_address(review, key), f"admits new traffic: {described}", False)


# --------------------------------------------------------------- (c) CodeDeploy


def _target_group_pairs(review: StackReview) -> Iterator[dict]:
    """Every target_group_pair_info of every deployment group, before and after."""
    for change in review.changes:
        if change.type == DEPLOYMENT_GROUP:
            for body in (change.before, change.after):
                for info in tf.blocks(body.get("load_balancer_info")):
                    yield from tf.blocks(info.get("target_group_pair_info"))


def _listener_arns(review: StackReview) -> set[str]:
    return {
        str(arn)
        for pair in _target_group_pairs(review)
        for route in ("prod_traffic_route", "test_traffic_route")
        for routed in tf.blocks(pair.get(route))
        for arn in tf.as_list(routed.get("listener_arns"))
    }


def _group_target_groups(review: StackReview) -> set[str]:
    """ARNs (and names) of the target groups deployment groups switch between."""
    names = {
        str(group.get("name"))
        for pair in _target_group_pairs(review)
        for group in tf.blocks(pair.get("target_group"))
    }
    found = set(names)
    for change in review.changes:
        if change.type == TARGET_GROUP:
            for body in (change.before, change.after):
                if body.get("name") in names and body.get("arn"):
                    found.add(str(body["arn"]))
    return found


def _forwards(actions: Any) -> set[str]:
    targets = set()
    for action in tf.blocks(actions):
        if action.get("target_group_arn"):
            targets.add(str(action["target_group_arn"]))
        for forward in tf.blocks(action.get("forward")):
            for group in tf.blocks(forward.get("target_group")):
                if group.get("arn"):
                    targets.add(str(group["arn"]))
    return targets


def codedeploy_flags(review: StackReview) -> Iterator[Flag]:
    listeners = _listener_arns(review)
    target_groups = _group_target_groups(review)
    for change in review.changes:
        if change.action not in ("update", "replace"):
            continue
        if change.type == SERVICE and "CODE_DEPLOY" in (
            controller_type(change.before),
            controller_type(change.after),
        ):
            owned = [f for f in CODEDEPLOY_FIELDS if f in change.changed]
            if change.action == "replace":
                forced = ", ".join(f"`{p}`" for p in change.replace_paths) or "the plan"
                yield Flag(
                    "c",
                    change.address,
                    f"is **replaced** (forced by {forced}): the new service starts on Terraform's "
                    "task definition and target group, not the last release's "
                    "(tools/ops/recreate_service.py re-creates it deliberately)",
                    review.production,
                )
            elif owned:
                yield Flag(
                    "c",
                    change.address,
                    f"changes {', '.join(f'`{f}`' for f in owned)}: only a CodeDeploy deployment "
                    "may change them (lifecycle.ignore_changes lost?); this reverts the last release "
                    "or fails UpdateService",
                    review.production,
                )
        elif change.type == LISTENER and "default_action" in change.changed:
            if (
                str(change.before.get("arn")) in listeners
                or str(change.after.get("arn")) in listeners
            ):
                yield Flag(
                    "c",
                    change.address,
                    "changes `default_action` of a CodeDeploy traffic listener: it would route "
                    "traffic back to the target group Terraform knows",
                    review.production,
                )
        elif change.type == LISTENER_RULE and "action" in change.changed:
            routed = _forwards(change.before.get("action")) | _forwards(change.after.get("action"))
            if routed & target_groups:
                yield Flag(
                    "c",
                    change.address,
                    "changes `action` of a rule forwarding to a deployment group's target "
                    "group: it would undo CodeDeploy's weighted forward",
                    review.production,
                )


# --------------------------------------------------------------- (d) outputs


def output_flags(review: StackReview, others: list[StackReview]) -> Iterator[Flag]:
    for name, change in sorted(review.outputs.items()):
        if not name.startswith(CROSS_STACK_OUTPUT) or not isinstance(change, dict):
            continue
        action = _action(list(change.get("actions") or []))
        if action == "destroy":
            what = "is **removed**"
        elif action in ("update", "replace"):
            if change.get("after_unknown") is True:
                what = "changes to a value known only after apply"
            else:
                what = "changes value"
        else:
            continue
        readers = sorted(o.stack for o in others if o is not review and name in o.config_text)
        read_by = f"read by {', '.join(readers)}" if readers else "read by downstream stacks"
        yield Flag(
            "d",
            f"output.{name}",
            f"{what} ({read_by} through terraform_remote_state): plan them again after this applies",
            False,
        )


# --------------------------------------------------------------- report


def review_plans(reviews: list[StackReview]) -> None:
    for review in reviews:
        review.flags = [
            *stateful_flags(review),
            *widening_flags(review),
            *codedeploy_flags(review),
            *output_flags(review, reviews),
        ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(reviews: list[StackReview]) -> str:
    blocking = [f for r in reviews for f in r.flags if f.blocking]
    reported = [f for r in reviews for f in r.flags if not f.blocking]
    lines = ["## Plan review", ""]
    if blocking:
        lines.append(
            f"**⛔ Blocked: {len(blocking)} finding(s) in production-tier stacks** "
            f"(flags a/c), {len(reported)} more reported."
        )
    else:
        lines.append(f"**✅ Nothing blocks.** {len(reported)} finding(s) reported for review.")
    lines += [
        "",
        "| stack | environment | tier | create | update | replace | destroy | flags |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for review in reviews:
        counts = review.counts
        codes = sorted({f.code + ("⛔" if f.blocking else "") for f in review.flags})
        lines.append(
            f"| {review.stack} | {review.environment or '?'} | {review.tier} | "
            + " | ".join(str(counts[a]) for a in COUNTED)
            + f" | {' '.join(codes) or '—'} |"
        )
    lines += [
        "",
        "Flags: (a) "
        + FLAG_TITLES["a"]
        + " · (b) "
        + FLAG_TITLES["b"]
        + " · (c) "
        + FLAG_TITLES["c"]
        + " · (d) "
        + FLAG_TITLES["d"]
        + ". ⛔ blocks (a and c in the "
        "production tier); ⚠️ reported only.",
    ]
    for review in reviews:
        lines += ["", f"### {review.stack}", ""]
        lines.append(
            f"`{review.path.name}` · environment {review.environment or '?'} ({review.tier} tier) · "
            + ", ".join(f"{review.counts[a]} to {a}" for a in COUNTED)
        )
        if review.flags:
            lines += ["", *[f.markdown() for f in review.flags]]
        changed = [c for c in review.changes if c.action not in ("no-op", "read")]
        if not changed:
            lines += ["", "No changes."]
            continue
        lines += [
            "",
            "<details><summary>Changed resources</summary>",
            "",
            "| action | resource | changed attributes | forces replacement |",
            "|---|---|---|---|",
        ]
        for change in changed[:MAX_ROWS]:
            attributes = ", ".join(
                f"`{a}`" + (" (known after apply)" if change.unknown(a) else "")
                for a in change.changed
            )
            if change.action == "create":
                attributes = "(new)"
            elif change.action in ("destroy", "forget"):
                attributes = (
                    "(removed)" if change.action == "destroy" else "(removed from state only)"
                )
            moved = f" (moved from `{change.previous_address}`)" if change.previous_address else ""
            forced = ", ".join(f"`{p}`" for p in change.replace_paths)
            lines.append(
                f"| {change.action} | `{change.address}`{moved} | {_cell(attributes) or '—'} | "
                f"{_cell(forced) or '—'} |"
            )
        if len(changed) > MAX_ROWS:
            lines.append(f"| … | {len(changed) - MAX_ROWS} more not shown | | |")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("plans", nargs="+", type=Path, metavar="PLAN.json")
    parser.add_argument(
        "--tier",
        choices=(PRODUCTION, NON_PRODUCTION),
        help="the tier of every plan given (default: from configuration, by the plan's environment tag)",
    )
    parser.add_argument("--output", type=Path, help="write the report here instead of stdout")
    args = parser.parse_args(argv)
    try:
        tiers = None if args.tier else environment_tiers()
        reviews = [read_review(path, args.tier, tiers) for path in args.plans]
    except PlanError as error:
        print(f"plan_review: {error}", file=sys.stderr)
        return UNREADABLE
    except ConfigError as error:
        problems = "; ".join(error.problems)
        print(
            f"plan_review: configuration is invalid, so no tier is known: {problems}",
            file=sys.stderr,
        )
        return UNREADABLE
    review_plans(reviews)
    report = render(reviews)
    if args.output:
        args.output.write_text(report, encoding="utf-8")
    else:
        sys.stdout.write(report)
    return BLOCKED if any(f.blocking for r in reviews for f in r.flags) else OK


if __name__ == "__main__":
    sys.exit(main())
