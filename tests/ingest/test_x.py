"""What the X source promises: brand searches through tweepy's real client against a local server
speaking X's documented v2 format, resumable paging, rate limits left to the scheduler."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, func, select
from tenacity import wait_none

from config import Settings, SourceConfig
from ingest.http import MalformedResponse, RateLimited, SourceError
from ingest.pipeline import run_source
from ingest.sources import build_source, x
from ingest.sources.x import QueryPosition, XCursor, XSource
from storage.db import session_scope
from storage.messages import StoreResult, load_cursor, quarantined
from storage.models import Message, MessageBrand
from wiring import build_normaliser

SEARCH = "/2/tweets/search/recent"
BEARER = "AAAAAAAAAAAAAAAAAAAAAJq%2BtestonlyF3x8w9QK"
NEXT = "b26v89c19zqg8o3fo7gesq314yb9l2l4ptqy"  # the shape of X's pagination tokens

USERS = {
    "1418209345872191489": "sannedv",
    "2855174410": "mark_jansen",
    "1602781964612845568": "techtess",
    "1366457128806252544": "voltera_nl",
}


def _tweet(tweet_id: str, text: str | None, author: str = "1418209345872191489", **fields: Any):
    tweet: dict[str, Any] = {
        "id": tweet_id,
        "edit_history_tweet_ids": [tweet_id],
        "author_id": author,
        "conversation_id": tweet_id,
        "created_at": "2025-03-03T09:14:27.000Z",
        "lang": "nl",
        **fields,
    }
    if text is not None:
        tweet["text"] = text
    return tweet


def _page(*tweets: dict[str, Any], next_token: str | None = None) -> dict[str, Any]:
    """A recent-search response as X documents it: data, includes.users and meta."""
    if not tweets:
        return {"meta": {"result_count": 0}}
    ids = sorted((t["id"] for t in tweets), key=int)
    authors = dict.fromkeys(t["author_id"] for t in tweets)
    meta: dict[str, Any] = {"newest_id": ids[-1], "oldest_id": ids[0], "result_count": len(tweets)}
    if next_token:
        meta["next_token"] = next_token
    return {
        "data": list(tweets),
        "includes": {
            "users": [
                {"id": a, "username": USERS[a], "name": USERS[a].title()}
                for a in authors
                if a in USERS
            ]
        },
        "meta": meta,
    }


LATE_WASHER = _tweet(
    "1896502741108285632",
    "@voltera_nl mijn wasmachine zou gisteren tussen 8 en 12 komen, niemand geweest en de chat "
    "zegt alleen sorry. Wat moet ik hiermee?",
)
FAST_LAPTOP = _tweet(
    "1896497083550028187",
    "Ordered a laptop from Voltera on Sunday night, it arrived Monday before noon. Impressed!",
    author="1602781964612845568",
    lang="en",
)
HEADPHONES = _tweet(
    "1896488120954892411",
    "Koptelefoon via Voltera.nl besteld, geluid is top en de accu houdt het echt 30 uur vol 👌",
    author="2855174410",
)
CHEAPER_BUT_LATE = _tweet(
    "1896510455839154300",
    "Stroomz was €30 goedkoper, maar Voltera bezorgt gewoon op tijd. Volgende keer toch weer "
    "Voltera.",
    author="2855174410",
)
CABLE_IN_STOCK = _tweet(
    "1896471182211829760",
    "Het Kabelhuis had de HDMI-kabel gewoon op voorraad, binnen 10 minuten geholpen 👍",
    author="1602781964612845568",
)


@pytest.fixture
def normaliser(demo_settings: Settings):  # type: ignore[no-untyped-def]
    return build_normaliser(demo_settings)


def _config(httpserver: HTTPServer, **options: Any) -> SourceConfig:
    return SourceConfig(
        key="x",
        type="x",
        interval_seconds=120,
        secret_env="X_BEARER_TOKEN",
        options={"api_base_url": httpserver.url_for("/"), **options},
    )


@pytest.fixture
def make_source(httpserver: HTTPServer, demo_settings: Settings, monkeypatch: pytest.MonkeyPatch):
    """An X source built from config, as the app builds it, talking to the local server."""
    monkeypatch.setenv("X_BEARER_TOKEN", BEARER)

    def make(**options: Any) -> XSource:
        source = build_source(_config(httpserver, **options), demo_settings)
        assert isinstance(source, XSource)
        return source

    return make


def _serve(httpserver: HTTPServer, *bodies: dict[str, Any]) -> None:
    for body in bodies:
        httpserver.expect_ordered_request(SEARCH, method="GET").respond_with_json(body)


def _sent(httpserver: HTTPServer) -> list[dict[str, str]]:
    """The query parameters of every request the server received, in order."""
    return [request.args.to_dict() for request, _ in httpserver.log]


def _cursor(engine: Engine) -> str | None:
    with session_scope(engine) as session:
        return load_cursor(session, "x")


# -- the search -----------------------------------------------------------------------------------


def test_each_brand_is_searched_by_its_aliases_and_handles_without_retweets(make_source) -> None:
    source = make_source()
    assert source.queries == {
        "voltera": '("Voltera" OR "Voltera.nl" OR @voltera_nl OR @VolteraHelpt) '
        "-from:voltera_nl -from:VolteraHelpt -is:retweet (lang:nl OR lang:en)",
        "stroomz": '("Stroomz" OR "Stroomz.nl" OR @stroomz) -from:stroomz -is:retweet '
        "(lang:nl OR lang:en)",
        "kabelhuis": '("Kabelhuis" OR "Het Kabelhuis" OR @kabelhuis) -from:kabelhuis -is:retweet '
        "(lang:nl OR lang:en)",
    }


def test_options_choose_the_brands_languages_retweets_and_own_posts(make_source) -> None:
    source = make_source(
        brands=["stroomz"], languages=["nl"], include_retweets=True, include_own_posts=True
    )
    assert source.queries == {"stroomz": '("Stroomz" OR "Stroomz.nl" OR @stroomz) lang:nl'}


def test_the_search_asks_x_for_the_documented_fields_with_the_bearer_token(
    httpserver: HTTPServer, make_source
) -> None:
    _serve(httpserver, _page(LATE_WASHER))
    make_source(brands=["voltera"], max_results=50).fetch(None)
    (request, _), *_ = httpserver.log
    assert request.headers["Authorization"] == f"Bearer {BEARER}"
    assert request.args.to_dict() == {
        "query": '("Voltera" OR "Voltera.nl" OR @voltera_nl OR @VolteraHelpt) '
        "-from:voltera_nl -from:VolteraHelpt -is:retweet (lang:nl OR lang:en)",
        "max_results": "50",
        "tweet.fields": "created_at,lang,conversation_id,author_id,in_reply_to_user_id,"
        "referenced_tweets,note_tweet",
        "expansions": "author_id",
        "user.fields": "username",
    }


def test_a_tweet_becomes_a_social_message_with_author_language_and_conversation(
    httpserver: HTTPServer, make_source
) -> None:
    brand_post = "1896321840021352746"
    reply = _tweet(
        "1896509182374011103",
        "@voltera_nl Bij mij ook! Bestelling VT-204981 staat al drie dagen op 'onderweg'",
        conversation_id=brand_post,
        in_reply_to_user_id="1366457128806252544",
        referenced_tweets=[{"type": "replied_to", "id": brand_post}],
        created_at="2025-03-03T10:02:51.000Z",
    )
    long_post = "Lang verhaal over mijn retour bij Voltera. " * 10
    thread = _tweet(
        "1896509999999999999",
        long_post[:270] + "… https://t.co/Ab3dEf9",
        author="1602781964612845568",
        note_tweet={"text": long_post.strip()},
        lang="und",
    )
    _serve(httpserver, _page(reply, thread))
    batch = make_source(brands=["voltera"]).fetch(None)
    first, second = batch.messages
    assert (first.source, first.external_id, first.channel) == ("x", reply["id"], "social")
    assert first.author == "@sannedv"
    assert first.language == "nl"
    assert first.conversation_id == brand_post  # replies to the brand's post stay in its thread
    assert first.created_at == datetime(2025, 3, 3, 10, 2, 51, tzinfo=UTC)
    assert first.brands == ("voltera",)
    assert second.text == long_post.strip()  # the full note, not the cut-off text
    assert second.language is None  # "und" names no language; the scorer detects it


# -- paging and the cursor ------------------------------------------------------------------------


def test_first_run_pages_with_next_token_and_the_next_run_asks_only_for_newer_tweets(
    engine: Engine, httpserver: HTTPServer, make_source, normaliser
) -> None:
    source = make_source(brands=["voltera"])
    newer = _tweet("1896530000000000001", "Voltera heeft mijn retour netjes terugbetaald, dank!")
    _serve(
        httpserver,
        _page(LATE_WASHER, FAST_LAPTOP, next_token=NEXT),
        _page(HEADPHONES),
        _page(newer),
    )
    assert run_source(engine, source, normaliser) == StoreResult(3, 0, 0)
    assert run_source(engine, source, normaliser) == StoreResult(1, 0, 0)
    first, second, third = _sent(httpserver)
    assert "next_token" not in first and "since_id" not in first
    assert second["next_token"] == NEXT and "since_id" not in second
    assert third["since_id"] == LATE_WASHER["id"]  # the newest tweet of the first run
    assert "next_token" not in third
    assert first["query"] == second["query"] == third["query"]


def test_a_run_cut_off_mid_paging_resumes_at_the_stored_next_token(
    httpserver: HTTPServer, make_source
) -> None:
    _serve(httpserver, _page(LATE_WASHER, next_token=NEXT), _page(HEADPHONES))
    batch = make_source(brands=["voltera"]).fetch(None)
    assert batch.has_more
    restarted = make_source(brands=["voltera"])  # a new process, only the stored cursor survives
    rest = restarted.fetch(batch.next_cursor)
    assert not rest.has_more
    assert [m.external_id for m in rest.messages] == [HEADPHONES["id"]]
    assert _sent(httpserver)[1]["next_token"] == NEXT
    assert (
        json.loads(rest.next_cursor or "")["positions"]["voltera"]["since_id"]
        == (LATE_WASHER["id"])
    )


def test_one_run_searches_every_brand_in_turn(
    engine: Engine, httpserver: HTTPServer, make_source, normaliser
) -> None:
    _serve(httpserver, _page(LATE_WASHER), _page(), _page(CABLE_IN_STOCK))
    assert run_source(engine, make_source(), normaliser) == StoreResult(2, 0, 0)
    queries = [params["query"] for params in _sent(httpserver)]
    assert [q.split('"')[1] for q in queries] == ["Voltera", "Stroomz", "Kabelhuis"]


def test_since_id_older_than_the_search_window_is_dropped_and_searched_again(
    httpserver: HTTPServer, make_source
) -> None:
    old = "1889000000000000000"
    source = make_source(brands=["voltera"])
    cursor = XCursor({"voltera": QueryPosition(source.queries["voltera"], old)}, ["voltera"])
    invalid = {
        "errors": [
            {
                "parameters": {"since_id": [old]},
                "message": f"Invalid 'since_id':'{old}'. 'since_id' must be a tweet id created "
                "after 2025-02-24T09:00Z.",
            }
        ],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }
    httpserver.expect_ordered_request(SEARCH).respond_with_json(invalid, status=400)
    _serve(httpserver, _page(LATE_WASHER))
    batch = source.fetch(cursor.dump())
    assert [m.external_id for m in batch.messages] == [LATE_WASHER["id"]]
    assert _sent(httpserver)[0]["since_id"] == old
    assert "since_id" not in _sent(httpserver)[1]
    assert (
        json.loads(batch.next_cursor or "")["positions"]["voltera"]["since_id"]
        == (LATE_WASHER["id"])
    )


# -- errors ---------------------------------------------------------------------------------------


def test_rate_limit_raises_rate_limited_until_the_reset_and_keeps_the_cursor(
    engine: Engine, httpserver: HTTPServer, make_source, normaliser
) -> None:
    source = make_source(brands=["voltera"])
    _serve(httpserver, _page(LATE_WASHER))
    run_source(engine, source, normaliser)
    stored = _cursor(engine)
    reset = int(time.time()) + 600
    httpserver.expect_ordered_request(SEARCH).respond_with_json(
        {
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        },
        status=429,
        headers={
            "x-rate-limit-limit": "450",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(reset),
        },
    )
    started = time.monotonic()
    with pytest.raises(RateLimited, match="rate limited by X") as caught:
        run_source(engine, source, normaliser)
    assert time.monotonic() - started < 5  # the scheduler waits, not tweepy
    assert 590 <= caught.value.retry_after <= 600
    assert _cursor(engine) == stored
    assert len(httpserver.log) == 2  # no retry of a 429 inside the run


def test_server_errors_are_retried_then_reported_as_a_source_error(
    httpserver: HTTPServer, make_source, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(x, "RETRY_WAIT", wait_none())
    httpserver.expect_request(SEARCH).respond_with_json(
        {"title": "Service Unavailable", "detail": "Service Unavailable", "status": 503},
        status=503,
    )
    with pytest.raises(SourceError, match="(?i)503 Service Unavailable.*after 3 attempts"):
        make_source(brands=["voltera"]).fetch(None)
    assert len(httpserver.log) == 3


def test_an_unreachable_host_is_retried_then_reported_as_a_source_error(
    demo_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(x, "RETRY_WAIT", wait_none())
    monkeypatch.setenv("X_BEARER_TOKEN", BEARER)
    with socket.socket() as closed:  # a port nobody listens on once the socket is closed
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    config = SourceConfig(
        key="x",
        type="x",
        secret_env="X_BEARER_TOKEN",
        options={"api_base_url": f"http://127.0.0.1:{port}", "timeout_seconds": 2},
    )
    with pytest.raises(SourceError, match="cannot reach X .*after 3 attempts"):
        build_source(config, demo_settings).fetch(None)


def test_a_single_server_error_is_retried_within_the_fetch(
    httpserver: HTTPServer, make_source, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(x, "RETRY_WAIT", wait_none())
    httpserver.expect_ordered_request(SEARCH).respond_with_data("upstream timeout", status=503)
    _serve(httpserver, _page(LATE_WASHER))
    assert len(make_source(brands=["voltera"]).fetch(None).messages) == 1


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('{"data": [{"id": "1896502741108285632", "text": "Voltera', "is not JSON"),
        ("<html><body>Over capacity</body></html>", "is not JSON"),
        ('["1896502741108285632"]', "is not a JSON object"),
        ('{"data": {"id": "1896502741108285632"}, "meta": {}}', "has a `data` that is not a list"),
    ],
)
def test_a_response_not_in_the_documented_format_is_a_clear_malformed_response(
    httpserver: HTTPServer, make_source, body: str, problem: str
) -> None:
    httpserver.expect_request(SEARCH).respond_with_data(body, content_type="application/json")
    with pytest.raises(MalformedResponse, match=f"X source x: X's search response {problem}"):
        make_source(brands=["voltera"]).fetch(None)


def test_a_rejected_bearer_token_names_the_environment_variable(
    httpserver: HTTPServer, make_source
) -> None:
    httpserver.expect_request(SEARCH).respond_with_json(
        {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
        status=401,
    )
    with pytest.raises(SourceError, match="bearer token in X_BEARER_TOKEN"):
        make_source(brands=["voltera"]).fetch(None)


def test_a_missing_bearer_token_is_reported_at_fetch_without_calling_x(
    httpserver: HTTPServer, make_source, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_source()
    monkeypatch.delenv("X_BEARER_TOKEN")
    with pytest.raises(SourceError, match="environment variable X_BEARER_TOKEN is not set"):
        source.fetch(None)
    assert httpserver.log == []


def test_wrong_options_are_reported_with_their_key_path(
    httpserver: HTTPServer, demo_settings: Settings
) -> None:
    config = _config(httpserver, max_results=500, langauges=["nl"])
    with pytest.raises(ValueError) as caught:
        build_source(config, demo_settings)
    assert "sources.x.options.max_results: Input should be less than or equal to 100" in str(
        caught.value
    )
    assert "sources.x.options.langauges: unknown option (known: api_base_url, brands," in str(
        caught.value
    )
    with pytest.raises(ValueError, match="sources.x.options.brands: 'bol' is not a brand key"):
        build_source(_config(httpserver, brands=["bol"]), demo_settings)
    with pytest.raises(ValueError, match="sources.x.secret_env: required"):
        build_source(SourceConfig(key="x", type="x"), demo_settings)


# -- through the real pipeline --------------------------------------------------------------------


def test_a_tweet_without_text_is_quarantined_while_the_others_are_stored(
    engine: Engine, httpserver: HTTPServer, make_source, normaliser
) -> None:
    no_text = _tweet("1896500000000000007", None)
    no_date = _tweet("1896500000000000008", "Voltera levert snel")
    del no_date["created_at"]
    local_time = _tweet("1896500000000000009", "Voltera", created_at="2025-03-03T10:14:27")
    _serve(httpserver, _page(LATE_WASHER, no_text, no_date, local_time, HEADPHONES))
    assert run_source(engine, make_source(brands=["voltera"]), normaliser) == StoreResult(2, 0, 3)
    with session_scope(engine) as session:
        errors = {q.reference: q.error for q in quarantined(session, "x")}
        stored = sorted(session.scalars(select(Message.external_id)))
    assert errors == {
        "x#1896500000000000007": "tweet has no text",
        "x#1896500000000000008": "tweet has no created_at",
        "x#1896500000000000009": "created_at '2025-03-03T10:14:27' is not an ISO 8601 time in UTC",
    }
    assert stored == sorted([LATE_WASHER["id"], HEADPHONES["id"]])


def test_a_tweet_naming_two_brands_is_stored_once_for_both(
    engine: Engine, httpserver: HTTPServer, make_source, normaliser
) -> None:
    # X finds it in both the Voltera and the Stroomz search.
    _serve(httpserver, _page(CHEAPER_BUT_LATE, LATE_WASHER), _page(CHEAPER_BUT_LATE), _page())
    assert run_source(engine, make_source(), normaliser) == StoreResult(2, 1, 0)
    with session_scope(engine) as session:
        brands = sorted(
            session.scalars(
                select(MessageBrand.brand)
                .join(Message, Message.id == MessageBrand.message_id)
                .where(Message.external_id == CHEAPER_BUT_LATE["id"])
            )
        )
    assert brands == ["stroomz", "voltera"]


def test_running_twice_stores_each_tweet_once(
    engine: Engine, httpserver: HTTPServer, make_source, normaliser
) -> None:
    # A server that ignores since_id re-delivers everything: storage must see duplicates.
    httpserver.expect_request(SEARCH).respond_with_json(_page(LATE_WASHER, FAST_LAPTOP))
    source = make_source(brands=["voltera"])
    assert run_source(engine, source, normaliser) == StoreResult(2, 0, 0)
    assert run_source(engine, source, normaliser) == StoreResult(0, 2, 0)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 2
