"""Reading IAM policy documents out of synthesized Terraform JSON.

Modules write policies with ``json.dumps`` (``modules/iam.py``), so a
policy argument is a JSON string in which cdktf left each token as a
``${...}`` interpolation inside a string value: still valid JSON. A policy
written as one expression (``${data.aws_iam_policy_document.x.json}``,
``${jsonencode(...)}``) cannot be read at synthesis; ``statements`` returns
None for it and each rule says what it does with that.
"""

from __future__ import annotations

import json
from typing import Any

from guardrails.rules import tf


def statements(policy: Any) -> list[dict] | None:
    """The statements of ``policy`` (a JSON string or an already parsed
    document), or None when it is not readable JSON."""
    if isinstance(policy, dict):
        document = policy
    elif isinstance(policy, str):
        try:
            document = json.loads(policy)
        except ValueError:
            return None
    else:
        return None
    if not isinstance(document, dict):
        return None
    return [s for s in tf.as_list(document.get("Statement")) if isinstance(s, dict)]


def principals(statement: dict, kind: str) -> list[str]:
    """Principals of ``kind`` (``AWS``, ``Service``, ``Federated``) of a
    statement; ``"Principal": "*"`` counts as ``AWS: *``."""
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"] if kind == "AWS" else []
    if isinstance(principal, dict):
        return [str(p) for p in tf.as_list(principal.get(kind))]
    return []


def actions(statement: dict) -> list[str]:
    return [str(a) for a in tf.as_list(statement.get("Action"))]


def condition_keys(statement: dict) -> set[str]:
    """Condition keys of a statement, lower-cased (IAM keys are
    case-insensitive), whatever the operator."""
    keys: set[str] = set()
    condition = statement.get("Condition")
    if isinstance(condition, dict):
        for block in condition.values():
            if isinstance(block, dict):
                keys.update(str(k).lower() for k in block)
    return keys


def is_allow(statement: dict) -> bool:
    return statement.get("Effect") == "Allow"
