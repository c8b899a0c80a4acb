"""Shared by the tests of `make verify` (verify/): a Context over given
clients, and Stubber clients (the fixtures ``fake_aws`` and ``example_prod``
are tests/conftest.py's). Test modules never import each other
(tests/test_test_layout.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
from botocore.stub import Stubber

from verify.context import Context

ACCOUNT = "123456789012"  # moto's


def fake_credentials(monkeypatch) -> None:
    """Credentials that reach no account: moto or botocore Stubber answers."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def context(prod, clients: dict, now: datetime | None = None, **fields) -> Context:
    """A Context whose ``client(name, region)`` is ``clients[name]`` (the
    environment's region) or ``clients[name, region]``."""
    env, synth = prod
    return Context(
        env=env,
        synth=synth,
        client=lambda name, region=None: clients[
            name if region in (None, env.region) else (name, region)
        ],
        account=synth.stacks[f"{env.prefix}-services"].account,
        partition="aws",
        now=now or datetime.now(UTC),
        **fields,
    )


def stubbed(service: str, region: str):
    client = boto3.client(service, region_name=region)
    return client, Stubber(client)
