"""The "Operations" section: the questions a gateway owner asks of production traffic, each answered by one
sentence for a leader and a short table.

Read from the bundle's `ops` key (`app.ops_flow.ops_summary` over the logged calls in the candidate's
traffic window, five rows per table): expensive prompt groups, failures and latency by workflow, fallbacks
and what they cost, traffic and cost per team week over week, cache value, and budgets when any were given.
The numbers are logged outcomes (what production saw), not the router's estimates of the replay.
A bundle without the key, or a window without logged calls, gives `available` False and a `missing` text
saying why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from routelab.reports.formatting import Text, derived, interval, missing, num, path
from routelab.reports.tables import Table, est, table

#: Fallback spikes named in the fallback sentence.
SPIKES_LISTED = 3
#: Reliability tables of the summary (key, slice field); `failing_models` shows once the summary has it.
RELIABILITY = (("failing_workflows", "workflow"), ("failing_models", "model"))


class Block(BaseModel):
    """One question of the section: its title, the sentence that answers it and the table behind it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(description="A stable id (HTML anchors, tests).")
    title: str = Field(description="The question, as a heading.")
    sentences: tuple[Text, ...] = Field(description="The answer for a leader, numbers marked.")
    tables: tuple[Table, ...] = Field(description="The rows behind it (none, one, or one per slice field).")


