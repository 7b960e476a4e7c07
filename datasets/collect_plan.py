"""Planning a collection run: the seeded sample, the models and prices it needs, and what is left to do.

Everything here runs before any model is called, so a bad option (no replay, an unknown model, a model
without a price) fails while nothing has been paid.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from routelab.datasets.collect_litellm import CollectError
from routelab.datasets.store import Store
from routelab.router_core.pricing import ModelPrice, PriceTable
from routelab.router_core.validate import Router

#: Prompt tokens are stored as cl100k counts; other providers' tokenizers count up to ~25 % more, and the
#: chat framing adds a few tokens per message. The budget estimate pads by both to stay an upper bound.
INPUT_MARGIN = 1.25
FRAMING_TOKENS = 16
#: Boundary under which raw text may be sent (ModelSpec.boundary); every other boundary gets masked text.
PRIVATE = "private"


@dataclass(frozen=True)
class CollectOptions:
    """What a collection run collects (kept with the run, so a resume collects the same)."""

    sample: int
    """How many stored requests to sample."""
    models: tuple[str, ...] = ()
    """Candidate models for full-information outcomes; `("all",)` means every model of the version."""
    judge: str | None = None
    """The judge model scoring each answer 1–10, or None for no quality score."""
    seed: int = 0
    """Seed of the sample."""
    replace: bool = False
    """Call even where the store already holds that outcome (from an import), and overwrite it."""


@dataclass(frozen=True)
class Work:
    """One sampled request and the calls it still needs."""

    request_id: str
    prompt: str
    prompt_tokens: float
    """Stored prompt tokens (else characters / 4), for the budget estimate."""
    max_tokens: int
    """The request's expected output tokens, else the version's default."""
    eval_group: str | None
    path: dict[str, Any]
    """The decided path (model, fallbacks, action, ...)."""
    logged: bool
    """Whether the chosen path's (logged) outcome is still to collect."""
    full_models: tuple[str, ...]
    """Candidate models whose full-information outcome is still to collect."""

    @property
    def chosen(self) -> str:
        """The model the version chose."""
        return str(self.path["model"])

    @property
    def fallbacks(self) -> tuple[str, ...]:
        """The path's fallbacks, in order."""
        return tuple(self.path.get("fallbacks") or ())


@dataclass(frozen=True)
class Remaining:
    """What a run (or a resume) still has to do."""

    works: list[Work] = field(default_factory=list)
    """The requests with outcomes left to collect, in sample order."""
    n_done: int = 0
    """Outcomes of the sample this run already recorded (skipped)."""
    n_existing: int = 0
    """Outcomes of the sample the store held from elsewhere (skipped unless `replace`)."""


def candidate_models(router: Router, models: Sequence[str]) -> tuple[str, ...]:
    """`--models`: `all` → every model of the version; else the names, each checked against the version."""
    if not models:
        return ()
    if list(models) == ["all"]:
        return tuple(router.models)
    unknown = [m for m in models if m not in router.models]
    if unknown:
        raise CollectError(
            f"--models: {', '.join(unknown)} not in {router.ref}; its models: {', '.join(router.models)}"
        )
    return tuple(dict.fromkeys(models))


def sample_paths(store: Store, ref: str, n: int, seed: int) -> list[dict[str, Any]]:
    """A seeded sample of `n` requests the version decided to send to a model (blocked ones and requests
    without a prompt are never sent): `[{request_id, path}]`.

    Raises:
        CollectError: the version has no decisions (run `routelab replay` first), or `n` < 1.
    """
    if n < 1:
        raise CollectError(f"--sample must be at least 1 (got {n})")
    if not store.scalar("SELECT count(*) FROM decisions WHERE router = ?", [ref]):
        raise CollectError(f"no decisions of {ref} in {store.path}; run `routelab replay {ref}` first")
    rows = store.execute(
        "SELECT d.request_id, d.model, d.retrieval, d.context_tokens, d.cache, d.escalation, d.fallbacks, "
        "d.action FROM decisions d JOIN requests r USING (request_id) "
        "WHERE d.router = ? AND d.model IS NOT NULL AND r.prompt IS NOT NULL ORDER BY d.request_id",
        [ref],
    ).fetchall()
    picked = sorted(random.Random(seed).sample(range(len(rows)), min(n, len(rows))))
    keys = ("model", "retrieval", "context_tokens", "cache", "escalation", "fallbacks", "action")
    return [{"request_id": rows[i][0], "path": dict(zip(keys, rows[i][1:], strict=True))} for i in picked]


