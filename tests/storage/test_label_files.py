"""Label files: import with every bad row reported (file:line, reason), export that reads back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.db import make_engine, session_scope
from storage.labels import (
    LABEL_COLUMNS,
    LabelFileError,
    add_label,
    all_labels,
    export_labels,
    import_labels,
    label_stats,
    read_label_file,
)
from storage.messages import store_batch
from storage.migrate import upgrade
from storage.models import Message

PHASES = ["orientation", "purchase", "payment", "delivery", "use", "service", "returns"]

MIXED_FILE = """text,polarity,phase,language,created_by,created_at
De bezorger was twee dagen te laat,negative,delivery,nl,anna,2026-11-30T10:00:00+00:00
Top service,great,,nl,anna,
Het pakket kwam op tijd,positive,shipping,nl,anna,
Zomaar een zin,,,nl,anna,
Prima laptop,positive,use,nl,anna,gisteren
"De chat hielp me
meteen verder",positive,service,nl,bram,2026-11-30
,negative,,nl,anna,
Te duur,negative,payment,nl,anna,
"""


def _write(tmp_path: Path, name: str, content: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding=encoding)
    return path


def test_import_reports_each_bad_row_with_file_line_and_reason_and_imports_the_rest(
    engine, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path, "labels.csv", MIXED_FILE)
    with session_scope(engine) as session:
        result = import_labels(session, path, phases=PHASES, created_by="import")
    problems = {p.line: p.reason for p in result.problems}
    assert [str(p).split(": ")[0] for p in result.problems] == [
        f"{path}:{line}" for line in (3, 4, 5, 6, 9)
    ]
    assert "'great' is not one of negative, neutral, positive" in problems[3]
    assert "'shipping' is not a configured phase" in problems[4]
    assert "needs one" in problems[5]
    assert "'gisteren' is not an ISO date" in problems[6]
    assert "nothing says what the label is about" in problems[9]
    assert result.imported == 3 and result.already_stored == 0
    with session_scope(engine) as session:
        labels = all_labels(session)
        texts = {label.text: label for label in labels}
    # The quoted cell spans lines 7-8; the row after it is reported as line 9.
    assert set(texts) == {
        "De bezorger was twee dagen te laat",
        "De chat hielp me\nmeteen verder",
        "Te duur",
    }
    chat = texts["De chat hielp me\nmeteen verder"]
    assert chat.created_by == "bram" and chat.origin == "import" and chat.phase == "service"
    assert chat.created_at.replace(tzinfo=UTC) == datetime(2026, 11, 30, tzinfo=UTC)


def test_importing_the_same_file_twice_stores_it_once(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path, "labels.csv", MIXED_FILE)
    with session_scope(engine) as session:
        import_labels(session, path, phases=PHASES)
    with session_scope(engine) as session:
        again = import_labels(session, path, phases=PHASES)
    assert again.imported == 0 and again.already_stored == 3
    with session_scope(engine) as session:
        assert len(all_labels(session)) == 3


def test_a_semicolon_file_with_a_bom_and_dutch_words_imports(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    content = (
        "Tekst;Polarity;Phase\nNiet slecht, best goed;positief;\nWaardeloos;negatief;general\n"
    )
    path = _write(tmp_path, "excel.csv", content.replace("Tekst", "text"), encoding="utf-8-sig")
    with session_scope(engine) as session:
        result = import_labels(session, path, phases=PHASES, created_by="sanne")
    assert result.problems == [] and result.imported == 2
    with session_scope(engine) as session:
        polarities = {label.text: label.polarity for label in all_labels(session)}
        assert {label.created_by for label in all_labels(session)} == {"sanne"}
    assert polarities == {"Niet slecht, best goed": "positive", "Waardeloos": "negative"}


def test_a_file_without_a_text_column_or_not_utf8_is_refused_as_a_whole(tmp_path: Path) -> None:
    with pytest.raises(LabelFileError, match="no text"):
        read_label_file(_write(tmp_path, "a.csv", "body,polarity\nx,positive\n"))
    latin = tmp_path / "b.csv"
    latin.write_bytes("text,polarity\nCafé was dicht,negative\n".encode("latin-1"))
    with pytest.raises(LabelFileError, match="not UTF-8"):
        read_label_file(latin)
    with pytest.raises(LabelFileError, match="no such file"):
        read_label_file(tmp_path / "missing.csv")


def test_an_unknown_column_is_reported_and_its_rows_still_import(tmp_path: Path) -> None:
    rows, problems = read_label_file(
        _write(tmp_path, "c.csv", "text,polarity,remark\nTe laat,negative,bellen\n")
    )
    assert [r.text for r in rows] == ["Te laat"]
    assert len(problems) == 1 and "remark" in problems[0].reason and problems[0].line == 1


def _stored_message(engine) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        store_batch(
            session,
            "demo",
            [
                Message(
                    source="demo",
                    external_id="m1",
                    channel="review",
                    language="nl",
                    text="Het pakket kwam te laat",
                    created_at=datetime(2026, 11, 30, 12, tzinfo=UTC),
                    sentiment=0.25,  # what the model said
                    model="builtin",
                )
            ],
            {"m1": ["voltera"]},
        )
        return int(session.exec(Message.__table__.select()).one().id)  # type: ignore[call-overload]


def test_export_then_import_round_trips_into_the_same_and_a_fresh_database(
    engine, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    message_id = _stored_message(engine)
    with session_scope(engine) as session:
        add_label(session, created_by="anna", message_id=message_id, polarity="negative")
        add_label(
            session,
            created_by="bram",
            text='Zei "sorry", verder niets; echt, niets',
            polarity="negative",
            phase="service",
            language="nl",
            created_at=datetime(2026, 11, 29, 8, 30, 15, 123456, tzinfo=UTC),
        )
        add_label(session, created_by="anna", text="Snel\ngeleverd 🙂", polarity="positive")
    first = tmp_path / "first.csv"
    with session_scope(engine) as session:
        assert export_labels(session, first) == 3
    assert first.read_text(encoding="utf-8").splitlines()[0] == ",".join(LABEL_COLUMNS)
    # Into the same database: every row is already there.
    with session_scope(engine) as session:
        again = import_labels(session, first, phases=PHASES)
    assert (again.imported, again.already_stored, again.problems) == (0, 3, [])
    # Into a fresh database (another machine): message ids mean nothing there, texts do.
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade(other_url)
    other = make_engine(other_url)
    with session_scope(other) as session:
        moved = import_labels(session, first, phases=PHASES, link_messages=False)
    assert (moved.imported, moved.problems) == (3, [])
    second = tmp_path / "second.csv"
    with session_scope(other) as session:
        export_labels(session, second)
    other.dispose()
    linked = "message_id", "unit_position"
    rows = [_cells(first), _cells(second)]
    for row_a, row_b in zip(*rows, strict=True):
        assert {k: v for k, v in row_a.items() if k not in linked} == {
            k: v for k, v in row_b.items() if k not in linked
        }
    before, after = (
        next(row for row in cells if row["text"] == "Het pakket kwam te laat") for cells in rows
    )
    assert before["message_id"] == str(message_id) and after["message_id"] == ""
    assert before["model_score"] == after["model_score"] == "0.25"  # what the model said, kept
    assert before["model"] == after["model"] == "builtin"


def _cells(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_label_stats_count_by_polarity_phase_language_and_author(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        import_labels(session, _write(tmp_path, "l.csv", MIXED_FILE), phases=PHASES)
    with session_scope(engine) as session:
        stats = label_stats(session)
    assert stats.total == 3 and stats.linked_to_messages == 0
    assert stats.by_polarity == {"negative": 2, "positive": 1}
    assert stats.by_author == {"anna": 2, "bram": 1}
    assert stats.by_phase["delivery"] == 1 and stats.by_language == {"nl": 3}
    assert stats.first is not None and stats.last is not None and stats.first <= stats.last
