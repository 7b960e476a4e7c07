"""The workbench in a real browser: Chromium (Playwright) against a `routelab app` server on a demo store.

Alice annotates five items from the keyboard (with one undo), Bob gives three second opinions, and the
Overview's progress and agreement follow; Compare and Drift open without an exception. Screenshots of
every step go to `$ROUTELAB_TEST_ARTIFACTS/browser/` (default `build/test-artifacts/browser/`).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from routelab.datasets.store import open_store

try:
    from playwright.sync_api import Page, expect
except ImportError:  # a dev dependency: missing only from a partial install, never under CI
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("playwright is not installed: pip install -e '.[dev]'", allow_module_level=True)

ROUTER = "acme-gateway@3"  # the latest version: the Annotate page's default
RUN_TIMEOUT_MS = 120_000  # one script run: Drift measures every week on a cold cache
PROGRESS = re.compile(r"([\d,]+) of ([\d,]+) decisions of (\S+) judged; you: ([\d,]+) \((\d+) this session\)")
ANNOTATE_TITLE = "Annotate routing decisions"


# ---- helpers -------------------------------------------------------------------------------------------
def settle(page: Page, timeout: float = RUN_TIMEOUT_MS) -> None:
    """Wait until Streamlit has finished the current script run, then fail on an exception box.

    A key press reaches the server a moment after it is sent, so "not running" alone may describe the run
    before; callers also wait for the element the action should produce.
    """
    page.wait_for_timeout(150)
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            return app && app.dataset.testConnectionState === 'CONNECTED'
                && app.dataset.testScriptState === 'notRunning'
                && !document.querySelector('[data-testid="stStatusWidget"]');
        }""",
        timeout=timeout,
    )
    exceptions = page.locator('[data-testid="stException"]')
    if exceptions.count():
        pytest.fail(f"the page shows an exception:\n{exceptions.first.inner_text()}")


def screenshot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"))


def open_page(page: Page, title: str) -> None:
    """Follow the sidebar link (same Streamlit session: the sign-in and undo stack survive)."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click()
    settle(page)


def choose(page: Page, scope: Any, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label` inside `scope` (a click, not a shortcut)."""
    box = scope.get_by_role("combobox", name=label, exact=True)
    # The first click on a main-area selectbox only focuses its input; the list opens on the next one.
    for _ in range(3):
        box.click()
        try:
            expect(box).to_have_attribute("aria-expanded", "true", timeout=2_000)
            break
        except AssertionError:
            continue
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)
    expect(box).to_have_value(option)


@dataclass(frozen=True)
class Progress:
    """The Annotate page's progress line."""

    judged: int
    total: int
    router: str
    you: int
    session: int


def progress(page: Page) -> Progress:
    text = page.locator('[data-testid="stMain"]').get_by_text(PROGRESS).inner_text()
    found = PROGRESS.search(text)
    assert found, text
    judged, total, router, you, session = found.groups()
    return Progress(int(judged.replace(",", "")), int(total.replace(",", "")), router, int(you), int(session))


def item_line(page: Page) -> Any:
    """The paragraph `**Request** `<id>` · picked because: ... [· second opinion]`."""
    return page.locator('[data-testid="stMain"] [data-testid="stMarkdownContainer"] p').filter(
        has_text=re.compile(r"^Request ")
    )


def request_id(page: Page) -> str:
    return str(item_line(page).locator("code").first.inner_text())


def press(page: Page, key: str) -> None:
    """Press a shortcut with the focus on the page body (a focused input swallows the shortcuts)."""
    page.get_by_role("heading", name=ANNOTATE_TITLE).click()
    page.keyboard.press(key)


def judge(page: Page, key: str, you: int) -> str:
    """Press `key` on the current item; wait until the progress line counts `you` items of mine."""
    before = request_id(page)
    press(page, key)
    expect(page.locator('[data-testid="stMain"]').get_by_text(PROGRESS)).to_contain_text(
        f"you: {you} (", timeout=RUN_TIMEOUT_MS
    )
    settle(page)
    after = request_id(page)
    assert after != before, f"after {key!r} the page still shows {before}"
    return before


