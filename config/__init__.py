"""Environment configuration: typed values, validated once at load."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from config.model import (
    NON_PRODUCTION,
    PRODUCTION,
    TIERS,
    ConfigError,
    EnvironmentConfig,
    ServiceConfig,
    validate_all,
)

#: Environment variable naming the environments to synthesize (comma list).
ENVIRONMENTS_VARIABLE = "PAYMENT_ENVIRONMENTS"


def parse_selection(raw: str | None) -> tuple[str, ...] | None:
    """``"dev, prod"`` -> ``("dev", "prod")``; None (variable unset) -> None
    (all). A set but blank selection (``""``, ``" , "``) is refused: it
    would otherwise silently mean every environment, prod included."""
    if raw is None:
        return None
    names = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not names:
        raise ConfigError(
            [
                f"{ENVIRONMENTS_VARIABLE}: {raw!r} names no environment; give a comma-separated "
                "list of environment names, or leave it unset for all"
            ]
        )
    return names


def load_environments(
    selection: Sequence[str] | None = None,
    defined: Iterable[EnvironmentConfig] | None = None,
) -> tuple[EnvironmentConfig, ...]:
    """Validates every defined environment and returns the selected ones.

    ``defined`` left out: the configuration ``PAYMENT_CONFIG`` names
    (``config.source``; default ``config.environments``).

    All defined environments are validated even when only some are selected,
    so overlapping VPC ranges are caught whichever subset is synthesized.
    Raises ``ConfigError`` before anything is constructed; with ``defined``
    left out, its lines name the file and line of the keyword argument that
    set the field where the source shows it (``config.source.located``).
    """
    configured = defined is None
    if defined is None:
        from config.source import configured_environments

        defined = configured_environments()
    defined = tuple(defined)
    try:
        validate_all(defined)
    except ConfigError as err:
        if not configured:
            raise
        from config.source import located  # <file>:<line>: where the source shows it

        raise located(err, defined) from None
    if selection is None:
        return defined
    by_name = {env.name: env for env in defined}
    unknown = [name for name in selection if name not in by_name]
    if unknown:
        raise ConfigError(
            f"environment: {name!r} is not defined; allowed: {', '.join(by_name)}"
            for name in unknown
        )
    return tuple(by_name[name] for name in dict.fromkeys(selection))


__all__ = [
    "NON_PRODUCTION",
    "PRODUCTION",
    "TIERS",
    "ENVIRONMENTS_VARIABLE",
    "ConfigError",
    "EnvironmentConfig",
    "ServiceConfig",
    "environment_tiers",
    "load_environments",
    "parse_selection",
]


def environment_tiers() -> dict[str, str]:
    """Environment name -> tier (``production`` or ``non-production``), from
    the validated configuration (``PAYMENT_CONFIG``); raises ``ConfigError``.
    The plan review and the checkov scan apply policy by it, never by name."""
    return {env.name: env.tier for env in load_environments()}
