"""One JSON snapshot per synthesized stack, so a PR shows its infrastructure diff.

Files: tests/__snapshots__/test_snapshots/test_stack[<stack name>].json.
Volatile or irrelevant parts are removed: every "//" block (cdktf metadata:
construct paths, version, stack name). The synthesized JSON holds no absolute
paths, timestamps or machine names (the bootstrap stacks' local backend path
is relative). Strings that hold a JSON document (IAM and key policies,
container definitions) are expanded into {"(json)": <document>} so a policy
change shows as changed lines instead of one changed line of escaped text.

After an intended change: `.venv/bin/python -m pytest tests/test_snapshots.py
--snapshot-update`, then review the snapshot diff with the code diff.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

JSON_MARKER = "(json)"


def stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k != "//"}
    if isinstance(value, list):
        return [stable(v) for v in value]
    if isinstance(value, str) and value[:1] in "{[":
        try:
            document = json.loads(value)
        except ValueError:
            return value
        if isinstance(document, (dict, list)):
            return {JSON_MARKER: stable(document)}
    return value


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


def test_stack(example_stacks, snapshot_json):
    """The snapshots are of the example (tests/fixtures/example.py), whatever
    the configuration under test."""
    stacks = example_stacks
    assert stacks, "no stacks synthesized"
    mismatched = []
    for name, stack in sorted(stacks.items()):
        try:
            assert stable(stack.json) == snapshot_json(name=name)
        except AssertionError:
            mismatched.append(name)
    assert not mismatched, (
        f"synthesized JSON differs from the snapshot of {', '.join(mismatched)}; if intended, run "
        "`.venv/bin/python -m pytest tests/test_snapshots.py --snapshot-update` and commit the diff"
    )


def test_stable_removes_metadata_and_expands_documents():
    raw = {
        "//": {"metadata": {"version": "0.21.0"}},
        "resource": {
            "aws_iam_role": {
                "r": {
                    "//": {"metadata": {"path": "a/b"}},
                    "assume_role_policy": '{"Statement": [{"Effect": "Allow"}]}',
                    "name": "{not json",
                    "tags": ["[1]"],
                }
            }
        },
    }
    assert stable(raw) == {
        "resource": {
            "aws_iam_role": {
                "r": {
                    "assume_role_policy": {JSON_MARKER: {"Statement": [{"Effect": "Allow"}]}},
                    "name": "{not json",
                    "tags": [{JSON_MARKER: [1]}],
                }
            }
        }
    }
