"""A three-AZ VPC: public, private (application) and isolated (database) tiers."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import cached_property

from framework import Construct
from framework.aws import aws
from modules import iam
from modules.iam import service_role

#: Interface endpoints that let tasks in private subnets work without NAT for
#: image pulls (ecr.api, ecr.dkr), logs, secrets, KMS, metrics and tracing.
INTERFACE_ENDPOINT_SERVICES = (
    "ecr.api",
    "ecr.dkr",
    "logs",
    "secretsmanager",
    "kms",
    "monitoring",
    "xray",
    "ssmmessages",
)

TIERS = ("public", "private", "isolated")

#: Actions that name no resource ARN, so an ``aws:ResourceAccount`` condition
#: cannot match them (IAM service authorization reference: resource types
#: column empty); the endpoint admits them for this account's principals only.
NO_RESOURCE_ACTIONS: dict[str, tuple[str, ...]] = {
    "ecr.api": ("ecr:GetAuthorizationToken",),
    "monitoring": ("cloudwatch:PutMetricData",),
    "xray": (
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
    ),
    "ssmmessages": (
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
    ),
}


def ecr_layer_bucket_arn(partition: str, region: str) -> str:
    """The AWS-owned bucket ECR serves image layers from (ECR user guide,
    "Amazon ECR interface VPC endpoints": minimum S3 bucket permissions)."""
    return f"arn:{partition}:s3:::prod-{region}-starport-layer-bucket/*"


def endpoint_policy(service: str, account_id: str, partition: str, region: str) -> str:
    """Endpoint policy of ``service`` (``s3``, ``logs``, ``ecr.api``, ...):
    principals of this account, on resources of this account; actions that
    name no resource, for this account's principals; for S3, reading image
    layers from ECR's bucket. Without a policy an endpoint allows everything
    (PrivateLink guide, "Control access to VPC endpoints using endpoint
    policies": the default endpoint policy allows full access)."""
    statements: list[dict] = [
        {
            "Sid": "OwnPrincipalsOwnResources",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "*",
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "aws:PrincipalAccount": account_id,
                    "aws:ResourceAccount": account_id,
                }
            },
        }
    ]
    if service in NO_RESOURCE_ACTIONS:
        statements.append(
            {
                "Sid": "OwnPrincipalsActionsWithoutResource",
                "Effect": "Allow",
                "Principal": "*",
                "Action": list(NO_RESOURCE_ACTIONS[service]),
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalAccount": account_id}},
            }
        )
    if service == "s3":
        statements.append(
            {
                "Sid": "OwnPrincipalsReadEcrImageLayers",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": ecr_layer_bucket_arn(partition, region),
                "Condition": {"StringEquals": {"aws:PrincipalAccount": account_id}},
            }
        )
    return iam.document(*statements)


def subnet_cidrs(vpc_cidr: str) -> dict[str, tuple[str, str, str]]:
    """Carves 9 equal subnets (4 prefix bits more than the VPC) per tier and AZ.

    Order: public a/b/c, private a/b/c, isolated a/b/c; the last 7 blocks stay
    free for later tiers.
    """
    blocks = [str(b) for b in ipaddress.IPv4Network(vpc_cidr).subnets(prefixlen_diff=4)]
    return {
        tier: (blocks[i * 3], blocks[i * 3 + 1], blocks[i * 3 + 2]) for i, tier in enumerate(TIERS)
    }


@dataclass(frozen=True, kw_only=True)
class NetworkProps:
    """``name``: prefix of resource names. ``nat_gateway_count``: 1 shares one
    NAT gateway (cheaper, one AZ's outage cuts egress), 3 gives each AZ its
    own. ``flow_log_key_arn``: CMK of the flow log group.
    ``flow_log_role_account_id``/``partition``: for the role trust condition.
    """

    name: str
    cidr: str
    availability_zones: tuple[str, ...]
    nat_gateway_count: int
    flow_log_key_arn: str
    flow_log_retention_days: int
    account_id: str
    partition: str
    region: str


