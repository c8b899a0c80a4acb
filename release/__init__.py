"""Release tool: one image of one service to one environment, blue/green.

Terraform ignores the task definition of CODE_DEPLOY services after creation
(lifecycle ignore_changes), so releases go through this tool: it registers a
new task definition revision (a copy of the family's latest ACTIVE revision,
so changes Terraform registered ship too) with only the app image changed and
starts a CodeDeploy deployment with a generated AppSpec, which also carries
what only a deployment may change on a CODE_DEPLOY service (pinned platform
version, network configuration, capacity provider strategy). Run
``.venv/bin/python -m release -h``; docs/release.md describes the flow. Never imports
cdktf (starts fast, no Node).
"""
