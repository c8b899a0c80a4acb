"""How long a release may take: the CodeDeploy ECS configurations, the
minutes each takes to shift traffic, and the release role's session that a
whole release (scan wait, shifting, blue termination, margin) must fit in.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config.model.types import DeploymentConfig


#: Longest scan wait a release accepts (minutes); ECR's basic scan of a pushed
#: image takes minutes, and a release job should not hang for hours.
MAX_SCAN_WAIT_MINUTES = 60


# CodeDeploy predefined ECS deployment configurations.
ECS_DEPLOYMENT_CONFIGS = (
    "CodeDeployDefault.ECSAllAtOnce",
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
    "CodeDeployDefault.ECSCanary10Percent5Minutes",
    "CodeDeployDefault.ECSCanary10Percent15Minutes",
)


#: How CodeDeploy spells a predefined ECS configuration's settings in its
#: name: all at once, or X percent every Y minutes, or X percent first and
#: the rest Y minutes later.
_PREDEFINED_CONFIG = re.compile(
    r"CodeDeployDefault\.ECS(?:(?P<all>AllAtOnce)"
    r"|Linear(?P<step>\d+)PercentEvery(?P<every>\d+)Minutes?"
    r"|Canary(?P<canary>\d+)Percent(?P<wait>\d+)Minutes?)"
)


#: Task start-up, health checks and hooks on top of the shifting itself.
RELEASE_MARGIN_MINUTES = 30


#: Unknown (custom) deployment configuration: assume an hour of shifting.
UNKNOWN_SHIFT_MINUTES = 60


#: The release role's session and the release workflow's job timeout
#: (modules/release_role.py, .github/workflows/release.yml): a release
#: (scan wait + shifting + blue termination + margin) must end within it, or
#: its credentials expire while CodeDeploy still runs (docs/release.md).
RELEASE_SESSION_MINUTES = 180


def shift_minutes(config_name: str) -> int | None:
    """Minutes a predefined CodeDeploy ECS configuration takes to shift all
    traffic, read from its name: AllAtOnce 0; LinearXPercentEveryYMinutes
    100/X steps of Y minutes; CanaryXPercentYMinutes Y. None for any other
    (custom) configuration."""
    match = _PREDEFINED_CONFIG.fullmatch(config_name)
    if match is None:
        return None
    if match["all"]:
        return 0
    if match["step"]:
        return math.ceil(100 / int(match["step"])) * int(match["every"])
    return int(match["wait"])


def deployment_minutes(deployment: DeploymentConfig) -> int:
    """How long a CodeDeploy ECS deployment may take: traffic shifting +
    blue task termination + margin (an ECS deployment only succeeds after
    the original task set is terminated)."""
    shift = shift_minutes(deployment.config_name)
    if shift is None:
        shift = UNKNOWN_SHIFT_MINUTES
    return shift + deployment.terminate_blue_after_minutes + RELEASE_MARGIN_MINUTES
