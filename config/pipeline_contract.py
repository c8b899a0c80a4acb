"""The deploy role's bounded role writes (docs/decisions.md D49, D61).

The deploy role may call these only on roles that carry the configured
permissions boundary. modules/pipeline_roles.py grants them with that
condition; ``make verify`` (verify/checks/iam.py) proves live, with the IAM
policy simulator, that they are denied without it. The contract lives here,
below both, so neither imports the other (tests/test_layering.py).
"""

from __future__ import annotations

#: What Terraform calls to create a role and change its permissions: only
#: with the environment's boundary (``iam:PermissionsBoundary``: the new
#: role's, or the existing role's; IAM user guide, "Permissions boundaries
#: for IAM entities", delegating example). AttachRolePolicy also needs an
#: allowed policy (modules/pipeline_roles.py ATTACHABLE_MANAGED_POLICIES).
BOUNDED_ROLE_WRITES = (
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
)
