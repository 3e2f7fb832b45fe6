"""HTTP push endpoint: chat platforms and other systems POST messages to /api/v1/messages.

Per-source bearer tokens; every item is validated on its own, stored once or quarantined."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, request
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic_core import ErrorDetails
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from config import SourceConfig
from ingest.base import Batch, Channel, IncomingMessage, Rejected, TurnRole
from ingest.http import SourceError, secret
from ingest.pipeline import MAX_TEXT_CHARS, Normaliser, store
from storage.db import session_scope
from storage.queries import brands as all_brands

log = logging.getLogger(__name__)

MESSAGES_PATH = "/api/v1/messages"
OPENAPI_PATH = "/api/v1/openapi.json"
OPENAPI_FILE = Path(__file__).with_name("push_openapi.json")
MAX_BODY_BYTES = 1024 * 1024
MAX_ITEMS = 1000


class PushedMessage(BaseModel):
    """One item of a push request; the field names are the public API (push_openapi.json)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    external_id: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    created_at: AwareDatetime
    channel: Channel | None = None
    brand: str | None = Field(default=None, max_length=40)
    # strict: JSON true/false must not turn into a 1.0/0.0 rating
    rating: float | None = Field(default=None, strict=True, allow_inf_nan=False)
    language: str | None = Field(default=None, max_length=10)
    conversation_id: str | None = Field(default=None, max_length=200)
    role: TurnRole | None = None
    author: str | None = Field(default=None, max_length=200)

    @field_validator("created_at", mode="before")
    @classmethod
    def _iso_string(cls, value: Any) -> Any:
        # Lax parsing would take a bare number as a Unix time; the contract is an ISO string.
        if not isinstance(value, str):
            raise ValueError("expected an ISO 8601 string with a time zone")
        return value


