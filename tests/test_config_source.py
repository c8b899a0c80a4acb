"""PAYMENT_CONFIG, and every Python-level mistake in a configuration file as
one line with exit code 2 and nothing left in cdktf.out (config/source.py).

Each case writes a configuration file of its own (the example's values with
one mistake) and runs main.py on it in a process, as a user's ``make synth``
would, over an output directory holding an earlier run's result.
"""

from __future__ import annotations

import os
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
        None,
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
        assert f"environments.py:{_line_of(text, line_fragment)}:" in message
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
