"""README "Before the first deployment", followed in a temporary copy.

Starts from the shipped example configuration (tests/fixtures/example.py,
whatever config/environments.py holds now), replaces every value the README's
table says to replace, the way a team would by hand, then runs what the
README says next: ``make synth`` (which must list no placeholder) and ``make
format docs diagram``. Then README "Common changes", "Add a service": one
``ServiceConfig`` entry in ``_services()``, ``make refresh``, which must stop
naming the release workflow's service list and the list to set; that list
edited as the message says; ``make refresh`` again and ``make test``. The
copy reuses this checkout's .venv, .tools and node_modules (symlinks), so
nothing is installed again. Part of ``make test-configurations`` and so of
.ci/run.

Exit code 0 when every step passes; 1 when one fails (its output is shown);
2 when a replacement the README describes finds nothing to replace (the
README and the example have drifted apart).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Installed once in this checkout, linked into the copy.
SHARED = (".venv", ".tools", "node_modules")

#: README table row -> (pattern, replacement), applied to the example.
#: Account ids are one per environment, as an organization has them.
ACCOUNTS = {"dev": "111122223333", "staging": "222233334444", "prod": "444455556666"}
REPLACEMENTS: dict[str, tuple[str, str]] = {
    "account_id (prod)": (r'account_id="000000000000"', f'account_id="{ACCOUNTS["prod"]}"'),
    "load_balancer.certificate_arn": (
        r"arn:aws:acm:([a-z0-9-]+):111111111111:certificate/00000000-0000-0000-0000-0000000000(\d\d)",
        r"arn:aws:acm:\1:444455556666:certificate/7d3f0c2e-4b1a-4e59-9c1d-2a6b8f0e51\2",
    ),
    "load_balancer.test_listener_cidrs": (
        r'"(192\.0\.2|198\.51\.100|203\.0\.113)\.0/28"',
        '"85.214.132.0/28", "3.121.40.16/29"',
    ),
    "alarms.emails": (r"@example\.com", "@acme-payments.eu"),
    "pipeline.github_repository": (
        r"replace-with-your-github-organization-name/payment-platform",
        "acme-payments/payments-infrastructure",
    ),
    "state_bucket": (
        r'state_bucket="payment-platform-tfstate-(\w+)"',
        r'state_bucket="acme-tfstate-\1"',
    ),
}


#: README "Common changes", "Add a service": one entry in ``_services()``.
NEW_SERVICE = """\
        ServiceConfig(
            name="refund-service",
            port=8090,
            cpu=256,
            memory_mib=512,
            desired_count=1 * scale,
            min_count=1 * scale,
            max_count=4 * scale,
            public=False,
            path_prefix="/refunds",
            listener_priority=90,
            health_check_path="/health",
            use_spot=spot,
            secrets=(),
            uses_database=True,
        ),