def needed_prices(
    router: Router, table: PriceTable, sample: list[dict[str, Any]], models: Sequence[str], judge: str | None
) -> dict[str, ModelPrice]:
    """The price of every model the run may call: its `price:` override, else the stamped table's.

    Raises:
        CollectError: naming every model without a price (never a silent $0).
    """
    wanted = {s["path"]["model"] for s in sample} | {f for s in sample for f in s["path"]["fallbacks"] or ()}
    wanted |= set(models) | ({judge} if judge else set())
    out: dict[str, ModelPrice] = {}
    for model in sorted(wanted):
        spec = router.models.get(model)
        if spec is not None and spec.price is not None:
            out[model] = ModelPrice(
                input_per_token=spec.price.input_per_token, output_per_token=spec.price.output_per_token
            )
        elif model in table.prices:
            out[model] = table.prices[model]
    missing = sorted(wanted - set(out))
    if missing:
        raise CollectError(
            f"no price for model(s) {', '.join(missing)} in price table `{table.source}`; add a `price:` "
            "override to the router config or an entry to the price overrides (`routelab prices snapshot`)"
        )
    return out


def estimate_usd(price: ModelPrice, prompt_tokens: float, max_tokens: int) -> float:
    """An upper bound of one call's cost before sending it: padded prompt tokens plus all of `max_tokens`."""
    padded = math.ceil(prompt_tokens * INPUT_MARGIN) + FRAMING_TOKENS
    return padded * price.input_per_token + max_tokens * price.output_per_token


def call_cost(
    price: ModelPrice, input_tokens: int | None, output_tokens: int | None, estimate: float
) -> float:
    """The price-table cost of an answered call from its usage; the estimate when usage is missing."""
    if input_tokens is None or output_tokens is None:
        return estimate
    return input_tokens * price.input_per_token + output_tokens * price.output_per_token


def _stored_keys(store: Store, ids: list[str]) -> dict[tuple[str, str, str], str | None]:
    """(request_id, model, kind) → import_id of the stored outcomes of these requests."""
    if not ids:
        return {}
    rows = store.execute(
        "SELECT request_id, model, kind, import_id FROM outcomes WHERE list_contains(?, request_id)", [ids]
    ).fetchall()
    return {(r[0], r[1], r[2]): r[3] for r in rows}


def _sample_keys(sample: list[dict[str, Any]], models: Sequence[str]) -> list[tuple[str, str, str]]:
    return [
        key
        for s in sample
        for key in [(s["request_id"], s["path"]["model"], "logged")]
        + [(s["request_id"], m, "full") for m in models]
    ]


def existing_elsewhere(store: Store, run_id: str, sample: list[dict[str, Any]], models: Sequence[str]) -> int:
    """How many outcomes the sample would collect are held in the store from another source."""
    stored = _stored_keys(store, [s["request_id"] for s in sample])
    return sum(1 for key in _sample_keys(sample, models) if key in stored and stored[key] != run_id)


def plan_work(
    store: Store, run_id: str, router: Router, sample: list[dict[str, Any]], options: CollectOptions
) -> Remaining:
    """The sample's remaining work: outcomes recorded by this run are done; outcomes from elsewhere are
    skipped unless `options.replace`."""
    ids = [s["request_id"] for s in sample]
    existing: dict[tuple[str, str, str], str | None] = {}
    if ids:
        rows = store.execute(
            "SELECT request_id, model, kind, import_id FROM outcomes WHERE list_contains(?, request_id)",
            [ids],
        ).fetchall()
        existing = {(r[0], r[1], r[2]): r[3] for r in rows}
    requests = {
        r[0]: r[1:]
        for r in store.execute(
            "SELECT request_id, prompt, prompt_tokens, expected_output_tokens, workflow FROM requests "
            "WHERE list_contains(?, request_id)",
            [ids],
        ).fetchall()
    }
    models = candidate_models(router, options.models)
    default_out = router.config.defaults.expected_output_tokens
    works: list[Work] = []
    n_done = n_existing = 0

    def todo(key: tuple[str, str, str]) -> bool:
        nonlocal n_done, n_existing
        if key not in existing:
            return True
        if existing[key] == run_id:
            n_done += 1
            return False
        n_existing += 1
        return options.replace

    for item in sample:
        rid, path = item["request_id"], item["path"]
        if rid not in requests:
            raise CollectError(f"request {rid} of the run's sample is no longer in {store.path}")
        prompt, prompt_tokens, expected, workflow = requests[rid]
        logged = todo((rid, path["model"], "logged"))
        full = tuple(m for m in models if todo((rid, m, "full")))
        if not logged and not full:
            continue
        tokens = float(prompt_tokens) if prompt_tokens is not None else float(math.ceil(len(prompt) / 4))
        works.append(
            Work(
                rid,
                prompt,
                tokens,
                int(expected if expected is not None else default_out),
                workflow,
                path,
                logged,
                full,
            )
        )
    return Remaining(works, n_done, n_existing)


def sample_json(sample: list[dict[str, Any]]) -> str:
    """The sample as stored with the run."""
    return json.dumps(sample, sort_keys=True, ensure_ascii=False, default=list)
