"""The one place that names the CDK for Terraform packages.

Everything else imports framework symbols from here, so moving to the
community continuation (CDK Terrain: ``cdktn``/``cdktn-provider-aws``) is an
edit of this package only. ``framework.aws`` holds the provider loader.
"""
from __future__ import annotations

import os
from pathlib import Path

# jsii starts Node.js for the framework. Prefer the Node 22 that `npm ci`
# installs next to the project (Node 20 is end-of-life and makes jsii print a
# banner on every run); an explicit JSII_NODE from the caller wins.
_PINNED_NODE = Path(__file__).resolve().parent.parent / "node_modules" / ".bin" / "node"
if "JSII_NODE" not in os.environ and _PINNED_NODE.exists():
    os.environ["JSII_NODE"] = str(_PINNED_NODE)
# Fast provider mode (framework/aws.py): make the provider's JavaScript index
# load resource modules on first use instead of all ~2,200 at start.
_LAZY_INDEX_HOOK = Path(__file__).resolve().parent / "lazy_provider_index.js"
if os.environ.get("PAYMENT_PROVIDER_IMPORT", "fast") == "fast" and _LAZY_INDEX_HOOK.exists():
    _hook_option = f'--require "{_LAZY_INDEX_HOOK}"'
    if _hook_option not in os.environ.get("NODE_OPTIONS", ""):
        os.environ["NODE_OPTIONS"] = (os.environ.get("NODE_OPTIONS", "") + " " + _hook_option).strip()
# jsii's own bundle calls util.isArray, deprecated since Node 22 (DEP0044):
# the warning is about jsii's code, not ours, and would print on every run.
if "--no-deprecation" not in os.environ.get("NODE_OPTIONS", ""):
    os.environ["NODE_OPTIONS"] = (os.environ.get("NODE_OPTIONS", "") + " --no-deprecation").strip()

from cdktf import (  # noqa: E402  (JSII_NODE must be set before jsii starts)
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
