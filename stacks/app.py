"""Builds every stack of the selected environments into one app."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from config import EnvironmentConfig
from framework import App
from stacks.bootstrap import StateBootstrapStack
from stacks.network import NetworkStack
from stacks.security import SecurityStack


@dataclass
class EnvironmentStacks:
    """The stacks of one environment, in dependency order."""

    bootstrap: StateBootstrapStack
    security: SecurityStack
    network: NetworkStack

    def all(self) -> list:
        return [self.bootstrap, self.security, self.network]


def build(app: App, environments: Iterable[EnvironmentConfig]) -> dict[str, EnvironmentStacks]:
    built: dict[str, EnvironmentStacks] = {}
    for env in environments:
        bootstrap = StateBootstrapStack(app, env)
        security = SecurityStack(app, env)
        network = NetworkStack(app, env, security)
        built[env.name] = EnvironmentStacks(
            bootstrap=bootstrap, security=security, network=network,
        )
    return built
