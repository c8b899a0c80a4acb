"""Helpers for the CDKTF CLI tests: a scratch copy of the project, the
stand-in terraform, the README's commands and a pseudo-terminal driver.

The CLI writes ``cdktf.out`` next to ``cdktf.json``; other test runs and
engineers use the checkout's ``cdktf.out``, so the CLI runs in a copy of the
project's sources that shares the checkout's ``.venv`` and ``node_modules``
(symbolic links; nothing is installed).
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path

from guardrails.cdktf_out import manifest_stacks

ROOT = Path(__file__).resolve().parent.parent
STANDIN = Path(__file__).resolve().parent / "standin_terraform.py"
#: What the app needs: its packages (every top-level Python package but the
#: tests), tools/, cdktf.json, the lock files its launcher checks.
SOURCES = tuple(
    sorted(
        {p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name != "tests"} | {"tools"}
    )
)
FILES = (
    "main.py",
    "cdktf.json",
    "Makefile",
    "Pipfile",
    "Pipfile.lock",
    "package.json",
    "package-lock.json",
)
CLI_BINARY = ROOT / "node_modules" / ".bin" / "cdktf"
README_SECTIONS = ("## First deployment", "## Daily work")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
#: The CLI's approval prompt, one per stack (README: it asks before applying).
_APPROVAL = re.compile(r"Please review the diff output above for (\S+)")


def make_project(target: Path) -> Path:
    """A copy of the project's sources in ``target``, sharing ``.venv`` and
    ``node_modules``, with a stand-in terraform in ``target/standin``."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    for name in FILES:
        shutil.copy2(ROOT / name, target / name)  # keeps mtimes: the launcher compares them
    for name in (".venv", ".tools", "node_modules"):
        (target / name).symlink_to(ROOT / name)
    install_standin(target)
    return target


def install_standin(target: Path) -> None:
    """``target/standin/bin/terraform`` (the stand-in) and its state folder."""
    bin_dir = target / "standin" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "terraform"
    script.write_text(f"#!/bin/sh\nexec '{sys.executable}' '{STANDIN}' \"$@\"\n")
    script.chmod(0o755)
    (target / "standin" / "state").mkdir()


#: Set by a parent make; a user's own make starts without them.
MAKE_VARIABLES = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKE_TERMOUT", "MAKE_TERMERR")


def cli_environment(project: Path, **extra: str) -> dict[str, str]:
    """The caller's environment with the stand-in first on PATH; nothing of
    ours that would change what the README's commands do."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PAYMENT_", "CDKTF_", "TF_"))
        and key not in ("TERRAFORM_BINARY_NAME", "JSII_NODE", "JSII_RUNTIME", "NODE_OPTIONS")
        # Under `make test` these would make every make below a sub-make
        # ("make[1]: ***"), unlike what a user types.
        and key not in MAKE_VARIABLES
    }
    env.update(
        {
            "PATH": f"{project / 'standin' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "STANDIN_TERRAFORM_DIR": str(project / "standin" / "state"),
            "CHECKPOINT_DISABLE": "1",  # no usage telemetry (needs network)
            "CDKTF_HOME": str(project / "standin" / "cdktf-home"),
            "TERM": "xterm",
            # A developer's terminal. Under CI (CI set to anything but
            # "false", or a CI vendor's variables) ink, the CLI's UI, writes
            # only its static output: the approval prompt is never drawn and
            # the deploy waits for an answer it never asks (docs/cli.md).
            "CI": "false",
        }
    )
    env.update(extra)
    return env


def readme_commands(readme: Path = ROOT / "README.md") -> list[tuple[str, str]]:
    """(section, command) for every ``npx cdktf`` line in the code blocks of
    the README's first-deployment and daily-work sections, in order."""
    text = readme.read_text()
    found = []
    for heading in README_SECTIONS:
        start = text.index(heading)
        end = text.find("\n## ", start + len(heading))
        section = text[start : end if end > 0 else None]
        for block in re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL):
            for line in block.splitlines():
                command = line.split(" #")[0].strip()
                if command.startswith("npx cdktf "):
                    found.append((heading.lstrip("# "), command))
    return found


@dataclass
class Call:
    stack: str | None  # None: from the project root
    args: list[str]
    outcome: str
    tty: bool

    @property
    def verb(self) -> str:
        return " ".join(self.args[:2]) if self.args[0] == "providers" else self.args[0]


def read_calls(project: Path) -> list[Call]:
    log = project / "standin" / "state" / "calls.jsonl"
    if not log.exists():
        return []
    stacks_dir = str(project / "cdktf.out" / "stacks") + os.sep
    calls = []
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        cwd = entry["cwd"]
        stack = cwd[len(stacks_dir) :] if cwd.startswith(stacks_dir) else None
        calls.append(
            Call(stack=stack, args=entry["args"], outcome=entry["outcome"], tty=entry["tty"])
        )
    return calls


@dataclass
class CliRun:
    command: str
    returncode: int
    output: str
    approved: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    seconds: float = 0.0


def plain(raw: bytes) -> str:
    return _ANSI.sub("", raw.decode("utf-8", errors="replace")).replace("\r", "")


def run_in_terminal(
    command: str, project: Path, env: dict[str, str], timeout: float = 240
) -> CliRun:
    """Runs ``command`` as a user would, in a terminal, and answers the CLI's
    approval prompt of each stack with Enter (its default: Approve)."""
    calls_before = len(read_calls(project))
    master, child_side = pty.openpty()
    fcntl.ioctl(child_side, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 200, 0, 0))
    started = time.monotonic()
    process = subprocess.Popen(
        shlex.split(command),
        cwd=project,
        env=env,
        stdin=child_side,
        stdout=child_side,
        stderr=child_side,
        start_new_session=True,
        close_fds=True,
    )
    os.close(child_side)
    output = bytearray()
    answered: dict[str, float] = {}
    scanned = 0
    try:
        while True:
            if time.monotonic() - started > timeout:
                raise AssertionError(
                    f"{command!r} did not finish in {timeout:.0f} s:\n"
                    f"{plain(bytes(output))[-3000:]}"
                )
            if select.select([master], [], [], 0.2)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the terminal's other side is closed
                    chunk = b""
                if not chunk:
                    break
                output += chunk
            elif process.poll() is not None:
                break
            text = plain(bytes(output[max(0, scanned - 400) :]))
            scanned = len(output)
            now = time.monotonic()
            for stack in _APPROVAL.findall(text):
                applied = any(
                    c.stack == stack and c.args[0] == "apply"
                    for c in read_calls(project)[calls_before:]
                )
                # Once per stack; again only if the key press was lost.
                if stack not in answered or (not applied and now - answered[stack] > 5):
                    time.sleep(0.3)  # let the prompt take input
                    os.write(master, b"\r")
                    answered[stack] = time.monotonic()
        returncode = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        os.close(master)
    return CliRun(
        command=command,
        returncode=returncode,
        output=plain(bytes(output)),
        approved=list(answered),
        calls=read_calls(project)[calls_before:],
        seconds=time.monotonic() - started,
    )


def manifest(project: Path) -> dict[str, dict]:
    return manifest_stacks(project / "cdktf.out")


def cli_installed() -> bool:
    return CLI_BINARY.exists() and (ROOT / "node_modules" / ".cli-synced").exists()


def run_launcher(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """cdktf.json's app command, as the CLI runs it (a shell, in the project)."""
    app = json.loads((project / "cdktf.json").read_text())["app"]
    return subprocess.run(
        app, shell=True, cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
