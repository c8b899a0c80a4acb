"""Is the environment a make target was given defined in configuration?

``make bootstrap|deploy|plan ENV=<env>`` run this before anything is
installed (the Makefile's ``env-check``), with make's ``python3``: config/
imports only the standard library, so no project package is needed. It reads
the configuration the app reads (``PAYMENT_CONFIG``, default
config/environments.py) and validates it the same way.

    python3 tools/checks/check_env.py dev

Exit code 0: defined; 2: the configuration's own refusal in one line, e.g.
``environment: 'qa' is not defined; allowed: dev, staging, prod``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFUSED = 2


def main(argv: list[str] | None = None) -> int:
    names = sys.argv[1:] if argv is None else argv
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from config import ConfigError, load_environments

    try:
        load_environments(names)
    except ConfigError as err:
        print("; ".join(err.problems), file=sys.stderr)
        return REFUSED
    return 0


if __name__ == "__main__":
    sys.exit(main())
