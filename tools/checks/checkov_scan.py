"""Security scan of the synthesized stacks with checkov, against reasoned exceptions.

Runs::

    checkov -d <copy of the manifest's stacks> --framework terraform_json \\
            --skip-download --compact -o json --config-file .checkov.yaml

It scans exactly the stacks that ``<outdir>/manifest.json`` lists (copied
into a temporary directory with the same ``stacks/<id>/cdk.tf.json`` layout):
a synthesis writes the manifest last and only on success, while stack
folders also hold what the CDKTF CLI and Terraform put there (``.terraform/``,
plan files) and may outlive a stack the manifest no longer names.

(``--skip-download``: no network, no Bridgecrew policy metadata, so severities
are unknown and exceptions select by check id. ``--quiet`` is deliberately not
used: it drops passed checks from the JSON and we report passed counts.)

Every failed check must be covered by an entry of the exceptions file
(``guardrails/checkov_exceptions.yaml``)::

    exceptions:
      - check: CKV_AWS_18                  # exact checkov id
        resources:                         # fnmatch patterns on <stack>/<address>
          - "payment-*-bootstrap/aws_s3_bucket.state_bucket_*"
        reason: >-                         # why the risk is accepted (required)
          ...

``"*"`` as a resource pattern makes the exception global. Inline skip comments
do not work in JSON, and ``.checkov.yaml`` must not skip checks (a test
enforces it), so the exceptions file is the one place where a check is
accepted, always with its reason, and excepted results stay visible in the
counts.

Exit status: 0 when every failure is excepted, 1 when any is not (or checkov
reports parsing errors), 2 when checkov cannot run or the exceptions file is
invalid. Unused exceptions are listed as warnings.

It never writes a tracked file: ``--check-doc`` only compares a doc's
counts table (``make checks``); tools/checks/checkov_docs.py rewrites it from the
``--summary-json`` counts (``make docs``).

Usage::

    .venv/bin/python tools/checks/checkov_scan.py [--outdir cdktf.out] [--exceptions FILE]
        [--summary-json FILE] [--check-doc docs/verification.md]
        [--checkov-json FILE]   # evaluate a saved `checkov -o json` instead of running it
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as `.venv/bin/python tools/checks/checkov_scan.py`
    sys.path.insert(0, str(ROOT))

from config import environment_tiers  # noqa: E402  (needs ROOT on sys.path)
from config.model import TIERS  # noqa: E402
from guardrails.cdktf_out import manifest_path, manifest_stacks, stack_path  # noqa: E402
from guardrails.checkov_counts import DocError, doc_is_current, markdown_table  # noqa: E402

DEFAULT_EXCEPTIONS = ROOT / "guardrails" / "checkov_exceptions.yaml"
CHECKOV_CONFIG = ROOT / ".checkov.yaml"
CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")
MIN_REASON_CHARS = 20
_STACK_IN_PATH = re.compile(r"(?:^|/)stacks/([^/]+)/cdk\.tf\.json$")
_ENVIRONMENT = re.compile(r"^payment-(?P<env>[a-z0-9-]+)-[a-z0-9]+$")  # payment-<env>-<part>


class ScanError(Exception):
    """Input or tool problem (exit status 2)."""


@dataclass(frozen=True)
class Exemption:
    check: str
    resources: tuple[str, ...]
    reason: str
    #: Tiers (config.model.TIERS) whose stacks it covers; empty: every tier.
    #: Policy follows the tier an environment declares, never its name.
    tiers: tuple[str, ...] = ()

    def covers(self, check_id: str, target: str, tier: str | None = None) -> bool:
        if self.tiers and tier not in self.tiers:
            return False
        return check_id == self.check and any(
            fnmatch.fnmatchcase(target, p) for p in self.resources
        )


@dataclass(frozen=True)
class Result:
    check_id: str
    check_name: str
    stack: str
    address: str
    passed: bool
    guideline: str = ""

    @property
    def target(self) -> str:
        return f"{self.stack}/{self.address}"

    @property
    def environment(self) -> str:
        match = _ENVIRONMENT.match(self.stack)
        return match.group("env") if match else "other"


# --------------------------------------------------------------------------
# Exceptions file
# --------------------------------------------------------------------------


def parse_exceptions(raw: Any, source: str = "exceptions") -> list[Exemption]:
    """Validates the loaded exceptions document; every problem names the entry."""
    if not isinstance(raw, dict) or not isinstance(raw.get("exceptions"), list):
        raise ScanError(
            f"{source}: expected a mapping with an 'exceptions' list, got {type(raw).__name__}"
        )
    parsed = []
    for index, entry in enumerate(raw["exceptions"]):
        where = f"{source}: exceptions[{index}]"
        if not isinstance(entry, dict):
            raise ScanError(
                f"{where}: expected a mapping with check, resources and reason, got {entry!r}"
            )
        unknown = set(entry) - {"check", "resources", "reason", "tiers"}
        if unknown:
            raise ScanError(
                f"{where}: unknown field(s) {sorted(unknown)}; allowed: check, resources, "
                "reason, tiers"
            )
        tiers = entry.get("tiers", [])
        if not isinstance(tiers, list) or any(t not in TIERS for t in tiers):
            raise ScanError(
                f"{where}: tiers={tiers!r} is not allowed; give a list of "
                f"{', '.join(TIERS)} (or leave it out for every tier)"
            )
        check = entry.get("check")
        if not isinstance(check, str) or not CHECK_ID.match(check):
            raise ScanError(
                f"{where}: check={check!r} is not a checkov id like CKV_AWS_18 or CKV2_AWS_62"
            )
        resources = entry.get("resources")
        if (
            not isinstance(resources, list)
            or not resources
            or not all(isinstance(p, str) and p.strip() for p in resources)
        ):
            raise ScanError(
                f"{where} ({check}): resources={resources!r} must be a non-empty list of "
                f"'<stack>/<type>.<name>' patterns ('*' for all)"
            )
        reason = entry.get("reason")
        if not isinstance(reason, str) or len(reason.strip()) < MIN_REASON_CHARS:
            raise ScanError(
                f"{where} ({check}): reason={reason!r} must explain why the risk is accepted "
                f"(at least {MIN_REASON_CHARS} characters)"
            )
        parsed.append(
            Exemption(
                check=check,
                resources=tuple(resources),
                reason=" ".join(reason.split()),
                tiers=tuple(tiers),
            )
        )
    return parsed


def load_exceptions(path: Path) -> list[Exemption]:
    import yaml

    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ScanError(f"cannot read exceptions file {path}: {err}") from err
    return parse_exceptions(raw, str(path))


# --------------------------------------------------------------------------
# checkov output
# --------------------------------------------------------------------------


def run_checkov(outdir: Path) -> Any:
    return read_checkov(start_checkov(outdir))


def manifest_stack_files(outdir: Path) -> dict[str, Path]:
    """stack name -> stack file, for every stack the manifest lists."""
    manifest = manifest_path(outdir)
    if not manifest.is_file():
        raise ScanError(
            f"no {manifest}: synthesize first (make synth); a failed synthesis leaves none"
        )
    try:
        stacks = manifest_stacks(outdir)
        files = {
            name: Path(outdir, entry["synthesizedStackPath"]) for name, entry in stacks.items()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ScanError(f"{manifest} is not a cdktf manifest: {err!r}") from err
    missing = sorted(name for name, path in files.items() if not path.is_file())
    if missing:
        raise ScanError(
            f"{manifest} lists stacks without their file: {', '.join(missing)}; synthesize again"
        )
    if not files:
        raise ScanError(f"{manifest} lists no stack; synthesize first (make synth)")
    return files


#: ``terraform.required_version``, as cdktf writes it (a direct child of the
#: top-level ``terraform`` block, four spaces deep).
_REQUIRED_VERSION = re.compile(r'^(    "required_version": )"[^"\n]*"(,?)$', re.MULTILINE)


def scannable(stack_text: str) -> str:
    """checkov 3.3.30's terraform_json parser reads every entry of the
    ``terraform`` block as a block and fails on the string
    ``required_version`` ("this method receives only dicts"), so each stack
    would count as a parsing error and nothing would be checked. The copy
    it scans carries ``{}`` there instead, on the same line: line numbers,
    which resolve addresses, stay those of the real file. No check reads it."""
    return _REQUIRED_VERSION.sub(r"\1{}\2", stack_text)


def scan_manifest_stacks(outdir: Path) -> Any:
    """checkov's report on exactly the stacks of the manifest."""
    files = manifest_stack_files(outdir)
    with tempfile.TemporaryDirectory(prefix="checkov-scan-") as scan_dir:
        for name, path in files.items():
            target = stack_path(scan_dir, name)
            target.parent.mkdir(parents=True)
            target.write_text(scannable(path.read_text()))
        return run_checkov(Path(scan_dir))


