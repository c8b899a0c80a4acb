"""Synthesis (main.py, stacks/synthesis.py): the output directory's contract
and the run's variables.

One-resource stacks keep the publication and failure paths fast; equality of
main.py's output with the session's synthesis is proven on the real app in
tests/test_provider_loader.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from config.source import CONFIG_VARIABLE
from stacks.synthesis import RUN_BY_CLI_VARIABLE, manifest_text, variable_problems
from tests.fixtures.example import DEV, PROD, STAGING

ROOT = Path(__file__).resolve().parent.parent


def test_manifest_text_matches_cdktf_formatting():
    text = manifest_text({"version": "0.21.0", "stacks": {"b": {"annotations": [], "name": "b"}}})
    assert text == textwrap.dedent("""\
        {
          "stacks": {
            "b": {
              "annotations": [
              ],
              "name": "b"
            }
          },
          "version": "0.21.0"
        }""")
    # CDK Terrain's core writes empty lists on one line (framework.distribution).
    terrain = manifest_text({"stacks": {"b": {"annotations": []}}}, splits_empty_lists=False)
    assert '"annotations": []' in terrain


def previous_output(outdir: Path, stacks: list[str]) -> None:
    """What an earlier synthesis and a CLI run leave: stack files, manifest,
    report, and per stack what ``terraform init`` writes."""
    for name in stacks:
        folder = outdir / "stacks" / name
        (folder / ".terraform").mkdir(parents=True)
        (folder / ".terraform.lock.hcl").write_text("lock")
        (folder / "cdk.tf.json").write_text("previous")
    (outdir / "manifest.json").write_text(
        json.dumps({"stacks": {n: {} for n in stacks}, "version": "0"})
    )
    (outdir / "guardrails-suppressions.json").write_text("previous")


# --- variables: one line each, exit 2, before anything starts --------------------


def run_main(tmp_path, **variables) -> subprocess.CompletedProcess:
    """main.py on the example (its messages name dev, staging and prod)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYMENT_")}
    env.update(
        {
            CONFIG_VARIABLE: "tests.fixtures.example",
            "CDKTF_OUTDIR": str(tmp_path / "out"),
            **variables,
        }
    )
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "variables, line",
    [
        (
            {"PAYMENT_ENVIRONMENTS": ""},
            "PAYMENT_ENVIRONMENTS: '' names no environment; allowed: dev, staging, "
            "prod (comma-separated), or leave it unset for all",
        ),
        (
            {"PAYMENT_ENVIRONMENTS": " , "},
            "PAYMENT_ENVIRONMENTS: ' , ' names no environment; allowed: dev, "
            "staging, prod (comma-separated), or leave it unset for all",
        ),
        (
            {"PAYMENT_PROVIDER_IMPORT": "bogus"},
            "PAYMENT_PROVIDER_IMPORT='bogus' is not allowed; use 'fast' or 'plain'",
        ),
    ],
    ids=["empty-environments", "blank-environments", "provider-import"],
)
def test_a_bad_variable_is_one_line_and_exit_2_before_anything_runs(tmp_path, variables, line):
    result = run_main(tmp_path, **variables)
    assert result.returncode == 2
    assert result.stderr == line + "\n"
    assert result.stdout == ""
    assert not (tmp_path / "out").exists()


def test_every_bad_variable_is_reported_at_once(tmp_path):
    result = run_main(
        tmp_path,
        PAYMENT_ENVIRONMENTS="",
        PAYMENT_PROVIDER_IMPORT="turbo",
    )
    assert result.returncode == 2
    assert [line.split(":")[0].split("=")[0] for line in result.stderr.splitlines()] == [
        "PAYMENT_ENVIRONMENTS",
        "PAYMENT_PROVIDER_IMPORT",
    ]


def test_a_refused_run_leaves_no_previous_result_behind(tmp_path):
    outdir = tmp_path / "out"
    previous_output(outdir, ["payment-dev-network"])
    result = run_main(tmp_path, PAYMENT_ENVIRONMENTS="dev,qa")
    assert result.returncode == 2
    assert result.stderr == "environment: 'qa' is not defined; allowed: dev, staging, prod\n"
    assert sorted(p.name for p in outdir.iterdir()) == ["stacks"]
    assert not (outdir / "stacks" / "payment-dev-network" / "cdk.tf.json").exists()


def test_variable_problems_names_the_defined_environments():
    (problem,) = variable_problems({"PAYMENT_ENVIRONMENTS": ","}, ["a", "b"])
    # The variable, its value, the names allowed and the other way out.
    assert problem.startswith("PAYMENT_ENVIRONMENTS: ',' names no environment")
    assert "allowed: a, b (comma-separated)" in problem
    assert problem.endswith("or leave it unset for all")
    assert variable_problems({"PAYMENT_ENVIRONMENTS": "dev"}, ["dev"]) == []
    assert variable_problems({}, ["dev"]) == []


# --- one process: one app per environment ------------------------------------------


