"""The example configuration for the release tool's tests.

The release tool loads the configuration itself (``release.target`` reads
the module ``PAYMENT_CONFIG`` names, config/source.py), so a test that names
the example's values (an environment, an account id, a service, an example
of docs/release.md) points it at the example with ``use_the_example`` and
builds its expectations from the same configuration, ``example_environment``.
A test that holds for any valid configuration runs the tool over the
configuration under test instead (``use_the_configuration_under_test``).
"""

from __future__ import annotations

import os

import pytest

from config.model import EnvironmentConfig
from config.source import CONFIG_VARIABLE
from tests.conftest import EXAMPLE
from tests.fixtures import example

#: What ``PAYMENT_CONFIG`` is set to for the example (tests/fixtures/example.py).
EXAMPLE_CONFIG = example.__name__
#: ``PAYMENT_CONFIG`` as the session started: the configuration under test
#: (None: the user's config/environments.py).
CONFIGURATION_UNDER_TEST = os.environ.get(CONFIG_VARIABLE)


def example_environment(name: str) -> EnvironmentConfig:
    """The validated configuration of the example's environment ``name``."""
    (env,) = [env for env in EXAMPLE if env.name == name]
    return env


def use_the_example(monkeypatch: pytest.MonkeyPatch) -> None:
    """The release tool (in this process and in subprocesses started with
    this process's environment) reads the example."""
    monkeypatch.setenv(CONFIG_VARIABLE, EXAMPLE_CONFIG)


def use_the_configuration_under_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """The release tool reads the configuration the session was started with."""
    if CONFIGURATION_UNDER_TEST is None:
        monkeypatch.delenv(CONFIG_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(CONFIG_VARIABLE, CONFIGURATION_UNDER_TEST)
