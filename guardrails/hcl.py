"""Reading Terraform template strings: where a ``${...}`` interpolation ends.

Shared by the contract rules (guardrails/rules/tf.py) and the structural
check (guardrails/structural.py); no import beyond the standard library, so
the structural check does not start cdktf.
"""

from __future__ import annotations


def interpolation_end(text: str, start: int) -> int | None:
    """Index just past the ``}`` closing the interpolation opened at
    ``text[start:start + 2] == "${"``, skipping braces inside HCL strings;
    None when it never closes."""
    depth, index, quoted = 1, start + 2, False
    while index < len(text):
        char = text[index]
        if quoted:
            if char == "\\":
                index += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return None
