"""Synthesis (main.py, stacks/synthesis.py): the output directory's contract,
the run's variables, parallel workers.

Equality of the merged output with a single-process synthesis is proven on
the real app (two environments, two workers, started in the background at
collection by tests/conftest.py); fake workers and one-resource stacks keep
the merge, publication and failure paths fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from config import ConfigError
from config.source import CONFIG_VARIABLE
from stacks.synthesis import (
    RUN_BY_CLI_VARIABLE,
    manifest_text,
    plan_groups,
    synthesize_in_parallel,
    variable_problems,
    worker_count,
)
from tests.conftest import BACKGROUND_SYNTHESES, PARALLEL_SELECTION
from tests.fixtures.example import DEV, PROD, STAGING

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "raw, cpus, envs, expected",
    [
        (None, 2, 3, 2),
        (None, 8, 3, 3),
        (None, 1, 3, 1),
        ("", 4, 1, 1),
        ("1", 8, 3, 1),
        ("5", 1, 3, 3),
    ],
)
def test_worker_count(raw, cpus, envs, expected):
    assert worker_count(envs, raw, cpus=cpus) == expected


@pytest.mark.parametrize("raw", ["0", "-1", "two"])
def test_bad_worker_count_names_variable_value_and_allowed(raw):
    with pytest.raises(
        ConfigError,
        match=f"PAYMENT_SYNTH_WORKERS: '{raw}' is not allowed; use a whole number of 1 or more",
    ):
        worker_count(3, raw)


def test_plan_groups_balances_and_keeps_every_environment_once():
    groups = plan_groups([DEV, STAGING, PROD], 2)
    assert sorted(name for g in groups for name in g) == ["dev", "prod", "staging"]
    assert ["prod"] in groups  # the heaviest environment gets a worker of its own
    assert plan_groups([DEV, STAGING, PROD], 1) == [["dev", "staging", "prod"]]


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


FAKE_WORKER = """
import json, os, pathlib, sys
envs = os.environ["PAYMENT_ENVIRONMENTS"].split(",")
failing = [e for e in envs if e in os.environ.get("FAIL_ENVS", "").split(",")]
if failing:
    for env in failing:
        print(f"[payment-{env}-network] [PAY-ECS-001] something is wrong in {env}", file=sys.stderr)
    sys.exit(1)
out = pathlib.Path(os.environ["CDKTF_OUTDIR"])
stacks = {}
for env in envs:
    name = f"payment-{env}-network"
    (out / "stacks" / name).mkdir(parents=True)
    (out / "stacks" / name / "cdk.tf.json").write_text(json.dumps({"env": env}))
    stacks[name] = {"name": name, "dependencies": [], "annotations": [],
                    "synthesizedStackPath": f"stacks/{name}/cdk.tf.json",
                    "workingDirectory": f"stacks/{name}"}
(out / "manifest.json").write_text(json.dumps({"stacks": stacks, "version": "0.21.0"}))
(out / "guardrails-suppressions.json").write_text(json.dumps({"suppressions": [
    {"stack": f"payment-{e}-network", "address": "aws_vpc.v", "rule_id": "PAY-NET-001", "reason": "r"}
    for e in envs]}))
