"""Complaint themes: the terms and word pairs that recur in a phase's negative units, with quotes.

Deliberately simple and inspectable: counts of words (not in a Dutch/English stop list) per unit."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from storage.report_queries import NegativeUnit

STOP_WORDS = frozenset(
    """
    aan al alle alleen als altijd ben bij dan dat de deze die dit doen door dus een eens en er
    ga gaat geen had heb hebben heeft hem het hier hij hoe hun ik in is ja je jij jullie kan
    kon kunnen maar me meer men met mij mijn moet na naar niet niets nog nu of om omdat ons onze
    ook op over te tegen toch toe tot u uit uw van veel voor want waren was wat we wel werd
    wie wij wil worden wordt zal ze zei zelf zich zij zijn zo zonder zou echt even gewoon keer
    helemaal heel steeds weer al eigenlijk ineens nooit iets iemand elke sinds toen terwijl
    a about after again all also am an and any are as at be because been before but by can
    could did do does doing don't down even ever for from had has have having he her here him
    his how i i'm i've if in into is it it's its just me more most my no not now of off on
    once only or other our out over own really same she should so some still such than that
    the their them then there these they this those through to too under until up very was we
    were what when where which while who why will with would you your yet got get one two
    """.split()
)
_PLACEHOLDER = re.compile(r"\[[^\]]*\]")  # what redaction left: [naam], [telefoon], ...
_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#]\w+")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


@dataclass(frozen=True)
class Theme:
    """A phase's recurring complaint: its top terms, and quotes that contain the first."""

    phase: str
    negatives: int  # negative mentions of the phase in the week (from the rollups)
    terms: tuple[str, ...]
    quotes: tuple[NegativeUnit, ...]


def words(text: str) -> list[str | None]:
    """Lower-case words in order; None marks a stop word or a gap, so pairs never span one."""
    cleaned = _NOISE.sub(" | ", _PLACEHOLDER.sub(" | ", text.lower()))
    out: list[str | None] = []
    for piece in re.split(r"[|.,;:!?()\"]+", cleaned):
        for word in _WORD.findall(piece):
            out.append(None if word in STOP_WORDS or len(word) < 3 else word)
        out.append(None)
    return out


def top_terms(texts: Iterable[str], ignore: Iterable[str] = (), count: int = 3) -> list[str]:
    """The `count` most frequent terms, counting each at most once per text; a word pair that
    recurs (in at least 3 texts) goes before its single words, which it then stands for."""
    skip = {w.lower() for name in ignore for w in _WORD.findall(name)}
    singles: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    for text in texts:
        seq = [w if w not in skip else None for w in words(text)]
        singles.update({w for w in seq if w})
        pairs.update({f"{a} {b}" for a, b in zip(seq, seq[1:], strict=False) if a and b})
    chosen: list[str] = []
    covered: set[str] = set()
    for pair, n in pairs.most_common(count):
        if n >= 3:
            chosen.append(pair)
            covered.update(pair.split())
    for word, _ in singles.most_common():
        if len(chosen) >= count:
            break
        if word not in covered:
            chosen.append(word)
    # Keep the order of frequency across pairs and words, so the list reads as a ranking.
    frequency = {**{w: n for w, n in singles.items()}, **{p: n for p, n in pairs.items()}}
    return sorted(chosen[:count], key=lambda term: -frequency[term])


def quotes_for(
    units: Sequence[NegativeUnit], terms: Sequence[str], count: int = 3, max_chars: int = 220
) -> tuple[NegativeUnit, ...]:
    """Up to `count` distinct units (most negative first) containing the terms, shortened."""
    chosen: list[NegativeUnit] = []
    seen: set[str] = set()
    for term in terms:
        for unit in units:
            if len(chosen) >= count:
                break
            key = unit.text.strip().lower()
            joined = " ".join(w or "|" for w in words(unit.text))
            if key in seen or f" {term} " not in f" {joined} ":
                continue
            seen.add(key)
            chosen.append(_shortened(unit, max_chars))
    return tuple(chosen)


def _shortened(unit: NegativeUnit, max_chars: int) -> NegativeUnit:
    text = " ".join(unit.text.split())
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0].rstrip(",;:") + " …"
    return NegativeUnit(
        unit.message_id, text, unit.score, unit.channel, unit.language, unit.created_at
    )
