"""What the App Store source promises: Apple's customer-reviews feed read newest first, page by
page and country by country, each review once, with errors that leave the cursor where it was."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, func, select
from werkzeug import Request, Response

from config import Settings, SourceConfig
from ingest.base import Batch, IncomingMessage
from ingest.http import MalformedResponse, RateLimited, SourceError
from ingest.pipeline import run_source
from ingest.sources.appstore import AppStoreSource, Progress, build
from storage.db import session_scope
from storage.messages import load_cursor
from storage.models import Message, MessageBrand
from tests.ingest.conftest import fetch_all
from wiring import build_normaliser

APP_ID = "1234567890"
KEY = "appstore_voltera"


def _path(country: str, page: int) -> str:
    return f"/{country}/rss/customerreviews/page={page}/id={APP_ID}/sortby=mostrecent/json"


def entry(review_id: str, updated: str, rating: int | str, title: str, content: str) -> dict:
    """One review as Apple's feed writes it (RSS converted to JSON: every value under "label")."""
    return {
        "author": {
            "uri": {"label": f"https://itunes.apple.com/nl/reviews/id{review_id[::-1]}"},
            "name": {"label": "Sanne1987"},
            "label": "",
        },
        "updated": {"label": updated},
        "im:rating": {"label": str(rating)},
        "im:version": {"label": "3.2"},
        "id": {"label": review_id},
        "title": {"label": title},
        "content": {"label": content, "attributes": {"type": "text"}},
        "link": {
            "attributes": {
                "rel": "related",
                "href": f"https://itunes.apple.com/nl/review?id={APP_ID}&type=Purple%20Software",
            }
        },
        "im:voteSum": {"label": "0"},
        "im:contentType": {"attributes": {"term": "Application", "label": "App"}},
        "im:voteCount": {"label": "0"},
    }


def feed(country: str, page: int, entries: Any, last: int = 1) -> dict:
    """A page of the feed with Apple's links; `last` is the page number its "last" link names."""

    def link(rel: str, number: int) -> dict:
        href = (
            f"https://itunes.apple.com/{country}/rss/customerreviews/page={number}/id={APP_ID}"
            f"/sortby=mostrecent/xml?urlDesc=/customerreviews/page={number}/id={APP_ID}"
            "/sortby=mostrecent/json"
        )
        return {"attributes": {"rel": rel, "type": "application/xml", "href": href}}

    body: dict[str, Any] = {
        "author": {
            "name": {"label": "iTunes Store"},
            "uri": {"label": "http://www.apple.com/nl/itunes/"},
        },
        "updated": {"label": "2026-11-20T05:02:11-07:00"},
        "rights": {"label": "Copyright 2008 Apple Inc."},
        "title": {"label": "iTunes Store: Klantenbeoordelingen"},
        "icon": {"label": "http://itunes.apple.com/favicon.ico"},
        "link": [
            {
                "attributes": {
                    "rel": "alternate",
                    "type": "text/html",
                    "href": f"https://apps.apple.com/WebObjects/MZStore.woa/wa/viewGrouping?cc={country}&id=39974",
                }
            },
            {
                "attributes": {
                    "rel": "self",
                    "href": f"https://itunes.apple.com{_path(country, page)}",
                }
            },
            link("first", 1),
            link("last", last),
            link("previous", max(1, page - 1)),
            link("next", min(last, page + 1)),
        ],
        "id": {"label": f"https://mzstoreservices-int-st.itunes.apple.com{_path(country, page)}"},
    }
    if entries is not None:
        body["entry"] = entries
    return {"feed": body}


METADATA = {  # older feeds put the app itself first: no rating, but a name and an artist
    "im:name": {"label": "Voltera - elektronica & witgoed"},
    "rights": {"label": "© 2026 Voltera B.V."},
    "im:price": {"label": "Gratis", "attributes": {"amount": "0.00", "currency": "EUR"}},
    "im:artist": {"label": "Voltera B.V.", "attributes": {"href": "https://apps.apple.com/nl"}},
    "id": {"label": f"https://apps.apple.com/nl/app/voltera/id{APP_ID}"},
}

