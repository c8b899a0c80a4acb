"""One private image repository per service."""

from __future__ import annotations

import json
from dataclasses import dataclass

from framework import Construct, TerraformResourceLifecycle
from framework.aws import aws

#: Actions a task execution role needs to pull from one repository.
PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
)


def lifecycle_policy(
    keep_tagged_images: int,
    untagged_expiry_days: int,
    *,
    release_tag_prefix: str,
    keep_released_images: int,
) -> dict:
    """ECR lifecycle policy. First, images the release tool deployed (tag
    ``release_tag_prefix<revision>``, ``release.retain``): the newest
    ``keep_released_images`` of them are kept, whatever else is pushed, so
    the image a service runs and its rollback targets are never expired.
    ECR evaluates rules by priority and "an image that matches the tagging
    requirements of a rule cannot be expired by a rule with a lower
    priority" (Amazon ECR user guide, "Lifecycle policy evaluation rules",
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html#lp_evaluation_rules);
    ECR itself does not know what ECS runs (containers-roadmap #1078).
    Then untagged layers go, and other tagged images (CI pushes) are kept
    by count."""
    for label, value, low, high in (
        ("keep_tagged_images", keep_tagged_images, 1, 1000),
        ("untagged_expiry_days", untagged_expiry_days, 1, 365),
        ("keep_released_images", keep_released_images, 1, 1000),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{label}: {value!r} is not allowed; use an integer {low}-{high}")
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Keep the last {keep_released_images} released images "
                f"({release_tag_prefix}*)",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPrefixList": [release_tag_prefix],
                    "countType": "imageCountMoreThan",
                    "countNumber": keep_released_images,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"Expire untagged images after {untagged_expiry_days} days",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": untagged_expiry_days,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 3,
                "description": f"Keep the last {keep_tagged_images} other tagged images",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": ["*"],
                    "countType": "imageCountMoreThan",
                    "countNumber": keep_tagged_images,
                },
                "action": {"type": "expire"},
            },
        ]
    }


@dataclass(frozen=True, kw_only=True)
class ServiceRepositoryProps:
    """``name``: repository name (``config.naming.ecr_repository_name``).
    ``kms_key_arn``: CMK that encrypts the images.
    ``keep_tagged_images``: tagged images kept (older ones expire).
    ``untagged_expiry_days``: age at which untagged images expire.
    ``release_tag_prefix``: prefix of the tag the release tool adds to what it
    deploys (``config.naming.release_tag_prefix``); ``keep_released_images``:
    how many such images are kept before any other rule applies.
    ``prevent_destroy``: Terraform refuses to delete the repository (and the
    images a rollback needs); left out, it can be destroyed.
    """

    name: str
    kms_key_arn: str
    keep_tagged_images: int
    untagged_expiry_days: int
    release_tag_prefix: str
    keep_released_images: int
    prevent_destroy: bool = False


class ServiceRepository(Construct):
    """Scan-on-push, immutable tags (a tag names one build forever, so a
    rollback redeploys exactly what ran before), KMS-encrypted."""

    def __init__(self, scope: Construct, construct_id: str, props: ServiceRepositoryProps) -> None:
        super().__init__(scope, construct_id)
        policy = lifecycle_policy(
            props.keep_tagged_images,
            props.untagged_expiry_days,
            release_tag_prefix=props.release_tag_prefix,
            keep_released_images=props.keep_released_images,
        )
        er = aws.ecr_repository
        self.repository = er.EcrRepository(
            self,
            "repository",
            name=props.name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=er.EcrRepositoryImageScanningConfiguration(
                scan_on_push=True
            ),
            encryption_configuration=[
                er.EcrRepositoryEncryptionConfiguration(
                    encryption_type="KMS", kms_key=props.kms_key_arn
                )
            ],
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True)
            if props.prevent_destroy
            else None,
        )
        self.name = self.repository.name
        self.arn = self.repository.arn
        self.url = self.repository.repository_url
        self.lifecycle_policy = aws.ecr_lifecycle_policy.EcrLifecyclePolicy(
            self, "lifecycle", repository=self.name, policy=json.dumps(policy)
        )

    def pull_statement(self, sid: str = "PullOwnImages") -> dict:
        """IAM statement allowing to pull images from this repository only."""
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Action": list(PULL_ACTIONS),
            "Resource": self.repository.arn,
        }
