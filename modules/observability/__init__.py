"""Observability of an environment, one concept per module:

* ``metrics``: every CloudWatch metric watched, defined once (alarms and
  dashboard use the same objects);
* ``topic``: the KMS-encrypted alarm topic every alarm notifies;
* ``alarms``: alarms of each service, load balancer and the database;
* ``deployment_events``: CodeDeploy state changes recorded in a log group;
* ``log_groups``: log groups AWS would otherwise create itself;
* ``dashboard``: the environment dashboard.

Wired in ``stacks/services.py`` (``ServicesStack._observability``); operator
documentation in docs/observability.md.
"""
