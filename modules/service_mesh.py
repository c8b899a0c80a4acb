"""The service mesh security group: lets every service's tasks call every
other service's tasks on the callee's port with O(N) rules.

Pairwise rules (one ingress on the callee and one egress on the caller per
pair of services) grow as 2*N*(N-1): 1,740 rules for 30 services, far past
AWS's default quota of 60 inbound and 60 outbound rules per security group,
and synthesis time grows with them. Instead every task carries two groups:
its service's own group and this shared one.

* The mesh group has one egress rule per service port, destination the mesh
  group itself. Egress rules of all groups on an ENI add up, so any task may
  open connections to those ports, but only on ENIs that carry the mesh
  group, i.e. other tasks.
* Each service's own group admits its port from the mesh group (one ingress
  rule per service, created by ``admit``).
* The mesh group has no ingress rules: carrying it never opens a task by
  itself; only the service's own group decides what reaches it.

Side effect, accepted: tasks of the same service can also reach each other
on their port (the pairwise design excluded that). They run the same code
with the same identity, so this widens nothing that matters.
"""
from __future__ import annotations

from dataclasses import dataclass

from framework import Construct
from framework.aws import aws
from framework.references import read_once
from modules.network import Network

#: AWS limit on a security group rule description.
DESCRIPTION_MAX = 255


@dataclass(frozen=True, kw_only=True)
class ServiceMeshProps:
    """``name``: name of the mesh security group (``<prefix>-service-mesh``),
    unique in the VPC. ``network``: the VPC it lives in."""

    name: str
    network: Network


class ServiceMesh(Construct):
    """Typed attributes: ``security_group`` (attach it to every task),
    ``egress_rules`` (port -> the mesh egress rule of that port)."""

    def __init__(self, scope: Construct, construct_id: str, props: ServiceMeshProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.security_group = aws.security_group.SecurityGroup(
            self, "security-group",
            name=props.name,
            description="Every service task: calls between services on the callee port",
            vpc_id=props.network.vpc_id,
        )
        self.egress_rules: dict[int, object] = {}
        self._members: dict[int, list[str]] = {}

    security_group_id = read_once("security_group", "id")

    @property
    def members(self) -> dict[str, int]:
        """Admitted service name -> its port."""
        return {name: port for port, names in self._members.items() for name in names}

    def admit(self, scope: Construct, *, service_name: str, security_group_id: str, port: int):
        """Makes ``service_name``'s tasks callable by every task carrying the
        mesh group on ``port``.

        Creates the ingress rule ``from-mesh`` on ``security_group_id`` (the
        service's own group) in ``scope``, i.e. with the service, and the mesh
        egress rule of ``port`` once per distinct port (services may share a
        port; two identical rules would be rejected by AWS). Returns the
        ingress rule.
        """
        if not isinstance(service_name, str) or not service_name:
            raise ValueError(f"service mesh: service_name {service_name!r} is not allowed; "
                             "give the service's name")
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ValueError(f"service mesh: port {port!r} of {service_name!r} is not allowed; "
                             "use an integer 1-65535")
        if service_name in self.members:
            raise ValueError(f"service mesh: service_name {service_name!r} is already admitted "
                             f"(port {self.members[service_name]}); admit each service once")
        names = self._members.setdefault(port, [])
        names.append(service_name)
        description = self._egress_description(port, names)
        rule = self.egress_rules.get(port)
        if rule is None:
            self.egress_rules[port] = aws.vpc_security_group_egress_rule.VpcSecurityGroupEgressRule(
                self, f"to-port-{port}",
                security_group_id=self.security_group_id,
                description=description,
                ip_protocol="tcp", from_port=port, to_port=port,
                referenced_security_group_id=self.security_group_id,
            )
        else:
            rule.description = description
        return aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
            scope, "from-mesh",
            security_group_id=security_group_id,
            description=f"{service_name} port {port} from every service task (service mesh group)",
            ip_protocol="tcp", from_port=port, to_port=port,
            referenced_security_group_id=self.security_group_id,
        )

    @staticmethod
    def _egress_description(port: int, names: list[str]) -> str:
        text = f"Service tasks to {', '.join(names)} on port {port}"
        if len(text) <= DESCRIPTION_MAX:
            return text
        return f"Service tasks to {len(names)} services on port {port}"
