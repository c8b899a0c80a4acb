"""Property-based tests of the configuration boundary.

* Any environment the validator (``load_environments(defined=[...])``)
  accepts synthesizes without error and passes every contract rule.
* Any environment it rejects raises ``ConfigError`` whose every problem
  names a field (and the corrupted field among them), and ``main.py``
  writes nothing for it.

Synthesis costs seconds per example, so the accepting property runs few
examples and synthesizes one environment each; the rejecting property
never synthesizes and runs many.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import ipaddress
import math
import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from config import ConfigError, load_environments
from config.model import (
    ECS_DEPLOYMENT_CONFIGS,
    FARGATE_SIZES,
    FINDING_SEVERITIES,
    LOG_RETENTION_DAYS,
    PRODUCTION_BLOCKING_SEVERITIES,
    RELEASE_SESSION_MINUTES,
    RESERVED_PORTS,
    CustomScalingMetric,
    DatabaseConfig,
    DeploymentConfig,
    EnvironmentConfig,
    ServiceConfig,
    deployment_minutes,
)
from tests.fixtures.example import DEV, PROD, STAGING
from tests.synth import read_outdir

# Each case synthesizes a whole application: make test runs them as its
# second step with the replays (pytest.ini, docs/decisions.md D65).
pytestmark = pytest.mark.app_synthesis

BASES = {"dev": DEV, "staging": STAGING, "prod": PROD}
VALID_SIZES = [(cpu, memory) for cpu, memories in FARGATE_SIZES.items() for memory in memories]
#: A problem starts with the field it is about: ``dev.services.api.cpu: ...``.
FIELD_PREFIX = re.compile(r"^(name|environment|(dev|staging|prod)(\.[A-Za-z0-9_\-\[\]]+)+): \S")

SERVICE_NAMES = st.from_regex(r"[a-z][a-z0-9-]{1,20}[a-z0-9]", fullmatch=True)


# --- Strategies ----------------------------------------------------------
# Strategies that do not depend on a drawn value are built once, here:
# hypothesis validates every new strategy object on its first draw, which
# cost more than the drawing itself when they were built inside each draw.


@st.composite
def private_cidr(draw, shortest: int, longest: int) -> str:
    """A 10.0.0.0/8 network with a prefix between ``shortest`` and ``longest``."""
    prefix = draw(st.integers(shortest, longest))
    address = ipaddress.IPv4Address("10.0.0.0") + draw(st.integers(0, 2**24 - 1))
    return str(ipaddress.IPv4Network(f"{address}/{prefix}", strict=False))


@st.composite
def public_cidr(draw, shortest: int, longest: int) -> str:
    """A network inside 11.0.0.0/8-99.0.0.0/8 (public space, no private range)."""
    prefix = draw(st.integers(shortest, longest))
    address = ipaddress.IPv4Address("11.0.0.0") + draw(st.integers(0, 89 * 2**24 - 1))
    return str(ipaddress.IPv4Network(f"{address}/{prefix}", strict=False))


SIZES = st.sampled_from(VALID_SIZES)
CUSTOM_METRICS = st.none() | st.builds(
    CustomScalingMetric,
    namespace=st.sampled_from(["Payment/Api", "Payment/Queue"]),
    name=st.sampled_from(["InFlight", "QueueDepth"]),
    target_value=st.floats(1, 1000, allow_nan=False),
)
CPU_TARGETS = st.floats(10, 95, allow_nan=False)


def _free_ports(base: EnvironmentConfig) -> st.SearchStrategy[int]:
    listener = base.load_balancer.test_listener_port
    return st.integers(1024, 65535).filter(lambda p: p not in RESERVED_PORTS and p != listener)


#: Per environment: the ports free for a service, and the secrets it may use.
SERVICE_PORTS = {name: _free_ports(base) for name, base in BASES.items()}
SERVICE_SECRETS = {name: st.sampled_from([(), base.secrets[:1]]) for name, base in BASES.items()}
ENV_NAMES = st.sampled_from(sorted(BASES))
SERVICE_NAME_LISTS = st.lists(SERVICE_NAMES, min_size=1, max_size=4, unique=True)
PROD_MIN_ACU = st.sampled_from([0.5, 1.0, 2.0])
MIN_ACU = st.sampled_from([0, 0.5, 1.0, 2.0])
#: Per "is prod": the deployment configurations and log retentions allowed.
DEPLOYMENT_CONFIGS = {
    prod: st.sampled_from(
        [c for c in ECS_DEPLOYMENT_CONFIGS if not (prod and c.endswith("AllAtOnce"))]
    )
    for prod in (False, True)
}
RETENTIONS = {
    prod: st.sampled_from([d for d in LOG_RETENTION_DAYS if not prod or d >= 365])
    for prod in (False, True)
}
# Public egress ranges: the internet-facing ALB's test listener refuses private ones.
TEST_LISTENER_CIDRS = st.lists(public_cidr(16, 32), min_size=0, max_size=2).map(tuple)
PUBLIC_INGRESS_CIDRS = st.sampled_from([("0.0.0.0/0",), ()]) | st.lists(
    private_cidr(8, 28), min_size=1, max_size=2
).map(tuple)
VPC_CIDRS = private_cidr(16, 21)


@st.composite
def valid_service(draw, env_name: str, name: str, listener_priority: int) -> ServiceConfig:
    prod = BASES[env_name].is_production
    cpu, memory = draw(SIZES)
    min_count = draw(st.integers(1, 3))
    desired = draw(st.integers(min_count, min_count + 3))
    metric = draw(CUSTOM_METRICS)
    return ServiceConfig(
        name=name,
        port=draw(SERVICE_PORTS[env_name]),
        cpu=cpu,
        memory_mib=memory,
        desired_count=desired,
        min_count=min_count,
        max_count=draw(st.integers(desired, desired + 10)),
        public=draw(st.booleans()),
        path_prefix=f"/{name}",
        listener_priority=listener_priority,
        use_spot=draw(st.booleans()) and not prod,
        secrets=draw(SERVICE_SECRETS[env_name]),
        uses_database=draw(st.booleans()),
        # The production tier refuses ECS Exec (docs/pci-responsibility.md, 7.2.2).
        enable_execute_command=draw(st.booleans()) and not prod,
        custom_metric=metric,
        cpu_target_percent=draw(CPU_TARGETS),
    )


@st.composite
def valid_environment(draw) -> EnvironmentConfig:
    """Variations of dev/staging/prod that follow every documented rule."""
    env_name = draw(ENV_NAMES)
    base = BASES[env_name]
    prod = base.is_production
    names = draw(SERVICE_NAME_LISTS)
    services = tuple(draw(valid_service(env_name, n, 10 * (i + 1))) for i, n in enumerate(names))
    if prod:
        min_acu = draw(PROD_MIN_ACU)
        auto_pause = None
    else:
        min_acu = draw(MIN_ACU)
        auto_pause = draw(st.integers(300, 86400)) if min_acu == 0 else None
    database = DatabaseConfig(
        min_capacity_acu=min_acu,
        max_capacity_acu=max(1.0, min_acu) + draw(st.integers(0, 30)) / 2,
        auto_pause_seconds=auto_pause,
        reader_count=draw(st.integers(1 if prod else 0, 2)),
        backup_retention_days=draw(st.integers(7 if prod else 1, 35)),
        deletion_protection=True if prod else draw(st.booleans()),
    )
    config_name = draw(DEPLOYMENT_CONFIGS[prod])
    # A release (scan wait + this deployment) must fit the release session.
    fixed = math.ceil(base.release.scan_wait_minutes) + deployment_minutes(
        DeploymentConfig(config_name=config_name, terminate_blue_after_minutes=0)
    )
    deployment = DeploymentConfig(
        config_name=config_name,
        terminate_blue_after_minutes=draw(st.integers(0, RELEASE_SESSION_MINUTES - fixed)),
        rollback_on_alarm=True if prod else draw(st.booleans()),
    )
    load_balancer = dataclasses.replace(
        base.load_balancer,
        test_listener_cidrs=draw(TEST_LISTENER_CIDRS),
        public_ingress_cidrs=draw(PUBLIC_INGRESS_CIDRS),
    )
    # Someone hears about alarms wherever releases roll back on them (D51);
    # elsewhere addresses or a reason.
    subscribed = prod or deployment.rollback_on_alarm or draw(st.booleans())
    alarms = dataclasses.replace(
        base.alarms,
        emails=("oncall@payments.test",) if subscribed else (),
        unsubscribed_reason=None if subscribed else "read on the dashboard",
    )
    return dataclasses.replace(
        base,
        alarms=alarms,
        vpc_cidr=draw(VPC_CIDRS),
        load_balancer=load_balancer,
        nat_gateway_count=3 if prod else draw(st.integers(1, 3)),
        log_retention_days=draw(RETENTIONS[prod]),
        services=services,
        database=database,
        deployment=deployment,
    )


def _replace_service(env: EnvironmentConfig, index: int, **changes) -> EnvironmentConfig:
    services = list(env.services)
    services[index] = dataclasses.replace(services[index], **changes)
    return dataclasses.replace(env, services=tuple(services))


@st.composite
def corrupted_environment(draw) -> tuple[EnvironmentConfig, str]:
    """A valid environment with one value made invalid, and the field the
    error must name."""
    env = draw(valid_environment())
    n = env.name
    index = draw(st.integers(0, len(env.services) - 1))
    svc = env.services[index]
    where = f"{n}.services.{svc.name}"
    kind = draw(
        st.sampled_from(
            [
                "cpu",
                "memory",
                "port",
                "service_name",
                "counts",
                "path",
                "vpc_cidr",
                "acu",
                "nat",
                "retention",
                "duplicate_prefix",
                "test_cidr",
                "release_severities",
                "release_scan_wait",
            ]
        )
    )
    if kind == "cpu":
        cpu = draw(st.integers(-100, 20000).filter(lambda c: c not in FARGATE_SIZES))
        return _replace_service(env, index, cpu=cpu), f"{where}.cpu"
    if kind == "memory":
        cpu = draw(st.sampled_from(sorted(FARGATE_SIZES)))
        memory = draw(st.integers(1, 200000).filter(lambda m: m not in FARGATE_SIZES[cpu]))
        return _replace_service(env, index, cpu=cpu, memory_mib=memory), f"{where}.memory_mib"
    if kind == "port":
        port = draw(
            st.sampled_from(RESERVED_PORTS) | st.integers(-5, 1023) | st.integers(65536, 10**6)
        )
        return _replace_service(env, index, port=port), f"{where}.port"
    if kind == "service_name":
        bad = draw(
            st.sampled_from(["A", "ab", "Payment-API", "pay_api", "9lives", "x" * 40, "ends-"])
        )
        return (
            _replace_service(env, index, name=bad, path_prefix=f"/bad{index}"),
            f"{n}.services[{index}].name",
        )
    if kind == "counts":
        low = draw(st.integers(2, 10))
        return (
            _replace_service(env, index, min_count=low, desired_count=low, max_count=low - 1),
            f"{where}.min_count",
        )
    if kind == "path":
        bad = draw(st.sampled_from(["payments", "/payments/", "/pay ments", "/", ""]))
        return _replace_service(env, index, path_prefix=bad), f"{where}.path_prefix"
    if kind == "vpc_cidr":
        bad = draw(
            st.sampled_from(["8.8.0.0/16", "10.0.0.0/8", "10.0.0.0/28", "10.0.0.1/16", "nonsense"])
        )
        return dataclasses.replace(env, vpc_cidr=bad), f"{n}.vpc_cidr"
    if kind == "acu":
        low = draw(st.sampled_from([4.0, 8.0, 16.0]))
        db = dataclasses.replace(
            env.database, min_capacity_acu=low, max_capacity_acu=low - 1, auto_pause_seconds=None
        )
        return dataclasses.replace(env, database=db), f"{n}.database.max_capacity_acu"
    if kind == "nat":
        return (
            dataclasses.replace(env, nat_gateway_count=draw(st.sampled_from([0, 4, -1]))),
            f"{n}.nat_gateway_count",
        )
    if kind == "retention":
        days = draw(st.integers(-10, 4000).filter(lambda d: d not in LOG_RETENTION_DAYS))
        return dataclasses.replace(env, log_retention_days=days), f"{n}.log_retention_days"
    if kind == "duplicate_prefix":
        other = dataclasses.replace(svc, name=f"{svc.name[:20]}-copy")
        return dataclasses.replace(env, services=env.services + (other,)), f"{n}.services"
    if kind == "release_severities":
        # Unknown, or without what the tier requires (CRITICAL; and HIGH in production).
        allowed = FINDING_SEVERITIES + ("SEVERE", "critical")
        severities = draw(
            st.lists(st.sampled_from(allowed), max_size=3, unique=True)
            .map(tuple)
            .filter(
                lambda t: (
                    any(x not in FINDING_SEVERITIES for x in t)
                    or not set(
                        PRODUCTION_BLOCKING_SEVERITIES if env.is_production else ("CRITICAL",)
                    )
                    <= set(t)
                )
            )
        )
        release = dataclasses.replace(env.release, blocking_severities=severities)
        return dataclasses.replace(env, release=release), f"{n}.release.blocking_severities"
    if kind == "release_scan_wait":
        wait = draw(st.sampled_from([0, -1, 61, 1000.5, True, "10"]))
        release = dataclasses.replace(env.release, scan_wait_minutes=wait)
        return dataclasses.replace(env, release=release), f"{n}.release.scan_wait_minutes"
    lb = dataclasses.replace(env.load_balancer, test_listener_cidrs=("0.0.0.0/0",))
    return dataclasses.replace(env, load_balancer=lb), f"{n}.load_balancer.test_listener_cidrs[0]"


# --- Properties ----------------------------------------------------------


def assert_names_fields(err: ConfigError) -> None:
    assert err.problems, "a ConfigError must carry at least one problem"
    for problem in err.problems:
        assert FIELD_PREFIX.match(problem), f"problem does not start with a field: {problem!r}"


def assert_main_writes_nothing(env: EnvironmentConfig) -> str:
    """Runs main.py's entry point on ``env`` alone; returns its stderr."""
    import main

    stderr = io.StringIO()
    with tempfile.TemporaryDirectory() as workdir, pytest.MonkeyPatch.context() as mp:
        mp.setattr("config.source.configured_environments", lambda *_: (env,))
        mp.delenv("PAYMENT_ENVIRONMENTS", raising=False)
        mp.chdir(workdir)
        with contextlib.redirect_stderr(stderr):
            assert main.main() == 2
        assert os.listdir(workdir) == [], "main.py wrote output for a rejected configuration"
    return stderr.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corrupted_environment())
