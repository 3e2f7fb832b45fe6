"""Shared fixtures: real databases (a SQLite file and a fresh PostgreSQL database per test),
the demo settings, and the built-in analyser loaded once per session."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from config import Settings, load_settings
from storage.catalogue import sync_catalogue
from storage.db import make_engine, normalise_url, session_scope
from storage.migrate import upgrade

POSTGRES_URL = os.environ.get(
    "CXPULSE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
OUTPUT_DIR = Path(
    os.environ.get("CXPULSE_TEST_OUTPUT", Path(__file__).parent.parent / "test-output")
)


def _postgres_available() -> str | None:
    try:
        engine = create_engine(normalise_url(POSTGRES_URL), connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure means: no PostgreSQL here
        return f"PostgreSQL not reachable at {POSTGRES_URL} ({exc.__class__.__name__})"


_PG_PROBLEM = _postgres_available()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A brand-new, empty PostgreSQL database, dropped after the test."""
    if _PG_PROBLEM:
        pytest.skip(_PG_PROBLEM)
    name = f"cxpulse_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    base = normalise_url(POSTGRES_URL).rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cxpulse.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="session")
def demo_settings() -> Settings:
    return load_settings()


@pytest.fixture
def engine(database_url: str, demo_settings: Settings) -> Iterator[Engine]:
    """A migrated database with the demo's brands, phases and sources."""
    upgrade(database_url)
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        sync_catalogue(session, demo_settings.brands, demo_settings.phases, demo_settings.sources)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def analyzer(demo_settings: Settings):  # type: ignore[no-untyped-def]
    """The built-in model (real MiniLM + shipped LoRA adapter), loaded once for all tests."""
    from wiring import build_analyzer

    return build_analyzer(demo_settings)


DOCS_IMG = Path(__file__).parent.parent / "docs" / "img"


def publish_screenshot(shot: Path, name: str) -> None:
    """Copy a screenshot into docs/img as `name` when CXPULSE_UPDATE_DOC_IMAGES=1 is set, so a
    normal test run leaves the repository's files as they were."""
    if os.environ.get("CXPULSE_UPDATE_DOC_IMAGES") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_IMG / name)


@pytest.fixture
def output_dir(request: pytest.FixtureRequest) -> Path:
    """Where a test leaves files a person should look at (screenshots)."""
    path = OUTPUT_DIR / request.node.name.replace("/", "_")
    path.mkdir(parents=True, exist_ok=True)
    return path
