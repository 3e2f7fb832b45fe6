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
    "gap_on": {"nl": "op de belofte", "en": "on the promise"},
    "model": {"nl": "model", "en": "model"},
    "review": {"nl": "review", "en": "review"},
    "social": {"nl": "social", "en": "social"},
    "chat": {"nl": "chat", "en": "chat"},
    "general": {"nl": "algemeen", "en": "general"},
    "status_title": {"nl": "Status van de bronnen", "en": "Source status"},
    "unscored": {"nl": "wachten op score", "en": "waiting to be scored"},
    "models_title": {"nl": "Modellen, laatste 24 uur", "en": "Models, last 24 hours"},
    "scored": {"nl": "gescoord", "en": "scored"},
    "last_scored": {"nl": "laatst gescoord", "en": "last scored"},
    "no_scores": {"nl": "nog niets gescoord", "en": "nothing scored yet"},
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
    "wall_biggest_drop": {"nl": "grootste daling", "en": "biggest drop"},
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
    "wall_journey_legend": {
        "nl": "▲▼ verschil met de belofte (doel) · ↗↘ vergeleken met de {hours} uur daarvoor · "
        "tussen de fasen: de overdracht, ▼ waar het gevoel daalt",
        "en": "▲▼ difference from the promise (target) · ↗↘ compared with the {hours} h before · "
        "between phases: the handoff, ▼ where sentiment drops",
    },
    "wall_now": {"nl": "nu", "en": "now"},
    "wall_weekdays": {"nl": "ma di wo do vr za zo", "en": "Mon Tue Wed Thu Fri Sat Sun"},
}


def t(key: str, language: str, **values: object) -> str:
    text = TEXTS[key].get(language) or TEXTS[key]["en"]
    return text.format(**values) if values else text


def pick_language(requested: str | None, default: str) -> str:
    return requested if requested in ("nl", "en") else default