class Network(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: NetworkProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.cidr = props.cidr
        self.vpc = aws.vpc.Vpc(
            self,
            "vpc",
            cidr_block=props.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": props.name},
        )
        self.vpc_id = self.vpc.id
        # Take over the default security group and leave it without rules, so
        # nothing can fall back on it.
        aws.default_security_group.DefaultSecurityGroup(
            self,
            "default-security-group",
            vpc_id=self.vpc_id,
            ingress=[],
            egress=[],
            tags={"Name": f"{props.name}-default-unused"},
        )
        cidrs = subnet_cidrs(props.cidr)
        self.subnets: dict[str, list] = {tier: [] for tier in TIERS}
        for tier in TIERS:
            for index, az in enumerate(props.availability_zones):
                self.subnets[tier].append(
                    aws.subnet.Subnet(
                        self,
                        f"{tier}-{index}",
                        vpc_id=self.vpc_id,
                        cidr_block=cidrs[tier][index],
                        availability_zone=az,
                        map_public_ip_on_launch=False,
                        tags={"Name": f"{props.name}-{tier}-{az}", "tier": tier},
                    )
                )
        self._routing(props)
        self._flow_logs(props)
        self._endpoints(props)

    @cached_property
    def public_subnet_ids(self) -> list[str]:
        return [s.id for s in self.subnets["public"]]

    @cached_property
    def private_subnet_ids(self) -> list[str]:
        return [s.id for s in self.subnets["private"]]

    @cached_property
    def nat_public_ips(self) -> list[str]:
        """Public addresses of the NAT gateways: where callers in the private
        subnets come from when they reach an internet-facing address."""
        return [nat.public_ip for nat in self.nat_gateways]

    @cached_property
    def isolated_subnet_ids(self) -> list[str]:
        return [s.id for s in self.subnets["isolated"]]

    def _routing(self, props: NetworkProps) -> None:
        rt = aws.route_table
        igw = aws.internet_gateway.InternetGateway(
            self, "internet-gateway", vpc_id=self.vpc_id, tags={"Name": props.name}
        )
        public = rt.RouteTable(
            self,
            "public-routes",
            vpc_id=self.vpc_id,
            tags={"Name": f"{props.name}-public"},
        )
        aws.route.Route(
            self,
            "public-default-route",
            route_table_id=public.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
        )
        for index, subnet in enumerate(self.subnets["public"]):
            aws.route_table_association.RouteTableAssociation(
                self, f"public-{index}-routes", subnet_id=subnet.id, route_table_id=public.id
            )
        self.nat_gateways = []
        for index in range(props.nat_gateway_count):
            eip = aws.eip.Eip(
                self,
                f"nat-{index}-address",
                domain="vpc",
                tags={"Name": f"{props.name}-nat-{index}"},
            )
            self.nat_gateways.append(
                aws.nat_gateway.NatGateway(
                    self,
                    f"nat-{index}",
                    allocation_id=eip.id,
                    subnet_id=self.subnets["public"][index].id,
                    tags={"Name": f"{props.name}-nat-{props.availability_zones[index]}"},
                    depends_on=[igw],
                )
            )
        self.private_route_tables = []
        for index, subnet in enumerate(self.subnets["private"]):
            table = rt.RouteTable(
                self,
                f"private-{index}-routes",
                vpc_id=self.vpc_id,
                tags={"Name": f"{props.name}-private-{props.availability_zones[index]}"},
            )
            aws.route.Route(
                self,
                f"private-{index}-default-route",
                route_table_id=table.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=self.nat_gateways[index % props.nat_gateway_count].id,
            )
            aws.route_table_association.RouteTableAssociation(
                self,
                f"private-{index}-association",
                subnet_id=subnet.id,
                route_table_id=table.id,
            )
            self.private_route_tables.append(table)
        # Isolated subnets: no route out of the VPC at all.
        self.isolated_route_table = rt.RouteTable(
            self,
            "isolated-routes",
            vpc_id=self.vpc_id,
            tags={"Name": f"{props.name}-isolated"},
        )
        for index, subnet in enumerate(self.subnets["isolated"]):
            aws.route_table_association.RouteTableAssociation(
                self,
                f"isolated-{index}-association",
                subnet_id=subnet.id,
                route_table_id=self.isolated_route_table.id,
            )

    def _flow_logs(self, props: NetworkProps) -> None:
        self.flow_log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "flow-logs",
            name=f"/{props.name}/vpc-flow-logs",
            retention_in_days=props.flow_log_retention_days,
            kms_key_id=props.flow_log_key_arn,
        )
        log_group_arn = self.flow_log_group.arn
        role = service_role(
            self,
            "flow-logs-role",
            name=f"{props.name}-vpc-flow-logs",
            service="vpc-flow-logs.amazonaws.com",
            source_account=props.account_id,
            inline_policy=(
                "flow-logs-policy",
                "write-flow-logs",
                [
                    {
                        "Effect": "Allow",
                        "Action": [
                            "logs:CreateLogStream",
                            "logs:PutLogEvents",
                            "logs:DescribeLogGroups",
                            "logs:DescribeLogStreams",
                        ],
                        "Resource": [log_group_arn, f"{log_group_arn}:*"],
                    }
                ],
            ),
        )
        aws.flow_log.FlowLog(
            self,
            "flow-log",
            vpc_id=self.vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=self.flow_log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
        )

    def _endpoints(self, props: NetworkProps) -> None:
        sg = aws.security_group.SecurityGroup(
            self,
            "endpoints-sg",
            name=f"{props.name}-vpc-endpoints",
            description="HTTPS from inside the VPC to AWS service endpoints",
            vpc_id=self.vpc_id,
        )
        aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
            self,
            "endpoints-https-in",
            security_group_id=sg.id,
            description="HTTPS from the VPC",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=props.cidr,
        )
        self.endpoint_security_group = sg
        self.endpoint_security_group_id = self.endpoint_security_group.id
        prefix = f"com.amazonaws.{props.region}"
        self.s3_endpoint = aws.vpc_endpoint.VpcEndpoint(
            self,
            "s3-endpoint",
            vpc_id=self.vpc_id,
            service_name=f"{prefix}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[t.id for t in self.private_route_tables],
            policy=endpoint_policy("s3", props.account_id, props.partition, props.region),
            tags={"Name": f"{props.name}-s3"},
        )
        #: Prefix list of S3 (gateway endpoint), for security group rules.
        self.s3_prefix_list_id = self.s3_endpoint.prefix_list_id
        self.interface_endpoints = {}
        for service in INTERFACE_ENDPOINT_SERVICES:
            self.interface_endpoints[service] = aws.vpc_endpoint.VpcEndpoint(
                self,
                f"{service.replace('.', '-')}-endpoint",
                vpc_id=self.vpc_id,
                service_name=f"{prefix}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[sg.id],
                policy=endpoint_policy(service, props.account_id, props.partition, props.region),
                tags={"Name": f"{props.name}-{service}"},
            )
