"""Configuration is validated once, at load, with messages that name the
field, the value and what is allowed."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, load_environments, parse_selection
from config.model import CustomScalingMetric, ReleaseConfig, validate_environment
from config.source import CONFIG_VARIABLE, configured_environments
from tests.fixtures.example import DEV, ENVIRONMENTS, PROD, STAGING
from tests.helpers import problems_of

ROOT = Path(__file__).resolve().parent.parent


def replace_env(env, **changes):
    return dataclasses.replace(env, **changes)


def replace_service(env, index=0, **changes):
    services = list(env.services)
    services[index] = dataclasses.replace(services[index], **changes)
    return dataclasses.replace(env, services=tuple(services))


@pytest.fixture
def example_configuration(monkeypatch):
    """``load_environments()`` reads the example (tests/fixtures/example.py),
    whatever configuration is under test."""
    monkeypatch.setenv(CONFIG_VARIABLE, "tests.fixtures.example")


def test_defined_environments_are_valid():
    # Whatever the configuration under test holds: valid, all of it, in order.
    assert [e.name for e in load_environments()] == [e.name for e in configured_environments()]


def test_the_example_defines_dev_staging_and_prod(example_configuration):
    assert [e.name for e in load_environments()] == ["dev", "staging", "prod"]


def test_selection_keeps_order_and_drops_duplicates(example_configuration):
    assert [e.name for e in load_environments(["prod", "dev", "prod"])] == ["prod", "dev"]


@pytest.mark.parametrize(
    "raw, expected",
    [
        (None, None),
        (" dev , prod ", ("dev", "prod")),
        ("staging", ("staging",)),
    ],
)
def test_parse_selection(raw, expected):
    assert parse_selection(raw) == expected


@pytest.mark.parametrize("raw", ["", " ", " , "])
def test_a_blank_selection_is_refused_not_read_as_all(raw):
    with pytest.raises(ConfigError, match=r"PAYMENT_ENVIRONMENTS: .* names no environment"):
        parse_selection(raw)


def test_unknown_environment_is_named_with_allowed_values(example_configuration):
    with pytest.raises(ConfigError) as caught:
        load_environments(["qa"])
    assert "environment: 'qa' is not defined; allowed: dev, staging, prod" in str(caught.value)


BAD_CASES = [
    # (id, environment builder, expected message fragment)
    (
        "env-name",
        lambda: replace_env(DEV, name="Test_Env"),
        "name: 'Test_Env' is not allowed; use 2-12 lowercase letters, digits and hyphens",
    ),
    (
        "env-name-long",
        lambda: replace_env(DEV, name="development-eu"),
        "name: 'development-eu' is not allowed",
    ),
    (
        "tier",
        lambda: replace_env(DEV, tier="prod"),
        "dev.tier: 'prod' is not allowed; allowed: production, non-production",
    ),
    (
        "cidr-invalid",
        lambda: replace_env(DEV, vpc_cidr="10.10.0.300/16"),
        "dev.vpc_cidr: '10.10.0.300/16' is not a valid IPv4 CIDR",
    ),
    (
        "cidr-host-bits",
        lambda: replace_env(DEV, vpc_cidr="10.10.1.0/16"),
        "dev.vpc_cidr: '10.10.1.0/16' is not a valid IPv4 CIDR",
    ),
    (
        "cidr-too-small",
        lambda: replace_env(DEV, vpc_cidr="10.10.0.0/26"),
        "dev.vpc_cidr: 10.10.0.0/26 has prefix /26; allowed: /16 to /21",
    ),
    (
        "cidr-too-small-for-alb",
        lambda: replace_env(DEV, vpc_cidr="10.10.0.0/22"),
        "dev.vpc_cidr: 10.10.0.0/22 has prefix /22; allowed: /16 to /21",
    ),
    (
        "cidr-public",
        lambda: replace_env(DEV, vpc_cidr="8.8.0.0/16"),
        "dev.vpc_cidr: 8.8.0.0/16 is not a private",
    ),
    (
        "min-gt-max",
        lambda: replace_service(DEV, min_count=5, max_count=2, desired_count=3),
        "dev.services.payment-api.min_count: 5 is greater than max_count 2",
    ),
    (
        "desired-outside",
        lambda: replace_service(DEV, min_count=1, max_count=2, desired_count=3),
        "dev.services.payment-api.desired_count: 3 is outside min_count..max_count (1..2)",
    ),
    (
        "non-positive-size",
        lambda: replace_service(DEV, desired_count=0),
        "dev.services.payment-api.desired_count: 0 is not allowed; must be a positive integer",
    ),
    (
        "fargate-cpu",
        lambda: replace_service(DEV, cpu=300),
        "dev.services.payment-api.cpu: 300 is not a Fargate size; allowed: 256, 512, 1024",
    ),
    (
        "fargate-pair",
        lambda: replace_service(DEV, cpu=256, memory_mib=4096),
        "dev.services.payment-api.memory_mib: 4096 is not allowed with cpu 256; allowed: 512, 1024, 2048",
    ),
    (
        "duplicate-service",
        lambda: replace_service(DEV, index=1, name="payment-api"),
        "dev.services: duplicate service name 'payment-api'",
    ),
    (
        "bad-service-name",
        lambda: replace_service(DEV, name="Payment_API"),
        "dev.services[0].name: 'Payment_API' is not allowed",
    ),
    (
        "unknown-secret",
        lambda: replace_service(DEV, secrets=("api-kyes",)),
        "dev.services.payment-api.secrets: api-kyes not defined; allowed: api-keys",
    ),
    (
        "port-reserved",
        lambda: replace_service(DEV, port=443),
        "dev.services.payment-api.port: 443 is not allowed",
    ),
    (
        "path-prefix",
        lambda: replace_service(DEV, path_prefix="payments"),
        "dev.services.payment-api.path_prefix: 'payments' is not allowed",
    ),
    (
        "nat-count",
        lambda: replace_env(DEV, nat_gateway_count=4),
        "dev.nat_gateway_count: 4 is not allowed; use 1-3",
    ),
    (
        "prod-nat-count",
        lambda: replace_env(PROD, nat_gateway_count=1),
        "prod.nat_gateway_count: 1 is not allowed in the production tier",
    ),
    (
        "log-retention",
        lambda: replace_env(DEV, log_retention_days=31),
        "dev.log_retention_days: 31 is not allowed; allowed: 1, 3, 5",
    ),
    (
        "prod-log-retention",
        lambda: replace_env(PROD, log_retention_days=90),
        "prod.log_retention_days: 90 is not allowed in the production tier",
    ),
    (
        "region",
        lambda: replace_env(DEV, region="europe"),
        "dev.region: 'europe' is not an AWS region name",
    ),
    (
        "account",
        lambda: replace_env(DEV, account_id="12345"),
        "dev.account_id: '12345' is not allowed; use 12 digits",
    ),
    (
        "azs",
        lambda: replace_env(DEV, availability_zones=("eu-west-1a", "eu-west-1a", "eu-west-1b")),
        "dev.availability_zones",
    ),
    (
        "bucket",
        lambda: replace_env(DEV, state_bucket="Bad_Bucket"),
        "dev.state_bucket: 'Bad_Bucket' is not a valid S3 bucket name",
    ),
    (
        "platform-version-latest",
        lambda: replace_service(DEV, platform_version="LATEST"),
        "dev.services.payment-api.platform_version: 'LATEST' is not allowed; pin a Fargate platform version such as '1.4.0'",
    ),
    (
        "test-listener-private",
        lambda: replace_env(
            DEV,
            load_balancer=dataclasses.replace(
                DEV.load_balancer, test_listener_cidrs=("10.200.0.0/16",)
            ),
        ),
        "dev.load_balancer.test_listener_cidrs[0]: '10.200.0.0/16' is not allowed; it is a private range",
    ),
    (
        "test-listener-cgnat",
        lambda: replace_env(
            DEV,
            load_balancer=dataclasses.replace(
                DEV.load_balancer, test_listener_cidrs=("100.64.0.0/16",)
            ),
        ),
        "dev.load_balancer.test_listener_cidrs[0]: '100.64.0.0/16' is not allowed; it is a private range",
    ),
    (
        "listener-priority-range",
        lambda: replace_service(DEV, listener_priority=0),
        "dev.services.payment-api.listener_priority: 0 is not allowed; use an integer 1-50000, unique per load balancer",
    ),
    (
        "listener-priority-type",
        lambda: replace_service(DEV, listener_priority="10"),
        "dev.services.payment-api.listener_priority: '10' is a str; expected int",
    ),
    (
        "listener-priority-duplicate",
        lambda: replace_service(DEV, index=2, listener_priority=20),
        "dev.services.notification-service.listener_priority: 20 is not allowed; transaction-processor has it on the internal load balancer; allowed: 1-50000, unique per load balancer (taken there: 20)",
    ),
    (
        "release-severity-unknown",
        lambda: replace_env(DEV, release=ReleaseConfig(blocking_severities=("CRITICAL", "SEVERE"))),
        "dev.release.blocking_severities: 'SEVERE' is not allowed; allowed: CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNDEFINED",
    ),
    (
        "release-severity-without-critical",
        lambda: replace_env(STAGING, release=ReleaseConfig(blocking_severities=("HIGH",))),
        "staging.release.blocking_severities: HIGH is not allowed; it must include CRITICAL",
    ),
    (
        "release-severity-production-without-high",
        lambda: replace_env(PROD, release=ReleaseConfig(blocking_severities=("CRITICAL",))),
        "prod.release.blocking_severities: CRITICAL is not allowed in the production tier; it must include CRITICAL, HIGH",
    ),
    (
        "release-severity-tier-not-name",
        lambda: replace_env(PROD, name="live", vpc_cidr="10.40.0.0/16", release=ReleaseConfig()),
        "live.release.blocking_severities: CRITICAL is not allowed in the production tier",
    ),
    (
        "release-severity-twice",
        lambda: replace_env(
            DEV, release=ReleaseConfig(blocking_severities=("CRITICAL", "CRITICAL"))
        ),
        "dev.release.blocking_severities: 'CRITICAL' is given more than once",
    ),
    (
        "release-severity-not-a-tuple",
        lambda: replace_env(DEV, release=ReleaseConfig(blocking_severities="CRITICAL")),
        "dev.release.blocking_severities: 'CRITICAL' is a str; expected a tuple (write ('CRITICAL',) for one value)",
    ),
    (
        "release-scan-wait-zero",
        lambda: replace_env(DEV, release=ReleaseConfig(scan_wait_minutes=0)),
        "dev.release.scan_wait_minutes: 0 is not allowed; use a number of minutes greater than 0, at most 60",
    ),
    (
        "release-scan-wait-long",
        lambda: replace_env(PROD, release=dataclasses.replace(PROD.release, scan_wait_minutes=90)),
        "prod.release.scan_wait_minutes: 90 is not allowed; use a number of minutes greater than 0, at most 60",
    ),
    (
        "release-scan-wait-bool",
        lambda: replace_env(DEV, release=ReleaseConfig(scan_wait_minutes=True)),
        "dev.release.scan_wait_minutes: True is a bool; expected float",
    ),
    (
        "custom-metric-namespace",
        lambda: replace_service(
            DEV, custom_metric=CustomScalingMetric(namespace="AWS/ECS", name="x", target_value=1)
        ),
        "custom_metric.namespace: 'AWS/ECS' is not allowed",
    ),
]


@pytest.mark.parametrize(
    "build, fragment", [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES]
)
def test_bad_configuration_is_refused_with_field_value_and_allowed(build, fragment):
    env = build()
    others = (
        [e for e in ENVIRONMENTS if e.name != env.name]
        if env.name in {e.name for e in ENVIRONMENTS}
        else []
    )
    assert fragment in problems_of(env, *others)


BOOL_CASES = [
    (lambda v: replace_env(DEV, nat_gateway_count=v), "dev.nat_gateway_count: True", "use 1-3"),
    (
        lambda v: replace_service(DEV, spot_weight=v),
        "dev.services.payment-api.spot_weight: True",
        "use 1-1000",
    ),
    (
        lambda v: replace_service(DEV, desired_count=v),
        "dev.services.payment-api.desired_count: True",
        "must be a positive integer",
    ),
    (
        lambda v: replace_env(DEV, alarms=dataclasses.replace(DEV.alarms, db_connections=v)),
        "dev.alarms.db_connections: True",
        "must be positive",
    ),
]


@pytest.mark.parametrize(
    "build, field_and_value, allowed",
    BOOL_CASES,
    ids=["range", "service-range", "positive-integer", "positive"],
)
def test_numeric_rules_refuse_a_bool_in_the_shared_line(build, field_and_value, allowed):
    """True is an int to Python and 1 to a bare range check. Every plain
    range or positivity rule refuses it with the family's one line, even
    when the type check that runs first at load is bypassed."""
    assert f"{field_and_value} is not allowed; {allowed}" in validate_environment(build(True))


def test_listener_priorities_are_unique_per_load_balancer_only():
    # payment-api is on the internet-facing ALB, transaction-processor on the
    # internal one: the same priority on both is allowed.
    (dev,) = load_environments(defined=[replace_service(DEV, index=0, listener_priority=20)])
    assert {s.listener_priority for s in dev.services if s.name != "notification-service"} == {20}
    # Two public services with one priority are not.
    both_public = replace_service(
        replace_service(DEV, index=2, public=True), index=2, listener_priority=10
    )
    assert (
        "dev.services.notification-service.listener_priority: 10 is not allowed; payment-api "
        "has it on the internet-facing load balancer"
    ) in problems_of(both_public)


def test_each_environment_has_its_own_test_client_ranges():
    """Day 2 (#12): the ranges are per environment and public (clients reach
    the internet-facing ALB's test listener on its public addresses)."""
    ranges = [set(e.load_balancer.test_listener_cidrs) for e in ENVIRONMENTS]
    assert all(ranges)
    assert not (ranges[0] & ranges[1] or ranges[0] & ranges[2] or ranges[1] & ranges[2])


def test_overlapping_vpc_cidrs_are_refused():
    overlapping = replace_env(STAGING, vpc_cidr="10.10.128.0/17")
    message = problems_of(DEV, overlapping, PROD)
    assert "staging.vpc_cidr: 10.10.128.0/17 overlaps dev.vpc_cidr 10.10.0.0/16" in message


def test_duplicate_environment_is_refused():
    assert "environment 'dev' is defined twice" in problems_of(
        DEV, replace_env(DEV, vpc_cidr="10.99.0.0/16")
    )


def test_every_problem_is_reported_at_once():
    env = replace_service(replace_env(DEV, nat_gateway_count=0, region="x"), cpu=3)
    with pytest.raises(ConfigError) as caught:
        load_environments(defined=[env])
    assert len(caught.value.problems) >= 3


def test_misspelled_service_lookup_names_allowed_services():
    with pytest.raises(
        ConfigError,
        match="service: 'payment-apj' is not defined in dev; allowed: payment-api, transaction-processor, notification-service",
    ):
        DEV.service("payment-apj")


def test_main_fails_fast_on_unknown_environment_and_writes_nothing(tmp_path):
    env = {
        **os.environ,
        CONFIG_VARIABLE: "tests.fixtures.example",
        "PAYMENT_ENVIRONMENTS": "dev,qa",
        "CDKTF_OUTDIR": str(tmp_path / "out"),
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "environment: 'qa' is not defined; allowed: dev, staging, prod" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_domain_names_are_dns_names_with_a_certificate():
    """load_balancer.domain_names: what the preflight checks the certificate
    covers (docs/cli.md, "Preflight")."""
    good = dataclasses.replace(
        STAGING,
        load_balancer=dataclasses.replace(
            STAGING.load_balancer, domain_names=("api.example.com", "pay-1.example.co.uk")
        ),
    )
    load_environments(defined=[good])
    bad = dataclasses.replace(
        DEV,
        load_balancer=dataclasses.replace(
            DEV.load_balancer, domain_names=("*.example.com", "API.example.com")
        ),
    )
    with pytest.raises(ConfigError) as err:
        load_environments(defined=[bad])
    problems = err.value.problems
    assert "dev.load_balancer.domain_names: names need a certificate_arn that covers them" in (
        problems
    )
    assert any(p.startswith("dev.load_balancer.domain_names[0]: '*.example.com'") for p in problems)
    assert any(
        p.startswith("dev.load_balancer.domain_names[1]: 'API.example.com'") for p in problems
    )


def test_override_changes_the_named_fields_of_a_copy_and_refuses_unknown_ones():
    """config.model.override: the one helper for per-environment values
    (README "Common changes"; config/environments.py uses it)."""
    from config.model import override
    from tests.fixtures.example import DEV

    svc = DEV.services[0]
    changed = override(svc, cpu=svc.cpu * 2, memory_mib=svc.memory_mib * 2)
    assert (changed.cpu, changed.memory_mib) == (svc.cpu * 2, svc.memory_mib * 2)
    assert changed == dataclasses.replace(svc, cpu=svc.cpu * 2, memory_mib=svc.memory_mib * 2)
    assert override(svc) == svc
    with pytest.raises(ConfigError) as error:
        override(svc, cpus=1024)
    assert "has no field 'cpus'" in str(error.value) and "cpu" in str(error.value)
    with pytest.raises(ConfigError):
        override("payment-api", cpu=1)


def test_the_readme_example_of_a_per_environment_change_runs_as_written():
    """README "Common changes": the CPU/memory example, evaluated on the
    example's services, changes exactly the service it names."""
    from config.model import override
    from tests.fixtures import example

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Common changes", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0].strip()
    assert code.startswith("services = ")
    namespace = {"override": override, "_services": example._services}
    services = eval(code.removeprefix("services = "), namespace)
    before = {svc.name: svc for svc in example._services(scale=1, spot=True)}
    for svc in services:
        if svc.name == "payment-api":
            assert (svc.cpu, svc.memory_mib) == (1024, 2048)
            assert svc == dataclasses.replace(before[svc.name], cpu=1024, memory_mib=2048)
        else:
            assert svc == before[svc.name]
