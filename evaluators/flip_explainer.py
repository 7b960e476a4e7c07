"""The rule of `attribution` (its module docstring): which diff changes explain one flip.

Flips repeat a few patterns (rules that fired, policy flags, models and indexes on the path), so each
pattern is explained once and memoised. Shift-only moves come from a longest common subsequence of the
two orders of the shared items.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from routelab.evaluators.attribution_types import (
    ROUTE_FIELDS,
    ChangeRef,
    Role,
    change_key,
)
from routelab.router_core.canonical import references
from routelab.router_core.identity import Change, RouterDiff
from routelab.router_core.validate import Router

if TYPE_CHECKING:
    pass  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet

_MATCHING = ("added", "removed", "moved")


def affects(change: Change) -> bool:
    """False for a change that touches only a `description`: it cannot explain a flip."""
    return change.fields != ("description",)


class Flip(NamedTuple):
    """What the explanation of a flip depends on (many flips share one)."""

    base_rule: str
    cand_rule: str
    base_flags: tuple[str, ...]
    cand_flags: tuple[str, ...]
    models: frozenset[str]
    indexes: frozenset[str]


class Explainer:
    """Explains flips from the diff's structure; memoised, since flips repeat a few patterns."""

    def __init__(self, diff: RouterDiff, base: Router, cand: Router) -> None:
        self.changes = [c for c in diff.changes if affects(c)]
        self.base, self.cand = base, cand
        self.signal_names = {s.spec.name for s in base.signals} | {s.spec.name for s in cand.signals}
        self.hard = {
            p.policy.id for r in (base, cand) for p in r.policies if p.policy.kind in ("privacy", "region")
        }
        self.shifted = {
            "rules": _shift_only([r.rule.id for r in base.rules], [r.rule.id for r in cand.rules]),
            "policies": _shift_only(
                [p.policy.id for p in base.policies], [p.policy.id for p in cand.policies]
            ),
            "models": _shift_only([m.id for m in base.config.models], [m.id for m in cand.config.models]),
        }
        self.memo: dict[Flip, tuple[tuple[str, Role], ...]] = {}

    def shift_only(self, c: Change | ChangeRef) -> bool:
        """A move that only reflects other items moving (see `_shift_only`)."""
        return c.change == "moved" and c.item in self.shifted.get(c.section, set())

    def find(self, section: str, items: Iterable[str], ok: Callable[[Change], bool]) -> list[Change]:
        wanted = set(items)
        return [c for c in self.changes if c.section == section and c.item in wanted and ok(c)]

    def rules(self, ids: Iterable[str], kinds: Sequence[str]) -> list[Change]:
        return self.find(
            "rules", ids, lambda c: c.change in kinds or (c.change == "changed" and "when" in c.fields)
        )

    def signals(self, names: Iterable[str]) -> list[Change]:
        return self.find("signals", names, lambda c: c.change != "moved")

    def refs(self, nodes: Iterable[Any]) -> set[str]:
        out: set[str] = set()
        for node in nodes:
            out |= {n.split(".", 1)[0] for n in references(node) if not n.startswith("attrs.")}
        return out & self.signal_names

    def rule_nodes(self, rule_id: str, what: Literal["when", "confidence"]) -> list[Any]:
        nodes = []
        for router in (self.base, self.cand):
            for cr in router.rules:
                if cr.rule.id == rule_id:
                    nodes.append(getattr(cr, what))
            if rule_id == "default" and what == "confidence":
                nodes.append(router.default_confidence)
        return nodes

    @staticmethod
    def before(router: Router, rule_id: str) -> list[str]:
        ids = [cr.rule.id for cr in router.rules]
        return ids[: ids.index(rule_id)] if rule_id in ids else ids

    def explain(self, f: Flip) -> tuple[tuple[str, Role], ...]:
        if f not in self.memo:
            self.memo[f] = tuple(self._explain(f).items())
        return self.memo[f]

    def _explain(self, f: Flip) -> dict[str, Role]:
        out: dict[str, Role] = {}

        def add(*groups: tuple[Iterable[Change], Role]) -> None:
            """One step: its changes in diff order, moves that are shifts only last."""
            pairs = [(c, role) for changes, role in groups for c in changes]
            for c, role in sorted(pairs, key=lambda p: self.shift_only(p[0])):
                out.setdefault(change_key(c), role)

        if f.base_rule != f.cand_rule:
            add(
                (self.rules([f.cand_rule], ("added", "moved")), "candidate_rule"),
                (self.rules([f.base_rule], ("removed", "moved")), "base_rule"),
            )
            if not out:
                earlier = self.before(self.cand, f.cand_rule) + self.before(self.base, f.base_rule)
                add((self.rules(earlier, _MATCHING), "earlier_rule"))
            if not out:
                when = self.rule_nodes(f.base_rule, "when") + self.rule_nodes(f.cand_rule, "when")
                add((self.signals(self.refs(when)), "rule_signal"))
        differing, both = set(f.base_flags) ^ set(f.cand_flags), set(f.base_flags) & set(f.cand_flags)
        add(
            (
                self.find(
                    "policies",
                    differing | both,
                    lambda c: (
                        c.item in differing
                        or c.change == "moved"
                        or bool(set(c.fields) - {"when", "description"})
                    ),
                ),
                "policy",
            )
        )
        if f.base_rule == f.cand_rule:
            section, item = ("default", "default") if f.cand_rule == "default" else ("rules", f.cand_rule)
            add((self.find(section, [item], lambda c: bool(ROUTE_FIELDS & set(c.fields))), "route"))
        flagged = bool(f.base_flags or f.cand_flags)
        add(
            (self.find("models", f.models, lambda c: c.change != "moved" or flagged), "model"),
            (self.find("indexes", f.indexes, lambda c: True), "index"),
        )
        if not out:
            nodes = [p.when for r in (self.base, self.cand) for p in r.policies if p.policy.id in differing]
            if f.base_rule == f.cand_rule:
                nodes += self.rule_nodes(f.cand_rule, "confidence")
            add((self.signals(self.refs(nodes)), "signal"))
        if not out and flagged:
            add((self.find("policies", self.hard, lambda c: True), "constraint"))
        if not out:
            add(([c for c in self.changes if c.section in ("tiers", "defaults")], "global"))
        return out


def _lis(seq: Sequence[int]) -> int:
    """Length of the longest increasing subsequence (patience sorting)."""
    tails: list[int] = []
    for x in seq:
        i = bisect.bisect_left(tails, x)
        tails[i : i + 1] = [x]
    return len(tails)


def _shift_only(before: Sequence[str], after: Sequence[str]) -> set[str]:
    """Shared items that keep their relative order in every minimal explanation of a reordering.

    The diff reports `moved` for every item whose position among the shared items changed, so moving one
    rule up three places also reports the three it jumped over. The items of every longest common
    subsequence of the two orders stayed put relative to each other; the rest are the ones really moved.
    """
    shared = set(before) & set(after)
    pos = {k: i for i, k in enumerate(k for k in before if k in shared)}
    seq = [pos[k] for k in after if k in shared]
    best = _lis(seq)
    return {k for i, k in enumerate(k for k in after if k in shared) if _lis(seq[:i] + seq[i + 1 :]) < best}