"""


@pytest.fixture
def fake_worker(tmp_path) -> Path:
    script = tmp_path / "fake_main.py"
    script.write_text(FAKE_WORKER)
    return script


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


def test_workers_output_is_merged(fake_worker, tmp_path, capsys):
    outdir = tmp_path / "out"
    assert synthesize_in_parallel([["dev", "staging"], ["prod"]], outdir, fake_worker) == 0
    assert sorted(p.name for p in (outdir / "stacks").iterdir()) == [
        "payment-dev-network",
        "payment-prod-network",
        "payment-staging-network",
    ]
    manifest = json.loads((outdir / "manifest.json").read_text())
    assert list(manifest["stacks"]) == [
        "payment-dev-network",
        "payment-prod-network",
        "payment-staging-network",
    ]
    report = json.loads((outdir / "guardrails-suppressions.json").read_text())
    assert [s["stack"] for s in report["suppressions"]] == [
        "payment-dev-network",
        "payment-prod-network",
        "payment-staging-network",
    ]
    assert "guardrails: 3 suppressed contract rule(s)" in capsys.readouterr().out
    assert [p.name for p in outdir.iterdir() if p.name.startswith(".")] == []


def test_merge_keeps_selected_folders_and_removes_unselected_ones(fake_worker, tmp_path):
    outdir = tmp_path / "out"
    previous_output(outdir, ["payment-dev-network", "payment-qa-network"])
    assert synthesize_in_parallel([["dev"], ["prod"]], outdir, fake_worker) == 0
    dev = outdir / "stacks" / "payment-dev-network"
    # The stack file is replaced; what terraform init wrote stays.
    assert json.loads((dev / "cdk.tf.json").read_text()) == {"env": "dev"}
    assert (dev / ".terraform").is_dir() and (dev / ".terraform.lock.hcl").read_text() == "lock"
    assert sorted(p.name for p in (outdir / "stacks").iterdir()) == [
        "payment-dev-network",
        "payment-prod-network",
    ]
    assert sorted(json.loads((outdir / "manifest.json").read_text())["stacks"]) == [
        "payment-dev-network",
        "payment-prod-network",
    ]


def test_under_the_cli_unselected_folders_are_left_to_it_without_their_stack_file(
    fake_worker, tmp_path, monkeypatch
):
    # The CLI lists the folders before running the app and removes those the
    # manifest no longer names; it fails if one is already gone.
    monkeypatch.setenv(RUN_BY_CLI_VARIABLE, "1")
    outdir = tmp_path / "out"
    previous_output(outdir, ["payment-qa-network"])
    assert synthesize_in_parallel([["dev"]], outdir, fake_worker) == 0
    qa = outdir / "stacks" / "payment-qa-network"
    assert qa.is_dir() and not (qa / "cdk.tf.json").exists()
    assert list(json.loads((outdir / "manifest.json").read_text())["stacks"]) == [
        "payment-dev-network"
    ]


def test_the_manifest_is_written_last(fake_worker, tmp_path, monkeypatch):
    import stacks.synthesis as synthesis

    outdir = tmp_path / "out"
    previous_output(outdir, ["payment-qa-network"])
    seen = {}
    write = synthesis._write_atomically

    def observe(path, text):
        seen["stacks"] = sorted(p.parent.name for p in synthesis.stack_files(outdir))
        seen["folders"] = sorted(p.name for p in (outdir / "stacks").iterdir())
        seen["report"] = (outdir / "guardrails-suppressions.json").read_text() != "previous"
        seen["manifest existed"] = (outdir / "manifest.json").exists()
        write(path, text)

    monkeypatch.setattr(synthesis, "_write_atomically", observe)
    assert synthesize_in_parallel([["dev"], ["prod"]], outdir, fake_worker) == 0
    assert seen == {
        "stacks": ["payment-dev-network", "payment-prod-network"],
        "folders": ["payment-dev-network", "payment-prod-network"],
        "report": True,
        "manifest existed": False,
    }


def test_a_failing_worker_leaves_no_result_and_every_worker_reports(
    fake_worker, tmp_path, monkeypatch, capsys
):
    outdir = tmp_path / "out"
    previous_output(outdir, ["payment-dev-network"])
    monkeypatch.setenv("FAIL_ENVS", "dev,prod")
    assert synthesize_in_parallel([["dev", "staging"], ["prod"]], outdir, fake_worker) == 1
    err = capsys.readouterr().err
    assert "[PAY-ECS-001] something is wrong in dev" in err
    assert "[PAY-ECS-001] something is wrong in prod" in err
    assert f"synthesis failed: {outdir} holds no manifest and no stack file" in err
    # Nothing stale that looks like a result; what terraform init wrote stays.
    assert sorted(p.name for p in outdir.iterdir()) == ["stacks"]
    dev = outdir / "stacks" / "payment-dev-network"
    assert sorted(p.name for p in dev.iterdir()) == [".terraform", ".terraform.lock.hcl"]


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
            {"PAYMENT_PROVIDER_IMPORT": "bogus", "PAYMENT_SYNTH_WORKERS": "2"},
            "PAYMENT_PROVIDER_IMPORT='bogus' is not allowed; use 'fast' or 'plain'",
        ),
        (
            {"PAYMENT_SYNTH_WORKERS": "zero"},
            "PAYMENT_SYNTH_WORKERS: 'zero' is not allowed; use a whole number of 1 or more",
        ),
    ],
    ids=["empty-environments", "blank-environments", "provider-import", "workers"],
)
def test_a_bad_variable_is_one_line_and_exit_2_before_any_worker(tmp_path, variables, line):
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
        PAYMENT_SYNTH_WORKERS="-1",
    )
    assert result.returncode == 2
    assert [line.split(":")[0].split("=")[0] for line in result.stderr.splitlines()] == [
        "PAYMENT_ENVIRONMENTS",
        "PAYMENT_SYNTH_WORKERS",
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
    assert variable_problems({"PAYMENT_ENVIRONMENTS": ","}, ["a", "b"]) == [
        "PAYMENT_ENVIRONMENTS: ',' names no environment; allowed: a, b (comma-separated), "
        "or leave it unset for all"
    ]
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


def test_main_rejects_a_bad_worker_count_before_writing(tmp_path):
    root = ROOT
    env = {**os.environ, "PAYMENT_SYNTH_WORKERS": "zero", "CDKTF_OUTDIR": str(tmp_path / "out")}
    result = subprocess.run(
        [sys.executable, str(root / "main.py")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "PAYMENT_SYNTH_WORKERS: 'zero' is not allowed" in result.stderr
    assert not (tmp_path / "out").exists()


def test_parallel_workers_synthesize_byte_identical_stacks(synth_outdir, background_synthesis):
    """The background run (tests/conftest.py) synthesizes the first two
    configured environments with two workers; the session's single-process
    synthesis is the reference."""
    outdir, built = synth_outdir
    run = BACKGROUND_SYNTHESES["test_parallel_workers_synthesize_byte_identical_stacks"]
    selected = run["PAYMENT_ENVIRONMENTS"].split(",")
    assert selected == list(PARALLEL_SELECTION) and run["PAYMENT_SYNTH_WORKERS"] == "2"
    returncode, stderr = background_synthesis.wait()
    assert returncode == 0, stderr[-2000:]
    merged = background_synthesis.outdir
    names = sorted(p.name for p in (merged / "stacks").iterdir())
    assert names == sorted(stack.node.id for env in selected for stack in built[env].all())
    # Every tier of every selected environment (and the baselines they own).
    assert len(names) >= 5 * len(selected)
    for name in names:
        assert (merged / "stacks" / name / "cdk.tf.json").read_bytes() == (
            outdir / "stacks" / name / "cdk.tf.json"
        ).read_bytes(), name
    session_manifest = json.loads((outdir / "manifest.json").read_text())
    # Our formatter reproduces cdktf's own manifest byte for byte.
    assert manifest_text(session_manifest) == (outdir / "manifest.json").read_text()
    expected = {
        "version": session_manifest["version"],
        "stacks": {n: session_manifest["stacks"][n] for n in names},
    }
    # Same content, and formatted exactly as cdktf formats it.
    assert (merged / "manifest.json").read_text() == manifest_text(expected)
    assert json.loads((merged / "guardrails-suppressions.json").read_text()) == {"suppressions": []}


def test_a_workers_assets_folder_replaces_the_previous_one(tmp_path):
    """A TerraformAsset (the release check's archive, D55) is a folder in the
    stack's directory: the new one replaces the old whole (an old archive
    left beside it would be stale), while what terraform init wrote stays."""
    from stacks.synthesis import merge_outputs

    name = "payment-dev-services"
    outdir = tmp_path / "out"
    previous_output(outdir, [name])
    (outdir / "stacks" / name / "assets" / "code" / "OLD").mkdir(parents=True)
    part = tmp_path / "worker-0"
    new = part / "stacks" / name / "assets" / "code" / "NEW"
    new.mkdir(parents=True)
    (new / "archive.zip").write_text("zip")
    (part / "stacks" / name / "cdk.tf.json").write_text("{}")
    entry = {
        "name": name,
        "dependencies": [],
        "annotations": [],
        "synthesizedStackPath": f"stacks/{name}/cdk.tf.json",
        "workingDirectory": f"stacks/{name}",
    }
    manifest = {"stacks": {name: entry}, "version": "0.21.0"}
    (part / "manifest.json").write_text(json.dumps(manifest))
    merge_outputs([part], outdir)
    folder = outdir / "stacks" / name
    assert [p.name for p in (folder / "assets" / "code").iterdir()] == ["NEW"]
    assert (folder / ".terraform").is_dir()
