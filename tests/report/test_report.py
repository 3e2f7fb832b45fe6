"""The weekly e-mail: sent through a real SMTP server, parsed back as MIME, checked against the
database with independent SQL, and rendered in headless Chromium for a person to look at."""

from __future__ import annotations

import logging
import re
import tomllib
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import Engine, func, or_, select

from config.settings import (
    DEMO_CONFIG,
    ConfigError,
    Recipient,
    RecipientList,
    Settings,
    check_config,
)
from report.render import preview
from report.send import EmailSendError, send_message, send_now
from report.summary import ReportError, last_complete_week, week_of
from report.themes import top_terms
from storage.alerts import close_alert, open_alert
from storage.db import session_scope
from storage.models import Message, MessageBrand, MessagePhase
from tests.browser import chromium
from tests.conftest import publish_screenshot
from tests.report.support import Inbox, demo_data, free_port, store_demo, with_smtp

ROOT = Path(__file__).resolve().parents[2]
WEEK, BEFORE = "2026-W47", "2026-W46"
TZ = "Europe/Amsterdam"


@pytest.fixture
def week_engine(engine: Engine) -> Engine:
    """Two weeks of scored demo traffic (with incidents) and three stored alerts."""
    this, before = week_of(WEEK, TZ), week_of(BEFORE, TZ)
    data = demo_data(
        before.since,
        this.until,
        rate_per_minute=0.08,
        seed=11,
        incident_every_minutes=2880,
        incident_minutes=90,
    )
    store_demo(engine, data)
    with session_scope(engine) as session:
        this_week = open_alert(
            session, "voltera", "delivery", datetime(2026, 11, 18, 9, 5, tzinfo=UTC), 42, 9.3, "x"
        )
        close_alert(session, this_week.id or 0, datetime(2026, 11, 18, 9, 40, tzinfo=UTC))
        last_week = datetime(2026, 11, 11, 9, 0, tzinfo=UTC)
        ended = open_alert(session, "voltera", "payment", last_week, 20, 4, "x")  # last week's
        close_alert(session, ended.id or 0, datetime(2026, 11, 11, 10, tzinfo=UTC))
        rival = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)
        open_alert(session, "stroomz", "use", rival, 30, 5, "x")  # not an own brand
    return engine


def _with_lists(settings: Settings, inbox: Inbox) -> Settings:
    readers = RecipientList(
        brand="voltera",
        recipients=(
            Recipient(address="directie@voltera.example", language="nl"),
            Recipient(address="cfo@voltera.example", language="en"),
        ),
    )
    return with_smtp(settings, inbox, report_lists=(readers,))


def _received(inbox: Inbox) -> dict[str, EmailMessage]:
    out = {}
    for envelope in inbox.received:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        out[envelope.rcpt_tos[0]] = message
    return out


def _parts(message: EmailMessage) -> tuple[str, str, list[EmailMessage]]:
    body_text = message.get_body(("plain",))
    body_html = message.get_body(("html",))
    assert body_text is not None and body_html is not None
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    return str(body_text.get_content()), str(body_html.get_content()), images  # type: ignore[misc]


