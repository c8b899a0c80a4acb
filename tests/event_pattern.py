"""A small EventBridge event-pattern matcher: the operators the stacks use,
nothing else (D51).

Semantics (EventBridge user guide, "Amazon EventBridge event patterns",
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html):
every field the pattern names must be in the event; an object recurses; an
array of values matches when the event's value (or, for an array in the
event, any of its values) equals one of them. Content filters (``prefix``,
``suffix``, ``anything-but``, ``numeric``, ``exists``, ``cidr``,
``wildcard``, ``equals-ignore-case``, ``$or``) are objects inside the array
or keys of the pattern and are refused with ``UnsupportedPattern``, so a
rule that starts using one cannot pass untested.
"""

from __future__ import annotations

from typing import Any


class UnsupportedPattern(ValueError):
    """A pattern outside the exact-value subset implemented here."""


def _literal(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def check(pattern: Any, path: str = "") -> None:
    """Raises ``UnsupportedPattern`` for anything but nested objects whose
    leaves are non-empty arrays of exact values."""
    if not isinstance(pattern, dict) or not pattern:
        raise UnsupportedPattern(f"{path or 'pattern'}: must be a non-empty object")
    for key, value in pattern.items():
        where = f"{path}.{key}" if path else key
        if key.startswith("$"):
            raise UnsupportedPattern(f"{where}: {key} is not implemented")
        if isinstance(value, dict):
            check(value, where)
        elif isinstance(value, list):
            if not value:
                raise UnsupportedPattern(f"{where}: an empty array matches nothing")
            for member in value:
                if not _literal(member):
                    raise UnsupportedPattern(
                        f"{where}: {member!r} is a content filter; only exact values are "
                        "implemented in tests/event_pattern.py"
                    )
        else:
            raise UnsupportedPattern(f"{where}: {value!r} is not an array or object")


def matches(pattern: dict, event: dict) -> bool:
    """True when ``event`` matches ``pattern`` (checked first)."""
    check(pattern)
    return _matches(pattern, event)


def _matches(pattern: dict, event: Any) -> bool:
    if not isinstance(event, dict):
        return False
    for key, wanted in pattern.items():
        if key not in event:
            return False
        value = event[key]
        if isinstance(wanted, dict):
            if not _matches(wanted, value):
                return False
            continue
        values = value if isinstance(value, list) else [value]
        if not any(v == w and type(v) is type(w) for v in values for w in wanted):
            return False
    return True
