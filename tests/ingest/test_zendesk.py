"""What the Zendesk source promises: every public comment of new and updated tickets becomes one
turn of its ticket's conversation, with the right role, read once through the export's cursor."""

from __future__ import annotations

import base64
import json
import re
import threading
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from pytest_httpserver.httpserver import HandlerType
from sqlalchemy import Engine, select
from tenacity import wait_none
from werkzeug import Request, Response

import ingest.http
from config import Settings, SourceConfig, check_config
from config.settings import DEMO_CONFIG
from ingest.http import MalformedResponse, RateLimited, SourceError
from ingest.pipeline import run_source
from ingest.sources.zendesk import ZendeskSource, build
from storage.db import session_scope
from storage.messages import load_cursor
from storage.models import Message
from wiring import build_normaliser

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
START_TIME = str(int((NOW - timedelta(days=7)).timestamp()))
TOKEN_ENV = "CXPULSE_TEST_ZENDESK_TOKEN"
TOKEN = "zd-6wQ2b8kLp0test"
EMAIL = "api@voltera.nl"
AUTH = "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
EXPORT = "/api/v2/incremental/tickets/cursor.json"
PUBLIC_API = "https://voltera.zendesk.com"

CUSTOMER, PARTNER, OTHER_CUSTOMER = 9001, 9003, 9002
AGENT_TOM, AGENT_LISA, ANSWER_BOT, FLOW_BOT = 5002, 5003, 7000, 7100
USERS = [
    {"id": CUSTOMER, "name": "Eva Jansen", "role": "end-user"},
    {"id": OTHER_CUSTOMER, "name": "Mark Bakker", "role": "end-user"},
    {"id": PARTNER, "name": "Ruud Jansen", "role": "end-user"},
    {"id": AGENT_TOM, "name": "Tom (Voltera)", "role": "agent"},
    {"id": AGENT_LISA, "name": "Lisa (Voltera)", "role": "agent"},
    {"id": ANSWER_BOT, "name": "Answer Bot", "role": "agent"},
    {"id": FLOW_BOT, "name": "Volt", "role": "agent"},
]


@pytest.fixture(autouse=True)
def _token_and_quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    # The retries themselves are under test; their back-off would only make the suite slow.
    monkeypatch.setattr(ingest.http._get_json.retry, "wait", wait_none())


def _ticket(ticket_id: int, requester: int, channel: str, subject: str) -> dict[str, Any]:
    """A ticket as the incremental export lists it."""
    return {
        "url": f"{PUBLIC_API}/api/v2/tickets/{ticket_id}.json",
        "id": ticket_id,
        "external_id": None,
        "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": "2026-11-22T09:10:00Z",
        "updated_at": "2026-11-22T09:40:00Z",
        "type": "question",
        "subject": subject,
        "raw_subject": subject,
        "description": subject,
        "priority": "normal",
        "status": "open",
        "requester_id": requester,
        "submitter_id": requester,
        "assignee_id": AGENT_TOM,
        "organization_id": None,
        "group_id": 360001,
        "tags": ["bezorging"],
        "generated_timestamp": 1795338000,
    }


