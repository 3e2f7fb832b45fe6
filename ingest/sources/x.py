"""X (Twitter) source: API v2 recent search per brand through tweepy, one page per fetch.

The cursor keeps, per brand query, the newest tweet id stored (since_id) and paging under way."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import requests
import tweepy
from pydantic import Field, field_validator
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from config import BrandConfig, Settings, SourceConfig
from ingest.base import Batch, Channel, IncomingMessage, Rejected
from ingest.brands import BrandMatcher
from ingest.http import MalformedResponse, RateLimited, SourceError, retry_after_seconds, secret
from ingest.sources.options import SourceOptions, parse_options

log = logging.getLogger(__name__)

X_HOST = "https://api.twitter.com"  # what tweepy's BaseClient.request always calls
TWEET_FIELDS = (
    "created_at",
    "lang",
    "conversation_id",
    "author_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "note_tweet",  # the full text of posts longer than 280 characters; `text` is cut short
)
ATTEMPTS = 3
RETRY_WAIT = wait_exponential(multiplier=0.5, max=4)
# X's `lang` values that name no language; passing them on would hide the text's own language.
NO_LANGUAGE = {"und", "zxx", "qme", "qht", "qam", "qct", "qst"}


class XOptions(SourceOptions):
    """The `options` of a `[[sources]]` entry of type "x"."""

    brands: tuple[str, ...] | None = None  # brand keys to search for; default every brand
    languages: tuple[str, ...] = ("nl", "en")  # empty: every language
    include_retweets: bool = False
    include_own_posts: bool = False  # the brand's own posts are marketing, not customer voice
    max_results: int = Field(default=100, ge=10, le=100)  # tweets per page; X allows 10-100
    api_base_url: str | None = None  # another host for X's API (a test server or a proxy)

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for code in value:
            if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,4})?", code):
                raise ValueError(f"{code!r} is not a language code like 'nl' or 'en'")
        return value

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"https?://[^/]", value):
            raise ValueError(f"expected an http(s) URL like 'http://127.0.0.1:8080', got {value!r}")
        return value.rstrip("/") if value else value


def brand_query(
    brand: BrandConfig,
    languages: Sequence[str] = ("nl", "en"),
    include_retweets: bool = False,
    include_own_posts: bool = False,
) -> str:
    """The recent-search query for one brand: any alias as a phrase, or a mention of a handle."""
    phrases = dict.fromkeys(
        p for p in (a.replace('"', "").strip() for a in (brand.name, *brand.aliases)) if p
    )
    handles = [h.lstrip("@") for h in brand.handles if h.lstrip("@")]
    terms = [f'"{p}"' for p in phrases] + [f"@{h}" for h in handles]
    parts = [f"({' OR '.join(terms)})"]
    if not include_own_posts:
        parts += [f"-from:{h}" for h in handles]
    if not include_retweets:
        parts.append("-is:retweet")
    if languages:
        # Parenthesised: X evaluates AND before OR, so a bare `lang:nl OR lang:en` would let every
        # English tweet in the world through.
        clause = " OR ".join(f"lang:{code}" for code in languages)
        parts.append(f"({clause})" if len(languages) > 1 else clause)
    return " ".join(parts)


@dataclass
class QueryPosition:
    """How far one brand's query has been read."""

    query: str
    since_id: str | None = None  # newest tweet id stored by a finished search
    next_token: str | None = None  # the search in progress continues here
    newest_id: str | None = None  # newest id of the search in progress; since_id when it ends


@dataclass
class XCursor:
    """Every brand's position, and which brands this round of searches has finished."""

    positions: dict[str, QueryPosition] = field(default_factory=dict)
    finished: list[str] = field(default_factory=list)

    def dump(self) -> str:
        return json.dumps(
            {
                "positions": {k: asdict(p) for k, p in self.positions.items()},
                "finished": self.finished,
            },
            sort_keys=True,
        )

    @classmethod
    def load(cls, value: str | None, queries: Mapping[str, str], source: str) -> XCursor:
        cursor = cls()
        if value:
            try:
                raw = json.loads(value)
                cursor = cls(
                    {k: QueryPosition(**p) for k, p in raw["positions"].items()},
                    list(raw["finished"]),
                )
            except (ValueError, KeyError, TypeError, AttributeError):
                # Starting over only re-reads X's last 7 days, which storage skips as duplicates.
                log.warning(
                    "source %s: stored cursor %.80r is not an X cursor; starting over",
                    source,
                    value,
                )
        positions = {}
        for key, query in queries.items():
            position = cursor.positions.get(key) or QueryPosition(query)
            if position.query != query:
                # A next_token only works with the query that made it; since_id stays valid.
                position = QueryPosition(query, since_id=position.since_id)
            positions[key] = position
        finished = [k for k in cursor.finished if k in positions]
        return cls(positions, finished)

    def next_brand(self) -> str:
        """A search in progress first, then the brands not yet searched this round."""
        for key, position in self.positions.items():
            if position.next_token:
                return key
        for key in self.positions:
            if key not in self.finished:
                return key
        self.finished = []
        return next(iter(self.positions))

    def has_more(self) -> bool:
        return any(p.next_token or k not in self.finished for k, p in self.positions.items())


