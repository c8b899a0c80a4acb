"""PAY-TF-001 in detail: what the stack JSON shows of a backend, and each
way a remote backend can lose encryption, the state key or locking."""

from __future__ import annotations

import pytest

from framework import LocalBackend
from guardrails.rules import RULES_BY_ID, Finding
from tests.rules_helpers import ctx, finding_on, state_backend, synth_json, unit_stack

RULE = RULES_BY_ID["PAY-TF-001"]

#: What the fix of every PAY-TF-001 finding asks for: the three settings.
S3_SETTINGS = ("encrypt = true", "use_lockfile = true", "kms_key_id = the state key")


def findings(tmp_path, build) -> list[Finding]:
    stack = unit_stack(tmp_path)
    build(stack)
    return RULE.check(synth_json(stack), ctx())


def asks_for_the_s3_backend(finding: Finding) -> bool:
    return "S3 backend" in finding.fix and all(s in finding.fix for s in S3_SETTINGS)


def test_backend_as_the_rule_reads_it(tmp_path):
    """cdktf writes the backend under terraform.backend, the override merged in."""
    stack = unit_stack(tmp_path)
    state_backend(stack)
    assert synth_json(stack)["terraform"]["backend"] == {
        "s3": {
            "bucket": "unit-state-bucket",
            "key": "unit/services.tfstate",
            "region": "eu-west-1",
            "encrypt": True,
            "kms_key_id": "alias/unit-terraform-state",
            "use_lockfile": True,
        }
    }


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda s: state_backend(s), id="s3-complete"),
        pytest.param(
            lambda s: state_backend(
                s, kms_key_id="arn:aws:kms:eu-west-1:111111111111:alias/unit-terraform-state"
            ),
            id="s3-alias-arn",
        ),
        pytest.param(lambda s: LocalBackend(s, path="state/unit.tfstate"), id="local"),
        pytest.param(lambda s: None, id="no-backend"),
    ],
)
def test_allowed_backends(tmp_path, build):
    assert findings(tmp_path, build) == []


@pytest.mark.parametrize(
    "build, problem",
    [
        pytest.param(
            lambda s: state_backend(s, encrypt=False), "encrypt is False, not true", id="no-encrypt"
        ),
        pytest.param(
            lambda s: state_backend(s, use_lockfile=None),
            "use_lockfile is None, not true (S3-native locking)",
            id="no-lockfile",
        ),
        pytest.param(
            lambda s: state_backend(s, use_lockfile=False),
            "use_lockfile is False, not true (S3-native locking)",
            id="lockfile-false",
        ),
        pytest.param(
            lambda s: state_backend(s, kms_key_id=None),
            "kms_key_id is absent, so state is written with SSE-S3",
            id="no-key",
        ),
        pytest.param(
            lambda s: state_backend(s, kms_key_id="alias/aws/s3"),
            "kms_key_id is the AWS-managed key 'alias/aws/s3', not the state key",
            id="aws-managed-key",
        ),
        pytest.param(
            lambda s: state_backend(s, kms_key_id="${var.state_key}"),
            "kms_key_id is an expression (${var.state_key}); backend values must be literal",
            id="key-expression",
        ),
        pytest.param(
            lambda s: (state_backend(s), s.add_override("terraform.backend.s3.encrypt", "false")),
            "encrypt is 'false', not true",
            id="encrypt-overridden",
        ),
    ],
)
def test_s3_backend_problems(tmp_path, build, problem):
    finding = finding_on(findings(tmp_path, build), "PAY-TF-001", "terraform.backend.s3")
    assert finding.problem == problem  # the setting, its value, what is required
    assert asks_for_the_s3_backend(finding)


def test_every_missing_setting_in_one_finding(tmp_path):
    found = findings(
        tmp_path, lambda s: state_backend(s, encrypt=False, use_lockfile=None, kms_key_id=None)
    )
    problem = finding_on(found, "PAY-TF-001", "terraform.backend.s3").problem
    for setting_and_value in ("encrypt is False", "use_lockfile is None", "kms_key_id is absent"):
        assert setting_and_value in problem


@pytest.mark.parametrize(
    "kind, config",
    [
        ("http", {"address": "https://state.example.com/unit"}),
        ("remote", {"organization": "example", "workspaces": {"name": "unit"}}),
        ("gcs", {"bucket": "unit-state"}),
    ],
)
def test_other_backend_types_are_refused(tmp_path, kind, config):
    found = findings(tmp_path, lambda s: s.add_override(f"terraform.backend.{kind}", config))
    finding = finding_on(found, "PAY-TF-001", f"terraform.backend.{kind}")
    assert f"a {kind} backend" in finding.problem
    assert "only s3 (or local for the state bootstrap)" in finding.problem
    assert asks_for_the_s3_backend(finding)


def test_cloud_block_is_refused(tmp_path):
    found = findings(
        tmp_path,
        lambda s: s.add_override(
            "terraform.cloud", {"organization": "example", "workspaces": {"name": "unit"}}
        ),
    )
    finding = finding_on(found, "PAY-TF-001", "terraform.cloud")
    assert "HCP Terraform (cloud block)" in finding.problem
    assert asks_for_the_s3_backend(finding)


def test_real_stacks_backends(stacks, env_name, env):
    """Every stack of the app: the bootstrap local, every other one S3 with all three."""
    for name, stack in stacks.items():
        if not name.startswith(f"payment-{env_name}-"):
            continue
        backend = stack.json["terraform"]["backend"]
        expected = {"local"} if name.endswith("-bootstrap") else {"s3"}
        assert set(backend) == expected, name
        assert RULE.check(stack.json, ctx(env_name, env.tier)) == [], name
