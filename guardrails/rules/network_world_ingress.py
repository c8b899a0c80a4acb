"""PAY-NET-001: the internet (0.0.0.0/0, ::/0) reaches only ports 80 and 443
of a load balancer."""
from __future__ import annotations

from guardrails.rules import tf
from guardrails.rules.model import Finding, Rule, RuleContext

SECURITY_GROUP = "aws_security_group"
LOAD_BALANCER_TYPES = ("aws_lb", "aws_alb")
#: Ports a load balancer may open to everyone (HTTP only to redirect, see PAY-TLS-001).
PUBLIC_PORTS = (80, 443)
ALL_PROTOCOLS = ("-1", "all")


def load_balancer_security_groups(stack: dict) -> set[str]:
    groups = set()
    for _, _, body in tf.each(stack, *LOAD_BALANCER_TYPES):
        for sg in tf.as_list(body.get("security_groups")):
            name = tf.resolve(stack, sg, SECURITY_GROUP, "id")
            if name is not None:
                groups.add(name)
    return groups


def _allowed(security_group: str | None, lb_groups: set[str], protocol, from_port, to_port) -> bool:
    if security_group not in lb_groups or str(protocol).lower() in ALL_PROTOCOLS:
        return False
    try:
        low, high = int(from_port), int(to_port)
    except (TypeError, ValueError):
        return False
    return low == high and low in PUBLIC_PORTS


def _describe(protocol, from_port, to_port) -> str:
    if str(protocol).lower() in ALL_PROTOCOLS:
        return "all ports"
    return f"port {from_port}" if from_port == to_port else f"ports {from_port}-{to_port}"


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    lb_groups = load_balancer_security_groups(stack)
    findings = []

    def judge(where, security_group, cidrs, protocol, from_port, to_port):
        world = [c for c in cidrs if tf.is_world(c)]
        if world and not _allowed(security_group, lb_groups, protocol, from_port, to_port):
            owner = ("load balancer security group" if security_group in lb_groups
                     else f"security group {security_group or '(unknown)'} (not a load balancer's)")
            findings.append(RULE.finding(
                where, f"opens {_describe(protocol, from_port, to_port)} of {owner} to {world[0]}",
                "restrict the source to a CIDR that needs it or to a security group "
                "(referenced_security_group_id); only ports 80 and 443 of a load balancer may be public"))

    for _, name, body in tf.each(stack, SECURITY_GROUP):
        for rule in tf.blocks(body.get("ingress")):
            cidrs = tf.as_list(rule.get("cidr_blocks")) + tf.as_list(rule.get("ipv6_cidr_blocks"))
            judge(tf.address(SECURITY_GROUP, name), name, cidrs,
                  rule.get("protocol"), rule.get("from_port"), rule.get("to_port"))
    for _, name, body in tf.each(stack, "aws_vpc_security_group_ingress_rule"):
        cidrs = [c for c in (body.get("cidr_ipv4"), body.get("cidr_ipv6")) if c]
        judge(tf.address("aws_vpc_security_group_ingress_rule", name),
              tf.resolve(stack, body.get("security_group_id"), SECURITY_GROUP, "id"), cidrs,
              body.get("ip_protocol"), body.get("from_port"), body.get("to_port"))
    for _, name, body in tf.each(stack, "aws_security_group_rule"):
        if body.get("type") != "ingress":
            continue
        cidrs = tf.as_list(body.get("cidr_blocks")) + tf.as_list(body.get("ipv6_cidr_blocks"))
        judge(tf.address("aws_security_group_rule", name),
              tf.resolve(stack, body.get("security_group_id"), SECURITY_GROUP, "id"), cidrs,
              body.get("protocol"), body.get("from_port"), body.get("to_port"))
    return findings


RULE = Rule(
    id="PAY-NET-001",
    summary="No security group allows 0.0.0.0/0 or ::/0 except to ports 80/443 of a load balancer.",
    why="Databases, tasks and test listeners must be reachable only through the load "
        "balancer or from named ranges; an open port is scanned within minutes.",
    fix="Use a narrower CIDR or a security group reference as the source.",
    check=check,
)
