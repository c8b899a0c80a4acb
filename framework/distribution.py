"""Which CDK distribution the app runs on: the one line to change to switch.

CDK for Terraform (``cdktf``, archived by HashiCorp in December 2025) and its
community continuation CDK Terrain (``cdktn``) have the same API under other
package names. Everything that differs between them is a field of
``Distribution``; every other file asks ``ACTIVE``:

* ``framework/__init__.py`` imports the core and ``constructs`` by name;
* ``framework/aws.py`` loads the provider's Python package;
* ``framework/node_runtime.py`` tells ``framework/lazy_provider_index.js``
  the provider's npm name (the fast loader's Node side);
* ``guardrails/schema.py`` reads the provider's jsii assembly (package,
  assembly prefix, the core's ``Terraform*`` base classes);
* ``stacks/synthesis.py`` writes the merged manifest the way the core does.

Switching (docs/terrain.md, docs/decisions.md D7) is ``ACTIVE = CDK_TERRAIN``
here plus the dependencies in the Pipfile; ``make terrain-check`` makes
exactly that edit in a copy of the tree and proves the result.

No imports: ``stacks/synthesis.py`` loads this file on its own, before
anything starts Node.js.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Distribution:
    #: Python (and jsii assembly) name of the core library.
    core: str
    #: Python package of the prebuilt AWS provider.
    provider_package: str
    #: npm name of the provider (its jsii assembly name).
    provider_npm: str
    #: True when the core writes an empty list in manifest.json as ``[`` and
    #: ``]`` on two lines (cdktf 0.21); False for ``[]`` (cdktn).
    manifest_splits_empty_lists: bool

    @property
    def assembly_prefix(self) -> str:
        """Prefix of every provider type's jsii fqn."""
        return f"{self.provider_npm}."


CDKTF = Distribution(
    core="cdktf",
    provider_package="cdktf_cdktf_provider_aws",
    provider_npm="@cdktf/provider-aws",
    manifest_splits_empty_lists=True,
)

CDK_TERRAIN = Distribution(
    core="cdktn",
    provider_package="cdktn_provider_aws",
    provider_npm="@cdktn/provider-aws",
    manifest_splits_empty_lists=False,
)

#: The distribution this tree runs on.
ACTIVE = CDKTF