"""
#: The one line ``make refresh`` cannot write (tools/review/plan_env.py):
#: the release workflow's service choices, with the list to set.
SERVICE_CHOICES = re.compile(
    r"\(set on\.workflow_dispatch\.inputs\.service\.options to \[([^\]]*)\]\)"
)
#: The choice list under the release workflow's ``service`` input.
SERVICE_OPTIONS = re.compile(r"(\n      service:\n(?:        .*\n)*?        options: )\[[^\]]*\]")


class Drift(Exception):
    pass


def add_service(text: str) -> str:
    """The configuration with ``NEW_SERVICE`` as the last entry of ``_services()``."""
    start = text.find("def _services(")
    end = text.find("\n    )\n", start)
    if start < 0 or end < 0:
        raise Drift("README 'Add a service': no _services() tuple in the configuration")
    return text[: end + 1] + NEW_SERVICE + text[end + 1 :]


def set_service_choices(message: str, workflow: str) -> str:
    """The release workflow with the service choices ``make refresh`` named
    in ``message``; Drift when it named none."""
    named = SERVICE_CHOICES.search(message)
    if named is None:
        raise Drift(
            "README 'Add a service': make refresh did not name the release workflow's "
            "service list to set"
        )
    edited, count = SERVICE_OPTIONS.subn(rf"\g<1>[{named.group(1)}]", workflow)
    if count != 1:
        raise Drift("README 'Add a service': no service options in .github/workflows/release.yml")
    return edited


def fill_in(text: str) -> str:
    """The example configuration with every README replacement applied."""
    for row, (pattern, replacement) in REPLACEMENTS.items():
        text, count = re.subn(pattern, replacement, text)
        if not count:
            raise Drift(f"README row {row!r}: {pattern!r} matches nothing in the example")
    # "set it for dev and staging too": an account id in each environment.
    for name in ("dev", "staging"):
        block = re.compile(rf'(= EnvironmentConfig\(\n    name="{name}",\n    tier=\w+,\n)')
        text, count = block.subn(rf'\1    account_id="{ACCOUNTS[name]}",\n', text)
        if count != 1:
            raise Drift(f"README row 'account_id ({name})': no EnvironmentConfig named {name!r}")
    return text


def copy_tree(target: Path) -> None:
    """The checkout's files (tracked and new, not ignored) with their times,
    so make sees the installed environments as up to date, committed in a
    repository of their own as a clone has them (the review diff exports
    HEAD)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    copied = []
    for raw in filter(None, listed):
        relative = raw.decode()
        source = ROOT / relative
        if not source.exists() or source.name in SHARED:
            continue  # deleted in the work tree, or a link to an installed environment
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
        copied.append(relative)
    git = [
        "git",
        "-C",
        str(target),
        "-c",
        "user.name=walkthrough",
        "-c",
        "user.email=walkthrough@localhost",
    ]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run(
        [*git, "add", "--pathspec-from-file=-", "--pathspec-file-nul"],
        input="\0".join(copied).encode(),
        check=True,
    )
    subprocess.run([*git, "commit", "-q", "-m", "copy of the checkout"], check=True)
    for name in SHARED:
        if (ROOT / name).exists():
            (target / name).symlink_to(ROOT / name)


def run(step: list[str], cwd: Path) -> subprocess.CompletedProcess:
    started = time.monotonic()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PAYMENT_")}
    result = subprocess.run(step, cwd=cwd, env=environ, capture_output=True, text=True)
    print(
        f"walkthrough: {' '.join(step)}: exit {result.returncode} in {time.monotonic() - started:.0f} s"
    )
    return result


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="readme-walkthrough-") as tmp:
        copy = Path(tmp) / "payment-platform"
        copy_tree(copy)
        config = copy / "config" / "environments.py"
        example = (ROOT / "tests" / "fixtures" / "example.py").read_text()
        try:
            config.write_text(fill_in(example))
        except Drift as err:
            print(f"walkthrough: {err}", file=sys.stderr)
            return 2
        for step in (["make", "synth"], ["make", "format", "docs", "diagram"]):
            result = run(step, copy)
            if result.returncode != 0:
                return failed(result)
            if step == ["make", "synth"] and "placeholders:" in result.stdout:
                print(result.stdout, file=sys.stderr)
                print(
                    "walkthrough: placeholders remain after every README replacement",
                    file=sys.stderr,
                )
                return 1
        # README "Common changes", "Add a service".
        config.write_text(add_service(config.read_text()))
        result = run(["make", "refresh"], copy)
        if result.returncode == 0:
            print(
                "walkthrough: make refresh passed with a service the release workflow "
                "does not offer",
                file=sys.stderr,
            )
            return 1
        workflow = copy / ".github" / "workflows" / "release.yml"
        try:
            workflow.write_text(
                set_service_choices(result.stdout + result.stderr, workflow.read_text())
            )
        except Drift as err:
            print(result.stdout[-3000:], result.stderr[-3000:], sep="\n", file=sys.stderr)
            print(f"walkthrough: {err}", file=sys.stderr)
            return 2
        for step in (["make", "refresh"], ["make", "test"]):
            result = run(step, copy)
            if result.returncode != 0:
                return failed(result)
    print(
        "walkthrough: README 'Before the first deployment' and 'Add a service' followed; "
        "make synth, make refresh and make test pass"
    )
    return 0


def failed(result: subprocess.CompletedProcess) -> int:
    print(result.stdout[-6000:], result.stderr[-6000:], sep="\n", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
