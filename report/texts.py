"""Every text a reader of a CX Pulse e-mail sees (weekly summary, alert), in Dutch and English.

Kept apart from dashboard/i18n.py because report/ must not depend on the dashboard."""

from __future__ import annotations

from datetime import date

TEXTS: dict[str, dict[str, str]] = {
    "title": {"nl": "Weekoverzicht klantbeleving", "en": "Weekly customer experience summary"},
    "subject": {
        "nl": "CX Pulse week {week}: {brands}",
        "en": "CX Pulse week {week}: {brands}",
    },
    "week_of": {"nl": "Week {number}, {start} t/m {end}", "en": "Week {number}, {start} to {end}"},
    "overall": {"nl": "Sentiment over alle fasen", "en": "Sentiment across all phases"},
    "target": {"nl": "doel", "en": "target"},
    "gap": {"nl": "verschil", "en": "gap"},
    "score": {"nl": "score", "en": "score"},
    "change": {"nl": "t.o.v. vorige week", "en": "vs last week"},
    "phase": {"nl": "fase", "en": "phase"},
    "mentions": {"nl": "vermeldingen", "en": "mentions"},
    "messages": {"nl": "berichten", "en": "messages"},
    "above": {"nl": "boven de belofte", "en": "above the promise"},
    "below": {"nl": "onder de belofte", "en": "below the promise"},
    "previous_week": {"nl": "vorige week", "en": "last week"},
    "no_data": {"nl": "geen berichten", "en": "no messages"},
    "journey": {"nl": "De klantreis deze week", "en": "The customer journey this week"},
    "journey_chart_alt": {
        "nl": "Staafdiagram: score per fase, met doel en vorige week",
        "en": "Bar chart: score per phase, with target and last week",
    },
    "trend_chart_alt": {
        "nl": "Lijndiagram: sentiment per dag, per merk",
        "en": "Line chart: sentiment per day, per brand",
    },
    "movers": {"nl": "Wat veranderde het meest", "en": "What changed most"},
    "improvement": {"nl": "Grootste verbetering", "en": "Biggest improvement"},
    "decline": {"nl": "Grootste daling", "en": "Biggest decline"},
    "no_mover": {"nl": "geen", "en": "none"},
    "from_to": {"nl": "van {before} naar {after}", "en": "from {before} to {after}"},
    "themes": {"nl": "Waar klanten over klagen", "en": "What customers complain about"},
    "negative_mentions": {
        "nl": "{count} negatieve vermeldingen",
        "en": "{count} negative mentions",
    },
    "recurring": {"nl": "terugkerend", "en": "recurring"},
    "no_themes": {"nl": "Geen klachten deze week.", "en": "No complaints this week."},
    "channels": {"nl": "Berichten per kanaal", "en": "Messages per channel"},
    "channel": {"nl": "kanaal", "en": "channel"},
    "share": {"nl": "aandeel", "en": "share"},
    "total": {"nl": "totaal", "en": "total"},
    "review": {"nl": "reviews", "en": "reviews"},
    "social": {"nl": "social media", "en": "social media"},
    "chat": {"nl": "chats", "en": "chats"},
    "alerts": {"nl": "Meldingen deze week", "en": "Alerts this week"},
    "no_alerts": {"nl": "Geen meldingen deze week.", "en": "No alerts this week."},
    "alert_when": {"nl": "begin", "en": "started"},
    "alert_until": {"nl": "einde", "en": "ended"},
    "still_open": {"nl": "nog open", "en": "still open"},
    "observed": {"nl": "negatief in {minutes} min", "en": "negative in {minutes} min"},
    "expected": {"nl": "verwacht", "en": "expected"},
    "competitors": {"nl": "Vergeleken met concurrenten", "en": "Compared with competitors"},
    "trend": {"nl": "Sentiment per dag", "en": "Sentiment per day"},
    "explore": {
        "nl": "Bekijk de berichten in de verkenner",
        "en": "See the messages in the explorer",
    },
    "method": {
        "nl": (
            "Scores lopen van -1 (negatief) tot +1 (positief): het gemiddelde per fasevermelding "
            "van klantberichten, in week {week} ({timezone}). Het doel over alle fasen is het "
            "gemiddelde van de fasedoelen, gewogen zoals de score. Citaten zijn ontdaan van "
            "persoonsgegevens."
        ),
        "en": (
            "Scores run from -1 (negative) to +1 (positive): the mean per phase mention of "
            "customer messages, in week {week} ({timezone}). The target across all phases is the "
            "phase targets weighted like the score. Quotes have personal data removed."
        ),
    },
    "sent_by": {
        "nl": "Verstuurd door CX Pulse voor {organisation}.",
        "en": "Sent by CX Pulse for {organisation}.",
    },
    "alert_subject": {
        "nl": "CX Pulse melding: meer negatieve berichten over {phase} bij {brand}",
        "en": "CX Pulse alert: more negative messages about {phase} at {brand}",
    },
    "alert_text": {
        "nl": (
            "{brand} · {phase}: {observed} negatieve vermeldingen in de laatste {minutes} minuten, "
            "verwacht {expected}. Begonnen om {started}."
        ),
        "en": (
            "{brand} · {phase}: {observed} negative mentions in the last {minutes} minutes, "
            "expected {expected}. Started at {started}."
        ),
    },
    "alert_details": {"nl": "Details", "en": "Details"},
}

MONTHS = {
    "nl": (
        "januari februari maart april mei juni juli augustus september oktober november december"
    ).split(),
    "en": (
        "January February March April May June July August September October November December"
    ).split(),
}
WEEKDAYS = {"nl": "ma di wo do vr za zo".split(), "en": "Mon Tue Wed Thu Fri Sat Sun".split()}


def t(key: str, language: str, **values: object) -> str:
    text = TEXTS[key].get(language) or TEXTS[key]["en"]
    return text.format(**values) if values else text


def long_date(day: date, language: str) -> str:
    month = MONTHS.get(language, MONTHS["en"])[day.month - 1]
    return f"{day.day} {month} {day.year}"


def score(value: float | None) -> str:
    """The dashboard's format: signed, two decimals, '–' for no data."""
    return "–" if value is None else f"{value:+.2f}"