# The manager's login and explorer (dashboard/auth.py, dashboard/pages/explore.py).
TEXTS.update(
    {
        "login_title": {"nl": "Inloggen voor de verkenner", "en": "Log in to the explorer"},
        "login_username": {"nl": "Gebruikersnaam", "en": "Username"},
        "login_password": {"nl": "Wachtwoord", "en": "Password"},
        "login_submit": {"nl": "Inloggen", "en": "Log in"},
        "login_public": {"nl": "naar het live-scherm", "en": "to the live screen"},
        "login_failed": {
            "nl": "Gebruikersnaam of wachtwoord klopt niet.",
            "en": "Wrong username or password.",
        },
        "login_throttled": {
            "nl": "Te veel mislukte pogingen. Probeer het over {minutes} min. opnieuw.",
            "en": "Too many failed attempts. Try again in {minutes} min.",
        },
        "login_expired": {
            "nl": "Het formulier was verlopen; probeer het nog eens.",
            "en": "The form had expired; please try again.",
        },
        "ex_title": {"nl": "Verkenner", "en": "Explorer"},
        "ex_logout": {"nl": "Uitloggen", "en": "Log out"},
        "ex_role_viewer": {"nl": "kijker", "en": "viewer"},
        "ex_role_manager": {"nl": "manager", "en": "manager"},
        "ex_role_admin": {"nl": "beheerder", "en": "admin"},
        "ex_role_customer": {"nl": "klant", "en": "customer"},
        "ex_role_agent": {"nl": "medewerker", "en": "agent"},
        "ex_role_bot": {"nl": "bot", "en": "bot"},
        "ex_brands": {"nl": "Merken", "en": "Brands"},
        "ex_phases": {"nl": "Fasen", "en": "Phases"},
        "ex_channels": {"nl": "Kanalen", "en": "Channels"},
        "ex_sources": {"nl": "Bronnen", "en": "Sources"},
        "ex_languages": {"nl": "Taal", "en": "Language"},
        "ex_period": {"nl": "Periode", "en": "Period"},
        "ex_period_24h": {"nl": "24 uur", "en": "24 h"},
        "ex_period_7d": {"nl": "7 dagen", "en": "7 days"},
        "ex_period_30d": {"nl": "30 dagen", "en": "30 days"},
        "ex_period_90d": {"nl": "90 dagen", "en": "90 days"},
        "ex_period_custom": {"nl": "eigen", "en": "custom"},
        "ex_score": {"nl": "Sentiment", "en": "Sentiment"},
        "ex_search": {"nl": "Zoeken in tekst", "en": "Search text"},
        "ex_search_hint": {"nl": "woorden, bv. pakket kwijt", "en": "words, e.g. parcel lost"},
        "ex_unhandled": {"nl": "alleen onbehandeld", "en": "unhandled only"},
        "ex_all": {"nl": "alle", "en": "all"},
        "ex_no_brand": {"nl": "(geen merk)", "en": "(no brand)"},
        "ex_reset": {"nl": "Filters wissen", "en": "Clear filters"},
        "ex_export": {"nl": "Exporteren", "en": "Export"},
        "ex_export_hint": {
            "nl": "Alle berichten in de tabel hieronder (filter plus aangeklikt element).",
            "en": "Every message in the table below (filter plus clicked element).",
        },
        "ex_kpi_mentions": {"nl": "fase-vermeldingen", "en": "phase mentions"},
        "ex_kpi_mean": {"nl": "gemiddeld sentiment", "en": "mean sentiment"},
        "ex_kpi_negative": {"nl": "negatief", "en": "negative"},
        "ex_sampled": {
            "nl": "Deze filter leest berichten zelf: de grafieken tonen de nieuwste 6.000 "
            "fase-vermeldingen.",
            "en": "This filter reads messages directly: the charts show the newest 6,000 "
            "phase mentions.",
        },
        "ex_histogram_sampled": {
            "nl": "De verdeling toont de nieuwste 5.000 fase-vermeldingen.",
            "en": "The distribution shows the newest 5,000 phase mentions.",
        },
        "ex_trend": {
            "nl": "Sentiment per fase door de tijd (stippellijn = belofte)",
            "en": "Sentiment per phase over time (dotted line = promise)",
        },
        "ex_heatmap": {
            "nl": "Fase × merk: verschil met de belofte",
            "en": "Phase × brand: gap to the promise",
        },
        "ex_journey": {
            "nl": "De klantreis, ▼ = val bij de overdracht",
            "en": "The customer journey, ▼ = drop at the handoff",
        },
        "ex_channel": {"nl": "Volume per kanaal", "en": "Volume per channel"},
        "ex_distribution": {"nl": "Verdeling van de scores", "en": "Distribution of scores"},
        "ex_gap": {"nl": "verschil", "en": "gap"},
        "ex_sentiment": {"nl": "sentiment", "en": "sentiment"},
        "ex_no_data": {
            "nl": "Geen berichten voor deze filter",
            "en": "No messages for this filter",
        },
        "ex_complaints": {"nl": "Waar klanten over klagen", "en": "What customers complain about"},
        "ex_complaints_hint": {
            "nl": "Per fase de woorden en woordparen die de negatieve zinnen van die fase "
            "onderscheiden. Klik voor de berichten.",
            "en": "Per phase the words and word pairs that set its negative sentences apart. "
            "Click for the messages.",
        },
        "ex_no_complaints": {
            "nl": "Geen negatieve zinnen voor deze filter.",
            "en": "No negative sentences for this filter.",
        },
        "ex_drivers": {"nl": "Wat het cijfer bepaalt", "en": "What drives the score"},
        "ex_drivers_summary": {
            "nl": "{n} berichten met sterren, gemiddeld {mean}; verklaarde variantie R² = {r2}.",
            "en": "{n} rated messages, mean {mean}; variance explained R² = {r2}.",
        },
        "ex_drivers_capped": {
            "nl": "(de nieuwste 10.000)",
            "en": "(the newest 10,000)",
        },
        "ex_effect": {"nl": "sterren per +1 sentiment", "en": "stars per +1 sentiment"},
        "ex_impact": {
            "nl": "sterren erbij zonder klachten",
            "en": "stars gained without complaints",
        },
        "ex_no_ratings": {
            "nl": "Te weinig berichten met sterren voor deze filter",
            "en": "Too few rated messages for this filter",
        },
        "ex_drivers_method": {
            "nl": "Methode: voor elk bericht met een sterrencijfer nemen we per fase het "
            "sentiment over die fase (0 als de fase niet genoemd wordt) en schatten met "
            "kleinste kwadraten hoeveel sterren één punt meer sentiment over die fase oplevert, "
            "terwijl de andere fasen gelijk blijven (links). De balkjes rechts tonen de impact: "
            "hoeveel hoger het gemiddelde cijfer zou zijn als de negatieve vermeldingen van die "
            "fase neutraal waren geweest (effect × het gemiddelde negatieve sentiment over alle "
            "berichten). De strepen zijn 95%-betrouwbaarheidsintervallen uit 200 "
            "bootstrap-steekproeven (Poisson-gewichten). Het is samenhang, geen bewezen "
            "oorzaak; fasen met minder dan 30 vermeldingen krijgen geen schatting.",
            "en": "Method: for every message with a star rating we take its sentiment about "
            "each phase (0 when the phase is not mentioned) and estimate by least squares how "
            "many stars one point more sentiment about that phase is worth, with the other "
            "phases held equal (left). The bars on the right show the impact: how much higher "
            "the mean rating would be if that phase's negative mentions had been neutral "
            "(effect × the mean negative sentiment over all messages). Whiskers are 95% "
            "confidence intervals from 200 bootstrap resamples (Poisson weights). It is "
            "association, not proven cause; phases with fewer than 30 mentions get no estimate.",
        },
        "ex_verbatims": {"nl": "De berichten erachter", "en": "The messages behind it"},
        "ex_selection_all": {
            "nl": "Alle berichten van de filter. Klik op een grafiek om in te zoomen.",
            "en": "All messages of the filter. Click a chart to narrow down.",
        },
        "ex_selection": {"nl": "Aangeklikt: {what}", "en": "Clicked: {what}"},
        "ex_clear": {"nl": "toon alles", "en": "show all"},
        "ex_col_time": {"nl": "tijd", "en": "time"},
        "ex_col_channel": {"nl": "kanaal", "en": "channel"},
        "ex_col_brand": {"nl": "merk", "en": "brand"},
        "ex_col_phases": {"nl": "fasen", "en": "phases"},
        "ex_col_sentiment": {"nl": "sentiment", "en": "sentiment"},
        "ex_col_rating": {"nl": "sterren", "en": "rating"},
        "ex_col_handled": {"nl": "behandeld", "en": "handled"},
        "ex_col_text": {"nl": "tekst", "en": "text"},
        "ex_yes": {"nl": "ja", "en": "yes"},
        "ex_pick_message": {
            "nl": "Klik op een bericht in de tabel om het helemaal te lezen.",
            "en": "Click a message in the table to read it in full.",
        },
        "ex_gone": {"nl": "Dit bericht bestaat niet meer.", "en": "This message no longer exists."},
        "ex_conversation": {"nl": "Het gesprek", "en": "The conversation"},
        "ex_ending": {
            "nl": "Zo eindigde het voor de klant: {label} ({score})",
            "en": "How it ended for the customer: {label} ({score})",
        },
        "ex_handle": {"nl": "Afhandeling", "en": "Handling"},
        "ex_handled": {"nl": "behandeld", "en": "handled"},
        "ex_assignee": {"nl": "toegewezen aan (collega)", "en": "assigned to (colleague)"},
        "ex_note": {"nl": "notitie", "en": "note"},
        "ex_save": {"nl": "Opslaan", "en": "Save"},
        "ex_saved": {"nl": "Opgeslagen om {time}", "en": "Saved at {time}"},
        "ex_viewer_readonly": {
            "nl": "Als kijker kun je berichten lezen, niet afhandelen.",
            "en": "As a viewer you can read messages, not handle them.",
        },
        "ex_viewer_denied": {
            "nl": "Niet opgeslagen: alleen managers mogen berichten afhandelen.",
            "en": "Not saved: only managers may handle messages.",
        },
    }
)

