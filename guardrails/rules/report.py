"""The synth report of suppressions: printed by main.py and written next to
the stacks (``cdktf.out/guardrails-suppressions.json``) so reviewers and CI
see every exception to a contract rule with its reason."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from framework import TerraformStack
from guardrails.rules.suppression import Suppression, suppressions_in

REPORT_FILE = "guardrails-suppressions.json"


@dataclass(frozen=True)
class SuppressionReport:
    suppressions: tuple[Suppression, ...]

    def text(self) -> str:
        if not self.suppressions:
            return "guardrails: no contract rule is suppressed"
        lines = [f"guardrails: {len(self.suppressions)} suppressed contract rule(s):"]
        lines += [f"  {s}" for s in self.suppressions]
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps({"suppressions": [asdict(s) for s in self.suppressions]}, indent=2) + "\n"

    def write(self, outdir: str) -> str:
        path = os.path.join(outdir, REPORT_FILE)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self.to_json())
        return path


def suppression_report(scope) -> SuppressionReport:
    """Suppressions of ``scope`` (a stack) or of the stacks of an App, sorted.

    Stacks are the App's direct children: walking the whole tree would cost
    one jsii round trip per construct."""
    if TerraformStack.is_stack(scope):
        stacks = [scope]
    else:
        stacks = [c for c in scope.node.children if TerraformStack.is_stack(c)]
    found = [s for stack in stacks for s in suppressions_in(stack)]
    return SuppressionReport(tuple(sorted(found, key=lambda s: (s.stack, s.address, s.rule_id))))
