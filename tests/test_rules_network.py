"""PAY-NET-001 in detail: which source ranges reach which ports, for each
way of writing an ingress rule (inline, aws_vpc_security_group_ingress_rule,
aws_security_group_rule), IPv4 and IPv6, and unresolved references."""

from __future__ import annotations

import pytest

from framework.aws import aws
from guardrails.rules import RULES_BY_ID, Finding
from tests.rules_helpers import VPC, ctx, finding_on, load_balancer, synth_json, unit_stack

RULE = RULES_BY_ID["PAY-NET-001"]
NAT_ADDRESS = "${aws_eip.nat.public_ip}/32"
REMOTE_NAT_RANGE = (
    "${data.terraform_remote_state.network.outputs.cross-stack-output-aws_eipnat_public_ip}/32"
)
REMOTE_RANGE = "${data.terraform_remote_state.network.outputs.test_client_cidr}"
KINDS = ("inline", "vpc_rule", "sg_rule")


def ingress(
    stack,
    kind: str,
    group,
    port: int,
    source: str,
    *,
    construct_id: str = "probe",
    protocol: str = "tcp",
):
    """One ingress rule admitting ``source`` to ``port`` of ``group``, written as ``kind``
    (``inline`` adds an inline rule to ``group`` by override)."""
    ipv6 = ":" in source and "${" not in source
    if kind == "inline":
        rule = {
            "from_port": port,
            "to_port": port,
            "protocol": protocol,
            "ipv6_cidr_blocks" if ipv6 else "cidr_blocks": [source],
        }
        group.add_override("ingress", [rule])
    elif kind == "vpc_rule":
        aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
            stack,
            construct_id,
            security_group_id=group.id,
            ip_protocol=protocol,
            from_port=port,
            to_port=port,
            **{"cidr_ipv6" if ipv6 else "cidr_ipv4": source},
        )
    else:
        aws.security_group_rule.SecurityGroupRule(
            stack,
            construct_id,
            type="ingress",
            security_group_id=group.id,
            protocol=protocol,
            from_port=port,
            to_port=port,
            **{"ipv6_cidr_blocks" if ipv6 else "cidr_blocks": [source]},
        )


def findings_for(tmp_path, kind: str, place: str, port: int, source: str, protocol: str = "tcp"):
    """PAY-NET-001 findings of ``source`` on ``port`` of the group of ``place``:
    ``database`` (a plain group), ``public-alb`` or ``internal-alb`` (listeners
    on 443, 8443 and 80, see tests.test_rules.load_balancer)."""
    stack = unit_stack(tmp_path)
    if place == "database":
        group = aws.security_group.SecurityGroup(stack, "db-sg", name="db", vpc_id=VPC)
    else:
        alb = load_balancer(stack, world_ports=())
        if place == "internal-alb":
            alb.lb.add_override("internal", True)
        group = alb.sg
    ingress(stack, kind, group, port, source, protocol=protocol)
    return RULE.check(synth_json(stack), ctx())


def one_problem(found: list[Finding]) -> str:
    """The problem of the one finding (its address depends on how the
    ingress rule is written); its fix always names what is allowed."""
    assert len(found) == 1, [str(f) for f in found]
    assert "private range or a security group" in found[0].fix
    return found[0].problem


PRIVATE = [
    "10.0.0.0/8",
    "10.200.0.0/16",
    "172.16.0.0/12",
    "172.31.255.0/24",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "100.127.0.1/32",
    "fc00::/7",
    "fd12:3456:789a::/48",
]
PUBLIC = [
    "0.0.0.0/0",
    "0.0.0.0/1",
    "128.0.0.0/1",
    "::/0",
    "::/1",
    "8000::/1",
    "203.0.113.7/32",
    "198.51.100.0/24",
    "10.0.0.0/7",
    "172.32.0.0/16",
    "192.169.0.0/16",
    "100.128.0.0/10",
    "169.254.169.254/32",
    "127.0.0.1/32",
    "2001:db8::/32",
    "fe80::/10",
    "fc00::/6",
    "3.0.0.0/8",
]
REFERENCES = [NAT_ADDRESS, REMOTE_NAT_RANGE, REMOTE_RANGE]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("source", PRIVATE)
def test_private_ranges_reach_a_database_port(tmp_path, kind, source):
    assert findings_for(tmp_path, kind, "database", 5432, source) == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("source", PUBLIC + REFERENCES)
