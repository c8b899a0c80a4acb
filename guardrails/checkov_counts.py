"""The checkov counts table of tracked docs: how it is drawn, whether a doc
shows the current counts, and the rewrite (tools/checks/checkov_scan.py
``--check-doc`` compares; tools/checks/checkov_docs.py, ``make docs``, rewrites).
Standard library only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

DOC_BEGIN = "<!-- checkov-counts:begin -->"
DOC_END = "<!-- checkov-counts:end -->"


class DocError(Exception):
    """A doc without the markers, or an unreadable counts file."""


def _ordered_envs(counts: dict[str, Any]) -> list[str]:
    order = {"dev": 0, "staging": 1, "prod": 2}
    return sorted(counts, key=lambda e: (order.get(e, 9), e))


def markdown_table(counts: dict[str, Any]) -> str:
    """``counts``: environment -> {passed, failed, excepted}."""
    rows = ["| environment | passed | failed | excepted |", "|---|---:|---:|---:|"]
    for env in _ordered_envs(counts):
        c = counts[env]
        rows.append(f"| {env} | {c['passed']} | {c['failed']} | {c['excepted']} |")
    return "\n".join(rows)


def _doc_with_counts(path: Path, counts: dict[str, Any]) -> tuple[str, str]:
    """(current text, text with these counts in its block)."""
    text = Path(path).read_text()
    begin, end = text.find(DOC_BEGIN), text.find(DOC_END)
    if begin < 0 or end < begin:
        raise DocError(f"{path}: markers {DOC_BEGIN} ... {DOC_END} not found")
    return text, f"{text[:begin]}{DOC_BEGIN}\n{markdown_table(counts)}\n{text[end:]}"


def update_doc(path: Path, counts: dict[str, Any]) -> bool:
    """Replaces the counts block of the doc; returns whether it changed."""
    text, new = _doc_with_counts(path, counts)
    if new != text:
        Path(path).write_text(new)
    return new != text


def doc_is_current(path: Path, counts: dict[str, Any]) -> bool:
    """Whether the doc's counts block already shows these counts (read only)."""
    text, new = _doc_with_counts(path, counts)
    return new == text
