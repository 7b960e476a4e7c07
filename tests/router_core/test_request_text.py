"""`Request` text is valid Unicode: a lone surrogate (JSON's `"\\ud800"` escape) is refused, naming the
field and the code point."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from routelab.router_core.request import TEXT_FIELDS, Request, unpaired_surrogate

STRING_FIELDS = ("request_id", *TEXT_FIELDS)
SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
VALID_TEXT = st.text()  # hypothesis leaves out surrogates (category Cs) by default


def build(field: str, text: str) -> dict[str, Any]:
    """Request data with `text` in `field` (`attrs-key` and `attrs-value` put it in attrs)."""
    data: dict[str, Any] = {"request_id": "r1"}
    if field == "attrs-key":
        data["attrs"] = {text: "v"}
    elif field == "attrs-value":
        data["attrs"] = {"k": text}
    else:
        data[field] = text
    return data


def message(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        Request.model_validate(data)
    (error,) = info.value.errors()
    assert error["type"] == "value_error"
    assert str(error["msg"]) == f"Value error, {error['ctx']['error']}"
    str(info.value).encode("utf-8")  # the error itself prints: the surrogate is shown escaped
    return str(error["ctx"]["error"])


@pytest.mark.parametrize(
    ("field", "text", "expected"),
    [
        (
            "prompt",
            "\ud800",
            "prompt: contains an unpaired surrogate (U+D800); the text is not valid Unicode",
        ),
        ("request_id", "r\udfff", "request_id: contains an unpaired surrogate (U+DFFF)"),
        ("team", "ops \udc00 team", "team: contains an unpaired surrogate (U+DC00)"),
        ("attrs-key", "tier\ud83d", "attrs key 'tier\\ud83d': contains an unpaired surrogate (U+D83D)"),
        ("attrs-value", "gold\ude00", "attrs['k']: contains an unpaired surrogate (U+DE00)"),
        # a pair split into two code points (not what JSON decodes it to) is no text either
        ("prompt", "\ud83d\ude00", "prompt: contains an unpaired surrogate (U+D83D)"),
    ],
    ids=["prompt", "request_id", "team", "attrs-key", "attrs-value", "split-pair"],
)
def test_the_message_names_the_field_and_the_code_point(field: str, text: str, expected: str) -> None:
    assert expected in message(build(field, text))


def test_a_json_escape_without_its_pair_is_refused() -> None:
    data = json.loads('{"request_id": "r1", "prompt": "hello \\ud800 world", "attrs": {"x": "\\udc01"}}')
    with pytest.raises(ValidationError) as info:
        Request.model_validate(data)
    assert [(e["loc"], str(e["ctx"]["error"])) for e in info.value.errors()] == [
        (("prompt",), "prompt: contains an unpaired surrogate (U+D800); the text is not valid Unicode"),
        (("attrs",), "attrs['x']: contains an unpaired surrogate (U+DC01); the text is not valid Unicode"),
    ]
    # the escaped pair decodes to one code point, which is fine
    assert (
        Request.model_validate(json.loads('{"request_id": "r1", "prompt": "\\ud83d\\ude00"}')).prompt == "😀"
    )


@given(field=st.sampled_from([*STRING_FIELDS, "attrs-key", "attrs-value"]), text=VALID_TEXT)
def test_valid_unicode_is_kept_as_given(field: str, text: str) -> None:
    req = Request.model_validate(build(field, text))
    assert req.model_dump_json().encode("utf-8")
    stored = req.attrs if field.startswith("attrs") else {field: getattr(req, field)}
    assert text in (set(stored) | set(stored.values()))
    assert unpaired_surrogate(text) is None


@given(
    field=st.sampled_from([*STRING_FIELDS, "attrs-key", "attrs-value"]),
    head=VALID_TEXT,
    surrogate=SURROGATES,
    tail=VALID_TEXT,
)
def test_any_surrogate_anywhere_is_refused(field: str, head: str, surrogate: str, tail: str) -> None:
    code = f"U+{ord(surrogate):04X}"
    assert unpaired_surrogate(head + surrogate + tail) == code
    got = message(build(field, head + surrogate + tail))
    assert got.endswith(f": contains an unpaired surrogate ({code}); the text is not valid Unicode")
    if field in STRING_FIELDS:
        assert got.startswith(f"{field}: ")
    else:
        assert got.startswith("attrs")