def sign_in(page: Page, name: str) -> None:
    choose(page, page.locator('[data-testid="stSidebar"]'), "Signed in as", name)
    expect(item_line(page)).to_be_visible()


def metric(page: Page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=label)
    )
    return str(box.locator('[data-testid="stMetricValue"]').inner_text()).strip()


def table(page: Page, heading_id: str) -> list[dict[str, str]]:
    """The first dataframe after the subheader `heading_id`, read from the grid's accessibility table.

    Streamlit draws dataframes on a canvas; the canvas holds a `role="grid"` table of the visible cells.
    """
    grid = page.locator(
        f'[data-testid="stElementContainer"]:has(h3#{heading_id}) ~ [data-testid="stElementContainer"] '
        '[data-testid="stDataFrame"] canvas[data-testid="data-grid-canvas"]'
    ).first.locator('table[role="grid"]')
    expect(grid).to_be_attached()
    headers = grid.locator("thead th").all_text_contents()
    rows = grid.locator("tbody tr").all()
    return [dict(zip(headers, row.locator("td").all_text_contents(), strict=True)) for row in rows]


def assert_clean_console(session: Any) -> None:
    assert not session.console.errors, session.console.errors


# ---- tests ---------------------------------------------------------------------------------------------
def test_keyboard_annotation_moves_progress_and_agreement(
    workbench: Any, new_session: Any, artifacts: Path
) -> None:
    alice = new_session()
    page = alice.page
    page.goto(f"{workbench.url}/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    settle(page)
    expect(page.get_by_text("No decision has two annotators yet")).to_be_visible()
    screenshot(page, artifacts, "01-overview")

    open_page(page, "Annotate")
    expect(page.get_by_role("heading", name=ANNOTATE_TITLE)).to_be_visible()
    sign_in(page, "alice")
    start = progress(page)
    assert (start.router, start.you, start.session, start.judged) == (ROUTER, 0, 0, 0)
    assert start.total == 1200

    judged = [judge(page, "1", you=1), judge(page, "3", you=2)]
    # 2: incorrect, then say what the path should have been and submit with Ctrl+Enter from inside the form
    press(page, "2")
    form = page.get_by_text("What should the path have been?")
    expect(form).to_be_visible()
    settle(page)
    main = page.locator('[data-testid="stMain"]')
    action = "allow" if main.get_by_role("combobox", name="Action").input_value() == "block" else "block"
    choose(page, main, "Action", action)
    screenshot(page, artifacts, "02-annotate-correction")
    before = request_id(page)
    page.keyboard.press("Control+Enter")  # the focus is still in the selectbox: a modified key fires there
    expect(main.get_by_text(PROGRESS)).to_contain_text("you: 3 (", timeout=RUN_TIMEOUT_MS)
    settle(page)
    assert request_id(page) != before
    judged.append(before)
    expect(form).to_be_hidden()
    judged.append(judge(page, "1", you=4))

    # U: the last submission is taken back and its item is shown again
    press(page, "u")
    expect(main.get_by_text(PROGRESS)).to_contain_text("you: 3 (3 this session)", timeout=RUN_TIMEOUT_MS)
    settle(page)
    assert request_id(page) == judged[-1]
    judged.append(judge(page, "1", you=4))  # the undone item, judged again
    judged.append(judge(page, "1", you=5))
    end = progress(page)
    assert (end.judged, end.you, end.session) == (5, 5, 5)
    assert len(set(judged)) == 5
    screenshot(page, artifacts, "03-annotate-alice")

    # Bob, in his own browser session: with --double-share 1.0 he is offered second opinions on Alice's items
    bob = new_session()
    bob_page = bob.page
    bob_page.goto(f"{workbench.url}/")
    settle(bob_page)
    open_page(bob_page, "Annotate")
    sign_in(bob_page, "bob")
    assert progress(bob_page).you == 0
    seconds = []
    for you in (1, 2, 3):
        expect(item_line(bob_page)).to_contain_text("second opinion")
        seconds.append(judge(bob_page, "1", you=you))
    assert set(seconds) <= set(judged)
    assert progress(bob_page).judged == 5  # second opinions add no newly judged decision
    screenshot(bob_page, artifacts, "04-annotate-bob")

    open_page(bob_page, "Overview")
    expect(bob_page.get_by_role("heading", name="Annotator agreement")).to_be_visible()
    expect(bob_page.get_by_text("3 decision(s) judged by two or more annotators")).to_be_visible()
    assert metric(bob_page, "Annotations") == "8"  # alice's five standing, bob's three
    annotators = {row["annotator"]: row for row in table(bob_page, "annotator-progress")}
    assert (annotators["alice"]["judgements"], annotators["bob"]["judgements"]) == ("5", "3")
    alpha = table(bob_page, "annotator-agreement")
    assert {"component", "alpha", "band", "units"} <= set(alpha[0])
    assert "verdict" in {row["component"] for row in alpha}
    bob_page.locator("h3#annotator-agreement").scroll_into_view_if_needed()
    screenshot(bob_page, artifacts, "05-overview-agreement")

    assert_clean_console(alice)
    assert_clean_console(bob)

    # The store, read after the server let go of it: what the keyboard wrote
    workbench.stop()
    with open_store(workbench.db) as store:
        rows = store.execute(
            "SELECT annotator, kind, count(*) FROM annotations WHERE router = ? GROUP BY ALL ORDER BY ALL",
            [ROUTER],
        ).fetchall()
        standing = store.execute(
            "SELECT annotator, verdict, count(*) FROM annotations_current WHERE router = ? "
            "GROUP BY ALL ORDER BY ALL",
            [ROUTER],
        ).fetchall()
        corrected = store.execute(
            "SELECT corrected FROM annotations_current WHERE annotator = 'alice' AND verdict = 'incorrect'"
        ).fetchall()
    # six judgements by alice (one of them undone by the undo row), three by bob
    assert rows == [("alice", "judgement", 6), ("alice", "undo", 1), ("bob", "judgement", 3)]
    assert standing == [
        ("alice", "correct", 3),
        ("alice", "incorrect", 1),
        ("alice", "unsure", 1),
        ("bob", "correct", 3),
    ]
    assert [json.loads(c)["action"] for (c,) in corrected] == [action]


@pytest.mark.parametrize(
    ("path", "title", "section", "rows", "shot"),
    [
        ("compare", "Compare two versions", "where-requests-moved", 6, "06-compare"),  # the six buckets
        ("drift", "Drift and silent routing failures", "windows-against-the-reference", 8, "07-drift"),
    ],
    ids=["compare", "drift"],
)
def test_view_opens_without_errors(
    workbench: Any,
    new_session: Any,
    artifacts: Path,
    path: str,
    title: str,
    section: str,
    rows: int,
    shot: str,
) -> None:
    session = new_session()
    page = session.page
    page.goto(f"{workbench.url}/{path}")
    expect(page.get_by_role("heading", name=title)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    settle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert len(table(page, section)) == rows
    screenshot(page, artifacts, shot)
    assert_clean_console(session)


def test_switching_annotator_on_the_page_starts_their_own_queue(workbench: Any, new_session: Any) -> None:
    page = new_session().page
    page.goto(f"{workbench.url}/")
    settle(page)
    open_page(page, "Annotate")
    sign_in(page, "alice")
    judge(page, "1", you=1)
    held_by_alice = request_id(page)
    sign_in(page, "bob")
    assert progress(page).session == 0
    assert request_id(page) != held_by_alice
    expect(item_line(page)).to_contain_text("second opinion")
    expect(page.locator(".st-key-undo button")).to_be_disabled()