def _rows(bundle: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    return list((bundle.get("ops") or {}).get(key) or [])


def _at(key: str, i: int, *rest: str | int) -> str:
    return path("ops", key, i, *rest)


def _change(bundle: Mapping[str, Any], at: str) -> Text:
    """A week-over-week relative change, signed, or n/a."""
    return (num(bundle, at, "rate", signed=True),)


def scope(bundle: Mapping[str, Any]) -> Text:
    """Which traffic: the logged calls' span, count, cost and tokens, and the window asked for."""
    ops = bundle["ops"]
    window = ops.get("window") or {}
    since, until = window.get("since"), window.get("until")
    asked = (
        f" (the candidate's window, {since or 'the start'} to {until or 'the end'})" if since or until else ""
    )
    first, last = (str(ops.get(k) or "n/a")[:10] for k in ("first_ts", "last_ts"))
    return (
        f"Logged production calls from {first} to {last}{asked}: ",
        num(bundle, "ops.n", "count"),
        " calls costing ",
        num(bundle, "ops.cost_usd", "usd"),
        " for ",
        num(bundle, "ops.tokens", "count"),
        " tokens. These are the gateway's logs (what production saw), not the replay's estimates.",
    )


def prompts(bundle: Mapping[str, Any]) -> Block | None:
    """Which prompt groups cost the most."""
    rows = _rows(bundle, "expensive_prompts")
    if not rows:
        return None
    share = sum(r.get("cost_share") or 0 for r in rows)
    top = rows[0]
    sentence: list[Any] = [
        f"The {len(rows)} costliest prompt groups take ",
        derived(share, "rate"),
        " of logged spend; the top one, “",
        str(top.get("prompt_group") or "(no prompt)"),
        f"” ({top.get('workflow')}, team {top.get('team')}), cost ",
        num(bundle, _at("expensive_prompts", 0, "cost_usd"), "usd"),
        " over ",
        num(bundle, _at("expensive_prompts", 0, "requests"), "count"),
        " calls",
    ]
    if not missing(top.get("cost_change")):
        sentence += [", ", *_change(bundle, _at("expensive_prompts", 0, "cost_change")), " week over week"]
    cells = [
        [
            str(r.get("prompt_group") or "(no prompt)"),
            str(r.get("workflow")),
            str(r.get("team")),
            num(bundle, _at("expensive_prompts", i, "requests"), "count"),
            num(bundle, _at("expensive_prompts", i, "cost_usd"), "usd"),
            num(bundle, _at("expensive_prompts", i, "cost_share"), "rate"),
            _change(bundle, _at("expensive_prompts", i, "cost_change")),
        ]
        for i, r in enumerate(rows)
    ]
    t = table(
        "ops-prompts",
        "Prompt groups (prompts normalised to a template: lower case, numbers, ids and e-mail addresses "
        "masked) by total logged cost, with their most frequent workflow and team.",
        ("prompt group", "workflow", "team", "calls", "cost", "share of spend", "cost, week over week"),
        cells,
    )
    return Block(key="ops-prompts", title="Where the money goes", sentences=((*sentence, "."),), tables=(t,))


def failures(bundle: Mapping[str, Any]) -> Block | None:
    """Which workflows error, time out or go unanswered, and how slow they are."""
    rows = _rows(bundle, "failing_workflows")
    if not rows:
        return None
    worst = _at("failing_workflows", 0)
    sentence: list[Any] = [
        f"{rows[0]['value']} has the highest error rate: ",
        num(bundle, f"{worst}.error_rate.value", "rate"),
        " of its ",
        num(bundle, f"{worst}.requests", "count"),
        " calls (",
        *interval(bundle, f"{worst}.error_rate", "rate", signed=False),
        "); ",
        num(bundle, f"{worst}.timeout_rate.value", "rate"),
        " time out and ",
        num(bundle, f"{worst}.failure_rate.value", "rate"),
        " get no answer even after fallbacks",
    ]
    timed = [(i, r) for i, r in enumerate(rows) if not missing(r.get("latency_p95_ms"))]
    if timed:
        i, slow = max(timed, key=lambda item: item[1]["latency_p95_ms"])
        sentence += [
            f". The slowest workflow is {slow['value']}, p95 latency ",
            num(bundle, _at("failing_workflows", i, "latency_p95_ms"), "ms"),
        ]
    tables = [_reliability(bundle, key, field) for key, field in RELIABILITY]
    return Block(
        key="ops-failures",
        title="What fails and what is slow",
        sentences=((*sentence, "."),),
        tables=tuple(t for t in tables if t is not None),
    )


def _reliability(bundle: Mapping[str, Any], key: str, field: str) -> Table | None:
    rows = _rows(bundle, key)
    if not rows:
        return None
    cells = [
        [
            str(r["value"]),
            num(bundle, _at(key, i, "requests"), "count"),
            est(bundle, _at(key, i, "error_rate"), "rate"),
            est(bundle, _at(key, i, "timeout_rate"), "rate"),
            est(bundle, _at(key, i, "failure_rate"), "rate"),
            num(bundle, _at(key, i, "latency_p95_ms"), "ms"),
        ]
        for i, r in enumerate(rows)
    ]
    return table(
        f"ops-{key.replace('_', '-')}",
        f"Errors, time-outs and calls left unanswered (no fallback answered) per {field}, worst error rate "
        "first, with Wilson 95 % intervals; logged p95 latency without cache hits.",
        (field, "calls", "errors", "time-outs", "no answer", "p95 latency"),
        cells,
    )


def _served(bundle: Mapping[str, Any], i: int, served: Mapping[str, Any]) -> Text:
    out: list[Any] = []
    for model in served:
        out += [
            "; " if out else "",
            f"{model} ",
            num(bundle, _at("fallbacks", i, "served_by", model), "count"),
        ]
    return tuple(out)


def _spikes(bundle: Mapping[str, Any]) -> Text:
    ops = bundle["ops"]
    spikes = _rows(bundle, "fallback_spikes")
    total = int(ops.get("n_fallback_spikes", len(spikes)))
    if not total:
        return ("No day's fallback rate rose significantly above its model's rate over the window "
                "(Benjamini–Hochberg).",)  # fmt: skip
    text: list[Any] = [derived(total, "count"), " day(s) with a fallback spike (Benjamini–Hochberg): "]
    for k, s in enumerate(spikes[:SPIKES_LISTED]):
        at = _at("fallback_spikes", k)
        text += [
            "; " if k else "",
            f"{s['model']} on {s['day']}, ",
            num(bundle, f"{at}.fallback_rate.value", "rate"),
            " of ",
            num(bundle, f"{at}.requests", "count"),
            " calls",
        ]
    more = f", and {total - SPIKES_LISTED} more" if total > SPIKES_LISTED else ""
    return (*text, more, ".")


def fallbacks(bundle: Mapping[str, Any]) -> Block | None:
    """Where fallbacks trigger, what answered instead and what it cost."""
    rows = _rows(bundle, "fallbacks")
    if not rows:
        return None
    extra = sum(r.get("extra_cost_usd") or 0 for r in rows)
    top = _at("fallbacks", 0)
    served = rows[0].get("served_by") or {}
    sentence: list[Any] = [
        "In the ",
        derived(len(rows), "count"),
        " lanes falling back most, fallbacks answered ",
        derived(sum(int(r.get("fallbacks") or 0) for r in rows), "count"),
        " calls and added about ",
        derived(extra, "usd"),
        " to spend; the most: ",
        f"{rows[0]['model']} in {rows[0]['workflow']}, ",
        num(bundle, f"{top}.fallbacks", "count"),
        " calls (",
        num(bundle, f"{top}.fallback_rate.value", "rate"),
        ")",
    ]
    if served:
        sentence += [", answered by ", next(iter(served))]
    if not missing(rows[0].get("cost_ratio")):
        sentence += [" at ", num(bundle, f"{top}.cost_ratio", "ratio"), "× the primary's median cost"]
    cells = [
        [
            str(r["model"]),
            str(r["workflow"]),
            num(bundle, _at("fallbacks", i, "fallbacks"), "count"),
            est(bundle, _at("fallbacks", i, "fallback_rate"), "rate"),
            _served(bundle, i, r.get("served_by") or {}),
            (num(bundle, _at("fallbacks", i, "cost_ratio"), "ratio"), "×"),
            num(bundle, _at("fallbacks", i, "extra_cost_usd"), "usd", signed=True),
        ]
        for i, r in enumerate(rows)
    ]
    t = table(
        "ops-fallbacks",
        "Fallbacks per primary model and workflow, most first: the rate (Wilson 95 % interval), which model "
        "answered, its median cost against the primary's clean calls, and the cost the fallbacks added.",
        ("primary model", "workflow", "fallbacks", "rate", "answered by", "cost vs primary", "added cost"),
        cells,
    )
    return Block(
        key="ops-fallbacks",
        title="Fallbacks and what they cost",
        sentences=((*sentence, "."), _spikes(bundle)),
        tables=(t,),
    )


def _movers(bundle: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    changed = [(i, r) for i, r in enumerate(rows) if not missing(r.get("cost_change"))]
    if not changed:
        return []
    up = max(changed, key=lambda item: item[1]["cost_change"])
    down = min(changed, key=lambda item: item[1]["cost_change"])
    comparison = bundle["ops"].get("comparison") or {}
    text: list[Any] = [
        f" Week over week ({comparison.get('last_week')} against {comparison.get('previous_week')}, "
        f"the first {comparison.get('days')} days of each), cost grows fastest for {up[1]['value']} (",
        *_change(bundle, _at("teams", up[0], "cost_change")),
        ")",
    ]
    if down[0] != up[0]:
        verb = "falls most" if down[1]["cost_change"] < 0 else "grows least"
        text += [
            f" and {verb} for {down[1]['value']} (",
            *_change(bundle, _at("teams", down[0], "cost_change")),
            ")",
        ]
    return [*text, "."]


def teams(bundle: Mapping[str, Any]) -> Block | None:
    """Which teams send the most traffic and spend the most, and how that moved week over week."""
    rows = _rows(bundle, "teams")
    if not rows:
        return None
    sentence: list[Any] = [
        f"Team {rows[0]['value']} spends the most: ",
        num(bundle, _at("teams", 0, "cost_usd"), "usd"),
        " (",
        num(bundle, _at("teams", 0, "cost_share"), "rate"),
        " of spend) over ",
        num(bundle, _at("teams", 0, "requests"), "count"),
        " calls.",
    ]
    if bundle["ops"].get("comparison"):
        sentence += _movers(bundle, rows)
    else:
        sentence.append(" Under two weeks of traffic: no week-over-week change.")
    cells = [
        [
            str(r["value"]),
            num(bundle, _at("teams", i, "requests"), "count"),
            num(bundle, _at("teams", i, "tokens"), "count"),
            num(bundle, _at("teams", i, "cost_usd"), "usd"),
            num(bundle, _at("teams", i, "cost_share"), "rate"),
            _change(bundle, _at("teams", i, "requests_change")),
            _change(bundle, _at("teams", i, "cost_change")),
        ]
        for i, r in enumerate(rows)
    ]
    t = table(
        "ops-teams",
        "Traffic and logged cost per team, most cost first; week over week compares the first days of the "
        "latest ISO week with the same days of the week before.",
        ("team", "calls", "tokens", "cost", "share of spend", "calls, w/w", "cost, w/w"),
        cells,
    )
    return Block(
        key="ops-teams", title="Traffic and cost per team", sentences=(tuple(sentence),), tables=(t,)
    )


def caching(bundle: Mapping[str, Any]) -> Block | None:
    """What the cache saves, where, and how many of its answers were judged wrong."""
    rows = _rows(bundle, "caching")
    if not rows:
        return None
    hits = sum(int(r.get("hits") or 0) for r in rows)
    judged = (
        num(bundle, "ops.cache_judged_different", "count")
        if "cache_judged_different" in bundle["ops"]
        else None
    )
    sentence: list[Any]
    if not hits:
        sentence = ["No call was answered from the cache in the window."]
    else:
        sentence = [
            "The cache answered ",
            derived(hits, "count"),
            " calls, saving about ",
            derived(sum(r.get("saved_usd") or 0 for r in rows), "usd"),
            " and ",
            derived(sum(r.get("tokens_saved") or 0 for r in rows), "count"),
            f" tokens, most in {rows[0]['workflow']} (hit rate ",
            num(bundle, _at("caching", 0, "hit_rate", "value"), "rate"),
            ")",
        ]
        if judged is not None:
            sentence += ["; ", judged, " cache hit(s) were judged a different answer than the request needed"]
        sentence.append(".")
    cells = [
        [
            str(r["workflow"]),
            num(bundle, _at("caching", i, "hits"), "count"),
            est(bundle, _at("caching", i, "hit_rate"), "rate"),
            num(bundle, _at("caching", i, "tokens_saved"), "count"),
            num(bundle, _at("caching", i, "saved_usd"), "usd"),
            num(bundle, _at("caching", i, "judged_bypass"), "count"),
        ]
        for i, r in enumerate(rows)
    ]
    t = table(
        "ops-caching",
        "Cache hits per workflow, most saved first: hit rate (Wilson 95 % interval), tokens and USD the hits "
        "did not spend (estimated from the workflow's other calls), hits whose gold label says bypass.",
        ("workflow", "hits", "hit rate", "tokens saved", "saved", "judged must bypass"),
        cells,
    )
    return Block(
        key="ops-caching", title="What the cache is worth", sentences=(tuple(sentence),), tables=(t,)
    )


def budget(bundle: Mapping[str, Any]) -> Block:
    """Month-to-date spend against team budgets, or that none were given."""
    doc = bundle["ops"].get("budget") or {}
    rows = list(doc.get("teams") or [])
    given = [(i, r) for i, r in enumerate(rows) if r.get("budget_usd") is not None]
    if not given:
        return Block(
            key="ops-budget",
            title="Budgets",
            sentences=(
                (
                    "No team budgets were given, so spend is not checked against any (`routelab ops "
                    "--budget FILE` projects month-end spend against them).",
                ),
            ),
            tables=(),
        )
    over = [r for _, r in given if r.get("status") in ("over budget", "projected over")]
    sentence: Text = (
        derived(len(over), "count"),
        f" of {len(given)} budgeted team(s) are over budget or projected over it for {doc.get('month')} "
        f"(as of {doc.get('as_of')}, projected linearly to the month's end).",
    )
    cells = [
        [
            str(r["team"]),
            num(bundle, path("ops", "budget", "teams", i, "spent_usd"), "usd"),
            num(bundle, path("ops", "budget", "teams", i, "projected_usd"), "usd"),
            num(bundle, path("ops", "budget", "teams", i, "budget_usd"), "usd"),
            str(r.get("status")),
        ]
        for i, r in given
    ]
    t = table(
        "ops-budget",
        f"Month-to-date spend per budgeted team in {doc.get('month')}, with the linear month-end projection.",
        ("team", "spent", "projected", "budget", "status"),
        cells,
    )
    return Block(key="ops-budget", title="Budgets", sentences=(sentence,), tables=(t,))


def _missing(bundle: Mapping[str, Any]) -> str | None:
    """Why the section has nothing to show, or None when it has."""
    ops = bundle.get("ops")
    if not isinstance(ops, Mapping):
        return "This report bundle carries no operations summary (it was built before reports had one)."
    if ops.get("n"):
        return None
    store = ops.get("store_logged") or {}
    if not store.get("n"):
        return (
            "The store holds no logged production calls, so there are no operations numbers to show. Import "
            "gateway logs (`routelab import FILE --format litellm-spend` or `openai-chat`) to see spend, "
            "failures, fallbacks, traffic per team and caching here."
        )
    window = ops.get("window") or {}
    return (
        f"No logged production call falls in the candidate's window ({window.get('since') or 'the start'} to "
        f"{window.get('until') or 'the end'}); the store's {int(store['n']):,} logged calls run from "
        f"{store.get('first_ts')} to {store.get('last_ts')}."
    )


def section(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the section shows: `available`, `missing` (why not), `scope`, `blocks` and `notes`."""
    why = _missing(bundle)
    if why is not None:
        return {"available": False, "missing": why, "scope": None, "blocks": [], "notes": []}
    found = (
        prompts(bundle),
        failures(bundle),
        fallbacks(bundle),
        teams(bundle),
        caching(bundle),
        budget(bundle),
    )
    return {
        "available": True,
        "missing": None,
        "scope": scope(bundle),
        "blocks": [b for b in found if b is not None],
        "notes": [str(n) for n in bundle["ops"].get("notes") or []],
    }
