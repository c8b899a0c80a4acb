"""Small helpers several test modules share (a helper module, not a test
module: no test module imports another, tests/test_test_layout.py)."""

from __future__ import annotations

import json

import pytest

from config import ConfigError, load_environments


def one_line(text: str) -> str:
    """The one line a command said (blank lines and make's own
    ``make: *** [...] Error N`` aside); fails unless there is exactly one."""
    lines = [
        line for line in text.splitlines() if line.strip() and not line.startswith("make: ***")
    ]
    assert len(lines) == 1, text
    return lines[0]


def refusal_of(err: str, command: str) -> str:
    """The reason of the one line ``<command> refused: <reason>`` a command
    printed on stderr; fails unless ``err`` is exactly that one line."""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(f"{command} refused: "), err
    return err[len(f"{command} refused: ") : -1]


def problems_of(*envs) -> str:
    """The ``ConfigError`` loading exactly ``envs`` raises, as one text."""
    with pytest.raises(ConfigError) as caught:
        load_environments(defined=envs)
    return str(caught.value)


def problem_of(problems, field: str) -> str:
    """The one problem about ``field`` (``<field>: ...``) among ``problems``;
    fails unless there is exactly one. Tests then assert the value given and
    the values allowed, not the whole sentence."""
    found = [p for p in problems if p.startswith(f"{field}: ")]
    assert len(found) == 1, (field, list(problems))
    return found[0]


def in_place_of_namesake(env, environments) -> tuple:
    """``environments`` with ``env`` in place of the one of its name."""
    return tuple(env if e.name == env.name else e for e in environments)


#: Construct id of the card-data findings log group every stack with log
#: groups gets (modules/observability/data_protection.py, D59).
FINDINGS_GROUP = "card-data-findings"


def log_groups_but_findings(stack) -> dict[str, dict]:
    """The stack's log groups other than its card-data findings group."""
    groups = stack.resources("aws_cloudwatch_log_group")
    return {key: body for key, body in groups.items() if key != FINDINGS_GROUP}


#: The partition as the synthesized bootstrap stack spells it.
PARTITION = "${data.aws_partition.partition.partition}"


def account_of(env) -> str:
    """The account as the synthesized stacks spell it: the configured id,
    else the caller identity's token."""
    return env.account_id or "${data.aws_caller_identity.current.account_id}"


def iam_arn(env, kind: str, name: str) -> str:
    return f"arn:{PARTITION}:iam::{account_of(env)}:{kind}/{name}"


def inline_policy(stack, key_part: str) -> list[dict]:
    """The statements of the bootstrap stack's ``pipeline_<key_part>-policy``
    (``plan`` or ``deploy``)."""
    [found] = [
        json.loads(p["policy"])["Statement"]
        for key, p in stack.resources("aws_iam_role_policy").items()
        if key.startswith(f"pipeline_{key_part}-policy")
    ]
    return found
