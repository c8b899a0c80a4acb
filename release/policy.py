"""What a release accepts, per environment: image scan findings and who may
have registered the base revision.

Policy follows the tier (docs/decisions.md D26): in a production-tier
environment findings of the blocking severities and a base revision
registered by anyone but the deploy role (Terraform) or the release role
refuse the release unless accepted with a reason; other tiers print a
warning. The blocking severities and the scan wait are the environment's
``EnvironmentConfig.release`` (config/environments.py; config.model requires
CRITICAL everywhere and HIGH too in the production tier). The deploy role is
``EnvironmentConfig.deploy_role``; the release role is the services stack's
``payment-<env>-release`` (config.naming.release_role_name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from config import EnvironmentConfig
from config.model import FINDING_SEVERITIES
from config.naming import release_role_name

#: ECR's finding severities (ImageScanFindings.findingSeverityCounts keys).
SEVERITIES = FINDING_SEVERITIES


def deploy_role_name(env: EnvironmentConfig) -> str:
    """The role Terraform applies the stacks with (``EnvironmentConfig.deploy_role``)."""
    return env.deploy_role


@dataclass(frozen=True, kw_only=True)
class ReleasePolicy:
    #: Refuse (production tier) or warn (other tiers) on these.
    blocking_severities: tuple[str, ...]
    #: True: findings / an untrusted base refuse the release unless accepted.
    enforce: bool
    #: IAM roles whose registrations a release may be based on.
    trusted_role_names: tuple[str, ...]
    #: The environment's account; None: any account (not configured).
    account_id: str | None = None
    #: Minutes to wait for the scan of the released digest.
    scan_wait_minutes: float


def policy_for(env: EnvironmentConfig) -> ReleasePolicy:
    """The environment's release settings (``env.release``); refusing or
    warning follows the tier (``env.is_production``), never the name."""
    configured = set(env.release.blocking_severities)
    return ReleasePolicy(
        blocking_severities=tuple(s for s in SEVERITIES if s in configured),
        enforce=env.is_production,
        trusted_role_names=(deploy_role_name(env), release_role_name(env)),
        account_id=env.account_id,
        scan_wait_minutes=env.release.scan_wait_minutes,
    )


_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/(?:.*/)?(?P<name>[^/]+)$")
_ASSUMED = re.compile(
    r"^arn:aws[a-z-]*:sts::(?P<account>\d{12}):assumed-role/(?P<name>[^/]+)/[^/]*$"
)


def principal_role(arn: str | None) -> tuple[str, str] | None:
    """(account, role name) of an IAM role ARN or of an STS assumed-role
    session ARN (how ``registeredBy`` names a role's session); None for
    users, root and anything else."""
    for pattern in (_ROLE, _ASSUMED):
        match = pattern.match(arn or "")
        if match:
            return match["account"], match["name"]
    return None


def is_trusted(registered_by: str | None, policy: ReleasePolicy) -> bool:
    """Registered by the deploy or the release role (of the environment's account)."""
    role = principal_role(registered_by)
    if role is None:
        return False
    account, name = role
    return name in policy.trusted_role_names and policy.account_id in (None, account)


def trusted_roles(policy: ReleasePolicy) -> str:
    account = policy.account_id or "<account>"
    return ", ".join(f"arn:aws:iam::{account}:role/{n}" for n in policy.trusted_role_names)
