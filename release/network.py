"""The network configuration of a service's tasks, repeated in every AppSpec.

UpdateService refuses network configuration changes on a CODE_DEPLOY
service (ECS UpdateService API reference); the services stack therefore
ignores ``network_configuration`` after creation, and a new subnet or
security group reaches ECS only through a CodeDeploy deployment: the
AppSpec's ``NetworkConfiguration.AwsvpcConfiguration`` (Subnets,
SecurityGroups, AssignPublicIp: all three or none) is what the replacement
task set runs with. Every release carries it, either from the services
stack's ``release_manifest`` output or found read-only in EC2 by the names
in ``config/naming.py`` (``NetworkLookup``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from config import EnvironmentConfig, naming
from release.errors import ReleaseInputError, ReleaseRefused

#: The keys of ``network_configuration`` in the release manifest.
NETWORK_FIELDS = ("subnets", "security_groups", "assign_public_ip")
#: AwsVpcConfiguration limits (ECS API reference).
MAX_SUBNETS = 16
MAX_SECURITY_GROUPS = 5
ASSIGN_PUBLIC_IP_VALUES = ("ENABLED", "DISABLED")

_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$")
_SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$")
# Shown as the VPC id in the dry run, where no call is made.
_VPC_ID_PLACEHOLDER = "<VpcId>"


@dataclass(frozen=True, kw_only=True)
class NetworkConfiguration:
    """Subnets, security groups and public IP of the replacement task set."""

    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    assign_public_ip: str

    def appspec(self) -> dict:
        """The AppSpec ``NetworkConfiguration`` value (all three keys, always)."""
        return {
            "AwsvpcConfiguration": {
                "Subnets": list(self.subnets),
                "SecurityGroups": list(self.security_groups),
                "AssignPublicIp": self.assign_public_ip,
            }
        }

    def describe(self) -> str:
        return (
            f"subnets {', '.join(self.subnets)}; security groups "
            f"{', '.join(self.security_groups)}; public IP {self.assign_public_ip}"
        )

    def differences(self, live: dict | None) -> list[str]:
        """What differs from describe_services' ``awsvpcConfiguration``, as
        ``"<field> <live> -> <this>"``; order of ids does not matter."""
        live = live or {}
        differences = []
        for label, live_key, wanted in (
            ("subnets", "subnets", self.subnets),
            ("security groups", "securityGroups", self.security_groups),
        ):
            running = live.get(live_key) or []
            if set(running) != set(wanted):
                differences.append(
                    f"{label} {', '.join(running) or '(none)'} -> {', '.join(wanted)}"
                )
        # ECS's default when a service was created without the field.
        running_ip = live.get("assignPublicIp", "DISABLED")
        if running_ip != self.assign_public_ip:
            differences.append(f"public IP {running_ip} -> {self.assign_public_ip}")
        return differences


def parse_network_configuration(raw: object, where: str) -> NetworkConfiguration:
    """The ``network_configuration`` of a release manifest entry; any bad value
    raises ReleaseInputError naming the field, the value and what is allowed."""
    if not isinstance(raw, dict):
        raise ReleaseInputError(
            f"{where}: {raw!r} is not allowed; must be a map of " + ", ".join(NETWORK_FIELDS)
        )
    missing = [key for key in NETWORK_FIELDS if key not in raw]
    if missing:
        raise ReleaseInputError(
            f"{where}: missing {', '.join(missing)}; required: "
            + ", ".join(NETWORK_FIELDS)
            + " (an AppSpec sets all three or none)"
        )
    subnets = _ids(
        raw["subnets"], f"{where}.subnets", _SUBNET_ID, "subnet", "subnet id", MAX_SUBNETS
    )
    groups = _ids(
        raw["security_groups"],
        f"{where}.security_groups",
        _SECURITY_GROUP_ID,
        "sg",
        "security group id",
        MAX_SECURITY_GROUPS,
    )
    public_ip = raw["assign_public_ip"]
    if public_ip not in ASSIGN_PUBLIC_IP_VALUES:
        raise ReleaseInputError(
            f"{where}.assign_public_ip: {public_ip!r} is not allowed; "
            f"allowed: {', '.join(ASSIGN_PUBLIC_IP_VALUES)}"
        )
    return NetworkConfiguration(subnets=subnets, security_groups=groups, assign_public_ip=public_ip)


def _ids(
    raw: object, where: str, pattern: re.Pattern, prefix: str, noun: str, most: int
) -> tuple[str, ...]:
    form = f"'{prefix}-' + 8 or 17 hex digits"
    if not isinstance(raw, (list, tuple)) or not 1 <= len(raw) <= most:
        raise ReleaseInputError(
            f"{where}: {raw!r} is not allowed; must be a list of 1-{most} {noun}s ({form})"
        )
    for idx, value in enumerate(raw):
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ReleaseInputError(
                f"{where}[{idx}]: {value!r} is not allowed; must be a {noun} ({form})"
            )
    repeated = sorted({value for value in raw if raw.count(value) > 1})
    if repeated:
        raise ReleaseInputError(
            f"{where}: {list(raw)!r} is not allowed; {', '.join(repeated)} listed more than once"
        )
    return tuple(raw)


@dataclass(frozen=True, kw_only=True)
class NetworkLookup:
    """How a release finds the network configuration without an outputs file:
    read-only EC2 calls by the names the services tier gives its resources."""

    region: str
    #: ``Name`` tag of the environment's VPC.
    vpc_name: str
    #: ``tier`` tag of the subnets the tasks run in (all of them, in that VPC).
    subnet_tier: str
    #: Group names, in AppSpec order: the service's own group, then the mesh group.
    security_group_names: tuple[str, ...]
    assign_public_ip: str = naming.TASK_ASSIGN_PUBLIC_IP

    @classmethod
    def for_service(cls, env: EnvironmentConfig, service_name: str) -> NetworkLookup:
        svc = env.service(service_name)
        return cls(
            region=env.region,
            vpc_name=naming.vpc_name(env),
            subnet_tier=naming.TASK_SUBNET_TIER,
            security_group_names=(
                naming.task_security_group_name(env, svc),
                naming.service_mesh_security_group_name(env),
            ),
        )

    # The filters of the three calls: used by the lookup and printed by the plan.
    def vpc_filters(self) -> list[dict]:
        return [{"Name": "tag:Name", "Values": [self.vpc_name]}]

    def subnet_filters(self, vpc_id: str) -> list[dict]:
        return [
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "tag:tier", "Values": [self.subnet_tier]},
        ]

    def security_group_filters(self, vpc_id: str) -> list[dict]:
        return [
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": list(self.security_group_names)},
        ]

    def describe(self) -> str:
        return (
            f"looked up in EC2: subnets tagged tier={self.subnet_tier} in the VPC named "
            f"{self.vpc_name}; security groups {', '.join(self.security_group_names)}; "
            f"public IP {self.assign_public_ip}"
        )

    def plan(self) -> list[str]:
        """The read-only calls of ``resolve``, for the dry run."""
        vpc = _VPC_ID_PLACEHOLDER
        return [
            f"ec2.describe_vpcs(Filters={self.vpc_filters()!r})  -> exactly one VPC",
            f"ec2.describe_subnets(Filters={self.subnet_filters(vpc)!r})  -> 1-{MAX_SUBNETS} "
            "subnets: AppSpec Subnets",
            f"ec2.describe_security_groups(Filters={self.security_group_filters(vpc)!r})  -> "
            "one group per name: AppSpec SecurityGroups",
        ]

    def placeholder(self) -> NetworkConfiguration:
        """What the dry run shows in the AppSpec instead of the ids."""
        return NetworkConfiguration(
            subnets=(
                f"<ids of the subnets tagged tier={self.subnet_tier} in VPC "
                f"{self.vpc_name}, read by ec2.describe_subnets>",
            ),
            security_groups=tuple(
                f"<id of security group {name}, read by ec2.describe_security_groups>"
                for name in self.security_group_names
            ),
            assign_public_ip=self.assign_public_ip,
        )

    def resolve(self, ec2, read: Callable[..., dict]) -> NetworkConfiguration:
        """Finds the ids; refuses (ReleaseRefused) when anything is missing or
        ambiguous. ``read(what, call, **params)`` makes one read-only call."""
        vpcs = _all(
            read, "ec2.describe_vpcs", ec2.describe_vpcs, "Vpcs", Filters=self.vpc_filters()
        )
        vpc_ids = sorted(v["VpcId"] for v in vpcs)
        if len(vpc_ids) != 1:
            found = f"{len(vpc_ids)} VPCs ({', '.join(vpc_ids)}) have" if vpc_ids else "no VPC has"
            raise ReleaseRefused(
                f"{found} the tag Name={self.vpc_name!r} in {self.region} "
                "(ec2.describe_vpcs); the release needs exactly one to find the task subnets "
                "and security groups. Deploy the network stack, fix the tag, or pass the "
                "services stack outputs with --outputs. Nothing was changed."
            )
        (vpc_id,) = vpc_ids
        where = f"VPC {self.vpc_name!r} ({vpc_id})"

        subnets = _all(
            read,
            "ec2.describe_subnets",
            ec2.describe_subnets,
            "Subnets",
            Filters=self.subnet_filters(vpc_id),
        )
        if not 1 <= len(subnets) <= MAX_SUBNETS:
            problem = (
                f"has no subnet tagged tier={self.subnet_tier!r}"
                if not subnets
                else f"has {len(subnets)} subnets tagged tier={self.subnet_tier!r}; an "
                f"AppSpec takes at most {MAX_SUBNETS}"
            )
            raise ReleaseRefused(f"{where} {problem} (ec2.describe_subnets). Nothing was changed.")
        subnet_ids = tuple(
            s["SubnetId"]
            for s in sorted(subnets, key=lambda s: (s.get("AvailabilityZone", ""), s["SubnetId"]))
        )

        groups = _all(
            read,
            "ec2.describe_security_groups",
            ec2.describe_security_groups,
            "SecurityGroups",
            Filters=self.security_group_filters(vpc_id),
        )
        # Group names are unique within a VPC, so each name matches one group or none.
        by_name = {g["GroupName"]: g["GroupId"] for g in groups}
        missing = [name for name in self.security_group_names if name not in by_name]
        if missing:
            raise ReleaseRefused(
                f"{where} has no security group named {', '.join(map(repr, missing))} "
                "(ec2.describe_security_groups); is the services stack deployed? Nothing "
                "was changed."
            )
        return NetworkConfiguration(
            subnets=subnet_ids,
            security_groups=tuple(by_name[name] for name in self.security_group_names),
            assign_public_ip=self.assign_public_ip,
        )


def _all(read: Callable[..., dict], what: str, call, key: str, **params) -> list[dict]:
    """Every item of a paginated EC2 describe call."""
    items: list[dict] = []
    while True:
        page = read(what, call, **params)
        items += page.get(key) or []
        token = page.get("NextToken")
        if not token:
            return items
        params["NextToken"] = token
