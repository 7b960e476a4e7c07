"""A request as the router sees it: prompt, attributes and free-form attrs."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

#: Request fields a rule may reference, with their type in the rule language.
TEXT_FIELDS = ("workflow", "task", "team", "region", "data_class", "prompt")
NUMBER_FIELDS = ("prompt_tokens", "expected_output_tokens", "hour")

#: Largest token count accepted; keeps every number exact as a float and as a DuckDB BIGINT.
MAX_TOKENS = 2**40

_SURROGATE = re.compile(r"[\ud800-\udfff]")


def unpaired_surrogate(text: str) -> str | None:
    """The first UTF-16 surrogate code point in `text` as `U+D800`, or None when the text is valid Unicode.

    A surrogate in a Python string has lost its pair (JSON's `"\\ud800"` escape decodes to one); UTF-8 cannot
    encode it, so DuckDB and JSON output would fail on it later.
    """
    if text.isascii():
        return None
    found = _SURROGATE.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def _reject_surrogate(field: str, text: str) -> None:
    code = unpaired_surrogate(text)
    if code is not None:
        raise ValueError(f"{field}: contains an unpaired surrogate ({code}); the text is not valid Unicode")


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

    @field_validator("request_id", *TEXT_FIELDS)
    @classmethod
    def _valid_unicode(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            _reject_surrogate(str(info.field_name), value)
        return value

    @field_validator("attrs")
    @classmethod
    def _attrs_valid_unicode(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            _reject_surrogate(f"attrs key {key!r}", key)  # repr escapes the surrogate: the message stays text
            _reject_surrogate(f"attrs[{key!r}]", text)
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
