"""PAY-TLS-001: in the production tier, nothing listens on plain HTTP unless it redirects
to HTTPS."""

from __future__ import annotations

from guardrails.rules import tf
from guardrails.rules.model import Finding, Rule, RuleContext

LISTENER_TYPES = ("aws_lb_listener", "aws_alb_listener")
RULE_TYPES = ("aws_lb_listener_rule", "aws_alb_listener_rule")
FIX = (
    'make the listener HTTPS (protocol = "HTTPS", certificate_arn, ssl_policy) or make '
    'every action redirect { protocol = "HTTPS", port = "443" }'
)


def _redirects_to_https(actions) -> bool:
    found = tf.blocks(actions)
    return bool(found) and all(
        a.get("type") == "redirect"
        and str(tf.block(a.get("redirect")).get("protocol", "")).upper() == "HTTPS"
        for a in found
    )


def _plain_http(body: dict) -> bool:
    protocol = body.get("protocol")
    # An ALB listener without protocol and certificate is HTTP.
    return str(protocol).upper() == "HTTP" if protocol else not body.get("certificate_arn")


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    if not ctx.production:
        return []
    findings = []
    http_listeners = set()
    for listener_type, name, body in tf.each(stack, *LISTENER_TYPES):
        if not _plain_http(body):
            continue
        http_listeners.add(name)
        if not _redirects_to_https(body.get("default_action")):
            findings.append(
                RULE.finding(
                    tf.address(listener_type, name),
                    f"listens on plain HTTP (port {body.get('port')}) in the production tier without redirecting "
                    "to HTTPS",
                    FIX,
                )
            )
    for rule_type, name, body in tf.each(stack, *RULE_TYPES):
        listener = None
        for listener_type in LISTENER_TYPES:
            listener = listener or tf.resolve(stack, body.get("listener_arn"), listener_type, "arn")
        if listener in http_listeners and not _redirects_to_https(body.get("action")):
            findings.append(
                RULE.finding(
                    tf.address(rule_type, name),
                    f"serves requests on plain-HTTP listener {listener} in the production tier instead of "
                    "redirecting to HTTPS",
                    "attach the rule to the HTTPS listener, or make its action a redirect to HTTPS",
                )
            )
    return findings


RULE = Rule(
    id="PAY-TLS-001",
    summary="In the production tier, HTTP listeners (and their rules) only redirect to HTTPS.",
    why="Card and payment data must not cross networks in clear text (PCI DSS 4.2.1).",
    fix="HTTPS listeners with a certificate; port 80 only redirects to 443.",
    check=check,
)
