"""Architecture diagrams drawn from the synthesized Terraform (issue #19,
docs/diagrams.md), one module per job:

* ``synthesized``: reading the stacks in ``cdktf.out``, references resolved
  across them;
* ``model``: the graph (groups, nodes, edges) and its canonical JSON;
* ``extract``: the graph of one environment built from its stacks;
* ``layout``: the views (what each picture draws) and their Graphviz DOT;
* ``render``: the pictures, drawn by ``graphviz-pure``, carrying the model's digest;
* ``committed``: writing docs/diagrams and checking it is current (``--check``);
* ``cli``: the command (``make diagram``, ``make checks``).
"""

from __future__ import annotations


class DiagramError(Exception):
    """Bad input: one line naming the field or value and what is allowed."""