def start_checkov(outdir: Path) -> subprocess.Popen:
    """Starts checkov on ``outdir``; ``read_checkov`` waits for its report.
    (Separate so tests can start the ~6 s run early and collect it later.)"""
    checkov = Path(sys.executable).parent / "checkov"
    command = [
        str(checkov) if checkov.exists() else "checkov",
        "-d",
        str(outdir),
        "--framework",
        "terraform_json",
        "--skip-download",
        "--compact",
        "-o",
        "json",
    ]
    if CHECKOV_CONFIG.exists():
        command += ["--config-file", str(CHECKOV_CONFIG)]
    try:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except OSError as err:
        raise ScanError(f"cannot run checkov ({command[0]}): {err}") from err


def read_checkov(process: subprocess.Popen) -> Any:
    """Waits for a checkov started by ``start_checkov``; returns its JSON report."""
    with process:
        try:
            stdout, stderr = process.communicate()
        except BaseException:
            process.kill()
            raise
    # checkov exits 1 when checks fail; only unreadable output is an error.
    try:
        return json.loads(stdout)
    except ValueError as err:
        raise ScanError(
            f"checkov exited {process.returncode} without JSON output:\n{stderr[-2000:]}"
        ) from err


class _AddressIndex:
    """checkov names terraform_json resources inconsistently: graph checks say
    ``aws_s3_bucket.x`` but resource checks say ``resource.x``. The type comes
    back from the stack JSON (logical ids are unique per stack; if not, the
    line checkov reports decides)."""

    def __init__(self, outdir: Path | None) -> None:
        self.outdir = outdir
        self._stacks: dict[str, tuple[dict[str, list[str]], list[str]]] = {}

    def _load(self, stack: str):
        if stack not in self._stacks:
            by_name: dict[str, list[str]] = {}
            lines: list[str] = []
            path = stack_path(self.outdir, stack) if self.outdir else None
            if path and path.exists():
                text = path.read_text()
                lines = text.splitlines()
                for section, prefix in (("resource", ""), ("data", "data.")):
                    for tf_type, items in (json.loads(text).get(section) or {}).items():
                        for name in items:
                            by_name.setdefault(name, []).append(f"{prefix}{tf_type}.{name}")
            self._stacks[stack] = (by_name, lines)
        return self._stacks[stack]

    def resolve(self, stack: str, resource: str, line_range: list[int] | None) -> str:
        section, _, name = resource.partition(".")
        if section not in ("resource", "data"):
            return resource
        by_name, lines = self._load(stack)
        candidates = [
            c for c in by_name.get(name, []) if c.startswith("data.") == (section == "data")
        ]
        if len(candidates) > 1 and line_range and 0 < line_range[0] <= len(lines):
            # The block starts at the line of its name; its type is the
            # nearest enclosing key above.
            for line in reversed(lines[: line_range[0] - 1]):
                key = re.match(r'\s*"([\w-]+)": \{', line)
                if key:
                    narrowed = [c for c in candidates if c.split(".")[-2] == key.group(1)]
                    candidates = narrowed or candidates
                    break
        return candidates[0] if len(candidates) == 1 else resource


