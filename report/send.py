"""Sending e-mail over SMTP (plain, STARTTLS or SSL), retried and logged; and the weekly send.

A send that still fails after its attempts raises EmailSendError: nothing is dropped silently."""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from config.settings import EmailConfig, Recipient, RecipientList, Settings

if TYPE_CHECKING:
    from report.render import RenderedEmail

log = logging.getLogger(__name__)


class EmailSendError(RuntimeError):
    """An e-mail could not be sent; the message names the server, the recipients and why."""


def smtp_password(config: EmailConfig) -> str | None:
    """The SMTP password from the environment variable the settings name (never the file)."""
    if config.username is None:
        return None
    if not config.password_env:
        raise EmailSendError(
            "email.username is set but email.password_env is not: name the environment "
            "variable that holds the SMTP password"
        )
    password = os.environ.get(config.password_env)
    if password is None:
        raise EmailSendError(
            f"the SMTP password variable {config.password_env} (email.password_env) is not set"
        )
    return password


def _transient(error: BaseException) -> bool:
    """Worth another try: connection trouble and 4xx replies. 5xx replies will not change."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(error, OSError)  # SMTPException is an OSError


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("SMTP attempt %d failed (%s); trying again", state.attempt_number, error)


def _deliver(config: EmailConfig, message: EmailMessage, password: str | None) -> None:
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if config.ssl:
        smtp = smtplib.SMTP_SSL(
            config.smtp_host, config.smtp_port, timeout=config.timeout_seconds, context=context
        )
    else:
        smtp = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.timeout_seconds)
    with smtp:
        if config.starttls:
            smtp.starttls(context=context)
        if config.username is not None and password is not None:
            smtp.login(config.username, password)
        refused = smtp.send_message(message)
    if refused:
        # Some recipients were accepted: trying again would send them a second copy.
        raise EmailSendError(
            f"{config.smtp_host}:{config.smtp_port} refused "
            + ", ".join(
                f"{address} ({code} {reply!r})" for address, (code, reply) in refused.items()
            )
        )


def send_message(config: EmailConfig, message: EmailMessage) -> None:
    """Send one message; retried on transient failures; EmailSendError when it cannot be sent."""
    password = smtp_password(config)
    retrying = Retrying(
        stop=stop_after_attempt(config.send_attempts),
        wait=wait_exponential(multiplier=config.retry_wait_seconds, max=300),
        retry=retry_if_exception(_transient),
        before_sleep=_log_retry,
        reraise=True,
    )
    target = f"{config.smtp_host}:{config.smtp_port}"
    try:
        for attempt in retrying:
            with attempt:
                _deliver(config, message, password)
    except EmailSendError:
        raise
    except (smtplib.SMTPException, OSError) as error:
        attempts = retrying.statistics.get("attempt_number", 1)
        problem = (
            f"could not send {message['Subject']!r} to {message['To']} via {target} "
            f"after {attempts} attempt(s): {error.__class__.__name__}: {error}"
        )
        log.error(problem)
        raise EmailSendError(problem) from error
    log.info("sent %r to %s via %s", message["Subject"], message["To"], target)


def _lists(settings: Settings, to: Sequence[str] | None) -> list[RecipientList]:
    email = settings.email
    default = settings.organisation.default_language
    if to:
        # A known address keeps its language; anyone else reads the organisation's.
        known = {
            r.address.lower(): r.language for lst in email.report_lists for r in lst.recipients
        }
        people = tuple(Recipient(address=a, language=known.get(a.lower(), default)) for a in to)
        return [RecipientList(brand=None, recipients=people)]
    lists = list(email.report_lists)
    if email.recipients:
        people = tuple(Recipient(address=a, language=default) for a in email.recipients)
        lists.append(RecipientList(brand=None, recipients=people))
    if not lists:
        raise EmailSendError(
            "nobody to send the weekly summary to: add [[email.report_lists]] (or "
            "email.recipients) to the configuration, or pass --to"
        )
    return lists


def send_now(
    settings: Settings, engine: Engine, to: list[str] | None = None, week: str | None = None
) -> int:
    """Send the weekly summary (default: the last complete week) to `to` or the configured lists.

    One e-mail per recipient, in their language. Returns how many were sent; if any failed, the
    others are still sent and EmailSendError then lists every failure."""
    # Imported here: alerts use send_message and need neither the summary nor matplotlib.
    from report.render import render, to_message
    from report.summary import build_summary, last_complete_week

    week = week or last_complete_week(datetime.now(UTC), settings.email.report_timezone)
    summary = build_summary(engine, settings, week)
    rendered: dict[tuple[str | None, str], RenderedEmail] = {}
    sent, failures = 0, []
    by_list: dict[tuple[str | None, str], list[str]] = defaultdict(list)
    for recipients in _lists(settings, to):
        for person in recipients.recipients:
            by_list[(recipients.brand, person.language)].append(person.address)
    for (brand, language), addresses in by_list.items():
        if (brand, language) not in rendered:
            rendered[(brand, language)] = render(
                summary, settings, language, [brand] if brand else None
            )
        for address in dict.fromkeys(addresses):
            message = to_message(rendered[(brand, language)], settings.email.sender, [address])
            try:
                send_message(settings.email, message)
                sent += 1
            except EmailSendError as error:
                failures.append(str(error))
    if failures:
        raise EmailSendError(
            f"weekly summary {summary.week.label}: {sent} sent, {len(failures)} failed:\n  "
            + "\n  ".join(failures)
        )
    log.info("weekly summary %s sent to %d recipient(s)", summary.week.label, sent)
    return sent
