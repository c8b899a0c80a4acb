"""Reading what the release tool prints by its parts (D64): a dry run's
planned calls and header fields, its notes, and a network configuration's
fields. Tests then assert each field's value, not the sentence around it."""

from __future__ import annotations

import ast
from typing import NamedTuple

#: The fields of ``NetworkConfiguration.describe()`` and ``.differences()``
#: (release/network.py), in the order they are printed.
NETWORK_FIELDS = ("subnets", "security groups", "public IP")


class PlannedCall(NamedTuple):
    """One call a dry run lists: its parameters as they are sent, and what
    the release expects of the answer ("" when it says nothing)."""

    params: dict
    expect: str


def planned_calls(out: str, call: str) -> list[PlannedCall]:
    """Every numbered line ``N. <call>(<k>=<value>, ...)  -> <expect>`` of
    the dry run ``out`` whose call is ``call`` (``"ec2.describe_vpcs"``), in
    order; the values are read back as Python literals."""
    found = []
    for line in out.splitlines():
        number, _, rest = line.strip().partition(". ")
        if not number.isdigit() or not rest.startswith(f"{call}("):
            continue
        printed, _, expect = rest.partition("  -> ")
        parsed = ast.parse(printed, mode="eval").body
        assert isinstance(parsed, ast.Call) and not parsed.args, line
        params = {k.arg: ast.literal_eval(k.value) for k in parsed.keywords}
        found.append(PlannedCall(params, expect))
    return found


def plan_field(out: str, label: str) -> str:
    """The value of the dry run's one header line ``<label>  <value>``."""
    found = [
        line[len(label) :].strip()
        for line in out.splitlines()
        if line.startswith(f"{label} ") and line[len(label) :].startswith("  ")
    ]
    assert len(found) == 1, (label, out)
    return found[0]


def note_of(out: str, start: str) -> str:
    """The text of the one line ``note: <start>...`` in ``out``."""
    found = [line for line in out.splitlines() if line.startswith(f"note: {start}")]
    assert len(found) == 1, (start, out)
    return found[0][len("note: ") :]


def network_fields(text: str) -> dict[str, str]:
    """``"subnets a, b; security groups c; public IP DISABLED"`` (or the
    same with ``<live> -> <wanted>`` values) as ``{"subnets": "a, b", ...}``;
    fails on a part that is not one of ``NETWORK_FIELDS``."""
    fields = {}
    for part in text.split("; "):
        (label,) = [f for f in NETWORK_FIELDS if part.startswith(f"{f} ")]
        fields[label] = part[len(label) + 1 :]
    return fields
