from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from storage.db import session_scope
from storage.messages import load_cursor, quarantined, store_batch
from storage.models import Message, MessageBrand, Quarantine


def _message(external_id: str, text: str = "De bezorging was snel") -> Message:
    return Message(
        source="demo",
        external_id=external_id,
        channel="review",
        text=text,
        created_at=datetime(2026, 11, 20, 10, 30, tzinfo=UTC),
    )


def test_redelivered_message_is_stored_once(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = store_batch(
            session, "demo", [_message("a"), _message("b")], {"a": ["voltera"]}, cursor="2"
        )
    with session_scope(engine) as session:
        again = store_batch(
            session,
            "demo",
            [_message("b"), _message("c")],
            {"b": ["voltera"], "c": ["stroomz"]},
            cursor="3",
        )
    assert (first.inserted, first.duplicates) == (2, 0)
    assert (again.inserted, again.duplicates) == (1, 1)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 3
        links = set(session.execute(select(MessageBrand.brand)).scalars())
        assert links == {"voltera", "stroomz"}  # the duplicate "b" did not get a brand link
        assert load_cursor(session, "demo") == "3"


def test_duplicates_inside_one_batch_are_stored_once(engine: Engine) -> None:
    with session_scope(engine) as session:
        result = store_batch(session, "demo", [_message("x"), _message("x")], {})
    assert result.inserted == 1
    assert result.duplicates == 1


def test_cursor_does_not_move_when_the_batch_fails(engine: Engine) -> None:
    with session_scope(engine) as session:
        store_batch(session, "demo", [_message("a")], {}, cursor="1")
    try:
        with session_scope(engine) as session:
            store_batch(session, "demo", [_message("b")], {}, cursor="2")
            raise RuntimeError("crash after storing, before commit")
    except RuntimeError:
        pass
    with session_scope(engine) as session:
        assert load_cursor(session, "demo") == "1"
        assert session.scalar(select(func.count()).select_from(Message)) == 1


def test_quarantined_input_is_kept_with_its_error(engine: Engine) -> None:
    bad = Quarantine(
        source="file", reference="reviews.csv:7", payload='{"text": ""}', error="text is empty"
    )
    with session_scope(engine) as session:
        result = store_batch(session, "file", [_message("ok")], {}, [bad])
    assert result.quarantined == 1
    with session_scope(engine) as session:
        (row,) = quarantined(session, "file")
        assert (row.reference, row.error, row.payload) == (
            "reviews.csv:7",
            "text is empty",
            '{"text": ""}',
        )
