"""Read-only checks of a deployed environment (``make verify ENV=<env>``).

Offline tests prove what the synthesized Terraform says; these checks prove
what the account does: the facts only a live account can show (the
services run the released image, alarms receive data, CloudTrail logs,
policies are the synthesized ones). Expected values come from the
synthesized JSON (``cdktf.out``) and from configuration (``config``), never
from a copy. docs/verify.md lists every check; docs/decisions.md D47.
"""
