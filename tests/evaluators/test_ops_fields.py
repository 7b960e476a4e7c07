"""The operations view's derived fields: prompt groups, providers, error classes, and vectorised Wilson."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routelab.evaluators.intervals import wilson
from routelab.evaluators.ops_fields import (
    TEMPLATE_CHARS,
    TEMPLATE_SOURCE_CHARS,
    error_class,
    prompt_template,
    provider_of,
)
from routelab.evaluators.ops_frame import wilson_rates

TEMPLATES = [
    ("order-number", "My order #48213 arrived damaged", "my order #<n> arrived damaged"),
    ("email", "Write to Jane.Doe+ops@Example.co.uk today", "write to <email> today"),
    ("url", "See https://acme.example/kb/42?lang=en now", "see <url> now"),
    ("ids", "Invoice INV-2039X and ticket 9f8e7d6c-aa01", "invoice <id> and ticket <id>"),
    ("numbers", "Pay 1,250.50 EUR on 2026-09-07 at 10:30", "pay <n> eur on <n> at <n>"),
    ("whitespace", "  Hi,\n\n\tplease   help \r\n", "hi, please help"),
    ("model-ids-are-ids", "Compare GPT-4o with claude", "compare <id> with claude"),
    ("non-ascii-case-kept", "Über die Rechnung", "Über die rechnung"),
    ("blank", " \n\t ", None),
    ("missing", None, None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), [t[1:] for t in TEMPLATES], ids=[t[0] for t in TEMPLATES])
def test_prompt_template_golden(text: str | None, expected: str | None) -> None:
    assert prompt_template(text) == expected


def test_prompt_template_keeps_the_first_80_characters_of_the_normalised_opening() -> None:
    prompt = "Summarise ticket 123:    " + "word " * 200
    group = prompt_template(prompt)
    assert group is not None
    assert len(group) == TEMPLATE_CHARS
    assert group.startswith("summarise ticket <n>: word word")
    # only the first 400 characters are read: whatever follows cannot change the group
    assert prompt_template(prompt[:TEMPLATE_SOURCE_CHARS] + "ANYTHING 42") == group


def test_prompts_that_differ_only_in_numbers_and_ids_share_a_group() -> None:
    a = prompt_template("Refund order #1001 for alice@example.com, ref AB12CD")
    b = prompt_template("refund order #99 for bob@corp.io,  ref zz9")
    assert a == b == "refund order #<n> for <email>, ref <id>"


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("gemini/gemini-2.5-pro", "gemini"),
        ("azure/eu/gpt-4o-mini", "azure"),
        ("hosted_vllm/meta-llama/Llama-3.1-70B-Instruct", "hosted_vllm"),
        ("ollama/llama3.1", "ollama"),
        ("gpt-4o", "openai"),
        ("o3-mini", "openai"),
        ("claude-sonnet-4-5-20250929", "anthropic"),
        ("gemini-2.0-flash", "gemini"),
        ("mistral-large-latest", "mistral"),
        ("my-finetune", "unknown"),
        (None, "unknown"),
    ],
)
def test_provider_of(model: str | None, provider: str) -> None:
    assert provider_of(model) == provider


@pytest.mark.parametrize(
    ("error", "klass"),
    [
        ("timeout", "timeout"),
        ("server_error", "server_error"),
        ("rate_limited", "rate_limited"),
        ("context_length_exceeded", "context_length_exceeded"),
        ("RateLimitError: litellm.RateLimitError: OpenAIException - 429 Too Many Requests", "rate_limited"),
        ("Timeout: litellm.Timeout: Request timed out after 600s", "timeout"),
        ("ContextWindowExceededError: litellm.BadRequestError: prompt too long", "context_length_exceeded"),
        ("InternalServerError: 503 Service Unavailable", "server_error"),
        ("AuthenticationError: Incorrect API key provided", "auth"),
        ("BadRequestError: invalid tool schema", "bad_request"),
        ("failure", "other"),
        (None, None),
    ],
)  # fmt: skip
def test_error_class(error: str | None, klass: str | None) -> None:
    assert error_class(error) == klass


@given(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 400)), min_size=1, max_size=30))
def test_wilson_rates_equal_wilson_one_at_a_time(pairs: list[tuple[int, int]]) -> None:
    ks = [min(a, b) for a, b in pairs]
    ns = [max(a, b) for a, b in pairs]
    assert wilson_rates(ks, ns, 0.9) == [wilson(k, n, 0.9) for k, n in zip(ks, ns, strict=True)]
