"""tools/checks/checkov_scan.py scans exactly the stacks the manifest lists.

Stack folders also hold what the CDKTF CLI and Terraform write there, and a
folder can outlive its stack (the CLI removes it only on its next synth); a
failed synthesis leaves no manifest. None of that may be scanned or counted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.checks import checkov_scan as scan


def synthesized(outdir: Path, listed: list[str], unlisted: list[str]) -> Path:
    for name in listed + unlisted:
        folder = outdir / "stacks" / name
        (folder / ".terraform" / "modules").mkdir(parents=True)
        (folder / "cdk.tf.json").write_text(json.dumps({"resource": {"aws_sqs_queue": {name: {}}}}))
        (folder / ".terraform" / "modules" / "m.tf.json").write_text("{}")
        (folder / "plan").write_text("binary plan")
    manifest = {
        "version": "0.21.0",
        "stacks": {
            name: {"name": name, "synthesizedStackPath": f"stacks/{name}/cdk.tf.json"}
            for name in listed
        },
    }
    (outdir / "manifest.json").write_text(json.dumps(manifest))
    return outdir


def test_only_the_manifests_stack_files_are_scanned(tmp_path, monkeypatch):
    outdir = synthesized(tmp_path, ["payment-dev-a", "payment-prod-b"], ["payment-qa-old"])
    scanned = {}

    def fake_checkov(directory: Path):
        scanned["files"] = sorted(
            str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()
        )
        scanned["a"] = (directory / "stacks" / "payment-dev-a" / "cdk.tf.json").read_text()
        return {"results": {"passed_checks": [], "failed_checks": []}}

    monkeypatch.setattr(scan, "run_checkov", fake_checkov)
    scan.scan_manifest_stacks(outdir)
    assert scanned["files"] == [
        "stacks/payment-dev-a/cdk.tf.json",
        "stacks/payment-prod-b/cdk.tf.json",
    ]
    assert scanned["a"] == (outdir / "stacks" / "payment-dev-a" / "cdk.tf.json").read_text()


def test_without_a_manifest_nothing_is_scanned(tmp_path, capsys):
    synthesized(tmp_path, ["payment-dev-a"], [])
    (tmp_path / "manifest.json").unlink()
    assert scan.main(["--outdir", str(tmp_path)]) == 2
    assert (
        f"no {tmp_path / 'manifest.json'}: synthesize first (make synth)" in capsys.readouterr().err
    )


def test_a_manifest_naming_a_missing_stack_file_is_refused(tmp_path):
    synthesized(tmp_path, ["payment-dev-a", "payment-dev-b"], [])
    (tmp_path / "stacks" / "payment-dev-b" / "cdk.tf.json").unlink()
    with pytest.raises(scan.ScanError, match="lists stacks without their file: payment-dev-b"):
        scan.manifest_stack_files(tmp_path)


def test_the_scanned_copy_differs_only_where_checkov_cannot_parse(stacks):
    """checkov 3.3.30 fails on the string ``terraform.required_version``; the
    copy it scans has ``{}`` there, on the same line, and nothing else changed."""
    for name, stack in stacks.items():
        copy = scan.scannable(stack.text)
        assert len(copy.splitlines()) == len(stack.text.splitlines()), name
        original, scanned = stack.json, json.loads(copy)
        assert original["terraform"]["required_version"] == ">= 1.11"
        assert scanned["terraform"].pop("required_version") == {}
        original["terraform"].pop("required_version")
        assert scanned == original, name
