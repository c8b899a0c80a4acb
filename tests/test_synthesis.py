"""Parallel synthesis (stacks/synthesis.py): planning, merging, failure.

Equality of the merged output with a single-process synthesis is proven on
the real app (two environments, two workers, started in the background at
collection by tests/conftest.py); fake workers keep the other merge and
failure paths fast.
"""
from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from config import ConfigError
from config.environments import DEV, PROD, STAGING
from stacks.synthesis import (
    manifest_text,
    plan_groups,
    synthesize_in_parallel,
    worker_count,
)


@pytest.mark.parametrize("raw, cpus, envs, expected", [
    (None, 2, 3, 2), (None, 8, 3, 3), (None, 1, 3, 1), ("", 4, 1, 1), ("1", 8, 3, 1), ("5", 1, 3, 3),
])
def test_worker_count(raw, cpus, envs, expected):
    assert worker_count(envs, raw, cpus=cpus) == expected


@pytest.mark.parametrize("raw", ["0", "-1", "two"])
def test_bad_worker_count_names_variable_value_and_allowed(raw):
    with pytest.raises(ConfigError, match=f"PAYMENT_SYNTH_WORKERS: '{raw}' is not allowed; use a whole number of 1 or more"):
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


FAKE_WORKER = """
import json, os, pathlib, sys
envs = os.environ["PAYMENT_ENVIRONMENTS"].split(",")
if "FAIL_ENV" in os.environ and os.environ["FAIL_ENV"] in envs:
    print("[PAY-ECS-001] something is wrong", file=sys.stderr)
    sys.exit(1)
out = pathlib.Path(os.environ["CDKTF_OUTDIR"])
stacks = {}
for env in envs:
    name = f"payment-{env}-network"
    (out / "stacks" / name).mkdir(parents=True)
    (out / "stacks" / name / "cdk.tf.json").write_text(json.dumps({"env": env}))
    stacks[name] = {"name": name, "dependencies": []}
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


def test_workers_output_is_merged(fake_worker, tmp_path, capsys):
    outdir = tmp_path / "out"
    assert synthesize_in_parallel([["dev", "staging"], ["prod"]], outdir, fake_worker) == 0
    assert sorted(p.name for p in (outdir / "stacks").iterdir()) == [
        "payment-dev-network", "payment-prod-network", "payment-staging-network"]
    manifest = json.loads((outdir / "manifest.json").read_text())
    assert list(manifest["stacks"]) == ["payment-dev-network", "payment-prod-network", "payment-staging-network"]
    report = json.loads((outdir / "guardrails-suppressions.json").read_text())
    assert [s["stack"] for s in report["suppressions"]] == [
        "payment-dev-network", "payment-prod-network", "payment-staging-network"]
    assert "guardrails: 3 suppressed contract rule(s)" in capsys.readouterr().out
    assert [p.name for p in outdir.iterdir() if p.name.startswith(".synth-")] == []


def test_a_failing_worker_leaves_the_previous_output_untouched(fake_worker, tmp_path, monkeypatch, capsys):
    outdir = tmp_path / "out"
    (outdir / "stacks" / "payment-dev-network").mkdir(parents=True)
    (outdir / "stacks" / "payment-dev-network" / "cdk.tf.json").write_text("previous")
    monkeypatch.setenv("FAIL_ENV", "prod")
    assert synthesize_in_parallel([["dev", "staging"], ["prod"]], outdir, fake_worker) == 1
    assert "[PAY-ECS-001] something is wrong" in capsys.readouterr().err
    assert (outdir / "stacks" / "payment-dev-network" / "cdk.tf.json").read_text() == "previous"
    assert sorted(p.name for p in outdir.iterdir()) == ["stacks"]


def test_main_rejects_a_bad_worker_count_before_writing(tmp_path):
    import os
    import subprocess

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PAYMENT_SYNTH_WORKERS": "zero", "CDKTF_OUTDIR": str(tmp_path / "out")}
    result = subprocess.run([sys.executable, str(root / "main.py")], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "PAYMENT_SYNTH_WORKERS: 'zero' is not allowed" in result.stderr
    assert not (tmp_path / "out").exists()


def test_parallel_workers_synthesize_byte_identical_stacks(synth_outdir, background_synthesis):
    outdir, _ = synth_outdir
    returncode, stderr = background_synthesis.wait()
    assert returncode == 0, stderr[-2000:]
    merged = background_synthesis.outdir
    names = sorted(p.name for p in (merged / "stacks").iterdir())
    assert names == sorted(p.name for p in (outdir / "stacks").iterdir()
                           if p.name.split("-")[1] in ("dev", "staging"))
    assert len(names) == 10
    for name in names:
        assert (merged / "stacks" / name / "cdk.tf.json").read_bytes() == \
            (outdir / "stacks" / name / "cdk.tf.json").read_bytes(), name
    session_manifest = json.loads((outdir / "manifest.json").read_text())
    # Our formatter reproduces cdktf's own manifest byte for byte.
    assert manifest_text(session_manifest) == (outdir / "manifest.json").read_text()
    expected = {"version": session_manifest["version"],
                "stacks": {n: session_manifest["stacks"][n] for n in names}}
    # Same content, and formatted exactly as cdktf formats it.
    assert (merged / "manifest.json").read_text() == manifest_text(expected)
    assert json.loads((merged / "guardrails-suppressions.json").read_text()) == {"suppressions": []}
