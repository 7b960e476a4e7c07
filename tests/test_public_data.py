"""The public-data helper skips locally and fails in CI when ../shared/data is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from .public_data import shared


def test_missing_data_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    absent = tmp_path / "absent"
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="public test data not found"):
        shared("routellm", root=absent)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="public test data not found"):
        shared("routellm", root=absent)


def test_present_data_is_found() -> None:
    assert shared("routellm", "mt_bench_question.jsonl").is_file()
