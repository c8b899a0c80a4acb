"""README "Before the first deployment" and tools/dev/readme_walkthrough.py
agree with the example: every placeholder ``config.model.placeholders`` can
report has a row in the README's table and a replacement in the walkthrough,
and applying the replacements leaves a valid configuration without any.
(The walkthrough itself, make synth and make test in a copy, runs in
``make test-configurations``.)"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from config import load_environments
from config.model import placeholders
from config.source import CONFIG_VARIABLE, configured_environments
from tests.fixtures import example
from tools.dev import readme_walkthrough
from tools.review import plan_env

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


def _filled_with_a_new_service(tmp_path) -> list:
    filled = tmp_path / "environments.py"
    filled.write_text(readme_walkthrough.add_service(readme_walkthrough.fill_in(EXAMPLE_TEXT)))
    return load_environments(defined=configured_environments({CONFIG_VARIABLE: str(filled)}))


def test_add_a_service_is_one_entry_that_every_environment_gets(tmp_path):
    environments = _filled_with_a_new_service(tmp_path)
    for env, shipped in zip(environments, example.ENVIRONMENTS, strict=True):
        assert [svc.name for svc in env.services] == [
            *(svc.name for svc in shipped.services),
            "refund-service",
        ]


def test_the_walkthrough_sets_the_service_choices_make_refresh_names(tmp_path):
    """The walkthrough edits release.yml from the workflow check's own
    message, and the check then passes: the README's "Add a service" loop
    (make refresh names the list, you set it) closes."""
    environments = _filled_with_a_new_service(tmp_path)
    workflows = tmp_path / "workflows"
    shutil.copytree(ROOT / "tests" / "fixtures" / "workflows", workflows)  # the example's
    problems = plan_env.workflow_problems(environments, workflows)
    assert [p for p in problems if "offers services" in p] == problems, problems
    release = workflows / "release.yml"
    release.write_text(
        readme_walkthrough.set_service_choices("; ".join(problems), release.read_text())
    )
    assert plan_env.workflow_problems(environments, workflows) == []


def test_a_message_without_the_service_list_is_drift():
    with pytest.raises(readme_walkthrough.Drift, match="did not name"):
        readme_walkthrough.set_service_choices("workflows: all fine", "on: {}\n")
