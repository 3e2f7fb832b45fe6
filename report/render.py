"""The weekly summary as an e-mail: HTML with inline CSS and CID images, plus a plain-text part.

One rendering per language and brand selection; `preview_html` embeds the images as data: URIs."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Engine

from config.settings import Settings
from report import charts
from report.summary import BrandWeek, WeeklySummary, build_summary
from report.texts import WEEKDAYS, long_date, score, t

TEMPLATES = Path(__file__).with_name("templates")
CID_DOMAIN = "cxpulse"


@dataclass(frozen=True)
class Image:
    name: str  # e.g. "journey-voltera"; the HTML refers to it as cid:<name>@cxpulse
    png: bytes
    alt: str

    @property
    def cid(self) -> str:
        return f"{self.name}@{CID_DOMAIN}"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str  # images referenced as cid:...
    text: str
    images: tuple[Image, ...]
    language: str


@dataclass(frozen=True)
class _ComparisonRow:
    phase: str
    name: str
    values: tuple[tuple[float | None, bool, float | None, str], ...]  # score, own, gap, brand


def _environment(autoescape: bool, filters: dict[str, Any]) -> Environment:
    # Built per rendering: the filters speak the reader's language, and nothing is shared
    # between two renderings running at the same time.
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html.j2"]) if autoescape else False,
        undefined=StrictUndefined,  # a typo in a template fails the test, not the e-mail
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(filters, score=score)
    return environment


def render(
    summary: WeeklySummary, settings: Settings, language: str, brands: Sequence[str] | None = None
) -> RenderedEmail:
    """The e-mail about `brands` (default: every own brand) in `language` ("nl" or "en")."""
    chosen = [summary.brand(key) for key in brands] if brands else list(summary.brands)
    images = [
        Image(
            f"journey-{b.brand}",
            charts.journey_chart(b, language),
            t("journey_chart_alt", language),
        )
        for b in chosen
    ]
    images.append(
        Image("trend", charts.trend_chart(summary, language), t("trend_chart_alt", language))
    )
    names = ", ".join(f"{b.name} {score(b.headline.score)}" for b in chosen)
    subject = t("subject", language, week=summary.week.number, brands=names)
    context = _context(summary, settings, language, chosen, subject)
    filters = _filters(summary.timezone, language)
    html = (
        _environment(True, filters)
        .get_template("weekly.html.j2")
        .render(**context, src=lambda name: f"cid:{name}@{CID_DOMAIN}")
    )
    text = _environment(False, filters).get_template("weekly.txt.j2").render(**context)
    return RenderedEmail(subject, html, text, tuple(images), language)


def _filters(timezone: str, language: str) -> dict[str, Any]:
    zone = ZoneInfo(timezone)
    thousands = "." if language == "nl" else ","
    weekdays = WEEKDAYS.get(language, WEEKDAYS["en"])

    def number(value: int) -> str:
        return f"{value:,}".replace(",", thousands)

    def day(moment: datetime) -> str:
        local = moment.astimezone(zone)
        return f"{weekdays[local.weekday()]} {local.day}/{local.month}"

    def moment(value: datetime) -> str:
        return f"{day(value)} {value.astimezone(zone):%H:%M}"

    return {"number": number, "day": day, "moment": moment}


def _context(
    summary: WeeklySummary,
    settings: Settings,
    language: str,
    chosen: Sequence[BrandWeek],
    subject: str,
) -> dict[str, Any]:
    phases = {p.key: p.label(language) for p in settings.phases}
    targets = {p.key: p.target for p in settings.phases}
    rows = tuple(
        _ComparisonRow(
            phase=key,
            name=name,
            values=tuple(
                (
                    c.phases.get(key),
                    c.own,
                    None if c.phases.get(key) is None else (c.phases[key] or 0.0) - targets[key],
                    c.brand,
                )
                for c in summary.comparison
            ),
        )
        for key, name in phases.items()
    )
    week = summary.week
    return {
        "lang": language,
        "t": lambda key, **values: t(key, language, **values),
        "subject": subject,
        "organisation": settings.organisation.name,
        "week_label": week.label,
        "week_text": t(
            "week_of",
            language,
            number=week.number,
            start=long_date(week.monday, language),
            end=long_date(week.sunday, language),
        ),
        "timezone": summary.timezone,
        "brands": chosen,
        "phase_names": phases,
        "comparison": summary.comparison,
        "comparison_rows": rows,
        "window": settings.alerts.window_minutes,
    }


def preview_html(rendered: RenderedEmail) -> str:
    """The HTML with every cid: image replaced by a data: URI, to open straight in a browser."""
    html = rendered.html
    for image in rendered.images:
        data = base64.b64encode(image.png).decode("ascii")
        html = html.replace(f"cid:{image.cid}", f"data:image/png;base64,{data}")
    return html


def to_message(rendered: RenderedEmail, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """multipart/alternative: text/plain, then multipart/related (text/html + inline PNGs)."""
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or CID_DOMAIN)
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    html_part = message.get_payload()[1]  # type: ignore[index]
    for image in rendered.images:
        html_part.add_related(
            image.png,
            maintype="image",
            subtype="png",
            cid=f"<{image.cid}>",
            filename=f"{image.name}.png",
            disposition="inline",
        )
    # Set last: turning the message multipart moves every Content-* header into the first part.
    message["Content-Language"] = rendered.language
    return message


def preview(settings: Settings, engine: Engine, week: str, out: Path, language: str) -> Path:
    """Write the week's e-mail (every own brand) as one HTML file with its images embedded."""
    rendered = render(build_summary(engine, settings, week), settings, language)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(preview_html(rendered), encoding="utf-8")
    return out