def parse_results(report: Any, outdir: Path | None) -> tuple[list[Result], int]:
    """Flattens checkov's JSON (one report or a list of them); returns the
    results and the number of parsing errors."""
    reports = report if isinstance(report, list) else [report]
    index = _AddressIndex(outdir)
    results: list[Result] = []
    parsing_errors = 0
    for one in reports:
        if not isinstance(one, dict) or "results" not in one:
            continue  # checkov prints only a summary when it found nothing to scan
        parsing_errors += len(one["results"].get("parsing_errors", []))
        for key, passed in (("passed_checks", True), ("failed_checks", False)):
            for item in one["results"].get(key, []):
                path = item.get("file_abs_path") or item.get("file_path") or ""
                match = _STACK_IN_PATH.search(path)
                stack = match.group(1) if match else path
                results.append(
                    Result(
                        check_id=item["check_id"],
                        check_name=item.get("check_name", ""),
                        stack=stack,
                        address=index.resolve(
                            stack, item.get("resource", ""), item.get("file_line_range")
                        ),
                        passed=passed,
                        guideline=item.get("guideline") or "",
                    )
                )
    return results, parsing_errors


# --------------------------------------------------------------------------
# Evaluation and reporting
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    unexcepted: list[Result]
    excepted: list[tuple[Result, Exemption]]
    unused: list[Exemption]
    counts: dict[str, dict[str, int]]
    parsing_errors: int

    @property
    def ok(self) -> bool:
        return not self.unexcepted and not self.parsing_errors


