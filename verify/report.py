"""Results of the checks, the exit codes, and the evidence files (JSON, Markdown)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

PASS = "pass"
FAIL = "fail"
#: The check could not read what it needs (permission, throttling, API error).
UNREADABLE = "cannot read"
#: Not this stack's to check (the organization provides it, or it is off).
NOT_APPLICABLE = "not this stack's"

EXIT_OK = 0
#: At least one check failed.
EXIT_FAILED = 1
#: Bad input: arguments, environment name, missing or unreadable synthesized JSON.
EXIT_INPUT = 2
#: No usable AWS credentials (missing, expired, or another account's).
EXIT_CREDENTIALS = 3
#: Nothing failed, but at least one check could not read what it needs:
#: not proven (usually a permission the role lacks; docs/verify.md).
EXIT_UNREADABLE = 4


@dataclass(frozen=True)
class Result:
    #: The check's id, e.g. ``service.image`` (docs/verify.md).
    check: str
    #: The resource checked, by its name in the account.
    subject: str
    status: str
    #: Pass: what was found. Otherwise: expected, found, and what to do.
    message: str
    #: The doc section that explains or fixes it.
    doc: str = ""

    def line(self) -> str:
        where = f" (see {self.doc})" if self.doc and self.status != PASS else ""
        return f"{self.status.upper():<16} {self.check:<26} {self.subject}: {self.message}{where}"


def passed(check: str, subject: str, message: str, doc: str = "") -> Result:
    return Result(check, subject, PASS, message, doc)


def failed(check: str, subject: str, message: str, doc: str) -> Result:
    return Result(check, subject, FAIL, message, doc)


def unreadable(check: str, subject: str, message: str, doc: str = "docs/verify.md") -> Result:
    return Result(check, subject, UNREADABLE, message, doc)


def not_applicable(check: str, subject: str, message: str, doc: str = "") -> Result:
    return Result(check, subject, NOT_APPLICABLE, message, doc)


def exit_code(results: list[Result]) -> int:
    statuses = {r.status for r in results}
    if FAIL in statuses:
        return EXIT_FAILED
    if UNREADABLE in statuses:
        return EXIT_UNREADABLE
    return EXIT_OK


def summary(results: list[Result]) -> str:
    counts = {
        s: sum(r.status == s for r in results) for s in (PASS, FAIL, UNREADABLE, NOT_APPLICABLE)
    }
    return ", ".join(f"{n} {s}" for s, n in counts.items())


def to_json(results: list[Result], header: dict) -> str:
    return json.dumps(
        {
            **header,
            "summary": summary(results),
            "exit_code": exit_code(results),
            "results": [asdict(r) for r in results],
        },
        indent=2,
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(results: list[Result], header: dict) -> str:
    lines = [
        f"# Verification of {header['environment']}",
        "",
        f"- account: {header['account']}, region: {header['region']}",
        f"- identity: {header['identity']}",
        f"- checked at: {header['checked_at']} ({header['duration_seconds']} s)",
        f"- result: {summary(results)} (exit {exit_code(results)})",
        "",
        "| status | check | resource | finding | fix |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.status} | `{r.check}` | {_cell(r.subject)} | {_cell(r.message)} | {_cell(r.doc)} |"
        for r in results
    ]
    return "\n".join(lines) + "\n"


def write(path: str, results: list[Result], header: dict) -> list[str]:
    """Writes ``path`` as JSON (``.json``) or Markdown (anything else), and its
    twin beside it; returns both paths."""
    target = Path(path)
    json_path = target.with_suffix(".json")
    md_path = target.with_suffix(".md")
    json_path.write_text(to_json(results, header) + "\n")
    md_path.write_text(to_markdown(results, header))
    return [str(json_path), str(md_path)]
