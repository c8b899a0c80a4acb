"""docs/recovery.md names what the code builds (issue #28, D78): its
region-loss environment entry, applied to the example configuration,
validates and has the stacks the runbook applies; the resource addresses,
names and state locations it gives are the synthesized ones."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from config.model import ConfigError, EnvironmentConfig, override
from config.model.validation import validate_all
from config.naming import (
    backup_vault_name,
    builds_baseline,
    stack_names,
    state_key,
    state_key_alias,
    state_replica_bucket_name,
)
from tests.fixtures import example

RUNBOOK = Path(__file__).resolve().parent.parent / "docs" / "recovery.md"
TEXT = RUNBOOK.read_text()
PROD = next(env for env in example.ENVIRONMENTS if env.is_production)
_PYTHON_BLOCK = re.compile(r"```python\n(?P<body>.*?)```", re.DOTALL)
_ADDRESS = re.compile(r"\b(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+_[0-9A-F]{8})\b")


def documented_environments(prod: EnvironmentConfig) -> tuple[EnvironmentConfig, ...]:
    """The runbook's configuration snippet run against the example, with
    ``prod`` as its production environment; returns its ENVIRONMENTS."""
    [block] = [m["body"] for m in _PYTHON_BLOCK.finditer(TEXT)]
    body = "\n".join(line.removeprefix("   ") for line in block.splitlines())
    namespace = {
        "override": override,
        "EnvironmentConfig": EnvironmentConfig,
        **{env.name.upper(): env for env in example.ENVIRONMENTS if env is not PROD},
        "PROD": prod,
    }
    exec(compile(body, str(RUNBOOK), "exec"), namespace)
    return namespace["ENVIRONMENTS"]


def test_the_region_loss_environment_validates_with_the_example_in_its_copy_region():
    environments = documented_environments(PROD)
    validate_all(environments)
    [dr] = [env for env in environments if env.name not in {e.name for e in example.ENVIRONMENTS}]
    assert dr.is_production and dr.region == PROD.backup.copy_region
    # Its own copies go neither to itself nor to the lost region.
    assert dr.backup.copy_region not in (dr.region, PROD.region)
    assert dr.state_bucket not in (PROD.state_bucket, state_replica_bucket_name(PROD))
    assert dr.load_balancer.certificate_arn.startswith(f"arn:aws:acm:{dr.region}:")


def test_the_stacks_the_runbook_applies_are_the_environment_s():
    environments = documented_environments(PROD)
    [dr] = [env for env in environments if env.name == "proddr"]
    names = set(stack_names([dr], environments))
    assert builds_baseline(dr, environments), "the runbook runs make baseline ENV=proddr"
    named = set(
        re.findall(r"payment-proddr-(?:bootstrap|baseline|security|network|data|services)\b", TEXT)
    )
    assert named and named <= names, named - names
    assert "payment-proddr-data" in named


def test_with_a_real_account_the_oidc_line_is_needed():
    """One GitHub OIDC provider per account: with prod's real account id the
    snippet validates, and without its pipeline line it is refused."""
    real = override(PROD, account_id="123456789012")
    validate_all(documented_environments(real))
    dr = next(e for e in documented_environments(real) if e.name == "proddr")
    others = [e for e in documented_environments(real) if e.name != "proddr"]
    with pytest.raises(ConfigError, match="creates_github_oidc_provider"):
        validate_all([*others, override(dr, pipeline=real.pipeline)])


def test_every_address_the_runbook_names_is_in_every_data_stack(example_stacks):
    addresses = set(_ADDRESS.findall(TEXT))
    assert ("aws_rds_cluster", "database_cluster_FAF2FB92") in addresses
    for env in example.ENVIRONMENTS:
        data = example_stacks[f"{env.prefix}-data"]
        for resource_type, name in addresses:
            assert name in data.resources(resource_type), (env.name, resource_type, name)


def test_the_names_the_runbook_gives_are_the_code_s(example_stacks):
    data = example_stacks[f"{PROD.prefix}-data"]
    backend = data.json["terraform"]["backend"]["s3"]
    roles = {r["name"] for r in data.resources("aws_iam_role").values()}
    groups = {g["name"] for g in data.resources("aws_rds_cluster_parameter_group").values()}
    [cluster] = data.resources("aws_rds_cluster").values()
    expected = {
        backup_vault_name(PROD): True,
        f"role/{PROD.prefix}-backup": f"{PROD.prefix}-backup" in roles,
        **{group: True for group in groups},
        f"--database {PROD.database.database_name}": True,
        f"-backend-config=bucket={state_replica_bucket_name(PROD)}": True,
        f"-backend-config=region={PROD.backup.copy_region}": True,
        f"-backend-config=kms_key_id={state_key_alias(PROD)}": backend["kms_key_id"]
        == state_key_alias(PROD),
        f"--prefix {state_key(PROD, 'data')}": backend["key"] == state_key(PROD, "data"),
        f"--db-cluster-identifier {cluster['cluster_identifier']} ": True,
        f"--backup-vault-name {backup_vault_name(PROD)}": True,
    }
    missing = [text for text, holds in expected.items() if not holds or text not in TEXT]
    assert not missing, missing


#: Options of every AWS CLI command, not of an operation (AWS CLI
#: reference, "aws" global options).
_CLI_GLOBAL_OPTIONS = frozenset({"--region", "--query", "--output"})
#: AWS CLI command name -> botocore service name, where they differ.
_CLI_SERVICES = {"s3api": "s3"}


def test_every_aws_command_names_an_operation_and_its_options():
    """The AWS CLI derives each command and option from botocore's model
    (``xform_name``: ``ModifyDBCluster`` -> ``modify-db-cluster``,
    ``DBClusterIdentifier`` -> ``--db-cluster-identifier``; a boolean's
    negation ``--no-...``): a misspelt option fails here."""
    import botocore.session
    from botocore import xform_name

    session = botocore.session.get_session()
    blocks = re.findall(r"```sh\n(.*?)```", TEXT, re.DOTALL)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    commands = [shlex.split(line) for line in lines if line.startswith("aws ")]
    inline = re.findall(r"`(aws [a-z0-9-]+ [a-z0-9-]+[^`]*)`", TEXT)
    assert len(commands) >= 10
    problems = []
    for argv in commands + [shlex.split(line) for line in inline]:
        service, command = _CLI_SERVICES.get(argv[1], argv[1]), argv[2]
        model = session.get_service_model(service)
        operations = {xform_name(name, "-"): name for name in model.operation_names}
        if command not in operations:
            problems.append(f"aws {argv[1]} {command}: no such operation")
            continue
        members = model.operation_model(operations[command]).input_shape.members
        options = {f"--{xform_name(name, '-')}" for name in members}
        for word in argv[3:]:
            if word.startswith("--") and word not in options | _CLI_GLOBAL_OPTIONS:
                problems.append(f"aws {argv[1]} {command}: {word} is not an option")
    assert not problems, problems
