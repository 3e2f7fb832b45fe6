"""What the Google Play source promises: the Developer API's reviews list read newest first, page
by page, each review once, customer text only, and errors that leave the cursor where it was."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, func, select
from werkzeug import Request, Response

from config import Settings, SourceConfig
from ingest.base import IncomingMessage
from ingest.http import MalformedResponse, RateLimited, SourceError
from ingest.pipeline import run_source
from ingest.sources.googleplay import GooglePlaySource, Progress, build
from storage.db import session_scope
from storage.messages import load_cursor
from storage.models import Message
from tests.ingest.conftest import fetch_all
from wiring import build_normaliser

KEY = "googleplay_voltera"
PACKAGE = "nl.voltera.app"
PATH = f"/androidpublisher/v3/applications/{PACKAGE}/reviews"
TOKEN_ENV = "CXPULSE_TEST_GOOGLEPLAY_TOKEN"
FIRST_PAGE = {"maxResults": "100"}
T0 = int(datetime(2026, 11, 20, 10, 14, tzinfo=UTC).timestamp())


def review(
    review_id: str,
    seconds: int,
    rating: Any,
    text: str,
    language: str = "nl",
    reply: str | None = None,
    nanos: int = 713000000,
) -> dict[str, Any]:
    """One review as the Developer API returns it; a developer reply is a second comment."""
    comments: list[dict[str, Any]] = [
        {
            "userComment": {
                "text": text,
                "lastModified": {"seconds": str(seconds), "nanos": nanos},
                "starRating": rating,
                "reviewerLanguage": language,
                "device": "a52sxq",
                "androidOsVersion": 34,
                "appVersionCode": 30207,
                "appVersionName": "3.2.7",
                "thumbsUpCount": 2,
                "thumbsDownCount": 0,
                "deviceMetadata": {
                    "productName": "Galaxy A52s 5G",
                    "manufacturer": "Samsung",
                    "deviceClass": "phone",
                    "screenWidthPx": 1080,
                    "screenHeightPx": 2400,
                    "nativePlatform": "arm64-v8a",
                    "screenDensityDpi": 450,
                    "glEsVersion": 196610,
                    "ramMb": 6144,
                },
            }
        }
    ]
    if reply is not None:
        comments.append(
            {
                "developerComment": {
                    "text": reply,
                    "lastModified": {"seconds": str(seconds + 3600), "nanos": 0},
                }
            }
        )
    return {"reviewId": review_id, "authorName": "Jeroen de Vries", "comments": comments}


def page(reviews: list[Any], next_token: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reviews": reviews,
        "pageInfo": {"totalResults": len(reviews), "resultPerPage": 100, "startIndex": 0},
    }
    if next_token:
        body["tokenPagination"] = {"nextPageToken": next_token}
    return body


# Newest first, as the API lists them.
PAGE_1 = [
    review(
        "gp:AOqpTOH5k2cV-voltera-05",
        T0,
        5,
        "Eindelijk een fijne app\tBestellen en betalen gaat in een paar tikken, "
        "en ik zie precies wanneer de bezorger komt.",
    ),
    review(
        "gp:AOqpTOH5k2cV-voltera-04",
        T0 - 3_000,
        1,
        "App crasht bij het openen van mijn bestellingen sinds versie 3.2.7.",
        language="nl_NL",
        reply="Vervelend! Wil je de app opnieuw installeren? Groet, team Voltera",
    ),
]
PAGE_2 = [
    review(
        "gp:AOqpTOH5k2cV-voltera-03",
        T0 - 9_000,
        4,
        "Delivery was quick, but the app kept asking me to log in again.",
        language="en_GB",
    ),
    review(
        "gp:AOqpTOH5k2cV-voltera-02",
        T0 - 20_000,
        2,
        "Retour aangemeld via de app, na twee weken nog steeds geen geld terug.",
    ),
]
NEW_ON_TOP = review(
    "gp:AOqpTOH5k2cV-voltera-06",
    T0 + 7_200,
    4,
    "Handig dat ik nu ook in de app kan chatten met de klantenservice.",
)


def _config(base_url: str, secret_env: str | None = TOKEN_ENV, **options: Any) -> SourceConfig:
    return SourceConfig(
        key=KEY,
        type="googleplay",
        brand="voltera",
        interval_seconds=900,
        secret_env=secret_env,
        options={"package_name": PACKAGE, "base_url": base_url, **options},
    )


@pytest.fixture
def make_source(  # type: ignore[no-untyped-def]
    httpserver: HTTPServer, demo_settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(TOKEN_ENV, "ya29.test-access-token")

    def make(**options: Any) -> GooglePlaySource:
        return build(_config(httpserver.url_for("/"), **options), demo_settings)

    return make


def _ids(messages: list[IncomingMessage]) -> list[str]:
    return [m.external_id.rsplit("-", 1)[1] for m in messages]


def test_a_review_becomes_a_review_message_without_the_developer_reply(
    httpserver: HTTPServer, make_source
) -> None:
    httpserver.expect_request(
        PATH,
        query_string=FIRST_PAGE,
        headers={"Authorization": "Bearer ya29.test-access-token"},
    ).respond_with_json(page(PAGE_1 + PAGE_2))

    batch = make_source().fetch(None)

    assert not batch.has_more and not batch.rejected
    first, second, third = batch.messages[:3]
    assert first.source == KEY and first.external_id == "gp:AOqpTOH5k2cV-voltera-05"
    assert first.channel == "review" and first.rating == 5.0
    # "title<TAB>body" becomes "title. body".
    assert first.text.startswith("Eindelijk een fijne app. Bestellen en betalen gaat")
    assert first.created_at == datetime(2026, 11, 20, 10, 14, 0, 713000, tzinfo=UTC)
    assert first.brands == ("voltera",) and first.author == "Jeroen de Vries"
    assert first.language == "nl"
    assert "Groet, team Voltera" not in second.text and second.language == "nl"
    assert third.language == "en"
    assert all(m.turn_role is None for m in batch.messages)


def test_pages_follow_the_next_page_token_and_the_mark_moves_only_at_the_end(
    httpserver: HTTPServer, make_source
) -> None:
    httpserver.expect_request(PATH, query_string=FIRST_PAGE).respond_with_json(
        page(PAGE_1, next_token="tok-page-2")
    )
    httpserver.expect_request(
        PATH, query_string={"maxResults": "100", "token": "tok-page-2"}
    ).respond_with_json(page(PAGE_2))
    source = make_source()

    first = source.fetch(None)
    assert first.has_more and _ids(first.messages) == ["05", "04"]
    # Mid-run the mark has not moved: a crash now re-reads, never skips.
    assert Progress.load(first.next_cursor).seen.at is None
    second = source.fetch(first.next_cursor)

    assert not second.has_more and _ids(second.messages) == ["03", "02"]
    assert Progress.load(second.next_cursor).seen.ids == {"gp:AOqpTOH5k2cV-voltera-05"}


def test_next_run_returns_only_reviews_modified_after_the_cursor(
    httpserver: HTTPServer, make_source
) -> None:
    httpserver.expect_ordered_request(PATH, query_string=FIRST_PAGE).respond_with_json(
        page(PAGE_1, next_token="tok-page-2")
    )
    httpserver.expect_ordered_request(
        PATH, query_string={"maxResults": "100", "token": "tok-page-2"}
    ).respond_with_json(page(PAGE_2))
    httpserver.expect_ordered_request(PATH, query_string=FIRST_PAGE).respond_with_json(
        page([NEW_ON_TOP, *PAGE_1], next_token="tok-page-2b")
    )
    source = make_source()
    first_run, cursor = fetch_all(source)

    second_run, cursor = fetch_all(source, cursor)

    assert len(first_run) == 4
    assert _ids(second_run) == ["06"]  # the rest of the list is not even asked for
    assert Progress.load(cursor).seen.ids == {"gp:AOqpTOH5k2cV-voltera-06"}
    httpserver.check_assertions()


def test_a_stale_page_token_starts_the_run_over_from_the_newest_page(
    httpserver: HTTPServer, make_source
) -> None:
    httpserver.expect_request(PATH, query_string=FIRST_PAGE).respond_with_json(
        page(PAGE_1, next_token="tok-page-2")
    )
    source = make_source()
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    source.clock = lambda: now
    cut_off = source.fetch(None)  # the run stops here (a crash, or the page limit)

    now += timedelta(hours=3)
    restarted = source.fetch(cut_off.next_cursor)

    assert [dict(r.args) for r, _ in httpserver.log] == [FIRST_PAGE, FIRST_PAGE]
    assert restarted.has_more and _ids(restarted.messages) == ["05", "04"]


def test_translation_language_is_asked_for_and_becomes_the_language_hint(
    httpserver: HTTPServer, make_source
) -> None:
    httpserver.expect_request(
        PATH, query_string={"maxResults": "50", "translationLanguage": "nl"}
    ).respond_with_json(page(PAGE_2))

    batch = make_source(max_results=50, translation_language="nl").fetch(None)

    assert {m.language for m in batch.messages} == {"nl"}


def test_an_empty_response_means_no_reviews(httpserver: HTTPServer, make_source) -> None:
    httpserver.expect_request(PATH).respond_with_json({})  # Google leaves out empty lists

    batch = make_source().fetch(None)

    assert batch.messages == [] and not batch.has_more


def test_rate_limit_raises_with_retry_after_and_keeps_the_cursor(
    httpserver: HTTPServer, make_source, engine: Engine, demo_settings: Settings
) -> None:
    httpserver.expect_ordered_request(PATH).respond_with_json(page(PAGE_1))
    httpserver.expect_ordered_request(PATH).respond_with_json(
        {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}},
        status=429,
        headers={"Retry-After": "300"},
    )
    source = make_source()
    normaliser = build_normaliser(demo_settings)
    run_source(engine, source, normaliser)
    with session_scope(engine) as session:
        before = load_cursor(session, KEY)

    with pytest.raises(RateLimited) as raised:
        run_source(engine, source, normaliser)

    assert raised.value.retry_after == 300
    with session_scope(engine) as session:
        assert load_cursor(session, KEY) == before


def test_a_server_error_is_retried_within_the_fetch(
    httpserver: HTTPServer, make_source, quick_retries: None
) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_data("backend error", status=500)
    httpserver.expect_request(PATH).respond_with_json(page(PAGE_1))

    batch = make_source().fetch(None)

    assert len(batch.messages) == 2 and len(httpserver.log) == 2


def test_persistent_server_errors_become_a_source_error(
    httpserver: HTTPServer, make_source, quick_retries: None
) -> None:
    httpserver.expect_request(PATH).respond_with_data("unavailable", status=503)

    with pytest.raises(SourceError, match=r"HTTP 503.*after 3 attempts"):
        make_source().fetch(None)


def test_a_response_slower_than_timeout_seconds_is_a_source_error_naming_the_timeout(
    httpserver: HTTPServer, make_source, quick_retries: None
) -> None:
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(5)  # held until the client has given up, then answered at once
        return Response(json.dumps(page(PAGE_1)), content_type="application/json")

    httpserver.expect_request(PATH).respond_with_handler(slow)
    try:
        with pytest.raises(SourceError, match="(?i)timeout"):
            make_source(timeout_seconds=0.2).fetch(None)
    finally:
        release.set()


def test_a_body_that_is_not_json_is_a_malformed_response(
    httpserver: HTTPServer, make_source
) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        '{"reviews": [{"reviewId": ', content_type="application/json"
    )

    with pytest.raises(MalformedResponse, match="not JSON"):
        make_source().fetch(None)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"reviews": {"reviewId": "gp:1"}},
        {"reviews": [], "tokenPagination": "tok"},
        {"reviews": [], "tokenPagination": {"nextPageToken": 7}},
    ],
    ids=["a-list", "reviews-not-a-list", "pagination-not-an-object", "token-not-text"],
)
def test_a_body_not_in_the_documented_format_is_a_malformed_response(
    httpserver: HTTPServer, make_source, body: Any
) -> None:
    httpserver.expect_request(PATH).respond_with_json(body)

    with pytest.raises(MalformedResponse, match=KEY):
        make_source().fetch(None)


def test_broken_reviews_are_rejected_with_their_place_while_the_others_parse(
    httpserver: HTTPServer, make_source
) -> None:
    no_id = {**review("x", T0 - 100, 3, "Prima."), "reviewId": ""}
    only_reply = {
        "reviewId": "gp:reply-only",
        "comments": [{"developerComment": {"text": "Dank je!", "lastModified": {"seconds": "1"}}}],
    }
    zero_stars = review("gp:zero", T0 - 200, 0, "Geen sterren waard.")
    bad_time = review("gp:time", T0 - 300, 4, "Snelle levering.")
    bad_time["comments"][0]["userComment"]["lastModified"] = {"nanos": 5}
    empty_text = review("gp:empty", T0 - 400, 4, " \t ")
    body = page([PAGE_1[0], no_id, only_reply, zero_stars, bad_time, empty_text, PAGE_1[1]])
    httpserver.expect_request(PATH).respond_with_json(body)

    batch = make_source().fetch(None)

    assert _ids(batch.messages) == ["05", "04"]
    assert [r.reference for r in batch.rejected] == [
        f"{KEY} page 1 review {n}" for n in (2, 3, 4, 5, 6)
    ]
    errors = [r.error for r in batch.rejected]
    assert "reviewId" in errors[0] and "userComment" in errors[1]
    assert "starRating" in errors[2] and "lastModified" in errors[3] and "empty" in errors[4]
    assert json.loads(batch.rejected[2].payload) == zero_stars


def test_a_broken_review_below_the_mark_is_not_quarantined_again_by_the_next_run(
    httpserver: HTTPServer, make_source
) -> None:
    broken = review("gp:zero", T0 - 200, 0, "Geen sterren waard.")
    httpserver.expect_ordered_request(PATH).respond_with_json(page([PAGE_1[0], broken, *PAGE_2]))
    httpserver.expect_ordered_request(PATH).respond_with_json(
        page([NEW_ON_TOP, PAGE_1[0], broken, *PAGE_2])
    )
    source = make_source()
    first = source.fetch(None)

    second = source.fetch(first.next_cursor)

    assert len(first.rejected) == 1
    assert _ids(second.messages) == ["06"] and second.rejected == []


def test_a_missing_access_token_names_the_variable_without_calling_google(
    httpserver: HTTPServer, make_source, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_source()
    monkeypatch.delenv(TOKEN_ENV)

    with pytest.raises(SourceError, match=TOKEN_ENV):
        source.fetch(None)
    assert httpserver.log == []


def test_a_rejected_access_token_is_a_source_error_with_the_status(
    httpserver: HTTPServer, make_source
) -> None:
    httpserver.expect_request(PATH).respond_with_json(
        {"error": {"code": 401, "message": "Request had invalid authentication credentials."}},
        status=401,
    )

    with pytest.raises(SourceError, match="HTTP 401"):
        make_source().fetch(None)


def test_running_twice_through_the_pipeline_stores_each_review_once_even_when_edited(
    httpserver: HTTPServer, make_source, engine: Engine, demo_settings: Settings
) -> None:
    edited = review(
        "gp:AOqpTOH5k2cV-voltera-04",
        T0 + 3_600,
        3,
        "Na de update van vandaag opent de app weer, maar nog steeds traag.",
    )
    httpserver.expect_ordered_request(PATH, query_string=FIRST_PAGE).respond_with_json(
        page(PAGE_1, next_token="tok-page-2")
    )
    httpserver.expect_ordered_request(
        PATH, query_string={"maxResults": "100", "token": "tok-page-2"}
    ).respond_with_json(page(PAGE_2))
    httpserver.expect_ordered_request(PATH, query_string=FIRST_PAGE).respond_with_json(
        page([edited, *PAGE_1[:1]], next_token="tok-page-2b")
    )
    source = make_source()
    normaliser = build_normaliser(demo_settings)

    first = run_source(engine, source, normaliser)
    second = run_source(engine, source, normaliser)

    assert (first.inserted, first.quarantined) == (4, 0)
    # The edit comes back (it is newer than the mark) but the review is already stored.
    assert (second.inserted, second.duplicates) == (0, 1)
    with session_scope(engine) as session:
        count = session.scalar(
            select(func.count()).select_from(Message).where(Message.source == KEY)
        )
        cursor = load_cursor(session, KEY)
    assert count == 4
    assert cursor is not None and Progress.load(cursor).seen.ids == {"gp:AOqpTOH5k2cV-voltera-04"}


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"package_name": "voltera"}, "package_name"),
        ({"max_results": 500}, "max_results"),
        ({"translation_language": "Nederlands"}, "translation_language"),
        ({"timeout_seconds": -1}, "timeout_seconds"),
        ({"country": "nl"}, "country"),
    ],
)
def test_a_wrong_option_is_reported_with_its_key_path(
    demo_settings: Settings, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=rf"sources\.{KEY}\.options\.{field}"):
        build(_config("https://androidpublisher.googleapis.com", **options), demo_settings)


def test_a_source_without_secret_env_is_refused_at_start(demo_settings: Settings) -> None:
    with pytest.raises(ValueError, match=rf"sources\.{KEY}\.secret_env"):
        build(_config("https://androidpublisher.googleapis.com", secret_env=None), demo_settings)
