"""Creates what the S3 backend of an environment needs, and the identities
the CI pipeline assumes; its own state is local.

Apply it once per environment before any other stack (see README), then
optionally migrate its state into the bucket it created. The pipeline's
identities live here because they exist before the first pipeline run and
only an administrator changes them (the deploy role may not: docs/ci.md).
"""

from __future__ import annotations

from config import EnvironmentConfig
from config.naming import (
    alb_access_log_bucket_name,
    audit_bucket_name,
    bucket_names,
    config_bucket_name,
    key_policy_administrators,
    release_role_name,
    state_access_log_bucket_name,
    state_key_alias,
)
from framework import Construct, TerraformOutput
from modules.github_oidc import GitHubOidcProvider, GitHubOidcProviderProps
from modules.kms import ManagedKey, ManagedKeyProps
from modules.pipeline_roles import PipelineRoles, PipelineRolesProps
from modules.state_bucket import StateBucket, StateBucketProps
from stacks.base import LocalStateStack, state_key


class StateBootstrapStack(LocalStateStack):
    def __init__(self, scope: Construct, env: EnvironmentConfig) -> None:
        super().__init__(scope, env, "bootstrap")
        key = ManagedKey(
            self,
            "state-key",
            ManagedKeyProps(
                alias=state_key_alias(env).removeprefix("alias/"),
                description=f"Encrypts the Terraform state of {env.prefix}",
                account_id=self.account_id,
                partition=self.partition,
                region=env.backend_region,
                administrator_role_names=env.access.key_administrator_role_names,
                protected_role_names=key_policy_administrators(env),
                reader_role_names=(env.plan_role,),
                # Terraform reads and writes state through S3 only.
                via_services=("s3",),
            ),
        )
        key.key.add_override("lifecycle.prevent_destroy", True)
        self.state_bucket = StateBucket(
            self,
            "state",
            StateBucketProps(
                bucket_name=env.state_bucket,
                access_log_bucket_name=state_access_log_bucket_name(env),
                kms_key_arn=key.arn,
            ),
            account_id=self.account_id,
        )
        TerraformOutput(self, "state_bucket", value=self.state_bucket.bucket.bucket)
        TerraformOutput(self, "state_key_arn", value=key.arn)
        TerraformOutput(
            self, "state_access_log_bucket", value=self.state_bucket.access_logs.bucket.bucket
        )
        github = GitHubOidcProvider(
            self,
            "github-oidc",
            GitHubOidcProviderProps(create=env.pipeline.creates_github_oidc_provider),
        )
        self.pipeline = PipelineRoles(
            self,
            "pipeline",
            PipelineRolesProps(
                environment=env,
                provider_arn=github.arn,
                state_key_arn=key.arn,
                # Every stack's state object of the environment.
                state_object_pattern=state_key(env, "*"),
                bucket_names=bucket_names(env, self.account_id),
                account_id=self.account_id,
                partition=self.partition,
                boundary_arn=self.permissions_boundary_arn,
                protected_bucket_names=self._people_buckets(env),
                release_role_name=release_role_name(env),
            ),
        )
        TerraformOutput(self, "permissions_boundary_arn", value=self.pipeline.boundary.arn)
        TerraformOutput(self, "plan_role_arn", value=self.pipeline.plan_role.arn)
        TerraformOutput(self, "deploy_role_arn", value=self.pipeline.deploy_role.arn)

    def _people_buckets(self, env: EnvironmentConfig) -> tuple[str, ...]:
        """The buckets of the stacks a person applies: the state buckets and,
        where the account's baseline is this repository's, its audit and
        AWS Config buckets, whoever of the account's environments owns it
        (named like ``payment-<owner>-audit-<account>``: a pattern)."""
        alb = alb_access_log_bucket_name(env, self.account_id)
        names = [n for n in bucket_names(env, self.account_id) if n != alb]
        if env.security_baseline.builds_trail:
            names.append(audit_bucket_name(env, self.account_id).replace(env.prefix, "*", 1))
        if env.security_baseline.provided_here("config_recorder"):
            names.append(config_bucket_name(env, self.account_id).replace(env.prefix, "*", 1))
        return tuple(dict.fromkeys(names))
