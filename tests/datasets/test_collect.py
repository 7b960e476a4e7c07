"""Live outcome collection without network: litellm's `mock_response` behind a fake, slow or failing provider.

Every fake wraps the real `litellm.completion` (streamed mock responses, usage and litellm's cost included)
and counts the calls, so "nothing is paid twice" is checked by counting.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from routelab.datasets import collect, routers
from routelab.datasets.collect import CollectOptions
from routelab.datasets.collect_judge import parse_score
from routelab.datasets.collect_litellm import CollectError, CredentialsError, litellm_module, scrub
from routelab.datasets.collect_plan import estimate_usd
from routelab.datasets.errors import NotFoundError
from routelab.datasets.store import Store, open_store

if TYPE_CHECKING:
    from ..conftest import DemoStores

REF = "acme-gateway@2"
ANSWER = "Here is what to do: open Settings, then Billing. Write to me at jane.doe@example.com if it fails."
EMAIL = "jane.doe@example.com"
API_KEY = "sk-test-" + "A1b2C3d4E5" * 4


class Killed(Exception):
    """Stands in for the process dying mid-run."""


class Provider:
    """A fake provider: litellm.completion with `mock_response`, plus scripted failures, delay and a kill."""

    def __init__(
        self,
        answer: str = ANSWER,
        judge_reply: str = "The answer is right and complete. Score: 8",
        script: dict[str, list[BaseException]] | None = None,
        fail: Callable[[dict[str, Any]], BaseException | None] | None = None,
        delay_s: float = 0.0,
        kill_after: int | None = None,
    ) -> None:
        self.answer, self.judge_reply, self.delay_s, self.kill_after = (
            answer,
            judge_reply,
            delay_s,
            kill_after,
        )
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.fail = fail
        self.calls: list[dict[str, Any]] = []
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()

    def __call__(self, **kwargs: Any) -> Any:
        with self._lock:
            self.calls.append(kwargs)
            if self.kill_after is not None and len(self.calls) > self.kill_after:
                raise Killed(f"killed at call {len(self.calls)}")
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            scripted = self.script.get(kwargs["model"])
            error = scripted.pop(0) if scripted else (self.fail(kwargs) if self.fail else None)
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            if error is not None:
                raise error
            judge = kwargs["messages"][0]["role"] == "system"
            return litellm_module().completion(
                **kwargs, mock_response=self.judge_reply if judge else self.answer
            )
        finally:
            with self._lock:
                self.in_flight -= 1

    def answered(self) -> list[dict[str, Any]]:
        """Calls that were not killed."""
        return self.calls[: self.kill_after] if self.kill_after is not None else self.calls


def rate_limit(model: str = "gpt-4o-mini") -> BaseException:
    return litellm_module().RateLimitError(message="slow down", llm_provider="openai", model=model)


def server_error(model: str, message: str = "overloaded") -> BaseException:
    return litellm_module().InternalServerError(message=message, llm_provider="openai", model=model)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory, demo_stores: DemoStores) -> Path:
    """The demo store (seed 9, 300 requests); tests work on copies of it."""
    return demo_stores.copy(tmp_path_factory.mktemp("collect") / "demo.duckdb", seed=9, n_requests=300)


@pytest.fixture
def demo(demo_file: Path, tmp_path: Path) -> Iterator[Store]:
    """The demo store as a team without outcome data has it: requests, versions, replays; no outcomes."""
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_file, path)
    with open_store(path) as store:
        store.execute("DELETE FROM outcomes")
        yield store


def no_sleep(waits: list[float] | None = None) -> Callable[[float], None]:
    """A backoff that does not wait, recording the pauses it was asked for."""
    record = waits if waits is not None else []
    return record.append


def run(store: Store, provider: Provider, budget: float = 5.0, **options: Any) -> collect.CollectReport:
    opts = CollectOptions(**{"sample": 6, "seed": 1, **options})
    return collect.collect(
        store, REF, opts, budget_usd=budget, completion=provider, sleep=no_sleep(), concurrency=2
    )


def calls(store: Store, run_id: str) -> Any:
    return store.df("SELECT * FROM collection_calls WHERE run_id = ? ORDER BY ts", [run_id])


def test_outcomes_of_the_chosen_paths_are_recorded(demo: Store) -> None:
    provider = Provider()
    rep = run(demo, provider)
    rows = demo.df("SELECT * FROM outcomes WHERE import_id = ?", [rep.run_id])
    assert rep.status == "finished"
    assert rep.outcomes_logged == len(rows) == 6 == len(provider.calls)
    assert set(rows["kind"]) == {"logged"}
    assert set(rows["propensity"]) == {1.0}
    assert (rows["input_tokens"] > 0).all()
    assert (rows["output_tokens"] > 0).all()
    assert (rows["latency_ms"] > 0).all()
    assert (rows["ttft_ms"] > 0).all()
    assert (rows["ttft_ms"] <= rows["latency_ms"]).all()
    assert rows["error"].isna().all()
    assert rows["quality"].isna().all()
    chosen = demo.df("SELECT request_id, model FROM decisions WHERE router = ?", [REF]).set_index(
        "request_id"
    )
    assert (rows.set_index("request_id")["model"] == chosen.loc[rows["request_id"], "model"]).all()
    # cost_usd: the stamped price table (with the config's overrides) times the usage tokens
    ledger = calls(demo, rep.run_id)
    assert ledger["cost_usd"].sum() == pytest.approx(rows["cost_usd"].sum()) == pytest.approx(rep.spent_usd)
    assert ledger["litellm_cost_usd"].notna().any()  # litellm's own figure kept beside it
    stored = demo.execute(
        "SELECT status, n_calls FROM collection_runs WHERE run_id = ?", [rep.run_id]
    ).fetchone()
    assert stored == ("finished", 6)


def test_the_default_call_site_is_litellm_completion(demo: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    litellm = litellm_module()
    real = litellm.completion
    sent: list[str] = []

    def mocked(**kwargs: Any) -> Any:
        sent.append(kwargs["model"])
        return real(**kwargs, mock_response="fine")

    monkeypatch.setattr(litellm, "completion", mocked)
    rep = collect.collect(demo, REF, CollectOptions(sample=3), sleep=no_sleep())
    assert rep.outcomes_logged == 3 == len(sent)


def test_full_information_outcomes_call_each_model_once(demo: Store) -> None:
    provider = Provider()
    rep = run(demo, provider, sample=3, models=("all",))
    n_models = len(routers.get(demo, REF).models)
    rows = demo.df("SELECT * FROM outcomes WHERE import_id = ?", [rep.run_id])
    assert rep.outcomes_full == 3 * n_models
    assert rep.outcomes_logged == 3
    assert rows[rows["kind"] == "full"]["propensity"].isna().all()
    # the chosen model's first try is its full outcome too: one call per request and model
    assert len(provider.calls) == 3 * n_models
    ledger = calls(demo, rep.run_id)
    assert not ledger.duplicated(["request_id", "model", "role"]).any()


def test_the_budget_cap_stops_before_a_call_that_could_exceed_it(demo: Store) -> None:
    provider = Provider()
    budget = 0.01
    rep = run(demo, provider, budget=budget, sample=40)
    assert rep.status == "budget"
    assert rep.stopped
    assert "budget" in rep.stopped
    assert 0 < rep.calls < 40
    assert len(provider.calls) == rep.calls
    assert rep.spent_usd <= budget
    assert rep.remaining_usd == pytest.approx(budget - rep.spent_usd)
    assert calls(demo, rep.run_id)["cost_usd"].sum() == pytest.approx(rep.spent_usd)
    # resuming with a higher cap finishes the sample, and pays for nothing twice
    more = Provider()
    done = collect.run(demo, rep.run_id, budget_usd=5.0, completion=more, sleep=no_sleep())
    assert done.status == "finished"
    assert done.outcomes_logged == 40
    assert len(provider.calls) + len(more.calls) == 40
    assert not calls(demo, rep.run_id).duplicated(["request_id", "role"]).any()


def test_the_budget_holds_the_judge_share_so_no_answer_goes_unjudged(demo: Store) -> None:
    rep = run(demo, Provider(), budget=0.01, sample=40, judge="gpt-4o-mini")
    assert rep.status == "budget"
    assert rep.spent_usd <= 0.01
    answered = demo.df(
        "SELECT quality FROM outcomes WHERE import_id = ? AND output_tokens IS NOT NULL", [rep.run_id]
    )
    assert len(answered) > 0
    assert answered["quality"].notna().all()


def test_the_estimate_bounds_the_cost_of_a_call() -> None:
    from routelab.router_core.pricing import ModelPrice

    price = ModelPrice(input_per_token=1e-6, output_per_token=4e-6)
    assert estimate_usd(price, 1000, 200) >= 1000 * 1e-6 + 200 * 4e-6


@pytest.mark.parametrize("concurrency", [1, 4], ids=["serial", "threads"])
def test_a_killed_run_resumes_without_paying_twice(demo: Store, concurrency: int) -> None:
    run_id = collect.start(demo, REF, CollectOptions(sample=12, seed=3), budget_usd=5.0)
    first = Provider(kill_after=5)
    with pytest.raises(Killed):
        collect.run(demo, run_id, completion=first, sleep=no_sleep(), concurrency=concurrency)
    assert collect.load_run(demo, run_id).status == "failed"
    kept = demo.scalar("SELECT count(*) FROM outcomes WHERE import_id = ?", [run_id])
    assert kept == len(first.answered()) == 5  # every finished call is stored
    second = Provider()
    rep = collect.run(demo, run_id, completion=second, sleep=no_sleep(), concurrency=concurrency)
    assert rep.status == "finished"
    assert rep.outcomes_logged == 12
    assert len(second.calls) == 12 - 5
    assert not calls(demo, run_id).duplicated(["request_id", "role"]).any()


@pytest.fixture
def ctrl_c() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt, as in a terminal, for the test's duration.

    Python installs that handler only when it starts with SIGINT's default action; a job started in the
    background by a script (`cmd &`, as CI runners may) inherits SIGINT ignored, and the signal would vanish.
    """
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("ctrl_c")
def test_ctrl_c_keeps_the_calls_in_flight_and_resumes(demo: Store) -> None:
    """A real SIGINT reaches the main thread while workers are calling: the calls in flight finish and are
    stored, the run is marked interrupted, and a resume sends only what is missing."""
    import os
    import signal

    sent: list[bool] = []

    def interrupt(kw: dict[str, Any]) -> None:
        # ">=" and once: two workers may both have called before either checks, so 4 itself can be skipped
        if len(first.calls) >= 4 and not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)

    # 40 calls of 0.1 s on 2 workers: the run outlasts the signal by ~2 s, even on a loaded machine
    first = Provider(delay_s=0.1, fail=interrupt)
    run_id = collect.start(demo, REF, CollectOptions(sample=40, seed=4), budget_usd=5.0)
    with pytest.raises(KeyboardInterrupt):
        collect.run(demo, run_id, completion=first, sleep=no_sleep(), concurrency=2)
    assert collect.load_run(demo, run_id).status == "interrupted"
    stored = demo.scalar("SELECT count(*) FROM outcomes WHERE import_id = ?", [run_id])
    assert stored == len(first.calls)  # every call that was sent finished and is stored
    assert 4 <= stored < 40
    second = Provider()
    rep = collect.run(demo, run_id, completion=second, sleep=no_sleep())
    assert rep.status == "finished"
    assert len(first.calls) + len(second.calls) == 40


