"""README "Before the first deployment" and tools/dev/readme_walkthrough.py
agree with the example: every placeholder ``config.model.placeholders`` can
report has a row in the README's table and a replacement in the walkthrough,
and applying the replacements leaves a valid configuration without any.
(The walkthrough itself, make synth and make test in a copy, runs in
``make test-configurations``.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from config import load_environments
from config.model import placeholders
from config.source import CONFIG_VARIABLE, configured_environments
from tests.fixtures import example
from tools.dev import readme_walkthrough

ROOT = Path(__file__).resolve().parent.parent

EXAMPLE_TEXT = (ROOT / "tests" / "fixtures" / "example.py").read_text()


def _table_fields() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("\n## Before the first deployment")
    section = readme[start : readme.index("\n## ", start + 1)]
    return set(re.findall(r"^\| `([a-z_.]+)`", section, flags=re.M))


def _fields_reported(environments) -> set[str]:
    """``account_id``, ``load_balancer.certificate_arn``, ... as the table names them."""
    return {
        re.sub(r"\[\d+\]$", "", line.split(" = ")[0].split(".", 1)[1])
        for env in environments
        for line in placeholders(env)
    }


def test_every_placeholder_of_the_example_has_a_row_in_the_readme_table():
    reported = _fields_reported(example.ENVIRONMENTS)
    assert reported  # the example ships placeholders
    assert reported <= _table_fields(), reported - _table_fields()


def test_the_readme_replacements_leave_a_valid_configuration_without_placeholders(tmp_path):
    filled = tmp_path / "environments.py"
    filled.write_text(readme_walkthrough.fill_in(EXAMPLE_TEXT))
    environments = load_environments(
        defined=configured_environments({CONFIG_VARIABLE: str(filled)})
    )
    assert [env.name for env in environments] == [env.name for env in example.ENVIRONMENTS]
    assert [line for env in environments for line in placeholders(env)] == []
    # Every environment got its own account, as the table asks.
    accounts = [env.account_id for env in environments]
    assert None not in accounts and len(set(accounts)) == len(accounts)


def test_a_readme_row_that_matches_nothing_is_drift():
    without_emails = EXAMPLE_TEXT.replace("@example.com", "@payments.invalid")
    with pytest.raises(readme_walkthrough.Drift, match="alarms.emails"):
        readme_walkthrough.fill_in(without_emails)
