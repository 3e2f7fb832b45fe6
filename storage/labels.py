"""The CX team's corrections (labels): record one from the explorer, import and export CSV files
of them, count them, list them for training.

A label is either a unit's (sentence/clause) or a whole message's right polarity and/or phase."""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from storage.models import Label, Message, UnitScore

POLARITIES = ("negative", "neutral", "positive")


class LabelError(ValueError):
    """A label that cannot be stored; the message says which field is wrong."""


def add_label(
    session: Session,
    *,
    created_by: str,
    text: str | None = None,
    message_id: int | None = None,
    unit_position: int | None = None,
    polarity: str | None = None,
    phase: str | None = None,
    language: str | None = None,
    origin: str = "explorer",
    created_at: datetime | None = None,
) -> Label:
    """Store one correction. For a stored message the text, language and what the model said
    are read from the database; `text` is then optional."""
    if polarity is None and phase is None:
        raise LabelError("a label needs a polarity or a phase (or both)")
    if polarity is not None and polarity not in POLARITIES:
        raise LabelError(f"polarity {polarity!r} is not one of {', '.join(POLARITIES)}")
    model_score: float | None = None
    model_phases: str | None = None
    model: str | None = None
    if message_id is not None:
        message = session.get(Message, message_id)
        if message is None:
            raise LabelError(f"message {message_id} does not exist")
        language = language or message.language
        model = message.model
        if unit_position is None:
            text = text or message.text
            model_score = message.sentiment
        else:
            units = _unit_rows(session, message_id, unit_position)
            if not units:
                raise LabelError(f"message {message_id} has no scored unit {unit_position}")
            text = text or units[0].text
            model_score = units[0].score
            model_phases = ",".join(sorted({u.phase for u in units}))
    if not text or not text.strip():
        raise LabelError("a label needs the text it is about")
    label = Label(
        message_id=message_id,
        unit_position=unit_position,
        text=text,
        language=language,
        polarity=polarity,
        phase=phase,
        model_score=model_score,
        model_phases=model_phases,
        model=model,
        origin=origin,
        created_by=created_by,
    )
    if created_at is not None:
        label.created_at = created_at
    session.add(label)
    session.flush()
    return label


def _unit_rows(session: Session, message_id: int, position: int) -> Sequence[UnitScore]:
    return (
        session.exec(  # type: ignore[call-overload]
            select(UnitScore).where(
                UnitScore.message_id == message_id, UnitScore.position == position
            )
        )
        .scalars()
        .all()
    )


def labels_for_message(session: Session, message_id: int) -> list[Label]:
    rows = session.exec(  # type: ignore[call-overload]
        select(Label).where(Label.message_id == message_id).order_by(Label.created_at, Label.id)
    )
    return list(rows.scalars().all())


def all_labels(session: Session, since: datetime | None = None) -> list[Label]:
    """Every label, oldest first (a later correction of the same text overrides an earlier one
    when training reads them)."""
    query = select(Label).order_by(Label.created_at, Label.id)
    if since is not None:
        query = query.where(Label.created_at >= since)
    return list(session.exec(query).scalars().all())  # type: ignore[call-overload]


# ---------------------------------------------------------------------------------------------
# Label files: `cxpulse labels import FILE` / `export FILE` (docs/learning.md lists the columns).

LABEL_COLUMNS = (
    "text",
    "polarity",
    "phase",
    "language",
    "message_id",
    "unit_position",
    "created_by",
    "created_at",
    "origin",
    "model",
    "model_score",
    "model_phases",
)
# What people and other tools write for a polarity (Dutch spreadsheets, -1/0/1, pos/neg).
POLARITY_WORDS = {
    **{p: p for p in POLARITIES},
    "neg": "negative",
    "neu": "neutral",
    "pos": "positive",
    "-1": "negative",
    "0": "neutral",
    "1": "positive",
    "negatief": "negative",
    "neutraal": "neutral",
    "positief": "positive",
}
_MAX_LENGTHS = {
    "language": 10,
    "phase": 40,
    "created_by": 100,
    "origin": 40,
    "model": 200,
    "model_phases": 400,
}


class LabelFileError(ValueError):
    """A label file that cannot be read at all (no such file, no text column, not UTF-8)."""


