"""Helpers to read synthesized stacks in tests."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from guardrails.cdktf_out import stack_files


@dataclass(frozen=True)
class SynthesizedStack:
    name: str
    text: str

    @property
    def json(self) -> dict:
        """The whole stack, parsed anew: the caller may change it."""
        return json.loads(self.text)

    def resources(self, resource_type: str) -> dict[str, dict]:
        return self._copy_of("resource", resource_type)

    def data_sources(self, data_type: str) -> dict[str, dict]:
        return self._copy_of("data", data_type)

    @cached_property
    def _parsed(self) -> dict:
        """Parsed once, never handed out."""
        return json.loads(self.text)

    def _copy_of(self, block: str, type_name: str) -> dict[str, dict]:
        # A copy the caller may change, as a new parse would be, for a fraction
        # of parsing the whole stack (the tests call these ~5,000 times).
        return pickle.loads(pickle.dumps(self._parsed.get(block, {}).get(type_name, {})))

    def only(self, resource_type: str) -> dict:
        found = list(self.resources(resource_type).values())
        assert len(found) == 1, f"{self.name}: expected one {resource_type}, found {len(found)}"
        return found[0]


def read_outdir(outdir: Path) -> dict[str, SynthesizedStack]:
    stacks = {}
    for name, path in stack_files(outdir).items():
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


def synthesize_bootstrap(env, outdir: Path) -> SynthesizedStack:
    """The bootstrap stack of ``env`` alone in a new app writing to
    ``outdir``, synthesized with its contract rules. No other stack refers
    to it or changes it (but log subscriptions: refused here), so it is the
    JSON the whole environment's app writes for it (tests/test_foundation.py
    checks that for every environment), in a fraction of the time."""
    from framework import App
    from stacks.bootstrap import StateBootstrapStack

    if env.security_baseline.log_archive_destination_arn:
        raise ValueError("build() subscribes every stack's log groups: use synthesize()")
    app = App(outdir=str(outdir))
    StateBootstrapStack(app, env)
    app.synth()
    (stack,) = read_outdir(outdir).values()
    return stack
