"""The project's programs, grouped by purpose (docs/decisions.md D63).

Each is a script run from the repository root as
``.venv/bin/python tools/<group>/<tool>.py`` (or through its make target):

* ``review/``: what a change does before it is applied -- the plan review
  (``plan_review.py``), the synth-against-synth diff (``review_diff.py``) and
  the per-environment plans and deploy order (``plan_env.py``);
* ``diagrams/``: the architecture diagrams drawn from ``cdktf.out``, a
  package split by job (``cli.py`` runs it);
* ``checks/``: the checks ``make checks`` and ``make terrain-check`` run and
  the documents they keep current (checkov scan and counts, the environment
  name check, the second-Python and CDK Terrain checks);
* ``ops/``: operations against AWS (the release wrapper, re-creating a
  service);
* ``bench/``: the performance benchmark and its ablation shims;
* ``dev/``: the CLI's app launcher and the README walkthrough.
"""
