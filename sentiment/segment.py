"""Splitting a message into units (sentences, contrast clauses) that each get a phase and a score.

"Mooie laptop, maar de bezorger was te laat" is two units: the "maar"/"but" turns the sentiment
("even though" does not start one). A handle, tags or emoji after the last full stop are no unit
of their own ("…all day!! @voltera_nl" is one unit), and `model_texts` is what a sentiment
model and the phases' similarity read of units (rules 6, 7 and 9 in docs/quality.md).
Given the phases' keywords (`phases_of`), a sentence is also cut at a comma, semicolon, colon or
"and"/"en" where the two sides name different phases: "the agent hung up on me, the battery
lasts two days" is a service unit and a use unit. Every other comma and "and" stays inside its
unit: cutting them all cost message accuracy. The Analyzer does not ask for these cuts
(pipeline.PHASE_CUTS): measured, they made the score of each phase less often right, because a
cut before "and" splits a shared predicate ("the food || and service were excellent";
docs/quality.md, "Units and the message score")."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence

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
_URL = r"https?://\S+|www\.\S+"
_PROTECT = re.compile(
    _URL + r"|\S+@\S+\.\w+|\d+[.,]\d+|"
    r"\b(?:" + "|".join(re.escape(a) for a in _ABBREVIATIONS) + r")\.",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\n+")
# Contrast markers start a new unit; the marker stays with the clause it introduces. "though"
# after "even" or "as" does not: "never came even though I was home" is one complaint.
_CONTRAST = re.compile(
    r"[,;]?\s+(?=(?:maar|echter|alleen jammer|helaas|but|however|although)\b)"
    r"|(?<!\beven)(?<!\bas)[,;]?\s+(?=though\b)",
    re.IGNORECASE,
)
# What a unit may hold besides words without being one: handles, hashtags, URLs (_join_bare).
_NOT_WORDS = re.compile(_URL + r"|[@#]\w+")
# "@voltera_nl", "@united:", a private person's handle as redacted ("[@gebruiker]", ingest.redact);
# not the "@" of an e-mail address
_HANDLE = re.compile(r"\[@\w+\]|(?<![\w@])@\w+:?")
# Where a unit may be cut when its two sides name different phases; "and"/"en" stays with the
# clause it introduces. A colon or comma needs a space after it ("12:30", "12,99" never cut).
_PHASE_CUT = re.compile(r"\s*[,;]\s+|:\s+|\s+(?=(?:and|en)\b)", re.IGNORECASE)
_MIN_WORDS = 2
_MAX_CHARS = (
    1000  # a unit longer than this is cut at word boundaries: models read 128 tokens anyway
)


def split_units(text: str, phases_of: Callable[[str], Collection[str]] | None = None) -> list[str]:
    """Sentences, then contrast clauses; empty input gives no units. With `phases_of` (the
    phases whose keywords a text holds, phases.PhaseKeywords) also clauses about different
    phases (cut_by_phase)."""
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
    units = [chunk for unit in _join_bare([u for u in units if u]) for chunk in _cut(unit)]
    if phases_of is None:
        return units
    return [piece for unit in units for piece in cut_by_phase(unit, phases_of)]


def without_handles(text: str) -> str:
    """The text a sentiment model reads: the @handles left out (rule 7, docs/quality.md). A
    handle says whom a message is for, not how its writer feels, and the built-in adapters read
    Dutch posts with a handle too positively. A text of nothing but handles stays as it is."""
    if "@" not in text:
        return text
    kept = " ".join(_HANDLE.sub(" ", text).split()).lstrip(".:,; ")
    return kept or text


def model_texts(texts: Sequence[str]) -> list[str]:
    """What a model reads of these texts, for the sentiment (rule 7) and for the phases'
    similarity (rule 9): each `without_handles`."""
    return [without_handles(text) for text in texts]


def cut_by_phase(unit: str, phases_of: Callable[[str], Collection[str]]) -> list[str]:
    """The unit cut at ", ", ";", ": " and before "and"/"en" into pieces; walking left to right,
    a piece of two words or more starts a new unit only where it and the unit so far each name
    phases by keyword and share none, else it joins the unit so far."""
    cuts = list(_PHASE_CUT.finditer(unit))
    starts = [0] + [m.end() for m in cuts]
    ends = [m.start() for m in cuts] + [len(unit)]
    pieces = [(a, b) for a, b in zip(starts, ends, strict=True) if unit[a:b].strip()]
    if len(pieces) < 2:
        return [unit]
    groups: list[list[int]] = [[pieces[0][0], pieces[0][1]]]
    named = set(phases_of(unit[pieces[0][0] : pieces[0][1]]))
    for start, end in pieces[1:]:
        piece = unit[start:end]
        mine = set(phases_of(piece))
        if mine and named and not mine & named and len(piece.split()) >= _MIN_WORDS:
            groups.append([start, end])
            named = mine
        else:
            groups[-1][1] = end
            named |= mine
    return [unit[a:b].strip(" ,;") for a, b in groups]


def _join_bare(units: list[str]) -> list[str]:
    """Units with no word outside handles, hashtags and URLs ("@voltera_nl", "😡😡", "#fail")
    join the unit before them, or the one after where they come first: alone they are about
    no phase and say nothing of their own. A text of nothing else stays one unit."""
    joined: list[str] = []
    leading: list[str] = []  # bare units before the first unit with words
    for unit in units:
        if re.search(r"\w", _NOT_WORDS.sub(" ", unit)) is None:
            if joined:
                joined[-1] = f"{joined[-1]} {unit}"
            else:
                leading.append(unit)
        else:
            joined.append(" ".join([*leading, unit]))
            leading = []
    return joined + ([" ".join(leading)] if leading else [])


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
