"""Replay: plays a real CSV / JSONL / JSON file as a live stream, at a fixed rate or at its own
timestamps sped up, so a demo wall shows real customer words arriving one by one.

The cursor is the next position in the play order and the wall-clock moment playback started."""

from __future__ import annotations

import csv
import json
import logging
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from pydantic import Field, field_validator, model_validator

from config import Settings, SourceConfig
from ingest.base import Batch, IncomingMessage, Rejected
from ingest.files import read_file
from ingest.http import SourceError
from ingest.sources.file_options import FileOptions, file_options

log = logging.getLogger(__name__)


class ReplayOptions(FileOptions):
    rate_per_minute: float | None = Field(default=None, gt=0)  # default 30 when no speed
    speed: float | None = Field(default=None, gt=0)  # play the file's own times this much faster
    language: str | None = Field(default=None, max_length=10)  # hint for rows without one
    loop: bool = Field(default=False, strict=True)
    start_at: int | datetime = 0  # position in play order, or (with speed) a moment
    catch_up_minutes: float = Field(default=10, ge=0)
    max_batch: int = Field(default=500, ge=1)

    @field_validator("start_at")
    @classmethod
    def _start(cls, value: int | datetime) -> int | datetime:
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if value < 0:
            raise ValueError("must not be negative")
        return value

    @model_validator(mode="after")
    def _one_pace(self) -> ReplayOptions:
        if self.rate_per_minute is not None and self.speed is not None:
            raise ValueError("speed: give rate_per_minute or speed, not both")
        if isinstance(self.start_at, datetime) and self.speed is None:
            raise ValueError("start_at: a date/time needs speed (rows with timestamps)")
        return self


class ReplayError(SourceError):
    """The replay file cannot be played; the message names the file and what to fix."""


class ReplayCursorError(ValueError):
    """The stored cursor is not one a replay source wrote; reset this source's cursor."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ReplayCursor:
    file: str  # a different file starts a new playback
    next: int  # position in the play order (counting on through loop rounds)
    started: datetime  # wall-clock moment position 0 was due

    def dump(self) -> str:
        return json.dumps(
            {"file": self.file, "next": self.next, "started": self.started.isoformat()}
        )

    @classmethod
    def load(cls, value: str, source: str) -> ReplayCursor:
        try:
            data = json.loads(value)
            cursor = cls(
                str(data["file"]), int(data["next"]), datetime.fromisoformat(data["started"])
            )
        except (ValueError, TypeError, KeyError):
            raise ReplayCursorError(
                f"{source}: stored cursor {value[:200]!r} is not a replay cursor; "
                "reset this source's cursor"
            ) from None
        if cursor.next < 0 or cursor.started.tzinfo is None:
            raise ReplayCursorError(f"{source}: stored cursor {value[:200]!r} is inconsistent")
        return cursor


@dataclass(frozen=True)
class _Track:
    """The file's playable rows in play order, and the rows that could not be played."""

    messages: tuple[IncomingMessage, ...]
    seconds: tuple[float, ...]  # each row's own time, seconds after the earliest (speed mode)
    rejected: tuple[Rejected, ...]


