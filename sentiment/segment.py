"""Splitting a message into units (sentences, contrast clauses) that each get a phase and a score.

"Mooie laptop, maar de bezorger was te laat" is two units: the "maar"/"but" turns the sentiment."""

from __future__ import annotations

import re

# Tokens whose dots are not sentence ends: abbreviations (nl/en), URLs, e-mail-like and decimals.
_ABBREVIATIONS = (
    "bijv",
    "bv",
    "o.a",
    "d.w.z",
    "m.b.t",
    "i.p.v",
    "t.a.v",
    "z.s.m",
    "evt",
    "ca",
    "enz",
    "etc",
    "mr",
    "mw",
    "dhr",
    "mevr",
    "dr",
    "nr",
    "tel",
    "vs",
    "e.g",
    "i.e",
    "approx",
    "no",
    "st",
)
_PROTECT = re.compile(
    r"https?://\S+|www\.\S+|\S+@\S+\.\w+|\d+[.,]\d+|"
    r"\b(?:" + "|".join(re.escape(a) for a in _ABBREVIATIONS) + r")\.",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\n+")
# Contrast markers start a new unit; the marker stays with the clause it introduces.
_CONTRAST = re.compile(
    r"[,;]?\s+(?=(?:maar|echter|alleen jammer|helaas|but|however|although|though|though,)\b)",
    re.IGNORECASE,
)
_MIN_WORDS = 2
_MAX_CHARS = (
    1000  # a unit longer than this is cut at word boundaries: models read 128 tokens anyway
)


def split_units(text: str) -> list[str]:
    """Sentences, then contrast clauses; empty input gives no units."""
    text = text.strip()
    if not text:
        return []
    protected: list[str] = []

    def _hide(match: re.Match[str]) -> str:
        protected.append(match.group(0))
        return f"\x00{len(protected) - 1}\x00"

    def _show(chunk: str) -> str:
        return re.sub(r"\x00(\d+)\x00", lambda m: protected[int(m.group(1))], chunk)

    hidden = _PROTECT.sub(_hide, text)
    units: list[str] = []
    for sentence in _SENTENCE_END.split(hidden):
        clauses = _CONTRAST.split(sentence)
        merged: list[str] = []
        for clause in clauses:
            # A clause too short to stand alone ("maar ja") joins its neighbour.
            if merged and len(clause.split()) < _MIN_WORDS:
                merged[-1] = f"{merged[-1]} {clause}"
            elif merged and len(merged[-1].split()) < _MIN_WORDS:
                merged[-1] = f"{merged[-1]} {clause}"
            else:
                merged.append(clause)
        units.extend(_show(c).strip(" ,;") for c in merged)
    return [chunk for unit in units if unit for chunk in _cut(unit)]


def _cut(unit: str) -> list[str]:
    if len(unit) <= _MAX_CHARS:
        return [unit]
    pieces, current = [], ""
    for word in unit.split():
        if current and len(current) + len(word) + 1 > _MAX_CHARS:
            pieces.append(current)
            current = ""
        current = f"{current} {word}".strip()
    return pieces + ([current] if current else [])
