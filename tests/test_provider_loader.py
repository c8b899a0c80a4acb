"""The fast provider loader must be invisible in the output.

The session synthesis uses the fast loader; here the same app is synthesized
in a fresh process with the plain package import and every stack must be
byte-identical. Costs one plain synthesis (~10-15 s): the price of proving it.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from framework.aws import IMPORT_MODE_ENV, aws

ROOT = Path(__file__).resolve().parent.parent


def test_session_uses_the_fast_loader(synth_outdir):
    assert aws.mode == "fast"
    import cdktf_cdktf_provider_aws as package

    assert getattr(package, "__payment_fast_loader__", False) is True
    # Only what the app uses is loaded, not ~2,200 modules.
    loaded = [m for m in sys.modules if m.startswith("cdktf_cdktf_provider_aws.")]
    assert 10 < len(loaded) < 200


def test_plain_import_synthesizes_byte_identical_stacks(synth_outdir, tmp_path):
    """Also proves the parallel synthesis of main.py (stacks/synthesis.py):
    the session synthesized in one process, main.py uses worker processes."""
    outdir, _ = synth_outdir
    env = {**os.environ, IMPORT_MODE_ENV: "plain", "CDKTF_OUTDIR": str(tmp_path / "plain"),
           "PAYMENT_SYNTH_WORKERS": "2"}
    env.pop("PAYMENT_ENVIRONMENTS", None)
    result = subprocess.run([sys.executable, str(ROOT / "main.py")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    fast = {p.relative_to(outdir): p.read_bytes() for p in outdir.rglob("*.json")}
    plain = {p.relative_to(tmp_path / "plain"): p.read_bytes()
             for p in (tmp_path / "plain").rglob("*.json")}
    assert sorted(fast) == sorted(plain)
    assert len(fast) >= 17  # 15 stacks, the manifest, the suppression report
    different = [str(name) for name in fast if fast[name] != plain[name]]
    assert different == []


def _probe(mode: str, code: str, extra_path: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, IMPORT_MODE_ENV: mode}
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join([extra_path, str(ROOT)])
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_unknown_mode_is_refused_with_allowed_values():
    result = _probe("turbo", "import framework.aws")
    assert result.returncode != 0
    assert "PAYMENT_PROVIDER_IMPORT='turbo' is not allowed; use 'fast' or 'plain'" in result.stderr


def test_falls_back_to_plain_import_when_layout_is_unexpected(tmp_path):
    # A provider package without the _jsii directory the fast path relies on
    # (a stand-in, so the fallback is proven without an 8 s full import).
    package = tmp_path / "cdktf_cdktf_provider_aws"
    package.mkdir()
    (package / "__init__.py").write_text("PLAIN_INIT_RAN = True\n")
    code = (
        "import sys\n"
        "from framework.aws import aws\n"
        "print(aws.mode, sys.modules['cdktf_cdktf_provider_aws'].PLAIN_INIT_RAN)\n"
    )
    result = _probe("fast", code, extra_path=str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["plain", "True"]
