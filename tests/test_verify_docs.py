"""docs/verify.md lists every group of checks (`--only`) and every check id
the checks report, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from verify.checks import CHECKS

ROOT = Path(__file__).resolve().parent.parent
#: A result's check id: the first argument of passed/failed/unreadable/not_applicable.
RESULT_ID = re.compile(
    r"\b(?:passed|failed|unreadable|not_applicable)\(\s*\"([a-z]+\.[a-z-]+)\"", re.MULTILINE
)


def _table_rows() -> list[list[str]]:
    text = (ROOT / "docs" / "verify.md").read_text()
    section = text.split("## The checks", 1)[1].split("\n## ", 1)[0]
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| `")
    ]


def _reported_ids() -> set[str]:
    ids: set[str] = set()
    for path in (ROOT / "verify" / "checks").glob("*.py"):
        source = path.read_text()
        ids |= set(RESULT_ID.findall(source))
        # Checks named in a table (baseline.CONTROLS) rather than literally.
        ids |= set(re.findall(r"^\s+\"([a-z]+\.[a-z-]+)\": \"", source, re.MULTILINE))
    return ids


def test_every_group_is_documented_once():
    groups = [re.findall(r"`([^`]+)`", row[0]) for row in _table_rows()]
    documented = {g for cells in groups for g in cells}
    assert documented == {name for name, _ in CHECKS}


def test_every_reported_check_id_is_documented():
    documented = {i for row in _table_rows() for i in re.findall(r"`([a-z]+\.[a-z-]+)`", row[1])}
    reported = _reported_ids()
    assert reported and reported <= documented, sorted(reported - documented)
