"""PAY-NET-001: no ingress from outside private address space, except on the
listener ports of an internet-facing ALB.

Private space is RFC 1918 (10/8, 172.16/12, 192.168/16), RFC 6598
(100.64/10) and the IPv6 unique local range (fc00::/7); a source range
counts as private only when it lies wholly inside one of them. Every other
literal range (``0.0.0.0/1``, ``::/1``, a single public /32) is public.

A source that is not a literal CIDR (a reference such as
``${aws_eip.nat.public_ip}/32`` or a remote-state output) cannot be judged
at synthesis, so it is treated as public: accepted only where a public
range is. Security-group and prefix-list sources are not ranges and are
not judged here.

The exception: the ports of the listeners (``aws_lb_listener``) of an
internet-facing ALB (``internal`` false or absent), on a security group the
ALB lists in ``security_groups``, TCP only. World-wide ranges (wider than
the /8 and /12 blocks IANA allocates to a regional registry, so /0 and /1
included) are accepted only on ports 80 and 443 there: test listeners admit
named client ranges, never everyone.
"""

from __future__ import annotations

from guardrails.rules import tf
from guardrails.rules.model import Finding, Rule, RuleContext

SECURITY_GROUP_TYPES = ("aws_security_group", "aws_default_security_group")
LOAD_BALANCER_TYPES = ("aws_lb", "aws_alb")
LISTENER_TYPES = ("aws_lb_listener", "aws_alb_listener")
#: Ports of an internet-facing ALB that world-wide ranges may reach (HTTP only
#: to redirect, see PAY-TLS-001).
WORLD_PORTS = frozenset({80, 443})
#: A range with a shorter prefix than this spans more than one regional
#: registry's block (IANA allocates IPv4 in /8s and IPv6 in /12s): world-wide.
WORLD_WIDE_PREFIX = {4: 8, 6: 12}
ALL_PROTOCOLS = ("-1", "all")
TCP = ("tcp", "6")
FIX = (
    "use a private range or a security group (referenced_security_group_id) as the source; "
    "public ranges are admitted only on listener ports of an internet-facing ALB, "
    "world-wide ones only on its ports 80 and 443"
)


def _security_group(stack: dict, value) -> str | None:
    for group_type in SECURITY_GROUP_TYPES:
        name = tf.resolve(stack, value, group_type, "id")
        if name is not None:
            return name
    return None


def _internet_facing_alb(body: dict) -> bool:
    internal = body.get("internal")
    return (
        internal is None or internal is False or str(internal).strip().lower() == "false"
    ) and body.get("load_balancer_type") in (None, "application")


def public_listener_ports(stack: dict) -> dict[str, tuple[str, frozenset[int]]]:
    """Security group name -> (internet-facing ALB, its listener ports)."""
    ports: dict[str, set[int]] = {}
    for lb_type, lb_name, _ in tf.each(stack, *LOAD_BALANCER_TYPES):
        ports[f"{lb_type}.{lb_name}"] = set()
    for _, _, body in tf.each(stack, *LISTENER_TYPES):
        for lb_type in LOAD_BALANCER_TYPES:
            listener_lb = tf.resolve(stack, body.get("load_balancer_arn"), lb_type, "arn")
            if listener_lb is not None:
                try:
                    ports[f"{lb_type}.{listener_lb}"].add(int(body.get("port")))  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    pass
    groups: dict[str, tuple[str, frozenset[int]]] = {}
    for lb_type, lb_name, body in tf.each(stack, *LOAD_BALANCER_TYPES):
        if not _internet_facing_alb(body):
            continue
        for sg in tf.as_list(body.get("security_groups")):
            name = _security_group(stack, sg)
            if name is not None:
                known = groups.get(name, ("", frozenset()))[1]
                groups[name] = (lb_name, known | ports[f"{lb_type}.{lb_name}"])
    return groups


def _port_range(protocol, from_port, to_port) -> range | None:
    """The TCP ports a rule opens; None when it opens all protocols, another
    protocol, or ports that are not literal numbers."""
    if str(protocol).strip().lower() not in TCP:
        return None
    try:
        return range(int(from_port), int(to_port) + 1)
    except (TypeError, ValueError):
        return None


