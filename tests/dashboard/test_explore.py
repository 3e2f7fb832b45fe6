"""The CX manager's explorer in a real browser: login (wrong password, rate limit, expiry),
filter → chart → verbatims → handle, links that reproduce a view, roles, and the export."""

from __future__ import annotations

import csv
import io
import re
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import Engine, select
from werkzeug.serving import make_server

from config import Settings
from dashboard.app import create_app, stop_background
from dashboard.auth import IDLE_KEY
from dashboard.components.explore_filters import parse_query, to_filter
from dashboard.context import DAY_CACHE_KEY
from storage.db import session_scope
from storage.explore import export_chunks
from storage.models import MessageHandling
from storage.users import add_user
from tests.browser import chromium, detached, texts
from tests.conftest import publish_screenshot
from tests.explore_seed import Seeded, seed

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
WAIT = 40  # seconds: the first page load compiles Dash's bundles on a busy machine


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the browser checks the page; tests/storage covers both databases."""
    return f"sqlite:///{tmp_path / 'cxpulse.db'}"


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    add_user(engine, "anna", PASSWORD, "manager")
    add_user(engine, "victor", PASSWORD, "viewer")
    return seed(engine)


@pytest.fixture
def explorer(
    engine: Engine, demo_settings: Settings, seeded: Seeded
) -> Iterator[tuple[str, object]]:
    """A real server with the explorer; yields its URL and the Flask server (for its config)."""
    app = create_app(demo_settings, engine)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app.server
    finally:
        server.shutdown()
        stop_background(app.server)  # its refresh would outlive the test's database


def _period_query(seeded: Seeded) -> str:
    """A custom period around the seeded days, so every run sees the same numbers."""
    zone = ZoneInfo("Europe/Amsterdam")
    start = (seeded.start - timedelta(days=1)).astimezone(zone).date().isoformat()
    end = seeded.end.astimezone(zone).date().isoformat()
    return f"period=custom&from={start}&to={end}"


def _login(browser, username: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.ID, "username"))
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(password)
    submit = browser.find_element(By.ID, "login-submit")
    submit.click()
    # Wait for the answer to replace the form: the previous attempt's error is still on it.
    WebDriverWait(browser, WAIT).until(detached(submit))


def _wait_for_explorer(browser) -> None:  # type: ignore[no-untyped-def]
    WebDriverWait(browser, WAIT).until(lambda b: texts(b, "#explore-kpi-mentions .kpi-value"))
    WebDriverWait(browser, WAIT).until(lambda b: _rows(b))


def _rows(browser) -> list[str]:  # type: ignore[no-untyped-def]
    return texts(browser, ".ag-center-cols-container .ag-row")


def _open_first_message(browser, shown: str) -> None:  # type: ignore[no-untyped-def]
    """Click the table's first row until `shown` (a selector in the detail pane) appears.

    A DOM click in one script, retried: the grid may redraw its rows while a page loads."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        browser.execute_script(
            "const cell = document.querySelector('.ag-center-cols-container .ag-row .ag-cell');"
            "if (cell) { cell.click(); }"
        )
        try:
            WebDriverWait(browser, 5).until(lambda b: texts(b, shown))
            return
        except TimeoutException:
            continue
    raise AssertionError(f"clicking the first row never showed {shown}")


def _click_point(browser, graph: str, key: str) -> None:  # type: ignore[no-untyped-def]
    """A real mouse click on the marker whose customdata starts with `key`."""
    element = browser.execute_script(
        """
        const gd = document.querySelector(arguments[0] + ' .js-plotly-plot');
        const trace = gd.data[0];
        let drawn = -1;
        for (let i = 0; i < trace.y.length; i++) {
            if (trace.y[i] !== null) { drawn += 1; }
            if (trace.customdata[i][0] === arguments[1]) { break; }
        }
        const line = gd.querySelectorAll('.scatterlayer .trace')[0];
        return line.querySelectorAll('.points path')[drawn];
        """,
        f"#{graph}",
        key,
    )
    ActionChains(browser).move_to_element(element).click().perform()


