"""PAY-CTR-003: every container runs as a non-root user."""

from __future__ import annotations

from guardrails.rules import containers
from guardrails.rules.model import Finding, Rule, RuleContext

ROOT_USERS = ("0", "root")


def judge(user) -> list[str]:
    if user is None or not str(user).strip():
        return [
            "sets no user, so it runs as the image's default user (root unless the image "
            "says otherwise)"
        ]
    if str(user).split(":", 1)[0].strip().lower() in ROOT_USERS:
        return [f"runs as root (user = {str(user)!r})"]
    return []


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    return containers.findings(RULE, stack, "user", judge)


RULE = Rule(
    id="PAY-CTR-003",
    summary="Every container of a task definition runs as a non-root user.",
    why="A process running as root turns any container escape or writable mount into full "
    "control of the task; the image's default user is often root.",
    fix='set user to a non-root UID:GID the image allows (e.g. "1000:1000"), neither 0 nor root',
    check=check,
)