def test_public_ranges_and_references_never_reach_a_database_port(tmp_path, kind, source):
    problem = one_problem(findings_for(tmp_path, kind, "database", 5432, source))
    assert problem.startswith("opens port 5432 of security group db-sg ")
    assert "(not an internet-facing load balancer's)" in problem
    assert f" to {source}, " in problem


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "source",
    [
        "203.0.113.7/32",
        "198.51.100.0/24",
        "2001:db8::/48",
        "3.0.0.0/8",
        "2400::/12",
        *REFERENCES,
        *PRIVATE,
    ],
)
def test_named_public_ranges_and_references_reach_the_public_test_listener(tmp_path, kind, source):
    """The NAT gateways' addresses (references) and named client ranges on 8443."""
    assert findings_for(tmp_path, kind, "public-alb", 8443, source) == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "source",
    ["0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1", "2.0.0.0/7", "::/0", "::/1", "2000::/3", "2400::/11"],
)
def test_world_wide_ranges_do_not_reach_the_public_test_listener(tmp_path, kind, source):
    problem = one_problem(findings_for(tmp_path, kind, "public-alb", 8443, source))
    assert problem.startswith("opens port 8443 of security group alb-sg ")
    assert f" to {source}, a world-wide range" in problem
    assert problem.endswith("which only ports 80 and 443 of an internet-facing ALB accept")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("port", [80, 443])
@pytest.mark.parametrize("source", ["0.0.0.0/0", "::/0", "0.0.0.0/1", NAT_ADDRESS])
def test_anything_reaches_ports_80_and_443_of_the_public_alb(tmp_path, kind, port, source):
    assert findings_for(tmp_path, kind, "public-alb", port, source) == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("source", ["203.0.113.7/32", NAT_ADDRESS, "0.0.0.0/0"])
def test_public_ranges_do_not_reach_a_port_without_listener(tmp_path, kind, source):
    found = findings_for(tmp_path, kind, "public-alb", 9000, source)
    assert one_problem(found).startswith("opens port 9000 of security group alb-sg")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "port, source", [(443, "0.0.0.0/0"), (443, "203.0.113.7/32"), (8443, NAT_ADDRESS), (80, "::/0")]
)
def test_internal_alb_gets_no_exception(tmp_path, kind, port, source):
    found = findings_for(tmp_path, kind, "internal-alb", port, source)
    assert "of security group alb-sg (not an internet-facing load balancer's)" in one_problem(found)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("protocol", ["-1", "udp"])
def test_listener_exception_is_tcp_only(tmp_path, kind, protocol):
    assert findings_for(tmp_path, kind, "public-alb", 443, "0.0.0.0/0", protocol=protocol)


def test_port_range_must_lie_within_listener_ports(tmp_path):
    stack = unit_stack(tmp_path)
    alb = load_balancer(stack, world_ports=())
    aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
        stack,
        "range",
        security_group_id=alb.sg.id,
        ip_protocol="tcp",
        from_port=443,
        to_port=8443,
        cidr_ipv4="203.0.113.0/24",
    )
    found = [str(f) for f in RULE.check(synth_json(stack), ctx())]
    assert len(found) == 1 and "opens ports 443-8443 of security group alb-sg" in found[0], found


