"""Named leases in the database: at most one holder at a time, taken over when it expires.

The scheduler uses one so that any number of `cxpulse scheduler` processes can run and exactly
one of them runs the sources; works the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from storage.models import Lease


def acquire(session: Session, name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
    """Take or renew the lease; True when `holder` holds it until now + ttl."""
    renewed = session.execute(
        update(Lease)
        .where(Lease.name == name)
        .where(or_(Lease.holder == holder, Lease.expires_at < now))  # type: ignore[arg-type]
        .values(holder=holder, expires_at=now + ttl)
    )
    if renewed.rowcount == 1:  # type: ignore[attr-defined]
        return True
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Lease.__table__)  # type: ignore[attr-defined]
    # RETURNING, not rowcount: the driver may not report a row count for this statement.
    created = session.execute(
        insert.values(name=name, holder=holder, expires_at=now + ttl)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(Lease.name)  # type: ignore[arg-type]
    )
    return created.first() is not None


def release(session: Session, name: str, holder: str) -> None:
    """Give the lease up at once (a clean shutdown), so another can take over without waiting."""
    session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == holder)  # type: ignore[arg-type]
        .values(expires_at=datetime(1970, 1, 1, tzinfo=UTC))
    )


def holder_of(session: Session, name: str, now: datetime) -> str | None:
    lease = session.get(Lease, name)
    return lease.holder if lease and lease.expires_at >= now else None
