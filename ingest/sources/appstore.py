"""App Store source: Apple's public customer-reviews RSS feed (JSON) for one app, per country.

One page per fetch, newest first, until the reviews already read are reached; see docs/sources."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import Field, field_validator

from config import Settings, SourceConfig
from ingest.base import Batch, IncomingMessage, Rejected
from ingest.http import MalformedResponse, SourceError, client, get_json
from ingest.reviews import Watermark, review_text
from ingest.sources.options import SourceOptions, parse_options

DEFAULT_BASE_URL = "https://itunes.apple.com"
FEED_PAGES = 10  # Apple serves at most ten pages (of 50 reviews) per app and country

# A language hint only where one language clearly dominates the storefront's reviews; elsewhere
# (be, ch, ca, lu, …) the language detector decides on its own.
COUNTRY_LANGUAGE = {
    "nl": "nl",
    "sr": "nl",
    "gb": "en",
    "us": "en",
    "ie": "en",
    "au": "en",
    "nz": "en",
    "de": "de",
    "at": "de",
    "fr": "fr",
    "es": "es",
    "it": "it",
    "pt": "pt",
    "dk": "da",
    "se": "sv",
    "no": "no",
    "pl": "pl",
}
_PAGE_IN_LINK = re.compile(r"/page=(\d+)/")


class AppStoreOptions(SourceOptions):
    """The `options` of a `[[sources]]` entry of type "appstore"."""

    app_id: str = Field(pattern=r"^\d{1,15}$", description="the number in apps.apple.com/…/id123")
    countries: tuple[str, ...] = Field(min_length=1, description="storefronts, e.g. ['nl', 'be']")
    base_url: str = Field(default=DEFAULT_BASE_URL, pattern=r"^https?://")
    max_pages: int = Field(default=FEED_PAGES, ge=1, le=FEED_PAGES)

    @field_validator("app_id", mode="before")
    @classmethod
    def _app_id_as_text(cls, value: Any) -> Any:
        # TOML users write the id as a number as often as a string; both mean the same app.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("countries")
    @classmethod
    def _country_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        codes = tuple(code.strip().lower() for code in value)
        for code in codes:
            if not re.fullmatch(r"[a-z]{2}", code):
                raise ValueError(f"{code!r} is not a two-letter country code like 'nl' or 'gb'")
        if len(set(codes)) != len(codes):
            raise ValueError("a country is listed twice")
        return codes


class BadEntry(ValueError):
    """A feed entry that cannot become a message; the text says which field and why."""


@dataclass(frozen=True)
class Progress:
    """The cursor: per country the newest review read, plus where an unfinished run stands."""

    seen: dict[str, Watermark] = field(default_factory=dict)
    country: str | None = None  # the country an unfinished run is reading,
    page: int = 1  # the next page to read there,
    newest: Watermark = Watermark()  # and the newest review this run has read there so far

    def dump(self) -> str:
        value: dict[str, Any] = {
            "seen": {c: mark.to_json() for c, mark in sorted(self.seen.items()) if mark.at},
        }
        if self.country is not None:
            value["run"] = {
                "country": self.country,
                "page": self.page,
                "newest": self.newest.to_json(),
            }
        return json.dumps(value, sort_keys=True)

    @classmethod
    def load(cls, cursor: str | None) -> Progress:
        if cursor is None:
            return cls()
        value = json.loads(cursor)
        seen = {str(c): Watermark.from_json(mark) for c, mark in value["seen"].items()}
        run = value.get("run")
        if run is None:
            return cls(seen)
        return cls(seen, str(run["country"]), int(run["page"]), Watermark.from_json(run["newest"]))


class AppStoreSource:
    """Reviews of one app from Apple's customer-reviews feed, in one or more storefronts."""

    def __init__(self, key: str, options: AppStoreOptions, brand: str | None = None) -> None:
        self.key = key
        self.options = options
        self.brands = (brand,) if brand else ()

    def fetch(self, cursor: str | None) -> Batch:
        """Read the next page: the first page of the next country, or the next page of this one."""
        try:
            progress = Progress.load(cursor)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SourceError(
                f"App Store source {self.key!r}: the stored cursor is not one this source wrote "
                f"({exc}); remove the cursor to read the feed again from its newest page"
            ) from None
        countries = self.options.countries
        if progress.country in countries:
            country, page, newest = progress.country, progress.page, progress.newest
        else:  # a new run, or the countries were reconfigured while a run was unfinished
            country, page, newest = countries[0], 1, Watermark()
        what = f"App Store source {self.key!r} ({country}, page {page})"
        with self._client() as http:
            body = get_json(http, self._path(country, page), what=what)
        entries, last_page = _page(body, what)

        seen = progress.seen.get(country, Watermark())
        messages: list[IncomingMessage] = []
        rejected: list[Rejected] = []
        reviews = 0
        reached_seen = False
        for number, entry in enumerate(entries, start=1):
            try:
                message = self._message(entry, country)
            except BadEntry as exc:
                reviews += 1
                payload = json.dumps(entry, ensure_ascii=False)
                where = f"{self.key} {country} page {page} entry {number}"
                rejected.append(Rejected(self.key, where, payload, str(exc)))
                continue
            if message is None:
                continue
            reviews += 1
            if seen.covers(message.external_id, message.created_at):
                # Newest first: everything after this was read by an earlier run. Stopping here
                # also keeps broken entries below the mark from being quarantined again each run.
                reached_seen = True
                break
            newest = newest.advance(message.external_id, message.created_at)
            messages.append(message)

        last = min(self.options.max_pages, last_page or FEED_PAGES)
        if not (reached_seen or reviews == 0 or page >= last):
            following = Progress(progress.seen, country, page + 1, newest)
            return Batch(messages, rejected, following.dump(), has_more=True)
        # This country is done: only now does its mark move, so a crash mid-country re-reads.
        seen_now = {**progress.seen, country: seen.merge(newest)}
        index = countries.index(country)
        if index + 1 < len(countries):
            following = Progress(seen_now, countries[index + 1], 1, Watermark())
            return Batch(messages, rejected, following.dump(), has_more=True)
        return Batch(messages, rejected, Progress(seen_now).dump(), has_more=False)

    def _client(self) -> httpx.Client:
        http = client(self.options.base_url)
        http.timeout = httpx.Timeout(self.options.timeout_seconds)
        return http

    def _path(self, country: str, page: int) -> str:
        app_id = self.options.app_id
        return f"/{country}/rss/customerreviews/page={page}/id={app_id}/sortby=mostrecent/json"

    def _message(self, entry: Any, country: str) -> IncomingMessage | None:
        """The review in a feed entry; None for the app's own metadata entry of older feeds."""
        if not isinstance(entry, dict):
            raise BadEntry(f"expected an object, got {type(entry).__name__}")
        if "im:rating" not in entry and "im:name" in entry:
            return None
        review_id = _label(entry, "id")
        if not review_id:
            raise BadEntry("id.label is missing")
        rating_label = _label(entry, "im:rating")
        if rating_label is None or not rating_label.isdigit() or not 1 <= int(rating_label) <= 5:
            raise BadEntry(f"im:rating.label is {rating_label!r}, expected a whole number 1-5")
        updated = _label(entry, "updated")
        try:
            created_at = datetime.fromisoformat(updated or "")
        except ValueError:
            raise BadEntry(f"updated.label is {updated!r}, expected an ISO 8601 time") from None
        if created_at.tzinfo is None:
            raise BadEntry(f"updated.label {updated!r} has no time zone")
        text = review_text(_label(entry, "title") or "", _label(entry, "content") or "")
        if not text:
            raise BadEntry("title.label and content.label are both empty")
        author = entry.get("author")
        return IncomingMessage(
            source=self.key,
            external_id=review_id,
            channel="review",
            text=text,
            created_at=created_at.astimezone(UTC),
            brands=self.brands,
            rating=float(rating_label),
            author=_label(author, "name") if isinstance(author, dict) else None,
            language=COUNTRY_LANGUAGE.get(country),
        )


