"""Folder drop: CSV / JSONL / JSON files put in a watched folder are imported once, in chunks,
and moved to processed/ only after their last rows are stored; bad rows go to quarantine.

The cursor names the file, its SHA-256 and how many records of it are stored, so a crash
re-reads from there: nothing is skipped and nothing is stored twice."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

from pydantic import Field, field_validator

from config import Settings, SourceConfig
from ingest.base import Batch, IncomingMessage, Rejected
from ingest.files import move_processed, read_file
from ingest.http import SourceError
from ingest.sources.file_options import FileOptions, file_options

log = logging.getLogger(__name__)

Item = IncomingMessage | Rejected
_END = object()


class FolderOptions(FileOptions):
    # Comma-separated globs (or a list); only the folder itself is searched, not processed/.
    pattern: str | list[str] = "*.csv,*.jsonl,*.json"
    settle_seconds: float = Field(default=2.0, ge=0)  # younger files are still being written
    max_batch: int = Field(default=1000, ge=1)  # records per batch

    @field_validator("pattern")
    @classmethod
    def _some_pattern(cls, value: str | list[str]) -> str | list[str]:
        if not _globs(value):
            raise ValueError("give at least one glob, e.g. '*.csv'")
        return value


def _globs(pattern: str | list[str]) -> tuple[str, ...]:
    parts = pattern.split(",") if isinstance(pattern, str) else pattern
    return tuple(p.strip() for p in parts if p.strip())


class FolderError(SourceError):
    """The watched folder cannot be read; the message names it and what to check."""


class FolderCursorError(ValueError):
    """The stored cursor is not one a folder source wrote; reset this source's cursor."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class FolderCursor:
    """Which file is being imported, which content, and how many of its records are stored."""

    file: str | None = None
    sha256: str | None = None
    records: int = 0
    finished: bool = False  # every record is stored; the file still has to move to processed/

    def dump(self) -> str:
        return json.dumps(
            {
                "file": self.file,
                "sha256": self.sha256,
                "records": self.records,
                "finished": self.finished,
            }
        )

    @classmethod
    def load(cls, value: str | None, source: str) -> FolderCursor:
        if value is None:
            return cls()
        try:
            data = json.loads(value)
            cursor = cls(
                file=data["file"],
                sha256=data["sha256"],
                records=int(data["records"]),
                finished=bool(data["finished"]),
            )
        except (ValueError, TypeError, KeyError):
            raise FolderCursorError(
                f"{source}: stored cursor {value[:200]!r} is not a folder cursor; "
                "reset this source's cursor"
            ) from None
        if cursor.records < 0 or (cursor.file is None) != (cursor.sha256 is None):
            raise FolderCursorError(f"{source}: stored cursor {value[:200]!r} is inconsistent")
        return cursor


IDLE = FolderCursor()


@dataclass
class _Reading:
    """The open file of the previous fetch, so the next chunk continues without re-parsing."""

    file: str
    sha256: str
    records: int
    items: Iterator[Item]


