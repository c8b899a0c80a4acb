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


def alarm_patterns() -> list[str]:
    """Every alarm name the README's alarms table spells, one per backtick."""
    patterns = []
    for line in section("Alarms").splitlines():
        if line.startswith("| `payment-"):
            patterns += re.findall(r"`(payment-[^`]+)`", line.split(" | ")[0])
    return patterns


def test_alarms_table_names_every_alarm_of_every_environment_and_nothing_else(stacks, environments):
    patterns = alarm_patterns()
    assert patterns
    for env_name, env in environments.items():
        fill = {
            "<env>": re.escape(env_name),
            "<service>": "(" + "|".join(re.escape(s.name) for s in env.services) + ")",
            "<CustomMetric>": "("
            + "|".join(re.escape(s.custom_metric.name) for s in env.services if s.custom_metric)
            + ")",
        }
        regexes = []
        for pattern in patterns:
            regex = re.escape(pattern)
            for placeholder, value in fill.items():
                regex = regex.replace(re.escape(placeholder), value)
            regexes.append(re.compile(regex))
        names = [
            alarm["alarm_name"]
            for alarm in stacks[f"payment-{env_name}-services"]
            .resources("aws_cloudwatch_metric_alarm")
            .values()
        ]
        for name in names:
            assert sum(bool(r.fullmatch(name)) for r in regexes) == 1, (env_name, name)
        for pattern, regex in zip(patterns, regexes, strict=True):
            assert any(regex.fullmatch(n) for n in names), (env_name, pattern)
