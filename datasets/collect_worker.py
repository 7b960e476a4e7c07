"""The calls of one sampled request, run on a worker thread: budget, redaction, fallbacks, judge, rows.

Workers never touch the store: each finished outcome is put on a queue, with the calls it paid for, and the
main thread writes them in batches. A worker checks the shared stop flag before every call, so an interrupt,
a failure elsewhere or the budget cap ends the run after the calls in flight.
"""

from __future__ import annotations

import json
import math
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from routelab.datasets.collect_judge import (
    JUDGE_MAX_TOKENS,
    QUALITY_SCALE,
    RUBRIC,
    judge_messages,
    parse_score,
)
from routelab.datasets.collect_litellm import Attempt, Completion, Sleep, call_with_retries
from routelab.datasets.collect_plan import PRIVATE, Work, call_cost, estimate_usd
from routelab.datasets.store import now_utc
from routelab.router_core.pii import redact
from routelab.router_core.pricing import ModelPrice


class Budget:
    """The run's hard cap, shared by the workers: a call is sent only if its estimate fits next to what is
    spent and what the calls in flight may still cost. The first refusal stops the run."""

    def __init__(self, cap_usd: float, spent_usd: float) -> None:
        self.cap_usd = cap_usd
        self.spent_usd = spent_usd
        self.reserved_usd = 0.0
        self.refused: str | None = None
        self._lock = threading.Lock()

    def reserve(self, estimate_usd: float, what: str) -> bool:
        """Hold `estimate_usd` for a call about to be sent; False (and remember why) if it could overshoot."""
        with self._lock:
            if self.refused is not None:
                return False
            if self.spent_usd + self.reserved_usd + estimate_usd > self.cap_usd:
                left = self.cap_usd - self.spent_usd
                self.refused = (
                    f"{what} could cost up to ${estimate_usd:.6f} but ${left:.6f} of the budget is left"
                )
                return False
            self.reserved_usd += estimate_usd
            return True

    def settle(self, estimate_usd: float, actual_usd: float) -> None:
        """Release a reservation and count what the call really cost."""
        with self._lock:
            self.reserved_usd -= estimate_usd
            self.spent_usd += actual_usd


@dataclass
class Emitted:
    """What a worker hands to the writer: finished outcome rows and the calls behind them."""

    outcomes: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Served:
    """One path's attempts (a chosen model and its fallbacks, or one candidate)."""

    attempts: list[tuple[Attempt, float]] = field(default_factory=list)
    """Each attempt with its price-table cost."""
    complete: bool = False
    """Answered, or every model failed; False when stopped before a fallback."""
    judge_share: float = 0.0
    """Budget held for judging the answer."""

    @property
    def served(self) -> Attempt | None:
        last = self.attempts[-1][0] if self.attempts else None
        return last if last is not None and last.result is not None else None


