"""HTTP for pulling sources: httpx with timeouts, retries on 5xx/timeouts (tenacity), and
rate limits turned into a `RateLimited` error that says when to come back.

The cursor never moves on an error: the scheduler backs off and the next run re-reads."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=10.0)


class SourceError(RuntimeError):
    """A source could not fetch; the message names the source and what went wrong."""


class RateLimited(SourceError):
    """The API said "too many requests"; `retry_after` is how many seconds to wait."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MalformedResponse(SourceError):
    """The API answered, but not in the documented format."""


class _Transient(Exception):
    """5xx or network trouble: worth a quick retry inside one run."""


def secret(env_name: str | None, what: str) -> str:
    """The value of a secret's environment variable, or a clear error naming the variable."""
    if not env_name:
        raise SourceError(f"{what}: no secret_env configured; name the environment variable")
    value = os.environ.get(env_name)
    if not value:
        raise SourceError(f"{what}: environment variable {env_name} is not set")
    return value


def retry_after_seconds(response: httpx.Response, now: datetime | None = None) -> float:
    """Seconds to wait from Retry-After (seconds or HTTP date) or an x-rate-limit-reset epoch."""
    now = now or datetime.now(UTC)
    header = response.headers.get("retry-after")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                return max(0.0, (parsedate_to_datetime(header) - now).total_seconds())
            except (TypeError, ValueError):
                pass
    reset = response.headers.get("x-rate-limit-reset") or response.headers.get("ratelimit-reset")
    if reset:
        try:
            value = float(reset)
            # Epoch seconds (X) or seconds-from-now (IETF draft RateLimit-Reset).
            return max(0.0, value - now.timestamp()) if value > 1e9 else max(0.0, value)
        except ValueError:
            pass
    return 60.0


def iso_timestamp(value: Any, field: str) -> datetime:
    """An API's ISO 8601 time with a zone, as UTC; a ValueError naming the field otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"{field} {value!r} is not an ISO 8601 string")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{field} {value!r} has no time zone")
    return moment.astimezone(UTC)


def client(base_url: str, headers: Mapping[str, str] | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        headers={"User-Agent": "cxpulse/0.1", **(headers or {})},
        timeout=DEFAULT_TIMEOUT,
        follow_redirects=True,
    )


def get_json(
    http: httpx.Client, url: str, *, what: str, params: Mapping[str, Any] | None = None
) -> Any:
    """GET and parse JSON; retries 5xx and timeouts 3 times, raises RateLimited on 429."""
    try:
        return _get_json(http, url, what, params)
    except _Transient as exc:
        raise SourceError(f"{what}: {exc} (after 3 attempts)") from None


@retry(
    retry=retry_if_exception_type(_Transient),
    stop=stop_after_attempt(3),
    wait=wait_exponential(multiplier=0.5, max=4),
    reraise=True,
)
def _get_json(http: httpx.Client, url: str, what: str, params: Mapping[str, Any] | None) -> Any:
    try:
        response = http.get(url, params=params)
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        raise _Transient(f"{exc.__class__.__name__} for {url}") from None
    if response.status_code == 429:
        wait = retry_after_seconds(response)
        raise RateLimited(f"{what}: rate limited (HTTP 429); retry in {wait:.0f} s", wait)
    if response.status_code >= 500:
        raise _Transient(f"HTTP {response.status_code} for {response.request.url}")
    if response.status_code >= 400:
        raise SourceError(
            f"{what}: HTTP {response.status_code} for {response.request.url}: {response.text[:200]}"
        )
    try:
        return response.json()
    except json.JSONDecodeError as exc:
        raise MalformedResponse(
            f"{what}: response from {response.request.url} is not JSON ({exc.msg} at {exc.pos})"
        ) from None