def test_rejected_configuration_names_the_field_and_writes_nothing(case):
    env, field = case
    with pytest.raises(ConfigError) as rejected:
        load_environments(defined=[env])
    assert_names_fields(rejected.value)
    assert any(
        p.startswith(f"{field}:") or p.startswith(f"{field}.") for p in rejected.value.problems
    ), (field, rejected.value.problems)
    assert field in assert_main_writes_nothing(env)


# No shrinking: each step would synthesize again (minutes); the failing
# example is printed as drawn.
@settings(
    max_examples=6,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(valid_environment())
def test_accepted_configuration_synthesizes_and_passes_the_rules(env):
    from framework import App
    from guardrails.rules import RuleContext, run_rules
    from stacks.app import build

    # The generator draws only valid configurations (400 draws checked when
    # it was written); a rejection means generator and validator disagree,
    # which must fail instead of silently testing nothing.
    try:
        (accepted,) = load_environments(defined=[env])
    except ConfigError as err:
        raise AssertionError(f"valid_environment() drew a rejected configuration: {err}") from err
    note(f"{accepted.name}: {[(s.name, s.cpu, s.memory_mib, s.public) for s in accepted.services]}")
    with tempfile.TemporaryDirectory() as outdir:
        app = App(outdir=outdir)
        built = build(app, [accepted])
        app.synth()
        written = read_outdir(Path(outdir))
        expected = {stack.node.id for stack in built[accepted.name].all()}
        assert set(written) == expected
        ctx = RuleContext.for_environment(accepted)
        findings = [
            f"{name}: {f}" for name, stack in written.items() for f in run_rules(stack.json, ctx)
        ]
        assert findings == []