class ReplaySource:
    """Plays one file as if its rows were arriving now.

    With `speed`, rows play at their own `created_at` times, `speed` times faster; otherwise
    at `rate_per_minute`. Each message is stamped with the moment it is played, so the wall
    sees it as live; its external id is `{file stem}:{row id}` (`:loop{n}` from round 1 on)."""

    def __init__(
        self,
        key: str,
        options: ReplayOptions,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.key = key
        self.options = options
        self.path = options.file_path()
        self.rate_per_minute = options.rate_per_minute or 30.0
        self.speed = options.speed
        self.catch_up = options.catch_up_minutes * 60
        self.max_batch = options.max_batch
        self._clock = clock
        self._track: _Track | None = None
        self._track_stat: tuple[int, int] | None = None
        self._first = 0

    def fetch(self, cursor: str | None) -> Batch:
        track = self._load()
        now = self._clock()
        state = ReplayCursor.load(cursor, self.key) if cursor else None
        batch = Batch()
        if state is None or state.file != self.path.name:
            state = ReplayCursor(self.path.name, 0, now)
            # Rows that cannot be played are quarantined once, when playback starts.
            batch.rejected = list(track.rejected)
        if not track.messages:
            if batch.rejected:
                batch.next_cursor = state.dump()
                return batch  # store the reasons first; the next run reports the error
            raise ReplayError(
                f"{self.key}: {self.path} has no playable rows; check options.mapping "
                "against the file's columns (the quarantine has each row's reason)"
            )
        end = None if self.options.loop else len(track.messages) - self._first
        if end is not None and state.next >= end:
            log.debug("%s: replay of %s finished; set loop = true to go on", self.key, self.path)
            return batch
        started = state.started
        elapsed = (now - started).total_seconds()
        if elapsed - self._offset(state.next) > self.catch_up:
            # Ingest was stopped for a while: go on from the next row as if paused, rather
            # than flooding the wall with everything that "would have" arrived meanwhile.
            started = now - timedelta(seconds=self._offset(state.next))
            elapsed = self._offset(state.next)
        position = state.next
        while (
            len(batch.messages) < self.max_batch
            and (end is None or position < end)
            and self._offset(position) <= elapsed
        ):
            batch.messages.append(self._play(position, started))
            position += 1
        more_due = (end is None or position < end) and self._offset(position) <= elapsed
        batch.has_more = len(batch.messages) == self.max_batch and more_due
        if position != state.next or started != state.started or batch.rejected:
            batch.next_cursor = ReplayCursor(self.path.name, position, started).dump()
        return batch

    def _play(self, position: int, started: datetime) -> IncomingMessage:
        assert self._track is not None
        loop_round, index = self._locate(position)
        message = self._track.messages[index]
        suffix = f":loop{loop_round}" if loop_round else ""
        return replace(
            message,
            external_id=f"{self.path.stem}:{message.external_id}{suffix}",
            created_at=started + timedelta(seconds=self._offset(position)),
            language=message.language or self.options.language,
        )

    def _locate(self, position: int) -> tuple[int, int]:
        """(loop round, row index) of a play position; round 0 begins at start_at."""
        assert self._track is not None
        rows, first = len(self._track.messages), self._first
        if position < rows - first:
            return 0, first + position
        loop_round, index = divmod(position - (rows - first), rows)
        return loop_round + 1, index

    def _offset(self, position: int) -> float:
        """Seconds after the start of playback at which a play position is due."""
        assert self._track is not None
        if self.speed is None:
            return position * 60 / self.rate_per_minute
        seconds, first = self._track.seconds, self._first
        loop_round, index = self._locate(position)
        if loop_round == 0:
            return (seconds[index] - seconds[first]) / self.speed
        full = seconds[-1] / self.speed
        # A pause of one average interval between rounds, so the last and first row don't clash.
        pause = max(full / max(len(seconds) - 1, 1), 1.0)
        first_round = (seconds[-1] - seconds[first]) / self.speed + pause
        return first_round + (loop_round - 1) * (full + pause) + seconds[index] / self.speed

    def _load(self) -> _Track:
        """The parsed file, read again only when it changed on disk."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise ReplayError(
                f"{self.key}: replay file {self.path} does not exist; fix options.path "
                "(a relative path starts from the directory CX Pulse was started in)"
            ) from None
        if self._track is not None and self._track_stat == (stat.st_size, stat.st_mtime_ns):
            return self._track
        # read_file stamps a row without created_at with the moment it reads it: a row whose
        # time falls inside the read has none of its own, and cannot be played at "its" time.
        before = datetime.now(UTC)
        try:
            items = list(
                read_file(
                    self.path,
                    source=self.key,
                    mapping=self.options.mapping,
                    channel=self.options.channel or "review",
                    brand=self.options.brand,
                )
            )
        except (ValueError, csv.Error) as exc:
            raise ReplayError(f"{self.key}: cannot read {self.path}: {exc}") from None
        after = datetime.now(UTC)
        messages: list[IncomingMessage] = []
        rejected: list[Rejected] = []
        for item in items:
            if isinstance(item, Rejected):
                rejected.append(item)
            elif self.speed is not None and before <= item.created_at <= after:
                rejected.append(
                    Rejected(
                        self.key,
                        f"{self.path.name}#{item.external_id}",
                        json.dumps({"external_id": item.external_id, "text": item.text}),
                        "no created_at: with speed, rows play at their own times; "
                        "map the created_at column or use rate_per_minute",
                    )
                )
            else:
                messages.append(item)
        seconds: tuple[float, ...] = ()
        if self.speed is not None:
            messages.sort(key=lambda m: m.created_at)  # stable: ties keep file order
            if messages:
                earliest = messages[0].created_at
                seconds = tuple((m.created_at - earliest).total_seconds() for m in messages)
        self._first = self._first_index(messages)
        self._track = _Track(tuple(messages), seconds, tuple(rejected))
        self._track_stat = (stat.st_size, stat.st_mtime_ns)
        log.info("%s: %d rows of %s ready to replay", self.key, len(messages), self.path.name)
        return self._track

    def _first_index(self, messages: list[IncomingMessage]) -> int:
        start_at = self.options.start_at
        if isinstance(start_at, datetime):
            index = bisect_left([m.created_at for m in messages], start_at)
        else:
            index = start_at
        if messages and index >= len(messages):
            raise ReplayError(
                f"{self.key}: start_at {start_at} is past the last of the "
                f"{len(messages)} playable rows of {self.path.name}"
            )
        return index


def build(config: SourceConfig, settings: Settings) -> ReplaySource:
    """The replay source for a `[[sources]]` entry of type "replay"; brand defaults to own."""
    options = file_options(ReplayOptions, config, settings, settings.own_brand.key)
    return ReplaySource(config.key, options)