def _describe(protocol, from_port, to_port) -> str:
    name = str(protocol).strip().lower()
    if name in ALL_PROTOCOLS:
        return "all ports"
    if name not in TCP + ("udp", "17"):
        return f"protocol {protocol}"
    return f"port {from_port}" if str(from_port) == str(to_port) else f"ports {from_port}-{to_port}"


def _problem(source: str, ports: range | None, exempt: frozenset[int]) -> str | None:
    """Why ``source`` may not reach ``ports`` (None: it may)."""
    network = tf.literal_cidr(source)
    if network is not None and tf.is_private(network):
        return None
    on_listener = ports is not None and 0 < len(ports) <= len(exempt) and set(ports) <= exempt
    if network is None:
        return (
            None
            if on_listener
            else (
                "a reference or expression, not a literal CIDR: it may be public, and only "
                "listener ports of an internet-facing ALB accept public ranges"
            )
        )
    if network.prefixlen < WORLD_WIDE_PREFIX[network.version]:
        if on_listener and ports is not None and set(ports) <= WORLD_PORTS:
            return None
        return "a world-wide range, which only ports 80 and 443 of an internet-facing ALB accept"
    return (
        None
        if on_listener
        else (
            "outside private address space (RFC 1918, RFC 6598, fc00::/7), which only listener "
            "ports of an internet-facing ALB accept"
        )
    )


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    public = public_listener_ports(stack)
    findings = []

    def judge(where, security_group, sources, protocol, from_port, to_port):
        alb, exempt = public.get(security_group, (None, frozenset()))
        ports = _port_range(protocol, from_port, to_port)
        owner = (
            f"security group {security_group} of internet-facing load balancer {alb}"
            if alb
            else f"security group {security_group or '(not in this stack)'} "
            "(not an internet-facing load balancer's)"
        )
        for source in sources:
            problem = _problem(source, ports, exempt)
            if problem is not None:
                findings.append(
                    RULE.finding(
                        where,
                        f"opens {_describe(protocol, from_port, to_port)} of {owner} "
                        f"to {source}, {problem}",
                        FIX,
                    )
                )

    for group_type, name, body in tf.each(stack, *SECURITY_GROUP_TYPES):
        where = tf.address(group_type, name)
        if tf.is_expression(body.get("ingress")):
            findings.append(
                RULE.finding(
                    where,
                    "sets ingress to an expression, which cannot be checked at synthesis",
                    "write the ingress rules out (aws_vpc_security_group_ingress_rule)",
                )
            )
        for rule in tf.blocks(body.get("ingress")):
            sources = tf.as_list(rule.get("cidr_blocks")) + tf.as_list(rule.get("ipv6_cidr_blocks"))
            judge(
                where,
                name,
                sources,
                rule.get("protocol"),
                rule.get("from_port"),
                rule.get("to_port"),
            )
    for _, name, body in tf.each(stack, "aws_vpc_security_group_ingress_rule"):
        sources = [c for c in (body.get("cidr_ipv4"), body.get("cidr_ipv6")) if c]
        judge(
            tf.address("aws_vpc_security_group_ingress_rule", name),
            _security_group(stack, body.get("security_group_id")),
            sources,
            body.get("ip_protocol"),
            body.get("from_port"),
            body.get("to_port"),
        )
    for _, name, body in tf.each(stack, "aws_security_group_rule"):
        if str(body.get("type")).strip().lower() == "egress":
            continue
        sources = tf.as_list(body.get("cidr_blocks")) + tf.as_list(body.get("ipv6_cidr_blocks"))
        judge(
            tf.address("aws_security_group_rule", name),
            _security_group(stack, body.get("security_group_id")),
            sources,
            body.get("protocol"),
            body.get("from_port"),
            body.get("to_port"),
        )
    return findings


RULE = Rule(
    id="PAY-NET-001",
    summary="No security group admits a range outside private address space (RFC 1918, "
    "RFC 6598, fc00::/7) except on listener ports of an internet-facing ALB; "
    "world-wide ranges only on its ports 80/443.",
    why="Databases, tasks and test listeners must be reachable only through the load "
    "balancer or from named ranges; a public range (0.0.0.0/1 is half the internet) "
    "is scanned within minutes.",
    fix="Use a private range or a security group reference as the source; admit public "
    "client ranges only on a listener port of the internet-facing ALB.",
    check=check,
)
