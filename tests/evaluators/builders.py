"""Small builders for evaluator tests: decision and label rows in the store's shape."""

from __future__ import annotations

import json
from typing import Any

MODEL_TIERS = {"s1": "small", "s2": "small", "m1": "medium", "l1": "large"}


def make_decision(
    request_id: str,
    model: str | None = "s1",
    *,
    retrieval: str | None = None,
    cache: str = "bypass",
    escalation: str = "none",
    action: str = "allow",
    cost: float = 1.0,
    latency: float = 100.0,
    router: str = "acme@1",
) -> dict[str, Any]:
    """A `decisions` row; the tier follows the model."""
    return {
        "router": router,
        "request_id": request_id,
        "model": model,
        "tier": MODEL_TIERS.get(model) if model else None,
        "retrieval": retrieval,
        "context_tokens": 4000,
        "cache": cache,
        "escalation": escalation,
        "action": action,
        "rule_id": "r",
        "est_cost_usd": cost,
        "est_latency_ms": latency,
        "policy_flags": [],
    }


def make_label(request_id: str, *paths: dict[str, Any], abstain: bool = False) -> dict[str, Any]:
    """A `labels` row (acceptable paths best first, as JSON text)."""
    return {"request_id": request_id, "source": "test", "abstain": abstain, "acceptable": json.dumps(paths)}