def _cookie_client(browser, base: str) -> httpx.Client:  # type: ignore[no-untyped-def]
    """An HTTP client carrying the browser's session cookie."""
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    return httpx.Client(base_url=base, cookies=cookies, timeout=60)


def _http_login(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token[1]}
    )
    assert answer.status_code == 302, answer.text
    return client


def test_wrong_password_is_refused_and_the_right_one_opens_the_explorer(
    explorer: tuple[str, object], output_dir: Path
) -> None:
    base, _ = explorer
    browser = chromium(1400, 900)
    try:
        browser.get(f"{base}/explore?phase=delivery&lang=en")
        assert urlsplit(browser.current_url).path == "/login"
        _login(browser, "anna", "not the password")
        WebDriverWait(browser, WAIT).until(lambda b: texts(b, "#login-error"))
        assert texts(browser, "#login-error") == ["Wrong username or password."]
        browser.save_screenshot(str(output_dir / "login-refused.png"))
        browser.find_element(By.ID, "password").clear()
        _login(browser, "anna")
        _wait_for_explorer(browser)
        assert browser.current_url == f"{base}/explore?phase=delivery&lang=en"
        assert texts(browser, "#explore-user") == ["anna (manager)"]
    finally:
        browser.quit()


def test_login_is_refused_after_five_failures_even_with_the_right_password(
    explorer: tuple[str, object],
) -> None:
    base, _ = explorer
    browser = chromium(1200, 800)
    try:
        browser.get(f"{base}/login?lang=en")
        for attempt in range(5):
            _login(browser, "anna", f"guess {attempt}")
            WebDriverWait(browser, WAIT).until(lambda b: texts(b, "#login-error"))
            browser.find_element(By.ID, "username").clear()
        _login(browser, "anna")
        WebDriverWait(browser, WAIT).until(lambda b: texts(b, "#login-error"))
        assert "Too many failed attempts" in texts(browser, "#login-error")[0]
        assert urlsplit(browser.current_url).path == "/login"
        # Another username from the same address is not blocked by anna's failures.
        browser.find_element(By.ID, "username").clear()
        _login(browser, "victor")
        _wait_for_explorer(browser)
    finally:
        browser.quit()


def test_an_idle_session_expires_back_to_the_login(explorer: tuple[str, object]) -> None:
    base, server = explorer
    browser = chromium(1200, 800)
    try:
        browser.get(f"{base}/explore")
        _login(browser, "anna")
        _wait_for_explorer(browser)
        # Short only from now on: on a busy machine the first load alone can take seconds.
        server.config[IDLE_KEY] = timedelta(seconds=3)  # type: ignore[attr-defined]
        time.sleep(5)
        browser.get(f"{base}/explore?channel=chat")
        WebDriverWait(browser, WAIT).until(lambda b: urlsplit(b.current_url).path == "/login")
        assert "next=%2Fexplore%3Fchannel%3Dchat" in browser.current_url
        # The expired cookie no longer opens explorer callbacks either.
        answer = _cookie_client(browser, base).post(
            "/_dash-update-component",
            json={
                "output": "explore-terms.children",
                "outputs": {"id": "explore-terms", "property": "children"},
                "inputs": [{"id": "explore-query", "property": "data", "value": ""}],
                "state": [{"id": "explore-lang", "property": "data", "value": "en"}],
                "changedPropIds": [],
            },
        )
        assert answer.status_code == 401
    finally:
        browser.quit()


