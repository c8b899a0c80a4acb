"""What a rule is, what it finds, and what it is told about the stack."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One broken contract on one resource.

    ``address`` is the Terraform address inside its stack
    (``aws_ecs_service.service-api_service_1A2B3C4D``); ``problem`` says
    what is wrong, ``fix`` what to change.
    """

    rule_id: str
    address: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"[{self.rule_id}] {self.address}: {self.problem}. Fix: {self.fix}"


@dataclass(frozen=True, kw_only=True)
class RuleContext:
    """What a rule may know besides the stack JSON.

    ``env_name``: the environment's name (for messages only: policy never
    depends on it). ``tier``: ``production`` or ``non-production``; rules
    for the production tier apply whatever the environment is called.
    ``state_bucket``: name of the environment's Terraform state bucket
    (None: no bucket is treated as the state bucket).
    """

    env_name: str
    tier: str = "non-production"
    state_bucket: str | None = None

    @property
    def production(self) -> bool:
        return self.tier == "production"

    @classmethod
    def for_environment(cls, env) -> RuleContext:
        """From a ``config.model.EnvironmentConfig`` (duck-typed: name, tier, state_bucket)."""
        return cls(
            env_name=env.name, tier=env.tier, state_bucket=getattr(env, "state_bucket", None)
        )


Check = Callable[[dict, RuleContext], list[Finding]]


@dataclass(frozen=True, kw_only=True)
class Rule:
    """A contract rule: ``id`` (PAY-<AREA>-<NNN>), a one-line ``summary``,
    ``why`` it exists, the usual ``fix``, and ``check``, a pure function of
    the resolved stack JSON."""

    id: str
    summary: str
    why: str
    fix: str
    check: Check

    def finding(self, address: str, problem: str, fix: str | None = None) -> Finding:
        return Finding(rule_id=self.id, address=address, problem=problem, fix=fix or self.fix)
