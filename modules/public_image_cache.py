"""The environment's ECR pull-through cache of ECR Public."""

from __future__ import annotations

from dataclasses import dataclass

from framework import Construct
from framework.aws import aws
from modules.ecr import PULL_ACTIONS


@dataclass(frozen=True, kw_only=True)
class PublicImageCacheProps:
    """``repository_prefix``: prefix of the cached repositories in this
    registry (unique per account and region). ``account_id``/``region``/
    ``partition``: of the registry."""

    repository_prefix: str
    account_id: str
    region: str
    partition: str


class PublicImageCache(Construct):
    """ECR pull-through cache of ECR Public: tasks pull public images (the
    tracing collector) through the private ECR endpoints instead of the
    internet, so their security groups need no internet egress."""

    def __init__(self, scope: Construct, construct_id: str, props: PublicImageCacheProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.rule = aws.ecr_pull_through_cache_rule.EcrPullThroughCacheRule(
            self,
            "rule",
            ecr_repository_prefix=props.repository_prefix,
            upstream_registry_url="public.ecr.aws",
        )
        self.repository_prefix = self.rule.ecr_repository_prefix

    def image(self, repository: str, tag: str) -> str:
        """Image reference of ``public.ecr.aws/<repository>:<tag>`` via the cache."""
        p = self.props
        return (
            f"{p.account_id}.dkr.ecr.{p.region}.amazonaws.com/"
            f"{self.repository_prefix}/{repository}:{tag}"
        )

    def pull_statement(self, repository: str, sid: str = "PullCachedPublicImage") -> dict:
        """Pull one cached image; the first pull imports it from upstream."""
        p = self.props
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Action": [*PULL_ACTIONS, "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
            "Resource": (
                f"arn:{p.partition}:ecr:{p.region}:{p.account_id}:repository/"
                f"{p.repository_prefix}/{repository}"
            ),
        }
