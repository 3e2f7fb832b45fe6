"""The operator's status page in a real browser: per-source health, backlog and quarantine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import Engine

from storage.db import session_scope
from storage.health import record_failure
from storage.messages import add_quarantine
from storage.models import Message, Quarantine
from tests.browser import chromium, texts

pytestmark = pytest.mark.browser


def test_status_page_shows_a_failing_source_with_its_error(
    engine: Engine, web_url: str, output_dir: Path
) -> None:
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        record_failure(
            session, "demo", "SourceError: HTTP 503 from the API", now, now + timedelta(minutes=2)
        )
        add_quarantine(
            session,
            Quarantine(source="demo", reference="demo#1", payload="{}", error="text is empty"),
        )
        for n, (model, ago) in enumerate([("builtin:a@r1", 60), ("builtin-en:b@r2", 5)] * 2):
            session.add(
                Message(
                    source="demo",
                    external_id=f"s{n}",
                    channel="review",
                    text="…",
                    created_at=now,
                    scored_at=now - timedelta(minutes=ago + n),
                    model=model,
                )
            )
    browser = chromium(1920, 1080)
    try:
        browser.get(f"{web_url}/status?lang=nl")
        WebDriverWait(browser, 20).until(lambda b: texts(b, "#source-demo td"))
        cells = texts(browser, "#source-demo td")
        assert cells[0] == "demo" and cells[2] == "STORING"
        assert cells[5] == "1" and "HTTP 503" in cells[6] and cells[8] == "1"
        # Which model scored what, the most recently used first (routes side by side).
        rows = texts(browser, "#models-table tbody tr")
        assert [r.split("\t")[:2] for r in rows] == [
            ["builtin-en:b@r2", "2"],
            ["builtin:a@r1", "2"],
        ]
        browser.save_screenshot(str(output_dir / "status.png"))
    finally:
        browser.quit()


def test_health_endpoint_reports_backlog_and_freshness(web_url: str) -> None:
    body = httpx.get(f"{web_url}/healthz", timeout=10).json()
    assert body["status"] == "ok"
    assert body["unscored"] == 0 and body["last_scored_at"] is None
