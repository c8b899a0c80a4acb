"""Builds every stack of the selected environments into one app."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from config import EnvironmentConfig
from config.model import account_environments, baseline_members
from config.naming import builds_baseline
from framework import App
from modules.log_archive import subscribe_log_groups
from stacks.bootstrap import StateBootstrapStack
from stacks.data import DataStack
from stacks.network import NetworkStack
from stacks.security import SecurityStack
from stacks.security_baseline import SecurityBaselineStack
from stacks.services import ServicesStack


@dataclass
class EnvironmentStacks:
    """The stacks of one environment, in dependency order."""

    bootstrap: StateBootstrapStack
    security: SecurityStack
    network: NetworkStack
    data: DataStack
    services: ServicesStack
    #: The account's baseline when this environment deploys it (it owns it
    #: and configuration says this repository provides any of its
    #: controls); else None.
    security_baseline: SecurityBaselineStack | None = None

    def all(self) -> list:
        baseline = [self.security_baseline] if self.security_baseline else []
        return [self.bootstrap, *baseline, self.security, self.network, self.data, self.services]


def build(
    app: App,
    environments: Iterable[EnvironmentConfig],
    defined: Iterable[EnvironmentConfig] | None = None,
) -> dict[str, EnvironmentStacks]:
    """Builds the stacks of ``environments``. ``defined``: every configured
    environment (left out: ``environments``); it decides which environment
    deploys each account's security baseline, whatever is selected."""
    environments = tuple(environments)
    defined = tuple(defined) if defined is not None else environments
    built: dict[str, EnvironmentStacks] = {}
    for env in environments:
        bootstrap = StateBootstrapStack(app, env)
        baseline = None
        if builds_baseline(env, defined):
            baseline = SecurityBaselineStack(
                app,
                env,
                baseline_members(env, defined),
                account_members=account_environments(env, defined),
            )
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
            security_baseline=baseline,
        )
        archive = env.security_baseline.log_archive_destination_arn
        if archive:
            for stack in built[env.name].all():
                subscribe_log_groups(stack, archive)
    return built
