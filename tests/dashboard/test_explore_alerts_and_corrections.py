"""The explorer's alert band and its corrections, in a real browser: an alert's line sets the
filter to the messages behind it; a manager's one click stores a label; a viewer's is refused."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import Engine, select

from storage.alerts import close_alert, open_alert
from storage.db import session_scope
from storage.models import Label, Message, MessageBrand, MessagePhase, UnitScore
from tests.browser import chromium, texts
from tests.conftest import publish_screenshot
from tests.dashboard import test_explore as explorer_tests
from tests.dashboard.test_explore import (
    WAIT,
    _cookie_client,
    _http_login,
    _login,
    _open_first_message,
    _period_query,
    _rows,
    _wait_for_explorer,
)
from tests.explore_seed import Seeded

pytestmark = pytest.mark.browser

# The explorer's fixtures (a SQLite database, seeded messages, anna the manager and victor the
# viewer, a real server), shared with tests/dashboard/test_explore.py.
database_url = explorer_tests.database_url
seeded = explorer_tests.seeded
explorer = explorer_tests.explorer


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _voltera_delivery_times(engine: Engine) -> list[datetime]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(Message.created_at)
            .join(MessageBrand, MessageBrand.message_id == Message.id)  # type: ignore[arg-type]
            .join(MessagePhase, MessagePhase.message_id == Message.id)  # type: ignore[arg-type]
            .where(MessageBrand.brand == "voltera", MessagePhase.phase == "delivery")
            .order_by(Message.created_at)
        ).all()
    return [r[0].replace(tzinfo=UTC) if r[0].tzinfo is None else r[0] for r in rows]


def _seed_alerts(engine: Engine, seeded: Seeded) -> tuple[int, int, datetime, datetime]:
    """An ended Voltera × delivery alert over real seeded complaints, an open Stroomz × payment
    one, and one that ended before the period (not shown). Returns both shown ids and the
    window the delivery alert's link must open (whole hours, as the page rounds)."""
    times = _voltera_delivery_times(engine)
    middle = times[len(times) // 2]
    started = (middle + timedelta(minutes=10)).replace(second=0, microsecond=0)
    ended = started + timedelta(hours=2)
    with session_scope(engine) as session:
        delivery = open_alert(
            session, "voltera", "delivery", started, 20.0, 4.0, "Voltera · Delivery: 20 of 24"
        )
        assert delivery.id is not None
        close_alert(session, delivery.id, ended)
        payment = open_alert(
            session,
            "stroomz",
            "payment",
            seeded.end - timedelta(hours=1),
            12.0,
            1.5,
            "Stroomz · Payment: 12 of 15",
        )
        old = open_alert(
            session, "voltera", "service", seeded.start - timedelta(days=9), 9.0, 2.0, "old"
        )
        assert payment.id is not None and old.id is not None
        close_alert(session, old.id, seeded.start - timedelta(days=8))
    since = _floor_hour(started - timedelta(minutes=15))
    until = _floor_hour(ended) + timedelta(hours=1)
    return delivery.id, payment.id, since, until


def test_an_alert_in_the_explorer_opens_the_messages_behind_it(
    explorer: tuple[str, object], engine: Engine, seeded: Seeded, output_dir: Path
) -> None:
    base, _ = explorer
    delivery_id, payment_id, since, until = _seed_alerts(engine, seeded)
    expected = [t for t in _voltera_delivery_times(engine) if since <= t < until]
    assert expected  # the alert's window holds real complaints
    browser = chromium(1600, 1100)
    try:
        browser.get(f"{base}/explore?lang=en&{_period_query(seeded)}")
        _login(browser, "anna")
        _wait_for_explorer(browser)
        WebDriverWait(browser, WAIT).until(
            lambda b: len(texts(b, "#explore-alerts .alert-item")) == 2
        )
        lines = texts(browser, "#explore-alerts .alert-item")
        # Open ones first; each with its why: observed vs expected in the window.
        assert lines[0].startswith("ACTIVE") and "Stroomz · Payment" in lines[0]
        assert "12 negative mentions in 15 min, expected 1.5 (8.0×)" in lines[0]
        assert lines[1].startswith("ENDED") and "Voltera · Delivery & installation" in lines[1]
        assert "20 negative mentions in 15 min, expected 4.0 (5.0×)" in lines[1]
        assert "old" not in " ".join(lines)
        time.sleep(0.5)
        browser.save_screenshot(str(output_dir / "explore-alerts.png"))
        browser.find_element(By.ID, f"explore-alert-{delivery_id}").click()
        WebDriverWait(browser, WAIT).until(
            lambda b: "brand=voltera" in b.current_url and "phase=delivery" in b.current_url
        )
        WebDriverWait(browser, WAIT).until(
            lambda b: (
                len(_rows(b)) == len(expected)
                and all("Voltera" in r and "Delivery & installation" in r for r in _rows(b))
            )
        )
        time.sleep(2)  # nothing else arrives later: the table holds exactly the alert's messages
        assert len(_rows(browser)) == len(expected)
        assert browser.find_elements(
            By.CSS_SELECTOR, f"#explore-alert-{delivery_id}.alert-selected"
        )
        # Only this brand × phase now: the Stroomz alert has left the band.
        assert not browser.find_elements(By.ID, f"explore-alert-{payment_id}")
        # The period's exact times survived the page's date pickers (whole days only).
        assert "T" in browser.current_url.split("from=")[1].split("&")[0]
        browser.execute_script("document.querySelector('.verbatims').scrollIntoView()")
        time.sleep(0.5)
        browser.save_screenshot(str(output_dir / "explore-alert-verbatims.png"))
    finally:
        browser.quit()
    publish_screenshot(output_dir / "explore-alerts.png", "explore-alerts.png")


def _fix_buttons(browser) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    return browser.execute_script(  # type: ignore[no-any-return]
        "return [...document.querySelectorAll('#explore-fix-panel .fix')]"
        ".map(b => ({id: b.id, cls: b.className, text: b.innerText, disabled: b.disabled}))"
    )


def _click_fix(browser, index: str) -> None:  # type: ignore[no-untyped-def]
    target = json.dumps({"index": index, "type": "explore-fix"}, separators=(",", ":"))
    for button in browser.find_elements(By.CSS_SELECTOR, "#explore-fix-panel .fix"):
        if button.get_attribute("id") == target:
            button.click()
            return
    raise AssertionError(f"no correction button {index}")


def test_a_manager_corrects_a_sentence_and_a_phase_in_one_click_each(
    explorer: tuple[str, object], engine: Engine, seeded: Seeded, output_dir: Path
) -> None:
    base, _ = explorer
    browser = chromium(1600, 1200)
    try:
        browser.get(f"{base}/explore?lang=en&channel=review&phase=delivery&{_period_query(seeded)}")
        _login(browser, "anna")
        _wait_for_explorer(browser)
        _open_first_message(browser, "#explore-fix-panel .fix-row")
        buttons = _fix_buttons(browser)
        first = json.loads(buttons[0]["id"])["index"]
        message_id = int(first.split(":")[0])
        with session_scope(engine) as session:
            unit = session.scalars(
                select(UnitScore).where(UnitScore.message_id == message_id, UnitScore.position == 0)
            ).first()
            assert unit is not None
            unit_text, unit_label, unit_score = unit.text, unit.label, unit.score
        # The model's own reading is marked; pick another polarity: a real correction.
        model_button = [
            b
            for b in buttons
            if json.loads(b["id"])["index"].startswith(f"{message_id}:0|")
            and "fix-model" in b["cls"]
        ]
        assert [json.loads(b["id"])["index"].split("|")[1] for b in model_button] == [unit_label]
        right = "positive" if unit_label == "negative" else "negative"
        _click_fix(browser, f"{message_id}:0|{right}")
        WebDriverWait(browser, WAIT).until(
            lambda b: (
                texts(b, "#explore-fix-status")
                and texts(b, "#explore-fix-status")[0].startswith("Recorded at")
            )
        )
        assert texts(browser, "#explore-fix-status")[0].endswith(f"sentence 1 → {right}")
        WebDriverWait(browser, WAIT).until(lambda b: len(texts(b, "#explore-labels li")) == 1)
        assert "anna: sentence 1 → " + right in texts(browser, "#explore-labels li")[0]
        chosen = [b for b in _fix_buttons(browser) if "fix-chosen" in b["cls"]]
        assert [json.loads(b["id"])["index"] for b in chosen] == [f"{message_id}:0|{right}"]
        with session_scope(engine) as session:
            labels = list(session.scalars(select(Label)))
        assert len(labels) == 1
        label = labels[0]
        assert (label.message_id, label.unit_position, label.text) == (message_id, 0, unit_text)
        assert (label.polarity, label.phase, label.created_by) == (right, None, "anna")
        assert label.origin == "explorer" and label.model_score == pytest.approx(unit_score)
        # The whole message's phase: pick it in the row's dropdown.
        whole = browser.find_elements(By.CSS_SELECTOR, "#explore-fix-panel .fix-row")[-1]
        whole.find_element(By.CSS_SELECTOR, ".fix-phase").click()
        WebDriverWait(browser, WAIT).until(
            lambda b: [
                o
                for o in b.find_elements(By.CSS_SELECTOR, "[role='option']")
                if o.text == "Payment"
            ]
        )
        option = [
            o
            for o in browser.find_elements(By.CSS_SELECTOR, "[role='option']")
            if o.text == "Payment"
        ][0]
        option.click()
        WebDriverWait(browser, WAIT).until(lambda b: len(texts(b, "#explore-labels li")) == 2)
        assert "whole message → Payment" in texts(browser, "#explore-labels li")[0]
        with session_scope(engine) as session:
            message_label = session.scalars(select(Label).where(Label.phase.is_not(None))).one()  # type: ignore[union-attr]
            message_text = session.get(Message, message_id).text  # type: ignore[union-attr]
        assert (message_label.unit_position, message_label.phase) == (None, "payment")
        assert message_label.polarity is None and message_label.text == message_text
        assert message_label.created_by == "anna"
        browser.execute_script(
            "document.getElementById('explore-fix-panel').scrollIntoView({block: 'center'})"
        )
        time.sleep(0.5)
        browser.save_screenshot(str(output_dir / "explore-correction.png"))
    finally:
        browser.quit()
    publish_screenshot(output_dir / "explore-correction.png", "explore-correction.png")


def _correction_request(base: str, client, index: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The callback request the browser sends for one click on a polarity button."""
    dependencies = client.get("/_dash-dependencies").json()
    output = next(d["output"] for d in dependencies if "explore-labels.children" in d["output"])
    button = {"index": index, "type": "explore-fix"}
    return {
        "output": output,
        "outputs": [
            {"id": "explore-labels", "property": "children"},
            {"id": "explore-fix-status", "property": "children"},
            [{"id": button, "property": "className"}],
        ],
        "inputs": [[{"id": button, "property": "n_clicks", "value": 1}], []],
        "state": [{"id": "explore-lang", "property": "data", "value": "en"}],
        "changedPropIds": [json.dumps(button, sort_keys=True, separators=(",", ":")) + ".n_clicks"],
    }


def test_a_viewer_cannot_correct_and_a_cross_site_request_is_refused(
    explorer: tuple[str, object], engine: Engine, seeded: Seeded, output_dir: Path
) -> None:
    base, _ = explorer
    browser = chromium(1600, 1200)
    try:
        browser.get(f"{base}/explore?lang=nl&channel=review&{_period_query(seeded)}")
        _login(browser, "victor")
        _wait_for_explorer(browser)
        _open_first_message(browser, "#explore-fix-panel .fix-row")
        buttons = _fix_buttons(browser)
        assert buttons and all(b["disabled"] for b in buttons)
        assert (
            "Als kijker kun je de lezing niet verbeteren."
            in texts(browser, "#explore-fix-panel")[0]
        )
        browser.execute_script(
            "document.getElementById('explore-fix-panel').scrollIntoView({block: 'center'})"
        )
        time.sleep(0.5)
        browser.save_screenshot(str(output_dir / "explore-correction-viewer-nl.png"))
        index = json.loads(buttons[0]["id"])["index"]
        # The viewer's own cookie, a hand-made request: the server refuses it.
        client = _cookie_client(browser, base)
        answer = client.post(
            "/_dash-update-component", json=_correction_request(base, client, index)
        )
        assert answer.status_code == 200, answer.text
        assert "only managers may correct a reading" in answer.text
    finally:
        browser.quit()
    with session_scope(engine) as session:
        assert list(session.scalars(select(Label))) == []
    # A manager's session, but the request comes from another site: refused before the callback.
    manager = _http_login(base, "anna")
    try:
        request = _correction_request(base, manager, index)
        refused = manager.post(
            "/_dash-update-component", json=request, headers={"Origin": "https://evil.example"}
        )
        assert refused.status_code == 403
        with session_scope(engine) as session:
            assert list(session.scalars(select(Label))) == []
        # The same request from our own page is stored: the refusals above were not a broken
        # request.
        accepted = manager.post("/_dash-update-component", json=request, headers={"Origin": base})
        assert accepted.status_code == 200 and "Recorded at" in accepted.text
    finally:
        manager.close()
    with session_scope(engine) as session:
        stored = list(session.scalars(select(Label)))
    assert [(s.created_by, s.polarity) for s in stored] == [("anna", index.split("|")[1])]
