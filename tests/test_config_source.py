"""PAYMENT_CONFIG, and every Python-level mistake in a configuration file as
one line with exit code 2 and nothing left in cdktf.out (config/source.py).

Each case writes a configuration file of its own (the example's values with
one mistake) and runs main.py on it in a process, as a user's ``make synth``
would, over an output directory holding an earlier run's result.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, load_environments
from config.source import CONFIG_VARIABLE, configured_environments
from tests.fixtures import example

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = (ROOT / "tests" / "fixtures" / "example.py").read_text()


def _line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


def _with(old: str, new: str) -> str:
    assert old in EXAMPLE, old
    return EXAMPLE.replace(old, new, 1)


#: id -> (configuration text, the line the message must name, fragments of the message)
MISTAKES = {
    "unknown-field": (
        _with("    log_retention_days=30,", "    log_retention_dayz=30,"),
        "DEV = EnvironmentConfig(",
        [
            "EnvironmentConfig.log_retention_dayz: 'log_retention_dayz' is not a field of "
            "EnvironmentConfig; allowed: name, tier, region, account_id",
            "log_retention_days",
        ],
    ),
    "wrong-type": (
        _with("    log_retention_days=30,", '    log_retention_days="30",'),
        'log_retention_days="30",',
        ["dev.log_retention_days: '30' is a str; expected int"],
    ),
    "missing-field": (
        _with('    cost_center="payments-dev",\n', ""),
        "DEV = EnvironmentConfig(",
        ["EnvironmentConfig: required field(s) missing: 'cost_center'"],
    ),
    "syntax-error": (
        _with('    cost_center="payments-dev",', '    cost_center="payments-dev",,'),
        'cost_center="payments-dev",,',
        ["fix the Python syntax"],
    ),
    "unknown-name": (
        _with("    tier=NON_PRODUCTION,", "    tier=NON_PRODUCTON,"),
        "tier=NON_PRODUCTON,",
        ["NameError: name 'NON_PRODUCTON' is not defined"],
    ),
    "import-error": (
        _with(
            "from config.model import (", "import payment_secrets_vault\nfrom config.model import ("
        ),
        "import payment_secrets_vault",
        ["No module named 'payment_secrets_vault'", "only installed modules"],
    ),
    "no-environments": (
        EXAMPLE.replace("ENVIRONMENTS: tuple[EnvironmentConfig, ...] = (DEV, STAGING, PROD)", ""),
        None,
        ["ENVIRONMENTS is NoneType, not a tuple of EnvironmentConfig"],
    ),
}


def _previous_result(outdir: Path) -> None:
    """What an earlier successful run left: a manifest and stack files."""
    (outdir / "stacks" / "payment-dev-network").mkdir(parents=True)
    (outdir / "stacks" / "payment-dev-network" / "cdk.tf.json").write_text("{}")
    (outdir / "manifest.json").write_text('{"stacks": {}}')


def _main(environ_extra: dict[str, str], outdir: Path) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PAYMENT_")}
    environ.update(environ_extra, CDKTF_OUTDIR=str(outdir))
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py")],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("case", MISTAKES, ids=list(MISTAKES))
def test_a_python_mistake_is_one_line_exit_2_and_leaves_no_result(case, tmp_path):
    text, line_fragment, fragments = MISTAKES[case]
    config = tmp_path / "environments.py"
    config.write_text(text)
    outdir = tmp_path / "cdktf.out"
    _previous_result(outdir)

    result = _main({CONFIG_VARIABLE: str(config)}, outdir)

    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one line, no traceback
    (message,) = lines
    assert message.startswith("invalid configuration: "), message
    for fragment in fragments:
        assert fragment in message
    if line_fragment is not None:
        assert f"environments.py:{_line_of(text, line_fragment)}: " in message
    else:
        assert not re.search(r"environments\.py:\d+:", message), message
    assert not (outdir / "manifest.json").exists()
    assert list(outdir.glob("stacks/*/cdk.tf.json")) == []


def test_payment_config_names_a_module_or_a_file():
    by_module = configured_environments({CONFIG_VARIABLE: "tests.fixtures.example"})
    by_file = configured_environments({CONFIG_VARIABLE: str(ROOT / "tests/fixtures/example.py")})
    assert by_module == by_file == example.ENVIRONMENTS
    # Unset: the user's configuration, whatever it holds.
    from config import environments as users

    assert configured_environments({}) == tuple(users.ENVIRONMENTS)
    # The loader reads the variable of this process.
    assert load_environments() == load_environments(defined=configured_environments(os.environ))


@pytest.mark.parametrize(
    "value, message",
    [
        ("tests.fixtures.no_such_module", "no module 'tests.fixtures.no_such_module'"),
        ("missing/environments.py", "'missing/environments.py' is not a file"),
        ("config environments", "'config environments' is not allowed; give a module name"),
    ],
)
def test_a_bad_payment_config_is_one_line_naming_the_variable(value, message):
    with pytest.raises(ConfigError) as refused:
        configured_environments({CONFIG_VARIABLE: value})
    (problem,) = refused.value.problems
    assert problem.startswith(f"{CONFIG_VARIABLE}: ") and message in problem


def test_main_refuses_a_bad_payment_config_before_anything(tmp_path):
    outdir = tmp_path / "cdktf.out"
    _previous_result(outdir)
    result = _main({CONFIG_VARIABLE: "tests.fixtures.no_such_module"}, outdir)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"invalid configuration: {CONFIG_VARIABLE}: no module 'tests.fixtures.no_such_module' "
        f"under {ROOT}; give a module or a .py file"
    ]
    assert not (outdir / "manifest.json").exists()


#: id -> (the example's text, changed to, the problem, the line that set it
#: or None). A value error is located like a type error; a value the source
#: computes, or that two places could have set, keeps its line without one.
RULE_PROBLEMS = {
    "value": (
        "    log_retention_days=30,",
        "    log_retention_days=31,",
        "dev.log_retention_days: 31 is not allowed",
        "log_retention_days=31,",
    ),
    "nested": (
        "        max_capacity_acu=2,",
        '        max_capacity_acu="2",',
        "dev.database.max_capacity_acu: '2' is a str; expected float",
        'max_capacity_acu="2",',
    ),
    "tuple-item": (
        '    alarms=AlarmConfig(emails=("payments-staging@example.com",)),',
        '    alarms=AlarmConfig(emails=("payments-staging@example.com", 5)),',
        "staging.alarms.emails[1]: 5 is a int; expected str",
        '"payments-staging@example.com", 5)',
    ),
    "module-level-name": (
        '    github_repository="replace-with-your-github-organization-name/payment-platform"',
        "    github_repository=5",
        "dev.pipeline.github_repository: 5 is a int; expected str",
        "github_repository=5",
    ),
    # Built by _services(): the call that set it is not the environment's.
    "computed": (
        "            port=8080,",
        '            port="8080",',
        "dev.services.payment-api.port: '8080' is a str; expected int",
        None,
    ),
    # Changed after the EnvironmentConfig call, by a function: the literal
    # that call shows is not the value, so its line is not named.
    "set-elsewhere": (
        "ENVIRONMENTS: tuple[EnvironmentConfig, ...] = (DEV, STAGING, PROD)",
        "def _longer(env):\n    return override(env, log_retention_days=31)\n\n\n"
        "ENVIRONMENTS: tuple[EnvironmentConfig, ...] = (_longer(DEV), STAGING, PROD)",
        "dev.log_retention_days: 31 is not allowed",
        None,
    ),
}


@pytest.mark.parametrize("case", RULE_PROBLEMS, ids=list(RULE_PROBLEMS))
def test_a_rule_problem_names_the_line_that_set_the_field_only_when_sure(
    case, tmp_path, monkeypatch
):
    old, new, problem, line_fragment = RULE_PROBLEMS[case]
    text = _with(old, new)
    config = tmp_path / "environments.py"
    config.write_text(text)
    monkeypatch.setenv(CONFIG_VARIABLE, str(config))

    with pytest.raises(ConfigError) as refused:
        load_environments()

    (located,) = [p for p in refused.value.problems if problem in p]
    if line_fragment is None:
        assert located.startswith(problem), located
    else:
        assert located.startswith(
            f"{config.resolve()}:{_line_of(text, line_fragment)}: {problem}"
        ), located
    # Given the environments rather than the module, the rules' lines as they were.
    with pytest.raises(ConfigError) as unlocated:
        load_environments(defined=configured_environments())
    assert any(p.startswith(problem) for p in unlocated.value.problems)
