"""`make setup` checks Python and Node.js before installing anything, with
one line naming what is missing (issue #18)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_project import MAKE_VARIABLES

ROOT = Path(__file__).resolve().parent.parent


def fake_bin(
    tmp_path: Path, *, node: str | None = "v22.23.3", python_version: str | None = None
) -> Path:
    """A PATH with make and sh, python3 (real, or a stand-in reporting
    ``python_version``) and, unless ``node`` is None, a stand-in node whose
    ``--version`` says ``node`` and a stand-in npm."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("make", "sh"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    if python_version is None:
        (bin_dir / "python3").symlink_to(sys.executable)
    else:
        script = bin_dir / "python3"
        script.write_text(f"#!/bin/sh\necho {python_version}\n")
        script.chmod(0o755)
    if node is not None:
        (bin_dir / "node").write_text(f"#!/bin/sh\necho {node}\n")
        (bin_dir / "npm").write_text("#!/bin/sh\nexit 0\n")
        for tool in ("node", "npm"):
            (bin_dir / tool).chmod(0o755)
    return bin_dir


def prerequisites(bin_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "-s", "prerequisites"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k not in MAKE_VARIABLES},
            "PATH": str(bin_dir),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("node", ["v18.0.0", "v22.23.3", "v24.1.0"])
def test_a_supported_python_and_node_pass(tmp_path, node):
    result = prerequisites(fake_bin(tmp_path, node=node))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize(
    "node, version, message",
    [
        (None, None, "node/npm not found: install Node.js >= 18 with npm"),
        ("v16.20.2", None, "node is v16.20.2 ("),
        ("v9.11.2", None, "node is v9.11.2 ("),
        ("", None, "node is unknown (node --version printed nothing) ("),
        ("v22.23.3", "3.10", "python3 is Python 3.10: supported are 3.11 3.12 3.13"),
        ("v22.23.3", "3.14", "python3 is Python 3.14: supported are 3.11 3.12 3.13"),
    ],
    ids=["no-node", "node-16", "node-9", "node-no-version", "python-too-old", "python-too-new"],
)
def test_what_is_missing_is_named_in_one_line(tmp_path, node, version, message):
    result = prerequisites(fake_bin(tmp_path, node=node, python_version=version))
    assert result.returncode != 0
    assert message in result.stderr
    if node and version is None:  # the found version, and what is allowed
        assert "): Node.js >= 18 with npm is needed" in result.stderr
    # One line of ours; make adds its own "make: *** [...] Error 2".
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make: ***")]
    assert len(ours) == 1, result.stderr


def test_pipenv_is_installed_into_a_project_local_tool_environment():
    """Never into the system Python (PEP 668 refuses it on Debian/Ubuntu)."""
    recipe = subprocess.run(
        ["make", "-n", "--no-print-directory", "-B", ".tools/.synced"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "python3 -m venv .tools" in recipe
    assert (
        '.tools/bin/python -m pip install --quiet --disable-pip-version-check "pipenv==' in recipe
    )
    assert "python3 -m pip install" not in recipe