# Page 1 and 2 of the Dutch storefront, newest first.
NL_PAGE_1 = [
    entry(
        "11000000005",
        "2026-11-20T03:14:00-07:00",
        5,
        "Bestelling volgen werkt top",
        "Sinds de laatste update zie ik precies waar mijn pakket is. "
        "Bezorging was zelfs een dag eerder dan beloofd.",
    ),
    entry(
        "11000000004",
        "2026-11-19T22:40:12-07:00",
        1,
        "Inloggen lukt niet meer!",
        "Na de update van vanochtend blijft de Voltera app hangen op het inlogscherm. "
        "Heel vervelend, want ik wil mijn retour aanmelden.",
    ),
    entry(
        "11000000003",
        "2026-11-19T08:05:40-07:00",
        4,
        "Prima app",
        "Snel een nieuwe wasmachine besteld, betalen met iDEAL ging in een paar tellen.",
    ),
]
NL_PAGE_2 = [
    entry(
        "11000000002",
        "2026-11-18T17:21:03-07:00",
        3,
        "Chat reageert snel, lost weinig op",
        "De chat in de app gaf binnen twee minuten antwoord, maar mijn probleem met de "
        "laadkabel is nog steeds niet opgelost.",
    ),
    entry(
        "11000000001",
        "2026-11-18T09:47:55-07:00",
        1,
        "Retourneren is een drama",
        "Retourlabel in de app aangemaakt, maar de koerier heeft het pakket nooit opgehaald.",
    ),
]
NEW_ON_TOP = entry(
    "11000000006",
    "2026-11-21T10:02:19-07:00",
    5,
    "Handige vergelijkfunctie",
    "Met de vergelijkfunctie kon ik twee laptops naast elkaar zetten. Goed advies ook!",
)


def _config(base_url: str, **options: Any) -> SourceConfig:
    return SourceConfig(
        key=KEY,
        type="appstore",
        brand="voltera",
        interval_seconds=900,
        options={"app_id": APP_ID, "countries": ["nl"], "base_url": base_url, **options},
    )


@pytest.fixture
def make_source(httpserver: HTTPServer, demo_settings: Settings):  # type: ignore[no-untyped-def]
    def make(**options: Any) -> AppStoreSource:
        return build(_config(httpserver.url_for("/"), **options), demo_settings)

    return make


def _ids(messages: list[IncomingMessage]) -> list[str]:
    return [m.external_id for m in messages]


def test_a_review_becomes_a_review_message_with_rating_brand_and_dutch_hint(
    httpserver: HTTPServer, make_source
) -> None:
    httpserver.expect_request(_path("nl", 1)).respond_with_json(feed("nl", 1, NL_PAGE_1))

    batch = make_source().fetch(None)

    assert not batch.has_more and not batch.rejected
    first = batch.messages[0]
    assert first.source == KEY and first.external_id == "11000000005"
    assert first.channel == "review"
    assert first.text == (
        "Bestelling volgen werkt top. Sinds de laatste update zie ik precies waar mijn pakket is. "
        "Bezorging was zelfs een dag eerder dan beloofd."
    )
    assert first.created_at.isoformat() == "2026-11-20T10:14:00+00:00"  # -07:00 made UTC
    assert first.rating == 5.0
    assert first.brands == ("voltera",)
    assert first.language == "nl"
    assert first.author == "Sanne1987"
    # A title ending in its own punctuation is not given a second full stop.
    assert batch.messages[1].text.startswith("Inloggen lukt niet meer! Na de update")


