"""What of a router's query depends only on the request's text, so a store may compute it once and keep it.

The costly part of the SQL engine is reading the prompt: every text signal is a regex pass over it, and even
the token estimate used when `prompt_tokens` is missing reads the whole prompt column. Each such value is an
INTEGER that depends only on the request's prompt and the exact SQL that computes it, so it can be stored per
request and read back (`datasets.signal_cache` keeps them in columns of `requests`). Versions of a router
share most signals, so a second version replays without touching the prompt at all.

`cached_values(router)` lists the values a router reads (`CachedValue`: a name, the defining SQL and its
hash, the key under which it is stored); `compile_sql(..., cache=CacheColumns(...))` reads them from columns
of its source relation instead of computing them. Pure: this module names columns, it never queries.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field

from routelab.router_core.canonical import references
from routelab.router_core.sql_expr import raw_column
from routelab.router_core.sql_signals import signal_sql
from routelab.router_core.validate import Router

#: The name of the prompt's token estimate among the cached values (not a valid signal name).
TOKEN_ESTIMATE = "~prompt_tokens"
#: The token estimate of a request without `prompt_tokens`, over the request relation (INTEGER; 0 for none).
TOKEN_ESTIMATE_SQL = (
    "(CASE WHEN prompt IS NOT NULL THEN CAST(ceil(length(prompt) / 4) AS INTEGER) ELSE 0 END)"
)
#: Hex digits of a value's key.
KEY_DIGITS = 16
#: Part of every hashed definition: bump it when a value's meaning changes in a way its SQL text does not show
#: (for example the base layer's typing of request fields).
VALUE_FORMAT = "routelab cached value v1"


class CachedValue(BaseModel):
    """A per-request INTEGER that depends only on the request's text: a text signal's value or the token
    estimate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="The signal's name, or `TOKEN_ESTIMATE`.")
    definition: str = Field(description="The SQL computing it over the request relation's columns.")
    key: str = Field(description="`value_key(definition)`: the key its stored rows carry.")


class CacheColumns(BaseModel):
    """Columns of the source relation that hold cached values, read instead of computed (`compile_sql`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    columns: dict[str, str] = Field(description="`CachedValue.name` → the source column holding it.")
    complete: bool = Field(
        default=True,
        description="Every row holds every value (the prompt is then never read); else NULL means missing "
        "and the query computes the value for that row.",
    )


def value_key(definition: str) -> str:
    """The short hash of a value's definition: editing a signal's phrases or patterns gives a new key."""
    return hashlib.sha256(f"{VALUE_FORMAT}\n{definition}".encode()).hexdigest()[:KEY_DIGITS]


def cached_values(router: Router) -> tuple[CachedValue, ...]:
    """The values of `router` worth caching: every text signal reading the prompt, then the token estimate.

    Signals over short fields (`task`, an attr) and length signals cost less to compute than to look up, and
    stay in the query.
    """
    out = []
    for sig in router.signals:
        part = signal_sql(sig, raw_column)
        if part.text_value is None or part.hay is None or "prompt" not in references(sig.field):
            continue
        # the standalone definition: the shared guard is an optimisation the value does not depend on
        definition = part.text_value(f"({part.hay})", "TRUE")
        out.append(CachedValue(name=sig.spec.name, definition=definition, key=value_key(definition)))
    out.append(
        CachedValue(name=TOKEN_ESTIMATE, definition=TOKEN_ESTIMATE_SQL, key=value_key(TOKEN_ESTIMATE_SQL))
    )
    return tuple(out)