def test_a_failing_model_falls_back_in_order(demo: Store) -> None:
    paths = demo.df(
        "SELECT request_id, model, fallbacks FROM decisions WHERE router = ? AND len(fallbacks) > 0", [REF]
    )
    with_fallback = set(paths["request_id"])
    chosen = set(paths["model"])
    # every chosen model with fallbacks fails; its fallbacks answer
    provider = Provider(fail=lambda kw: server_error(kw["model"]) if kw["model"] in chosen else None)
    rep = run(demo, provider, sample=80)
    rows = demo.df("SELECT * FROM outcomes WHERE import_id = ?", [rep.run_id]).set_index("request_id")
    fb = rows.loc[rows.index.isin(with_fallback)]
    assert len(fb) > 5
    assert rep.fallbacks_taken >= len(fb[fb["fallback_model"].notna()]) > 0
    for rid, row in fb.iterrows():
        # the first fallback that is not itself a failing model answers; the errors name the ones before it
        answering = [m for m in paths.set_index("request_id").loc[rid, "fallbacks"] if m not in chosen]
        assert row["fallback_model"] == answering[0] if answering else pd.isna(row["fallback_model"])
        assert row["error"].startswith(f"{row['model']}: InternalServerError")
        assert (row["output_tokens"] > 0) if answering else pd.isna(row["output_tokens"])
    ledger = calls(demo, rep.run_id)
    assert set(ledger["role"]) == {"answer", "fallback"}


