"""Stand-ins a configuration holds until the real values exist, and the
list of those still in an environment (``placeholders``).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from config.model.types import PLACEHOLDER_GITHUB_REPOSITORY

if TYPE_CHECKING:
    from config.model.types import EnvironmentConfig


#: Stand-ins in config/environments.py until the real values exist. Each
#: passes validation and synthesis, is listed by ``placeholders`` in the synth
#: report, and cannot be deployed by mistake: no AWS account has id
#: 000000000000, so the provider's ``allowed_account_ids`` check fails every
#: plan; the certificate ARNs name a certificate that does not exist; the
#: RFC 5737 documentation ranges are routed nowhere.
PLACEHOLDER_ACCOUNT_ID = "000000000000"


PLACEHOLDER_CERTIFICATE_MARK = ":certificate/00000000-0000-0000-0000-"


DOCUMENTATION_RANGES = tuple(
    ipaddress.IPv4Network(c) for c in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)


PLACEHOLDER_EMAIL_DOMAIN = "@example.com"


def placeholders(env: EnvironmentConfig) -> list[str]:
    """``field = value`` of every placeholder still in ``env``, to replace
    before its first deployment (docs: README, "Before the first deployment")."""
    found = []
    if env.account_id == PLACEHOLDER_ACCOUNT_ID:
        found.append(f"{env.name}.account_id = {env.account_id}")
    lb = env.load_balancer
    if lb.certificate_arn and PLACEHOLDER_CERTIFICATE_MARK in lb.certificate_arn:
        found.append(f"{env.name}.load_balancer.certificate_arn = {lb.certificate_arn}")
    for idx, cidr in enumerate(lb.test_listener_cidrs):
        try:
            net = ipaddress.IPv4Network(cidr)
        except ValueError:
            continue
        if any(net.subnet_of(doc) for doc in DOCUMENTATION_RANGES):
            found.append(f"{env.name}.load_balancer.test_listener_cidrs[{idx}] = {cidr}")
    for idx, email in enumerate(env.alarms.emails):
        if email.endswith(PLACEHOLDER_EMAIL_DOMAIN):
            found.append(f"{env.name}.alarms.emails[{idx}] = {email}")
    for idx, email in enumerate(env.security_baseline.alert_emails):
        if email.endswith(PLACEHOLDER_EMAIL_DOMAIN):
            found.append(f"{env.name}.security_baseline.alert_emails[{idx}] = {email}")
    if env.pipeline.github_repository == PLACEHOLDER_GITHUB_REPOSITORY:
        found.append(f"{env.name}.pipeline.github_repository = {PLACEHOLDER_GITHUB_REPOSITORY}")
    return found
