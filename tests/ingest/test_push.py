"""The push API over real HTTP: per-source tokens, per-item validation and results, idempotent
re-delivery, quarantine, and the limits a platform may run into."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import Engine, func, select
from werkzeug.serving import make_server

from config import Settings, SourceConfig
from ingest.push import MAX_BODY_BYTES, MAX_ITEMS, PushedMessage, push_blueprint
from storage.db import make_engine, session_scope
from storage.messages import quarantined
from storage.models import Message, MessageBrand
from wiring import build_normaliser

DOC = Path(__file__).parents[2] / "docs" / "push-api.md"
CHAT_TOKEN = "chat-token-Zx81"
REVIEW_TOKEN = "review-token-Q7"


@pytest.fixture
def push_settings(demo_settings: Settings) -> Settings:
    sources = (
        *demo_settings.sources,
        SourceConfig(key="chatbot", type="push", channel="chat", secret_env="TEST_PUSH_CHAT"),
        SourceConfig(
            key="review_hook",
            type="push",
            channel="review",
            brand="voltera",
            secret_env="TEST_PUSH_REVIEW",
        ),
        SourceConfig(key="unset_hook", type="push", secret_env="TEST_PUSH_NOT_SET"),
    )
    return demo_settings.model_copy(update={"sources": sources})


@pytest.fixture
def api(
    engine: Engine, push_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[httpx.Client]:
    monkeypatch.setenv("TEST_PUSH_CHAT", CHAT_TOKEN)
    monkeypatch.setenv("TEST_PUSH_REVIEW", REVIEW_TOKEN)
    monkeypatch.delenv("TEST_PUSH_NOT_SET", raising=False)
    with _serve(engine, push_settings) as client:
        yield client


@contextmanager
def _serve(engine: Engine, settings: Settings) -> Iterator[httpx.Client]:
    """A real HTTP server on a free port serving only the push blueprint, and a client for it."""
    app = Flask("push-test")
    app.register_blueprint(push_blueprint(engine, build_normaliser(settings), settings.sources))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll interval: shutdown() waits for it, once per test.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}", timeout=10) as client:
            yield client
    finally:
        server.shutdown()
        thread.join()


def _auth(token: str = CHAT_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _item(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "external_id": f"turn-{n}",
        "text": f"Bericht {n}: waar blijft mijn pakket?",
        "created_at": "2026-11-20T10:15:00+01:00",
        **fields,
    }


def _post(api: httpx.Client, items: list[Any], token: str = CHAT_TOKEN) -> httpx.Response:
    return api.post("/api/v1/messages", json={"messages": items}, headers=_auth(token))


def _count(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Message)) or 0)


def test_a_batch_is_stored_and_every_item_reported(api: httpx.Client, engine: Engine) -> None:
    items = [
        _item(1, conversation_id="c-1", role="customer", language="nl"),
        _item(2, text="Bel me op 06-12345678, Stroomz", conversation_id="c-1", role="customer"),
        _item(3, text="Top service", channel="review", brand="kabelhuis", rating=5),
    ]
    response = _post(api, items)
    assert response.status_code == 202
    assert response.json() == {
        "accepted": 3,
        "duplicates": 0,
        "rejected": 0,
        "results": [
            {"index": i, "external_id": f"turn-{i + 1}", "status": "stored"} for i in range(3)
        ],
    }
    with session_scope(engine) as session:
        rows = {m.external_id: m for m in session.scalars(select(Message))}
        brands = {
            external_id: brand
            for external_id, brand in session.execute(
                select(Message.external_id, MessageBrand.brand).join(
                    MessageBrand, MessageBrand.message_id == Message.id
                )
            )
        }
    assert {m.source for m in rows.values()} == {"chatbot"}
    assert (rows["turn-1"].channel, rows["turn-1"].turn_role) == ("chat", "customer")
    assert rows["turn-1"].conversation_id == "c-1" and rows["turn-1"].language == "nl"
    assert rows["turn-1"].created_at.isoformat() == "2026-11-20T09:15:00+00:00"
    assert "06-12345678" not in rows["turn-2"].text  # redacted like every other source
    assert (rows["turn-3"].channel, rows["turn-3"].rating) == ("review", 5.0)
    assert brands == {"turn-2": "stroomz", "turn-3": "kabelhuis"}


def test_posting_the_same_batch_again_reports_every_item_as_duplicate(
    api: httpx.Client, engine: Engine
) -> None:
    items = [_item(n) for n in range(5)]
    assert _post(api, items).json()["accepted"] == 5
    again = _post(api, items).json()
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 5, 0)
    assert {r["status"] for r in again["results"]} == {"duplicate"}
    assert _count(engine) == 5


def test_an_id_repeated_within_one_batch_is_stored_once(api: httpx.Client, engine: Engine) -> None:
    body = _post(api, [_item(1), _item(1, text="retry of the same turn"), _item(2)]).json()
    assert [r["status"] for r in body["results"]] == ["stored", "duplicate", "stored"]
    assert _count(engine) == 2


def test_bad_items_are_rejected_naming_index_and_field_while_the_others_are_stored(
    api: httpx.Client, engine: Engine
) -> None:
    missing_text = _item(1)
    del missing_text["text"]
    items = [
        _item(0),
        missing_text,
        _item(2, created_at="gisteren"),
        _item(3, brand="acme"),
        _item(4, role="klant"),
        _item(5, created_at="2026-11-20T10:15:00"),
        "not an object",
        _item(7),
    ]
    response = _post(api, items)
    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 0, 6)
    errors = {r["index"]: r.get("error", "") for r in body["results"]}
    assert [r["status"] for r in body["results"]] == ["stored"] + ["rejected"] * 6 + ["stored"]
    assert errors[1] == "messages[1].text: required but missing"
    assert errors[2].startswith("messages[2].created_at: 'gisteren' is not an ISO 8601 date/time")
    assert errors[3].startswith("messages[3].brand: 'acme' is not a brand key (known: ")
    assert errors[4] == "messages[4].role: expected 'customer', 'agent' or 'bot', got 'klant'"
    assert errors[5].startswith("messages[5].created_at: has no time zone")
    assert errors[6] == "messages[6]: expected a JSON object"
    assert body["results"][4]["external_id"] == "turn-4"
    with session_scope(engine) as session:
        kept = {q.reference: q for q in quarantined(session, "chatbot")}
        stored = set(session.scalars(select(Message.external_id)))
    assert stored == {"turn-0", "turn-7"}
    assert len(kept) == 6
    role_row = kept["/api/v1/messages messages[4] external_id='turn-4'"]
    assert role_row.error == errors[4]
    assert json.loads(role_row.payload)["role"] == "klant"  # the item as it was sent


def test_the_token_decides_the_source_and_its_defaults(api: httpx.Client, engine: Engine) -> None:
    assert _post(api, [_item(1)], token=REVIEW_TOKEN).json()["accepted"] == 1
    with session_scope(engine) as session:
        row = session.scalars(select(Message)).one()
        brands = list(session.scalars(select(MessageBrand.brand)))
    assert (row.source, row.channel, brands) == ("review_hook", "review", ["voltera"])


@pytest.mark.parametrize(
    "headers",
    [
        {},
        _auth("wrong"),
        {"Authorization": f"Basic {CHAT_TOKEN}"},
        {"Authorization": "Bearer"},
        _auth("Zx81"),
    ],
    ids=["missing", "wrong", "not-bearer", "empty", "part-of-a-token"],
)
def test_a_missing_or_wrong_token_is_401_without_naming_any_source(
    api: httpx.Client, engine: Engine, headers: dict[str, str]
) -> None:
    response = api.post("/api/v1/messages", json={"messages": [_item(1)]}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "missing or invalid bearer token"}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert _count(engine) == 0


def test_a_body_over_one_mebibyte_is_413(api: httpx.Client, engine: Engine) -> None:
    text = "x" * 15_000
    items = [_item(n, text=text) for n in range(MAX_BODY_BYTES // 15_000 + 1)]
    assert len(items) <= MAX_ITEMS  # too big by bytes, not by count
    response = _post(api, items)
    assert response.status_code == 413
    assert "larger than 1048576 bytes" in response.json()["error"]
    assert _count(engine) == 0


def test_more_than_a_thousand_messages_is_413(api: httpx.Client, engine: Engine) -> None:
    items = [
        {"external_id": str(n), "text": "ok", "created_at": "2026-11-20T10:00:00Z"}
        for n in range(MAX_ITEMS + 1)
    ]
    response = _post(api, items)
    assert response.status_code == 413
    assert response.json()["error"].startswith("1001 messages in one request; the limit is 1000")
    assert _count(engine) == 0


def test_a_body_that_is_not_json_is_415(api: httpx.Client) -> None:
    response = api.post(
        "/api/v1/messages",
        content="external_id=1&text=hoi",
        headers={**_auth(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert response.json() == {"error": "Content-Type must be application/json"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            '{"messages": [{"external_id": "1",}]}',
            "body is not valid JSON: Expecting property name enclosed in double quotes "
            "at line 1, column 35 (character 34)",
        ),
        (
            '{"messages": {"external_id": "1"}}',
            'body must be a JSON object with a "messages" array',
        ),
        ('{"messages": [NaN]}', "body is not valid JSON: NaN is not valid JSON"),
    ],
    ids=["syntax", "no-array", "nan"],
)
def test_malformed_json_is_400_naming_the_position(
    api: httpx.Client, body: str, error: str
) -> None:
    response = api.post(
        "/api/v1/messages",
        content=body,
        headers={**_auth(), "Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 400
    assert response.json() == {"error": error}


def test_the_openapi_document_describes_the_endpoint_as_the_code_validates_it(
    api: httpx.Client,
) -> None:
    response = api.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    post = document["paths"]["/api/v1/messages"]["post"]
    assert set(post["responses"]) == {"202", "400", "401", "413", "415", "503"}
    schemas = document["components"]["schemas"]
    item = schemas["PushedMessage"]
    assert list(item["properties"]) == list(PushedMessage.model_fields)
    required = [name for name, f in PushedMessage.model_fields.items() if f.is_required()]
    assert item["required"] == required
    assert schemas["PushRequest"]["properties"]["messages"]["maxItems"] == MAX_ITEMS
    assert document["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"


def test_the_documented_example_batch_is_stored(api: httpx.Client, engine: Engine) -> None:
    document = DOC.read_text(encoding="utf-8")
    example = json.loads(re.findall(r"```json\n(.*?)```", document, re.S)[0])
    assert "curl -sS -X POST http://127.0.0.1:8050/api/v1/messages" in document
    body = _post(api, example["messages"]).json()
    assert (body["accepted"], body["rejected"]) == (len(example["messages"]), 0)
    assert _count(engine) == len(example["messages"])


def test_a_database_that_cannot_be_reached_is_503_and_the_batch_can_be_resent(
    push_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_PUSH_CHAT", CHAT_TOKEN)
    unmigrated = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables: every query fails
    with _serve(unmigrated, push_settings) as api:
        response = _post(api, [_item(1)])
    unmigrated.dispose()
    assert response.status_code == 503
    assert response.json() == {"error": "storage is unavailable; retry later"}
    assert response.headers["Retry-After"] == "5"
