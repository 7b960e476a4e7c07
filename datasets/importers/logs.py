"""Production logs: `litellm-spend` (LiteLLM proxy spend logs) and `openai-chat` (chat-completion records).

Each row becomes a request (prompt = the messages as `role: content` blocks joined by blank lines) and one
logged outcome for the model that served it, with `path = {"model": ...}`. The logging policy's propensity
is unknown unless the row carries one (`propensity` in the metadata), so it is usually NULL.

Request attributes come from the metadata: `workflow`, `task`, `team`, `region`, `data_class` keys (for
LiteLLM inside `spend_logs_metadata` or at the top of `metadata`, or as `key:value` request tags); other
scalar keys of `spend_logs_metadata` (LiteLLM) or `metadata` (OpenAI) become attrs.

litellm-spend columns (SpendLogs export, JSON Lines or CSV with JSON-text cells): request_id, model and
startTime required; spend → cost_usd; endTime − startTime (or request_duration_ms) → latency_ms;
completionStartTime − startTime → ttft_ms; prompt/completion_tokens; cache_hit ("True"/"False");
status "failure" → error (from metadata.error_information); team (else the key's team alias, else team_id);
user, end_user, model_group, call_type, request_tags → attrs.

litellm-spend fallbacks: LiteLLM's router stamps `attempted_fallbacks` (0: the model group asked for served)
and `original_model_group` (the group asked for before any fallback) into the request metadata, and the spend
log keeps both in `metadata`, while its `model_group` and `model` columns name the group and the deployment
that served (BerriAI/litellm#38107; the spend-log example in LiteLLM's spend-tracking docs). A row with
attempted_fallbacks ≥ 1 becomes an outcome whose `model` (the primary, also the path's model and the
request's `model_group` attr) is original_model_group and whose `fallback_model` is the `model` column; with
status "failure" no fallback answered, so `fallback_model` stays empty and the error is kept. The primary's
own failure is on no spend-log row, so a served fallback has no `error`. Rows without the keys (proxies
before they existed) record no fallback. The primary is named by its model group, so its fallback rate
counts its clean calls too where group names are model names (`model_name: gpt-4o`).

openai-chat lines: {"id", "created" (Unix seconds), "model", "messages", "usage": {"prompt_tokens",
"completion_tokens"}, "metadata"}; optional routelab extensions at the top level: cost_usd, latency_ms,
ttft_ms, error, cache_hit, propensity, user. No cost unless given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from routelab.datasets.importers import convert
from routelab.datasets.importers.generic import valid_rows
from routelab.datasets.importers.registry import register
from routelab.datasets.importers.source import Loaded, Source

ROUTING_FIELDS = ("workflow", "task", "team", "region", "data_class")
_MISSING = (None, "", "None", "null")


def messages_text(messages: Any) -> str | None:
    """Chat messages as one prompt: `role: content` blocks joined by blank lines (non-text parts as `[type]`).

    Raises:
        ValueError: `messages` is not a list of message objects.
    """
    if messages is None or (isinstance(messages, dict | list) and not messages):
        return None
    if isinstance(messages, str):
        return messages
    if isinstance(messages, dict) and isinstance(messages.get("messages"), list):
        messages = messages["messages"]
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise ValueError(f"expected a list of chat messages, got {convert.shown(messages)}")
    blocks = []
    for msg in messages:
        content = msg.get("content")
        if isinstance(content, list):
            parts = [
                p.get("text", "") if p.get("type") == "text" else f"[{p.get('type')}]"
                for p in content
                if isinstance(p, dict)
            ]
            content = "\n".join(parts)
        elif content is None:
            content = "[tool call]" if msg.get("tool_calls") else ""
        blocks.append(f"{msg.get('role', 'unknown')}: {content}")
    return "\n\n".join(blocks)


def _messages(src: Source, name: str) -> pd.Series:
    def parse(value: Any) -> str | None:
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            value = convert.json_of(list if value.strip()[0] == "[" else dict, value)
        return messages_text(value)

    return convert.per_value(src, name, parse)


def _routing(meta: dict[str, Any], inner: dict[str, Any], tags: list[str]) -> dict[str, str]:
    """workflow/task/team/region/data_class from the inner metadata, the metadata, or `key:value` tags."""
    out: dict[str, str] = {}
    tagged = dict(t.split(":", 1) for t in tags if ":" in t)
    for key in ROUTING_FIELDS:
        for where in (inner, meta, tagged):
            if where.get(key) not in _MISSING:
                out[key] = convert.attrs_entry(where[key])
                break
    return out


def _scalars(meta: dict[str, Any], skip: set[str]) -> dict[str, str]:
    return {
        k: convert.attrs_entry(v)
        for k, v in meta.items()
        if k not in skip and v not in _MISSING and isinstance(v, str | int | float | bool)
    }


def _propensity(value: Any) -> float | None:
    if value in _MISSING:
        return None
    try:
        p = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"propensity must be a number in (0, 1], got {convert.shown(value)}") from None
    if not 0 < p <= 1:
        raise ValueError(f"propensity must be in (0, 1], got {convert.shown(value)}")
    return p


class _FieldProblem(ValueError):
    """A bad value in one metadata key; `field` names it (`metadata.<key>`) for the import error."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field


