"""The README's rules and alarms tables are checked against the code, so
they cannot drift into unchecked copies (issue #13)."""

from __future__ import annotations

import re
from pathlib import Path

from guardrails.rules import RULES_BY_ID

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(f"\n## {title}")
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else None]


def test_rules_table_lists_exactly_the_registered_rules():
    rows = re.findall(r"^\| (PAY-[A-Z]+-\d{3}) \|", section("Guardrails"), flags=re.M)
    assert sorted(rows) == sorted(RULES_BY_ID)
    assert len(rows) == len(set(rows))


#: A row whose meaning starts with one of these names alarms that exist only
#: in environments where the condition holds.
CONDITIONS = {
    "(with readers)": lambda env: env.database.reader_count > 0,
    "(production tier)": lambda env: env.is_production,
    "(with WAF)": lambda env: env.load_balancer.waf,
}


def alarm_rows() -> list[tuple[list[str], str]]:
    """(alarm names the row spells, one per backtick; its condition or "")."""
    rows = []
    for line in section("Alarms").splitlines():
        if line.startswith("| `payment-"):
            names, meaning = line.split(" | ")[:2]
            condition = next((c for c in CONDITIONS if meaning.startswith(c)), "")
            rows.append((re.findall(r"`(payment-[^`]+)`", names), condition))
    return rows


def test_alarms_table_names_every_alarm_of_every_environment_and_nothing_else(stacks, environments):
    rows = alarm_rows()
    assert rows
    for env_name, env in environments.items():
        fill = {
            "<env>": re.escape(env_name),
            "<service>": "(" + "|".join(re.escape(s.name) for s in env.services) + ")",
            "<CustomMetric>": "("
            + "|".join(re.escape(s.custom_metric.name) for s in env.services if s.custom_metric)
            + ")",
        }
        expected = []
        for patterns, condition in rows:
            if condition and not CONDITIONS[condition](env):
                continue
            for pattern in patterns:
                regex = re.escape(pattern)
                for placeholder, value in fill.items():
                    regex = regex.replace(re.escape(placeholder), value)
                expected.append((pattern, re.compile(regex)))
        names = [
            alarm["alarm_name"]
            for alarm in stacks[f"payment-{env_name}-services"]
            .resources("aws_cloudwatch_metric_alarm")
            .values()
        ]
        for name in names:
            assert sum(bool(r.fullmatch(name)) for _, r in expected) == 1, (env_name, name)
        for pattern, regex in expected:
            assert any(regex.fullmatch(n) for n in names), (env_name, pattern)


def test_every_alarm_row_condition_is_met_somewhere_in_the_example(
    example_stacks, example_environments
):
    """A conditional row is not dead text: the example has an environment
    where it holds, and its alarms are synthesized there."""
    for patterns, condition in alarm_rows():
        if not condition:
            continue
        holds = [n for n, env in example_environments.items() if CONDITIONS[condition](env)]
        assert holds, condition
        names = {
            alarm["alarm_name"]
            for alarm in example_stacks[f"payment-{holds[0]}-services"]
            .resources("aws_cloudwatch_metric_alarm")
            .values()
        }
        for pattern in patterns:
            regex = re.escape(pattern).replace(re.escape("<env>"), re.escape(holds[0]))
            regex = regex.replace(re.escape("<service>"), "[a-z-]+").replace(
                re.escape("<CustomMetric>"), "[A-Za-z]+"
            )
            assert any(re.fullmatch(regex, n) for n in names), pattern
