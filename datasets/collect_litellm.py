"""Model calls for outcome collection: the one place that imports litellm, lazily and offline.

`litellm_module()` sets `LITELLM_LOCAL_MODEL_COST_MAP=True` before the first import, so litellm reads its
bundled price map instead of fetching one, and silences its console hints. `call_once` sends one streamed
chat completion (the first chunk gives the time to first token), `call_with_retries` retries rate limits and
timeouts with exponential backoff, and `scrub` keeps API keys out of every error text that gets recorded.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from routelab.datasets.errors import DatasetError
from routelab.router_core.pii import PiiType, redact

#: The call site: `litellm.completion` or anything with its signature (tests wrap it to count calls).
Completion = Callable[..., Any]
#: How the backoff waits (tests pass a recorder instead of `time.sleep`).
Sleep = Callable[[float], None]

MAX_RETRIES = 3
BACKOFF_BASE_S = 1.0
ERROR_CHARS = 500
_ENV_SECRET = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)", re.IGNORECASE)


class CollectError(DatasetError):
    """Outcome collection cannot go on: bad options, an unknown run, missing credentials."""


class CredentialsError(CollectError):
    """A provider refused the credentials or none are set: the run stops (finished calls stay stored)."""


@functools.cache
def litellm_module() -> Any:
    """The litellm module, imported on first use: offline price map, no tokenizer downloads, no console hints.

    Where a response carries no usage (mock responses, some streams) litellm counts tokens itself; it would
    fetch some models' tokenizers from the Hugging Face hub, so it is told to use its bundled cl100k instead.
    """
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    import litellm

    litellm.suppress_debug_info = True
    litellm.disable_hf_tokenizer_download = True
    return litellm


def default_completion(**kwargs: Any) -> Any:
    """`litellm.completion`, looked up at call time (so a patched attribute is honoured)."""
    return litellm_module().completion(**kwargs)


def scrub(text: str, environ: Mapping[str, str] | None = None) -> str:
    """`text` without secrets: key-like strings (`sk-...`, bearer tokens, `api_key=...`) and the value of
    every environment variable whose name says KEY, TOKEN, SECRET or PASSWORD are masked."""
    env = os.environ if environ is None else environ
    for name, value in env.items():
        if len(value) >= 8 and _ENV_SECRET.search(name) and value in text:
            text = text.replace(value, f"[{name}]")
    return redact(text, [PiiType.SECRET])


def describe_error(model: str, exc: BaseException) -> str:
    """`model: ErrorClass: message`, scrubbed and cut to a readable length."""
    text = scrub(f"{model}: {type(exc).__name__}: {exc}")
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


def _classes(names: Iterable[str]) -> tuple[type[BaseException], ...]:
    lib = litellm_module()
    return tuple(getattr(lib, n) for n in names)


class EmptyStreamError(Exception):
    """A streamed response ended without a single chunk (a provider fault: the fallback may answer)."""


def provider_errors() -> tuple[type[BaseException], ...]:
    """Errors a provider call can raise that a fallback may answer: litellm's mapped exception types."""
    return (*litellm_module().LITELLM_EXCEPTION_TYPES, EmptyStreamError)


def is_retryable(exc: BaseException) -> bool:
    """A rate limit or a timeout: worth the same call again after a pause."""
    return isinstance(exc, _classes(["RateLimitError", "Timeout"]))


def is_credentials(exc: BaseException) -> bool:
    """Missing or refused credentials: a setup problem, not the model's behaviour."""
    if isinstance(exc, _classes(["AuthenticationError"])):
        return True
    return "missing credentials" in str(exc).lower()


@dataclass(frozen=True)
class CallResult:
    """What one answered call returned."""

    text: str
    """The answer's text (never stored: it may carry personal data)."""
    input_tokens: int | None
    """Prompt tokens as the provider counted them (usage); None when it reported none."""
    output_tokens: int | None
    """Completion tokens (usage); None when the provider reported none."""
    latency_ms: float
    """Wall time from sending to the last chunk."""
    ttft_ms: float | None
    """Time to the first streamed chunk; None when the response was not streamed."""
    litellm_cost_usd: float | None
    """litellm's own cost figure for the response, when it has one."""
    litellm_cost_note: str | None
    """Why litellm gave no cost figure, if it did not."""


