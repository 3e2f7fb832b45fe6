"""What customers complain about: the terms and word pairs that set one phase's negative
sentences apart from the other phases' (class-based TF-IDF, Dutch and English stop words)."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Function words of Dutch and English. Negations and "te"/"too" are deliberately NOT here:
# "niet geleverd", "te laat", "never again" are what a complaint is about.
STOP_WORDS = frozenset(
    """
    de het een en of maar dan dat die dit deze wat wie waar wanneer hoe waarom want omdat als
    ik je jij u hij zij ze we wij jullie mij me mijn jouw uw zijn haar hun ons onze men
    is ben bent was waren wordt worden werd werden zijn heb hebt heeft hadden had hebben kan
    kunnen kon konden zal zullen zou zouden moet moeten mag mogen wil willen ga gaat gaan
    in op aan bij met voor van naar uit over onder om tot door tegen zonder na tussen per
    er hier daar nu al ook nog wel toch even heel erg zo zeer echt gewoon eens weer dus
    er's zich zelf iets niets iemand alles veel meer meest weinig
    the a an and or but if then that this these those what who where when how why because as
    i you he she it we they me my your his her its our their us them mine
    is am are was were be been being has have had do does did will would shall should can
    could may might must
    in on at by with for of to from up down out over under about into through after before
    there here now also still just very really so quite even again only then than
    dezelfde hetzelfde zelfde same
    """.split()
)
# Words that only mean something next to another word: kept in pairs ("te laat", "geen geld",
# "never again"), dropped on their own.
MODIFIERS = frozenset("niet geen nooit te nog steeds not no never too".split())
WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)  # letters only: no numbers, no placeholders' "[]"
MIN_COUNT = 3  # a term said fewer times than this is anecdote, not a theme


@dataclass(frozen=True)
class Term:
    term: str
    count: int
    weight: float


def tokens(text: str) -> list[str]:
    return WORD.findall(text.lower())


def candidates(text: str) -> list[str]:
    """Unigrams and bigrams of one sentence, stop words left out (a pair needs two content
    words, so "de bezorger" counts as "bezorger" and "te laat" as a pair)."""
    words = tokens(text)
    found = [w for w in words if w not in STOP_WORDS and w not in MODIFIERS]
    found += [
        f"{a} {b}"
        for a, b in zip(words, words[1:], strict=False)
        if a not in STOP_WORDS and b not in STOP_WORDS and not (a in MODIFIERS and b in MODIFIERS)
    ]
    return found


def top_terms(
    units: Iterable[tuple[str, str]], per_phase: int = 8, ignore: Sequence[str] = ()
) -> dict[str, list[Term]]:
    """Per phase its most distinctive complaint terms, by c-TF-IDF (Grootendorst 2022):
    weight = tf(term, phase) / words(phase) × log(1 + mean words per phase / f(term)),
    where f is the term's count over all phases. Terms common to every phase sink."""
    ignored = {w.lower() for w in ignore}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for phase, text in units:
        counts[phase].update(c for c in candidates(text) if c not in ignored)
    if not counts:
        return {}
    overall: Counter[str] = Counter()
    for counter in counts.values():
        overall.update(counter)
    sizes = {phase: sum(counter.values()) for phase, counter in counts.items()}
    average = sum(sizes.values()) / len(sizes)
    result: dict[str, list[Term]] = {}
    for phase, counter in counts.items():
        scored = [
            Term(term, n, n / sizes[phase] * math.log(1 + average / overall[term]))
            for term, n in counter.items()
            if n >= MIN_COUNT
        ]
        scored.sort(key=lambda item: (-item.weight, item.term))
        pairs = [item for item in scored if " " in item.term][: per_phase * 2]
        chosen: list[Term] = []
        for item in scored:
            # A word that mostly occurs inside a strong pair adds nothing next to that pair.
            if " " not in item.term and any(
                item.term in pair.term.split() and pair.count >= 0.6 * item.count for pair in pairs
            ):
                continue
            chosen.append(item)
            if len(chosen) == per_phase:
                break
        result[phase] = chosen
    return result