def test_weekly_email_arrives_as_text_html_and_cid_images_in_each_readers_language(
    week_engine: Engine, smtp_inbox: Inbox, demo_settings: Settings
) -> None:
    settings = _with_lists(demo_settings, smtp_inbox)
    assert send_now(settings, week_engine, None, WEEK) == 2
    mails = _received(smtp_inbox)
    assert set(mails) == {"directie@voltera.example", "cfo@voltera.example"}
    for address, language, title in (
        ("directie@voltera.example", "nl", "Weekoverzicht klantbeleving"),
        ("cfo@voltera.example", "en", "Weekly customer experience summary"),
    ):
        mail = mails[address]
        assert mail["To"] == address and mail["Content-Language"] == language
        assert "week 47" in mail["Subject"]
        # multipart/alternative: text first, then the HTML with its images (multipart/related).
        assert mail.get_content_type() == "multipart/alternative"
        plain, related = mail.get_payload()  # type: ignore[misc]
        assert plain.get_content_type() == "text/plain"
        assert related.get_content_type() == "multipart/related"
        text, html, images = _parts(mail)
        assert title in text and title in html and f'<html lang="{language}">' in html
        assert "<script" not in html.lower()
        assert len(images) == 2  # the journey of Voltera and the trend of all brands
        for image in images:
            cid = image["Content-ID"].strip("<>")
            assert f'src="cid:{cid}"' in html
            assert image.get_content_disposition() == "inline"
            assert image.get_content().startswith(b"\x89PNG\r\n\x1a\n")
    assert "Sentiment over alle fasen" in _parts(mails["directie@voltera.example"])[0]
    assert "Sentiment across all phases" in _parts(mails["cfo@voltera.example"])[0]


def _cells(html: str, row_attribute: str, key: str) -> str:
    match = re.search(rf'<tr {row_attribute}="{re.escape(key)}">(.*?)</tr>', html, re.DOTALL)
    assert match, f"no row {row_attribute}={key} in the e-mail"
    return match.group(1)


def _field(html: str, name: str) -> str:
    match = re.search(rf'data-field="{name}"[^>]*>([^<]*)<', html)
    assert match, f"no field {name} in the e-mail"
    return match.group(1).strip()


def _sql_phase_scores(engine: Engine, brand: str, week: str) -> dict[str, tuple[int, float]]:
    """Independently of the rollups: per phase, count and mean straight from message_phase."""
    bounds = week_of(week, TZ)
    query = (
        select(MessagePhase.phase, func.count(), func.avg(MessagePhase.score))
        .join(Message, Message.id == MessagePhase.message_id)  # type: ignore[arg-type]
        .join(MessageBrand, MessageBrand.message_id == Message.id)  # type: ignore[arg-type]
        .where(MessageBrand.brand == brand)
        .where(Message.created_at >= bounds.since, Message.created_at < bounds.until)
        .group_by(MessagePhase.phase)
    )
    with session_scope(engine) as session:
        return {phase: (int(n), float(mean)) for phase, n, mean in session.execute(query)}


def _sql_overall(scores: dict[str, tuple[int, float]], phases: list[str]) -> float:
    counted = [(n, mean) for phase, (n, mean) in scores.items() if phase in phases]
    return sum(n * mean for n, mean in counted) / sum(n for n, _ in counted)


