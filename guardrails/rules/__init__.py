"""Contract rules that fail synthesis.

Each rule is one module with an id (``PAY-<AREA>-<NNN>``), a one-line
summary, why it exists, the fix, and a pure ``check(stack_json, ctx)``
over the stack's resolved Terraform JSON. ``validation.register`` attaches
them to a stack as a node validation, so ``app.synth()`` fails with
``[RULE-ID] <address>: <problem>. Fix: <change>``. ``suppress`` exempts one
resource from one rule, with a reason that every synth report lists.
See docs/rules.md.
"""

from __future__ import annotations

from guardrails.rules.model import Finding, Rule, RuleContext
from guardrails.rules.registry import RULES, RULES_BY_ID, run_rules
from guardrails.rules.report import REPORT_FILE, SuppressionReport, suppression_report
from guardrails.rules.suppression import Suppression, suppress, suppressions_in
from guardrails.rules.validation import evaluate, register

__all__ = [
    "Finding",
    "REPORT_FILE",
    "RULES",
    "RULES_BY_ID",
    "Rule",
    "RuleContext",
    "Suppression",
    "SuppressionReport",
    "evaluate",
    "register",
    "run_rules",
    "suppress",
    "suppression_report",
    "suppressions_in",
]
