"""Telling people about a new alert: e-mail (SMTP of report.send) and a generic webhook POST.

The webhook body is JSON with a `text` field, which Slack and Teams incoming webhooks accept."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from config.settings import Settings
from report.send import EmailSendError, send_message
from report.texts import t
from storage.models import Alert

log = logging.getLogger(__name__)


class WebhookError(RuntimeError):
    """The webhook did not take the alert; the message names the variable and the reply."""


def describe(alert: Alert, settings: Settings, language: str) -> str:
    """The alert in one sentence in `language`, from its stored numbers."""
    brand = next((b.name for b in settings.brands if b.key == alert.brand), alert.brand)
    phase = next((p.label(language) for p in settings.phases if p.key == alert.phase), alert.phase)
    started = alert.started_at.astimezone(ZoneInfo(settings.dashboard.timezone))
    return t(
        "alert_text",
        language,
        brand=brand,
        phase=phase,
        observed=round(alert.observed),
        expected=f"{alert.expected:.1f}",
        minutes=settings.alerts.window_minutes,
        started=f"{started:%H:%M} ({started:%d-%m-%Y})",
    )


def subject(alert: Alert, settings: Settings, language: str) -> str:
    brand = next((b.name for b in settings.brands if b.key == alert.brand), alert.brand)
    phase = next((p.label(language) for p in settings.phases if p.key == alert.phase), alert.phase)
    return t("alert_subject", language, brand=brand, phase=phase)


def explorer_link(alert: Alert, settings: Settings) -> str:
    """The explorer on this alert's brand × phase, from the start of the window that raised it to
    its end (or a window's length after its start, while open): the page's documented URL
    parameters (docs/explorer.md), in the dashboard's time zone."""
    zone = ZoneInfo(settings.dashboard.timezone)
    window = timedelta(minutes=settings.alerts.window_minutes)
    start = alert.started_at - window
    end = alert.ended_at or alert.started_at + window
    query = urlencode(
        {
            "brand": alert.brand,
            "phase": alert.phase,
            "period": "custom",
            "from": start.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
            "to": end.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        }
    )
    return f"{settings.email.explorer_base_url.rstrip('/')}/explore?{query}"


def alert_email(alert: Alert, settings: Settings, address: str, language: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject(alert, settings, language)
    message["From"] = settings.email.sender
    message["To"] = address
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.email.sender.rpartition("@")[2] or None)
    message["Content-Language"] = language
    link = explorer_link(alert, settings)
    message.set_content(
        f"{describe(alert, settings, language)}\n\n"
        f"{t('alert_details', language)}: {alert.reason}\n\n{link}\n"
    )
    return message


def webhook_payload(alert: Alert, settings: Settings) -> dict[str, str]:
    """Slack and Teams incoming webhooks both show the `text` field (Markdown-ish)."""
    language = settings.organisation.default_language
    return {
        "text": f"*{subject(alert, settings, language)}*\n{describe(alert, settings, language)}\n"
        f"_{alert.reason}_\n{explorer_link(alert, settings)}",
        "explorer_url": explorer_link(alert, settings),
        "brand": alert.brand,
        "phase": alert.phase,
        "started_at": alert.started_at.isoformat(),
    }


def _transient(error: BaseException) -> bool:
    if isinstance(error, httpx.HTTPStatusError):
        status = error.response.status_code
        return status == 429 or status >= 500  # a 4xx other than 429 will not change
    return isinstance(error, httpx.TransportError)


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("webhook attempt %d failed (%s); trying again", state.attempt_number, error)


def post_webhook(url: str, payload: dict[str, str], attempts: int = 3, wait: float = 2) -> None:
    """POST the JSON payload, retried on network errors, 429 and 5xx."""
    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=wait, max=60),
        retry=retry_if_exception(_transient),
        before_sleep=_log_retry,
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt:
                response = httpx.post(url, json=payload, timeout=10)
                response.raise_for_status()
    except httpx.HTTPError as error:
        # The URL is a secret (it is the credential), so only its host goes in the message.
        host = httpx.URL(url).host
        raise WebhookError(f"webhook at {host} did not take the alert: {error}") from error


def notify(settings: Settings, alerts: Sequence[Alert]) -> list[str]:
    """Send every alert to the configured recipients and webhook; returns the problems.

    A failure is logged with its reason and reported back, never raised: the alert itself is
    stored and on the wall already, and one dead channel must not silence the other."""
    config = settings.alerts
    problems: list[str] = []
    url = None
    if config.webhook_url_env:
        url = os.environ.get(config.webhook_url_env)
        if not url:
            problems.append(
                f"alerts.webhook_url_env: the variable {config.webhook_url_env} is not set; "
                "no webhook was called"
            )
    for alert in alerts:
        for person in config.recipients:
            message = alert_email(alert, settings, person.address, person.language)
            try:
                send_message(settings.email, message)
            except EmailSendError as error:
                problems.append(f"alert {alert.id} e-mail to {person.address}: {error}")
        if url:
            try:
                post_webhook(
                    url,
                    webhook_payload(alert, settings),
                    attempts=config.webhook_attempts,
                    wait=config.webhook_wait_seconds,
                )
            except WebhookError as error:
                problems.append(f"alert {alert.id}: {error}")
    for problem in problems:
        log.error("alert notification failed: %s", problem)
    return problems
