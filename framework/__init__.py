"""The one place that imports the CDK framework (cdktf or CDK Terrain).

Everything else imports framework symbols from here. Which distribution is
imported is ``framework.distribution.ACTIVE``: moving to the community
continuation (CDK Terrain: ``cdktn``/``cdktn-provider-aws``) is one line
there (docs/terrain.md). ``framework.aws`` holds the provider loader.

Node's options are set on import (before anything can start jsii); the core
itself is imported on first use of one of its names, so
``framework.distribution`` alone (the schema check, the manifest writer)
does not start Node.js.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING

from framework.distribution import ACTIVE
from framework.node_runtime import configure as _configure_node

# How jsii starts Node.js (pinned Node, fast-mode hooks): framework/node_runtime.py.
_configure_node(os.environ, provider_npm=ACTIVE.provider_npm)

__all__ = [
    "Annotations",
    "App",
    "AssetType",
    "Aspects",
    "Construct",
    "Fn",
    "IAspect",
    "IConstruct",
    "IValidation",
    "LocalBackend",
    "S3Backend",
    "TerraformAsset",
    "TerraformOutput",
    "TerraformResource",
    "TerraformResourceLifecycle",
    "TerraformStack",
    "Testing",
    "Token",
]
#: Taken from ``constructs``; the others from the core (cdktf or cdktn).
CONSTRUCTS_NAMES = ("Construct", "IConstruct", "IValidation")

if TYPE_CHECKING:  # both distributions have this API; cdktf's types stand for both
    from cdktf import (
        Annotations,
        App,
        Aspects,
        AssetType,
        Fn,
        IAspect,
        LocalBackend,
        S3Backend,
        TerraformAsset,
        TerraformOutput,
        TerraformResource,
        TerraformResourceLifecycle,
        TerraformStack,
        Testing,
        Token,
    )
    from constructs import Construct, IConstruct, IValidation


def __getattr__(name: str) -> object:
    """The core's and constructs' names, imported on first use."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    source = "constructs" if name in CONSTRUCTS_NAMES else ACTIVE.core
    value = getattr(importlib.import_module(source), name)
    globals()[name] = value
    return value
