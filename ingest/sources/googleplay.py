"""Google Play source: the Google Play Developer API's reviews list for one app (last seven days).

One page per fetch, newest first, until the reviews already read are reached; see docs/sources."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import Field

from config import Settings, SourceConfig
from ingest.base import Batch, IncomingMessage, Rejected
from ingest.http import MalformedResponse, SourceError, client, get_json, secret
from ingest.reviews import Watermark, review_text
from ingest.sources.options import SourceOptions, parse_options

DEFAULT_BASE_URL = "https://androidpublisher.googleapis.com"
# Google does not say how long a page token lives; an older one is not trusted and the run
# starts again from the newest page (the mark has not moved, so nothing is skipped).
PAGE_TOKEN_MAX_AGE = timedelta(minutes=30)


class GooglePlayOptions(SourceOptions):
    """The `options` of a `[[sources]]` entry of type "googleplay"."""

    package_name: str = Field(
        pattern=r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$",
        description="the application id, e.g. nl.voltera.app",
    )
    base_url: str = Field(default=DEFAULT_BASE_URL, pattern=r"^https?://")
    max_results: int = Field(default=100, ge=1, le=100)
    translation_language: str | None = Field(default=None, pattern=r"^[a-z]{2}([-_][A-Za-z]{2})?$")


class BadReview(ValueError):
    """A review that cannot become a message; the text says which field and why."""


@dataclass(frozen=True)
class Progress:
    """The cursor: the newest review read, plus where an unfinished run stands."""

    seen: Watermark = Watermark()
    token: str | None = None  # the next page of an unfinished run,
    token_at: datetime | None = None  # when that token was handed out,
    page: int = 1  # which page of the run it points to (for quarantine references),
    newest: Watermark = Watermark()  # and the newest review this run has read so far

    def dump(self) -> str:
        value: dict[str, Any] = {"seen": self.seen.to_json()}
        if self.token is not None and self.token_at is not None:
            value["run"] = {
                "token": self.token,
                "token_at": self.token_at.isoformat(),
                "page": self.page,
                "newest": self.newest.to_json(),
            }
        return json.dumps(value, sort_keys=True)

    @classmethod
    def load(cls, cursor: str | None) -> Progress:
        if cursor is None:
            return cls()
        value = json.loads(cursor)
        seen = Watermark.from_json(value["seen"])
        run = value.get("run")
        if run is None:
            return cls(seen)
        token_at = datetime.fromisoformat(run["token_at"])
        newest = Watermark.from_json(run["newest"])
        return cls(seen, str(run["token"]), token_at, int(run["page"]), newest)

    def fresh_token(self, now: datetime) -> str | None:
        """The page token to continue with, unless it is too old to trust."""
        if self.token is None or self.token_at is None or now - self.token_at > PAGE_TOKEN_MAX_AGE:
            return None
        return self.token


class GooglePlaySource:
    """Reviews of one app through the Google Play Developer API (a service account's token)."""

    def __init__(
        self,
        key: str,
        options: GooglePlayOptions,
        secret_env: str | None,
        brand: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.key = key
        self.options = options
        self.secret_env = secret_env
        self.brands = (brand,) if brand else ()
        self.clock = clock

    def fetch(self, cursor: str | None) -> Batch:
        """Read the next page of the reviews list: the first page, or the one an earlier fetch
        of this run pointed to."""
        try:
            progress = Progress.load(cursor)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SourceError(
                f"Google Play source {self.key!r}: the stored cursor is not one this source wrote "
                f"({exc}); remove the cursor to read the last week of reviews again"
            ) from None
        now = self.clock()
        # A stale token starts the run over from the newest page; `newest` stays valid.
        token = progress.fresh_token(now)
        page = progress.page if token else 1
        newest = progress.newest
        what = f"Google Play source {self.key!r} (page {page})"
        access_token = secret(self.secret_env, f"Google Play source {self.key!r}")
        params: dict[str, Any] = {"maxResults": self.options.max_results}
        if token:
            params["token"] = token
        if self.options.translation_language:
            params["translationLanguage"] = self.options.translation_language
        with self._client(access_token) as http:
            body = get_json(http, self._path(), what=what, params=params)
        reviews, next_token = _page(body, what)

        messages: list[IncomingMessage] = []
        rejected: list[Rejected] = []
        reached_seen = False
        for number, review in enumerate(reviews, start=1):
            try:
                message = self._message(review)
            except BadReview as exc:
                payload = json.dumps(review, ensure_ascii=False)
                where = f"{self.key} page {page} review {number}"
                rejected.append(Rejected(self.key, where, payload, str(exc)))
                continue
            if progress.seen.covers(message.external_id, message.created_at):
                # Newest first (Google documents the order): the rest was read by an earlier run.
                reached_seen = True
                break
            newest = newest.advance(message.external_id, message.created_at)
            messages.append(message)

        if next_token and not reached_seen:
            following = Progress(progress.seen, next_token, now, page + 1, newest)
            return Batch(messages, rejected, following.dump(), has_more=True)
        # The run is complete: only now does the mark move, so a crash mid-run re-reads.
        done = Progress(progress.seen.merge(newest))
        return Batch(messages, rejected, done.dump(), has_more=False)

    def _client(self, access_token: str) -> httpx.Client:
        http = client(self.options.base_url, {"Authorization": f"Bearer {access_token}"})
        http.timeout = httpx.Timeout(self.options.timeout_seconds)
        return http

    def _path(self) -> str:
        return f"/androidpublisher/v3/applications/{self.options.package_name}/reviews"

    def _message(self, review: Any) -> IncomingMessage:
        if not isinstance(review, dict):
            raise BadReview(f"expected an object, got {type(review).__name__}")
        review_id = review.get("reviewId")
        if not isinstance(review_id, str) or not review_id.strip():
            raise BadReview("reviewId is missing")
        user = _user_comment(review.get("comments"))
        raw_text = user.get("text")
        if not isinstance(raw_text, str):
            raise BadReview("userComment.text is missing")
        # Reviews written with a separate title arrive as "title<TAB>body".
        text = review_text(*raw_text.split("\t", 1)) if "\t" in raw_text else raw_text.strip()
        if not text:
            raise BadReview("userComment.text is empty")
        created_at = _timestamp(user.get("lastModified"))
        rating = user.get("starRating")
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            raise BadReview(f"userComment.starRating is {rating!r}, expected a whole number 1-5")
        language = self.options.translation_language or user.get("reviewerLanguage")
        author = review.get("authorName")
        return IncomingMessage(
            source=self.key,
            external_id=review_id.strip(),
            channel="review",
            text=text,
            created_at=created_at,
            brands=self.brands,
            rating=float(rating),
            author=author if isinstance(author, str) and author else None,
            language=_primary_language(language),
        )


def _user_comment(comments: Any) -> dict[str, Any]:
    """The customer's own comment. Developer replies (developerComment) are skipped: they are
    the organisation talking, not the customer's voice."""
    for comment in comments if isinstance(comments, list) else []:
        if isinstance(comment, dict) and isinstance(comment.get("userComment"), dict):
            return comment["userComment"]  # type: ignore[no-any-return]
    raise BadReview("no userComment among the comments")


def _timestamp(value: Any) -> datetime:
    """A protobuf Timestamp as JSON ({"seconds": "1700000000", "nanos": 0}) as a UTC datetime."""
    if not isinstance(value, dict):
        raise BadReview(f"userComment.lastModified is {value!r}, expected {{seconds, nanos}}")
    try:
        seconds = int(value["seconds"])  # int64 arrives as a JSON string
        nanos = int(value.get("nanos", 0))
        return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=nanos // 1000)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        raise BadReview(
            f"userComment.lastModified is {value!r}, expected {{seconds, nanos}}"
        ) from None


def _primary_language(tag: Any) -> str | None:
    """ "nl", "nl_NL" or "nl-BE" → "nl": the hint is about the language, not the region."""
    if not isinstance(tag, str) or not tag.strip():
        return None
    return tag.strip().replace("_", "-").split("-")[0].lower() or None


def _page(body: Any, what: str) -> tuple[list[Any], str | None]:
    """The reviews of a response and the token of the next page, if there is one."""
    if not isinstance(body, dict):
        raise MalformedResponse(f"{what}: expected a reviews list object, got {body!r:.200}")
    reviews = body.get("reviews", [])  # Google leaves out empty lists: {} is a page of nothing
    if not isinstance(reviews, list):
        raise MalformedResponse(f"{what}: 'reviews' is {reviews!r:.200}, expected a list")
    pagination = body.get("tokenPagination", {})
    if not isinstance(pagination, dict):
        raise MalformedResponse(f"{what}: 'tokenPagination' is {pagination!r:.200}, not an object")
    token = pagination.get("nextPageToken")
    if token is not None and not isinstance(token, str):
        raise MalformedResponse(f"{what}: 'nextPageToken' is {token!r:.200}, expected a string")
    return reviews, token or None


def build(config: SourceConfig, settings: Settings) -> GooglePlaySource:
    """The Google Play source for a `[[sources]]` entry of type "googleplay"."""
    options = parse_options(GooglePlayOptions, config)
    if not config.secret_env:
        raise ValueError(
            f"sources.{config.key}.secret_env: required; name the environment variable that "
            "holds the Google Play Developer API access token"
        )
    return GooglePlaySource(config.key, options, config.secret_env, config.brand)
