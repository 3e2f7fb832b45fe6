"""What the review-feed sources share: the high-water mark of a newest-first feed, and the text.

The mark keeps the ids seen at its exact time, so two reviews in the same second are both read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Watermark:
    """The newest time a feed has been read up to, and which items carried exactly that time."""

    at: datetime | None = None
    ids: frozenset[str] = frozenset()

    def covers(self, external_id: str, at: datetime) -> bool:
        """Whether this item was already read: older than the mark, or at it and already seen."""
        if self.at is None:
            return False
        return at < self.at or (at == self.at and external_id in self.ids)

    def advance(self, external_id: str, at: datetime) -> Watermark:
        """The mark after also reading this item."""
        if self.at is None or at > self.at:
            return Watermark(at, frozenset({external_id}))
        if at == self.at:
            return Watermark(at, self.ids | {external_id})
        return self

    def merge(self, other: Watermark) -> Watermark:
        """The later of two marks (their ids together when they are at the same time)."""
        if other.at is None:
            return self
        if self.at is None or other.at > self.at:
            return other
        if other.at == self.at:
            return Watermark(self.at, self.ids | other.ids)
        return self

    def to_json(self) -> dict[str, Any] | None:
        if self.at is None:
            return None
        return {"at": self.at.isoformat(), "ids": sorted(self.ids)}

    @classmethod
    def from_json(cls, value: Any) -> Watermark:
        """Read a mark written by `to_json`; ValueError if it is something else."""
        if value is None:
            return cls()
        if not isinstance(value, dict) or not isinstance(value.get("ids"), list):
            raise ValueError(f"not a watermark: {value!r}")
        at = datetime.fromisoformat(str(value.get("at")))
        if at.tzinfo is None:
            raise ValueError(f"watermark time has no time zone: {value!r}")
        return cls(at, frozenset(str(i) for i in value["ids"]))


def review_text(title: str, body: str) -> str:
    """Title and body as one text: "Title. Body", without doubling the title's own punctuation."""
    title, body = title.strip(), body.strip()
    if not title or not body:
        return title or body
    separator = " " if title[-1] in ".!?…" else ". "
    return f"{title}{separator}{body}"
