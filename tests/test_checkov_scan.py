"""tools/checks/checkov_scan.py: reasoned exceptions, failure on anything else."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from guardrails import checkov_counts
from tools.checks import checkov_docs
from tools.checks import checkov_scan as scan

ROOT = scan.ROOT


def _committed_entries() -> list[dict]:
    return yaml.safe_load(scan.DEFAULT_EXCEPTIONS.read_text())["exceptions"]


def test_committed_exceptions_file_is_valid():
    assert len(scan.load_exceptions(scan.DEFAULT_EXCEPTIONS)) == len(_committed_entries())


@pytest.mark.parametrize("entry", _committed_entries(), ids=lambda e: e.get("check", "?"))
def test_every_committed_exception_has_a_reason(entry):
    assert isinstance(entry.get("reason"), str)
    assert len(entry["reason"].split()) >= 5, (
        f"{entry['check']}: reason too short: {entry['reason']!r}"
    )
    assert entry["resources"] and all(p.strip() for p in entry["resources"])


def test_checkov_config_does_not_skip_checks():
    config = yaml.safe_load((ROOT / ".checkov.yaml").read_text())
    assert config["framework"] == ["terraform_json"]
    assert config["skip-download"] is True
    assert not {
        k for k in config if k.replace("_", "-") in ("skip-check", "soft-fail", "soft-fail-on")
    }


@pytest.mark.parametrize(
    ("entry", "message_part"),
    [
        ({"check": "CKV_AWS_18", "resources": ["*"]}, "reason=None"),
        ({"check": "CKV_AWS_18", "resources": ["*"], "reason": "  "}, "reason='  '"),
        ({"check": "CKV_AWS_18", "resources": ["*"], "reason": "because"}, "at least 20"),
        (
            {"check": "AWS_18", "resources": ["*"], "reason": "a long enough reason text"},
            "check='AWS_18'",
        ),
        (
            {"check": "CKV_AWS_18", "resources": [], "reason": "a long enough reason text"},
            "resources=[]",
        ),
        (
            {"check": "CKV_AWS_18", "resource": ["*"], "reason": "a long enough reason text"},
            "unknown field",
        ),
        (
            {
                "check": "CKV_AWS_18",
                "resources": ["*"],
                "reason": "a long enough reason text",
                "tiers": ["prod"],
            },
            "tiers=['prod'] is not allowed; give a list of production, non-production",
        ),
    ],
    ids=[
        "missing-reason",
        "blank-reason",
        "short-reason",
        "bad-id",
        "no-resources",
        "typo-field",
        "bad-tier",
    ],
)
def test_invalid_exceptions_fail_fast_naming_the_entry(entry, message_part):
    with pytest.raises(scan.ScanError) as err:
        scan.parse_exceptions({"exceptions": [entry]}, "x.yaml")
    assert "x.yaml: exceptions[0]" in str(err.value)
    assert message_part in str(err.value)


def _result(
    check="CKV_AWS_18", stack="payment-dev-bootstrap", address="aws_s3_bucket.logs", passed=False
):
    return scan.Result(check_id=check, check_name="n", stack=stack, address=address, passed=passed)


def test_evaluate_counts_per_environment_and_matches_patterns():
    exceptions = scan.parse_exceptions(
        {
            "exceptions": [
                {
                    "check": "CKV_AWS_18",
                    "resources": ["payment-*-bootstrap/aws_s3_bucket.logs"],
                    "reason": "the access-log bucket cannot log to itself",
                },
                {
                    "check": "CKV_AWS_99",
                    "resources": ["*"],
                    "reason": "matches nothing in this test",
                },
            ]
        }
    )
    evaluation = scan.evaluate(
        [
            _result(),  # excepted
            _result(stack="payment-prod-bootstrap"),  # excepted
            _result(address="aws_s3_bucket.other"),  # other resource: fails
            _result(check="CKV_AWS_19"),  # other check: fails
            _result(passed=True),
            _result(stack="unrelated", passed=True),
        ],
        exceptions,
    )
    assert evaluation.counts == {
        "dev": {"passed": 1, "failed": 2, "excepted": 1},
        "prod": {"passed": 0, "failed": 0, "excepted": 1},
        "other": {"passed": 1, "failed": 0, "excepted": 0},
    }
    assert [(r.check_id, r.address) for r in evaluation.unexcepted] == [
        ("CKV_AWS_18", "aws_s3_bucket.other"),
        ("CKV_AWS_19", "aws_s3_bucket.logs"),
    ]
    assert [e.check for e in evaluation.unused] == ["CKV_AWS_99"]
    assert not evaluation.ok
    assert scan.evaluate([_result(passed=True)], exceptions).ok


def test_tier_restricted_exceptions_follow_the_tier_not_the_name():
    """A non-production exception never covers a production-tier stack,
    whatever the environment is called (issue #13, D26)."""
    exceptions = scan.parse_exceptions(
        {
            "exceptions": [
                {
                    "check": "CKV_AWS_338",
                    "tiers": ["non-production"],
                    "resources": ["payment-*/aws_cloudwatch_log_group.*"],
                    "reason": "non-production keeps logs for a shorter time",
                }
            ]
        }
    )
    tiers = {
        "dev": "non-production",
        "prod": "production",
        "live-eu": "production",
        "sandbox": "non-production",
    }
    results = [
        _result(
            check="CKV_AWS_338",
            stack=f"payment-{env}-services",
            address="aws_cloudwatch_log_group.x",
        )
        for env in tiers
    ]
    evaluation = scan.evaluate(results, exceptions, tiers=tiers)
    assert sorted(r.environment for r in evaluation.unexcepted) == ["live-eu", "prod"]
    assert sorted(r.environment for r, _ in evaluation.excepted) == ["dev", "sandbox"]
    # An environment of unknown tier is not covered (fails closed).
    assert not scan.evaluate(
        [
            _result(
                check="CKV_AWS_338", stack="payment-qa-data", address="aws_cloudwatch_log_group.x"
            )
        ],
        exceptions,
        tiers=tiers,
    ).ok


def test_scan_reads_the_tiers_from_configuration(environments):
    assert scan.environment_tiers() == {name: env.tier for name, env in environments.items()}


def test_committed_exceptions_name_no_environment():
    """Policy by tier: no committed pattern names dev, staging or prod."""
    for entry in scan.load_exceptions(scan.DEFAULT_EXCEPTIONS):
        assert not any(
            p.startswith(("payment-dev-", "payment-staging-", "payment-prod-"))
            for p in entry.resources
        ), entry


def test_parsing_errors_fail_the_scan():
    assert not scan.evaluate([], [], parsing_errors=1).ok


def test_doc_table_is_rewritten_between_markers(tmp_path):
    doc = tmp_path / "doc.md"
    begin, end = checkov_counts.DOC_BEGIN, checkov_counts.DOC_END
    doc.write_text(f"intro\n{begin}\nold\n{end}\noutro\n")
    evaluation = scan.evaluate([_result(passed=True), _result(stack="payment-prod-data")], [])
    assert checkov_counts.update_doc(doc, evaluation.counts)
    assert doc.read_text() == (
        f"intro\n{begin}\n| environment | passed | failed | excepted |\n|---|---:|---:|---:|\n"
        f"| dev | 1 | 0 | 0 |\n| prod | 0 | 1 | 0 |\n{end}\noutro\n"
    )
    assert not checkov_counts.update_doc(doc, evaluation.counts)


# A stack with an unencrypted log group (CKV_AWS_158) kept only 7 days
# (CKV_AWS_338), both written as the graph-less "resource.<name>" by checkov.
PLANTED = {
    "provider": {"aws": [{"region": "eu-west-1"}]},
    "resource": {
        "aws_cloudwatch_log_group": {"unencrypted": {"name": "/x", "retention_in_days": 7}}
    },
}


@pytest.fixture(scope="module")
def planted_outdir():
    """The planted stack in a directory of its own, removed at the end."""
    outdir = Path(tempfile.mkdtemp(prefix="checkov-planted-"))
    stack = outdir / "stacks" / "payment-dev-unit"
    stack.mkdir(parents=True)
    (stack / "cdk.tf.json").write_text(json.dumps(PLANTED, indent=2))
    yield outdir
    shutil.rmtree(outdir, ignore_errors=True)


@pytest.fixture(scope="module")
def planted_report(planted_outdir):
    """checkov's report of the planted stack, from the script's own run (one
    checkov run, shared by the tests below)."""
    report = scan.read_checkov(scan.start_checkov(planted_outdir))
    saved = planted_outdir / "checkov-report.json"
    saved.write_text(json.dumps(report))
    return report, saved


def test_unexcepted_failure_fails_the_script(planted_outdir, planted_report, capsys):
    summary = planted_outdir / "summary.json"
    code = scan.main(
        [
            "--outdir",
            str(planted_outdir),
            "--summary-json",
            str(summary),
            "--checkov-json",
            str(planted_report[1]),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1, out
    assert "FAILED CKV_AWS_158 payment-dev-unit/aws_cloudwatch_log_group.unencrypted" in out
    counts = json.loads(summary.read_text())
    assert set(counts) == {"dev"} and counts["dev"]["failed"] >= 1 and counts["dev"]["passed"] >= 1


def test_excepted_failures_pass_and_are_counted(planted_outdir, planted_report, tmp_path, capsys):
    report, saved = planted_report
    results, _ = scan.parse_results(report, planted_outdir)
    failed = sorted({r.check_id for r in results if not r.passed})
    assert "CKV_AWS_158" in failed and "CKV_AWS_338" in failed
    exceptions = tmp_path / "exceptions.yaml"
    exceptions.write_text(
        yaml.safe_dump(
            {
                "exceptions": [
                    {
                        "check": check,
                        "resources": ["payment-dev-unit/aws_cloudwatch_log_group.unencrypted"],
                        "reason": "planted in a test to prove exceptions are honoured",
                    }
                    for check in failed
                ]
            }
        )
    )
    code = scan.main(
        [
            "--outdir",
            str(planted_outdir),
            "--exceptions",
            str(exceptions),
            "--checkov-json",
            str(saved),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"checkov: ok; {len(failed)} excepted" in out
    # One exception fewer: the script fails again.
    exceptions.write_text(
        yaml.safe_dump(
            {
                "exceptions": [
                    {
                        "check": check,
                        "resources": ["*"],
                        "reason": "planted in a test to prove exceptions are honoured",
                    }
                    for check in failed
                    if check != "CKV_AWS_158"
                ]
            }
        )
    )
    assert (
        scan.main(
            [
                "--outdir",
                str(planted_outdir),
                "--exceptions",
                str(exceptions),
                "--checkov-json",
                str(saved),
            ]
        )
        == 1
    )


def test_invalid_exceptions_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("exceptions:\n  - check: CKV_AWS_18\n    resources: ['*']\n")
    assert scan.main(["--exceptions", str(bad), "--outdir", str(tmp_path)]) == 2
    assert "reason=None" in capsys.readouterr().err


def test_resource_checks_get_their_type_back(tmp_path):
    # checkov's resource checks report "resource.<name>"; the same logical id
    # may exist under two types, then the reported line decides.
    stack = {
        "resource": {
            "aws_s3_bucket": {"shared": {"bucket": "b"}, "only": {"bucket": "c"}},
            "aws_sqs_queue": {"shared": {"name": "q"}},
        }
    }
    text = json.dumps(stack, indent=2)
    (tmp_path / "stacks" / "payment-dev-x").mkdir(parents=True)
    (tmp_path / "stacks" / "payment-dev-x" / "cdk.tf.json").write_text(text)
    lines = text.splitlines()
    queue_line = next(
        i
        for i, line in enumerate(lines, 1)
        if '"shared"' in line and i > lines.index('    "aws_sqs_queue": {')
    )

    def item(resource, line):
        return {
            "check_id": "CKV_AWS_1",
            "resource": resource,
            "file_line_range": [line, line + 2],
            "file_abs_path": str(tmp_path / "stacks" / "payment-dev-x" / "cdk.tf.json"),
        }

    report = {
        "results": {
            "failed_checks": [
                item("resource.only", 1),
                item("resource.shared", queue_line),
                item("aws_s3_bucket.shared", 1),
            ],
            "passed_checks": [],
        }
    }
    results, errors = scan.parse_results(report, tmp_path)
    assert errors == 0
    assert [r.address for r in results] == [
        "aws_s3_bucket.only",
        "aws_sqs_queue.shared",
        "aws_s3_bucket.shared",
    ]
    assert {r.stack for r in results} == {"payment-dev-x"}


def test_nothing_to_scan_is_an_error_not_a_pass(tmp_path, capsys):
    (tmp_path / "stacks").mkdir()
    assert scan.main(["--outdir", str(tmp_path)]) == 2
    empty_report = tmp_path / "report.json"
    empty_report.write_text(json.dumps({"passed": 0, "failed": 0}))
    assert scan.main(["--outdir", str(tmp_path), "--checkov-json", str(empty_report)]) == 2
    assert "checkov reported no results" in capsys.readouterr().err


def test_check_doc_fails_on_a_stale_table_and_changes_nothing(
    tmp_path, planted_outdir, planted_report, capsys
):
    """`make checks` verifies the tracked counts; only `make docs` rewrites them."""
    doc = tmp_path / "doc.md"
    stale = f"intro\n{checkov_counts.DOC_BEGIN}\n| stale |\n{checkov_counts.DOC_END}\n"
    doc.write_text(stale)
    exceptions = tmp_path / "exceptions.yaml"
    exceptions.write_text(
        "exceptions:\n  - check: CKV_AWS_158\n    resources: ['*']\n"
        "    reason: planted unencrypted log group of this test\n"
        "  - check: CKV_AWS_338\n    resources: ['*']\n"
        "    reason: planted short retention of this test only\n"
    )
    argv = [
        "--outdir",
        str(planted_outdir),
        "--checkov-json",
        str(planted_report[1]),
        "--exceptions",
        str(exceptions),
    ]
    assert scan.main([*argv, "--check-doc", str(doc)]) == 1
    assert "is stale; refresh it with `make docs`" in capsys.readouterr().err
    assert doc.read_text() == stale
    counts = tmp_path / "counts.json"
    assert scan.main([*argv, "--summary-json", str(counts)]) == 0
    assert doc.read_text() == stale  # the scan never writes a doc
    assert checkov_docs.main(["--counts", str(counts), str(doc)]) == 0
    assert scan.main([*argv, "--check-doc", str(doc)]) == 0


def test_make_test_and_checks_never_rewrite_tracked_files():
    """`make test` runs `make checks`, which may only verify the docs."""
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", "checks"],
        cwd=scan.ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--check-doc" in result.stdout and "checkov_docs.py" not in result.stdout
    docs = subprocess.run(
        ["make", "-n", "--no-print-directory", "docs"],
        cwd=scan.ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    scan_line, docs_line = (
        line for line in docs.stdout.splitlines() if "tools/checks/checkov_" in line
    )
    assert "checkov_scan.py" in scan_line and "--summary-json" in scan_line
    counts = scan_line.split("--summary-json ")[1].split()[0]
    assert f"checkov_docs.py --counts {counts} docs/verification.md README.md" in docs_line


def test_the_docs_command_refuses_a_doc_without_markers_and_a_missing_counts_file(tmp_path, capsys):
    counts = tmp_path / "counts.json"
    counts.write_text('{"dev": {"passed": 1, "failed": 0, "excepted": 0}}')
    doc = tmp_path / "doc.md"
    doc.write_text("no markers\n")
    assert checkov_docs.main(["--counts", str(counts), str(doc)]) == 2
    assert "markers" in capsys.readouterr().err
    assert checkov_docs.main(["--counts", str(tmp_path / "absent.json"), str(doc)]) == 2
    assert "--summary-json" in capsys.readouterr().err