def test_pages_are_read_one_per_fetch_and_the_mark_moves_only_when_the_country_is_done(
    httpserver: HTTPServer, make_source
) -> None:
    httpserver.expect_request(_path("nl", 1)).respond_with_json(feed("nl", 1, NL_PAGE_1, last=2))
    httpserver.expect_request(_path("nl", 2)).respond_with_json(feed("nl", 2, NL_PAGE_2, last=2))
    source = make_source()

    first = source.fetch(None)
    assert first.has_more and _ids(first.messages) == ["11000000005", "11000000004", "11000000003"]
    # Mid-country the mark has not moved: a crash now re-reads page 2, never skips it.
    assert Progress.load(first.next_cursor).seen == {}
    second = source.fetch(first.next_cursor)

    assert not second.has_more
    assert _ids(second.messages) == ["11000000002", "11000000001"]
    assert Progress.load(second.next_cursor).seen["nl"].ids == {"11000000005"}
    assert len(httpserver.log) == 2


def test_reading_stops_at_max_pages(httpserver: HTTPServer, make_source) -> None:
    httpserver.expect_request(_path("nl", 1)).respond_with_json(feed("nl", 1, NL_PAGE_1, last=10))

    messages, _ = fetch_all(make_source(max_pages=1))

    assert len(messages) == 3 and len(httpserver.log) == 1


def test_next_run_returns_only_reviews_newer_than_the_cursor(
    httpserver: HTTPServer, make_source
) -> None:
    httpserver.expect_ordered_request(_path("nl", 1)).respond_with_json(
        feed("nl", 1, NL_PAGE_1, last=2)
    )
    httpserver.expect_ordered_request(_path("nl", 2)).respond_with_json(
        feed("nl", 2, NL_PAGE_2, last=2)
    )
    # Later a new review arrives: it pushes everything down by one.
    httpserver.expect_ordered_request(_path("nl", 1)).respond_with_json(
        feed("nl", 1, [NEW_ON_TOP, *NL_PAGE_1, NL_PAGE_2[0]], last=2)
    )
    source = make_source()
    first_run, cursor = fetch_all(source)

    second_run, cursor = fetch_all(source, cursor)

    assert len(first_run) == 5
    assert _ids(second_run) == ["11000000006"]  # page 2 is not even asked for
    assert Progress.load(cursor).seen["nl"].ids == {"11000000006"}
    httpserver.check_assertions()


def test_a_review_in_the_same_second_as_the_mark_is_not_lost(
    httpserver: HTTPServer, make_source
) -> None:
    same_second = entry(
        "11000000099",
        "2026-11-20T03:14:00-07:00",  # the time of the newest review read before
        2,
        "Levering te laat",
        "Mijn koelkast zou dinsdag komen, het werd vrijdag.",
    )
    httpserver.expect_ordered_request(_path("nl", 1)).respond_with_json(feed("nl", 1, NL_PAGE_1))
    httpserver.expect_ordered_request(_path("nl", 1)).respond_with_json(
        feed("nl", 1, [same_second, *NL_PAGE_1])
    )
    source = make_source()
    _, cursor = fetch_all(source)

    again, _ = fetch_all(source, cursor)

    assert _ids(again) == ["11000000099"]


def test_a_page_with_a_single_review_as_an_object_is_read(
    httpserver: HTTPServer, make_source
) -> None:
    httpserver.expect_request(_path("nl", 1)).respond_with_json(feed("nl", 1, NL_PAGE_1[0]))

    batch = make_source().fetch(None)

    assert _ids(batch.messages) == ["11000000005"] and not batch.rejected


def test_the_app_metadata_entry_of_older_feeds_is_skipped_not_rejected(
    httpserver: HTTPServer, make_source
) -> None:
    httpserver.expect_request(_path("nl", 1)).respond_with_json(
        feed("nl", 1, [METADATA, *NL_PAGE_1])
    )

    batch = make_source().fetch(None)

    assert len(batch.messages) == 3 and not batch.rejected


def test_a_page_without_entries_ends_the_country(httpserver: HTTPServer, make_source) -> None:
    httpserver.expect_request(_path("nl", 1)).respond_with_json(feed("nl", 1, None, last=10))

    batch = make_source().fetch(None)

    assert batch.messages == [] and not batch.has_more
    assert Progress.load(batch.next_cursor).seen == {}


