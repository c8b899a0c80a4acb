"""Architecture diagrams drawn from the synthesized Terraform (issue #19).

Reads the stacks in ``cdktf.out`` -- never the configuration or the stack
code -- and builds one graph model per environment: nodes, edges and the
groups (clusters) they sit in, found by following the Terraform references
(``${type.name.attr}``, and ``terraform_remote_state`` outputs across
stacks). From the model it writes, per environment, into ``docs/diagrams``:

* ``<env>.json``: the model, sorted, so a stale diagram is a diff of data
  (``--check``, part of ``make checks``, compares it with the synthesis);
* ``<env>.svg`` and ``<env>.png``: the model drawn by Graphviz's ``dot``
  layout (the ``graphviz-pure`` command, docs/decisions.md D38), each
  carrying the model's SHA-256 so a picture cannot pass for another model.

Usage::

    .venv/bin/python tools/diagrams/cli.py                      # every environment in cdktf.out
    .venv/bin/python tools/diagrams/cli.py --env prod --to /tmp/diagrams
    .venv/bin/python tools/diagrams/cli.py --check               # make checks: fresh?

``--check`` writes nothing and needs no renderer: for every environment in
``--outdir`` (or each ``--env``) the committed model in ``--to`` must equal
the one built from the synthesis, and every picture must carry the
committed model's digest. Stale or missing ones are named in one line, exit
code 1, with the fix (``make diagram``). The diagrams describe the
configuration they were drawn from: after changing config/environments.py,
run ``make diagram`` and commit docs/diagrams/.

Bad input (no ``cdktf.out``, an unknown environment, a missing renderer)
stops with one line naming the value and what is allowed, exit code 2, and
writes nothing. Outputs are written to temporary files first and moved into
place model last, after every picture is done (docs/diagrams.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as `.venv/bin/python tools/diagrams/cli.py`
    sys.path.insert(0, str(ROOT))

from tools.diagrams import DiagramError, layout  # noqa: E402
from tools.diagrams.committed import STALE, display, stale, write_atomically  # noqa: E402
from tools.diagrams.extract import build_model  # noqa: E402
from tools.diagrams.render import outputs, renderer  # noqa: E402
from tools.diagrams.synthesized import environments, read_stacks  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--outdir",
        type=Path,
        default=ROOT / "cdktf.out",
        help="synthesized app (default cdktf.out)",
    )
    parser.add_argument(
        "--to",
        type=Path,
        default=ROOT / "docs" / "diagrams",
        help="where the diagrams go (default docs/diagrams)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        help="environment to draw (repeatable; default: every one in --outdir)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check that the diagrams in --to show --outdir; writes nothing (make checks)",
    )
    args = parser.parse_args(argv)
    try:
        if not args.to.is_dir():
            raise DiagramError(f"--to: {args.to} is not a directory")
        if args.check:
            stacks = read_stacks(args.outdir)
            wanted = args.env or sorted(environments(stacks))
            problems = stale([build_model(stacks, env) for env in wanted], args.to)
            if problems:
                print(
                    f"diagram: {display(args.to)} is stale: {'; '.join(problems)}; {STALE}",
                    file=sys.stderr,
                )
                return 1
            print(f"diagram: {display(args.to)} shows {', '.join(wanted)} as synthesized")
            return 0
        binary = renderer()
        stacks = read_stacks(args.outdir)
        wanted = args.env or sorted(environments(stacks))
        models = [build_model(stacks, environment) for environment in wanted]
        files: dict[Path, bytes] = {}
        for model in models:
            for suffix, content in outputs(model, binary).items():
                files[args.to / f"{model.environment}{suffix}"] = content
        write_atomically(files)
    except DiagramError as error:
        print(f"diagram: {error}", file=sys.stderr)
        return 2
    for model in models:
        views = ",".join(view.name for view in layout.VIEWS)
        print(
            f"diagram: {model.environment}: {len(model.nodes)} nodes, {len(model.edges)} edges"
            f" -> {args.to}/{model.environment}.json, {model.environment}-{{{views}}}.svg/.png"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
