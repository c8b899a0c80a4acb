"""Cloud Map: private DNS names for service-to-service calls."""

from __future__ import annotations

from dataclasses import dataclass

from framework import Construct
from framework.aws import aws


@dataclass(frozen=True, kw_only=True)
class ServiceNamespaceProps:
    """``name``: DNS domain, e.g. ``dev.payment.internal``. ``vpc_id``: the
    VPC whose resolver answers for it. ``record_ttl_seconds``: TTL of the A
    records of each service; left out: 10 (tasks come and go on deploys)."""

    name: str
    vpc_id: str
    record_ttl_seconds: int = 10


class ServiceNamespace(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: ServiceNamespaceProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.namespace = (
            aws.service_discovery_private_dns_namespace.ServiceDiscoveryPrivateDnsNamespace(
                self,
                "namespace",
                name=props.name,
                vpc=props.vpc_id,
                description=f"Service-to-service names of {props.name}",
            )
        )
        self.namespace_id = self.namespace.id

    @property
    def name(self) -> str:
        return self.props.name

    def register(self, scope: Construct, construct_id: str, service_name: str):
        """Creates the Cloud Map service ``<service_name>.<namespace>`` (A
        records, one per healthy task, ECS reports health)."""
        sd = aws.service_discovery_service
        return sd.ServiceDiscoveryService(
            scope,
            construct_id,
            name=service_name,
            dns_config=sd.ServiceDiscoveryServiceDnsConfig(
                namespace_id=self.namespace_id,
                dns_records=[
                    sd.ServiceDiscoveryServiceDnsConfigDnsRecords(
                        ttl=self.props.record_ttl_seconds, type="A"
                    )
                ],
                routing_policy="MULTIVALUE",
            ),
            health_check_custom_config=sd.ServiceDiscoveryServiceHealthCheckCustomConfig(
                failure_threshold=1
            ),
        )