def test_countries_are_read_in_turn_with_a_language_hint_only_where_unambiguous(
    httpserver: HTTPServer, make_source
) -> None:
    belgian = entry(
        "22000000001",
        "2026-11-20T01:00:00-07:00",
        2,
        "Slow delivery to Antwerp",
        "Found a great deal on headphones in the Voltera app, but delivery took a full week.",
    )
    httpserver.expect_request(_path("nl", 1)).respond_with_json(feed("nl", 1, NL_PAGE_1))
    httpserver.expect_request(_path("be", 1)).respond_with_json(feed("be", 1, [belgian]))
    source = make_source(countries=["NL", "be"])

    first = source.fetch(None)
    second = source.fetch(first.next_cursor)

    assert first.has_more and not second.has_more
    assert {m.language for m in first.messages} == {"nl"}
    assert [(m.external_id, m.language) for m in second.messages] == [("22000000001", None)]
    assert set(Progress.load(second.next_cursor).seen) == {"nl", "be"}


def test_rate_limit_raises_with_retry_after_and_keeps_the_cursor(
    httpserver: HTTPServer, make_source, engine: Engine, demo_settings: Settings
) -> None:
    httpserver.expect_ordered_request(_path("nl", 1)).respond_with_json(feed("nl", 1, NL_PAGE_1))
    httpserver.expect_ordered_request(_path("nl", 1)).respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": "120"}
    )
    source = make_source()
    normaliser = build_normaliser(demo_settings)
    run_source(engine, source, normaliser)
    with session_scope(engine) as session:
        before = load_cursor(session, KEY)

    with pytest.raises(RateLimited) as raised:
        run_source(engine, source, normaliser)

    assert raised.value.retry_after == 120
    with session_scope(engine) as session:
        assert load_cursor(session, KEY) == before


def test_a_server_error_is_retried_within_the_fetch(
    httpserver: HTTPServer, make_source, quick_retries: None
) -> None:
    httpserver.expect_oneshot_request(_path("nl", 1)).respond_with_data("oops", status=503)
    httpserver.expect_request(_path("nl", 1)).respond_with_json(feed("nl", 1, NL_PAGE_1))

    batch = make_source().fetch(None)

    assert len(batch.messages) == 3 and len(httpserver.log) == 2


def test_persistent_server_errors_become_a_source_error(
    httpserver: HTTPServer, make_source, quick_retries: None
) -> None:
    httpserver.expect_request(_path("nl", 1)).respond_with_data("down", status=502)

    with pytest.raises(SourceError, match=r"HTTP 502.*after 3 attempts"):
        make_source().fetch(None)


def test_a_response_slower_than_timeout_seconds_is_a_source_error_naming_the_timeout(
    httpserver: HTTPServer, make_source, quick_retries: None
) -> None:
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(5)  # held until the client has given up, then answered at once
        return Response(json.dumps(feed("nl", 1, NL_PAGE_1)), content_type="application/json")

    httpserver.expect_request(_path("nl", 1)).respond_with_handler(slow)
    try:
        with pytest.raises(SourceError, match="(?i)timeout"):
            make_source(timeout_seconds=0.2).fetch(None)
    finally:
        release.set()


def test_a_body_that_is_not_json_is_a_malformed_response(
    httpserver: HTTPServer, make_source
) -> None:
    httpserver.expect_request(_path("nl", 1)).respond_with_data(
        '{"feed": {"entry": [', content_type="application/json"
    )

    with pytest.raises(MalformedResponse, match="not JSON"):
        make_source().fetch(None)


@pytest.mark.parametrize(
    "body",
    [{"error": "not found"}, [], {"feed": {"entry": "geen reviews"}}],
    ids=["no-feed", "a-list", "entry-is-text"],
)
def test_a_body_not_in_the_feed_format_is_a_malformed_response(
    httpserver: HTTPServer, make_source, body: Any
) -> None:
    httpserver.expect_request(_path("nl", 1)).respond_with_json(body)

    with pytest.raises(MalformedResponse, match=KEY):
        make_source().fetch(None)