@pytest.fixture
def unit_app(monkeypatch, tmp_path):
    """main.synthesize() building one small stack per environment into
    ``tmp_path / "out"``; ``broken`` names the environments whose stack fails
    a (node) validation, as a contract rule does."""
    import jsii

    from framework import App, IValidation, TerraformStack
    from framework.aws import aws

    @jsii.implements(IValidation)
    class Broken:
        def __init__(self, env: str) -> None:
            self.env = env

        def validate(self) -> list[str]:
            return [f"[PAY-TEST-001] {self.env}: broken on purpose"]

    broken: set[str] = set()

    def build(app, environments, defined=None):
        for env in environments:
            stack = TerraformStack(app, f"payment-{env.name}-unit")
            aws.provider.AwsProvider(stack, "aws", region=env.region)
            if env.name in broken:
                stack.node.add_validation(Broken(env.name))

    outdir = tmp_path / "out"
    monkeypatch.setattr("framework.App", lambda: App(outdir=str(outdir)))
    monkeypatch.setattr("stacks.app.build", build)
    monkeypatch.delenv(RUN_BY_CLI_VARIABLE, raising=False)
    return outdir, broken


def test_one_process_reports_the_rule_failures_of_every_environment(unit_app, capsys):
    import main

    outdir, broken = unit_app
    previous_output(outdir, ["payment-dev-unit"])
    broken.update({"dev", "prod"})
    assert main.synthesize([DEV, STAGING, PROD]) == 1
    err = capsys.readouterr().err
    assert "[PAY-TEST-001] dev: broken on purpose" in err
    assert "[PAY-TEST-001] prod: broken on purpose" in err
    assert "If you wish to ignore" not in err
    assert f"synthesis failed in dev, prod: {outdir} holds no manifest and no stack file" in err
    assert sorted(p.name for p in outdir.iterdir()) == ["stacks"]
    assert list((outdir / "stacks").glob("*/cdk.tf.json")) == []
    assert (outdir / "stacks" / "payment-dev-unit" / ".terraform").is_dir()


def test_one_process_publishes_exactly_the_selected_stacks(unit_app, capsys):
    import main

    outdir, _ = unit_app
    previous_output(outdir, ["payment-dev-unit", "payment-qa-unit"])
    assert main.synthesize([DEV, PROD]) == 0
    assert sorted(p.name for p in (outdir / "stacks").iterdir()) == [
        "payment-dev-unit",
        "payment-prod-unit",
    ]
    manifest = json.loads((outdir / "manifest.json").read_text())
    assert sorted(manifest["stacks"]) == ["payment-dev-unit", "payment-prod-unit"]
    assert manifest_text(manifest) == (outdir / "manifest.json").read_text()
    assert (outdir / "stacks" / "payment-dev-unit" / ".terraform.lock.hcl").read_text() == "lock"
    assert json.loads((outdir / "guardrails-suppressions.json").read_text()) == {"suppressions": []}
    assert "guardrails: no contract rule is suppressed" in capsys.readouterr().out


def test_under_the_cli_unselected_folders_are_left_to_it_without_their_stack_file(
    unit_app, monkeypatch, capsys
):
    # The CLI lists the folders before running the app and removes those the
    # manifest no longer names; it fails if one is already gone.
    import main

    outdir, _ = unit_app
    monkeypatch.setenv(RUN_BY_CLI_VARIABLE, "1")
    previous_output(outdir, ["payment-qa-unit"])
    assert main.synthesize([DEV]) == 0
    qa = outdir / "stacks" / "payment-qa-unit"
    assert qa.is_dir() and not (qa / "cdk.tf.json").exists()
    assert list(json.loads((outdir / "manifest.json").read_text())["stacks"]) == [
        "payment-dev-unit"
    ]


def test_the_manifest_is_written_last(unit_app, monkeypatch, capsys):
    import main
    import stacks.synthesis as synthesis

    outdir, _ = unit_app
    previous_output(outdir, ["payment-qa-unit"])
    seen = {}
    write = synthesis._write_atomically

    def observe(path, text):
        seen["stacks"] = sorted(p.parent.name for p in synthesis.stack_files(outdir))
        seen["folders"] = sorted(p.name for p in (outdir / "stacks").iterdir())
        seen["report"] = (outdir / "guardrails-suppressions.json").read_text() != "previous"
        seen["manifest existed"] = (outdir / "manifest.json").exists()
        write(path, text)

    monkeypatch.setattr(synthesis, "_write_atomically", observe)
    assert main.synthesize([DEV, PROD]) == 0
    assert seen == {
        "stacks": ["payment-dev-unit", "payment-prod-unit"],
        "folders": ["payment-dev-unit", "payment-prod-unit"],
        "report": True,
        "manifest existed": False,
    }


def test_manifest_formatter_reproduces_the_frameworks_manifest(synth_outdir):
    """main.py writes the merged manifest of its per-environment apps with
    ``manifest_text``; it must be what the framework itself writes."""
    outdir, _ = synth_outdir
    written = (outdir / "manifest.json").read_text()
    assert manifest_text(json.loads(written)) == written