@dataclass(frozen=True)
class RowProblem:
    """A row that was not imported, with where it is and why."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class LabelRow:
    """One readable row of a label file, validated but not yet stored."""

    line: int
    text: str | None
    polarity: str | None
    phase: str | None
    language: str | None = None
    message_id: int | None = None
    unit_position: int | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    origin: str | None = None
    model: str | None = None
    model_score: float | None = None
    model_phases: str | None = None


@dataclass
class ImportResult:
    imported: int = 0
    already_stored: int = 0
    problems: list[RowProblem] = dc_field(default_factory=list)


def _delimiter(content: str) -> str:
    # Dutch spreadsheet programs save CSV with semicolons; tabs come from copy-paste. Only the
    # delimiter is sniffed (from the header line): quoting stays the standard one.
    header = content.split("\n", 1)[0]
    return max(",;\t", key=header.count) if any(c in header for c in ",;\t") else ","


def _parse_row(raw: dict[str, str | None], line: int, phases: Collection[str] | None) -> LabelRow:
    """A LabelRow, or LabelError naming the first thing wrong with the row."""
    value = {k: (v or "").strip() for k, v in raw.items() if k in LABEL_COLUMNS}
    if None in raw:  # DictReader puts surplus cells under None
        raise LabelError(f"{len(raw[None] or [])} more cell(s) than the header has columns")
    text = value.get("text") or None
    polarity = value.get("polarity", "").lower() or None
    if polarity is not None:
        if polarity not in POLARITY_WORDS:
            raise LabelError(
                f"polarity {value['polarity']!r} is not one of {', '.join(POLARITIES)}"
            )
        polarity = POLARITY_WORDS[polarity]
    phase = value.get("phase", "").lower() or None
    if phase is not None and phases is not None and phase not in phases:
        raise LabelError(
            f"phase {value['phase']!r} is not a configured phase "
            f"({', '.join(sorted(phases))}, or general)"
        )
    if polarity is None and phase is None:
        raise LabelError("no polarity and no phase: a label needs one (or both)")
    message_id = _whole_number(value.get("message_id"), "message_id")
    unit_position = _whole_number(value.get("unit_position"), "unit_position")
    if unit_position is not None and message_id is None:
        raise LabelError("unit_position without message_id: a unit belongs to a stored message")
    if text is None and message_id is None:
        raise LabelError("no text and no message_id: nothing says what the label is about")
    for name, limit in _MAX_LENGTHS.items():
        if len(value.get(name, "")) > limit:
            raise LabelError(f"{name} is longer than {limit} characters")
    created_at = None
    if value.get("created_at"):
        try:
            created_at = datetime.fromisoformat(value["created_at"])
        except ValueError:
            raise LabelError(
                f"created_at {value['created_at']!r} is not an ISO date/time "
                "(e.g. 2026-11-30 or 2026-11-30T14:05:00+00:00)"
            ) from None
        created_at = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
    model_score = None
    if value.get("model_score"):
        try:
            model_score = float(value["model_score"])
        except ValueError:
            raise LabelError(f"model_score {value['model_score']!r} is not a number") from None
    return LabelRow(
        line=line,
        text=text,
        polarity=polarity,
        phase=phase,
        language=value.get("language", "").lower() or None,
        message_id=message_id,
        unit_position=unit_position,
        created_by=value.get("created_by") or None,
        created_at=created_at,
        origin=value.get("origin") or None,
        model=value.get("model") or None,
        model_score=model_score,
        model_phases=value.get("model_phases") or None,
    )


def _whole_number(value: str | None, name: str) -> int | None:
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        raise LabelError(f"{name} {value!r} is not a whole number") from None
    if number < 0:
        raise LabelError(f"{name} {number} is negative")
    return number


def read_label_file(
    path: Path, phases: Collection[str] | None = None
) -> tuple[list[LabelRow], list[RowProblem]]:
    """Every row of a label CSV: the readable ones, and the others with file:line and reason.

    `phases`: the configured phase keys (plus "general") a phase must be one of; None: any."""
    if phases is not None:
        phases = {*phases, "general"}
    try:
        content = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise LabelFileError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise LabelFileError(
            f"{path}: not UTF-8 (byte {exc.start}); save it as CSV UTF-8 and import again"
        ) from None
    reader = csv.DictReader(io.StringIO(content, newline=""), delimiter=_delimiter(content))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    reader.fieldnames = header
    if "text" not in header and "message_id" not in header:
        raise LabelFileError(
            f"{path}: the header has no text (or message_id) column; columns are "
            f"{', '.join(LABEL_COLUMNS)}"
        )
    if "polarity" not in header and "phase" not in header:
        raise LabelFileError(f"{path}: the header has no polarity and no phase column")
    unknown = [name for name in header if name not in LABEL_COLUMNS]
    problems: list[RowProblem] = []
    if unknown:
        problems.append(
            RowProblem(
                str(path),
                1,
                f"column(s) {', '.join(unknown)} are not label columns; "
                "their cells are not imported (the rows are)",
            )
        )
    rows: list[LabelRow] = []
    line = 2  # the first line after the header; a quoted cell may span lines
    for raw in reader:
        try:
            if any((v or "").strip() for k, v in raw.items() if k is not None) or None in raw:
                rows.append(_parse_row(raw, line, phases))
        except LabelError as exc:
            problems.append(RowProblem(str(path), line, str(exc)))
        line = reader.line_num + 1
    return rows, problems


def _identity(
    text: str | None,
    polarity: str | None,
    phase: str | None,
    message_id: int | None,
    unit_position: int | None,
    created_by: str | None,
) -> tuple[object, ...]:
    return (text, polarity, phase, message_id, unit_position, created_by)


def import_labels(
    session: Session,
    path: Path,
    *,
    phases: Collection[str] | None = None,
    created_by: str = "import",
    link_messages: bool = True,
) -> ImportResult:
    """Store every readable row of a label file; report the rest with file:line and reason.

    A row equal to a stored label (text, polarity, phase, message, unit, who and — when the
    file has one — when) counts as already stored, so importing a file twice stores it once.
    `link_messages=False` keeps only the texts: for labels exported from another database,
    whose message ids mean nothing here."""
    rows, problems = read_label_file(path, phases)
    result = ImportResult(problems=problems)
    stored: dict[tuple[object, ...], set[datetime | None]] = {}
    for label in all_labels(session):
        key = _identity(
            label.text,
            label.polarity,
            label.phase,
            label.message_id,
            label.unit_position,
            label.created_by,
        )
        stored.setdefault(key, set()).add(_as_utc(label.created_at))
    for row in rows:
        message_id = row.message_id if link_messages else None
        unit_position = row.unit_position if link_messages else None
        if row.text is None and message_id is None:
            result.problems.append(
                RowProblem(str(path), row.line, "no text, and message ids are not linked")
            )
            continue
        who = row.created_by or created_by
        key = _identity(row.text, row.polarity, row.phase, message_id, unit_position, who)
        moments = stored.get(key)
        if moments is not None and (row.created_at is None or row.created_at in moments):
            result.already_stored += 1
            continue
        try:
            # Every check is made before the row is added: one bad row leaves the others be.
            label = add_label(
                session,
                created_by=who,
                text=row.text,
                message_id=message_id,
                unit_position=unit_position,
                polarity=row.polarity,
                phase=row.phase,
                language=row.language,
                origin=row.origin or "import",
                created_at=row.created_at,
            )
            # What the model said, as the file has it, where the database could not say.
            label.model = label.model or row.model
            label.model_score = row.model_score if label.model_score is None else label.model_score
            label.model_phases = label.model_phases or row.model_phases
            session.flush()
        except LabelError as exc:
            result.problems.append(RowProblem(str(path), row.line, str(exc)))
            continue
        stored.setdefault(key, set()).add(_as_utc(label.created_at))
        result.imported += 1
    return result


def _as_utc(moment: datetime | None) -> datetime | None:
    # SQLite hands datetimes back without a zone; every stored time is UTC.
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _as_utc(value).isoformat()  # type: ignore[union-attr]
    return str(value)


def export_labels(session: Session, path: Path, since: datetime | None = None) -> int:
    """Write every label (oldest first) as CSV with LABEL_COLUMNS; `import` reads it back."""
    labels = all_labels(session, since)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(LABEL_COLUMNS)
        for label in labels:
            writer.writerow([_cell(getattr(label, column)) for column in LABEL_COLUMNS])
    return len(labels)


@dataclass(frozen=True)
class LabelStats:
    total: int
    by_polarity: dict[str, int]
    by_phase: dict[str, int]
    by_language: dict[str, int]
    by_origin: dict[str, int]
    by_author: dict[str, int]
    linked_to_messages: int
    first: datetime | None
    last: datetime | None


def label_stats(session: Session) -> LabelStats:
    """Counts of the stored labels by polarity, phase, language, origin and author."""

    def counts(column: Any) -> dict[str, int]:
        rows = session.exec(  # type: ignore[call-overload]
            select(column, func.count()).group_by(column)
        ).all()
        named = [("(none)" if value is None else str(value), int(n)) for value, n in rows]
        return dict(sorted(named, key=lambda pair: (-pair[1], pair[0])))  # most first, then a-z

    total, linked, first, last = session.exec(  # type: ignore[call-overload]
        select(
            func.count(Label.id),
            func.count(Label.message_id),
            func.min(Label.created_at),
            func.max(Label.created_at),
        )
    ).one()
    return LabelStats(
        total=int(total),
        by_polarity=counts(Label.polarity),
        by_phase=counts(Label.phase),
        by_language=counts(Label.language),
        by_origin=counts(Label.origin),
        by_author=counts(Label.created_by),
        linked_to_messages=int(linked),
        first=_as_utc(first),
        last=_as_utc(last),
    )