def _reason(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required but missing"
    if kind == "extra_forbidden":
        return f"unknown field (known: {', '.join(PushedMessage.model_fields)})"
    if kind == "timezone_aware":
        return "has no time zone; add one, e.g. 2026-11-20T10:00:00+01:00 or ...Z"
    if kind.startswith("datetime"):
        return f"{error['input']!r} is not an ISO 8601 date/time ({error['msg']})"
    if kind == "string_too_short":
        return "is empty"
    if kind == "string_too_long":
        return f"is longer than {error['ctx']['max_length']} characters"
    if kind == "literal_error":
        return f"expected {error['ctx']['expected']}, got {error['input']!r}"
    return str(error["msg"]).removeprefix("Value error, ")


def describe(index: int, exc: ValidationError) -> str:
    """Every problem of one item, each prefixed with its JSON path, e.g. messages[3].text."""
    return "; ".join(
        f"messages[{index}]" + "".join(f".{part}" for part in e["loc"]) + f": {_reason(e)}"
        for e in exc.errors(include_url=False)
    )


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False), status, headers, mimetype="application/json"
    )


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json(status, {"error": message}, headers)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class _Refused(Exception):
    """The request as a whole cannot be taken; becomes a JSON error response."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _read_items() -> list[Any]:
    """The `messages` array of the request body, or _Refused with the HTTP status to answer."""
    if request.mimetype != "application/json":
        raise _Refused(415, "Content-Type must be application/json")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise _Refused(413, f"body is larger than {MAX_BODY_BYTES} bytes; split the batch")
    # Read one byte past the limit: a chunked body without Content-Length is cut off there.
    body = request.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise _Refused(413, f"body is larger than {MAX_BODY_BYTES} bytes; split the batch")
    try:
        document = json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError as exc:
        raise _Refused(400, f"body is not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise _Refused(
            400,
            f"body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno} "
            f"(character {exc.pos})",
        ) from None
    except ValueError as exc:
        raise _Refused(400, f"body is not valid JSON: {exc}") from None
    items = document.get("messages") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise _Refused(400, 'body must be a JSON object with a "messages" array')
    if len(items) > MAX_ITEMS:
        raise _Refused(
            413, f"{len(items)} messages in one request; the limit is {MAX_ITEMS}, split the batch"
        )
    return items


def push_blueprint(
    engine: Engine, normaliser: Normaliser, sources: Sequence[SourceConfig]
) -> Blueprint:
    """POST /api/v1/messages for the enabled sources of type "push", and its OpenAPI document.

    Each source's token is the value of its `secret_env` variable, looked up per request; one
    that is not set is logged here, at start-up, and that source accepts nothing."""
    push_sources = [s for s in sources if s.type == "push" and s.enabled]
    tokens: dict[str, str] = {}
    for source in push_sources:
        try:
            token = secret(source.secret_env, f"push source {source.key}")
        except SourceError as exc:
            log.warning("%s; it cannot receive messages until it is set", exc)
            continue
        if token in tokens:
            log.warning(
                "push sources %s and %s have the same token; everything goes to %s",
                tokens[token],
                source.key,
                tokens[token],
            )
        tokens.setdefault(token, source.key)
    openapi = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    blueprint = Blueprint("push", __name__)

    def authenticated() -> SourceConfig | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        # Digests have one length, so the comparison time does not even reveal token lengths.
        given = hashlib.sha256(token.strip().encode("utf-8")).digest()
        found = None
        for source in push_sources:
            try:
                expected = secret(source.secret_env, f"push source {source.key}")
            except SourceError:
                continue
            # Compare against every source, not stopping at a match: timing says nothing.
            digest = hashlib.sha256(expected.encode("utf-8")).digest()
            if hmac.compare_digest(given, digest) and found is None:
                found = source
        return found

    @blueprint.post(MESSAGES_PATH)
    def receive() -> Response:
        source = authenticated()
        if source is None:
            log.warning("push: refused a request from %s: no valid token", request.remote_addr)
            return _error(
                401,
                "missing or invalid bearer token",
                {"WWW-Authenticate": 'Bearer realm="cxpulse"'},
            )
        try:
            items = _read_items()
        except _Refused as exc:
            log.info("push %s: refused (%d): %s", source.key, exc.status, exc)
            return _error(exc.status, str(exc))
        try:
            return _json(202, _take(engine, normaliser, source, items))
        except SQLAlchemyError:
            log.exception("push %s: storing %d messages failed", source.key, len(items))
            return _error(503, "storage is unavailable; retry later", {"Retry-After": "5"})

    @blueprint.get(OPENAPI_PATH)
    def openapi_document() -> Response:
        return _json(200, openapi)

    return blueprint


def _take(
    engine: Engine,
    normaliser: Normaliser,
    source: SourceConfig,
    items: list[Any],
) -> dict[str, Any]:
    """Validate each item, store the good ones and quarantine the rest; the 202 response body."""
    with session_scope(engine) as session:
        brands = {brand.key for brand in all_brands(session)}
    results: list[dict[str, Any]] = []
    batch = Batch()

    def reject(index: int, raw: Any, external_id: str | None, error: str) -> None:
        results.append(
            {"index": index, "external_id": external_id, "status": "rejected", "error": error}
        )
        reference = f"{MESSAGES_PATH} messages[{index}] external_id={external_id!r}"[:500]
        payload = json.dumps(raw, ensure_ascii=False, default=str)
        batch.rejected.append(Rejected(source.key, reference, payload, error))

    for index, raw in enumerate(items):
        raw_id = raw.get("external_id") if isinstance(raw, dict) else None
        external_id = (raw_id.strip() or None) if isinstance(raw_id, str) else None
        if not isinstance(raw, dict):
            reject(index, raw, None, f"messages[{index}]: expected a JSON object")
            continue
        try:
            item = PushedMessage.model_validate(raw)
        except ValidationError as exc:
            reject(index, raw, external_id, describe(index, exc))
            continue
        if item.brand is not None and item.brand not in brands:
            known = ", ".join(sorted(brands))
            error = f"messages[{index}].brand: {item.brand!r} is not a brand key (known: {known})"
            reject(index, raw, item.external_id, error)
            continue
        brand = item.brand or source.brand
        message = IncomingMessage(
            source=source.key,
            external_id=item.external_id,
            channel=item.channel or source.channel or "chat",
            text=item.text,
            created_at=item.created_at.astimezone(UTC),
            brands=(brand,) if brand else (),
            rating=item.rating,
            conversation_id=item.conversation_id,
            turn_role=item.role,
            author=item.author,
            language=item.language,
        )
        # The pipeline would quarantine it too, but then this response could not say so.
        problem = normaliser.problem(message)
        if problem:
            reject(index, raw, item.external_id, f"messages[{index}]: {problem}")
            continue
        batch.messages.append(message)
        results.append({"index": index, "external_id": item.external_id, "status": "stored"})

    outcome = store(engine, source.key, batch, normaliser)
    # The insert itself says which ids were new, so this is exact even with concurrent pushes;
    # an id repeated inside the batch is stored once, its later copies are duplicates.
    first_seen: set[str] = set()
    for result in results:
        if result["status"] == "stored":
            new = result["external_id"] in outcome.inserted_ids
            if not new or result["external_id"] in first_seen:
                result["status"] = "duplicate"
            first_seen.add(result["external_id"])

    counts = {status: 0 for status in ("stored", "duplicate", "rejected")}
    for result in results:
        counts[result["status"]] += 1
    log.info(
        "push %s: %d stored, %d duplicate, %d rejected",
        source.key,
        counts["stored"],
        counts["duplicate"],
        counts["rejected"],
    )
    return {
        "accepted": counts["stored"],
        "duplicates": counts["duplicate"],
        "rejected": counts["rejected"],
        "results": results,
    }