def _label(item: dict[str, Any], key: str) -> str | None:
    """The text of an RSS-in-JSON element: `{"key": {"label": "..."}}`."""
    element = item.get(key)
    label = element.get("label") if isinstance(element, dict) else None
    return label.strip() if isinstance(label, str) else None


def _page(body: Any, what: str) -> tuple[list[Any], int | None]:
    """The entries of a feed page and the number of its last page, if the feed says."""
    feed = body.get("feed") if isinstance(body, dict) else None
    if not isinstance(feed, dict):
        raise MalformedResponse(
            f"{what}: expected an object with a 'feed' object, got {body!r:.200}"
        )
    entries = feed.get("entry", [])  # no "entry" at all: no reviews on this page
    if isinstance(entries, dict):  # the XML-to-JSON conversion drops the list for one entry
        entries = [entries]
    if not isinstance(entries, list):
        raise MalformedResponse(f"{what}: feed.entry is {entries!r:.200}, expected a list")
    links = feed.get("link", [])
    for link in links if isinstance(links, list) else [links]:
        attributes = link.get("attributes") if isinstance(link, dict) else None
        if isinstance(attributes, dict) and attributes.get("rel") == "last":
            found = _PAGE_IN_LINK.search(str(attributes.get("href", "")))
            return entries, int(found.group(1)) if found else None
    return entries, None


def build(config: SourceConfig, settings: Settings) -> AppStoreSource:
    """The App Store source for a `[[sources]]` entry of type "appstore"."""
    return AppStoreSource(config.key, parse_options(AppStoreOptions, config), config.brand)