class Worker:
    """Runs the calls of `Work` items; thread-safe (its state is the shared budget, stop flag and sink)."""

    def __init__(
        self,
        run_id: str,
        prices: Mapping[str, ModelPrice],
        boundaries: Mapping[str, str],
        judge: str | None,
        completion: Completion,
        sleep: Sleep,
        budget: Budget,
        stop: threading.Event,
        sink: queue.Queue[Emitted],
    ) -> None:
        self.run_id, self.prices, self.boundaries, self.judge = run_id, prices, boundaries, judge
        self.completion, self.sleep, self.budget, self.stop, self.sink = completion, sleep, budget, stop, sink

    def process(self, work: Work) -> None:
        """Collect every outcome `work` still needs; each one reaches the sink as soon as it is finished."""
        if work.logged:
            path = self._serve(work, "logged", work.chosen, (work.chosen, *work.fallbacks))
            if not path.complete:
                return
            score = self._judge(work, "logged", work.chosen, path)
            emitted = Emitted([self._row(work, "logged", work.chosen, path, score)])
            if work.chosen in work.full_models:  # the chosen model's first try is its full outcome too
                first = _Served([path.attempts[0]], complete=True)
                first_score = score if first.served is not None else None
                emitted.outcomes.append(self._row(work, "full", work.chosen, first, first_score))
            self.sink.put(emitted)
        for model in work.full_models:
            if work.logged and model == work.chosen:
                continue
            path = self._serve(work, "full", model, (model,))
            if not path.complete:
                return
            score = self._judge(work, "full", model, path)
            self.sink.put(Emitted([self._row(work, "full", model, path, score)]))

    def _raw_allowed(self, model: str, work: Work) -> bool:
        """Raw text only reaches a private model, and only when the path does not say redact."""
        return self.boundaries.get(model) == PRIVATE and work.path.get("action") != "redact"

    def _call(
        self,
        work: Work,
        target: tuple[str, str],
        role: str,
        model: str,
        tokens: float,
        max_tokens: int,
        messages: list[dict[str, str]],
        redacted: bool,
        hold: float = 0.0,
        reserved: float | None = None,
    ) -> tuple[Attempt, float, dict[str, Any]] | None:
        """One budgeted call and its ledger row; None when the stop flag or the budget refuses it.

        `hold` is reserved with the call and kept when it answers (the judge call's share, so an answer
        never goes unjudged for want of budget); `reserved` is such a share, spent without a new check.
        """
        price = self.prices[model]
        if reserved is None:
            if self.stop.is_set():
                return None
            estimate = estimate_usd(price, tokens, max_tokens)
            what = f"{role} call to {model} for {work.request_id}" + (" with its judge call" if hold else "")
            if not self.budget.reserve(estimate + hold, what):
                self.stop.set()
                return None
        else:
            estimate = reserved
        cost, answered = 0.0, False
        try:
            attempt = call_with_retries(self.completion, model, messages, max_tokens, self.sleep)
            if attempt.result is not None:
                cost = call_cost(price, attempt.result.input_tokens, attempt.result.output_tokens, estimate)
                answered = True
        except BaseException:
            # refused credentials, an interrupt or a bug: no worker may start another call. Set here, on
            # the worker's thread; the main thread sees the failed future only later (a race it once lost).
            self.stop.set()
            raise
        finally:
            self.budget.settle(estimate + (0.0 if answered else hold), cost)
        return attempt, cost, _call_row(self.run_id, work, target, role, attempt, cost, redacted)

    def _judge_share(self, work: Work) -> float:
        """Upper bound of the judge call for an answer of at most `max_tokens` tokens (0 without judge)."""
        if self.judge is None:
            return 0.0
        tokens = work.prompt_tokens + math.ceil(len(RUBRIC) / 4) + work.max_tokens
        return estimate_usd(self.prices[self.judge], tokens, JUDGE_MAX_TOKENS)

    def _serve(self, work: Work, kind: str, outcome_model: str, models: tuple[str, ...]) -> _Served:
        """Try `models` in order until one answers; every call is put on the sink as soon as it returns."""
        out = _Served()
        share = self._judge_share(work)
        for i, model in enumerate(models):
            raw = self._raw_allowed(model, work)
            messages = [{"role": "user", "content": work.prompt if raw else redact(work.prompt)}]
            role = "answer" if i == 0 else "fallback"
            done = self._call(
                work,
                (kind, outcome_model),
                role,
                model,
                work.prompt_tokens,
                work.max_tokens,
                messages,
                not raw,
                hold=share,
            )
            if done is None:
                return out
            attempt, cost, row = done
            self.sink.put(Emitted(calls=[row]))
            out.attempts.append((attempt, cost))
            if attempt.result is not None:
                out.judge_share = share
                break
        out.complete = True
        return out

    def _judge(self, work: Work, kind: str, outcome_model: str, path: _Served) -> float | None:
        """The judge's 1-10 score of the served answer, paid from the share held for it; None without a
        judge, an answer or a score."""
        served = path.served
        if self.judge is None or served is None or served.result is None:
            return None
        raw = self._raw_allowed(self.judge, work)
        answer = served.result.text
        messages = judge_messages(
            work.prompt if raw else redact(work.prompt), answer if raw else redact(answer)
        )
        done = self._call(
            work,
            (kind, outcome_model),
            "judge",
            self.judge,
            0.0,
            JUDGE_MAX_TOKENS,
            messages,
            not raw,
            reserved=path.judge_share,
        )
        if done is None:  # never: a call paid from a held share is not refused
            return None
        attempt, _, row = done
        score = None
        if attempt.result is not None:
            parsed = parse_score(attempt.result.text)
            score, row["error"] = parsed.score, parsed.note
        self.sink.put(Emitted(calls=[row]))
        return score

    def _row(self, work: Work, kind: str, model: str, path: _Served, quality: float | None) -> dict[str, Any]:
        served = path.served
        elapsed = sum(a.elapsed_ms for a, _ in path.attempts)
        before = sum(a.elapsed_ms for a, _ in path.attempts[:-1])
        res = served.result if served is not None else None
        errors = [a.error for a, _ in path.attempts if a.error]
        return {
            "request_id": work.request_id,
            "model": model,
            "kind": kind,
            "eval_group": work.eval_group,
            "quality": quality,
            "quality_scale": QUALITY_SCALE if self.judge else None,
            "cost_usd": sum(c for _, c in path.attempts),
            "latency_ms": elapsed,
            "ttft_ms": before + res.ttft_ms if res is not None and res.ttft_ms is not None else None,
            "input_tokens": res.input_tokens if res is not None else None,
            "output_tokens": res.output_tokens if res is not None else None,
            "error": "; ".join(errors) if errors else None,
            "fallback_model": served.model if served is not None and served.model != model else None,
            "cache_hit": False,
            "propensity": 1.0 if kind == "logged" else None,
            "path": json.dumps(
                work.path if kind == "logged" else {"model": model}, sort_keys=True, default=list
            ),
            "ts": now_utc(),
        }


def _call_row(
    run_id: str, work: Work, target: tuple[str, str], role: str, attempt: Attempt, cost: float, redacted: bool
) -> dict[str, Any]:
    """The ledger row of one sent call (`target` = the outcome's kind and model)."""
    res = attempt.result
    return {
        "run_id": run_id,
        "request_id": work.request_id,
        "kind": target[0],
        "outcome_model": target[1],
        "role": role,
        "model": attempt.model,
        "cost_usd": cost,
        "litellm_cost_usd": res.litellm_cost_usd if res is not None else None,
        "input_tokens": res.input_tokens if res is not None else None,
        "output_tokens": res.output_tokens if res is not None else None,
        "latency_ms": attempt.elapsed_ms,
        "ttft_ms": res.ttft_ms if res is not None else None,
        "retries": attempt.retries,
        "redacted": redacted,
        "error": attempt.error,
        "ts": now_utc(),
    }