def test_a_visitor_without_login_gets_the_public_views_only(
    explorer: tuple[str, object], output_dir: Path
) -> None:
    base, _ = explorer
    with httpx.Client(base_url=base, timeout=60) as client:
        for public in ("/", "/wall", "/status", "/healthz", "/login"):
            assert client.get(public).status_code == 200, public
        answer = client.get("/explore?phase=delivery")
        assert answer.status_code == 302
        assert answer.headers["location"] == "/login?next=%2Fexplore%3Fphase%3Ddelivery"
        assert client.get("/explore/export.csv").status_code == 302
        callback = {
            "output": "explore-terms.children",
            "outputs": {"id": "explore-terms", "property": "children"},
            "inputs": [{"id": "explore-query", "property": "data", "value": ""}],
            "state": [{"id": "explore-lang", "property": "data", "value": "en"}],
            "changedPropIds": [],
        }
        assert client.post("/_dash-update-component", json=callback).status_code == 401
        router = {
            "output": "..._pages_content.children..._pages_store.data...",
            "outputs": [
                {"id": "_pages_content", "property": "children"},
                {"id": "_pages_store", "property": "data"},
            ],
            "inputs": [
                {"id": "_pages_location", "property": "pathname", "value": "/explore"},
                {"id": "_pages_location", "property": "search", "value": ""},
            ],
            "changedPropIds": ["_pages_location.pathname"],
        }
        assert client.post("/_dash-update-component", json=router).status_code == 401
        forged = client.post(
            "/login", data={"username": "anna", "password": PASSWORD}, headers={"Origin": base}
        )
        assert forged.status_code == 400  # no CSRF token: refused before the password is tried
        cross_site = client.post(
            "/_dash-update-component", json=callback, headers={"Origin": "https://evil.example"}
        )
        assert cross_site.status_code == 403
    browser = chromium(1200, 800)
    try:
        browser.get(f"{base}/explore")
        _login(browser, "anna")
        _wait_for_explorer(browser)
        browser.find_element(By.ID, "explore-logout").click()
        WebDriverWait(browser, WAIT).until(lambda b: urlsplit(b.current_url).path == "/login")
        browser.get(f"{base}/explore")
        assert urlsplit(browser.current_url).path == "/login"
        browser.save_screenshot(str(output_dir / "logged-out.png"))
    finally:
        browser.quit()


def test_filter_chart_click_verbatims_and_handling(
    explorer: tuple[str, object], engine: Engine, seeded: Seeded, output_dir: Path
) -> None:
    base, _ = explorer
    browser = chromium(1600, 1000)
    try:
        browser.get(f"{base}/explore?lang=en&{_period_query(seeded)}")
        _login(browser, "anna")
        _wait_for_explorer(browser)
        everything = int(texts(browser, "#explore-kpi-mentions .kpi-value")[0].replace(".", ""))
        # Filter: reviews only. The URL follows, the numbers shrink.
        browser.find_element(By.CSS_SELECTOR, "#explore-channels input[value='review']").click()
        WebDriverWait(browser, WAIT).until(lambda b: "channel=review" in b.current_url)
        WebDriverWait(browser, WAIT).until(
            lambda b: (
                int(texts(b, "#explore-kpi-mentions .kpi-value")[0].replace(".", "")) < everything
            )
        )
        browser.set_window_size(1600, 3600)
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1600, "height": 3600, "deviceScaleFactor": 1, "mobile": False},
        )
        time.sleep(1)
        browser.save_screenshot(str(output_dir / "explore-overview.png"))
        # Chart → verbatims: the delivery point of the journey.
        _click_point(browser, "explore-journey", "delivery")
        WebDriverWait(browser, WAIT).until(
            lambda b: texts(b, "#explore-selection") == ["Clicked: Delivery & installation"]
        )
        WebDriverWait(browser, WAIT).until(
            lambda b: _rows(b) and all("Delivery & installation" in r for r in _rows(b))
        )
        assert all("review" in row for row in _rows(browser))
        # Verbatim → the message in full, sentences coloured by sentiment.
        _open_first_message(browser, "#explore-detail-text")
        assert texts(browser, "#explore-detail-text .unit")
        assert browser.find_elements(
            By.CSS_SELECTOR,
            "#explore-detail-text .unit-negative, #explore-detail-text .unit-positive",
        )
        # Handle: handled, assigned, a note.
        browser.find_element(By.CSS_SELECTOR, "#explore-handled input").click()
        browser.find_element(By.ID, "explore-assignee").send_keys("bram")
        browser.find_element(By.ID, "explore-note").send_keys("Klant gebeld, nieuwe levering")
        browser.find_element(By.ID, "explore-save").click()
        WebDriverWait(browser, WAIT).until(
            lambda b: texts(b, "#explore-handle-status")[0].startswith("Saved at")
        )
        with session_scope(engine) as session:
            rows = list(session.scalars(select(MessageHandling)))
        assert len(rows) == 1 and rows[0].handled and rows[0].assignee == "bram"
        assert rows[0].updated_by == "anna" and rows[0].note == "Klant gebeld, nieuwe levering"
        WebDriverWait(browser, WAIT).until(lambda b: any("yes → bram" in r for r in _rows(b)))
        browser.execute_script(
            "document.querySelector('.verbatims').scrollIntoView({block: 'start'})"
        )
        time.sleep(0.5)
        browser.save_screenshot(str(output_dir / "explore-verbatims.png"))
        # The export button downloads what the table shows, with progress to the end.
        browser.find_element(By.ID, "explore-export-csv").click()
        WebDriverWait(browser, WAIT).until(
            lambda b: texts(b, "#explore-export-status")[0].startswith("✓")
        )
    finally:
        browser.quit()
    publish_screenshot(output_dir / "explore-overview.png", "explore-overview.png")
    publish_screenshot(output_dir / "explore-verbatims.png", "explore-verbatims.png")


