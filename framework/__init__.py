"""The one place that names the CDK for Terraform packages.

Everything else imports framework symbols from here, so moving to the
community continuation (CDK Terrain: ``cdktn``/``cdktn-provider-aws``) is an
edit of this package only. ``framework.aws`` holds the provider loader.
"""

from __future__ import annotations

import os

from framework.node_runtime import configure as _configure_node

# How jsii starts Node.js (pinned Node, fast-mode hooks): framework/node_runtime.py.
_configure_node(os.environ)

from cdktf import (  # noqa: E402  (Node options must be set before jsii starts)
    Annotations,
    App,
    Aspects,
    Fn,
    IAspect,
    LocalBackend,
    S3Backend,
    TerraformOutput,
    TerraformResource,
    TerraformResourceLifecycle,
    TerraformStack,
    Testing,
    Token,
)
from constructs import Construct, IConstruct, IValidation  # noqa: E402

__all__ = [
    "Annotations",
    "App",
    "Aspects",
    "Construct",
    "Fn",
    "IAspect",
    "IConstruct",
    "IValidation",
    "LocalBackend",
    "S3Backend",
    "TerraformOutput",
    "TerraformResource",
    "TerraformResourceLifecycle",
    "TerraformStack",
    "Testing",
    "Token",
]
