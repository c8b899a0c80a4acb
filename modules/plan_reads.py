"""What a plan reads: every Terraform resource and data source type the
stacks declare, mapped to the IAM actions the AWS provider's Read calls
(docs/decisions.md D57).

A pull request's plan refreshes every resource of its stacks: the
provider's Read function of each type (and the finders it calls) makes the
API calls below, as the plan role. One row per type, keyed by its Terraform
address form (``aws_x`` for a resource, ``data.aws_x`` for a data source),
with exactly one source: the provider file whose Read makes the calls
(``internal/service/...``, hashicorp/terraform-provider-aws, with
``read_at``: the commit it was read at, mostly ``V5_46_DEV``; the stacks
pin ``PROVIDER_REF``) or an AWS/HashiCorp documentation URL. Actions a row
keeps without the read source calling them are listed in its ``unread``.
API names are
written as the IAM action that authorizes them (Service Authorization
Reference), e.g. HeadBucket is ``s3:ListBucket`` and GetBucketEncryption is
``s3:GetEncryptionConfiguration``. Tag reads (ListTagsForResource,
ListTags, ListResourceTags, DescribeTags) are included where the provider
reads tags with a separate call.

``on`` says which resource the actions need: ``account`` (the plan role's
policy must allow them on any resource of the account), ``bucket`` (on every
bucket the environment's stacks manage; each bucket policy must not deny
them), ``key`` (on every key; each key policy must also allow them, since a
KMS key policy is required for any access) or ``state`` (the state objects).

To add a type: add its row here (the test failing names the type), then run
tests/test_plan_reads.py; it checks the plan role and the resource policies
allow every action (docs/ci.md "Adding a resource type").
"""

from __future__ import annotations

from dataclasses import dataclass

#: The provider release the stacks pin (cdktf.json's hashicorp/aws ~> 6.25.0);
#: the rows were read at older commits (``Reads.read_at``, D57 "Sources").
PROVIDER_REF = "hashicorp/terraform-provider-aws v6.25.0"


#: The provider commit most rows were read at: an upstream merge commit
#: (PR #36956, 2024-04-17; its CHANGELOG heads "5.46.0 (Unreleased)"), read
#: with git in the snapshot of the fork nuno407/terraform-provider-aws that
#: the search tool's ``fetch`` brought here. hashicorp's own snapshot (932 MB)
#: and every fork from the v6 era are over the fetch limit (D57 "Sources").
V5_46_DEV = "1a5174b137bb"


@dataclass(frozen=True)
class Reads:
    """``actions``: IAM actions the Read calls. ``source``: the provider
    file (``internal/service/<svc>/<file>.go``) or an https URL. ``on``:
    ``account`` | ``bucket`` | ``key`` | ``state`` (module docstring).
    ``read_at``: the provider commit (12+ hex) ``source`` was read at;
    empty for a URL. ``unread``: actions the row keeps although the source
    read does not call them (v6 calls remembered, not yet read at v6.25.0;
    each row says why), a subset of ``actions``."""

    actions: tuple[str, ...]
    source: str
    on: str = "account"
    read_at: str = ""
    unread: tuple[str, ...] = ()


def _bucket(*actions: str, source: str) -> Reads:
    return Reads(
        tuple(f"s3:{a}" for a in actions),
        f"internal/service/s3/{source}.go",
        "bucket",
        V5_46_DEV,
    )


def _ec2(*actions: str, source: str, unread: tuple[str, ...] = ()) -> Reads:
    return Reads(
        tuple(f"ec2:{a}" for a in actions),
        f"internal/service/ec2/{source}.go",
        read_at=V5_46_DEV,
        unread=tuple(f"ec2:{a}" for a in unread),
    )


def _svc(
    service: str,
    directory: str,
    source: str,
    *actions: str,
    read_at: str = V5_46_DEV,
    unread: tuple[str, ...] = (),
) -> Reads:
    return Reads(
        tuple(f"{service}:{a}" for a in actions),
        f"internal/service/{directory}/{source}.go",
        read_at=read_at,
        unread=tuple(f"{service}:{a}" for a in unread),
    )


