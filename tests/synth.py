"""Helpers to read synthesized stacks in tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
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


def synthesize(
    environments: Iterable, outdir: Path, prepare: Callable[[dict], None] | None = None
) -> tuple[dict, dict[str, SynthesizedStack]]:
    """Builds ``environments`` into a new app writing to ``outdir`` and
    synthesizes it; ``prepare(built)`` runs in between (e.g. to add alarms).
    Returns (env name -> EnvironmentStacks, stack name -> synthesized JSON)."""
    from framework import App
    from stacks.app import build

    app = App(outdir=str(outdir))
    built = build(app, environments)
    if prepare is not None:
        prepare(built)
    app.synth()
    return built, read_outdir(outdir)
