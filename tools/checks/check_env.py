"""Is the environment a make target was given defined in configuration?

``make bootstrap|baseline|deploy|plan ENV=<env>`` run this before anything
is installed (the Makefile's ``env-check``), with make's ``python3``: config/
imports only the standard library, so no project package is needed. It reads
the configuration the app reads (``PAYMENT_CONFIG``, default
config/environments.py) and validates it the same way.

    python3 tools/checks/check_env.py dev
    python3 tools/checks/check_env.py --baseline dev

``--baseline`` (``make baseline``): the environment also has the account's
baseline stack, ``payment-<env>-baseline``: it owns its account and region's
baseline and this repository builds a control of it (docs/decisions.md D35).

Exit code 0: defined; 2: the configuration's own refusal in one line, e.g.
``environment: 'qa' is not defined; allowed: dev, staging, prod``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFUSED = 2
BASELINE = "--baseline"


def baseline_refusal(name: str, defined) -> str | None:
    """Why environment ``name`` has no baseline stack, in one line naming
    what to run or change instead; None when it has one (stacks/app.py
    builds it under the same two conditions)."""
    from config.model import baseline_owner

    env = next(e for e in defined if e.name == name)
    if not env.security_baseline.builds_anything:
        return (
            f"payment-{name}-baseline does not exist: {name}.security_baseline has every "
            "control provided_by_organization, so there is nothing to deploy: skip this step"
        )
    owner = baseline_owner(env, defined)
    if owner != name:
        account, region = env.account_scope
        return (
            f"payment-{name}-baseline does not exist: the baseline of account {account} "
            f"{region} is {owner}'s (the first production-tier environment there, else the "
            f"first configured); run make baseline ENV={owner}"
        )
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    baseline = BASELINE in args
    names = [a for a in args if a != BASELINE]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from config import ConfigError, load_environments

    try:
        defined = load_environments()
        load_environments(names, defined)
    except ConfigError as err:
        print("; ".join(err.problems), file=sys.stderr)
        return REFUSED
    refusals = [r for r in (baseline_refusal(n, defined) for n in names if baseline) if r]
    if refusals:
        print("; ".join(refusals), file=sys.stderr)
        return REFUSED
    return 0


if __name__ == "__main__":
    sys.exit(main())