def test_a_chat_opens_as_the_conversation_with_how_it_ended(
    explorer: tuple[str, object], seeded: Seeded, output_dir: Path
) -> None:
    base, _ = explorer
    browser = chromium(1600, 1400)
    try:
        browser.get(f"{base}/explore?lang=en&channel=chat&{_period_query(seeded)}")
        _login(browser, "anna")
        _wait_for_explorer(browser)
        _open_first_message(browser, "#explore-conversation .turn")
        heads = texts(browser, "#explore-conversation .turn-head")
        assert [h.split(" · ")[0] for h in heads] == [
            "customer",
            "agent",
            "customer",
            "agent",
            "customer",
        ]
        assert texts(browser, "#explore-ending") == [
            "How it ended for the customer: positive (+0.70)"
        ]
        browser.execute_script(
            "document.getElementById('explore-detail').scrollIntoView({block: 'center'})"
        )
        time.sleep(0.5)
        browser.save_screenshot(str(output_dir / "explore-conversation.png"))
    finally:
        browser.quit()
    publish_screenshot(output_dir / "explore-conversation.png", "explore-conversation.png")


def test_a_viewer_reads_but_cannot_mark_handled(
    explorer: tuple[str, object], engine: Engine, seeded: Seeded
) -> None:
    base, _ = explorer
    browser = chromium(1600, 1200)
    try:
        browser.get(f"{base}/explore?lang=en&{_period_query(seeded)}")
        _login(browser, "victor")
        _wait_for_explorer(browser)
        _open_first_message(browser, "#explore-detail-head")
        assert not browser.find_element(By.ID, "explore-save").is_enabled()
        assert not browser.find_element(By.ID, "explore-assignee").is_enabled()
        assert texts(browser, "#explore-handle-status") == [
            "As a viewer you can read messages, not handle them."
        ]
        # Even a hand-made callback request with the viewer's cookie changes nothing.
        with session_scope(engine) as session:
            some_id = next(export_chunks(session, to_filter(parse_query(""), ZoneInfo("UTC"))))[
                0
            ].id
        answer = _cookie_client(browser, base).post(
            "/_dash-update-component",
            json={
                "output": "..explore-handle-status.children...explore-saved.data..",
                "outputs": [
                    {"id": "explore-handle-status", "property": "children"},
                    {"id": "explore-saved", "property": "data"},
                ],
                "inputs": [{"id": "explore-save", "property": "n_clicks", "value": 1}],
                "state": [
                    {"id": "explore-message", "property": "data", "value": some_id},
                    {"id": "explore-handled", "property": "value", "value": ["1"]},
                    {"id": "explore-assignee", "property": "value", "value": "victor"},
                    {"id": "explore-note", "property": "value", "value": "sneaky"},
                    {"id": "explore-saved", "property": "data", "value": 0},
                    {"id": "explore-lang", "property": "data", "value": "en"},
                ],
                "changedPropIds": ["explore-save.n_clicks"],
            },
        )
        assert answer.status_code == 200
        assert "only managers may handle messages" in answer.text
        with session_scope(engine) as session:
            assert list(session.scalars(select(MessageHandling))) == []
    finally:
        browser.quit()


