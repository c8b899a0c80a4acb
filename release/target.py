"""Where a release goes: the names of one service's deployed resources.

Two sources, same result: the ``release_manifest`` output of the services
stack (``terraform output -json``), or the naming convention in
``config/naming.py`` applied to the environment configuration. The services
tier names its resources with the same functions, so both agree; the outputs
file additionally knows the ECR repository URL (which contains the account)
and the ids of the task subnets and security groups (without it, the release
looks them up in EC2 by name before any write: ``release.network``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from config import ConfigError, EnvironmentConfig, load_environments, naming
from config.model import PLATFORM_VERSION_PATTERN
from release.errors import ReleaseInputError
from release.network import NetworkConfiguration, NetworkLookup, parse_network_configuration

#: Keys every entry of the ``release_manifest`` output must have.
MANIFEST_FIELDS = (
    "cluster",
    "service",
    "task_family",
    "container_name",
    "container_port",
    "codedeploy_application",
    "deployment_group",
    "ecr_repository_name",
    "ecr_repository_url",
    "capacity_provider_strategy",
    "platform_version",
    "network_configuration",
)
#: Fields the services stack exported later than the others (issue #12): an
#: outputs file without them was exported before that stack was applied.
_LATER_MANIFEST_FIELDS = ("platform_version", "network_configuration")
# Fields that are not plain non-empty strings.
_STRUCTURED_FIELDS = ("container_port", "capacity_provider_strategy", "network_configuration")

# Accepted spellings of the strategy keys: ECS API (camelCase), Terraform
# (snake_case) and AppSpec (PascalCase), so the services tier may output any.
_STRATEGY_KEYS = {
    "capacity_provider": ("capacityProvider", "capacity_provider", "CapacityProvider"),
    "base": ("base", "Base"),
    "weight": ("weight", "Weight"),
}


@dataclass(frozen=True, kw_only=True)
class CapacityProviderItem:
    capacity_provider: str
    base: int = 0
    weight: int = 0

    def appspec(self) -> dict:
        """The AppSpec spelling (PascalCase keys)."""
        return {
            "Base": self.base,
            "CapacityProvider": self.capacity_provider,
            "Weight": self.weight,
        }

    def ecs(self) -> dict:
        """The ECS API spelling (camelCase keys), as describe_services returns it."""
        return {
            "capacityProvider": self.capacity_provider,
            "base": self.base,
            "weight": self.weight,
        }


@dataclass(frozen=True, kw_only=True)
class ReleaseTarget:
    """The deployed resources of one service in one environment."""

    environment: EnvironmentConfig
    service_name: str
    cluster: str
    ecs_service: str
    task_family: str
    container_name: str
    container_port: int
    codedeploy_application: str
    deployment_group: str
    ecr_repository_name: str
    #: None when names come from configuration and no account id is set
    #: (the real URL is then read from ECR before the release).
    ecr_repository_url: str | None
    capacity_provider_strategy: tuple[CapacityProviderItem, ...]
    #: The pinned Fargate platform version every AppSpec sets (UpdateService
    #: refuses a platform change on a CODE_DEPLOY service).
    platform_version: str
    #: Subnets, security groups and public IP every AppSpec sets. None when
    #: names come from configuration: the release then finds them in EC2
    #: (``network_lookup``) before its first write.
    network_configuration: NetworkConfiguration | None
    #: Where the names came from, shown in the plan.
    source: str

    @property
    def region(self) -> str:
        return self.environment.region

    @property
    def network_lookup(self) -> NetworkLookup:
        """How to find the network configuration by the names of config/naming.py."""
        return NetworkLookup.for_service(self.environment, self.service_name)

    @property
    def deployment_target_id(self) -> str:
        """CodeDeploy's id of an ECS deployment target: ``cluster:service``."""
        return f"{self.cluster}:{self.ecs_service}"


def load_environment(env_name: str) -> EnvironmentConfig:
    """The validated configuration of ``env_name``; ConfigError lists allowed names."""
    try:
        (env,) = load_environments([env_name])
    except ConfigError as err:
        raise ReleaseInputError(_problems(err)) from None
    return env


def _problems(err: ConfigError) -> str:
    return "; ".join(err.problems)


def target_from_config(env: EnvironmentConfig, service_name: str) -> ReleaseTarget:
    """Names from the naming convention (no AWS call, no outputs file)."""
    try:
        svc = env.service(service_name)
    except ConfigError as err:
        raise ReleaseInputError(_problems(err)) from None
    repo_name = naming.ecr_repository_name(env, svc)
    repo_url = (
        f"{env.account_id}.dkr.ecr.{env.region}.amazonaws.com/{repo_name}"
        if env.account_id
        else None
    )
    return ReleaseTarget(
        environment=env,
        service_name=svc.name,
        cluster=naming.cluster_name(env),
        ecs_service=naming.ecs_service_name(env, svc),
        task_family=naming.task_family(env, svc),
        container_name=naming.app_container_name(svc),
        container_port=svc.port,
        codedeploy_application=naming.codedeploy_application_name(env),
        deployment_group=naming.deployment_group_name(env, svc),
        ecr_repository_name=repo_name,
        ecr_repository_url=repo_url,
        capacity_provider_strategy=parse_strategy(
            naming.capacity_provider_strategy(svc), "config/naming.py capacity_provider_strategy"
        ),
        platform_version=svc.platform_version,
        network_configuration=None,
        source="config/naming.py",
    )