#: Terraform address form -> what its Read calls.
PLAN_READS: dict[str, Reads] = {
    # IAM Access Analyzer (D66): resourceAnalyzerRead's findAnalyzerByName
    # calls GetAnalyzer, and setTagsOut takes the tags from its answer (no
    # ListTagsForResource).
    "aws_accessanalyzer_analyzer": _svc(
        "access-analyzer", "accessanalyzer", "analyzer", "GetAnalyzer"
    ),
    # resourceArchiveRuleRead's findArchiveRuleByTwoPartKey calls
    # GetArchiveRule; an archive rule has no tags (D66).
    "aws_accessanalyzer_archive_rule": _svc(
        "access-analyzer", "accessanalyzer", "archive_rule", "GetArchiveRule"
    ),
    # Application Auto Scaling
    "aws_appautoscaling_policy": _svc(
        "application-autoscaling", "appautoscaling", "policy", "DescribeScalingPolicies"
    ),
    "aws_appautoscaling_target": _svc(
        "application-autoscaling",
        "appautoscaling",
        "target",
        "DescribeScalableTargets",
        "ListTagsForResource",
    ),
    # AWS Backup
    "aws_backup_plan": _svc("backup", "backup", "plan", "GetBackupPlan", "ListTags"),
    # Not in the v5.46 tree: read in the search index. The plan's stored
    # version is a pre-merge SDK v1 one (GetRestoreTestingPlan; tags by
    # the service's ListTags); the selection's is the framework resource.
    "aws_backup_restore_testing_plan": _svc(
        "backup",
        "backup",
        "restore_testing_plan",
        "GetRestoreTestingPlan",
        "ListTags",
        read_at="667c7b9aa226",
    ),
    "aws_backup_restore_testing_selection": _svc(
        "backup",
        "backup",
        "restore_testing_selection",
        "GetRestoreTestingSelection",
        read_at="1f7d3e5c106e",
    ),
    "aws_backup_selection": _svc("backup", "backup", "selection", "GetBackupSelection"),
    "aws_backup_vault": _svc("backup", "backup", "vault", "DescribeBackupVault", "ListTags"),
    "aws_backup_vault_lock_configuration": _svc(
        "backup", "backup", "vault_lock_configuration", "DescribeBackupVault"
    ),
    "aws_backup_vault_policy": _svc(
        "backup", "backup", "vault_policy", "GetBackupVaultAccessPolicy"
    ),
    # CloudTrail (cloudtrail.go at v5.46, trail.go later): DescribeTrails,
    # GetTrailStatus, GetEventSelectors, GetInsightSelectors; tags by ListTags.
    "aws_cloudtrail": _svc(
        "cloudtrail",
        "cloudtrail",
        "cloudtrail",
        "DescribeTrails",
        "GetEventSelectors",
        "GetInsightSelectors",
        "GetTrailStatus",
        "ListTags",
    ),
    # CloudWatch, EventBridge, CloudWatch Logs
    "aws_cloudwatch_dashboard": _svc("cloudwatch", "cloudwatch", "dashboard", "GetDashboard"),
    "aws_cloudwatch_metric_alarm": _svc(
        "cloudwatch", "cloudwatch", "metric_alarm", "DescribeAlarms", "ListTagsForResource"
    ),
    "aws_cloudwatch_event_rule": _svc(
        "events", "events", "rule", "DescribeRule", "ListTagsForResource"
    ),
    "aws_cloudwatch_event_target": _svc("events", "events", "target", "ListTargetsByRule"),
    "aws_cloudwatch_log_data_protection_policy": _svc(
        "logs", "logs", "data_protection_policy", "GetDataProtectionPolicy"
    ),
    # v5.46 reads the tags with ListTagsLogGroup in the Read; the v6
    # ListTagsForResource (by ARN) is kept, unread.
    "aws_cloudwatch_log_group": _svc(
        "logs",
        "logs",
        "group",
        "DescribeLogGroups",
        "ListTagsForResource",
        "ListTagsLogGroup",
        unread=("ListTagsForResource",),
    ),
    # findMetricFilterByTwoPartKey: DescribeMetricFilters; no tags (D75).
    "aws_cloudwatch_log_metric_filter": _svc(
        "logs", "logs", "metric_filter", "DescribeMetricFilters"
    ),
    "aws_cloudwatch_log_resource_policy": _svc(
        "logs", "logs", "resource_policy", "DescribeResourcePolicies"
    ),
    "aws_cloudwatch_log_subscription_filter": _svc(
        "logs", "logs", "subscription_filter", "DescribeSubscriptionFilters"
    ),
    # CodeDeploy
    "aws_codedeploy_app": _svc(
        "codedeploy", "deploy", "app", "GetApplication", "ListTagsForResource"
    ),
    "aws_codedeploy_deployment_group": _svc(
        "codedeploy", "deploy", "deployment_group", "GetDeploymentGroup", "ListTagsForResource"
    ),
    # AWS Config
    "aws_config_configuration_recorder": _svc(
        "config", "configservice", "configuration_recorder", "DescribeConfigurationRecorders"
    ),
    "aws_config_configuration_recorder_status": _svc(
        "config",
        "configservice",
        "configuration_recorder_status",
        "DescribeConfigurationRecorderStatus",
    ),
    "aws_config_delivery_channel": _svc(
        "config", "configservice", "delivery_channel", "DescribeDeliveryChannels"
    ),
    # RDS: tags of the cluster and instance come with their Describe call.
    "aws_db_subnet_group": _svc(
        "rds", "rds", "subnet_group", "DescribeDBSubnetGroups", "ListTagsForResource"
    ),
    "aws_rds_cluster": _svc(
        "rds", "rds", "cluster", "DescribeDBClusters", "DescribeGlobalClusters"
    ),
    # The writer flag comes from the cluster's members.
    "aws_rds_cluster_instance": _svc(
        "rds", "rds", "cluster_instance", "DescribeDBInstances", "DescribeDBClusters"
    ),
    "aws_rds_cluster_parameter_group": _svc(
        "rds",
        "rds",
        "cluster_parameter_group",
        "DescribeDBClusterParameterGroups",
        "DescribeDBClusterParameters",
        "ListTagsForResource",
    ),
    # EC2 and VPC: tags come with each Describe call.
    "aws_default_security_group": _ec2(
        "DescribeSecurityGroups", source="vpc_default_security_group"
    ),
    # v5.46 calls DescribeAddresses only; DescribeAddressesAttribute (the
    # PTR record) is a later call, kept unread.
    "aws_eip": _ec2(
        "DescribeAddresses",
        "DescribeAddressesAttribute",
        source="ec2_eip",
        unread=("DescribeAddressesAttribute",),
    ),
    "aws_flow_log": _ec2("DescribeFlowLogs", source="vpc_flow_log"),
    "aws_internet_gateway": _ec2("DescribeInternetGateways", source="vpc_internet_gateway"),
    "aws_nat_gateway": _ec2("DescribeNatGateways", source="vpc_nat_gateway"),
    "aws_route": _ec2("DescribeRouteTables", source="vpc_route"),
    "aws_route_table": _ec2("DescribeRouteTables", source="vpc_route_table"),
    "aws_route_table_association": _ec2(
        "DescribeRouteTables", source="vpc_route_table_association"
    ),
    "aws_security_group": _ec2("DescribeSecurityGroups", source="vpc_security_group"),
    "aws_subnet": _ec2("DescribeSubnets", source="vpc_subnet"),
    # The VPC's attributes, main route table, default security group and
    # default network ACL.
    "aws_vpc": _ec2(
        "DescribeNetworkAcls",
        "DescribeRouteTables",
        "DescribeSecurityGroups",
        "DescribeVpcAttribute",
        "DescribeVpcs",
        source="vpc_",
    ),
    # A gateway endpoint's prefix list.
    "aws_vpc_endpoint": _ec2("DescribePrefixLists", "DescribeVpcEndpoints", source="vpc_endpoint"),
    "aws_vpc_security_group_egress_rule": _ec2(
        "DescribeSecurityGroupRules", source="vpc_security_group_egress_rule"
    ),
    "aws_vpc_security_group_ingress_rule": _ec2(
        "DescribeSecurityGroupRules", source="vpc_security_group_ingress_rule"
    ),
    # ECR
    "aws_ecr_lifecycle_policy": _svc("ecr", "ecr", "lifecycle_policy", "GetLifecyclePolicy"),
    "aws_ecr_pull_through_cache_rule": _svc(
        "ecr", "ecr", "pull_through_cache_rule", "DescribePullThroughCacheRules"
    ),
    "aws_ecr_repository": _svc(
        "ecr", "ecr", "repository", "DescribeRepositories", "ListTagsForResource"
    ),
    # ECS: tags come with the Describe call (include TAGS).
    "aws_ecs_cluster": _svc("ecs", "ecs", "cluster", "DescribeClusters"),
    "aws_ecs_cluster_capacity_providers": _svc(
        "ecs", "ecs", "cluster_capacity_providers", "DescribeClusters"
    ),
    "aws_ecs_service": _svc("ecs", "ecs", "service", "DescribeServices"),
    "aws_ecs_task_definition": _svc("ecs", "ecs", "task_definition", "DescribeTaskDefinition"),
    # GuardDuty: at v5.46 the detector's tags come with GetDetector (the
    # Read sets them); ListTagsForResource is kept, unread.
    "aws_guardduty_detector": _svc(
        "guardduty",
        "guardduty",
        "detector",
        "GetDetector",
        "ListTagsForResource",
        unread=("ListTagsForResource",),
    ),
    "aws_guardduty_detector_feature": _svc(
        "guardduty", "guardduty", "detector_feature", "GetDetector"
    ),
    # IAM: tags come with each Get call.
    "aws_iam_openid_connect_provider": _svc(
        "iam", "iam", "openid_connect_provider", "GetOpenIDConnectProvider"
    ),
    "data.aws_iam_openid_connect_provider": _svc(
        "iam",
        "iam",
        "openid_connect_provider_data_source",
        "GetOpenIDConnectProvider",
        "ListOpenIDConnectProviders",
    ),
    "aws_iam_policy": _svc("iam", "iam", "policy", "GetPolicy", "GetPolicyVersion"),
    # The inline and managed policy sets (inline_policy, managed_policy_arns).
    "aws_iam_role": _svc(
        "iam",
        "iam",
        "role",
        "GetRole",
        "GetRolePolicy",
        "ListAttachedRolePolicies",
        "ListRolePolicies",
    ),
    "aws_iam_role_policy": _svc("iam", "iam", "role_policy", "GetRolePolicy"),
    "aws_iam_role_policy_attachment": _svc(
        "iam", "iam", "role_policy_attachment", "ListAttachedRolePolicies"
    ),
    # KMS: the key policy must allow these too (on="key").
    "aws_kms_alias": _svc("kms", "kms", "alias", "ListAliases"),
    "aws_kms_key": Reads(
        (
            "kms:DescribeKey",
            "kms:GetKeyPolicy",
            "kms:GetKeyRotationStatus",
            "kms:ListResourceTags",
        ),
        "internal/service/kms/key.go",
        "key",
        V5_46_DEV,
    ),
    # Lambda: tags come with GetFunction.
    "aws_lambda_function": _svc(
        "lambda",
        "lambda",
        "function",
        "GetFunction",
        "GetFunctionCodeSigningConfig",
        "ListVersionsByFunction",
    ),
    "aws_lambda_permission": _svc("lambda", "lambda", "permission", "GetPolicy"),
    # Elastic Load Balancing v2: tags by DescribeTags. The capacity
    # reservation (minimum_load_balancer_capacity) and listener attributes
    # are read by releases after v5.46: kept, unread.
    "aws_lb": _svc(
        "elasticloadbalancing",
        "elbv2",
        "load_balancer",
        "DescribeCapacityReservation",
        "DescribeLoadBalancerAttributes",
        "DescribeLoadBalancers",
        "DescribeTags",
        unread=("DescribeCapacityReservation",),
    ),
    "aws_lb_listener": _svc(
        "elasticloadbalancing",
        "elbv2",
        "listener",
        "DescribeListenerAttributes",
        "DescribeListeners",
        "DescribeTags",
        unread=("DescribeListenerAttributes",),
    ),
    "aws_lb_listener_rule": _svc(
        "elasticloadbalancing", "elbv2", "listener_rule", "DescribeRules", "DescribeTags"
    ),
    "aws_lb_target_group": _svc(
        "elasticloadbalancing",
        "elbv2",
        "target_group",
        "DescribeTags",
        "DescribeTargetGroupAttributes",
        "DescribeTargetGroups",
    ),
    # S3: the bucket's Read reads every sub-configuration; HeadBucket
    # (existence and region) is s3:ListBucket.
    "aws_s3_bucket": _bucket(
        "ListBucket",
        "GetAccelerateConfiguration",
        "GetBucketAcl",
        "GetBucketCORS",
        "GetBucketLogging",
        "GetBucketObjectLockConfiguration",
        "GetBucketPolicy",
        "GetBucketRequestPayment",
        "GetBucketTagging",
        "GetBucketVersioning",
        "GetBucketWebsite",
        "GetEncryptionConfiguration",
        "GetLifecycleConfiguration",
        "GetReplicationConfiguration",
        source="bucket",
    ),
    "aws_s3_bucket_lifecycle_configuration": _bucket(
        "GetLifecycleConfiguration", source="bucket_lifecycle_configuration"
    ),
    "aws_s3_bucket_logging": _bucket("GetBucketLogging", source="bucket_logging"),
    "aws_s3_bucket_object_lock_configuration": _bucket(
        "GetBucketObjectLockConfiguration", source="bucket_object_lock_configuration"
    ),
    "aws_s3_bucket_ownership_controls": _bucket(
        "GetBucketOwnershipControls", source="bucket_ownership_controls"
    ),
    "aws_s3_bucket_policy": _bucket("GetBucketPolicy", source="bucket_policy"),
    "aws_s3_bucket_public_access_block": _bucket(
        "GetBucketPublicAccessBlock", source="bucket_public_access_block"
    ),
    # GetBucketReplication is authorized by s3:GetReplicationConfiguration.
    "aws_s3_bucket_replication_configuration": _bucket(
        "GetReplicationConfiguration", source="bucket_replication_configuration"
    ),
    "aws_s3_bucket_server_side_encryption_configuration": _bucket(
        "GetEncryptionConfiguration", source="bucket_server_side_encryption_configuration"
    ),
    "aws_s3_bucket_versioning": _bucket("GetBucketVersioning", source="bucket_versioning"),
    # Secrets Manager: the secret's settings and policy, never its value.
    "aws_secretsmanager_secret": _svc(
        "secretsmanager", "secretsmanager", "secret", "DescribeSecret", "GetResourcePolicy"
    ),
    "aws_secretsmanager_secret_policy": _svc(
        "secretsmanager", "secretsmanager", "secret_policy", "GetResourcePolicy"
    ),
    # Security Hub
    "aws_securityhub_account": _svc("securityhub", "securityhub", "account", "DescribeHub"),
    "aws_securityhub_standards_subscription": _svc(
        "securityhub", "securityhub", "standards_subscription", "GetEnabledStandards"
    ),
    # Cloud Map
    "aws_service_discovery_private_dns_namespace": _svc(
        "servicediscovery",
        "servicediscovery",
        "private_dns_namespace",
        "GetNamespace",
        "ListTagsForResource",
    ),
    "aws_service_discovery_service": _svc(
        "servicediscovery", "servicediscovery", "service", "GetService", "ListTagsForResource"
    ),
    # SNS
    "aws_sns_topic": _svc("sns", "sns", "topic", "GetTopicAttributes", "ListTagsForResource"),
    "aws_sns_topic_policy": _svc("sns", "sns", "topic_policy", "GetTopicAttributes"),
    "aws_sns_topic_subscription": _svc(
        "sns", "sns", "topic_subscription", "GetSubscriptionAttributes"
    ),
    # WAF
    "aws_wafv2_web_acl": _svc("wafv2", "wafv2", "web_acl", "GetWebACL", "ListTagsForResource"),
    # resourceRegexPatternSetRead's FindRegexPatternSetByThreePartKey calls
    # GetRegexPatternSet; tags by the transparent tagging (ListTagsForResource),
    # as for the web ACL.
    "aws_wafv2_regex_pattern_set": _svc(
        "wafv2", "wafv2", "regex_pattern_set", "GetRegexPatternSet", "ListTagsForResource"
    ),
    "aws_wafv2_web_acl_association": _svc(
        "wafv2", "wafv2", "web_acl_association", "GetWebACLForResource"
    ),
    "aws_wafv2_web_acl_logging_configuration": _svc(
        "wafv2", "wafv2", "web_acl_logging_configuration", "GetLoggingConfiguration"
    ),
    # Data sources. GetCallerIdentity needs no permission (STS API reference).
    "data.aws_caller_identity": Reads(
        (), "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html"
    ),
    # The partition and the ELB accounts are tables inside the provider.
    "data.aws_partition": Reads(
        (), "internal/service/meta/partition_data_source.go", read_at=V5_46_DEV
    ),
    "data.aws_elb_service_account": Reads(
        (), "internal/service/elb/service_account_data_source.go", read_at=V5_46_DEV
    ),
    # An upstream stack's state, through the S3 backend (its permissions).
    "data.terraform_remote_state": Reads(
        ("s3:GetObject",),
        "https://developer.hashicorp.com/terraform/language/backend/s3#permissions-required",
        "state",
    ),
}

#: Rows no shipped, example or realistic configuration declares: the type
#: is declared only with settings those leave out (each reason names the
#: setting; tests/test_plan_reads.py checks the code still declares it).
OPTIONAL: dict[str, str] = {
    "aws_cloudwatch_log_subscription_filter": (
        "security_baseline.log_archive_destination_arn (modules/log_archive.py)"
    ),
    "data.aws_iam_openid_connect_provider": (
        "environments sharing an account: the second looks the GitHub provider up "
        "(modules/github_oidc.py)"
    ),
}


def address(kind: str, terraform_type: str) -> str:
    """``aws_x`` for a resource, ``data.aws_x`` for a data source."""
    return terraform_type if kind == "resource" else f"data.{terraform_type}"


def declared(stack: dict) -> set[str]:
    """The addresses (``address``) of every type a synthesized stack declares."""
    return {
        address(kind, terraform_type)
        for kind in ("resource", "data")
        for terraform_type in stack.get(kind, {})
    }
