"""Every text a dashboard user reads, in Dutch and English."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "title": {"nl": "Zo ervaren klanten ons", "en": "How customers experience us"},
    "journey": {"nl": "Klantreis, laatste {hours} uur", "en": "Customer journey, last {hours} h"},
    "target": {"nl": "doel", "en": "target"},
    "messages": {"nl": "berichten", "en": "messages"},
    "no_messages": {"nl": "nog geen berichten", "en": "no messages yet"},
    "latest": {"nl": "Net binnen", "en": "Just in"},
    "updated": {"nl": "bijgewerkt {time}", "en": "updated {time}"},
    "stale": {
        "nl": "Let op: geen nieuwe berichten sinds {time}",
        "en": "Note: no new messages since {time}",
    },
    "waiting": {"nl": "Wachten op de eerste berichten…", "en": "Waiting for the first messages…"},
    "gap_above": {"nl": "boven de belofte", "en": "above the promise"},
    "gap_below": {"nl": "onder de belofte", "en": "below the promise"},
    "model": {"nl": "model", "en": "model"},
    "review": {"nl": "review", "en": "review"},
    "social": {"nl": "social", "en": "social"},
    "chat": {"nl": "chat", "en": "chat"},
    "general": {"nl": "algemeen", "en": "general"},
    "status_title": {"nl": "Status van de bronnen", "en": "Source status"},
    "unscored": {"nl": "wachten op score", "en": "waiting to be scored"},
    "source": {"nl": "bron", "en": "source"},
    "type": {"nl": "type", "en": "type"},
    "state": {"nl": "toestand", "en": "state"},
    "last_success": {"nl": "laatst gelukt", "en": "last success"},
    "items_fetched": {"nl": "opgehaald", "en": "fetched"},
    "failures": {"nl": "fouten op rij", "en": "failures in a row"},
    "last_error": {"nl": "laatste fout", "en": "last error"},
    "next_attempt": {"nl": "volgende poging", "en": "next attempt"},
    "quarantined": {"nl": "in quarantaine", "en": "quarantined"},
    "ok": {"nl": "ok", "en": "ok"},
    "failing": {"nl": "STORING", "en": "FAILING"},
    "never_run": {"nl": "nog niet gedraaid", "en": "not run yet"},
    # The wall screen (dashboard/pages/wall.py)
    "wall_journey": {
        "nl": "De klantreis: gevoel per fase, laatste {hours} uur, tegen onze belofte",
        "en": "The customer journey: sentiment per phase, last {hours} h, against our promise",
    },
    "wall_feed": {"nl": "Net binnen", "en": "Just in"},
    "wall_brands": {
        "nl": "{brand} tegen de concurrentie, per fase, laatste {hours} uur",
        "en": "{brand} vs competitors, per phase, last {hours} h",
    },
    "wall_trend": {
        "nl": "Trend per fase, laatste 7 dagen (stippellijn = belofte)",
        "en": "Trend per phase, last 7 days (dotted line = promise)",
    },
    "wall_moments": {"nl": "Momenten van vandaag", "en": "Today's moments"},
    "wall_vs_previous": {
        "nl": "{delta} t.o.v. vorige {hours} uur",
        "en": "{delta} vs previous {hours} h",
    },
    "wall_handoff": {"nl": "overdracht", "en": "handoff"},
    "wall_biggest_drop": {"nl": "grootste val", "en": "biggest drop"},
    "wall_best": {"nl": "Beste moment", "en": "Best moment"},
    "wall_worst": {"nl": "Slechtste moment", "en": "Worst moment"},
    "wall_no_moment": {"nl": "Vandaag nog niets", "en": "Nothing yet today"},
    "wall_endings": {
        "nl": "Zo eindigden de chats van vandaag (laatste beurt van de klant)",
        "en": "How today's chats ended (the customer's last turn)",
    },
    "wall_no_chats": {"nl": "Vandaag nog geen chats", "en": "No chats yet today"},
    "wall_conversations": {"nl": "gesprekken", "en": "conversations"},
    "wall_positive": {"nl": "positief", "en": "positive"},
    "wall_neutral": {"nl": "neutraal", "en": "neutral"},
    "wall_negative": {"nl": "negatief", "en": "negative"},
    "wall_own": {"nl": "eigen merk", "en": "own brand"},
    "wall_vs_best_rival": {"nl": "t.o.v. beste concurrent", "en": "vs best competitor"},
    "wall_phase": {"nl": "fase", "en": "phase"},
    "wall_updated": {"nl": "bijgewerkt {time}", "en": "updated {time}"},
    "wall_stale": {
        "nl": "Let op: laatste update {time} — er komen geen nieuwe berichten binnen",
        "en": "Note: last update {time} — no new messages are coming in",
    },
    "wall_offline": {
        "nl": "Geen verbinding met de server sinds {time} — dit zijn de laatst bekende cijfers",
        "en": "No connection to the server since {time} — these are the last known figures",
    },
    "wall_error": {
        "nl": "Storing bij het ophalen van de cijfers — dit zijn die van {time}",
        "en": "Trouble fetching the figures — these are from {time}",
    },
    "wall_alert": {"nl": "Alarm", "en": "Alert"},
    "wall_alert_since": {"nl": "sinds {time}", "en": "since {time}"},
    "wall_token_required": {
        "nl": "Dit scherm heeft een toegangscode nodig: open /wall?token=…",
        "en": "This screen needs an access token: open /wall?token=…",
    },
    "wall_unknown_screen": {
        "nl": "Onbekend scherm '{screen}': zie [dashboard.screens] in de configuratie",
        "en": "Unknown screen '{screen}': see [dashboard.screens] in the configuration",
    },
    "wall_today": {"nl": "vandaag", "en": "today"},
    "wall_weekdays": {"nl": "ma di wo do vr za zo", "en": "Mon Tue Wed Thu Fri Sat Sun"},
}


def t(key: str, language: str, **values: object) -> str:
    text = TEXTS[key].get(language) or TEXTS[key]["en"]
    return text.format(**values) if values else text


def pick_language(requested: str | None, default: str) -> str:
    return requested if requested in ("nl", "en") else default