def test_when_every_model_fails_the_errors_are_recorded(demo: Store) -> None:
    provider = Provider(fail=lambda kw: server_error(kw["model"]))
    rep = run(demo, provider, sample=300)
    rows = demo.df("SELECT * FROM outcomes WHERE import_id = ?", [rep.run_id])
    assert rows["fallback_model"].isna().all()
    assert rows["output_tokens"].isna().all()
    with_fb = rows[rows["path"].str.contains('"fallbacks": \\["', regex=True)]
    assert len(with_fb)
    assert with_fb["error"].str.count("InternalServerError").ge(2).all()
    assert rep.failed_calls == len(provider.calls)
    assert rep.spent_usd == 0


def test_pii_is_masked_before_it_reaches_an_external_model(demo: Store) -> None:
    demo.execute("UPDATE requests SET prompt = prompt || ' Reach me at jane.doe@example.com.'")
    provider = Provider()
    run(demo, provider, sample=2, models=("all",), judge="gpt-4o-mini")
    router = routers.get(demo, REF)
    seen: Counter[bool] = Counter()
    for kw in provider.calls:
        text = " ".join(m["content"] for m in kw["messages"])
        private = router.models[kw["model"]].boundary == "private" and kw["messages"][0]["role"] != "system"
        seen[private] += 1
        if private:
            assert EMAIL in text
        else:
            assert EMAIL not in text
            assert "[email]" in text
    assert seen[True]
    assert seen[False]
    ledger = demo.df("SELECT model, redacted FROM collection_calls")
    private_models = {m for m, s in router.models.items() if s.boundary == "private"}
    assert (ledger["redacted"] == ~ledger["model"].isin(private_models)).all()


