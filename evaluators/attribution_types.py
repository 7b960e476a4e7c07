"""Result models of `attribution`, its rule text and the decision columns it reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from routelab.evaluators.errors import EvaluatorError
from routelab.router_core.identity import Change, Section

if TYPE_CHECKING:
    pass  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet

ATTRIBUTION_RULE = (
    "different rule fired: candidate's rule if added/moved/when-changed, base's rule if removed/moved/"
    "when-changed, else earlier added/removed/moved/when-changed rules, else changed signals they reference; "
    "differing policy flags: those policies if changed; same rule: its route/confidence change; models and "
    "indexes on the path if changed; else signals of differing policies, hard policies, tiers/defaults; "
    "shift-only moves after real ones; counts shared (every change listed), primary = first listed"
)
FLIP_COMPONENTS = ("model", "retrieval", "escalation", "action")
DECISION_COLUMNS = ("request_id", *FLIP_COMPONENTS, "rule_id", "policy_flags", "est_cost_usd")
CORRECTNESS_COLUMNS = ("request_id", "base_correct", "cand_correct")
ROUTE_FIELDS = frozenset(
    {"route.model", "route.retrieval", "route.context_tokens", "route.escalation", "confidence"}
)
Role = Literal[
    "candidate_rule",
    "base_rule",
    "earlier_rule",
    "rule_signal",
    "policy",
    "route",
    "model",
    "index",
    "signal",
    "constraint",
    "global",
]
Outcome = Literal["fixed", "broken", "both_right", "both_wrong", "unlabelled"]


class AttributionError(EvaluatorError):
    """The diff, routers and decisions do not belong together."""


class ChangeRef(BaseModel):
    """One change of the router diff, without its before/after bodies."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    section: Section = Field(description="Which part of the config changed.")
    item: str = Field(description="The id or name of the item (or the section name).")
    change: Literal["added", "removed", "changed", "moved"] = Field(description="What happened to it.")
    fields: tuple[str, ...] = Field(default=(), description="Changed fields (dotted), for `changed`.")

    @property
    def key(self) -> str:
        """`section:change:item`, unambiguous (section and change never hold a colon)."""
        return change_key(self)


class Impact(BaseModel):
    """How many flips, what they cost and what they did to accuracy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    flips: int = Field(description="Flips counted.")
    cost_delta_usd: float = Field(description="Sum of candidate − base est_cost_usd over those flips.")
    labelled: int | None = Field(description="Flips with both correctness values known; None without them.")
    fixed: int | None = Field(description="Base wrong, candidate right; None without correctness.")
    broken: int | None = Field(description="Base right, candidate wrong; None without correctness.")
    net: int | None = Field(description="fixed − broken; None without correctness.")


class ChangeAttribution(BaseModel):
    """The flips one diff change accounts for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    change: ChangeRef = Field(description="The diff change.")
    affects_routing: bool = Field(description="False when only a description changed (it explains nothing).")
    shift_only: bool = Field(
        description="A `moved` item that only shifted because others moved (it keeps its place relative to "
        "the rest in every longest common subsequence of the two orders); listed after real moves."
    )
    shared: Impact = Field(description="Every flip listing this change (overlaps with other changes).")
    primary: Impact = Field(description="Flips whose primary change this is (splits the flips).")
    roles: dict[str, int] = Field(description="How it explained its flips: role → flips.")
    examples: tuple[str, ...] = Field(description="Request ids of its flips, primary ones first.")


class AttributionParams(BaseModel):
    """Everything that produced an `Attribution`, so it can be recomputed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base: str = Field(description="Base version, `name@version`.")
    candidate: str = Field(description="Candidate version, `name@version`.")
    base_hash: str = Field(description="Base config hash.")
    candidate_hash: str = Field(description="Candidate config hash.")
    examples: int = Field(description="Example request ids kept per change.")
    correctness: bool = Field(description="Whether per-request correctness was given.")
    rule: str = Field(default=ATTRIBUTION_RULE, description="The attribution rule.")
    seed: int | None = Field(default=None, description="Random seed; None: nothing here is random.")


class Attribution(BaseModel):
    """Which diff changes account for which flips between two router versions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    evaluator: Literal["attribution"] = Field(default="attribution", description="The evaluator's name.")
    params: AttributionParams = Field(description="What produced the result.")
    n_requests: int = Field(description="Requests decided by both versions.")
    n_flips: int = Field(description="Requests whose model, retrieval, escalation or action differ.")
    total: Impact = Field(description="All flips.")
    changes: tuple[ChangeAttribution, ...] = Field(description="Every diff change, ranked by flips.")
    unexplained: Impact = Field(description="Flips no diff change explains (should be rare).")
    unexplained_examples: tuple[str, ...] = Field(description="Request ids of unexplained flips.")
    warnings: tuple[str, ...] = Field(description="Data left out, and why.")

    def find(self, section: str, item: str, change: str) -> ChangeAttribution | None:
        """The attribution of one diff change, or None when the diff has no such change."""
        return next(
            (
                c
                for c in self.changes
                if (c.change.section, c.change.item, c.change.change) == (section, item, change)
            ),
            None,
        )


def change_key(change: Change | ChangeRef) -> str:
    """`section:change:item`: how `explain_flips` names a change."""
    return f"{change.section}:{change.change}:{change.item}"
