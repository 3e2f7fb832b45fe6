"""What the Trustpilot source promises: reviews of each business unit read newest first, each one
once, against a local server that answers in the reviews API's documented format."""

from __future__ import annotations

import json
import re
import threading
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from pytest_httpserver.httpserver import HandlerType
from sqlalchemy import Engine, func, select
from tenacity import wait_none
from werkzeug import Request, Response

import ingest.http
from config import Settings, SourceConfig, check_config
from config.settings import DEMO_CONFIG
from ingest.http import MalformedResponse, RateLimited, SourceError
from ingest.pipeline import run_source
from ingest.sources.trustpilot import TrustpilotSource, build
from storage.db import session_scope
from storage.messages import load_cursor, quarantined
from storage.models import Message, MessageBrand
from wiring import build_normaliser

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
KEY_ENV = "CXPULSE_TEST_TRUSTPILOT_KEY"
API_KEY = "tp-3f9a1c7e-test"
VOLTERA_UNIT = "5f8d0d55b54764421b7156c9"
STROOMZ_UNIT = "60a7c2e1f4b3a90012d3e8b4"
PUBLIC_API = "https://api.trustpilot.com"


@pytest.fixture(autouse=True)
def _api_key_and_quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, API_KEY)
    # The retries themselves are under test; their back-off would only make the suite slow.
    monkeypatch.setattr(ingest.http._get_json.retry, "wait", wait_none())


def _review(
    review_id: str,
    created_at: str,
    stars: int,
    title: str,
    text: str,
    *,
    language: str = "nl",
    name: str = "Sanne",
    reply: str | None = None,
) -> dict[str, Any]:
    """A review as the business-unit reviews endpoint returns it."""
    return {
        "id": review_id,
        "stars": stars,
        "title": title,
        "text": text,
        "language": language,
        "createdAt": created_at,
        "updatedAt": None,
        "consumer": {"id": f"c{review_id[:23]}", "displayName": name, "numberOfReviews": 4},
        "companyReply": {"text": reply, "createdAt": created_at} if reply else None,
        "location": None,
        "isVerified": True,
        "links": [{"href": f"{PUBLIC_API}/v1/reviews/{review_id}", "method": "GET", "rel": "self"}],
    }


LATE = _review(
    "6741b1f0e2a94c0f3c5d7a11",
    "2026-11-22T19:41:07.000Z",
    1,
    "Pakket twee dagen te laat",
    "Maandag besteld, dinsdag beloofd, donderdag pas bezorgd. De chat zei alleen sorry. "
    "De laptop zelf werkt prima.",
    name="Jan de Vries",
    reply="Wat vervelend Jan, we hebben dit met PostNL opgenomen. Groet, Team Voltera",
)
FAST = _review(
    "6740f3a2c81d5b0d9e4f2b07",
    "2026-11-22T08:15:33.000Z",
    5,
    "Top service!",
    "Koptelefoon binnen een dag in huis en de klantenservice dacht mee over mijn retour.",
    language="nl-NL",
    name="Fatima",
)
REFUND = _review(
    "673f9e10b7c34a1e2d6c0f95",
    "2026-11-21T14:02:48.000Z",
    3,
    "Good prices, slow refund",
    "Ordered a 4K monitor at a great price. Returning the first one (dead pixels) was easy, "
    "but the refund took almost two weeks.",
    language="en",
    name="Mark T.",
)
CHARGER = _review(
    "673c2b77a0e5f41b8c9d3e26",
    "2026-11-19T11:30:00.000Z",
    4,
    "Goede oplader",
    "Werkt zoals beloofd, verpakking was wel wat karig.",
)
OLD = _review(
    "66f0a1b2c3d4e5f6a7b8c9d0",
    "2026-09-02T10:00:00.000Z",
    2,
    "Lang geleden",
    "Dit is ouder dan het startvenster van dertig dagen.",
)


def _page(unit: str, page: int, reviews: list[dict[str, Any]], more: bool) -> dict[str, Any]:
    """A page of the reviews list with the API's navigation links."""
    url = f"{PUBLIC_API}/v1/business-units/{unit}/reviews?perPage=100&orderBy=createdat.desc"
    links = [{"href": f"{url}&page={page - 1}", "method": "GET", "rel": "prev-page"}] * (page > 1)
    if more:
        links.append({"href": f"{url}&page={page + 1}", "method": "GET", "rel": "next-page"})
    return {"reviews": reviews, "links": links}


def _expect(server: HTTPServer, page: int, unit: str = VOLTERA_UNIT, once: bool = False) -> Any:
    """The request for one page, exactly as the source must send it (answered once: first)."""
    return server.expect_request(
        f"/v1/business-units/{unit}/reviews",
        method="GET",
        query_string={"perPage": "100", "page": str(page), "orderBy": "createdat.desc"},
        headers={"apikey": API_KEY},
        handler_type=HandlerType.ONESHOT if once else HandlerType.PERMANENT,
    )


