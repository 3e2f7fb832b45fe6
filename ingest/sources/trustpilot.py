"""Trustpilot: public service reviews of one or more business units, from the reviews API.

Each run pages back from the newest review until it meets one it has seen before (per unit)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import Field

from config import Settings, SourceConfig
from ingest.base import Batch, Channel, IncomingMessage, Rejected
from ingest.http import MalformedResponse, SourceError, get_json, iso_timestamp, secret
from ingest.reviews import Watermark, review_text
from ingest.sources.options import SourceOptions, parse_options

DEFAULT_BASE_URL = "https://api.trustpilot.com"


class TrustpilotOptions(SourceOptions):
    business_unit_id: str | None = Field(default=None, min_length=1)
    base_url: str = DEFAULT_BASE_URL
    per_page: int = Field(default=100, ge=1, le=100)
    # How far back the very first run reads; later runs stop at the newest review already seen.
    start_days_ago: float = Field(default=30, gt=0, le=3650)


@dataclass(frozen=True)
class BusinessUnit:
    id: str
    brand: str


@dataclass
class Paging:
    """A run that has not reached its stop yet: the page to read next and the newest review
    it has read so far (which becomes the unit's mark once the run is complete)."""

    page: int
    stop: Watermark
    newest: Watermark

    def to_json(self) -> dict[str, Any]:
        return {"page": self.page, "stop": self.stop.to_json(), "newest": self.newest.to_json()}

    @classmethod
    def from_json(cls, raw: Any) -> Paging:
        stop, newest = Watermark.from_json(raw["stop"]), Watermark.from_json(raw["newest"])
        return cls(int(raw["page"]), stop, newest)


@dataclass
class TrustpilotCursor:
    """Per business unit: the newest reviews seen, and the paging state of an unfinished run."""

    seen: dict[str, Watermark]
    paging: dict[str, Paging]

    def dump(self) -> str:
        return json.dumps(
            {
                "seen": {unit: mark.to_json() for unit, mark in self.seen.items()},
                "paging": {unit: state.to_json() for unit, state in self.paging.items()},
            },
            sort_keys=True,
        )

    @classmethod
    def load(cls, value: str | None, source: str) -> TrustpilotCursor:
        if value is None:
            return cls({}, {})
        try:
            raw = json.loads(value)
            return cls(
                {unit: Watermark.from_json(mark) for unit, mark in raw["seen"].items()},
                {unit: Paging.from_json(state) for unit, state in raw["paging"].items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SourceError(
                f"trustpilot source {source}: stored cursor {value[:80]!r} is not a Trustpilot "
                f"cursor ({exc.__class__.__name__}); delete it to start again"
            ) from None


class TrustpilotSource:
    """Reviews of the configured business units, each tagged with the brand it belongs to."""

    def __init__(
        self,
        key: str,
        units: tuple[BusinessUnit, ...],
        api_key_env: str,
        options: TrustpilotOptions,
        channel: Channel = "review",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.key = key
        self.units = units
        self.api_key_env = api_key_env
        self.options = options
        self.channel: Channel = channel
        self.clock = clock

    def fetch(self, cursor: str | None) -> Batch:
        """One page per business unit: the next page of an unfinished run, else the first."""
        state = TrustpilotCursor.load(cursor, self.key)
        # A run that stopped half-way (page limit, crash, rate limit) is finished first, so the
        # newest mark only moves once everything between it and the old mark is stored.
        units = [u for u in self.units if u.id in state.paging] or list(self.units)
        batch = Batch()
        with self._client() as http:
            for unit in units:
                self._read_page(http, unit, state, batch)
        batch.next_cursor = state.dump()
        batch.has_more = bool(state.paging)
        return batch

    def _client(self) -> httpx.Client:
        api_key = secret(self.api_key_env, f"trustpilot source {self.key}")
        return httpx.Client(
            base_url=self.options.base_url,
            headers={"apikey": api_key, "User-Agent": "cxpulse/0.1"},
            timeout=httpx.Timeout(self.options.timeout_seconds),
            follow_redirects=True,
        )

    def _read_page(
        self, http: httpx.Client, unit: BusinessUnit, state: TrustpilotCursor, batch: Batch
    ) -> None:
        paging = state.paging.get(unit.id) or Paging(1, self._stop(unit, state), Watermark())
        what = f"trustpilot source {self.key} (business unit {unit.id}, page {paging.page})"
        params = {
            "perPage": self.options.per_page,
            "page": paging.page,
            "orderBy": "createdat.desc",
        }
        body = get_json(http, f"/v1/business-units/{unit.id}/reviews", what=what, params=params)
        reviews, has_next_page = _page(body, what)
        reached_seen = False
        for raw in reviews:
            try:
                review_id, created_at = _place(raw)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                # Without a time it cannot be placed; past the stop it was quarantined before.
                if not reached_seen:
                    batch.rejected.append(_rejected(self.key, unit, raw, exc))
                continue
            if paging.stop.covers(review_id, created_at):
                reached_seen = True
                continue
            # A broken review moves the mark too, so it is quarantined once, not every run.
            paging.newest = paging.newest.advance(review_id, created_at)
            try:
                batch.messages.append(self._message(raw, unit, review_id, created_at))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                batch.rejected.append(_rejected(self.key, unit, raw, exc))
        if reached_seen or not has_next_page or not reviews:
            seen = state.seen.get(unit.id, Watermark()).merge(paging.newest)
            if seen.at is not None:
                state.seen[unit.id] = seen
            state.paging.pop(unit.id, None)
        else:
            paging.page += 1
            state.paging[unit.id] = paging

    def _stop(self, unit: BusinessUnit, state: TrustpilotCursor) -> Watermark:
        """Where a new run stops: the newest reviews seen, or the start window on the first run."""
        seen = state.seen.get(unit.id)
        if seen is not None:
            return seen
        return Watermark(self.clock() - timedelta(days=self.options.start_days_ago))

    def _message(
        self, raw: Any, unit: BusinessUnit, review_id: str, created_at: datetime
    ) -> IncomingMessage:
        stars = raw["stars"]
        if isinstance(stars, bool) or not isinstance(stars, int | float) or not 1 <= stars <= 5:
            raise ValueError(f"stars {stars!r} is not a number from 1 to 5")
        title, text = raw.get("title"), raw.get("text")
        consumer = raw.get("consumer") or {}
        language = raw.get("language")
        return IncomingMessage(
            source=self.key,
            external_id=review_id,
            channel=self.channel,
            text=review_text(
                title if isinstance(title, str) else "", text if isinstance(text, str) else ""
            ),
            created_at=created_at,
            brands=(unit.brand,),
            rating=float(stars),
            author=consumer.get("displayName"),
            # Trustpilot sends "nl" but also "nl-NL"; scoring wants the bare language.
            language=language.split("-")[0].lower() if isinstance(language, str) else None,
        )


def _page(body: Any, what: str) -> tuple[list[Any], bool]:
    """The reviews on a page and whether a next page exists, or MalformedResponse."""
    if not isinstance(body, dict) or not isinstance(body.get("reviews"), list):
        raise MalformedResponse(f"{what}: expected an object with a 'reviews' list")
    links = body.get("links", [])
    if not isinstance(links, list):
        raise MalformedResponse(f"{what}: 'links' is not a list")
    has_next = any(isinstance(link, dict) and link.get("rel") == "next-page" for link in links)
    return body["reviews"], has_next


def _place(raw: Any) -> tuple[str, datetime]:
    """A review's id and creation time: where it stands in the newest-first list."""
    review_id = raw["id"]
    if not isinstance(review_id, str) or not review_id:
        raise ValueError(f"id {review_id!r} is not a review id")
    return review_id, iso_timestamp(raw["createdAt"], "createdAt")


def _rejected(source: str, unit: BusinessUnit, raw: Any, exc: Exception) -> Rejected:
    review_id = raw.get("id") if isinstance(raw, dict) else None
    error = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
    return Rejected(
        source=source,
        reference=f"trustpilot business unit {unit.id} review {review_id or '?'}",
        payload=json.dumps(raw, ensure_ascii=False, default=str),
        error=error,
    )


def build(config: SourceConfig, settings: Settings) -> TrustpilotSource:
    """The Trustpilot source for a `[[sources]]` entry of type "trustpilot"."""
    options = parse_options(TrustpilotOptions, config)
    if not config.secret_env:
        raise ValueError(
            f"sources.{config.key}.secret_env: name the environment variable that holds the "
            "Trustpilot API key"
        )
    if options.business_unit_id:
        brand = config.brand or settings.own_brand.key
        units: tuple[BusinessUnit, ...] = (BusinessUnit(options.business_unit_id, brand),)
    else:
        units = tuple(
            BusinessUnit(b.source_ids[config.key], b.key)
            for b in settings.brands
            if b.source_ids.get(config.key)
        )
    if not units:
        raise ValueError(
            f"sources.{config.key}.options.business_unit_id: no business unit to read; set it, "
            f'or give brands their unit as source_ids = {{ {config.key} = "<business unit id>" }}'
        )
    return TrustpilotSource(
        config.key, units, config.secret_env, options, channel=config.channel or "review"
    )
