"""File imports (CSV, JSONL, JSON array) with a column mapping, and a watched drop folder.

Every row either becomes a message or lands in quarantine with file name, line number and reason."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.base import Batch, IncomingMessage, Rejected

# Our field → the column it is read from by default; override any of them with `mapping`.
DEFAULT_MAPPING: dict[str, str] = {
    "external_id": "id",
    "text": "text",
    "created_at": "created_at",
    "channel": "channel",
    "brand": "brand",
    "rating": "rating",
    "language": "language",
    "conversation_id": "conversation_id",
    "turn_role": "role",
    "author": "author",
}
CHANNELS = ("review", "social", "chat")
ROLES = ("customer", "agent", "bot")


class RowError(ValueError):
    """A row that cannot become a message; the text says which field and why."""


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str, str | None]]:
    """(line number, record or None, raw text, parse error) for every record in the file."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            for record in reader:
                raw = json.dumps(record, ensure_ascii=False)
                if None in record:  # more cells than header columns
                    yield reader.line_num, None, raw, "row has more cells than the header"
                else:
                    yield reader.line_num, record, raw, None
    elif suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield (
                        number,
                        None,
                        line.rstrip("\n"),
                        f"not valid JSON: {exc.msg} at column {exc.colno}",
                    )
                    continue
                if isinstance(record, dict):
                    yield number, record, line.rstrip("\n"), None
                else:
                    yield number, None, line.rstrip("\n"), "expected a JSON object"
    elif suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        items = data if isinstance(data, list) else data.get("messages", [])
        for number, record in enumerate(items, start=1):
            raw = json.dumps(record, ensure_ascii=False)
            if isinstance(record, dict):
                yield number, record, raw, None
            else:
                yield number, None, raw, "expected a JSON object"
    else:
        raise ValueError(
            f"{path.name}: unsupported file type {suffix!r}; use .csv, .jsonl or .json"
        )


def _parse_time(value: Any) -> datetime:
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), UTC)
    text = str(value).strip()
    if not text:
        raise RowError("created_at is empty")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RowError(f"created_at {text!r} is not an ISO 8601 date/time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_record(
    record: Mapping[str, Any],
    *,
    source: str,
    mapping: Mapping[str, str],
    default_channel: str,
    default_brand: str | None,
    now: datetime,
    fallback_id: str,
) -> IncomingMessage:
    def get(field: str) -> Any:
        value = record.get(mapping[field])
        return value.strip() if isinstance(value, str) else value

    text = get("text")
    if not text:
        raise RowError(f"column {mapping['text']!r} (text) is missing or empty")
    channel = get("channel") or default_channel
    if channel not in CHANNELS:
        raise RowError(f"channel {channel!r} is not one of {', '.join(CHANNELS)}")
    role = get("turn_role") or None
    if role is not None and role not in ROLES:
        raise RowError(f"role {role!r} is not one of {', '.join(ROLES)}")
    rating_value = get("rating")
    rating = None
    if rating_value not in (None, ""):
        try:
            rating = float(rating_value)
        except (TypeError, ValueError):
            raise RowError(f"rating {rating_value!r} is not a number") from None
    created = get("created_at")
    brand = get("brand") or default_brand
    return IncomingMessage(
        source=source,
        external_id=str(get("external_id") or fallback_id),
        channel=channel,
        text=str(text),
        created_at=_parse_time(created) if created not in (None, "") else now,
        brands=(brand,) if brand else (),
        rating=rating,
        conversation_id=str(get("conversation_id")) if get("conversation_id") else None,
        turn_role=role,
        author=get("author") or None,
        language=get("language") or None,
    )


def read_file(
    path: Path,
    *,
    source: str = "file",
    mapping: Mapping[str, str] | None = None,
    channel: str = "review",
    brand: str | None = None,
) -> Iterator[IncomingMessage | Rejected]:
    """Each record of the file as a message, or as a Rejected naming file:line and the reason.

    Rows without an id get one derived from the file's content hash and line, so re-importing
    the same file stores nothing twice."""
    fields = {**DEFAULT_MAPPING, **(mapping or {})}
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    now = datetime.now(UTC)
    for number, record, raw, error in _records(path):
        where = f"{path.name}:{number}"
        if record is None:
            yield Rejected(source, where, raw, error or "unreadable")
            continue
        try:
            yield parse_record(
                record,
                source=source,
                mapping=fields,
                default_channel=channel,
                default_brand=brand,
                now=now,
                fallback_id=f"{digest}:{number}",
            )
        except RowError as exc:
            yield Rejected(source, where, raw, str(exc))


def batches(items: Iterator[IncomingMessage | Rejected], size: int = 1000) -> Iterator[Batch]:
    batch = Batch()
    for item in items:
        (batch.rejected if isinstance(item, Rejected) else batch.messages).append(item)  # type: ignore[arg-type]
        if len(batch.messages) + len(batch.rejected) >= size:
            yield batch
            batch = Batch()
    if batch.messages or batch.rejected:
        yield batch


def move_processed(path: Path) -> Path:
    """Move an imported file into `processed/` beside it, never overwriting an earlier one."""
    target_dir = path.parent / "processed"
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        target = target_dir / f"{path.stem}.{datetime.now(UTC):%Y%m%dT%H%M%S%f}{path.suffix}"
    shutil.move(str(path), target)
    return target
