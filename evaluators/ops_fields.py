"""Fields the operations view derives from logged traffic: prompt groups, providers and error classes.

**Prompt group** (`prompt_template`): the prompt's first `TEMPLATE_SOURCE_CHARS` (400) characters
normalised to a template, then the first `TEMPLATE_CHARS` (80) characters of that. The 400-character cut
bounds the work per prompt (logged prompts can be very long) and leaves room for the normalisation to
shrink the text. Steps, in order: ASCII letters lowercased (other letters kept as they are, so Python and
DuckDB agree to the character); then each rule of `TEMPLATE_RULES` replaces every match: URLs → ``<url>``,
e-mail addresses → ``<email>``, maximal runs of ``[a-z0-9_-]`` holding both a letter and a digit (order
numbers such as ``inv-2039x``, ids, hashes, also ``gpt-4o``) → ``<id>``, numbers (digit runs joined by
``.``, ``,``, ``:``, ``/`` or ``-``, so dates and times too) → ``<n>``, runs of whitespace → one space; then
leading and trailing spaces are dropped. Deterministic and explainable: two prompts share a group exactly when
their normalised openings are equal. The rules are data, so the store's SQL (`app/ops_flow.py`) applies the
same patterns in DuckDB (RE2) and the prompt text never leaves the database; the patterns use only syntax both
engines read alike (ASCII classes, greedy quantifiers, alternation). A missing or empty prompt has no group
(None).

**Provider** (`provider_of`): the model id's prefix before the first ``/`` (``gemini/gemini-2.5-pro`` →
gemini, ``azure/eu/gpt-4o-mini`` → azure, ``hosted_vllm/meta-llama/…`` → hosted_vllm), else the first
`PROVIDER_PREFIXES` entry whose prefix the id starts with (``gpt-``, ``o1``, ``o3``, ``o4``, ``chatgpt-``,
``text-embedding-`` → openai; ``claude-`` → anthropic; ``gemini-`` → gemini; ``mistral-``, ``mixtral-``,
``codestral-`` → mistral; ``command-`` → cohere; ``deepseek-`` → deepseek; ``grok-`` → xai), else
``unknown``.

**Error class** (`error_class`): the logged `error` text lowercased and matched against `ERROR_CLASSES` in
order; the first class with a marker inside the text wins, else ``other``. The demo's values
(timeout, server_error, rate_limited, context_length_exceeded) map to themselves; LiteLLM's
``RateLimitError: …`` to rate_limited, ``Timeout: …`` to timeout, ``ContextWindowExceededError`` to
context_length_exceeded (checked before bad_request, since LiteLLM's message also says BadRequest).
"""

from __future__ import annotations

import re
import string
from typing import NamedTuple

TEMPLATE_CHARS = 80
TEMPLATE_SOURCE_CHARS = 400
NO_PROMPT = "(no prompt)"


class TemplateRule(NamedTuple):
    """One normalisation step: every match of `pattern` becomes `replacement`."""

    name: str
    pattern: str
    replacement: str


TEMPLATE_RULES = (
    TemplateRule("url", r"https?://[^\t\n\v\f\r ]+", "<url>"),
    TemplateRule("email", r"[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+", "<email>"),
    TemplateRule("id", r"[a-z0-9_-]*([a-z][a-z0-9_-]*[0-9]|[0-9][a-z0-9_-]*[a-z])[a-z0-9_-]*", "<id>"),
    TemplateRule("number", r"[0-9]+([.,:/-][0-9]+)*", "<n>"),
    # two or more whitespace characters, or one that is not a space: the same result as `\s+` → " ", faster
    TemplateRule("space", r"[\t\n\v\f\r ]{2,}|[\t\n\v\f\r]", " "),
)
_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_COMPILED = tuple((re.compile(r.pattern, re.ASCII), r.replacement) for r in TEMPLATE_RULES)

PROVIDER_PREFIXES = (
    ("gpt-", "openai"),
    ("chatgpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("text-embedding-", "openai"),
    ("claude-", "anthropic"),
    ("gemini-", "gemini"),
    ("mistral-", "mistral"),
    ("mixtral-", "mistral"),
    ("codestral-", "mistral"),
    ("command-", "cohere"),
    ("deepseek-", "deepseek"),
    ("grok-", "xai"),
)
UNKNOWN_PROVIDER = "unknown"

#: Error classes, first match wins: (class, markers looked for in the lowercased error text).
ERROR_CLASSES = (
    ("timeout", ("timeout", "timed out", "deadline exceeded")),
    ("context_length_exceeded", ("context_length", "contextwindow", "context window", "maximum context")),
    ("rate_limited", ("rate_limit", "ratelimit", "rate limit", "too many requests", "429")),
    ("content_filter", ("content_filter", "contentpolicy", "content policy", "content management")),
    ("auth", ("authentication", "permissiondenied", "permission denied", "api key", "401", "403")),
    (
        "server_error",
        (
            "server_error",
            "internalserver",
            "internal server",
            "serviceunavailable",
            "service unavailable",
            "overloaded",
            "apiconnection",
            "500",
            "502",
            "503",
            "504",
        ),
    ),
    ("bad_request", ("badrequest", "bad request", "invalid", "400")),
)
OTHER_ERROR = "other"


def prompt_template(prompt: str | None, chars: int = TEMPLATE_CHARS) -> str | None:
    """The prompt group of one prompt (see the module docstring); None for a missing or blank prompt."""
    if prompt is None:
        return None
    text = prompt[:TEMPLATE_SOURCE_CHARS].translate(_LOWER)
    for pattern, replacement in _COMPILED:
        text = pattern.sub(replacement, text)
    text = text.strip(" ")[:chars]
    return text or None


def provider_of(model: str | None) -> str:
    """The provider of a model id (see the module docstring); ``unknown`` when nothing matches."""
    if not model:
        return UNKNOWN_PROVIDER
    head, slash, _ = model.partition("/")
    if slash and head:
        return head
    lowered = model.lower()
    for prefix, provider in PROVIDER_PREFIXES:
        if lowered.startswith(prefix):
            return provider
    return UNKNOWN_PROVIDER


def error_class(error: str | None) -> str | None:
    """The class of a logged error text (see the module docstring); None when there was no error."""
    if error is None:
        return None
    text = str(error).lower()
    for name, markers in ERROR_CLASSES:
        if any(m in text for m in markers):
            return name
    return OTHER_ERROR