def test_a_rate_limit_is_retried_with_backoff(demo: Store) -> None:
    waits: list[float] = []
    run_id = collect.start(demo, REF, CollectOptions(sample=1, seed=5), budget_usd=1.0)
    model = collect.load_run(demo, run_id).sample[0]["path"]["model"]
    provider = Provider(script={model: [rate_limit(model), rate_limit(model)]})
    rep = collect.run(demo, run_id, completion=provider, sleep=no_sleep(waits))
    assert waits == [1.0, 2.0]
    assert len(provider.calls) == 3
    assert rep.retries == 2
    assert rep.failed_calls == 0
    assert rep.outcomes_logged == 1
    assert demo.scalar("SELECT error FROM outcomes WHERE import_id = ?", [run_id]) is None


def test_retries_stop_after_three_and_the_fallback_answers(demo: Store) -> None:
    timeout = litellm_module().Timeout(message="no answer in 600 s", model="m", llm_provider="openai")
    row = demo.execute(
        "SELECT request_id, model, fallbacks[1] FROM decisions "
        "WHERE router = ? AND len(fallbacks) > 0 LIMIT 1",
        [REF],
    ).fetchone()
    assert row is not None
    waits: list[float] = []
    provider = Provider(fail=lambda kw: timeout if kw["model"] == row[1] else None)
    demo.execute("DELETE FROM decision_rows WHERE router = ? AND request_id <> ?", [REF, row[0]])
    run_id = collect.start(demo, REF, CollectOptions(sample=1), budget_usd=5.0)
    collect.run(demo, run_id, completion=provider, sleep=no_sleep(waits), concurrency=1)
    out = demo.execute(
        "SELECT error, fallback_model FROM outcomes WHERE import_id = ? AND request_id = ?", [run_id, row[0]]
    ).fetchone()
    assert out is not None
    assert "Timeout" in out[0]
    assert out[1] == row[2]
    assert waits == [1.0, 2.0, 4.0]
    assert [kw["model"] for kw in provider.calls] == [row[1]] * 4 + [row[2]]
    retried = demo.scalar(
        "SELECT retries FROM collection_calls WHERE run_id = ? AND request_id = ? AND role = 'answer'",
        [run_id, row[0]],
    )
    assert retried == 3


