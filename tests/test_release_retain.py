"""The release tags what it deploys, so ECR's lifecycle policy keeps it
(#23, item 7; release/retain.py, docs/decisions.md D46).

ECR lifecycle rules do not know what ECS runs (containers-roadmap #1078);
the repositories' top rule keeps the newest ``release-<env>-*`` images and
no lower-priority rule may expire an image a higher one selects (ECR user
guide, "Lifecycle policy evaluation rules",
https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html#lp_evaluation_rules).
The tag is added as the ECR user guide retags an image (BatchGetImage, then
PutImage with the same manifest; "Retagging an image"). moto implements
both; the world of tests/release_world.py runs the release against it.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from config.naming import release_tag, release_tag_prefix
from modules.ecr import lifecycle_policy
from release.errors import ReleaseRefused
from tests import release_world as _release

#: Operations tools replayed against simulated AWS: the second, separately
#: timed step of make test (pytest.ini, docs/decisions.md D56).
pytestmark = pytest.mark.aws_replay


# The release world of tests/release_world.py and the fixtures it needs.
_happy_script = _release._happy_script
aws_clients = _release.aws_clients
dev = _release.dev
fake_aws_env = _release.fake_aws_env
release_reads_the_example = _release.release_reads_the_example
world = _release.world


def _tags(world, digest: str) -> set[str]:
    images = world.ecr.describe_images(
        repositoryName=world.target.ecr_repository_name, imageIds=[{"imageDigest": digest}]
    )["imageDetails"]
    return set(images[0].get("imageTags", []))


def _released_digest(world) -> str:
    """Digest of the app image of the newest revision."""
    _, new_arn = world.revisions()
    new = world.ecs.describe_task_definition(taskDefinition=new_arn)["taskDefinition"]
    app = next(c for c in new["containerDefinitions"] if c["name"] == world.target.container_name)
    image = world.ecr.describe_images(
        repositoryName=world.target.ecr_repository_name,
        imageIds=[{"imageTag": app["image"].rsplit(":", 1)[-1]}]
        if "@" not in app["image"]
        else [{"imageDigest": app["image"].split("@", 1)[1]}],
    )["imageDetails"][0]
    return image["imageDigest"]


def test_a_release_tags_its_image_with_the_environment_and_revision(world):
    _happy_script(world)
    world.releaser().run()
    _, new_arn = world.revisions()
    revision = int(new_arn.rsplit(":", 1)[1])
    digest = _released_digest(world)
    tag = release_tag(world.target.environment, revision)
    assert tag == f"release-{world.target.environment.name}-{revision}"
    assert tag in _tags(world, digest)
    assert f"tagged image {digest} {tag} in {world.target.ecr_repository_name}" in (
        world.out.getvalue()
    )


def test_the_release_tag_is_what_the_top_lifecycle_rule_keeps(world):
    """The prefix the tool writes is the prefix the policy selects first."""
    env = world.target.environment
    tag = release_tag(env, 7)
    rules = lifecycle_policy(
        env.ecr_keep_tagged_images,
        env.ecr_untagged_expiry_days,
        release_tag_prefix=release_tag_prefix(env),
        keep_released_images=env.ecr_keep_released_images,
    )["rules"]
    top = min(rules, key=lambda r: r["rulePriority"])
    assert top["selection"]["tagStatus"] == "tagged"
    assert any(tag.startswith(p) for p in top["selection"]["tagPrefixList"])
    assert top["selection"]["countNumber"] == env.ecr_keep_released_images
    # No other rule selects by this prefix: only the top rule's count expires a release.
    assert all("tagPrefixList" not in r["selection"] for r in rules if r is not top)


def test_an_ecr_refusal_stops_the_release_before_the_deployment(world, monkeypatch):
    world.expect_group()
    world.expect_no_active()

    def refuse(**_):
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "PutImage"
        )

    monkeypatch.setattr(world.ecr, "put_image", refuse)
    with pytest.raises(ReleaseRefused) as refused:
        world.releaser().run()
    message = str(refused.value)
    assert "could not tag the image so that ECR's lifecycle policy keeps it" in message
    assert "AccessDeniedException: not allowed" in message
    assert "nothing was deployed" in message
    assert "ecr:BatchGetImage and ecr:PutImage" in message
    assert "codedeploy.CreateDeployment" not in world.calls


@pytest.mark.parametrize("count", [0, 1001])
def test_the_released_image_count_is_validated_in_one_line(count):
    from dataclasses import replace

    from config.model import validate_environment
    from tests.fixtures.example import DEV

    assert validate_environment(replace(DEV, ecr_keep_released_images=count)) == [
        f"dev.ecr_keep_released_images: {count} is not allowed; use 1-1000"
    ]