def test_a_link_opens_the_same_filters_and_numbers_in_a_fresh_browser(
    explorer: tuple[str, object], seeded: Seeded
) -> None:
    base, _ = explorer
    first = chromium(1400, 1000)
    try:
        first.get(f"{base}/explore?lang=en&{_period_query(seeded)}")
        _login(first, "anna")
        _wait_for_explorer(first)
        first.find_element(By.CSS_SELECTOR, "#explore-languages input[value='nl']").click()
        search = first.find_element(By.ID, "explore-search")
        search.send_keys("pakket", Keys.ENTER)
        WebDriverWait(first, WAIT).until(lambda b: "q=pakket" in b.current_url)
        WebDriverWait(first, WAIT).until(lambda b: "language=nl" in b.current_url)
        time.sleep(2)  # let the charts settle on the final filter
        link = first.current_url
        numbers = texts(first, ".kpi-value")
    finally:
        first.quit()
    second = chromium(1400, 1000)  # a colleague: no cookie, no state
    try:
        second.get(link)
        _login(second, "victor")
        _wait_for_explorer(second)
        assert second.current_url == link
        WebDriverWait(second, WAIT).until(lambda b: texts(b, ".kpi-value") == numbers)
        assert second.find_element(By.ID, "explore-search").get_attribute("value") == "pakket"
        checked = second.execute_script(
            "return [...document.querySelectorAll('#explore-languages input:checked')]"
            ".map(e => e.value)"
        )
        assert checked == ["nl"]
        assert (
            second.execute_script(
                "return document.querySelector('#explore-period input:checked').value"
            )
            == "custom"
        )
    finally:
        second.quit()


def test_the_csv_export_holds_exactly_the_filtered_messages(
    explorer: tuple[str, object], engine: Engine, seeded: Seeded
) -> None:
    base, _ = explorer
    query = f"channel=review,social&phase=delivery&max=-0.2&{_period_query(seeded)}"
    client = _http_login(base, "anna")
    try:
        answer = client.get(f"/explore/export.csv?{query}")
        excel = client.get(f"/explore/export.xlsx?{query}")
    finally:
        client.close()
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))
    f = to_filter(parse_query(query), ZoneInfo("Europe/Amsterdam"))
    with session_scope(engine) as session:
        expected = [v.id for chunk in export_chunks(session, f) for v in chunk]
    assert [int(r["id"]) for r in rows] == expected and expected
    assert int(answer.headers["x-export-rows"]) == len(rows)
    for row in rows:
        assert row["channel"] in ("review", "social")
        delivery = re.search(r"delivery:([+-]\d\.\d\d)", row["phases"])
        assert delivery and float(delivery[1]) <= -0.2
    assert excel.status_code == 200 and excel.content[:2] == b"PK"  # a zip: an .xlsx file
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(excel.content), read_only=True).active
    assert sheet is not None
    ids = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert ids == expected


def test_a_new_web_process_fills_the_explorer_day_cache_before_the_first_chart(
    explorer: tuple[str, object],
) -> None:
    """create_app warms the day cache in the background; the page's callbacks use that one."""
    import sys

    from storage.explore import DayCache

    _, server = explorer
    page = next(m for name, m in sys.modules.items() if name.endswith("pages.explore"))
    days = server.config[DAY_CACHE_KEY]  # type: ignore[attr-defined]
    assert isinstance(days, DayCache)
    assert days.ready.wait(30)  # filled without any request
    with server.app_context():  # type: ignore[attr-defined]
        assert page._day_cache() is days