def test_every_number_in_the_email_matches_the_database(
    week_engine: Engine, smtp_inbox: Inbox, demo_settings: Settings
) -> None:
    settings = with_smtp(demo_settings, smtp_inbox)
    assert send_now(settings, week_engine, ["cx@voltera.example"], WEEK) == 1
    text, html, _ = _parts(_received(smtp_inbox)["cx@voltera.example"])
    phases = [p.key for p in settings.phases]
    this = _sql_phase_scores(week_engine, "voltera", WEEK)
    before = _sql_phase_scores(week_engine, "voltera", BEFORE)
    assert len(this) >= 6, "the test week should speak about most phases"
    for phase in phases:
        row = _cells(html, "data-phase", phase)
        count, mean = this.get(phase, (0, None))  # type: ignore[arg-type]
        target = settings.phase(phase).target
        assert _field(row, "score") == (f"{mean:+.2f}" if mean is not None else "–")
        assert _field(row, "count") == f"{count:,}".replace(",", ".")
        assert _field(row, "target") == f"{target:+.2f}"
        if mean is not None:
            assert _field(row, "gap") == f"{mean - target:+.2f}"
            assert f"{mean:+.2f}" in text
        if mean is not None and phase in before:
            assert _field(row, "change").endswith(f"{mean - before[phase][1]:+.2f}")
    overall = _sql_overall(this, phases)
    assert _field(html, "overall") == f"{overall:+.2f}"
    assert _field(html, "overall-change") == f"{overall - _sql_overall(before, phases):+.2f}"
    # Volume per channel: customer-written messages, agent and bot turns left out.
    bounds = week_of(WEEK, TZ)
    with session_scope(week_engine) as session:
        volume = dict(
            session.execute(
                select(Message.channel, func.count())
                .join(MessageBrand, MessageBrand.message_id == Message.id)  # type: ignore[arg-type]
                .where(MessageBrand.brand == "voltera")
                .where(Message.created_at >= bounds.since, Message.created_at < bounds.until)
                .where(or_(Message.turn_role.is_(None), Message.turn_role == "customer"))  # type: ignore[union-attr]
                .group_by(Message.channel)
            ).all()
        )
    for channel, count in volume.items():
        assert _field(_cells(html, "data-channel", channel), "volume") == f"{count:,}".replace(
            ",", "."
        )
    # Competitors: each brand's overall score in the comparison table.
    comparison = _cells(html, "data-compare", "overall")
    for brand in ("voltera", "stroomz", "kabelhuis"):
        expected = _sql_overall(_sql_phase_scores(week_engine, brand, WEEK), phases)
        cell = re.search(rf'data-brand="{brand}">([^<]+)<', comparison)
        assert cell and cell.group(1) == f"{expected:+.2f}"
    # Only this week's alerts of the brand itself; and the explorer link carries the filter.
    assert html.count("data-alert=") == 1
    link = "/explore?brand=voltera&amp;period=custom&amp;from=2026-11-16&amp;to=2026-11-22"
    assert link in html


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_preview_renders_in_headless_chromium_without_scripts(
    week_engine: Engine, demo_settings: Settings, output_dir: Path, tmp_path: Path
) -> None:
    browser = chromium(800, 1000)
    try:
        for language in ("nl", "en"):
            out = tmp_path / f"{language}.html"
            page = preview(demo_settings, week_engine, WEEK, out, language)
            assert "cid:" not in page.read_text(encoding="utf-8")  # images embedded for the file
            browser.get(page.as_uri())
            images = browser.execute_script(
                "return [...document.images].map(i => [i.complete, i.naturalWidth, i.width])"
            )
            assert len(images) == 2 and all(done and natural > 0 for done, natural, _ in images)
            width = browser.execute_script("return document.documentElement.scrollWidth")
            height = browser.execute_script("return document.body.scrollHeight")
            assert width <= 800, "the e-mail must not scroll sideways"
            browser.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": 800, "height": height, "deviceScaleFactor": 1, "mobile": False},
            )
            shot = output_dir / f"weekly-email-{language}.png"
            browser.save_screenshot(str(shot))
            if language == "nl":
                publish_screenshot(shot, "weekly-email.png")
    finally:
        browser.quit()


