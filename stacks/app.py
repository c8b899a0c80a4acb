"""Builds every stack of the selected environments into one app."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from config import EnvironmentConfig
from framework import App
from stacks.bootstrap import StateBootstrapStack
from stacks.data import DataStack
from stacks.network import NetworkStack
from stacks.security import SecurityStack
from stacks.services import ServicesStack


@dataclass
class EnvironmentStacks:
    """The stacks of one environment, in dependency order."""

    bootstrap: StateBootstrapStack
    security: SecurityStack
    network: NetworkStack
    data: DataStack
    services: ServicesStack

    def all(self) -> list:
        return [self.bootstrap, self.security, self.network, self.data, self.services]


def build(app: App, environments: Iterable[EnvironmentConfig]) -> dict[str, EnvironmentStacks]:
    built: dict[str, EnvironmentStacks] = {}
    for env in environments:
        bootstrap = StateBootstrapStack(app, env)
        security = SecurityStack(app, env)
        network = NetworkStack(app, env, security)
        data = DataStack(app, env, security, network)
        services = ServicesStack(app, env, security, network, data)
        built[env.name] = EnvironmentStacks(
            bootstrap=bootstrap,
            security=security,
            network=network,
            data=data,
            services=services,
        )
    return built