def target_from_outputs(
    env: EnvironmentConfig, service_name: str, path: str | Path
) -> ReleaseTarget:
    """Names from ``terraform output -json`` of the environment's services stack.

    The service must also exist in the configuration, and the outputs must
    belong to ``env`` (same cluster name), so a prod outputs file cannot be
    used with ``--env dev`` by mistake.
    """
    try:
        env.service(service_name)
    except ConfigError as err:
        raise ReleaseInputError(_problems(err)) from None
    where = f"outputs file {str(path)!r}"
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ReleaseInputError(
            f"{where}: not found; write it with "
            "`terraform output -json > FILE` in the services stack"
        ) from None
    except (OSError, ValueError) as err:
        raise ReleaseInputError(f"{where}: not readable JSON ({err})") from None
    output = data.get("release_manifest") if isinstance(data, dict) else None
    if not isinstance(output, dict) or "value" not in output:
        raise ReleaseInputError(
            f"{where}: has no output 'release_manifest' in `terraform output -json` form "
            '({"release_manifest": {"value": ..., "type": ..., "sensitive": ...}})'
        )
    manifest = output["value"]
    if not isinstance(manifest, dict):
        raise ReleaseInputError(
            f"{where}: release_manifest.value must be a map of service "
            f"name to names, got {type(manifest).__name__}"
        )
    if service_name not in manifest:
        raise ReleaseInputError(
            f"{where}: service {service_name!r} is not in release_manifest; allowed: "
            + (", ".join(sorted(manifest)) or "(none)")
        )
    entry = manifest[service_name]
    ctx = f"{where}: release_manifest.{service_name}"
    if not isinstance(entry, dict):
        raise ReleaseInputError(f"{ctx}: must be a map, got {type(entry).__name__}")
    missing = [key for key in MANIFEST_FIELDS if key not in entry]
    if missing and set(missing) <= set(_LATER_MANIFEST_FIELDS):
        raise ReleaseInputError(
            f"{ctx}: missing {', '.join(missing)}; the file was exported before the "
            f"services stack had these outputs. Apply the services stack (cdktf deploy "
            f"{env.prefix}-services) and export its outputs again (terraform output -json "
            "> FILE)"
        )
    if missing:
        raise ReleaseInputError(
            f"{ctx}: missing {', '.join(missing)}; required: " + ", ".join(MANIFEST_FIELDS)
        )
    strings = {}
    for key in MANIFEST_FIELDS:
        if key in _STRUCTURED_FIELDS:
            continue
        value = entry[key]
        if not isinstance(value, str) or not value:
            raise ReleaseInputError(
                f"{ctx}.{key}: {value!r} is not allowed; must be a non-empty string"
            )
        strings[key] = value
    port = entry["container_port"]
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ReleaseInputError(
            f"{ctx}.container_port: {entry['container_port']!r} is not "
            "allowed; must be a port number 1-65535"
        )
    if not PLATFORM_VERSION_PATTERN.fullmatch(strings["platform_version"]):
        raise ReleaseInputError(
            f"{ctx}.platform_version: {strings['platform_version']!r} is not allowed; must be "
            "a pinned Fargate platform version such as '1.4.0' (not LATEST)"
        )
    expected_cluster = naming.cluster_name(env)
    if strings["cluster"] != expected_cluster:
        raise ReleaseInputError(
            f"{ctx}.cluster: {strings['cluster']!r} is not the cluster of environment "
            f"{env.name!r} ({expected_cluster!r}); pass the outputs of that environment's "
            "services stack"
        )
    return ReleaseTarget(
        environment=env,
        service_name=service_name,
        cluster=strings["cluster"],
        ecs_service=strings["service"],
        task_family=strings["task_family"],
        container_name=strings["container_name"],
        container_port=port,
        codedeploy_application=strings["codedeploy_application"],
        deployment_group=strings["deployment_group"],
        ecr_repository_name=strings["ecr_repository_name"],
        ecr_repository_url=strings["ecr_repository_url"],
        capacity_provider_strategy=parse_strategy(
            entry["capacity_provider_strategy"], f"{ctx}.capacity_provider_strategy"
        ),
        platform_version=strings["platform_version"],
        network_configuration=parse_network_configuration(
            entry["network_configuration"], f"{ctx}.network_configuration"
        ),
        source=f"outputs file {path}",
    )


def parse_strategy(raw: object, where: str) -> tuple[CapacityProviderItem, ...]:
    """A capacity provider strategy in any of the accepted spellings."""
    if not isinstance(raw, (list, tuple)) or not raw:
        raise ReleaseInputError(
            f"{where}: {raw!r} is not allowed; must be a non-empty list "
            "of {capacityProvider, base, weight}"
        )
    items = []
    for idx, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ReleaseInputError(f"{where}[{idx}]: {item!r} is not a map")
        found = {}
        for field, spellings in _STRATEGY_KEYS.items():
            values = [item[s] for s in spellings if s in item]
            if values:
                found[field] = values[0]
        provider = found.get("capacity_provider")
        if not isinstance(provider, str) or not provider:
            raise ReleaseInputError(
                f"{where}[{idx}]: capacityProvider is missing or empty in {item!r}"
            )
        numbers = {}
        for field in ("base", "weight"):
            value = found.get(field, 0)
            if isinstance(value, str) and value.isdigit():
                value = int(value)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ReleaseInputError(
                    f"{where}[{idx}].{field}: {value!r} is not allowed; "
                    "must be a non-negative integer"
                )
            numbers[field] = value
        items.append(CapacityProviderItem(capacity_provider=provider, **numbers))
    return tuple(items)