class _Transient(Exception):
    """5xx or network trouble: worth a quick retry inside one fetch."""


class _StalePosition(Exception):
    """X no longer accepts the stored since_id or next_token (older than its 7-day window)."""

    def __init__(self, parameters: set[str]) -> None:
        super().__init__(", ".join(sorted(parameters)))
        self.parameters = parameters


class _ApiHost(HTTPAdapter):
    """Gives tweepy's requests a timeout and, when configured, sends them to another base URL.

    tweepy hard-codes api.twitter.com; rewriting below it keeps tweepy's own request building and
    error handling, which is what a test server should exercise."""

    def __init__(self, base_url: str | None, timeout_seconds: float) -> None:
        super().__init__(max_retries=0)  # retries are ours (5xx) or the scheduler's (429)
        self.base_url = base_url
        self.timeout = timeout_seconds

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        if self.base_url and request.url and request.url.startswith(X_HOST):
            request.url = self.base_url + request.url.removeprefix(X_HOST)
            # The session chose proxies for api.twitter.com; the new host may be exempt (NO_PROXY).
            proxies = get_environ_proxies(request.url)
        return super().send(
            request,
            stream=stream,
            # tweepy passes no timeout, and a hung socket would stall the run for good.
            timeout=timeout or self.timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


class XSource:
    """Recent search on X for each brand's query, newest tweets first, one page per fetch."""

    def __init__(
        self,
        key: str,
        queries: Mapping[str, str],
        *,
        secret_env: str | None,
        matcher: BrandMatcher,
        max_results: int = 100,
        api_base_url: str | None = None,
        timeout_seconds: float = 20,
        channel: Channel = "social",
    ) -> None:
        if not queries:
            raise ValueError(f"X source {key}: no brand to search for")
        self.key = key
        self.queries = dict(queries)
        self.secret_env = secret_env
        self.matcher = matcher
        self.max_results = max_results
        self.api_base_url = api_base_url
        self.timeout_seconds = timeout_seconds
        self.channel = channel
        self._client: tweepy.Client | None = None

    def fetch(self, cursor: str | None) -> Batch:
        state = XCursor.load(cursor, self.queries, self.key)
        brand = state.next_brand()
        position = state.positions[brand]
        page = self._search_from(position, brand)
        batch = self._batch(page, brand)
        self._advance(state, brand, page)
        batch.next_cursor = state.dump()
        batch.has_more = state.has_more()
        return batch

    # -- reading X ---------------------------------------------------------------------------

    def _api(self) -> tweepy.Client:
        if self._client is None:
            token = secret(self.secret_env, f"X source {self.key}")
            # The scheduler waits out rate limits, so a run never blocks and the cursor holds.
            # Plain dicts, not tweepy's Tweet objects: Tweet() fails on a tweet without text, which
            # would lose the whole page instead of quarantining the one bad tweet.
            client = tweepy.Client(bearer_token=token, return_type=dict, wait_on_rate_limit=False)
            client.session.mount(X_HOST + "/", _ApiHost(self.api_base_url, self.timeout_seconds))
            self._client = client
        return self._client

    def _search_from(self, position: QueryPosition, brand: str) -> dict[str, Any]:
        """Search from the stored position, dropping the parts of it X no longer accepts."""
        for _ in range(2):  # at most: first the next_token, then the since_id
            try:
                return self._search(position)
            except _StalePosition as stale:
                log.warning(
                    "source %s: X no longer accepts the stored %s for %s (older than its 7-day "
                    "window); searching again without it, stored tweets are skipped",
                    self.key,
                    stale,
                    brand,
                )
                if "since_id" in stale.parameters:
                    position.since_id = None
                position.next_token = position.newest_id = None
        try:
            return self._search(position)
        except _StalePosition as stale:
            raise SourceError(
                f"X source {self.key}: X rejects the search position ({stale}) even after a reset"
            ) from None

    def _search(self, position: QueryPosition) -> dict[str, Any]:
        params: dict[str, Any] = {
            "query": position.query,
            "max_results": self.max_results,
            "tweet_fields": list(TWEET_FIELDS),
            "expansions": ["author_id"],
            "user_fields": ["username"],
        }
        if position.since_id:
            params["since_id"] = position.since_id
        if position.next_token:
            params["next_token"] = position.next_token
        retrying = Retrying(
            retry=retry_if_exception_type(_Transient),
            stop=stop_after_attempt(ATTEMPTS),
            wait=RETRY_WAIT,
            reraise=True,
        )
        try:
            body = retrying(self._request, params)
        except _Transient as exc:
            raise SourceError(f"X source {self.key}: {exc} (after {ATTEMPTS} attempts)") from None
        return self._checked(body)

    def _request(self, params: dict[str, Any]) -> Any:
        what = f"X source {self.key}"
        try:
            return self._api().search_recent_tweets(**params)
        except tweepy.TooManyRequests as exc:
            # One owner for reading x-rate-limit-reset: ingest.http, which speaks httpx.
            wait = retry_after_seconds(httpx.Response(429, headers=dict(exc.response.headers)))
            raise RateLimited(
                f"{what}: rate limited by X (HTTP 429); retry in {wait:.0f} s", wait
            ) from None
        except tweepy.TwitterServerError as exc:
            raise _Transient(f"X answered {_first_line(exc)}") from None
        except tweepy.BadRequest as exc:
            stale = _stale_parameters(exc) & params.keys()
            if stale:
                raise _StalePosition(stale) from None
            raise SourceError(f"{what}: X rejected the search: {_detail(exc)}") from None
        except tweepy.Unauthorized:
            raise SourceError(
                f"{what}: X rejected the bearer token in {self.secret_env} (HTTP 401); "
                "check the app's bearer token in the X developer portal"
            ) from None
        except tweepy.Forbidden as exc:
            raise SourceError(
                f"{what}: X refused recent search (HTTP 403): {_detail(exc)}; it needs an app "
                "inside a Project with Basic access or higher"
            ) from None
        except tweepy.HTTPException as exc:
            raise SourceError(f"{what}: X answered {_detail(exc)}") from None
        except requests.JSONDecodeError as exc:
            raise MalformedResponse(
                f"{what}: X's search response is not JSON ({exc.msg} at position {exc.pos})"
            ) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Transient(f"cannot reach X ({exc.__class__.__name__})") from None

    def _checked(self, body: Any) -> dict[str, Any]:
        """The documented shape: an object with optional data/includes lists and a meta object."""
        what = f"X source {self.key}"
        if not isinstance(body, dict):
            raise MalformedResponse(f"{what}: X's search response is not a JSON object")
        if "data" not in body and "meta" not in body:
            errors = json.dumps(body.get("errors"), ensure_ascii=False)[:300]
            raise MalformedResponse(
                f"{what}: X's search response has neither data nor meta (errors: {errors})"
            )
        if not isinstance(body.get("data", []), list):
            raise MalformedResponse(f"{what}: X's search response has a `data` that is not a list")
        if not isinstance(body.get("meta", {}), dict):
            raise MalformedResponse(
                f"{what}: X's search response has a `meta` that is not an object"
            )
        if body.get("errors"):
            # Partial errors (a suspended author missing from includes): the tweets still count.
            log.warning(
                "source %s: X reported %d partial errors, first: %.200s",
                self.key,
                len(body["errors"]),
                body["errors"][0],
            )
        return body

    # -- turning tweets into messages --------------------------------------------------------

    def _batch(self, page: dict[str, Any], brand: str) -> Batch:
        includes = page.get("includes")
        users = includes.get("users") if isinstance(includes, dict) else None
        usernames = {
            str(u.get("id")): str(u["username"])
            for u in users or []
            if isinstance(u, dict) and u.get("username")
        }
        batch = Batch()
        for tweet in page.get("data", []):
            item = self._message(tweet, usernames, brand)
            if isinstance(item, Rejected):
                batch.rejected.append(item)
            else:
                batch.messages.append(item)
        return batch

    def _message(
        self, tweet: Any, usernames: Mapping[str, str], brand: str
    ) -> IncomingMessage | Rejected:
        payload = json.dumps(tweet, ensure_ascii=False, default=str)
        if not isinstance(tweet, dict) or not str(tweet.get("id") or "").isdigit():
            return Rejected(self.key, f"{self.key}#?", payload, "tweet has no numeric id")
        tweet_id = str(tweet["id"])
        reference = f"{self.key}#{tweet_id}"
        note = tweet.get("note_tweet")
        text = (note.get("text") if isinstance(note, dict) else None) or tweet.get("text")
        if not isinstance(text, str) or not text.strip():
            return Rejected(self.key, reference, payload, "tweet has no text")
        if not tweet.get("created_at"):
            return Rejected(self.key, reference, payload, "tweet has no created_at")
        try:
            created_at = datetime.fromisoformat(str(tweet["created_at"]))
        except ValueError:
            created_at = None
        if created_at is None or created_at.tzinfo is None:
            # X always sends UTC with a "Z"; guessing a zone would shift the tweet in time.
            problem = f"created_at {tweet['created_at']!r} is not an ISO 8601 time in UTC"
            return Rejected(self.key, reference, payload, problem)
        username = usernames.get(str(tweet.get("author_id")))
        lang = tweet.get("lang")
        conversation = tweet.get("conversation_id")
        return IncomingMessage(
            source=self.key,
            external_id=tweet_id,
            channel=self.channel,
            text=text,
            created_at=created_at.astimezone(UTC),
            # Every brand the text names; X's own match (say, on an expanded link) decides only
            # when the text names none, so no found tweet ends up without a brand.
            brands=self.matcher.match(text) or (brand,),
            author=f"@{username}" if username else None,
            language=lang if isinstance(lang, str) and lang not in NO_LANGUAGE else None,
            conversation_id=str(conversation) if conversation else None,
        )

    def _advance(self, state: XCursor, brand: str, page: dict[str, Any]) -> None:
        position = state.positions[brand]
        meta = page.get("meta") or {}
        ids = [
            str(t["id"])
            for t in page.get("data", [])
            if isinstance(t, dict) and _numeric(t.get("id"))
        ]
        if _numeric(meta.get("newest_id")):
            ids.append(str(meta["newest_id"]))
        position.newest_id = max([*ids, *filter(None, [position.newest_id])], key=int, default=None)
        token = meta.get("next_token")
        if token:
            position.next_token = str(token)
            return
        # The search is complete: later runs only ask for tweets newer than the newest one seen.
        if position.newest_id:
            position.since_id = max(filter(None, [position.since_id, position.newest_id]), key=int)
        position.next_token = position.newest_id = None
        if brand not in state.finished:
            state.finished.append(brand)


def _numeric(value: Any) -> bool:
    return isinstance(value, str | int) and str(value).isdigit()


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__


def _detail(exc: tweepy.HTTPException) -> str:
    messages = "; ".join(str(m) for m in exc.api_messages)
    return f"{_first_line(exc)}{': ' + messages if messages else ''}"


def _stale_parameters(exc: tweepy.HTTPException) -> set[str]:
    """Which of since_id/next_token a 400 complains about (X names them in `parameters`)."""
    named = {
        name
        for error in exc.api_errors
        if isinstance(error, dict) and isinstance(error.get("parameters"), dict)
        for name in error["parameters"]
    }
    return named & {"since_id", "next_token"}


def _options(config: SourceConfig, settings: Settings) -> XOptions:
    """The checked options, or a ValueError naming every wrong key, like the other sources."""
    options = parse_options(XOptions, config)
    prefix = f"sources.{config.key}"
    known = {b.key for b in settings.brands}
    problems = [
        f"{prefix}.options.brands: {k!r} is not a brand key (known: {', '.join(sorted(known))})"
        for k in options.brands or ()
        if k not in known
    ]
    if options.brands == ():
        problems.append(f"{prefix}.options.brands: empty; leave it out to search for every brand")
    if not config.secret_env:
        problems.append(
            f"{prefix}.secret_env: required; name the environment variable holding the X bearer "
            'token, e.g. secret_env = "X_BEARER_TOKEN"'
        )
    if problems:
        raise ValueError("; ".join(problems))
    return options


def build(config: SourceConfig, settings: Settings) -> XSource:
    """The X source for a `[[sources]]` entry of type "x": one search query per brand."""
    options = _options(config, settings)
    chosen = options.brands or tuple(b.key for b in settings.brands)
    brands = {b.key: b for b in settings.brands}
    queries = {
        key: brand_query(
            brands[key], options.languages, options.include_retweets, options.include_own_posts
        )
        for key in chosen
    }
    return XSource(
        config.key,
        queries,
        secret_env=config.secret_env,
        matcher=BrandMatcher(settings.brands),
        max_results=options.max_results,
        api_base_url=options.api_base_url,
        timeout_seconds=options.timeout_seconds,
        channel=config.channel or "social",
    )
