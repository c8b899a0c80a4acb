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
    BOOTSTRAP_PART,
    alb_access_log_bucket_name,
    audit_bucket_name,
    bucket_names,
    config_bucket_name,
    key_configuration_readers,
    key_policy_administrators,
    release_role_name,
    state_access_log_bucket_name,
    state_key_alias,
    state_replica_bucket_name,
    state_replication_role_name,
)
from framework import Construct, TerraformOutput
from modules.github_oidc import GitHubOidcProvider, GitHubOidcProviderProps
from modules.kms import ManagedKey, ManagedKeyProps
from modules.pipeline_roles import PipelineRoles, PipelineRolesProps
from modules.state_bucket import StateBucket, StateBucketProps, StateReplica, StateReplicaProps
from stacks.base import LocalStateStack, state_key


class StateBootstrapStack(LocalStateStack):
    def __init__(self, scope: Construct, env: EnvironmentConfig) -> None:
        super().__init__(scope, env, BOOTSTRAP_PART)
        key = self._state_key(env, "state-key", "the Terraform state", env.backend_region)
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
        self.state_replica = self._replica(env, key) if env.backup.copy_region else None
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

    def _state_key(
        self, env: EnvironmentConfig, construct_id: str, what: str, region: str, provider=None
    ) -> ManagedKey:
        """A state key in ``region``: Terraform (and S3 replication) use it
        through S3 only; only people administer it; never destroyed."""
        key = ManagedKey(
            self,
            construct_id,
            ManagedKeyProps(
                alias=state_key_alias(env).removeprefix("alias/"),
                description=f"Encrypts {what} of {env.prefix}",
                account_id=self.account_id,
                partition=self.partition,
                region=region,
                administrator_role_names=env.access.key_administrator_role_names,
                protected_role_names=key_policy_administrators(env),
                reader_role_names=key_configuration_readers(env),
                # Terraform reads and writes state through S3 only.
                via_services=("s3",),
                provider=provider,
            ),
        )
        key.key.add_override("lifecycle.prevent_destroy", True)
        return key

    def _replica(self, env: EnvironmentConfig, state_key: ManagedKey) -> StateReplica:
        """The state's replica in the backup copy region, with its own key
        there (D60): a region loss leaves the state readable."""
        region = env.backup.copy_region
        assert region is not None
        provider = self.provider_in(region)
        key = self._state_key(
            env, "state-replica-key", "the replica of the Terraform state", region, provider
        )
        replica = StateReplica(
            self,
            "state-replica",
            StateReplicaProps(
                source=self.state_bucket,
                source_key_arn=state_key.arn,
                # Where this stack's default provider creates the state bucket.
                source_region=env.region,
                bucket_name=state_replica_bucket_name(env),
                region=region,
                provider=provider,
                key_arn=key.arn,
                role_name=state_replication_role_name(env),
                account_id=self.account_id,
            ),
        )
        TerraformOutput(self, "state_replica_bucket", value=replica.bucket.bucket)
        TerraformOutput(self, "state_replica_key_arn", value=key.arn)
        return replica

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
