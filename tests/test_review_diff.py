"""tools/review/review_diff.py: the pure diff logic on small dicts, and the CLI on saved outputs."""

from __future__ import annotations

import json

from tools.review.review_diff import Change, diff_apps, diff_stack, diff_values, format_diffs, main

QUEUE = {"//": {"metadata": {"path": "s/q"}}, "name": "q", "tags": {"team": "payments"}}
POLICY = json.dumps({"Statement": [{"Action": ["s3:GetObject"], "Effect": "Allow"}]})


def _stack(**resources) -> dict:
    return {
        "//": {"metadata": {"version": "0.21.0"}},
        "resource": {"aws_sqs_queue": resources} if resources else {},
    }


def test_identical_stacks_differ_in_nothing_even_with_different_metadata():
    other = _stack(q={**QUEUE, "//": {"metadata": {"path": "elsewhere"}}})
    other["//"] = {"metadata": {"version": "9"}}
    assert diff_apps({"s": _stack(q=QUEUE)}, {"s": other}) == {}


def test_added_removed_and_changed_resources():
    old = _stack(keep=QUEUE, gone={"name": "gone"})
    new = _stack(
        keep={**QUEUE, "name": "q2", "tags": {"team": "payments", "tier": "1"}},
        fresh={"name": "fresh"},
    )
    one = diff_stack(old, new)
    assert one.added == ["aws_sqs_queue.fresh"]
    assert one.removed == ["aws_sqs_queue.gone"]
    assert one.changed == {
        "aws_sqs_queue.keep": [
            Change("name", "q", "q2"),
            Change("tags.tier", new="1"),
        ]
    }


def test_identical_body_under_new_id_is_reported_as_rename():
    one = diff_stack(_stack(old_id={"name": "same"}), _stack(new_id={"name": "same"}))
    assert one.renamed == [("aws_sqs_queue.old_id", "aws_sqs_queue.new_id")]
    assert one.added == [] and one.removed == []
    assert "replaced unless a moved block is added" in format_diffs({"s": one}, 1)


def test_nested_lists_and_json_documents_give_precise_paths():
    old = {"rule": [{"port": 80}, {"port": 443}], "policy": POLICY}
    new_policy = json.loads(POLICY)
    new_policy["Statement"][0]["Action"].append("s3:PutObject")
    new = {"rule": [{"port": 80}, {"port": 8443}], "policy": json.dumps(new_policy)}
    assert diff_values(old, new) == [
        Change("policy{Statement[0].Action}", ["s3:GetObject"], ["s3:GetObject", "s3:PutObject"]),
        Change("rule[1].port", 443, 8443),
    ]


def test_list_length_change_and_removed_attribute():
    assert diff_values({"a": [1], "b": 1}, {"a": [1, 2]}) == [
        Change("a", [1], [1, 2]),
        Change("b", old=1),
    ]


def test_whole_stacks_added_and_removed_and_other_blocks():
    old = {
        "gone": _stack(q=QUEUE),
        "s": {"output": {"o": {"value": "a"}}, "terraform": {"backend": {"s3": {"key": "a"}}}},
    }
    new = {
        "new": _stack(q=QUEUE),
        "s": {"output": {"o": {"value": "b"}}, "terraform": {"backend": {"s3": {"key": "b"}}}},
    }
    diffs = diff_apps(old, new)
    assert diffs["gone"].status == "removed" and diffs["gone"].removed == ["aws_sqs_queue.q"]
    assert diffs["new"].status == "added" and diffs["new"].added == ["aws_sqs_queue.q"]
    assert diffs["new"].renamed == []
    assert list(diffs["s"].changed) == ["output.o", "terraform"]
    assert diffs["s"].changed["terraform"] == [Change("backend.s3.key", "a", "b")]


def test_format_lists_every_change():
    text = format_diffs(
        diff_apps(
            {"s": _stack(q=QUEUE, gone={"name": "x"})},
            {"s": _stack(q={**QUEUE, "name": "r"}, new={"name": "y"})},
        ),
        3,
    )
    assert text.splitlines() == [
        "s: 1 added, 1 removed, 1 changed, 0 renamed",
        "  + aws_sqs_queue.new",
        "  - aws_sqs_queue.gone",
        "  ~ aws_sqs_queue.q",
        '      name: "q" -> "r"',
        "1 stack(s) differ, 2 unchanged.",
    ]
    assert format_diffs({}, 4) == "No infrastructure changes (4 stacks compared)."


def _write_outdir(root, stacks: dict) -> str:
    for name, body in stacks.items():
        path = root / "stacks" / name
        path.mkdir(parents=True)
        (path / "cdk.tf.json").write_text(json.dumps(body))
    return str(root)


def test_cli_on_saved_outputs(tmp_path, capsys):
    base = _write_outdir(tmp_path / "base", {"s": _stack(q=QUEUE)})
    head = _write_outdir(tmp_path / "head", {"s": _stack(q={**QUEUE, "name": "changed"})})
    assert main(["--base-outdir", base, "--head-outdir", head]) == 0
    assert '~ aws_sqs_queue.q\n      name: "q" -> "changed"' in capsys.readouterr().out
    assert main(["--base-outdir", base, "--head-outdir", head, "--exit-code"]) == 1
    assert main(["--base-outdir", base, "--head-outdir", base, "--exit-code"]) == 0


def test_unknown_ref_fails_with_exit_2(tmp_path, capsys):
    head = _write_outdir(tmp_path / "head", {"s": _stack(q=QUEUE)})
    assert main(["no-such-ref-xyz", "--head-outdir", head]) == 2
    assert "git archive no-such-ref-xyz failed" in capsys.readouterr().err


def test_ref_is_exported_without_touching_the_repository(tmp_path):
    from tools.review.review_diff import export_ref

    export_ref("HEAD", tmp_path / "base")
    assert (tmp_path / "base" / "main.py").is_file()
    assert (tmp_path / "base" / "stacks" / "app.py").is_file()
    assert not (tmp_path / "base" / ".git").exists()


def test_failed_synthesis_is_reported(tmp_path):
    import pytest

    from tools.review.review_diff import DiffError, synthesize

    (tmp_path / "main.py").write_text(
        "import sys\nprint('config broken', file=sys.stderr)\nsys.exit(3)\n"
    )
    with pytest.raises(DiffError, match="failed \\(3\\):\nconfig broken"):
        synthesize(tmp_path, tmp_path / "out")
