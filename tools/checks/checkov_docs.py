"""Refreshes the checkov counts table in tracked docs (``make docs``).

The scan (tools/checks/checkov_scan.py) only scans: with ``--summary-json FILE`` it
writes the per-environment counts, and with ``--check-doc DOC`` it fails when
a doc's table differs from them (``make checks``, which never rewrites a
tracked file). This command rewrites the table between the markers::

    <!-- checkov-counts:begin -->
    | environment | passed | failed | excepted |
    ...
    <!-- checkov-counts:end -->

Usage::

    .venv/bin/python tools/checks/checkov_scan.py --outdir cdktf.out --summary-json cdktf.out/checkov-counts.json
    .venv/bin/python tools/checks/checkov_docs.py --counts cdktf.out/checkov-counts.json docs/verification.md README.md

Exit status: 0 (each doc named is current or rewritten), 2 when the counts
file cannot be read or a doc has no markers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as `.venv/bin/python tools/checks/checkov_docs.py`
    sys.path.insert(0, str(ROOT))

from guardrails.checkov_counts import DocError, update_doc  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--counts",
        type=Path,
        required=True,
        help="the counts `tools/checks/checkov_scan.py --summary-json FILE` wrote",
    )
    parser.add_argument("docs", nargs="+", type=Path, metavar="DOC.md")
    args = parser.parse_args(argv)
    try:
        try:
            counts = json.loads(args.counts.read_text())
        except (OSError, ValueError) as err:
            raise DocError(
                f"--counts: {args.counts} is not readable JSON ({err}); run "
                "tools/checks/checkov_scan.py --summary-json first"
            ) from None
        for doc in args.docs:
            changed = update_doc(doc, counts)
            print(f"{doc}: {'rewritten' if changed else 'current'}")
    except DocError as err:
        print(f"checkov docs: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
