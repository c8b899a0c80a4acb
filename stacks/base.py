"""The one place that wires provider, default tags and state for every stack.

Every stack of an environment derives from ``PlatformStack``: it gets the
AWS provider with default tags and ``allowed_account_ids``, and a remote S3
backend with a key unique per stack, encryption and S3-native locking
(``use_lockfile``; DynamoDB locking is deprecated since Terraform 1.11).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import jsii

from config import EnvironmentConfig
from config.naming import (
    PIPELINE_APPLIED_PARTS,
    PROJECT,
    card_data_findings_log_group,
    permissions_boundary_name,
    stack_name,
    state_key,
    state_key_alias,
)
from framework import (
    Aspects,
    Construct,
    IAspect,
    IConstruct,
    LocalBackend,
    S3Backend,
    TerraformStack,
)
from framework.aws import aws
from guardrails.rules import RuleContext
from guardrails.rules import register as register_contract_rules
from modules.observability.data_protection import protect_card_data
from modules.observability.metrics import card_data_findings

#: S3-native state locking (``use_lockfile``) needs Terraform 1.11.
REQUIRED_TERRAFORM_VERSION = ">= 1.11"


@jsii.implements(IAspect)
class ProtectAuditLogs:
    """Production tier: Terraform never destroys a log group (PCI DSS 10.5.1 keeps a
    year of audit trail), whichever module created it."""

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, aws.cloudwatch_log_group.CloudwatchLogGroup):
            node.add_override("lifecycle.prevent_destroy", True)


@jsii.implements(IAspect)
class BoundRoles:
    """Every role of a stack the deploy role applies carries the
    environment's permissions boundary (bootstrap stack): the deploy role
    may create and change roles only with it (docs/decisions.md D49),
    whichever module created them."""

    def __init__(self, boundary_arn: str) -> None:
        self.boundary_arn = boundary_arn

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, aws.iam_role.IamRole):
            node.permissions_boundary = self.boundary_arn


class EnvironmentStack(TerraformStack):
    """A stack of one environment with the AWS provider configured."""

    def __init__(self, scope: Construct, env: EnvironmentConfig, part: str) -> None:
        super().__init__(scope, stack_name(env, part))
        self.env = env
        self.part = part
        self.add_override("terraform.required_version", REQUIRED_TERRAFORM_VERSION)
        self._aws_provider("aws", env.region)
        self._regional_providers: dict[str, Any] = {}
        # Contract rules (docs/rules.md) run at synth and fail it on a violation.
        register_contract_rules(self, RuleContext.for_environment(env))
        if env.is_production:
            Aspects.of(self).add(ProtectAuditLogs())
        if part in PIPELINE_APPLIED_PARTS:
            Aspects.of(self).add(BoundRoles(self.permissions_boundary_arn))

    def _aws_provider(self, construct_id: str, region: str, alias: str | None = None) -> Any:
        """The AWS provider of this environment in ``region``: the same
        account check and default tags whatever the region."""
        env = self.env
        return aws.provider.AwsProvider(
            self,
            construct_id,
            region=region,
            alias=alias,
            allowed_account_ids=[env.account_id] if env.account_id else None,
            default_tags=[
                aws.provider.AwsProviderDefaultTags(
                    tags={
                        "project": PROJECT,
                        "environment": env.name,
                        "managed-by": "cdktf",
                        "cost-center": env.cost_center,
                        "stack": stack_name(env, self.part),
                    }
                )
            ],
        )

    def provider_in(self, region: str) -> Any:
        """An aliased provider for another region of the environment's account
        (the alias is the region's name), created once per stack. Resources
        there take it as ``provider=``."""
        if region == self.env.region:
            raise ValueError(f"provider_in: {region} is the stack's own region; use the default")
        if region not in self._regional_providers:
            self._regional_providers[region] = self._aws_provider(f"aws-{region}", region, region)
        return self._regional_providers[region]

    @property
    def permissions_boundary_arn(self) -> str:
        """The environment's workload boundary (created by its bootstrap stack)."""
        name = permissions_boundary_name(self.env)
        return f"arn:{self.partition}:iam::{self.account_id}:policy/{name}"

    @cached_property
    def account_id(self) -> str:
        """The configured account id, else the caller's (read at plan time).
        Computed once, so the caller-identity data source exists at most once."""
        if self.env.account_id:
            return self.env.account_id
        return aws.data_aws_caller_identity.DataAwsCallerIdentity(self, "current").account_id

    @cached_property
    def partition(self) -> str:
        """The partition (read at plan time); one data source per stack."""
        return aws.data_aws_partition.DataAwsPartition(self, "partition").partition


def use_state_bucket(stack: TerraformStack, env: EnvironmentConfig, part: str) -> None:
    """The environment's S3 backend on ``stack``: its own key, the state key,
    S3-native locking. The one place every remote backend is written."""
    S3Backend(
        stack,
        bucket=env.state_bucket,
        key=state_key(env, part),
        region=env.backend_region,
        encrypt=True,
        # Without it Terraform writes state and lock objects with SSE-S3,
        # overriding the bucket's KMS default (S3 backend docs, kms_key_id).
        # A literal: backend values cannot be references.
        kms_key_id=state_key_alias(env),
    )
    # cdktf 0.21's S3Backend has no use_lockfile; Terraform >= 1.11 does.
    stack.add_override("terraform.backend.s3.use_lockfile", True)


class PlatformStack(EnvironmentStack):
    """An environment stack whose state lives in the S3 bucket, locked."""

    def __init__(self, scope: Construct, env: EnvironmentConfig, part: str) -> None:
        super().__init__(scope, env, part)
        use_state_bucket(self, env, part)

    def mask_card_data(self, logs_key_arn: str) -> None:
        """Card data that reaches a log group of this stack is masked, and
        its audit findings kept in the stack's findings group under the
        logs key (PAY-LOG-001, docs/pci-responsibility.md 3.3.1, D59); in
        the production tier each finding counts in ``card_data_findings``,
        which the services stack's alarm reads (D75). Call it once the
        stack is built."""
        protect_card_data(
            self,
            f"{self.env.prefix}-card-data",
            findings_log_group_name=card_data_findings_log_group(self.node.id),
            kms_key_arn=logs_key_arn,
            retention_days=self.env.log_retention_days,
            findings_metric=(
                card_data_findings(self.env.prefix) if self.env.is_production else None
            ),
        )


class LocalStateStack(EnvironmentStack):
    """The state bootstrap: local state until its bucket exists (chicken and
    egg), then, with ``env.bootstrap_state == "s3"``, in that bucket like
    every other stack (migrated with ``cdktf deploy ... --migrate-state``)."""

    def __init__(self, scope: Construct, env: EnvironmentConfig, part: str) -> None:
        super().__init__(scope, env, part)
        if env.bootstrap_state == "s3":
            use_state_bucket(self, env, part)
        else:
            LocalBackend(self, path=f"../../../state/{stack_name(env, part)}.tfstate")
