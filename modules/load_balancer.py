"""Application load balancers, their access-log bucket and web ACL.

An ALB here has a production listener and a test listener whose default
actions answer 404: services add path rules (``BlueGreenService``) and
CodeDeploy rewrites those rules during a release, never the listener
defaults (which Terraform nevertheless ignores, see docs/services.md).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import cached_property

from config.model import is_private_range
from framework import Construct, TerraformResourceLifecycle
from framework.aws import aws
from modules.card_numbers import BLOCKING_REGEX
from modules.observability.metrics import LoadBalancerMetrics, Metric, WebAclMetrics
from modules.private_bucket import PrivateBucket, log_expiry_rule

#: TLS 1.3 with TLS 1.2 fallback, forward secrecy only.
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
HTTPS_PORT = 443
HTTP_PORT = 80
DESYNC_MITIGATION_MODES = ("defensive", "strictest")

#: The web ACL's first rule: blocks a request whose URL path or query string
#: holds a card number (D77). First, so that every such request is counted
#: by its metric (and alarmed) whichever other rule would also block it.
CARD_NUMBER_RULE = "card-number-in-url"
#: Where the card-number rule looks, each URL-decoded once first
#: (``URL_DECODE``: a client's ``%34%31...`` is digits again; AWS WAF
#: developer guide, "Text transformation options":
#: https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-transformation.html;
#: "Request components": https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-fields-list.html).
CARD_NUMBER_FIELDS = ("uri_path", "query_string")
#: AWS managed rule groups of the web ACL, in evaluation order after the
#: card-number rule.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)


def _is_private_literal(cidr: str) -> bool:
    """A literal IPv4 range inside private space (references are not judged)."""
    try:
        return is_private_range(ipaddress.IPv4Network(cidr, strict=False))
    except ValueError:
        return False


def _fixed_404() -> list:
    lb = aws.lb_listener
    return [
        lb.LbListenerDefaultAction(
            type="fixed-response",
            fixed_response=lb.LbListenerDefaultActionFixedResponse(
                content_type="text/plain", message_body="Not Found", status_code="404"
            ),
        )
    ]


#: Request headers WAF logs only as REDACTED (lower case: WAF matches header
#: names case-insensitively, the API stores them as given).
REDACTED_HEADERS = ("authorization", "cookie")


@dataclass(frozen=True, kw_only=True)
class AccessLogBucketProps:
    """``bucket_name``: globally unique name. ``expiry_days``: age at which
    log objects (and old versions) are deleted. ``elb_account_arn``: the
    regional Elastic Load Balancing account that writes the logs in regions
    older than 2022 (``data.aws_elb_service_account``); newer regions use the
    log delivery service principal, which is always allowed too.
    """

    bucket_name: str
    expiry_days: int
    elb_account_arn: str
    #: The account whose load balancers write here: log delivery may write
    #: only below ``alb/AWSLogs/<account_id>/`` (where ELB writes them).
    account_id: str
    #: Object Lock default retention mode of every log object, kept
    #: ``expiry_days``: ``COMPLIANCE`` (nobody, not even the root user, can
    #: delete or shorten it; the production tier) or ``GOVERNANCE`` (principals
    #: with ``s3:BypassGovernanceRetention`` can). Left out: GOVERNANCE.
    object_lock_mode: str = "GOVERNANCE"


class AccessLogBucket(PrivateBucket):
    """S3 bucket for ALB access logs: SSE-S3 (ALB log delivery cannot use
    SSE-KMS), versioned, private, TLS-only, expiring, kept by Terraform, and
    write-once: Object Lock keeps every log object ``expiry_days`` (PCI DSS
    10.3.2-10.3.4).

    Object Lock is turned on on the existing versioned bucket
    (``PrivateBucket.lock_objects``), never by replacing it.
    """

    PREFIX = "alb"

    def __init__(self, scope: Construct, construct_id: str, props: AccessLogBucketProps) -> None:
        super().__init__(
            scope,
            construct_id,
            name=props.bucket_name,
            kms_key_arn=None,
            lifecycle_rule=log_expiry_rule("expire-access-logs", props.expiry_days),
            extra_statements=lambda arn: [
                {
                    "Sid": "ElbAccountWritesLogs",
                    "Effect": "Allow",
                    "Principal": {"AWS": props.elb_account_arn},
                    "Action": "s3:PutObject",
                    "Resource": f"{arn}/{self.PREFIX}/AWSLogs/{props.account_id}/*",
                },
                {
                    "Sid": "LogDeliveryWritesLogs",
                    "Effect": "Allow",
                    "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"{arn}/{self.PREFIX}/AWSLogs/{props.account_id}/*",
                },
            ],
        )
        self.name = self.bucket.bucket
        self.object_lock = self.lock_objects(props.object_lock_mode, props.expiry_days)


@dataclass(frozen=True, kw_only=True)
class WebAclProps:
    """``name``: web ACL name (also the metric prefix). ``logs_key_arn``: CMK
    of the WAF log group. ``log_retention_days``: its retention.
    ``rate_limit_per_ip``: requests per 5 minutes from one IP before it is
    blocked; left out: 2000. ``region``: the web ACL's region (its metrics'
    ``Region`` dimension).
    """

    name: str
    logs_key_arn: str
    log_retention_days: int
    region: str
    rate_limit_per_ip: int = 2000


class WebAcl(Construct):
    """Regional WAFv2 web ACL: a rule blocking card numbers in URLs, AWS
    managed rule groups, a per-IP rate limit, and full request logging to an
    encrypted log group (whose card numbers CloudWatch Logs masks)."""

    def __init__(self, scope: Construct, construct_id: str, props: WebAclProps) -> None:
        super().__init__(scope, construct_id)
        if (
            isinstance(props.rate_limit_per_ip, bool)
            or not isinstance(props.rate_limit_per_ip, int)
            or not 10 <= props.rate_limit_per_ip <= 2_000_000_000
        ):
            raise ValueError(
                f"rate_limit_per_ip: {props.rate_limit_per_ip!r} is not allowed; "
                "use an integer 10-2000000000"
            )
        w = aws.wafv2_web_acl
        #: Its CloudWatch metrics (dimension ``WebACL`` is its name).
        self.metrics = WebAclMetrics(web_acl_name=props.name, region=props.region)

        def visibility(metric: str):
            return w.Wafv2WebAclRuleVisibilityConfig(
                cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
            )

        # The card-number shapes, in AWS WAF's dialect (modules/card_numbers.py).
        # A regex pattern set holds at most 10 patterns of at most 200
        # characters each (AWS WAF quotas:
        # https://docs.aws.amazon.com/waf/latest/developerguide/limits.html).
        self.card_number_patterns = aws.wafv2_regex_pattern_set.Wafv2RegexPatternSet(
            self,
            "card-number-patterns",
            name=f"{props.name}-card-numbers",
            scope="REGIONAL",
            description="Card-number shapes (13-19 digits behind an issuer prefix)",
            regular_expression=[
                aws.wafv2_regex_pattern_set.Wafv2RegexPatternSetRegularExpression(
                    regex_string=BLOCKING_REGEX
                )
            ],
        )
        self.card_number_metric_name = f"{props.name}-{CARD_NUMBER_RULE}"
        # ``statement`` is untyped in the provider bindings (recursive schema),
        # so it is the one place that takes a dict: keys are the Terraform
        # (snake_case) names and pass through unchanged; tests check them.
        # A regex pattern set reference statement matches when any pattern
        # matches the transformed component (AWS WAF developer guide, "Regex
        # pattern set match rule statement":
        # https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-regex-pattern-set-match.html);
        # an OR statement of the two components.
        card_number_rule = w.Wafv2WebAclRule(
            name=CARD_NUMBER_RULE,
            priority=0,
            action=w.Wafv2WebAclRuleAction(block=w.Wafv2WebAclRuleActionBlock()),
            statement={
                "or_statement": {
                    "statement": [
                        {
                            "regex_pattern_set_reference_statement": {
                                "arn": self.card_number_patterns.arn,
                                "field_to_match": {field: {}},
                                "text_transformation": [{"priority": 0, "type": "URL_DECODE"}],
                            }
                        }
                        for field in CARD_NUMBER_FIELDS
                    ]
                }
            },
            # No sampled requests: a sample keeps the URL, card number
            # included, for the console; logging redaction does not apply
            # to samples (VisibilityConfig, SampledRequestsEnabled:
            # https://docs.aws.amazon.com/waf/latest/APIReference/API_VisibilityConfig.html).
            visibility_config=w.Wafv2WebAclRuleVisibilityConfig(
                cloudwatch_metrics_enabled=True,
                metric_name=self.card_number_metric_name,
                sampled_requests_enabled=False,
            ),
        )
        rules = [card_number_rule]
        rules += [
            w.Wafv2WebAclRule(
                name=group,
                priority=1 + index,
                override_action=w.Wafv2WebAclRuleOverrideAction(
                    none=w.Wafv2WebAclRuleOverrideActionNone()
                ),
                statement={"managed_rule_group_statement": {"name": group, "vendor_name": "AWS"}},
                visibility_config=visibility(f"{props.name}-{group}"),
            )
            for index, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rules.append(
            w.Wafv2WebAclRule(
                name="rate-limit-per-ip",
                priority=1 + len(MANAGED_RULE_GROUPS),
                action=w.Wafv2WebAclRuleAction(block=w.Wafv2WebAclRuleActionBlock()),
                statement={
                    "rate_based_statement": {
                        "limit": props.rate_limit_per_ip,
                        "aggregate_key_type": "IP",
                    }
                },
                visibility_config=visibility(f"{props.name}-rate-limit-per-ip"),
            )
        )
        self.web_acl = w.Wafv2WebAcl(
            self,
            "web-acl",
            name=props.name,
            scope="REGIONAL",
            description=f"Protects the load balancers of {props.name}",
            default_action=w.Wafv2WebAclDefaultAction(allow=w.Wafv2WebAclDefaultActionAllow()),
            rule=rules,
            visibility_config=w.Wafv2WebAclVisibilityConfig(
                cloudwatch_metrics_enabled=True,
                metric_name=props.name,
                sampled_requests_enabled=True,
            ),
        )
        self.arn = self.web_acl.arn
        # WAF only delivers to log groups whose name starts with aws-waf-logs-.
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "log-group",
            name=f"aws-waf-logs-{props.name}",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.logs_key_arn,
        )
        wl = aws.wafv2_web_acl_logging_configuration
        self.logging = wl.Wafv2WebAclLoggingConfiguration(
            self,
            "logging",
            resource_arn=self.web_acl.arn,
            log_destination_configs=[self.log_group.arn],
            # Credentials and session cookies never reach the logs (PCI DSS
            # 3.3.1, 8.3.2); WAF replaces the values with REDACTED.
            redacted_fields=[
                wl.Wafv2WebAclLoggingConfigurationRedactedFields(
                    single_header=wl.Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader(
                        name=header
                    )
                )
                for header in REDACTED_HEADERS
            ],
        )

    @cached_property
    def card_number_blocks(self) -> Metric:
        """Requests the card-number rule blocked, for the alarm."""
        return self.metrics.blocked_requests(self.card_number_metric_name)


@dataclass(frozen=True, kw_only=True)
class ApplicationLoadBalancerProps:
    """``name``: ALB name (<= 32 characters). ``internal``: False puts it in
    public subnets with an internet-facing address.
    ``vpc_id``/``subnet_ids``: where it lives.
    ``production_ingress_cidrs``: who may reach the production (and redirect)
    listener. ``test_listener_cidrs``: who may reach the test listener; on
    an internet-facing ALB clients come from public addresses, so private
    ranges are refused there.
    ``test_listener_nat_ips``: public addresses (may be references) of the
    VPC's NAT gateways, admitted on an internet-facing ALB's test listener
    so test hooks running in the VPC reach it; left out: none.
    ``test_listener_port``: port of the test listener CodeDeploy uses.
    ``certificate_arn``: ACM certificate; when set, production is HTTPS:443,
    HTTP:80 only redirects and the test listener is HTTPS too. Left out: plain
    HTTP, which needs ``allow_plain_http`` (an explicit, visible choice).
    ``idle_timeout_seconds``: connection idle timeout; left out: 60.
    ``deletion_protection``: left out: off.
    ``access_logs``: bucket for access logs; left out: no access logs.
    ``web_acl``: WAF web ACL to associate; left out: none.
    ``desync_mitigation_mode``: left out: ``defensive``.
    """

    name: str
    internal: bool
    vpc_id: str
    subnet_ids: list[str]
    production_ingress_cidrs: tuple[str, ...]
    test_listener_cidrs: tuple[str, ...]
    test_listener_port: int
    test_listener_nat_ips: tuple[str, ...] = ()
    certificate_arn: str | None = None
    allow_plain_http: bool = False
    idle_timeout_seconds: int = 60
    deletion_protection: bool = False
    access_logs: AccessLogBucket | None = None
    web_acl: WebAcl | None = None
    desync_mitigation_mode: str = "defensive"


class ApplicationLoadBalancer(Construct):
    """An ALB with production and test listeners and its own security group.

    Attributes: ``lb``, ``security_group``, ``production_listener``,
    ``test_listener``, ``redirect_listener`` (None without a certificate),
    ``production_ports`` (every port clients use in production).
    """

    def __init__(
        self, scope: Construct, construct_id: str, props: ApplicationLoadBalancerProps
    ) -> None:
        super().__init__(scope, construct_id)
        self._validate(props)
        self.props = props
        self.internal = props.internal
        self.https = props.certificate_arn is not None
        self.security_group = aws.security_group.SecurityGroup(
            self,
            "security-group",
            name=f"{props.name}-alb",
            description=f"{'Internal' if props.internal else 'Internet-facing'} ALB {props.name}",
            vpc_id=props.vpc_id,
        )
        self.security_group_id = self.security_group.id
        lb_kwargs = {}
        if props.access_logs is not None:
            lb_kwargs["access_logs"] = aws.lb.LbAccessLogs(
                bucket=props.access_logs.name, prefix=AccessLogBucket.PREFIX, enabled=True
            )
        self.lb = aws.lb.Lb(
            self,
            "alb",
            name=props.name,
            internal=props.internal,
            load_balancer_type="application",
            security_groups=[self.security_group_id],
            subnets=props.subnet_ids,
            drop_invalid_header_fields=True,
            desync_mitigation_mode=props.desync_mitigation_mode,
            enable_deletion_protection=props.deletion_protection,
            idle_timeout=props.idle_timeout_seconds,
            enable_http2=True,
            depends_on=[props.access_logs.policy] if props.access_logs is not None else None,
            **lb_kwargs,
        )
        self.arn = self.lb.arn
        self.arn_suffix = self.lb.arn_suffix
        self.dns_name = self.lb.dns_name
        # CodeDeploy may rewrite default actions; Terraform must not revert them.
        ignore_default = TerraformResourceLifecycle(ignore_changes=["default_action"])
        tls = (
            dict(ssl_policy=TLS_POLICY, certificate_arn=props.certificate_arn) if self.https else {}
        )
        protocol = "HTTPS" if self.https else "HTTP"
        self.production_port = HTTPS_PORT if self.https else HTTP_PORT

        def listener(construct_id: str, port: int):
            """Production and test listener: same protocol, TLS and 404 default."""
            return aws.lb_listener.LbListener(
                self,
                construct_id,
                load_balancer_arn=self.arn,
                port=port,
                protocol=protocol,
                default_action=_fixed_404(),
                lifecycle=ignore_default,
                **tls,
            )

        self.production_listener = listener("production-listener", self.production_port)
        self.production_listener_arn = self.production_listener.arn
        self.test_listener = listener("test-listener", props.test_listener_port)
        self.test_listener_arn = self.test_listener.arn
        self.redirect_listener = None
        self.production_ports: tuple[int, ...] = (self.production_port,)
        if self.https:
            lbl = aws.lb_listener
            self.redirect_listener = lbl.LbListener(
                self,
                "http-redirect-listener",
                load_balancer_arn=self.arn,
                port=HTTP_PORT,
                protocol="HTTP",
                default_action=[
                    lbl.LbListenerDefaultAction(
                        type="redirect",
                        redirect=lbl.LbListenerDefaultActionRedirect(
                            protocol="HTTPS", port=str(HTTPS_PORT), status_code="HTTP_301"
                        ),
                    )
                ],
            )
            self.production_ports = (HTTPS_PORT, HTTP_PORT)
        self._ingress(props)
        if props.web_acl is not None:
            aws.wafv2_web_acl_association.Wafv2WebAclAssociation(
                self,
                "web-acl-association",
                resource_arn=self.arn,
                web_acl_arn=props.web_acl.arn,
            )

    @staticmethod
    def _validate(props: ApplicationLoadBalancerProps) -> None:
        problems = []
        if not isinstance(props.name, str) or not 1 <= len(props.name) <= 32:
            problems.append(f"name: {props.name!r} is not allowed; use 1-32 characters")
        if props.certificate_arn is None and not props.allow_plain_http:
            problems.append(
                "certificate_arn: None needs allow_plain_http=True; "
                "allowed: an ACM certificate ARN, or an explicit plain-HTTP opt-in"
            )
        if props.desync_mitigation_mode not in DESYNC_MITIGATION_MODES:
            problems.append(
                f"desync_mitigation_mode: {props.desync_mitigation_mode!r} is not "
                f"allowed; allowed: {', '.join(DESYNC_MITIGATION_MODES)}"
            )
        if props.test_listener_port in (HTTP_PORT, HTTPS_PORT):
            problems.append(
                f"test_listener_port: {props.test_listener_port} is not allowed; "
                "80 and 443 belong to production"
            )
        if not props.test_listener_cidrs and not props.test_listener_nat_ips:
            problems.append(
                "test_listener_cidrs: empty is not allowed without "
                "test_listener_nat_ips; name who may test"
            )
        if props.internal and props.test_listener_nat_ips:
            problems.append(
                "test_listener_nat_ips: not allowed on an internal ALB; callers in "
                "the VPC reach it on private addresses (admit the VPC range)"
            )
        if not props.internal:
            private = [c for c in props.test_listener_cidrs if _is_private_literal(c)]
            if private:
                problems.append(
                    f"test_listener_cidrs: {', '.join(private)} not allowed on an internet-"
                    "facing ALB; clients reach it from public addresses (give public egress "
                    "ranges; in-VPC callers come through test_listener_nat_ips)"
                )
        if problems:
            raise ValueError(f"ApplicationLoadBalancer {props.name!r}: " + "; ".join(problems))

    def _ingress(self, props: ApplicationLoadBalancerProps) -> None:
        rule = aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule
        for port in self.production_ports:
            for index, cidr in enumerate(props.production_ingress_cidrs):
                rule(
                    self,
                    f"production-{port}-in-{index}",
                    security_group_id=self.security_group_id,
                    description=f"Production listener {port} from {cidr}",
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    cidr_ipv4=cidr,
                )
        port = props.test_listener_port
        for index, cidr in enumerate(props.test_listener_cidrs):
            rule(
                self,
                f"test-in-{index}",
                security_group_id=self.security_group_id,
                description=f"Test listener {port} from {cidr}",
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4=cidr,
            )
        for index, address in enumerate(props.test_listener_nat_ips):
            rule(
                self,
                f"test-from-nat-{index}",
                security_group_id=self.security_group_id,
                description=f"Test listener {port} from NAT gateway {index} (test hooks in the VPC)",
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4=f"{address}/32",
            )

    @cached_property
    def metrics(self) -> LoadBalancerMetrics:
        """Its CloudWatch metrics, for alarms and dashboards."""
        return LoadBalancerMetrics(load_balancer_arn_suffix=self.arn_suffix)

    def allow_egress_to(
        self,
        scope: Construct,
        construct_id: str,
        security_group_id: str,
        port: int,
        description: str,
    ):
        """Lets this ALB reach ``security_group_id`` on ``port`` (its only
        egress); the rule lives in ``scope``, i.e. with the service."""
        return aws.vpc_security_group_egress_rule.VpcSecurityGroupEgressRule(
            scope,
            construct_id,
            security_group_id=self.security_group_id,
            description=description,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            referenced_security_group_id=security_group_id,
        )
