"""Language per message with lingua, which ships its own models and works on short texts.

Anything that is not confidently Dutch or English is reported as "other" (kept, but flagged)."""

from __future__ import annotations

from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

# Candidates beyond nl/en so that German or French is not forced into one of them.
_CANDIDATES = (
    Language.DUTCH,
    Language.ENGLISH,
    Language.GERMAN,
    Language.FRENCH,
    Language.SPANISH,
    Language.ITALIAN,
)
_CODES = {Language.DUTCH: "nl", Language.ENGLISH: "en"}


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    return (
        LanguageDetectorBuilder.from_languages(*_CANDIDATES)
        .with_preloaded_language_models()
        .build()
    )


def detect_language(text: str, hint: str | None = None) -> str:
    """'nl', 'en' or 'other'. A source's hint wins when the text itself is too short to tell."""
    letters = sum(ch.isalpha() for ch in text)
    if letters < 3:
        return hint if hint in ("nl", "en") else "other"
    language = _detector().detect_language_of(text)
    if language is None:
        return hint if hint in ("nl", "en") else "other"
    return _CODES.get(language, "other")


def detect_languages(texts: list[str], hints: list[str | None] | None = None) -> list[str]:
    hints = hints or [None] * len(texts)
    found = _detector().detect_languages_in_parallel_of(texts)
    out = []
    for text, hint, language in zip(texts, hints, found, strict=True):
        if sum(ch.isalpha() for ch in text) < 3 or language is None:
            out.append(hint if hint in ("nl", "en") else "other")
        else:
            out.append(_CODES.get(language, "other"))
    return out