@pytest.mark.parametrize(
    ("reply", "score"),
    [
        ("Correct and complete.\nScore: 8", 8.0),
        ("**Score:** 9", 9.0),
        ("score = 7.5", 7.5),
        ("I would give this 6/10.", 6.0),
        ("6 out of 10", 6.0),
        ("7", 7.0),
        ("Score: 3 at first, but on reflection Score: 5", 5.0),
        ("A fine answer.", None),
        ("Score: 11", None),
        ("", None),
    ],
    ids=["line", "bold", "decimal", "slash", "out-of", "bare", "last-wins", "none", "out-of-range", "empty"],
)
def test_judge_scores_are_parsed_robustly(reply: str, score: float | None) -> None:
    parsed = parse_score(reply)
    assert parsed.score == score
    assert (parsed.note is None) == (score is not None)


def test_the_judge_scores_answers_and_its_cost_is_recorded(demo: Store) -> None:
    rep = run(demo, Provider(judge_reply="Mostly right. Score: 7"), sample=4, judge="gpt-4o-mini")
    rows = demo.df("SELECT quality, quality_scale FROM outcomes WHERE import_id = ?", [rep.run_id])
    assert list(rows["quality"]) == [7.0] * 4
    assert set(rows["quality_scale"]) == {"judge_1_10"}
    judge_calls = calls(demo, rep.run_id).query("role == 'judge'")
    assert len(judge_calls) == 4
    assert (judge_calls["cost_usd"] > 0).all()
    assert rep.judge_usd == pytest.approx(judge_calls["cost_usd"].sum())
    assert rep.judged == 4
    assert collect.judged(demo, rep.run_id)["quality"].tolist() == [7.0] * 4


def test_a_judge_reply_without_a_number_leaves_quality_null(demo: Store) -> None:
    rep = run(demo, Provider(judge_reply="I cannot grade this."), sample=2, judge="gpt-4o-mini")
    assert demo.df("SELECT quality FROM outcomes WHERE import_id = ?", [rep.run_id])["quality"].isna().all()
    notes = calls(demo, rep.run_id).query("role == 'judge'")["error"]
    assert notes.str.startswith("judge reply has no score").all()
    assert rep.unscored == 2


