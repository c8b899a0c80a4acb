"""Synthesizes every stack of every environment once per test session."""
from __future__ import annotations

import pytest

from config import load_environments
from tests.synth import SynthesizedStack, read_outdir

ENVIRONMENTS = ("dev", "staging", "prod")


@pytest.fixture(scope="session")
def environments():
    return {env.name: env for env in load_environments()}


@pytest.fixture(scope="session")
def synth_outdir(tmp_path_factory, environments):
    from framework import App
    from guardrails.rules import suppression_report
    from stacks.app import build

    outdir = tmp_path_factory.mktemp("cdktf.out")
    app = App(outdir=str(outdir))
    built = build(app, environments.values())
    app.synth()
    # As main.py does: the report of suppressed contract rules.
    suppression_report(app).write(str(outdir))
    return outdir, built


@pytest.fixture(scope="session")
def built_stacks(synth_outdir):
    """env name -> EnvironmentStacks (the constructs, for Testing.synth)."""
    return synth_outdir[1]


@pytest.fixture(scope="session")
def stacks(synth_outdir) -> dict[str, SynthesizedStack]:
    """stack name -> synthesized JSON."""
    return read_outdir(synth_outdir[0])


@pytest.fixture(params=ENVIRONMENTS)
def env_name(request) -> str:
    return request.param


def stack(stacks: dict[str, SynthesizedStack], env: str, part: str) -> SynthesizedStack:
    return stacks[f"payment-{env}-{part}"]