def test_a_send_the_server_rejects_for_now_is_retried_then_fails_with_a_clear_error(
    smtp_inbox: Inbox, demo_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    smtp_inbox.reply = "451 4.3.0 Mailbox busy, try again later"
    settings = with_smtp(demo_settings, smtp_inbox, send_attempts=3)
    with caplog.at_level(logging.WARNING), pytest.raises(EmailSendError) as caught:
        send_message(settings.email, _simple_message())
    assert smtp_inbox.attempts == 3
    message = str(caught.value)
    assert f"127.0.0.1:{smtp_inbox.port}" in message and "after 3 attempt(s)" in message
    assert "451" in message and "to ops@voltera.example" in message
    assert sum("SMTP attempt" in r.message for r in caplog.records) == 2  # before each retry


def test_a_send_to_a_server_that_is_down_is_retried_then_fails_with_a_clear_error(
    demo_settings: Settings,
) -> None:
    down = Inbox("127.0.0.1", free_port())  # nothing listens there
    settings = with_smtp(demo_settings, down, send_attempts=2)
    with pytest.raises(EmailSendError, match=r"after 2 attempt\(s\): ConnectionRefusedError"):
        send_message(settings.email, _simple_message())


def test_a_permanent_rejection_is_not_retried(smtp_inbox: Inbox, demo_settings: Settings) -> None:
    smtp_inbox.reply = "550 5.1.1 No such user"
    settings = with_smtp(demo_settings, smtp_inbox, send_attempts=3)
    with pytest.raises(EmailSendError, match="550"):
        send_message(settings.email, _simple_message())
    assert smtp_inbox.attempts == 1


def test_smtp_login_uses_the_password_from_the_named_environment_variable(
    demo_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    logins: list[tuple[bytes, bytes]] = []

    def authenticate(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    inbox = Inbox("127.0.0.1", free_port())
    controller = Controller(
        inbox,
        hostname=inbox.host,
        port=inbox.port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        settings = with_smtp(
            demo_settings, inbox, username="cxpulse", password_env="CXPULSE_TEST_SMTP_PASSWORD"
        )
        monkeypatch.delenv("CXPULSE_TEST_SMTP_PASSWORD", raising=False)
        with pytest.raises(EmailSendError, match="CXPULSE_TEST_SMTP_PASSWORD .* is not set"):
            send_message(settings.email, _simple_message())
        monkeypatch.setenv("CXPULSE_TEST_SMTP_PASSWORD", "s3cret")
        send_message(settings.email, _simple_message())
    finally:
        controller.stop()
    assert logins == [(b"cxpulse", b"s3cret")] and len(inbox.received) == 1


def test_sending_with_nobody_configured_says_what_to_add(
    engine: Engine, demo_settings: Settings
) -> None:
    with pytest.raises(EmailSendError, match=r"\[\[email.report_lists\]\].*--to"):
        send_now(demo_settings, engine, None, WEEK)


def test_a_report_list_must_name_an_own_brand() -> None:
    raw = tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
    raw["email"]["report_lists"] = [
        {"brand": "stroomz", "recipients": [{"address": "x@voltera.example", "language": "en"}]}
    ]
    with pytest.raises(ConfigError) as caught:
        check_config(raw)
    assert "email.report_lists[0].brand: 'stroomz' is not an own brand" in str(caught.value)


def test_iso_weeks_are_read_in_amsterdam_time() -> None:
    winter = week_of("2026-W47", TZ)
    assert (winter.since, winter.until) == (
        datetime(2026, 11, 15, 23, tzinfo=UTC),
        datetime(2026, 11, 22, 23, tzinfo=UTC),
    )
    summer = week_of("2026-W27", TZ)
    assert summer.since == datetime(2026, 6, 28, 22, tzinfo=UTC)
    monday_morning = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 08:00 in Amsterdam
    assert last_complete_week(monday_morning, TZ) == "2026-W47"
    for wrong in ("2026-47", "2026-W54", "W47"):
        with pytest.raises(ReportError, match="2026-W47|week"):
            week_of(wrong, TZ)


def test_complaint_terms_skip_stop_words_and_brands_and_prefer_recurring_pairs() -> None:
    texts = [
        "Het pakket kwam te laat, echt te laat bij Voltera.",
        "Pakket kwijt en de track & trace klopt niet.",
        "De track & trace zegt bezorgd maar geen pakket.",
        "Track & trace toont niks, pakket nog steeds weg.",
        "My name is [naam] and the parcel never came @voltera_nl",
    ]
    terms = top_terms(texts, ignore=["Voltera", "@voltera_nl"])
    assert terms[0] == "pakket"
    assert "track trace" in terms and "trace" not in terms  # the pair stands for its words
    assert not {"het", "de", "te", "the", "and", "voltera", "naam"} & set(terms)


def _simple_message() -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "CX Pulse test"
    message["From"] = "cxpulse@voltera.example"
    message["To"] = "ops@voltera.example"
    message.set_content("test")
    return message