def _source(
    settings: Settings, server: HTTPServer, timeout: float = 5, **options: Any
) -> TrustpilotSource:
    options = {"business_unit_id": VOLTERA_UNIT, **options}
    config = SourceConfig(
        key="trustpilot",
        type="trustpilot",
        secret_env=KEY_ENV,
        options={
            "base_url": server.url_for("/"),
            "timeout_seconds": timeout,
            **{k: v for k, v in options.items() if v is not None},
        },
    )
    source = build(config, settings)
    source.clock = lambda: NOW
    return source


def test_first_fetch_turns_reviews_into_rated_messages_of_the_brand(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    _expect(httpserver, 1).respond_with_json(_page(VOLTERA_UNIT, 1, [LATE, FAST, REFUND], False))

    batch = _source(demo_settings, httpserver).fetch(None)

    assert [m.external_id for m in batch.messages] == [LATE["id"], FAST["id"], REFUND["id"]]
    late, fast, refund = batch.messages
    assert late.text == (
        "Pakket twee dagen te laat. Maandag besteld, dinsdag beloofd, donderdag pas bezorgd. "
        "De chat zei alleen sorry. De laptop zelf werkt prima."
    )
    assert fast.text.startswith("Top service! Koptelefoon")  # no ". " after a title's own "!"
    assert (late.rating, fast.rating, refund.rating) == (1.0, 5.0, 3.0)
    assert (late.language, fast.language, refund.language) == ("nl", "nl", "en")
    assert late.created_at == datetime(2026, 11, 22, 19, 41, 7, tzinfo=UTC)
    assert late.author == "Jan de Vries"
    assert {m.channel for m in batch.messages} == {"review"}
    assert {m.brands for m in batch.messages} == {("voltera",)}
    # The company's own reply is not the customer's voice and is not stored.
    assert not any("Team Voltera" in m.text for m in batch.messages)
    assert batch.rejected == [] and batch.has_more is False


def test_first_run_pages_back_until_the_start_window(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    _expect(httpserver, 1).respond_with_json(_page(VOLTERA_UNIT, 1, [LATE, FAST], True))
    _expect(httpserver, 2).respond_with_json(_page(VOLTERA_UNIT, 2, [REFUND, CHARGER, OLD], True))
    source = _source(demo_settings, httpserver)

    first = source.fetch(None)
    assert first.has_more is True
    # Until the run reaches its stop, the newest mark stays put and the next page is remembered.
    assert json.loads(first.next_cursor or "") == {
        "seen": {},
        "paging": {
            VOLTERA_UNIT: {
                "page": 2,
                "stop": {"at": "2026-10-24T09:00:00+00:00", "ids": []},
                "newest": {"at": "2026-11-22T19:41:07+00:00", "ids": [LATE["id"]]},
            }
        },
    }
    second = source.fetch(first.next_cursor)

    assert [m.external_id for m in second.messages] == [REFUND["id"], CHARGER["id"]]
    # OLD is older than start_days_ago (30): the run ends there although a next page exists.
    assert second.has_more is False
    assert len(httpserver.log) == 2


def test_resumed_fetch_returns_only_reviews_newer_than_the_cursor(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    _expect(httpserver, 1).respond_with_json(_page(VOLTERA_UNIT, 1, [REFUND, CHARGER], False))
    source = _source(demo_settings, httpserver)
    cursor = source.fetch(None).next_cursor

    httpserver.clear()
    newer = _review(
        "6742c0de11aa4b5c6d7e8f90",
        "2026-11-23T07:05:00.000Z",
        2,
        "Retour duurt lang",
        "Al tien dagen geleden teruggestuurd en nog geen geld terug.",
    )
    page = _page(VOLTERA_UNIT, 1, [newer, LATE, FAST, REFUND, CHARGER], True)
    _expect(httpserver, 1).respond_with_json(page)
    batch = source.fetch(cursor)

    assert [m.external_id for m in batch.messages] == [newer["id"], LATE["id"], FAST["id"]]
    # A seen review was reached, so older pages are not read although a next page exists.
    assert batch.has_more is False
    assert len(httpserver.log) == 1
    httpserver.clear()
    _expect(httpserver, 1).respond_with_json(page)
    assert source.fetch(batch.next_cursor).messages == []


def test_brands_business_units_come_from_their_source_ids(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    ids = {"voltera": VOLTERA_UNIT, "stroomz": STROOMZ_UNIT}
    brands = tuple(
        b.model_copy(update={"source_ids": {"trustpilot": ids[b.key]}}) if b.key in ids else b
        for b in demo_settings.brands
    )
    settings = demo_settings.model_copy(update={"brands": brands})
    competitor = _review(
        "6741aa00bb11cc22dd33ee44",
        "2026-11-22T12:00:00.000Z",
        2,
        "Stroomz viel tegen",
        "Goedkoper dan Voltera, maar de wasmachine stond drie weken in backorder.",
    )
    _expect(httpserver, 1).respond_with_json(_page(VOLTERA_UNIT, 1, [LATE], False))
    _expect(httpserver, 1, STROOMZ_UNIT).respond_with_json(
        _page(STROOMZ_UNIT, 1, [competitor], False)
    )

    batch = _source(settings, httpserver, business_unit_id=None).fetch(None)

    assert {m.external_id: m.brands for m in batch.messages} == {
        LATE["id"]: ("voltera",),
        competitor["id"]: ("stroomz",),
    }
    cursor = json.loads(batch.next_cursor or "")
    assert set(cursor["seen"]) == {VOLTERA_UNIT, STROOMZ_UNIT}


def test_one_broken_review_is_rejected_while_the_rest_parse(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    broken = {**FAST, "stars": "vijf"}
    undated = {**REFUND}
    del undated["createdAt"]
    _expect(httpserver, 1).respond_with_json(
        _page(VOLTERA_UNIT, 1, [LATE, broken, undated, CHARGER], False)
    )

    batch = _source(demo_settings, httpserver).fetch(None)

    assert [m.external_id for m in batch.messages] == [LATE["id"], CHARGER["id"]]
    assert [(r.reference, r.error) for r in batch.rejected] == [
        (
            f"trustpilot business unit {VOLTERA_UNIT} review {FAST['id']}",
            "stars 'vijf' is not a number from 1 to 5",
        ),
        (
            f"trustpilot business unit {VOLTERA_UNIT} review {REFUND['id']}",
            "missing field 'createdAt'",
        ),
    ]
    assert json.loads(batch.rejected[0].payload)["title"] == "Top service!"
    assert {r.source for r in batch.rejected} == {"trustpilot"}


def test_broken_review_is_quarantined_once_across_runs(
    httpserver: HTTPServer, demo_settings: Settings, engine: Engine
) -> None:
    normaliser = build_normaliser(demo_settings)
    source = _source(demo_settings, httpserver)
    broken = {**LATE, "stars": 0}
    _expect(httpserver, 1).respond_with_json(_page(VOLTERA_UNIT, 1, [broken, FAST], False))

    first = run_source(engine, source, normaliser)
    second = run_source(engine, source, normaliser)

    assert (first.inserted, first.quarantined) == (1, 1)
    assert (second.inserted, second.quarantined) == (0, 0)
    with session_scope(engine) as session:
        [item] = quarantined(session, "trustpilot")
    assert item.reference == f"trustpilot business unit {VOLTERA_UNIT} review {LATE['id']}"
    assert item.error == "stars 0 is not a number from 1 to 5"


def test_rate_limit_raises_with_retry_after_and_keeps_the_stored_cursor(
    httpserver: HTTPServer, demo_settings: Settings, engine: Engine
) -> None:
    normaliser = build_normaliser(demo_settings)
    source = _source(demo_settings, httpserver)
    _expect(httpserver, 1).respond_with_json(_page(VOLTERA_UNIT, 1, [LATE], False))
    run_source(engine, source, normaliser)
    with session_scope(engine) as session:
        before = load_cursor(session, "trustpilot")

    httpserver.clear()
    _expect(httpserver, 1).respond_with_data(
        '{"message": "Too many requests"}', status=429, headers={"Retry-After": "120"}
    )
    with pytest.raises(RateLimited) as raised:
        run_source(engine, source, normaliser)

    assert raised.value.retry_after == 120
    assert len(httpserver.log) == 1  # a rate limit is not retried inside the run
    with session_scope(engine) as session:
        assert load_cursor(session, "trustpilot") == before is not None


def test_server_error_then_success_is_retried(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    _expect(httpserver, 1, once=True).respond_with_data("upstream hiccup", status=503)
    _expect(httpserver, 1).respond_with_json(_page(VOLTERA_UNIT, 1, [LATE, FAST], False))

    batch = _source(demo_settings, httpserver).fetch(None)

    assert [m.external_id for m in batch.messages] == [LATE["id"], FAST["id"]]
    assert [response.status_code for _, response in httpserver.log] == [503, 200]


def test_persistent_server_error_is_a_source_error(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    _expect(httpserver, 1).respond_with_data("Internal Server Error", status=500)

    with pytest.raises(SourceError, match="HTTP 500.*after 3 attempts") as raised:
        _source(demo_settings, httpserver).fetch(None)

    assert type(raised.value) is SourceError
    assert len(httpserver.log) == 3


def test_response_slower_than_timeout_seconds_is_a_source_error(
    slow_server: tuple[HTTPServer, threading.Event], demo_settings: Settings
) -> None:
    server, release = slow_server

    def hold(request: Request) -> Response:
        release.wait(10)
        return Response(json.dumps(_page(VOLTERA_UNIT, 1, [LATE], False)), 200)

    server.expect_request(f"/v1/business-units/{VOLTERA_UNIT}/reviews").respond_with_handler(hold)

    with pytest.raises(SourceError, match="Timeout.*after 3 attempts"):
        _source(demo_settings, server, timeout=0.2).fetch(None)


def test_body_that_is_not_json_is_a_malformed_response(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    _expect(httpserver, 1).respond_with_data(
        "<html><body>Trustpilot is down for maintenance</body></html>",
        content_type="text/html",
    )

    with pytest.raises(MalformedResponse, match="not JSON"):
        _source(demo_settings, httpserver).fetch(None)


def test_json_in_another_shape_is_a_malformed_response(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    _expect(httpserver, 1).respond_with_json({"items": [LATE], "links": []})

    with pytest.raises(MalformedResponse, match="'reviews' list"):
        _source(demo_settings, httpserver).fetch(None)


def test_pipeline_run_twice_stores_each_review_once_and_keeps_the_cursor(
    httpserver: HTTPServer, demo_settings: Settings, engine: Engine
) -> None:
    normaliser = build_normaliser(demo_settings)
    source = _source(demo_settings, httpserver)
    _expect(httpserver, 1).respond_with_json(_page(VOLTERA_UNIT, 1, [LATE, FAST], True))
    _expect(httpserver, 2).respond_with_json(_page(VOLTERA_UNIT, 2, [REFUND, CHARGER], False))

    first = run_source(engine, source, normaliser)
    second = run_source(engine, source, normaliser)

    assert (first.inserted, first.duplicates, first.quarantined) == (4, 0, 0)
    assert (second.inserted, second.quarantined) == (0, 0)
    with session_scope(engine) as session:
        count = session.scalar(
            select(func.count()).select_from(Message).where(Message.source == "trustpilot")
        )
        brands = set(session.scalars(select(MessageBrand.brand)))
        cursor = json.loads(load_cursor(session, "trustpilot") or "")
        assert quarantined(session, "trustpilot") == []
    assert count == 4
    assert brands == {"voltera"}
    assert cursor == {
        "paging": {},
        "seen": {VOLTERA_UNIT: {"at": "2026-11-22T19:41:07+00:00", "ids": [LATE["id"]]}},
    }
    # The second run read page 1 only: it met the newest review it had already stored.
    assert [r.args["page"] for r, _ in httpserver.log] == ["1", "2", "1"]


def test_config_without_a_business_unit_names_the_option(demo_settings: Settings) -> None:
    config = SourceConfig(key="tp_nl", type="trustpilot", secret_env=KEY_ENV)

    with pytest.raises(ValueError, match=r"sources\.tp_nl\.options\.business_unit_id"):
        build(config, demo_settings)


def test_wrong_options_are_named_by_their_key_path(demo_settings: Settings) -> None:
    config = SourceConfig(
        key="tp_nl",
        type="trustpilot",
        secret_env=KEY_ENV,
        options={"business_unit_id": VOLTERA_UNIT, "per_page": 500, "perpage": 20},
    )

    with pytest.raises(ValueError) as raised:
        build(config, demo_settings)

    message = str(raised.value)
    assert "sources.tp_nl.options.per_page: Input should be less than or equal to 100" in message
    assert "sources.tp_nl.options.perpage: unknown option" in message


def test_missing_secret_env_is_a_config_error(demo_settings: Settings) -> None:
    config = SourceConfig(
        key="tp_nl", type="trustpilot", options={"business_unit_id": VOLTERA_UNIT}
    )

    with pytest.raises(ValueError, match=r"sources\.tp_nl\.secret_env"):
        build(config, demo_settings)


def test_unset_api_key_variable_is_a_source_error_naming_it(
    httpserver: HTTPServer, demo_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV)

    with pytest.raises(SourceError, match=KEY_ENV):
        _source(demo_settings, httpserver).fetch(None)
    assert httpserver.log == []


def test_configurations_in_the_docs_build() -> None:
    doc = Path(__file__).parents[2] / "docs" / "sources" / "trustpilot.md"
    blocks = re.findall(r"```toml\n(.*?)```", doc.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks
    for block in blocks:
        raw = tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
        raw.update(tomllib.loads(block))  # the block's brands and sources replace the demo's
        settings = check_config(raw)
        for config in settings.sources:
            assert build(config, settings).key == config.key
