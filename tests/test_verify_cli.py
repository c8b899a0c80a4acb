"""`.venv/bin/python -m verify`: exit codes, one line per problem, the evidence files."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from moto import mock_aws

from tests.conftest import ENVIRONMENTS
from tests.release_example import use_the_example
from verify import report
from verify.cli import run

#: Operations tools replayed against simulated AWS: the second, separately
#: timed step of make test (pytest.ini, docs/decisions.md D56).
pytestmark = pytest.mark.aws_replay


def test_unknown_environment_is_bad_input_in_one_line(capsys):
    assert run(["--env", "no-such-env"]) == report.EXIT_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'no-such-env' is not defined" in err


def test_usage_names_the_command_as_run_with_the_projects_python(capsys):
    """Its messages name the command as the docs run it (D41), not a bare
    ``python`` that has no boto3."""
    assert run(["--no-such-option"]) == report.EXIT_INPUT
    assert capsys.readouterr().err.startswith(".venv/bin/python -m verify: ")


def test_missing_synthesis_is_bad_input_naming_make_synth(tmp_path, capsys):
    assert run(["--env", ENVIRONMENTS[0], "--outdir", str(tmp_path)]) == report.EXIT_INPUT
    assert "make synth" in capsys.readouterr().err


def test_missing_credentials_exit_3_saying_what_is_missing(
    synth_outdir, monkeypatch, tmp_path, capsys
):
    for key in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code = run(["--env", ENVIRONMENTS[0], "--outdir", str(synth_outdir[0])])
    assert code == report.EXIT_CREDENTIALS
    assert "no AWS credentials" in capsys.readouterr().err


def test_output_writes_json_and_markdown_and_exit_follows_the_results(
    synth_outdir, fake_aws, environments, tmp_path
):
    env = environments[ENVIRONMENTS[0]]
    out = io.StringIO()
    with mock_aws():
        session = boto3.Session(region_name=env.region)
        # moto's account stands in for the configured one.
        configured_account = env.account_id
        argv = [
            "--env",
            env.name,
            "--outdir",
            str(synth_outdir[0]),
            "--only",
            "iam",
            "--output",
            str(tmp_path / "evidence"),
        ]
        code = run(argv, session=session, out=out)
    if configured_account and configured_account != "123456789012":
        assert code == report.EXIT_CREDENTIALS  # another account's credentials are refused
        return
    written = json.loads((tmp_path / "evidence.json").read_text())
    markdown = (tmp_path / "evidence.md").read_text()
    # moto has no SimulatePrincipalPolicy roles here: the check cannot read, exit 4.
    assert code == written["exit_code"] == report.EXIT_UNREADABLE
    assert {r["status"] for r in written["results"]} == {report.UNREADABLE}
    assert markdown.startswith(f"# Verification of {env.name}") and "| cannot read |" in markdown
    assert out.getvalue().splitlines()[0].startswith("CANNOT READ")


def test_exit_codes():
    r = report.Result
    assert report.exit_code([r("a", "s", report.PASS, "")]) == 0
    assert report.exit_code([r("a", "s", report.PASS, ""), r("b", "s", report.FAIL, "")]) == 1
    assert report.exit_code([r("a", "s", report.UNREADABLE, ""), r("b", "s", report.FAIL, "")]) == 1
    assert report.exit_code([r("a", "s", report.UNREADABLE, "")]) == 4
    assert report.exit_code([r("a", "s", report.NOT_APPLICABLE, "")]) == 0


def test_skip_leaves_a_group_out(synth_outdir, fake_aws, environments, monkeypatch):
    """The deploy workflow skips plan-reads: the plan role trusts pull-request jobs only."""
    env = environments[ENVIRONMENTS[0]]
    if env.account_id:
        monkeypatch.setenv(
            "MOTO_ACCOUNT_ID", env.account_id
        )  # the configured account's credentials
    out = io.StringIO()
    argv = ["--env", env.name, "--outdir", str(synth_outdir[0]), "--only", "iam"]
    with mock_aws():
        session = boto3.Session(region_name=env.region)
        skipped = run([*argv, "--skip", "iam"], session=session, out=out)
        ran = run(argv, session=session, out=io.StringIO())
    assert skipped == report.EXIT_OK and out.getvalue().startswith(f"{env.name}: 0 pass")
    assert ran != report.EXIT_OK  # the group does run without --skip


def test_skipping_iam_boundary_where_a_boundary_is_configured_fails_saying_why(
    example_synth_outdir, example_prod, fake_aws, monkeypatch
):
    """Where a boundary is configured, skipping its proof is a failure (#29):
    one FAIL line, exit 1, while --only alone (another group) stays silent."""
    env, _ = example_prod
    use_the_example(monkeypatch)
    if env.account_id:
        monkeypatch.setenv("MOTO_ACCOUNT_ID", env.account_id)
    argv = ["--env", env.name, "--outdir", str(example_synth_outdir[0]), "--only", "iam"]
    skipped, only = io.StringIO(), io.StringIO()
    with mock_aws():
        session = boto3.Session(region_name=env.region)
        code = run([*argv, "--skip", "iam-boundary"], session=session, out=skipped)
        run(argv, session=session, out=only)
    [line] = [x for x in skipped.getvalue().splitlines() if "iam.boundary" in x]
    assert line.startswith("FAIL") and "--skip iam-boundary" in line and "D49" in line
    assert code == report.EXIT_FAILED
    assert "iam.boundary" not in only.getvalue()
