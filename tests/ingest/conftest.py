"""Fixtures shared by the HTTP source tests: retries without back-off, a server that stalls,
and fetching a source until it has nothing more waiting (as the pipeline does)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from tenacity import wait_none

import ingest.http
from ingest.base import IncomingMessage, Source


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry without the real back-off pauses: the retries are under test, their waits are not."""
    monkeypatch.setattr(ingest.http._get_json.retry, "wait", wait_none())


@pytest.fixture
def slow_server() -> Iterator[tuple[HTTPServer, threading.Event]]:
    """A server that holds every answer until released, each request in its own thread."""
    release = threading.Event()
    server = HTTPServer(threaded=True)
    server.start()
    yield server, release
    release.set()
    server.clear()
    server.stop()


def fetch_all(source: Source, cursor: str | None = None) -> tuple[list[IncomingMessage], str]:
    """Fetch until the source has nothing more waiting, as the pipeline does."""
    messages: list[IncomingMessage] = []
    while True:
        batch = source.fetch(cursor)
        messages += batch.messages
        assert batch.next_cursor is not None
        cursor = batch.next_cursor
        if not batch.has_more:
            return messages, cursor
