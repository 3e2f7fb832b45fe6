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
}


def t(key: str, language: str, **values: object) -> str:
    text = TEXTS[key].get(language) or TEXTS[key]["en"]
    return text.format(**values) if values else text


def pick_language(requested: str | None, default: str) -> str:
    return requested if requested in ("nl", "en") else default