def evaluate(
    results: Iterable[Result],
    exceptions: list[Exemption],
    parsing_errors: int = 0,
    tiers: dict[str, str] | None = None,
) -> Evaluation:
    """``tiers``: environment name -> tier; an entry restricted to tiers
    covers nothing of an environment whose tier is unknown."""
    unexcepted: list[Result] = []
    excepted: list[tuple[Result, Exemption]] = []
    used: set[int] = set()
    counts: dict[str, Counter] = {}
    for result in results:
        tally = counts.setdefault(result.environment, Counter(passed=0, failed=0, excepted=0))
        if result.passed:
            tally["passed"] += 1
            continue
        tier = (tiers or {}).get(result.environment)
        cover = next(
            (i for i, e in enumerate(exceptions) if e.covers(result.check_id, result.target, tier)),
            None,
        )
        if cover is None:
            tally["failed"] += 1
            unexcepted.append(result)
        else:
            tally["excepted"] += 1
            used.add(cover)
            excepted.append((result, exceptions[cover]))
    return Evaluation(
        unexcepted=unexcepted,
        excepted=excepted,
        unused=[e for i, e in enumerate(exceptions) if i not in used],
        counts={env: dict(tally) for env, tally in counts.items()},
        parsing_errors=parsing_errors,
    )


def print_report(evaluation: Evaluation, out=None) -> None:
    out = out or sys.stdout
    for result in sorted(evaluation.unexcepted, key=lambda r: (r.stack, r.check_id, r.address)):
        print(
            f"FAILED {result.check_id} {result.target}: {result.check_name}"
            + (f" ({result.guideline})" if result.guideline else ""),
            file=out,
        )
    for exception in evaluation.unused:
        print(f"warning: unused exception {exception.check} {list(exception.resources)}", file=out)
    if evaluation.parsing_errors:
        print(f"checkov could not parse {evaluation.parsing_errors} file(s)", file=out)
    print(markdown_table(evaluation.counts), file=out)
    if evaluation.unexcepted:
        print(
            "Fix the stack, or accept the risk with a reasoned entry in "
            "guardrails/checkov_exceptions.yaml (see docs/verification.md).",
            file=out,
        )
    status = "ok" if evaluation.ok else f"{len(evaluation.unexcepted)} unexcepted failure(s)"
    print(f"checkov: {status}; {len(evaluation.excepted)} excepted", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="See the module docstring and docs/verification.md for the exceptions file format.",
    )
    parser.add_argument(
        "--outdir", type=Path, default=Path("cdktf.out"), help="synthesized app (default cdktf.out)"
    )
    parser.add_argument(
        "--exceptions",
        type=Path,
        default=DEFAULT_EXCEPTIONS,
        help="reasoned exceptions (default guardrails/checkov_exceptions.yaml)",
    )
    parser.add_argument(
        "--checkov-json",
        type=Path,
        help="evaluate this saved checkov JSON report instead of running checkov",
    )
    parser.add_argument(
        "--summary-json", type=Path, help="write the per-environment counts as JSON here"
    )
    parser.add_argument(
        "--check-doc",
        type=Path,
        action="append",
        default=[],
        help="fail (exit 1) when the counts table of this Markdown file is "
        "stale; changes nothing (repeatable; `make checks`)",
    )
    args = parser.parse_args(argv)
    try:
        exceptions = load_exceptions(args.exceptions)
        if args.checkov_json:
            report = json.loads(args.checkov_json.read_text())
        else:
            report = scan_manifest_stacks(args.outdir)
        results, parsing_errors = parse_results(report, args.outdir)
        if not results and not parsing_errors:
            # Nothing scanned must not read as "all good".
            raise ScanError("checkov reported no results")
        evaluation = evaluate(results, exceptions, parsing_errors, environment_tiers())
        print_report(evaluation)
        if args.summary_json:
            args.summary_json.write_text(
                json.dumps(evaluation.counts, indent=2, sort_keys=True) + "\n"
            )
        stale = [str(doc) for doc in args.check_doc if not doc_is_current(doc, evaluation.counts)]
        if stale:
            print(
                f"checkov scan: the counts table in {', '.join(stale)} is stale; refresh it "
                "with `make docs` and commit it",
                file=sys.stderr,
            )
            return 1
    except (ScanError, DocError) as err:
        print(f"checkov scan: {err}", file=sys.stderr)
        return 2
    return 0 if evaluation.ok else 1


if __name__ == "__main__":
    sys.exit(main())
