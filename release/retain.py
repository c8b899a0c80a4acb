"""Keeps the image a release deploys from being expired by ECR.

ECR lifecycle rules do not know which images ECS runs (containers-roadmap
#1078): "keep the last 30 tagged" expires the running image after 30 CI
pushes, and scale-out or a Spot replacement then cannot pull it. So every
release adds a tag of its own, ``release-<env>-<revision>``
(``config.naming.release_tag``), to the image it deploys, and each
repository's top-priority lifecycle rule keeps the newest
``ecr_keep_released_images`` images with that prefix; no lower rule may
expire them (modules/ecr.py ``lifecycle_policy``).

The tag is added the way the ECR user guide retags an image ("Retagging an
image", https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-retag.html):
BatchGetImage reads the manifest by digest, PutImage stores it again under
the new tag, with ``imageDigest`` so ECR refuses anything but that image.
"""

from __future__ import annotations

from config.naming import release_tag

#: Manifest types BatchGetImage may answer with (Docker v2, OCI, and their
#: lists/indexes); without them it converts or refuses multi-arch images.
ACCEPTED_MEDIA_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
)


def tag_released_image(ecr, target, image_digest: str, revision: int) -> str:
    """Adds ``release-<env>-<revision>`` to the image ``image_digest`` of the
    target's repository and returns a line saying so. Raises the botocore
    error when ECR refuses (the caller decides what the release does)."""
    tag = release_tag(target.environment, revision)
    repository = target.ecr_repository_name
    images = (
        ecr.batch_get_image(
            repositoryName=repository,
            imageIds=[{"imageDigest": image_digest}],
            acceptedMediaTypes=list(ACCEPTED_MEDIA_TYPES),
        ).get("images")
        or []
    )
    if not images:
        raise LookupError(f"image {image_digest} is not in ECR repository {repository!r}")
    image = images[0]
    request = {
        "repositoryName": repository,
        "imageManifest": image["imageManifest"],
        "imageTag": tag,
        "imageDigest": image_digest,
    }
    if image.get("imageManifestMediaType"):
        request["imageManifestMediaType"] = image["imageManifestMediaType"]
    ecr.put_image(**request)
    return (
        f"tagged image {image_digest} {tag} in {repository}: the repository's lifecycle "
        f"policy keeps the last {target.environment.ecr_keep_released_images} released images"
    )
