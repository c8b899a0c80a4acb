"""Is the environment, or the stack, a make target was given defined in
configuration?

``make bootstrap|deploy|plan ENV=<env>`` and ``make diff STACK=<stack>`` run
this before anything is installed (the Makefile's ``env-check`` and
``stack-check``), with make's ``python3``: config/ imports only the standard
library, so no project package is needed. It reads the configuration the
app reads (``PAYMENT_CONFIG``, default config/environments.py) and validates
it the same way.

    python3 tools/checks/check_env.py dev
    python3 tools/checks/check_env.py --stack payment-dev-services

A stack is one main.py synthesizes (``config.naming.stack_names``) for the
environments ``PAYMENT_ENVIRONMENTS`` selects (default: all), as the CDKTF
CLI's synthesis does.

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


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from config import ENVIRONMENTS_VARIABLE, ConfigError, load_environments, parse_selection
    from config.naming import stack_names

    try:
        if args[:1] != ["--stack"]:
            load_environments(args)
            return 0
        defined = load_environments()
        selected = load_environments(
            parse_selection(os.environ.get(ENVIRONMENTS_VARIABLE)), defined=defined
        )
        allowed = stack_names(selected, defined)
        refused = [name for name in args[1:] if name not in allowed]
        if refused:
            raise ConfigError(
                f"stack: {name!r} is not defined; allowed: {', '.join(allowed)}" for name in refused
            )
    except ConfigError as err:
        print("; ".join(err.problems), file=sys.stderr)
        return REFUSED
    return 0


if __name__ == "__main__":
    sys.exit(main())