def _fallback_from(meta: Mapping[str, Any]) -> str | None:
    """The model group first asked for when LiteLLM served the request through a fallback, else None.

    Raises:
        _FieldProblem: `attempted_fallbacks` is not a whole number ≥ 0, or a fallback names no
            `original_model_group`.
    """
    count = meta.get("attempted_fallbacks")
    if count in _MISSING:
        return None
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise _FieldProblem(
            "metadata.attempted_fallbacks",
            f"expected a whole number of fallbacks ≥ 0, got {convert.shown(count)}",
        )
    if count == 0:
        return None
    group = meta.get("original_model_group")
    if group in _MISSING:
        raise _FieldProblem(
            "metadata.original_model_group",
            f"missing while attempted_fallbacks is {count}: name the model group first asked for",
        )
    if not isinstance(group, str) or not group.strip():
        raise _FieldProblem(
            "metadata.original_model_group", f"expected a model group name, got {convert.shown(group)}"
        )
    return group


def _ms(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return ((later - earlier).dt.total_seconds() * 1000).astype("Float64")


LITELLM_FIELDS = (
    "request_id", "model", "startTime", "endTime", "completionStartTime", "request_duration_ms", "spend",
    "prompt_tokens", "completion_tokens", "cache_hit", "messages", "team", "metadata", "request_tags",
    "status", "team_id", "user", "end_user", "model_group", "call_type",
)  # fmt: skip
OPENAI_FIELDS = (
    "id", "model", "created", "messages", "usage", "cost_usd", "latency_ms", "ttft_ms", "cache_hit", "error",
    "metadata", "propensity", "user",
)  # fmt: skip


def _finish(
    src: Source, cols: dict[str, Any], per_row: list[dict[str, Any]], used: tuple[str, ...], id_field: str
) -> Loaded:
    """Requests and logged outcomes from the typed columns and the per-row metadata fields."""
    extra = pd.DataFrame(per_row)
    for key in (*ROUTING_FIELDS, "propensity", "error", "fallback_model"):
        if key not in extra:
            extra[key] = None
    team = cols.pop("team", None)
    if team is not None:
        extra["team"] = team.where(team.notna(), extra["team"]).to_numpy()
    req = {k: cols[k] for k in ("request_id", "ts", "prompt", "prompt_tokens")}
    req |= {k: extra[k].to_numpy(dtype=object) for k in ROUTING_FIELDS}
    req["attrs"] = [convert.as_map(a) for a in extra["attrs"]]
    out = {
        k: cols[k] for k in ("request_id", "model", "cost_usd", "latency_ms", "ttft_ms", "cache_hit", "ts")
    }
    out |= {
        "input_tokens": cols["prompt_tokens"],
        "output_tokens": cols["completion_tokens"],
        "kind": "logged",
    }
    out["error"] = (
        cols["error"].where(cols["error"].notna(), extra["error"])
        if "error" in cols
        else extra["error"].to_numpy()
    )
    out["propensity"] = extra["propensity"].to_numpy(dtype=object)
    out["fallback_model"] = extra["fallback_model"].to_numpy(dtype=object)
    out["path"] = [convert.canonical_json({"model": m}) for m in cols["model"]]
    src.unique(pd.DataFrame({id_field: cols["request_id"]}), id_field)
    ignored = tuple(c for c in src.columns if c not in used and c not in src.derived)
    return Loaded(requests=valid_rows(src, req), outcomes=valid_rows(src, out), ignored_columns=ignored)


@register("litellm-spend", "LiteLLM proxy spend logs (SpendLogs export): requests plus logged outcomes.")
def load_litellm_spend(src: Source, options: Mapping[str, Any]) -> Loaded:
    """Load a LiteLLM spend-log export."""
    src.require("request_id", "model", "startTime")
    if src.has("cache_hit"):  # LiteLLM writes "True", "False", "None" or ""
        src.frame["cache_hit"] = src.frame["cache_hit"].map(lambda v: None if v in _MISSING else v)
    cols: dict[str, Any] = {"request_id": convert.text(src, "request_id", required=True)}
    cols["model"] = convert.text(src, "model", required=True)
    cols["ts"] = start = convert.timestamp(src, "startTime")
    src.fail(
        start.isna().to_numpy() & src.col("startTime").isna().to_numpy(),
        "startTime",
        "missing (a value is required)",
    )
    duration = convert.number(src, "request_duration_ms", lo=0)
    cols["latency_ms"] = duration.where(duration.notna(), _ms(convert.timestamp(src, "endTime"), start))
    cols["ttft_ms"] = _ms(convert.timestamp(src, "completionStartTime"), start)
    cols["cost_usd"] = convert.number(src, "spend", lo=0)
    cols["prompt_tokens"] = convert.tokens(src, "prompt_tokens")
    cols["completion_tokens"] = convert.tokens(src, "completion_tokens")
    cols["cache_hit"] = convert.boolean(src, "cache_hit")
    cols["prompt"] = _messages(src, "messages")
    team = convert.text(src, "team")
    cols["team"] = team
    meta = convert.json_column(src, "metadata", dict)
    tags = convert.json_column(src, "request_tags", list)
    status = convert.text(src, "status")
    team_id = convert.text(src, "team_id")
    plain = {c: convert.text(src, c) for c in ("user", "end_user", "model_group", "call_type") if src.has(c)}
    per_row = []
    primaries: list[str | None] = [None] * len(src)
    for pos in range(len(src)):
        m = meta.iat[pos] or {}
        inner = m.get("spend_logs_metadata") or {}
        row: dict[str, Any] = {"attrs": {}}
        try:
            tag_list = [str(t) for t in (tags.iat[pos] or [])]
            row |= _routing(m, inner, tag_list)
            row.setdefault("team", m.get("user_api_key_team_alias") or team_id.iat[pos])
            row["propensity"] = _propensity(inner.get("propensity", m.get("propensity")))
            attrs = {k: c.iat[pos] for k, c in plain.items() if c.iat[pos] is not None}
            attrs |= _scalars(inner, {*ROUTING_FIELDS, "propensity"})
            if tag_list:
                attrs["tags"] = ",".join(tag_list)
            row["attrs"] = attrs
        except ValueError as exc:
            src.fail([pos], "metadata", str(exc))
        failed = status.iat[pos] == "failure"
        if failed:
            info = m.get("error_information") or {}
            text = ": ".join(str(info[k]) for k in ("error_class", "error_message") if info.get(k))
            row["error"] = text or "failure"
        try:
            primary = _fallback_from(m)
        except _FieldProblem as exc:
            src.fail([pos], exc.field, str(exc))
            primary = None
        if primary is not None:  # the outcome is the primary's; what answered instead is its fallback
            primaries[pos] = primary
            row["attrs"]["model_group"] = primary
            row["fallback_model"] = None if failed else cols["model"].iat[pos]
        per_row.append(row)
    cols["model"] = pd.Series(primaries, index=cols["model"].index, dtype=object).combine_first(cols["model"])
    return _finish(src, cols, per_row, LITELLM_FIELDS, "request_id")


@register(
    "openai-chat", "OpenAI chat-completion records, one JSON object per line: requests plus logged outcomes."
)
def load_openai_chat(src: Source, options: Mapping[str, Any]) -> Loaded:
    """Load OpenAI chat-completion logs."""
    src.require("id", "model", "messages")
    cols: dict[str, Any] = {"request_id": convert.text(src, "id", required=True)}
    cols["model"] = convert.text(src, "model", required=True)
    cols["ts"] = convert.epoch_seconds(src, "created")
    cols["prompt"] = _messages(src, "messages")
    usage = convert.json_column(src, "usage", dict)
    for key in ("prompt_tokens", "completion_tokens"):
        src.derive(f"usage.{key}", usage.map(lambda u, k=key: None if u is None else u.get(k)))
        cols[key] = convert.tokens(src, f"usage.{key}")
    cols["cost_usd"] = convert.number(src, "cost_usd", lo=0)
    cols["latency_ms"] = convert.number(src, "latency_ms", lo=0)
    cols["ttft_ms"] = convert.number(src, "ttft_ms", lo=0)
    cols["cache_hit"] = convert.boolean(src, "cache_hit")
    cols["error"] = src.col("error").map(
        lambda e: None if e is None else (e.get("message") if isinstance(e, dict) else str(e))
    )
    meta = convert.json_column(src, "metadata", dict)
    propensity = convert.number(src, "propensity", lo=0, lo_open=True, hi=1)
    user = convert.text(src, "user")
    per_row = []
    for pos in range(len(src)):
        m = meta.iat[pos] or {}
        row: dict[str, Any] = {"attrs": {}}
        try:
            row |= _routing(m, {}, [])
            row["propensity"] = (
                propensity.iat[pos] if not pd.isna(propensity.iat[pos]) else _propensity(m.get("propensity"))
            )
            row["attrs"] = _scalars(m, {*ROUTING_FIELDS, "propensity"}) | (
                {"user": user.iat[pos]} if user.iat[pos] else {}
            )
        except ValueError as exc:
            src.fail([pos], "metadata", str(exc))
        per_row.append(row)
    return _finish(src, cols, per_row, OPENAI_FIELDS, "id")
