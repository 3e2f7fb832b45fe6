from sqlalchemy import inspect

from storage.db import make_engine
from storage.migrate import current_revision, head_revision, upgrade

TABLES = {
    "brand",
    "phase",
    "source",
    "message",
    "message_brand",
    "unit_score",
    "message_phase",
    "rollup",
    "cursor",
    "quarantine",
    "alert",
    "user",
}


def test_upgrade_creates_every_table_on_an_empty_database(database_url: str) -> None:
    assert current_revision(database_url) is None
    upgrade(database_url)
    engine = make_engine(database_url)
    assert TABLES <= set(inspect(engine).get_table_names())
    assert current_revision(database_url) == head_revision()
    engine.dispose()


def test_upgrade_twice_is_harmless(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()


def test_migrations_match_the_models(database_url: str) -> None:
    """Alembic finds nothing to autogenerate: the revisions create exactly what the models say."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    from storage.models import described_by_models

    upgrade(database_url)
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": described_by_models})
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert diff == []
