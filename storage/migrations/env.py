"""Alembic environment: migrates the database named in the config's sqlalchemy.url."""

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.db import make_engine
from storage.models import described_by_models

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            include_name=described_by_models,  # text search (0006) is not in the models
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Several processes may start at once: one migrates, the others wait and then
                # find the schema already at head.
                connection.execute(text("SELECT pg_advisory_xact_lock(7428301)"))
            context.run_migrations()
    engine.dispose()


run_migrations()
