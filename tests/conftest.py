"""Synthesizes every stack of every environment once per test session.

The proof that the fast provider loader changes nothing needs one synthesis
with the plain import in a separate process (~15-30 s of CPU). It is started
in the background as soon as collection shows the test will run, so it
overlaps the rest of the suite on the second core.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

# Every temporary directory of the session (pytest's, and the
# ``cdktf.outdir.*`` ones cdktf's Testing helpers make in the jsii Node
# process, which inherits TMPDIR when it starts) goes below one directory,
# removed when the session ends. Set before anything imports cdktf.
SESSION_TMP = tempfile.mkdtemp(prefix="payment-tests-")
os.environ["TMPDIR"] = SESSION_TMP
tempfile.tempdir = None  # gettempdir() reads TMPDIR again
# Registered before cdktf starts, so it runs after jsii's own exit handlers
# (atexit is last in, first out), when nothing writes there any more.
atexit.register(shutil.rmtree, SESSION_TMP, ignore_errors=True)

from config import load_environments  # noqa: E402
from tests.fixtures import example  # noqa: E402
from tests.synth import SynthesizedStack, read_outdir  # noqa: E402

#: The configuration under test: the user's config/environments.py, or what
#: PAYMENT_CONFIG names (config.source). Tests over it check only what holds
#: for any valid configuration; tests that need particular values use the
#: ``example_*`` fixtures, built from tests/fixtures/example.py.
CONFIGURED = load_environments()
ENVIRONMENTS = tuple(env.name for env in CONFIGURED)
#: The example configuration's environments (tests/fixtures/example.py).
EXAMPLE = load_environments(defined=example.ENVIRONMENTS)
EXAMPLE_ENVIRONMENTS = tuple(env.name for env in EXAMPLE)


def first_production(environments) -> str:
    """Name of the first production-tier environment of ``environments``
    (a mapping of name to configuration, or a sequence of configurations)."""
    values = environments.values() if hasattr(environments, "values") else environments
    return next(env.name for env in values if env.is_production)


@pytest.fixture(scope="session")
def environments():
    """name -> configuration of the configuration under test."""
    return {env.name: env for env in CONFIGURED}


@pytest.fixture(scope="session")
def example_environments():
    """name -> configuration of the example (tests/fixtures/example.py)."""
    return {env.name: env for env in EXAMPLE}


def _synthesize(tmp_path_factory, environments) -> tuple[Path, dict]:
    from framework import App
    from guardrails.rules import suppression_report
    from stacks.app import build

    outdir = tmp_path_factory.mktemp("cdktf.out")
    app = App(outdir=str(outdir))
    built = build(app, environments)
    app.synth()
    # As main.py does: the report of suppressed contract rules.
    suppression_report(app).write(str(outdir))
    return outdir, built


@pytest.fixture(scope="session")
def synth_outdir(tmp_path_factory):
    """The configuration under test, synthesized once per session."""
    return _synthesize(tmp_path_factory, CONFIGURED)


@pytest.fixture(scope="session")
def example_synth_outdir(tmp_path_factory, request):
    """The example, synthesized once per session; the same synthesis as
    ``synth_outdir`` when the configuration under test equals the example
    (the shipped config/environments.py)."""
    if CONFIGURED == EXAMPLE:
        return request.getfixturevalue("synth_outdir")
    return _synthesize(tmp_path_factory, EXAMPLE)


@pytest.fixture(scope="session")
def built_stacks(synth_outdir):
    """env name -> EnvironmentStacks (the constructs, for Testing.synth)."""
    return synth_outdir[1]


@pytest.fixture(scope="session")
def stacks(synth_outdir) -> dict[str, SynthesizedStack]:
    """stack name -> synthesized JSON."""
    return read_outdir(synth_outdir[0])


@pytest.fixture(scope="session")
def example_built_stacks(example_synth_outdir):
    """env name -> EnvironmentStacks of the example."""
    return example_synth_outdir[1]


@pytest.fixture(scope="session")
def example_stacks(example_synth_outdir) -> dict[str, SynthesizedStack]:
    """stack name -> synthesized JSON of the example."""
    return read_outdir(example_synth_outdir[0])


@pytest.fixture(params=ENVIRONMENTS)
def env_name(request) -> str:
    return request.param


def stack(stacks: dict[str, SynthesizedStack], env: str, part: str) -> SynthesizedStack:
    return stacks[f"payment-{env}-{part}"]


@pytest.fixture
def env(environments, env_name):
    """The configuration of the parametrized environment."""
    return environments[env_name]


@pytest.fixture
def svc_stack(stacks, env_name) -> SynthesizedStack:
    """The synthesized services stack of the parametrized environment."""
    return stack(stacks, env_name, "services")


@pytest.fixture
def fake_aws(monkeypatch):
    """Credentials that reach no account: moto or botocore Stubber answers
    (the operations tools' tests, ``aws_replay``)."""
    from tests.verify_helpers import fake_credentials

    fake_credentials(monkeypatch)


@pytest.fixture(scope="module")
def example_prod(example_synth_outdir):
    """(environment, ``verify.expected.Synthesized``) of the example's first
    production environment, bound to its account (moto's when it has none)."""
    from tests.verify_helpers import ACCOUNT
    from verify import expected

    env = next(e for e in EXAMPLE if e.name == first_production(EXAMPLE))
    outdir = example_synth_outdir[0]
    synth = expected.load(env, outdir, expected.baseline_stack_name(env, EXAMPLE, outdir))
    synth.bind("aws", env.account_id or ACCOUNT, env.region)
    return env, synth


ROOT = Path(__file__).resolve().parent.parent
#: test name -> (what main.py runs with) of a background synthesis it needs.
BACKGROUND_SYNTHESES = {
    # The plain provider import: proves the fast loader.
    "test_plain_import_synthesizes_byte_identical_stacks": {"PAYMENT_PROVIDER_IMPORT": "plain"},
}


@dataclass
class BackgroundSynthesis:
    """``python main.py`` run in the background into ``outdir``."""

    process: subprocess.Popen
    workdir: Path

    @property
    def outdir(self) -> Path:
        return self.workdir / "out"

    def wait(self, timeout: float = 900) -> tuple[int, str]:
        self.process.wait(timeout=timeout)
        return self.process.returncode, (self.workdir / "stderr.log").read_text()


_background: dict[str, BackgroundSynthesis] = {}


def _start(test_name: str) -> BackgroundSynthesis:
    workdir = Path(tempfile.mkdtemp(prefix="background-synth-"))
    env = {**os.environ, "CDKTF_OUTDIR": str(workdir / "out")}
    env.pop("PAYMENT_ENVIRONMENTS", None)
    env.update(BACKGROUND_SYNTHESES[test_name])
    with open(workdir / "stderr.log", "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py")],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    return BackgroundSynthesis(process=process, workdir=workdir)


def pytest_collection(session):
    # Started before collection, which leaves a core idle for ~4 s; stopped
    # when it ends if their test was not selected.
    for name in BACKGROUND_SYNTHESES:
        if name not in _background:
            _background[name] = _start(name)


def _stop(job: BackgroundSynthesis) -> None:
    if job.process.poll() is None:
        job.process.kill()
        job.process.wait()
    shutil.rmtree(job.workdir, ignore_errors=True)


def pytest_collection_modifyitems(session, config, items):
    selected = {item.originalname for item in items}
    for name in BACKGROUND_SYNTHESES:
        if name in selected and name not in _background:
            _background[name] = _start(name)
        elif name not in selected and name in _background:
            _stop(_background.pop(name))


def pytest_sessionfinish(session, exitstatus):
    for job in _background.values():
        _stop(job)


@pytest.fixture
def background_synthesis(request) -> BackgroundSynthesis:
    """The background synthesis started at collection for the requesting test."""
    name = request.node.originalname
    if name not in _background:
        _background[name] = _start(name)
    return _background[name]
