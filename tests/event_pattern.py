"""A small EventBridge event-pattern matcher for tests, implementing only
the operators the platform's rules use (EventBridge user guide, "Event
patterns" and "Comparison operators",
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html):

- a list of literals: exact match of one of them;
- ``{"prefix": "..."}``;
- ``{"numeric": [">=", n]}`` (only ``>=``, one bound);
- ``{"anything-but": literal or [literals]}``.

Any other operator (suffix, wildcard, exists, cidr, equals-ignore-case,
``$or``, other numeric comparisons) is refused, so a rule that starts using
one cannot pass a test unevaluated.

Matching as EventBridge does: every field of the pattern must match; a
field's values are collected through arrays (an array matches when one of
its elements does, also inside arrays of objects); a field missing from
the event matches nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

_LITERALS = (str, int, float, bool, type(None))
#: Stands in for a missing field: no literal or operator matches it.
_MISSING = object()


class UnsupportedPattern(ValueError):
    """The pattern uses an operator this matcher does not implement."""


def _values(node: object, path: tuple[str, ...]) -> Iterator[object]:
    if isinstance(node, list):
        for item in node:
            yield from _values(item, path)
        return
    if not path:
        yield node
        return
    if isinstance(node, dict) and path[0] in node:
        yield from _values(node[path[0]], path[1:])


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _leaf_matches(matcher: object, value: object) -> bool:
    if isinstance(matcher, _LITERALS):
        if _is_number(matcher) and _is_number(value):
            return value == matcher
        return type(value) is type(matcher) and value == matcher
    if not isinstance(matcher, dict) or len(matcher) != 1:
        raise UnsupportedPattern(f"matcher {matcher!r}")
    ((operator, operand),) = matcher.items()
    if operator == "prefix":
        if not isinstance(operand, str):
            raise UnsupportedPattern(f"prefix {operand!r}")
        return isinstance(value, str) and value.startswith(operand)
    if operator == "numeric":
        if (
            not isinstance(operand, list)
            or len(operand) != 2
            or operand[0] != ">="
            or not isinstance(operand[1], (int, float))
        ):
            raise UnsupportedPattern(f"numeric {operand!r}: only ['>=', n] is implemented")
        return _is_number(value) and value >= operand[1]
    if operator == "anything-but":
        excluded = operand if isinstance(operand, list) else [operand]
        if not all(isinstance(e, _LITERALS) for e in excluded):
            raise UnsupportedPattern(f"anything-but {operand!r}: only literals are implemented")
        return not any(_leaf_matches(e, value) for e in excluded)
    raise UnsupportedPattern(f"operator {operator!r} is not implemented")


def _leaves(pattern: dict, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], list]]:
    for key, value in pattern.items():
        if key.startswith("$"):
            raise UnsupportedPattern(f"{key} is not implemented")
        if isinstance(value, dict):
            yield from _leaves(value, (*path, key))
        elif isinstance(value, list) and value:
            yield (*path, key), value
        else:
            raise UnsupportedPattern(f"{'.'.join((*path, key))}: {value!r} is not a list")


def check(pattern: object) -> None:
    """Raises ``UnsupportedPattern`` for a pattern outside what is
    implemented here: not a non-empty object, a field that is neither an
    object nor a non-empty array, an operator not listed above."""
    if not isinstance(pattern, dict) or not pattern:
        raise UnsupportedPattern(f"{pattern!r}: a pattern is a non-empty object")
    for _, matchers in _leaves(pattern):
        for matcher in matchers:
            _leaf_matches(matcher, _MISSING)


def matches(pattern: dict, event: dict) -> bool:
    """Whether EventBridge would deliver ``event`` to a rule with ``pattern``."""
    check(pattern)
    for path, matchers in _leaves(pattern):
        values = list(_values(event, path))
        # Every matcher is evaluated (against a stand-in when the field is
        # missing), so an unsupported one is refused whatever the event.
        results = [_leaf_matches(m, v) for m in matchers for v in values or [_MISSING]]
        if not values or not any(results):
            return False
    return True
