"""Helpers to read synthesized stacks in tests."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SynthesizedStack:
    name: str
    text: str

    @property
    def json(self) -> dict:
        return json.loads(self.text)

    def resources(self, resource_type: str) -> dict[str, dict]:
        return self.json.get("resource", {}).get(resource_type, {})

    def data_sources(self, data_type: str) -> dict[str, dict]:
        return self.json.get("data", {}).get(data_type, {})

    def only(self, resource_type: str) -> dict:
        found = list(self.resources(resource_type).values())
        assert len(found) == 1, f"{self.name}: expected one {resource_type}, found {len(found)}"
        return found[0]


def read_outdir(outdir: Path) -> dict[str, SynthesizedStack]:
    stacks = {}
    for path in sorted((outdir / "stacks").glob("*/cdk.tf.json")):
        name = path.parent.name
        stacks[name] = SynthesizedStack(name=name, text=path.read_text())
    return stacks
