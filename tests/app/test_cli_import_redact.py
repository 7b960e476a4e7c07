"""`routelab import --redact`: prompts are stored with PII masked, the detected types kept as an attr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from routelab.app.cli import main
from routelab.datasets.store import open_store

ROWS = [
    {
        "request_id": "r1",
        "prompt": "Refund to card 4111 1111 1111 1111, mail ana@example.com",
        "workflow": "support",
    },
    {"request_id": "r2", "prompt": "No personal data here at all.", "workflow": "support"},
    {
        "request_id": "r3",
        "prompt": "IBAN DE89 3704 0044 0532 0130 00 please",
        "workflow": "sales",
        "attrs": {"crm": "hubspot"},
    },
]


@pytest.fixture
def file(tmp_path: Path) -> Path:
    path = tmp_path / "requests.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    return path


def stored(db: Path) -> dict[str, tuple[str, dict[str, str], int]]:
    with open_store(db) as store:
        rows = store.execute(
            "SELECT request_id, prompt, attrs, prompt_tokens FROM requests ORDER BY 1"
        ).fetchall()
    return {r[0]: (r[1], dict(r[2] or {}), r[3]) for r in rows}


def test_prompts_are_stored_masked_with_their_pii_types(tmp_path: Path, file: Path) -> None:
    db = tmp_path / "s.duckdb"
    assert main(["import", str(file), "--format", "requests", "--redact", "--db", str(db)]) == 0
    rows = stored(db)
    assert rows["r1"][0] == "Refund to card [payment_card], mail [email]"
    assert rows["r1"][1]["pii_types"] == "email,payment_card"
    assert rows["r2"][0] == ROWS[1]["prompt"]
    assert rows["r2"][1]["pii_types"] == ""
    assert rows["r3"][0] == "IBAN [iban] please"
    assert rows["r3"][1] == {"crm": "hubspot", "pii_types": "iban"}
    with open_store(db) as store:
        raw = store.scalar("SELECT count(*) FROM requests WHERE prompt LIKE '%4111%' OR prompt LIKE '%ana@%'")
    assert raw == 0  # the raw text never reached the store


def test_token_counts_come_from_the_raw_prompt(tmp_path: Path, file: Path) -> None:
    masked, plain = tmp_path / "m.duckdb", tmp_path / "p.duckdb"
    assert main(["import", str(file), "--format", "requests", "--redact", "--db", str(masked)]) == 0
    assert main(["import", str(file), "--format", "requests", "--db", str(plain)]) == 0
    assert {k: v[2] for k, v in stored(masked).items()} == {k: v[2] for k, v in stored(plain).items()}


def test_a_redacted_import_is_its_own_import(
    tmp_path: Path, file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.duckdb"
    assert main(["import", str(file), "--format", "requests", "--redact", "--db", str(db)]) == 0
    assert (
        main(["import", str(file), "--format", "requests", "--redact", "--db", str(db)]) == 0
    )  # no-op again
    capsys.readouterr()
    # the same file without --redact would store other text under the same ids: refused, store unchanged
    assert main(["import", str(file), "--format", "requests", "--db", str(db)]) == 2
    assert "nothing was imported" in capsys.readouterr().err
    assert stored(db)["r1"][0].startswith("Refund to card [payment_card]")


def test_a_redacted_store_routes_like_the_raw_one(tmp_path: Path, file: Path) -> None:
    """acme v3's privacy policy reads `has_pii`: the masked prompt alone would hide the PII from it."""
    from routelab.datasets.workspace import example_config

    config = tmp_path / "acme_v3.yaml"
    config.write_text(example_config("acme_v3.yaml"), encoding="utf-8")
    decided = {}
    for name, extra in (("raw", []), ("masked", ["--redact"])):
        db = tmp_path / f"{name}.duckdb"
        assert main(["import", str(file), "--format", "requests", *extra, "--db", str(db)]) == 0
        assert main(["prices", "snapshot", "--db", str(db)]) == 0
        assert main(["router", "add", str(config), "--db", str(db)]) == 0
        assert main(["replay", "acme-gateway@3", "--db", str(db)]) == 0
        with open_store(db) as store:
            rows = store.execute(
                "SELECT request_id, model, policy_flags FROM decisions ORDER BY request_id"
            ).fetchall()
        decided[name] = {r[0]: (r[1], tuple(r[2])) for r in rows}
    assert decided["masked"] == decided["raw"]
    assert "privacy" in decided["masked"]["r1"][1]  # the PII request was kept on the private cluster
    assert "privacy" not in decided["masked"]["r2"][1]
