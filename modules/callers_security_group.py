"""The callers group: every service task carries it, and it is the only way
a task reaches another service, through the internal ALB.

Why not task to task (Cloud Map names): during a CodeDeploy blue/green
deployment both task sets register in Cloud Map, and the blue one stays
registered until it is terminated (containers-roadmap #648; 60 minutes in
prod). Callers resolving Cloud Map names would spread their calls over both
task sets, whatever the traffic shift says, and the rollback alarms (which
watch the ALB target groups) would never see those calls. Through the
internal ALB's production listener, internal calls follow the canary and
count in the alarms that roll a release back (docs/decisions.md D23).

* The group has one egress rule per port of the internal ALB's production
  listener, destination the ALB's group, and the ALB's group admits that
  port from this group (``call_through``).
* The group has no ingress rule, and no service's own group admits it:
  carrying it never opens a task, and tasks cannot call each other directly.

The security group keeps the name and construct id it had when this module
was ``ServiceMesh`` (``<prefix>-service-mesh``, construct id ``service-mesh``):
every running task carries it (ECS service network configuration, changed
only by a CodeDeploy deployment), so replacing it would fail while tasks use
it. Only the Python names changed; no resource address did.
"""

from __future__ import annotations

from dataclasses import dataclass

from framework import Construct
from framework.aws import aws
from modules.load_balancer import ApplicationLoadBalancer
from modules.network import Network


@dataclass(frozen=True, kw_only=True)
class CallersSecurityGroupProps:
    """``name``: name of the security group
    (``config.naming.service_mesh_security_group_name``: ``<prefix>-service-mesh``),
    unique in the VPC. ``network``: the VPC it lives in."""

    name: str
    network: Network


class CallersSecurityGroup(Construct):
    """Typed attributes: ``security_group`` (attach it to every task),
    ``egress_rules`` and ``alb_ingress_rules`` (port -> rule, after
    ``call_through``)."""

    def __init__(
        self, scope: Construct, construct_id: str, props: CallersSecurityGroupProps
    ) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.security_group = aws.security_group.SecurityGroup(
            self,
            "security-group",
            name=props.name,
            description="Every service task: calls to other services through the internal ALB",
            vpc_id=props.network.vpc_id,
        )
        self.security_group_id = self.security_group.id
        self.egress_rules: dict[int, object] = {}
        self.alb_ingress_rules: dict[int, object] = {}

    def call_through(self, load_balancer: ApplicationLoadBalancer) -> None:
        """Lets every task call ``load_balancer`` (the internal ALB) on its
        production listener, and nothing else of it."""
        if not load_balancer.internal:
            raise ValueError(
                "call_through: the internet-facing ALB is not allowed; services "
                "call each other through the internal ALB"
            )
        if self.egress_rules:
            raise ValueError("call_through: already called; the environment has one internal ALB")
        port = load_balancer.production_port
        self.egress_rules[port] = aws.vpc_security_group_egress_rule.VpcSecurityGroupEgressRule(
            self,
            f"to-internal-alb-{port}",
            security_group_id=self.security_group_id,
            description=f"Service tasks to the internal ALB production listener {port}",
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            referenced_security_group_id=load_balancer.security_group_id,
        )
        self.alb_ingress_rules[port] = (
            aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
                self,
                f"internal-alb-from-tasks-{port}",
                security_group_id=load_balancer.security_group_id,
                description=f"Internal ALB production listener {port} from service tasks",
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                referenced_security_group_id=self.security_group_id,
            )
        )