def test_broken_entries_are_rejected_with_their_place_while_the_others_parse(
    httpserver: HTTPServer, make_source
) -> None:
    bad_rating = entry(
        "11000000007", "2026-11-19T23:00:00-07:00", "vijf", "Top", "Alles goed geregeld."
    )
    no_id = entry("", "2026-11-19T22:50:00-07:00", 4, "Snel", "Binnen een dag in huis.")
    bad_date = entry("11000000008", "gisteren", 2, "Traag", "Duurde een week.")
    page = [NL_PAGE_1[0], bad_rating, no_id, bad_date, *NL_PAGE_1[1:]]
    httpserver.expect_request(_path("nl", 1)).respond_with_json(feed("nl", 1, page))

    batch: Batch = make_source().fetch(None)

    assert _ids(batch.messages) == ["11000000005", "11000000004", "11000000003"]
    assert [r.reference for r in batch.rejected] == [
        f"{KEY} nl page 1 entry 2",
        f"{KEY} nl page 1 entry 3",
        f"{KEY} nl page 1 entry 4",
    ]
    assert "im:rating" in batch.rejected[0].error
    assert "id" in batch.rejected[1].error
    assert "updated" in batch.rejected[2].error
    assert json.loads(batch.rejected[0].payload) == bad_rating
    assert all(r.source == KEY for r in batch.rejected)


def test_a_broken_entry_below_the_mark_is_not_quarantined_again_by_the_next_run(
    httpserver: HTTPServer, make_source
) -> None:
    broken = entry(
        "11000000007", "2026-11-19T20:00:00-07:00", 0, "Nul", "Kan geen nul sterren geven."
    )
    page = [*NL_PAGE_1[:2], broken, NL_PAGE_1[2]]
    httpserver.expect_ordered_request(_path("nl", 1)).respond_with_json(feed("nl", 1, page))
    httpserver.expect_ordered_request(_path("nl", 1)).respond_with_json(
        feed("nl", 1, [NEW_ON_TOP, *page])
    )
    source = make_source()
    first = source.fetch(None)

    second = source.fetch(first.next_cursor)

    assert len(first.rejected) == 1
    assert _ids(second.messages) == ["11000000006"] and second.rejected == []


def test_running_twice_through_the_pipeline_stores_each_review_once(
    httpserver: HTTPServer, make_source, engine: Engine, demo_settings: Settings
) -> None:
    httpserver.expect_request(_path("nl", 1)).respond_with_json(feed("nl", 1, NL_PAGE_1, last=2))
    httpserver.expect_request(_path("nl", 2)).respond_with_json(feed("nl", 2, NL_PAGE_2, last=2))
    source = make_source()
    normaliser = build_normaliser(demo_settings)

    first = run_source(engine, source, normaliser)
    second = run_source(engine, source, normaliser)

    assert (first.inserted, first.quarantined) == (5, 0)
    assert (second.inserted, second.duplicates) == (0, 0)
    with session_scope(engine) as session:
        count = session.scalar(
            select(func.count()).select_from(Message).where(Message.source == KEY)
        )
        brands = set(session.scalars(select(MessageBrand.brand)))
        cursor = load_cursor(session, KEY)
    assert count == 5 and brands == {"voltera"}
    assert cursor is not None and Progress.load(cursor).seen["nl"].ids == {"11000000005"}


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"max_pages": 11}, "max_pages"),
        ({"countries": ["nederland"]}, "countries"),
        ({"countries": []}, "countries"),
        ({"app_id": "voltera"}, "app_id"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"sort": "mosthelpful"}, "sort"),
    ],
)
def test_a_wrong_option_is_reported_with_its_key_path(
    demo_settings: Settings, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=rf"sources\.{KEY}\.options\.{field}"):
        build(_config("https://itunes.apple.com", **options), demo_settings)


def test_a_numeric_app_id_in_toml_is_accepted(demo_settings: Settings) -> None:
    config = SourceConfig(
        key=KEY, type="appstore", options={"app_id": 1234567890, "countries": ["nl"]}
    )

    assert build(config, demo_settings).options.app_id == APP_ID
