"""IAM policy documents and service roles, written one way everywhere.

``document`` renders statements as a policy JSON string;
``deny_insecure_transport`` is the TLS-only statement of resource policies;
``service_role`` creates a role one AWS service assumes (confused-deputy
condition on the account when given) with its inline policy and/or a
managed policy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from framework import Construct
from framework.aws import aws

VERSION = "2012-10-17"


def document(*statements: dict) -> str:
    """A policy document of ``statements``, as JSON."""
    return json.dumps({"Version": VERSION, "Statement": list(statements)})


def assume_role(service: str, source_account: str | None = None) -> str:
    """Trust policy: ``service`` may assume the role, only on behalf of
    ``source_account`` when given."""
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return document(statement)


def deny_insecure_transport(action: str, resource: str | Sequence[str]) -> dict:
    """Resource-policy statement refusing ``action`` over plain HTTP."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resource if isinstance(resource, str) else list(resource),
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def service_role(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    service: str,
    source_account: str | None = None,
    description: str | None = None,
    inline_policy: tuple[str, str, Sequence[dict]] | None = None,
    managed_policy: tuple[str, str] | None = None,
):
    """A role ``service`` assumes, created in ``scope`` as ``construct_id``.

    ``inline_policy``: (construct id, policy name, statements).
    ``managed_policy``: (construct id, policy ARN) to attach.
    """
    role = aws.iam_role.IamRole(
        scope,
        construct_id,
        name=name,
        description=description,
        assume_role_policy=assume_role(service, source_account),
    )
    if inline_policy is not None:
        policy_id, policy_name, statements = inline_policy
        aws.iam_role_policy.IamRolePolicy(
            scope, policy_id, role=role.id, name=policy_name, policy=document(*statements)
        )
    if managed_policy is not None:
        attachment_id, policy_arn = managed_policy
        aws.iam_role_policy_attachment.IamRolePolicyAttachment(
            scope, attachment_id, role=role.name, policy_arn=policy_arn
        )
    return role