# The explorer's alert band and its corrections of a misread sentence or message
# (dashboard/components/explore_alerts.py, explore_corrections.py).
TEXTS.update(
    {
        "ex_alerts": {"nl": "Alarmen", "en": "Alerts"},
        "ex_alerts_hint": {
            "nl": "Actieve alarmen en die van deze periode, voor de gefilterde merken en fasen. "
            "Klik voor de berichten erachter.",
            "en": "Open alerts and those of this period, for the filtered brands and phases. "
            "Click for the messages behind them.",
        },
        "ex_no_alerts": {
            "nl": "Geen alarmen voor deze merken en fasen in deze periode.",
            "en": "No alerts for these brands and phases in this period.",
        },
        "ex_alert_open": {"nl": "actief", "en": "active"},
        "ex_alert_ended": {"nl": "afgelopen", "en": "ended"},
        "ex_alert_why": {
            "nl": "{observed} negatieve vermeldingen in {minutes} min, verwacht {expected}",
            "en": "{observed} negative mentions in {minutes} min, expected {expected}",
        },
        "ex_alert_since": {"nl": "sinds {start}", "en": "since {start}"},
        "ex_alert_show": {"nl": "toon de berichten →", "en": "show the messages →"},
        "ex_fix_title": {
            "nl": "Verkeerd gelezen? Verbeter het sentiment of de fase",
            "en": "Read wrongly? Correct the sentiment or the phase",
        },
        "ex_fix_hint": {
            "nl": "Eén klik legt de juiste lezing vast als label; het eigen model leert ervan. "
            "Gestippeld: wat het model las. Een latere correctie telt boven een eerdere.",
            "en": "One click records the right reading as a label; your own model learns from "
            "it. Dashed: what the model read. A later correction counts over an earlier one.",
        },
        "ex_fix_whole": {"nl": "Het hele bericht", "en": "The whole message"},
        "ex_fix_sentence": {"nl": "zin {n}", "en": "sentence {n}"},
        "ex_fix_message": {"nl": "hele bericht", "en": "whole message"},
        "ex_fix_phase": {"nl": "juiste fase…", "en": "right phase…"},
        "ex_fix_existing": {
            "nl": "Correcties van dit bericht",
            "en": "Corrections of this message",
        },
        "ex_fix_none": {"nl": "Nog geen correcties.", "en": "No corrections yet."},
        "ex_fix_line": {
            "nl": "{time} · {who}: {target} → {what} (model: {model})",
            "en": "{time} · {who}: {target} → {what} (model: {model})",
        },
        "ex_fix_recorded": {
            "nl": "Vastgelegd om {time}: {what}",
            "en": "Recorded at {time}: {what}",
        },
        "ex_fix_viewer": {
            "nl": "Als kijker kun je de lezing niet verbeteren.",
            "en": "As a viewer you cannot correct the reading.",
        },
        "ex_fix_denied": {
            "nl": "Niet vastgelegd: alleen managers mogen correcties geven.",
            "en": "Not recorded: only managers may correct a reading.",
        },
        "ex_fix_failed": {"nl": "Niet vastgelegd: {error}", "en": "Not recorded: {error}"},
    }
)
