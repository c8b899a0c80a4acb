"""Is the environment, or the stack, a make target was given defined in
configuration?

``make bootstrap|baseline|deploy|plan ENV=<env>`` and ``make diff STACK=<stack>``
run this before anything is installed (the Makefile's ``env-check`` and
``stack-check``), with make's ``python3``: config/ imports only the standard
library, so no project package is needed. It reads the configuration the app
reads (``PAYMENT_CONFIG``, default config/environments.py) and validates it
the same way.

    python3 tools/checks/check_env.py dev
    python3 tools/checks/check_env.py --baseline dev
    python3 tools/checks/check_env.py --stack payment-dev-services

``--baseline`` (``make baseline``): the environment also has the account's
baseline stack, ``payment-<env>-baseline``: it owns its account and region's
baseline and this repository builds a control of it (docs/decisions.md D35).
``--stack``: a stack main.py synthesizes (``config.naming.stack_names``) for
the environments ``PAYMENT_ENVIRONMENTS`` selects (default: all), as the
CDKTF CLI's synthesis does.

Exit code 0: defined; 2: the configuration's own refusal in one line, e.g.
``environment: 'qa' is not defined; allowed: dev, staging, prod`` or
``stack: 'payment-qa-x' is not defined; allowed: payment-dev-bootstrap, ...``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFUSED = 2
BASELINE = "--baseline"
STACK = "--stack"


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


def stack_refusals(names: list[str], defined) -> list[str]:
    """``make diff STACK=``: each name not among the stacks synthesized for
    the selected environments, in the configuration's one-line form."""
    from config import ENVIRONMENTS_VARIABLE, load_environments, parse_selection
    from config.naming import stack_names

    selected = load_environments(
        parse_selection(os.environ.get(ENVIRONMENTS_VARIABLE)), defined=defined
    )
    allowed = stack_names(selected, defined)
    return [
        f"stack: {name!r} is not defined; allowed: {', '.join(allowed)}"
        for name in names
        if name not in allowed
    ]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from config import ConfigError, load_environments

    try:
        defined = load_environments()
        if args[:1] == [STACK]:
            refusals = stack_refusals(args[1:], defined)
        else:
            names = [a for a in args if a != BASELINE]
            load_environments(names, defined)
            baseline = BASELINE in args
            refusals = [r for n in names if baseline for r in [baseline_refusal(n, defined)] if r]
    except ConfigError as err:
        print("; ".join(err.problems), file=sys.stderr)
        return REFUSED
    if refusals:
        print("; ".join(refusals), file=sys.stderr)
        return REFUSED
    return 0


if __name__ == "__main__":
    sys.exit(main())