def test_no_api_key_reaches_the_store(demo: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    bad = litellm_module().BadRequestError
    provider = Provider(
        fail=lambda kw: bad(
            message=f"Incorrect API key provided: {API_KEY}", model=kw["model"], llm_provider="x"
        )
    )
    rep = run(demo, provider, sample=5)
    assert rep.failed_calls > 0
    dump = " ".join(
        str(v)
        for table in ("outcomes", "collection_calls", "collection_runs")
        for v in demo.df(f"SELECT * FROM {table}").astype(str).to_numpy().ravel()
    )
    assert API_KEY not in dump
    assert "sk-test" not in dump
    assert "[OPENAI_API_KEY]" in dump


def test_refused_credentials_stop_the_run(demo: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    auth = litellm_module().AuthenticationError
    provider = Provider(
        fail=lambda kw: auth(message=f"invalid x-api-key {API_KEY}", llm_provider="a", model="m")
    )
    real_wait = collect.wait

    def slow_wait(*args: Any, **kwargs: Any) -> Any:  # a busy main thread: the worker must stop by itself
        time.sleep(0.2)
        return real_wait(*args, **kwargs)

    monkeypatch.setattr(collect, "wait", slow_wait)
    run_id = collect.start(demo, REF, CollectOptions(sample=4), budget_usd=1.0)
    with pytest.raises(CredentialsError) as err:
        collect.run(demo, run_id, completion=provider, sleep=no_sleep(), concurrency=1)
    assert API_KEY not in str(err.value)
    assert "environment" in str(err.value)
    assert len(provider.calls) == 1
    assert collect.load_run(demo, run_id).status == "failed"


def test_scrub_masks_keys_from_the_environment_and_key_shapes() -> None:
    text = scrub(
        "bad key sk-proj-abcdefghijklmnopqrstuvwx and mysecretvalue123", {"MY_TOKEN": "mysecretvalue123"}
    )
    assert "sk-proj" not in text
    assert "mysecretvalue123" not in text
    assert "[MY_TOKEN]" in text


def test_outcomes_already_in_the_store_are_left_alone_unless_replaced(demo: Store) -> None:
    first = run(demo, Provider(), sample=3)
    provider = Provider()
    again = run(demo, provider, sample=3)  # the same sample: its outcomes are in the store already
    assert provider.calls == []
    assert again.skipped_existing == 3
    assert again.outcomes_logged == 0
    replaced = run(demo, provider, sample=3, replace=True)
    assert len(provider.calls) == 3
    assert replaced.outcomes_logged == 3
    assert replaced.skipped_existing == 0
    assert demo.scalar("SELECT count(*) FROM outcomes WHERE import_id = ?", [first.run_id]) == 0


def test_imported_full_outcomes_are_not_paid_for_again(demo_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "full.duckdb"
    shutil.copy(demo_file, path)
    with open_store(path) as store:  # the demo's imported outcomes are kept: every model's full outcome
        provider = Provider()
        rep = run(store, provider, sample=3, models=("all",))
        assert rep.outcomes_full == 0
        assert rep.skipped_existing >= 3 * len(routers.get(store, REF).models)
        assert len(provider.calls) == rep.outcomes_logged <= 3


def test_the_concurrency_limit_holds(demo: Store) -> None:
    provider = Provider(delay_s=0.05)
    rep = collect.collect(
        demo, REF, CollectOptions(sample=10), completion=provider, sleep=no_sleep(), concurrency=3
    )
    assert rep.outcomes_logged == 10
    assert 1 <= provider.max_in_flight <= 3


@pytest.mark.parametrize(
    ("ref", "options", "message"),
    [
        ("acme-gateway@9", CollectOptions(sample=2), "no router version"),
        (REF, CollectOptions(sample=2, models=("nope",)), "nope not in acme-gateway@2"),
        (
            REF,
            CollectOptions(sample=2, judge="judge-without-price"),
            "no price for model(s) judge-without-price",
        ),
        (REF, CollectOptions(sample=0), "--sample must be at least 1"),
    ],
    ids=["unknown-version", "unknown-model", "judge-without-price", "empty-sample"],
)
def test_bad_options_fail_before_any_call(
    demo: Store, ref: str, options: CollectOptions, message: str
) -> None:
    provider = Provider()
    with pytest.raises((CollectError, NotFoundError), match=message.replace("(", r"\(").replace(")", r"\)")):
        collect.collect(demo, ref, options, completion=provider)
    assert provider.calls == []


def test_a_version_without_replay_is_refused(demo: Store) -> None:
    demo.execute("DELETE FROM decision_rows WHERE router = ?", [REF])
    demo.execute("DELETE FROM replay_runs WHERE router = ?", [REF])
    with pytest.raises(CollectError, match=f"routelab replay {REF}"):
        collect.start(demo, REF, CollectOptions(sample=2))


def test_an_unknown_run_names_the_stored_ones(demo: Store) -> None:
    run_id = collect.start(demo, REF, CollectOptions(sample=1))
    with pytest.raises(CollectError, match=run_id):
        collect.run(demo, "nope", completion=Provider())