def test_listener_of_another_load_balancer_does_not_exempt(tmp_path):
    """8443 is a listener port of the other ALB, not of the one using this group."""
    stack = unit_stack(tmp_path)
    load_balancer(stack, name="other", world_ports=())
    sg = aws.security_group.SecurityGroup(stack, "edge-sg", name="edge", vpc_id=VPC)
    edge = aws.lb.Lb(
        stack,
        "edge",
        name="edge",
        load_balancer_type="application",
        security_groups=[sg.id],
        subnets=["subnet-0123456789abcdef0"],
    )
    li = aws.lb_listener
    li.LbListener(
        stack,
        "edge-https",
        load_balancer_arn=edge.arn,
        port=443,
        protocol="HTTP",
        default_action=[
            li.LbListenerDefaultAction(
                type="fixed-response",
                fixed_response=li.LbListenerDefaultActionFixedResponse(
                    content_type="text/plain", status_code="404"
                ),
            )
        ],
    )
    ingress(stack, "vpc_rule", sg, 8443, "203.0.113.0/24")
    found = [str(f) for f in RULE.check(synth_json(stack), ctx())]
    assert (
        len(found) == 1
        and "opens port 8443 of security group edge-sg of internet-facing load balancer edge"
        in found[0]
    ), found


def test_security_group_and_prefix_list_sources_are_not_ranges(tmp_path):
    stack = unit_stack(tmp_path)
    db = aws.security_group.SecurityGroup(stack, "db-sg", name="db", vpc_id=VPC)
    tasks = aws.security_group.SecurityGroup(stack, "tasks-sg", name="tasks", vpc_id=VPC)
    rule = aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule
    rule(
        stack,
        "from-tasks",
        security_group_id=db.id,
        ip_protocol="tcp",
        from_port=5432,
        to_port=5432,
        referenced_security_group_id=tasks.id,
    )
    rule(
        stack,
        "from-list",
        security_group_id=db.id,
        ip_protocol="tcp",
        from_port=5432,
        to_port=5432,
        prefix_list_id="pl-0123456789abcdef0",
    )
    assert RULE.check(synth_json(stack), ctx()) == []


def test_egress_rules_are_not_judged(tmp_path):
    stack = unit_stack(tmp_path)
    db = aws.security_group.SecurityGroup(stack, "db-sg", name="db", vpc_id=VPC)
    aws.security_group_rule.SecurityGroupRule(
        stack,
        "out",
        type="egress",
        security_group_id=db.id,
        protocol="tcp",
        from_port=443,
        to_port=443,
        cidr_blocks=["0.0.0.0/0"],
    )
    assert RULE.check(synth_json(stack), ctx()) == []


def test_ingress_written_as_one_expression_cannot_be_checked(tmp_path):
    stack = unit_stack(tmp_path)
    db = aws.security_group.SecurityGroup(stack, "db-sg", name="db", vpc_id=VPC)
    db.add_override("ingress", "${var.db_ingress}")
    finding = finding_on(
        RULE.check(synth_json(stack), ctx()), "PAY-NET-001", "aws_security_group.db-sg"
    )
    assert finding.problem.startswith("sets ingress to an expression")
    assert "aws_vpc_security_group_ingress_rule" in finding.fix


def test_each_source_of_one_rule_is_judged(tmp_path):
    stack = unit_stack(tmp_path)
    db = aws.security_group.SecurityGroup(stack, "db-sg", name="db", vpc_id=VPC)
    aws.security_group_rule.SecurityGroupRule(
        stack,
        "mixed",
        type="ingress",
        security_group_id=db.id,
        protocol="tcp",
        from_port=5432,
        to_port=5432,
        cidr_blocks=["10.0.0.0/16", "0.0.0.0/1", "128.0.0.0/1"],
        ipv6_cidr_blocks=["fd00::/8", "::/1"],
    )
    found = [str(f) for f in RULE.check(synth_json(stack), ctx())]
    assert [f.split(" to ")[1].split(",")[0] for f in found] == ["0.0.0.0/1", "128.0.0.0/1", "::/1"]
