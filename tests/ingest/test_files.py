import json
from pathlib import Path

from sqlalchemy import Engine, func, select

from config import Settings
from ingest.brands import BrandMatcher
from ingest.files import batches, move_processed, read_file
from ingest.pipeline import Normaliser, store
from ingest.redact import Redactor
from storage.db import session_scope
from storage.messages import quarantined
from storage.models import Message, MessageBrand


def _normaliser(settings: Settings) -> Normaliser:
    handles = [h for b in settings.brands for h in b.handles]
    return Normaliser(Redactor(brand_handles=handles), BrandMatcher(settings.brands))


def _import(
    engine: Engine, settings: Settings, path: Path, **options: object
) -> tuple[int, int, int]:
    totals = [0, 0, 0]
    for batch in batches(read_file(path, **options), size=3):
        result = store(engine, "file", batch, _normaliser(settings))
        totals[0] += result.inserted
        totals[1] += result.duplicates
        totals[2] += result.quarantined
    return tuple(totals)  # type: ignore[return-value]


CSV = """id,text,created_at,rating,channel
r1,"Snel geleverd door Voltera, top!",2026-11-20T10:00:00Z,5,review
r2,,2026-11-20T11:00:00Z,1,review
r3,"Stroomz: pakket kwam niet, bel me op 06-12345678",2026-11-20T12:00:00Z,1,review
r4,"Datum klopt niet",gisteren,2,review
r5,"Prima",2026-11-20T13:00:00Z,vijf,review
r6,"Ook Kabelhuis en Voltera vergeleken",2026-11-20T14:00:00+01:00,,social
"""


def test_csv_rows_that_fail_are_quarantined_with_file_line_and_reason(
    engine: Engine, demo_settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text(CSV, encoding="utf-8")
    inserted, duplicates, bad = _import(engine, demo_settings, path)
    assert (inserted, duplicates, bad) == (3, 0, 3)
    with session_scope(engine) as session:
        errors = {q.reference: q.error for q in quarantined(session, "file")}
        texts = {m.external_id: m.text for m in session.scalars(select(Message))}
        brands = sorted(session.scalars(select(MessageBrand.brand)))
    assert errors["reviews.csv:3"] == "column 'text' (text) is missing or empty"
    assert "not an ISO 8601 date/time" in errors["reviews.csv:5"]
    assert errors["reviews.csv:6"] == "rating 'vijf' is not a number"
    assert "06-12345678" not in texts["r3"]  # personal data never stored in the display text
    assert brands == ["kabelhuis", "stroomz", "voltera", "voltera"]  # r6 belongs to both brands


def test_importing_the_same_file_twice_stores_nothing_new(
    engine: Engine, demo_settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "chat.jsonl"
    lines = [
        {"text": "Hoi, mijn pakket is zoek", "conversation_id": "c1", "role": "customer"},
        {"text": "Wat vervelend, ik kijk mee", "conversation_id": "c1", "role": "agent"},
        "not json at all",
    ]
    path.write_text(
        "\n".join(json.dumps(x) if isinstance(x, dict) else x for x in lines) + "\n",
        encoding="utf-8",
    )
    assert _import(engine, demo_settings, path, channel="chat") == (2, 0, 1)
    assert _import(engine, demo_settings, path, channel="chat") == (0, 2, 1)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 2
        roles = sorted(session.scalars(select(Message.turn_role)))
    assert roles == ["agent", "customer"]


def test_an_imported_file_moves_to_processed_without_overwriting(tmp_path: Path) -> None:
    for _ in range(2):
        path = tmp_path / "drop.csv"
        path.write_text("id,text\n1,hallo\n", encoding="utf-8")
        moved = move_processed(path)
        assert moved.parent == tmp_path / "processed" and moved.exists()
    assert len(list((tmp_path / "processed").iterdir())) == 2