def _comment(
    comment_id: int,
    author: int,
    body: str,
    at: str,
    *,
    public: bool = True,
    via: str = "chat",
    kind: str = "Comment",
) -> dict[str, Any]:
    """A comment as the ticket comments endpoint returns it."""
    return {
        "id": comment_id,
        "type": kind,
        "author_id": author,
        "body": body,
        "html_body": f'<div class="zd-comment"><p>{body}</p></div>',
        "plain_body": body,
        "public": public,
        "attachments": [],
        "audit_id": comment_id + 500000,
        "via": {"channel": via, "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": at,
        "metadata": {"system": {"client": "Zendesk Chat"}, "custom": {}},
    }


CHAT = _ticket(48213, CUSTOMER, "chat", "Waar blijft mijn pakket?")
CHAT_COMMENTS = [
    _comment(
        1001,
        CUSTOMER,
        "Hoi, mijn bestelling zou gisteren komen maar track & trace zegt nog steeds "
        "'in sortering'. Ik heb hem nodig voor het weekend.",
        "2026-11-22T09:12:03Z",
    ),
    _comment(
        1002,
        ANSWER_BOT,
        "Misschien helpt dit artikel: Waar is mijn pakket?",
        "2026-11-22T09:12:05Z",
        via="answer_bot",
    ),
    _comment(
        1003,
        AGENT_TOM,
        "Klant al twee keer gebeld, PostNL-zaak aangemaakt.",
        "2026-11-22T09:20:40Z",
        public=False,
        via="web",
    ),
    _comment(
        1004,
        AGENT_TOM,
        "Sorry voor het wachten, Eva! Je pakket ligt bij het sorteercentrum en wordt morgen "
        "vóór 13:00 bezorgd.",
        "2026-11-22T09:21:10Z",
    ),
    _comment(
        1005,
        PARTNER,
        "Ik ben haar man: morgen is er niemand thuis, kan het naar een afhaalpunt?",
        "2026-11-22T09:23:55Z",
    ),
    _comment(
        1006,
        CUSTOMER,
        "Oké, dank je. Wel jammer dat ik er zelf achteraan moest.",
        "2026-11-22T09:25:31Z",
    ),
]
MESSAGING = _ticket(48214, OTHER_CUSTOMER, "native_messaging", "Headphones stopped charging")
MESSAGING_COMMENTS = [
    _comment(
        2001,
        FLOW_BOT,
        "Hi! I'm Volt, Voltera's virtual assistant. What can I help you with?",
        "2026-11-22T10:02:00Z",
        via="native_messaging",
    ),
    _comment(
        2002,
        OTHER_CUSTOMER,
        "My new headphones stopped charging after a week. Tried two cables.",
        "2026-11-22T10:02:31Z",
        via="native_messaging",
    ),
    _comment(
        2003,
        AGENT_LISA,
        "Sorry to hear that! I've sent you a return label; a replacement ships within 3 days.",
        "2026-11-22T10:06:12Z",
        via="native_messaging",
    ),
    _comment(
        2004,
        OTHER_CUSTOMER,
        "Great, that was quick. Thanks Lisa!",
        "2026-11-22T10:07:02Z",
        via="native_messaging",
    ),
]


def _export(tickets: list[dict[str, Any]], after: str, end: bool) -> dict[str, Any]:
    """A page of the cursor-based incremental ticket export."""
    return {
        "tickets": tickets,
        "after_url": f"{PUBLIC_API}{EXPORT}?cursor={after}",
        "after_cursor": after,
        "before_url": None,
        "before_cursor": None,
        "end_of_stream": end,
    }


def _comments(comments: list[dict[str, Any]], next_page: str | None = None) -> dict[str, Any]:
    return {
        "comments": comments,
        "users": USERS,
        "next_page": next_page,
        "previous_page": None,
        "count": len(comments),
    }


def _expect_export(server: HTTPServer, cursor: str | None = None, once: bool = False) -> Any:
    """The export request exactly as the source must send it: from start_time, or a cursor."""
    query = {"cursor": cursor} if cursor else {"start_time": START_TIME}
    return server.expect_request(
        EXPORT,
        method="GET",
        query_string={**query, "per_page": "100", "exclude_deleted": "true"},
        headers={"Authorization": AUTH},
        handler_type=HandlerType.ONESHOT if once else HandlerType.PERMANENT,
    )


def _expect_comments(server: HTTPServer, ticket_id: int, page: int = 1, once: bool = False) -> Any:
    query = {"include": "users", **({"page": str(page)} if page > 1 else {})}
    return server.expect_request(
        f"/api/v2/tickets/{ticket_id}/comments.json",
        method="GET",
        query_string=query,
        headers={"Authorization": AUTH},
        handler_type=HandlerType.ONESHOT if once else HandlerType.PERMANENT,
    )


def _serve_conversations(server: HTTPServer) -> None:
    _expect_export(server).respond_with_json(_export([CHAT, MESSAGING], "MTc2MzgwNTIwMC4w", True))
    _expect_comments(server, CHAT["id"]).respond_with_json(_comments(CHAT_COMMENTS))
    _expect_comments(server, MESSAGING["id"]).respond_with_json(_comments(MESSAGING_COMMENTS))


def _source(
    settings: Settings, server: HTTPServer, timeout: float = 5, **options: Any
) -> ZendeskSource:
    config = SourceConfig(
        key="zendesk",
        type="zendesk",
        secret_env=TOKEN_ENV,
        options={
            "base_url": server.url_for("/"),
            "email": EMAIL,
            "bot_author_ids": [FLOW_BOT],
            "timeout_seconds": timeout,
            **options,
        },
    )
    source = build(config, settings)
    source.clock = lambda: NOW
    return source


def test_public_comments_become_turns_with_roles_and_conversation_ids(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    _serve_conversations(httpserver)

    batch = _source(demo_settings, httpserver).fetch(None)

    turns = [(m.external_id, m.conversation_id, m.turn_role) for m in batch.messages]
    assert turns == [
        ("48213:1001", "48213", "customer"),
        ("48213:1002", "48213", "bot"),  # via answer_bot
        # 1003 is an internal note: agents talking among themselves, never stored
        ("48213:1004", "48213", "agent"),
        ("48213:1005", "48213", "customer"),  # another end user on the ticket
        ("48213:1006", "48213", "customer"),
        ("48214:2001", "48214", "bot"),  # listed in bot_author_ids
        ("48214:2002", "48214", "customer"),
        ("48214:2003", "48214", "agent"),
        ("48214:2004", "48214", "customer"),
    ]
    first = batch.messages[0]
    assert first.text.startswith("Hoi, mijn bestelling zou gisteren komen")
    assert first.created_at == datetime(2026, 11, 22, 9, 12, 3, tzinfo=UTC)
    assert {m.channel for m in batch.messages} == {"chat"}
    assert {m.brands for m in batch.messages} == {("voltera",)}
    assert not any("PostNL-zaak" in m.text for m in batch.messages)
    assert batch.rejected == [] and batch.has_more is False
    assert json.loads(batch.next_cursor or "") == {"after_cursor": "MTc2MzgwNTIwMC4w"}


def test_voice_comments_and_bare_attachments_are_not_turns(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    call = _ticket(48215, CUSTOMER, "voice", "Gesprek met klant")
    voice = _comment(
        3001,
        AGENT_TOM,
        "Inkomend gesprek van +31 20 123 4567\nDuur: 4m 12s\nOpname: https://voltera.zendesk.com/r/1",
        "2026-11-22T11:00:00Z",
        via="voice",
        kind="VoiceComment",
    )
    photo = {**_comment(3002, CUSTOMER, "", "2026-11-22T11:05:00Z", via="web"), "plain_body": ""}
    text = _comment(
        3003, CUSTOMER, "Foto van de deuk in de doos hierboven.", "2026-11-22T11:05:09Z"
    )
    _expect_export(httpserver).respond_with_json(_export([call], "c1", True))
    _expect_comments(httpserver, 48215).respond_with_json(_comments([voice, photo, text]))

    batch = _source(demo_settings, httpserver).fetch(None)

    assert [m.external_id for m in batch.messages] == ["48215:3003"]
    assert batch.rejected == []


def test_comments_follow_next_page(httpserver: HTTPServer, demo_settings: Settings) -> None:
    page_two = httpserver.url_for(f"/api/v2/tickets/{CHAT['id']}/comments.json") + (
        "?include=users&page=2"
    )
    _expect_export(httpserver).respond_with_json(_export([CHAT], "c1", True))
    _expect_comments(httpserver, CHAT["id"]).respond_with_json(
        _comments(CHAT_COMMENTS[:3], next_page=page_two)
    )
    _expect_comments(httpserver, CHAT["id"], page=2).respond_with_json(_comments(CHAT_COMMENTS[3:]))

    batch = _source(demo_settings, httpserver).fetch(None)

    assert [m.external_id for m in batch.messages] == [
        "48213:1001",
        "48213:1002",
        "48213:1004",
        "48213:1005",
        "48213:1006",
    ]


def test_next_page_on_another_host_is_refused(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    _expect_export(httpserver).respond_with_json(_export([CHAT], "c1", True))
    _expect_comments(httpserver, CHAT["id"]).respond_with_json(
        _comments(CHAT_COMMENTS[:1], next_page="https://collector.example/steal?page=2")
    )

    # The API token travels with every request, so it only goes to the configured Zendesk.
    with pytest.raises(MalformedResponse, match="next_page"):
        _source(demo_settings, httpserver).fetch(None)


def test_resumed_fetch_continues_from_after_cursor_and_returns_only_new_tickets(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    _expect_export(httpserver).respond_with_json(_export([CHAT], "c1", False))
    _expect_export(httpserver, cursor="c1").respond_with_json(_export([MESSAGING], "c2", True))
    _expect_comments(httpserver, CHAT["id"]).respond_with_json(_comments(CHAT_COMMENTS))
    _expect_comments(httpserver, MESSAGING["id"]).respond_with_json(_comments(MESSAGING_COMMENTS))
    source = _source(demo_settings, httpserver)

    first = source.fetch(None)
    assert first.has_more is True  # end_of_stream is false: the runner asks again at once
    second = source.fetch(first.next_cursor)

    assert {m.conversation_id for m in first.messages} == {"48213"}
    assert {m.conversation_id for m in second.messages} == {"48214"}
    assert second.has_more is False
    assert json.loads(second.next_cursor or "") == {"after_cursor": "c2"}
    exports = [r.args.to_dict() for r, _ in httpserver.log if r.path == EXPORT]
    assert [e.get("start_time") or e.get("cursor") for e in exports] == [START_TIME, "c1"]


def test_first_run_cut_short_resumes_from_the_same_start_time(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    empty = {**_export([], "", True), "after_cursor": None, "after_url": None}
    _expect_export(httpserver).respond_with_json(empty)
    source = _source(demo_settings, httpserver)

    batch = source.fetch(None)
    source.clock = lambda: NOW + timedelta(hours=1)
    source.fetch(batch.next_cursor)

    assert json.loads(batch.next_cursor or "") == {"start_time": int(START_TIME)}
    assert len(httpserver.log) == 2  # both asked for the same start_time


def test_ticket_channels_option_keeps_only_those_tickets(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    _serve_conversations(httpserver)

    source = _source(demo_settings, httpserver, ticket_channels=["native_messaging"])
    batch = source.fetch(None)

    assert {m.conversation_id for m in batch.messages} == {"48214"}
    assert not any(r.path.endswith("/48213/comments.json") for r, _ in httpserver.log)


def test_deleted_ticket_is_skipped_while_the_page_continues(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    _expect_export(httpserver).respond_with_json(_export([CHAT, MESSAGING], "c1", True))
    _expect_comments(httpserver, CHAT["id"]).respond_with_json(
        {"error": "RecordNotFound", "description": "Not found"}, status=404
    )
    _expect_comments(httpserver, MESSAGING["id"]).respond_with_json(_comments(MESSAGING_COMMENTS))

    batch = _source(demo_settings, httpserver).fetch(None)

    assert {m.conversation_id for m in batch.messages} == {"48214"}
    assert json.loads(batch.next_cursor or "") == {"after_cursor": "c1"}


def test_one_broken_comment_and_ticket_are_rejected_while_the_rest_parse(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    nameless = {**_ticket(48216, CUSTOMER, "chat", "Factuur klopt niet"), "requester_id": None}
    broken = {**CHAT_COMMENTS[3], "created_at": "gisteren"}
    _expect_export(httpserver).respond_with_json(_export([nameless, CHAT], "c1", True))
    _expect_comments(httpserver, CHAT["id"]).respond_with_json(
        _comments([*CHAT_COMMENTS[:3], broken, *CHAT_COMMENTS[4:]])
    )

    batch = _source(demo_settings, httpserver).fetch(None)

    assert [m.external_id for m in batch.messages] == [
        "48213:1001",
        "48213:1002",
        "48213:1005",
        "48213:1006",
    ]
    assert [(r.source, r.reference) for r in batch.rejected] == [
        ("zendesk", "zendesk ticket 48216"),
        ("zendesk", "zendesk ticket 48213 comment 1004"),
    ]
    assert "requester_id None" in batch.rejected[0].error
    assert "gisteren" in batch.rejected[1].error
    assert json.loads(batch.rejected[1].payload)["id"] == 1004


def test_rate_limit_raises_with_retry_after_and_keeps_the_stored_cursor(
    httpserver: HTTPServer, demo_settings: Settings, engine: Engine
) -> None:
    normaliser = build_normaliser(demo_settings)
    source = _source(demo_settings, httpserver)
    _expect_export(httpserver).respond_with_json(_export([CHAT], "c1", True))
    _expect_comments(httpserver, CHAT["id"]).respond_with_json(_comments(CHAT_COMMENTS))
    run_source(engine, source, normaliser)

    httpserver.clear()
    _expect_export(httpserver, cursor="c1").respond_with_json(_export([MESSAGING], "c2", True))
    _expect_comments(httpserver, MESSAGING["id"]).respond_with_json(
        {"error": "APIRateLimitExceeded"}, status=429, headers={"Retry-After": "37"}
    )
    with pytest.raises(RateLimited) as raised:
        run_source(engine, source, normaliser)

    assert raised.value.retry_after == 37
    with session_scope(engine) as session:
        assert load_cursor(session, "zendesk") == json.dumps({"after_cursor": "c1"})
        conversations = set(session.scalars(select(Message.conversation_id)))
    assert conversations == {"48213"}  # nothing of the page that hit the limit is stored


def test_server_error_then_success_is_retried(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    _expect_export(httpserver, once=True).respond_with_data("Bad Gateway", status=502)
    _expect_export(httpserver).respond_with_json(_export([CHAT], "c1", True))
    _expect_comments(httpserver, CHAT["id"], once=True).respond_with_data("", status=503)
    _expect_comments(httpserver, CHAT["id"]).respond_with_json(_comments(CHAT_COMMENTS))

    batch = _source(demo_settings, httpserver).fetch(None)

    assert len(batch.messages) == 5
    assert [response.status_code for _, response in httpserver.log] == [502, 200, 503, 200]


def test_persistent_server_error_is_a_source_error(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    _expect_export(httpserver).respond_with_data("Service Unavailable", status=503)

    with pytest.raises(SourceError, match="HTTP 503.*after 3 attempts") as raised:
        _source(demo_settings, httpserver).fetch(None)

    assert type(raised.value) is SourceError
    assert len(httpserver.log) == 3


def test_response_slower_than_timeout_seconds_is_a_source_error(
    slow_server: tuple[HTTPServer, threading.Event], demo_settings: Settings
) -> None:
    server, release = slow_server

    def hold(request: Request) -> Response:
        release.wait(10)
        return Response(json.dumps(_export([], "c1", True)), 200)

    server.expect_request(EXPORT).respond_with_handler(hold)

    with pytest.raises(SourceError, match="Timeout.*after 3 attempts"):
        _source(demo_settings, server, timeout=0.2).fetch(None)


def test_body_that_is_not_json_is_a_malformed_response(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    _expect_export(httpserver).respond_with_data(
        '{"tickets": [{"id": 48213, "subject": "Waar blijft', content_type="application/json"
    )

    with pytest.raises(MalformedResponse, match="not JSON"):
        _source(demo_settings, httpserver).fetch(None)


def test_export_without_end_of_stream_is_a_malformed_response(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    page = _export([CHAT], "c1", True)
    del page["end_of_stream"]
    _expect_export(httpserver).respond_with_json(page)

    with pytest.raises(MalformedResponse, match="end_of_stream"):
        _source(demo_settings, httpserver).fetch(None)


def test_comments_in_another_shape_are_a_malformed_response(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    _expect_export(httpserver).respond_with_json(_export([CHAT], "c1", True))
    _expect_comments(httpserver, CHAT["id"]).respond_with_json({"comment": CHAT_COMMENTS[0]})

    with pytest.raises(MalformedResponse, match="'comments' list"):
        _source(demo_settings, httpserver).fetch(None)


def test_pipeline_stores_each_comment_once_when_an_updated_ticket_reappears(
    httpserver: HTTPServer, demo_settings: Settings, engine: Engine
) -> None:
    normaliser = build_normaliser(demo_settings)
    source = _source(demo_settings, httpserver)
    _expect_export(httpserver).respond_with_json(_export([CHAT], "c1", False))
    _expect_export(httpserver, cursor="c1").respond_with_json(_export([MESSAGING], "c2", True))
    _expect_comments(httpserver, CHAT["id"]).respond_with_json(_comments(CHAT_COMMENTS[:4]))
    _expect_comments(httpserver, MESSAGING["id"]).respond_with_json(_comments(MESSAGING_COMMENTS))

    first = run_source(engine, source, normaliser)

    # The customer answers again: the export lists the ticket anew, with all its comments.
    httpserver.clear()
    updated = {**CHAT, "updated_at": "2026-11-22T09:25:31Z"}
    _expect_export(httpserver, cursor="c2").respond_with_json(_export([updated], "c3", True))
    _expect_comments(httpserver, CHAT["id"]).respond_with_json(_comments(CHAT_COMMENTS))
    second = run_source(engine, source, normaliser)

    assert (first.inserted, first.duplicates, first.quarantined) == (7, 0, 0)
    assert (second.inserted, second.duplicates, second.quarantined) == (2, 3, 0)
    with session_scope(engine) as session:
        rows = session.execute(
            select(Message.external_id, Message.conversation_id, Message.turn_role)
            .where(Message.source == "zendesk")
            .order_by(Message.created_at)
        ).all()
        cursor = load_cursor(session, "zendesk")
    assert [tuple(r) for r in rows if r[1] == "48213"] == [
        ("48213:1001", "48213", "customer"),
        ("48213:1002", "48213", "bot"),
        ("48213:1004", "48213", "agent"),
        ("48213:1005", "48213", "customer"),
        ("48213:1006", "48213", "customer"),
    ]
    assert len(rows) == 9
    assert cursor == json.dumps({"after_cursor": "c3"})


def test_address_is_required_and_named_by_its_option(demo_settings: Settings) -> None:
    config = SourceConfig(
        key="zendesk_chat", type="zendesk", secret_env=TOKEN_ENV, options={"email": EMAIL}
    )

    with pytest.raises(ValueError, match=r"sources\.zendesk_chat\.options\.subdomain"):
        build(config, demo_settings)


def test_subdomain_gives_the_zendesk_address(demo_settings: Settings) -> None:
    config = SourceConfig(
        key="zendesk_chat",
        type="zendesk",
        brand="voltera",
        secret_env=TOKEN_ENV,
        options={"subdomain": "voltera", "email": EMAIL},
    )

    source = build(config, demo_settings)

    assert source.options.url == "https://voltera.zendesk.com"
    assert (source.brand, source.channel) == ("voltera", "chat")


def test_wrong_options_are_named_by_their_key_path(demo_settings: Settings) -> None:
    config = SourceConfig(
        key="zendesk_chat",
        type="zendesk",
        secret_env=TOKEN_ENV,
        options={"subdomain": "voltera", "timeout_seconds": 0, "bot_ids": [1]},
    )

    with pytest.raises(ValueError) as raised:
        build(config, demo_settings)

    message = str(raised.value)
    assert "sources.zendesk_chat.options.email: Field required" in message
    assert "sources.zendesk_chat.options.timeout_seconds: Input should be greater than 0" in message
    assert "sources.zendesk_chat.options.bot_ids: unknown option" in message


def test_configurations_in_the_docs_build() -> None:
    doc = Path(__file__).parents[2] / "docs" / "sources" / "zendesk.md"
    blocks = re.findall(r"```toml\n(.*?)```", doc.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks
    for block in blocks:
        raw = tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
        raw.update(tomllib.loads(block))  # the block's brands and sources replace the demo's
        settings = check_config(raw)
        for config in settings.sources:
            assert build(config, settings).key == config.key
