"""The path a router decides for a request, and the decision record both engines produce."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ESCALATION_NONE = "none"
ESCALATION_HUMAN = "human_review"
ESCALATION_MODEL_PREFIX = "model:"


class Cache(StrEnum):
    """Whether the path may serve the request from the response cache."""

    SERVE = "serve"
    BYPASS = "bypass"


class Action(StrEnum):
    """What the policies let happen to the request, in precedence order block > reroute > redact > allow."""

    ALLOW = "allow"
    REDACT = "redact"
    REROUTE = "reroute"
    BLOCK = "block"


ACTION_PRECEDENCE = {Action.ALLOW: 0, Action.REDACT: 1, Action.REROUTE: 2, Action.BLOCK: 3}

PATH_COMPONENTS = ("model", "retrieval", "context_tokens", "cache", "escalation", "fallbacks", "action")


class PolicyStep(BaseModel):
    """What one policy did to one request, as recorded in the trace."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    policy_id: str = Field(description="The policy's id in the router config.")
    kind: str = Field(
        description="The policy kind (privacy, region, cost_ceiling, latency_target, confidence_floor)."
    )
    applies: bool = Field(description="Whether the policy's `when` condition held for this request.")
    violated: bool = Field(
        description="Whether the path broke the policy's constraint before the policy acted."
    )
    changes: tuple[str, ...] = Field(
        default=(), description="Human-readable changes the policy made to the path."
    )


class RuleStep(BaseModel):
    """One rule tried by the Python engine."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_id: str = Field(description="The rule's id.")
    when: str = Field(description="The rule's condition, in canonical form.")
    matched: bool = Field(description="Whether the condition held.")


class Trace(BaseModel):
    """How the Python engine reached a decision: signals, rules tried, policies applied, the estimate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    signals: dict[str, Any] = Field(
        default_factory=dict, description="Signal values computed for the request."
    )
    rules: tuple[RuleStep, ...] = Field(
        default=(), description="Rules tried in order, up to the first match."
    )
    policies: tuple[PolicyStep, ...] = Field(
        default=(), description="Every policy, in order, and what it did."
    )
    estimate: dict[str, Any] = Field(
        default_factory=dict, description="The inputs of the cost/latency estimate."
    )


class Decision(BaseModel):
    """The path one router version chose for one request, with the rule that fired and the estimates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str = Field(description="The request routed.")
    router: str = Field(description="The router version, `name@version`.")
    model: str | None = Field(description="The model chosen; None when the request is blocked.")
    tier: str | None = Field(description="The chosen model's tier; None when blocked.")
    retrieval: str | None = Field(description="The retrieval index queried, or None for no retrieval.")
    context_tokens: int = Field(description="The context budget in tokens.")
    cache: Cache = Field(description="Serve from cache or bypass it.")
    escalation: str = Field(description="`none`, `human_review` or `model:<id>`.")
    fallbacks: tuple[str, ...] = Field(description="Ordered fallback models.")
    action: Action = Field(description="allow, redact, reroute or block.")
    rule_id: str = Field(description="The rule that fired, or `default`.")
    confidence: float = Field(description="The router's confidence in the decision, in [0, 1].")
    est_cost_usd: float = Field(description="Estimated cost of serving the request on this path, in USD.")
    est_latency_ms: float = Field(description="Estimated p50 latency of the path, in milliseconds.")
    policy_flags: tuple[str, ...] = Field(description="Ids of the policies that changed or flagged the path.")
    trace: Trace | None = Field(
        default=None, description="How the decision was reached (Python engine only)."
    )

    def path(self) -> dict[str, Any]:
        """The path components alone, as plain values (for comparison and labels)."""
        return {
            "model": self.model,
            "retrieval": self.retrieval,
            "context_tokens": self.context_tokens,
            "cache": self.cache.value,
            "escalation": self.escalation,
            "fallbacks": list(self.fallbacks),
            "action": self.action.value,
        }
