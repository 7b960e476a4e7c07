"""A request as the router sees it: prompt, attributes and free-form attrs."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Request fields a rule may reference, with their type in the rule language.
TEXT_FIELDS = ("workflow", "task", "team", "region", "data_class", "prompt")
NUMBER_FIELDS = ("prompt_tokens", "expected_output_tokens", "hour")

#: Largest token count accepted; keeps every number exact as a float and as a DuckDB BIGINT.
MAX_TOKENS = 2**40


def attr_text(value: object) -> str:
    """Canonical text of an attr value: strings as they are, numbers and booleans as JSON writes them.

    Both engines see attrs as text, so `{"tier": 3}` and `{"tier": "3"}` route alike.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"attr value {value!r} is not a finite number")
        return json.dumps(value)
    raise ValueError(f"attr values must be strings, numbers or booleans, not {type(value).__name__}")


class Request(BaseModel):
    """One unit of traffic: the prompt plus the attributes a router may route on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str = Field(description="Unique id of the request.")
    ts: datetime | None = Field(default=None, description="When the request arrived (UTC; naive means UTC).")
    workflow: str | None = Field(default=None, description="The product workflow that sent it.")
    task: str | None = Field(default=None, description="The task type (e.g. summarise, code, classify).")
    team: str | None = Field(default=None, description="The owning team.")
    region: str | None = Field(default=None, description="Where the request's data must stay (e.g. eu, us).")
    data_class: str | None = Field(
        default=None, description="Data classification (public, internal, confidential)."
    )
    prompt: str | None = Field(default=None, description="The prompt text; None once purged.")
    prompt_tokens: int | None = Field(default=None, ge=0, le=MAX_TOKENS, description="Prompt size in tokens.")
    expected_output_tokens: int | None = Field(
        default=None, ge=0, le=MAX_TOKENS, description="Expected completion size; else the router's default."
    )
    attrs: dict[str, str] = Field(
        default_factory=dict, description="Free-form attributes, as canonical text."
    )

    @field_validator("attrs", mode="before")
    @classmethod
    def _attrs_as_text(cls, value: object) -> object:
        if isinstance(value, dict):
            return {str(k): attr_text(v) for k, v in value.items()}
        return value

    @field_validator("ts")
    @classmethod
    def _ts_utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    @property
    def hour(self) -> int | None:
        """Hour of day (0-23, UTC) the request arrived, or None without a timestamp."""
        return None if self.ts is None else self.ts.hour

    def field_value(self, name: str) -> object:
        """The value of a rule-language request field (`hour` included)."""
        if name == "hour":
            return self.hour
        return getattr(self, name)
