"""Attribute references read once per construct.

Each read of a resource attribute (``bucket.arn``) is a round trip to jsii's
Node.js process that also creates a new token; the same token can be used
any number of times. Module facades therefore expose the attributes others
use often as ``read_once`` attributes:

    class Network(Construct):
        vpc_id = read_once("vpc", "id")   # self.vpc.id, read on first use
"""

from __future__ import annotations

from functools import cached_property


def read_once(resource: str, attribute: str) -> cached_property:
    """``self.<resource>.<attribute>``, read on first use and then kept."""

    def read(self):
        return getattr(getattr(self, resource), attribute)

    read.__doc__ = f"``{resource}.{attribute}`` (read once)."
    return cached_property(read)