class FolderSource:
    """Imports the files dropped in one folder, oldest first, `max_batch` records per fetch."""

    def __init__(
        self,
        key: str,
        options: FolderOptions,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.key = key
        self.options = options
        self.folder = options.file_path()
        self.patterns = _globs(options.pattern)
        self.max_batch = options.max_batch
        self._clock = clock
        self._reading: _Reading | None = None
        self._digests: dict[str, tuple[int, int, str]] = {}  # name -> (size, mtime_ns, sha256)

    def fetch(self, cursor: str | None) -> Batch:
        if not self.folder.is_dir():
            raise FolderError(
                f"{self.key}: folder {self.folder} does not exist or is not a directory; "
                "create it or fix options.path"
            )
        position = FolderCursor.load(cursor, self.key)
        if position.file is not None and position.sha256 is not None:
            path = self.folder / position.file
            if self._sha256(path) == position.sha256:
                if not position.finished:
                    return self._chunk(path, position.sha256, position.records)
                # Its last batch is stored (that is how this cursor got here): safe to move.
                target = move_processed(path)
                log.info("%s: %s imported, moved to %s", self.key, path.name, target)
            elif path.is_file():
                log.warning(
                    "%s: %s changed while it was being imported; importing it again from the top",
                    self.key,
                    path.name,
                )
            # Else it was moved after its last batch, before the idle cursor was stored.
        waiting = self._oldest_waiting()
        digest = self._sha256(waiting) if waiting is not None else None
        if waiting is None or digest is None:  # none, or it vanished since the listing
            return Batch(next_cursor=IDLE.dump() if position != IDLE else None)
        return self._chunk(waiting, digest, 0)

    def _oldest_waiting(self) -> Path | None:
        """The oldest file matching the patterns that nobody is writing any more."""
        now = self._clock().timestamp()
        found: dict[Path, float] = {}
        for pattern in self.patterns:
            for path in self.folder.glob(pattern):
                # Dot-files are uploads in progress (rsync, scp, editors' lock files).
                if path.name.startswith(".") or not path.is_file():
                    continue
                try:
                    found[path] = path.stat().st_mtime
                except FileNotFoundError:  # removed between listing and looking
                    continue
        for path, modified in sorted(found.items(), key=lambda pair: (pair[1], pair[0].name)):
            if now - modified < self.options.settle_seconds:
                log.debug("%s: %s is still being written; next run", self.key, path.name)
                continue
            return path
        return None

    def _chunk(self, path: Path, sha256: str, start: int) -> Batch:
        """Up to max_batch records of `path` from record `start`, with the cursor after them."""
        items = self._items(path, sha256, start)
        batch = Batch()
        for item in islice(items, self.max_batch):
            (batch.rejected if isinstance(item, Rejected) else batch.messages).append(item)  # type: ignore[arg-type]
        records = start + len(batch.messages) + len(batch.rejected)
        following = next(items, _END)
        if following is _END:
            self._reading = None
        else:
            # Put the peeked record back in front, so the next fetch starts with it.
            rest = _prepend(following, items)  # type: ignore[arg-type]
            self._reading = _Reading(path.name, sha256, records, rest)
        batch.next_cursor = FolderCursor(path.name, sha256, records, following is _END).dump()
        batch.has_more = True  # more records, or the finished file still has to be moved
        return batch

    def _items(self, path: Path, sha256: str, start: int) -> Iterator[Item]:
        reading = self._reading
        if reading and (reading.file, reading.sha256, reading.records) == (
            path.name,
            sha256,
            start,
        ):
            return reading.items
        # A new file, or a restart / a batch that failed to store: read again, skip what is stored.
        items = self._guarded(path)
        return islice(items, start, None) if start else items

    def _guarded(self, path: Path) -> Iterator[Item]:
        """The file's records; a file that cannot be read on (bad encoding, broken JSON) ends
        with one quarantine entry saying where it stopped, so it cannot block the folder."""
        count = 0
        try:
            for item in read_file(
                path,
                source=self.key,
                mapping=self.options.mapping,
                channel=self.options.channel or "review",
                brand=self.options.brand,
            ):
                count += 1
                yield item
        except (ValueError, csv.Error) as exc:  # UnicodeDecodeError, JSONDecodeError included
            head = path.read_bytes()[:2000].decode("utf-8", errors="replace")
            yield Rejected(
                self.key,
                f"{path.name}:record {count + 1}",
                head,
                f"{path.name}: cannot read past record {count}: {exc}; the rest of the file "
                "was not imported (fix it and drop it again)",
            )

    def _sha256(self, path: Path) -> str | None:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        known = self._digests.get(path.name)
        if known and known[:2] == (stat.st_size, stat.st_mtime_ns):
            return known[2]
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        self._digests[path.name] = (stat.st_size, stat.st_mtime_ns, digest.hexdigest())
        return digest.hexdigest()


def _prepend(first: Item, rest: Iterator[Item]) -> Iterator[Item]:
    yield first
    yield from rest


def build(config: SourceConfig, settings: Settings) -> FolderSource:
    """The folder source for a `[[sources]]` entry of type "folder"."""
    return FolderSource(config.key, file_options(FolderOptions, config, settings, None))
