"""A small IAM policy evaluator: an explicit Deny wins, else some Allow must
apply. Actions and resources match as IAM does (``*``, ``?``; actions
case-insensitive); a service principal matches ``Principal.Service`` or
``"*"``. Condition operators and elements it does not implement
(``NotAction``, ``NotResource``, ``NotPrincipal``) are refused
(``Unsupported``), so nothing passes unevaluated; a condition key the
request does not carry makes the operator false (IAM's rule for keys absent
from the context, without ``IfExists``). The tests evaluate synthesized
policies with it; ``make verify`` the live key and topic policies
(verify/checks/events.py)."""

from __future__ import annotations

from fnmatch import fnmatchcase


class Unsupported(ValueError):
    """The policy uses an operator or element this evaluator does not implement."""


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _string_equals(values, patterns) -> bool:
    return any(v == p for v in values for p in patterns)


def _like(values, patterns) -> bool:
    return any(fnmatchcase(v, p) for v in values for p in patterns)


def _numeric_less_than(values, patterns) -> bool:
    return any(float(v) < float(p) for v in values for p in patterns)


def _bool(values, patterns) -> bool:
    return any(str(v).lower() == p.lower() for v in values for p in patterns)


OPERATORS = {
    "Bool": _bool,
    "StringEquals": _string_equals,
    "ArnEquals": _string_equals,
    "StringLike": _like,
    "ArnLike": _like,
    "NumericLessThan": _numeric_less_than,
}
NEGATED = {
    "StringNotLike": "StringLike",
    "ArnNotLike": "ArnLike",
    "StringNotEquals": "StringEquals",
}


def _condition_holds(condition: dict, context: dict) -> bool:
    for operator, block in condition.items():
        if_exists = operator.endswith("IfExists")
        operator = operator.removesuffix("IfExists")
        for key, patterns in block.items():
            present = context.get(key)
            base = NEGATED.get(operator, operator)
            if base not in OPERATORS:
                raise Unsupported(f"condition operator {operator} not implemented")
            if present is None:
                if operator in NEGATED or if_exists:
                    continue  # a negated or ...IfExists operator holds for an absent key
                return False
            matched = OPERATORS[base](as_list(present), [str(p) for p in as_list(patterns)])
            if matched == (operator in NEGATED):
                return False
    return True


def _principal_matches(statement: dict, service: str | None) -> bool:
    if service is None:
        return True  # an identity policy: the principal is its holder
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return "*" in as_list(principal.get("AWS", [])) or service in as_list(
        principal.get("Service", [])
    )


def applies(
    statement: dict, action: str, resource: str, context: dict, service: str | None = None
) -> bool:
    refused = {"NotAction", "NotResource", "NotPrincipal"} & set(statement)
    if refused:
        raise Unsupported(f"{', '.join(sorted(refused))} not implemented")
    if not _principal_matches(statement, service):
        return False
    if not any(fnmatchcase(action.lower(), a.lower()) for a in as_list(statement["Action"])):
        return False
    if not any(fnmatchcase(resource, r) for r in as_list(statement.get("Resource", "*"))):
        return False
    return _condition_holds(statement.get("Condition", {}), context)


def allowed(
    statements: list[dict],
    action: str,
    resource: str = "*",
    *,
    service: str | None = None,
    **context,
) -> bool:
    """Whether ``statements`` allow ``action`` on ``resource`` with the
    request's condition ``context`` (keys as IAM spells them); ``service``:
    the calling service principal, for a resource policy (None: an identity
    policy's holder)."""
    effects = {s["Effect"] for s in statements if applies(s, action, resource, context, service)}
    return "Allow" in effects and "Deny" not in effects


def denied(statements: list[dict], action: str, resource: str = "*", **context) -> bool:
    """Whether an explicit Deny of the identity policy ``statements``
    applies: within one account, the only thing that stops a request
    another policy allows by itself (a role's trust naming the caller's
    ARN, a key policy naming it)."""
    return any(s["Effect"] == "Deny" and applies(s, action, resource, context) for s in statements)