def _usage(response: Any) -> tuple[int | None, int | None]:
    usage = getattr(response, "usage", None)
    if usage is None:
        return None, None
    inp, out = getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)
    return (int(inp) if inp is not None else None), (int(out) if out is not None else None)


def _litellm_cost(response: Any) -> tuple[float | None, str | None]:
    hidden = getattr(response, "_hidden_params", None) or {}
    cost = hidden.get("response_cost") if isinstance(hidden, dict) else None
    if cost is not None:
        return float(cost), None
    try:
        return float(litellm_module().completion_cost(completion_response=response)), None
    except Exception as exc:  # noqa: BLE001 -- litellm raises bare Exception for unmapped models; kept as a note
        return None, scrub(f"litellm has no cost for this response: {exc}")[:ERROR_CHARS]


def _text(response: Any) -> str:
    choices = getattr(response, "choices", None) or []
    if not choices:
        return ""
    message = getattr(choices[0], "message", None)
    return str(getattr(message, "content", None) or "")


def call_once(
    completion: Completion, model: str, messages: list[dict[str, str]], max_tokens: int
) -> CallResult:
    """Send one streamed chat completion and read it to the end.

    A callable that ignores `stream` and returns a whole response is accepted too (no time to first token).

    Raises:
        Whatever the call site raises (litellm's provider errors, or anything else).
    """
    t0 = time.perf_counter()
    response = completion(
        model=model,
        messages=messages,
        max_tokens=max_tokens,
        stream=True,
        stream_options={"include_usage": True},
    )
    ttft_ms: float | None = None
    if not hasattr(response, "choices"):  # a stream: read every chunk, timing the first one
        chunks = []
        for chunk in response:
            if ttft_ms is None:
                ttft_ms = (time.perf_counter() - t0) * 1000.0
            chunks.append(chunk)
        response = litellm_module().stream_chunk_builder(chunks, messages=messages) if chunks else None
    latency_ms = (time.perf_counter() - t0) * 1000.0
    if response is None:
        raise EmptyStreamError("the stream ended without a single chunk")
    inp, out = _usage(response)
    cost, note = _litellm_cost(response)
    return CallResult(_text(response), inp, out, latency_ms, ttft_ms, cost, note)


@dataclass(frozen=True)
class Attempt:
    """One model's try on a request: the answer or the error, after retries."""

    model: str
    result: CallResult | None
    """The answer; None when the model failed."""
    error: str | None
    """The scrubbed error of the last try; None when answered."""
    retries: int
    """Rate-limit or timeout retries before the final try."""
    elapsed_ms: float
    """Wall time of every try and pause of this attempt."""


def call_with_retries(
    completion: Completion,
    model: str,
    messages: list[dict[str, str]],
    max_tokens: int,
    sleep: Sleep = time.sleep,
    max_retries: int = MAX_RETRIES,
) -> Attempt:
    """`call_once`, retried after 1 s, 2 s, 4 s … on rate limits and timeouts (at most `max_retries` times).

    Provider errors end the attempt (returned as its `error`, for the caller's fallback); other exceptions
    propagate and stop the run.

    Raises:
        CredentialsError: the provider refused the credentials or none are set.
    """
    t0 = time.perf_counter()
    retries = 0
    while True:
        try:
            result = call_once(completion, model, messages, max_tokens)
            return Attempt(model, result, None, retries, (time.perf_counter() - t0) * 1000.0)
        except provider_errors() as exc:
            if is_credentials(exc):
                raise CredentialsError(
                    f"{describe_error(model, exc)} — set the provider's API key in the environment "
                    "(never on the command line) and resume the run"
                ) from None
            if is_retryable(exc) and retries < max_retries:
                sleep(BACKOFF_BASE_S * 2**retries)
                retries += 1
                continue
            return Attempt(
                model, None, describe_error(model, exc), retries, (time.perf_counter() - t0) * 1000.0
            )
