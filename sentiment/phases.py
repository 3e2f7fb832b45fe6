"""Which journey phases a unit talks about: transparent keyword evidence, then embedding similarity.

Phases are configuration (PhaseSpec); the same code serves another taxonomy (restaurant aspects).

Keywords match whole words with their regular inflections in Dutch and English ("delay" matches
"delays", "delayed"; "bezorger" matches "bezorgers"; never "late" inside "related"). A CX manager
can widen one on purpose with a `*`: "bezorg*" is any word starting with "bezorg", "*bezorger"
also matches the Dutch compound "pakketbezorger". @handles and URLs are not searched, and the
similarity below reads units without their handles (`segment.model_texts`, rule 9 in
docs/quality.md).

Each phase is represented by several prototypes (its descriptions, example phrases and
keywords); a unit's similarity to a phase is its highest cosine similarity to any of them. A
keyword hit adds `keyword_weight` to that phase's score; the unit gets every phase whose score is
within `margin` of the best one, so "the courier was late and the chat only said sorry" keeps
delivery and service. A unit without a keyword gets a phase by similarity only if it is at
least `threshold` similar to it and `general_margin` more similar to it than to topic-free
verdicts ("Great!", "Nooit meer.", GENERIC_STATEMENTS): sentence embeddings carry the sentiment
as much as the topic, so "Absolutely fantastic evening" is close to every positive example
phrase; otherwise the unit is "general". So is a unit without a keyword that similarity puts
within `margin` of more than half of the phases: close to everything, it is about nothing in
particular ("Ja, klopt."; rule 8 in docs/quality.md). The defaults were calibrated on the train
splits of the airline, customer-support and restaurant sets (docs/quality.md).

With a phase model learned from the team's phase labels (`learned`, an own model's `phases/`
adapter), its probability per phase takes the place of the prototype similarity: a unit is
"general" when that is the most likely class and no keyword occurs, and a keyword adds only
`learned_keyword_weight`, so it settles close calls while the team's corrections decide the
rest (a keyword that always won would make a correction of such a unit impossible to learn)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from sentiment.encoder import Encoder
from sentiment.segment import model_texts

if TYPE_CHECKING:
    from sentiment.adapted import AdaptedModel

GENERAL = "general"  # units about none of the phases

# Regular endings, Dutch and English together (the keywords of a phase mix both languages):
# plural, past tense, -ing/-ing(en), agent nouns, Dutch -e/-en and diminutives.
_SUFFIXES = ("s", "es", "'s", "ed", "ing", "ings", "er", "ers", "e", "en", "ingen", "je", "jes")
_SHORT_SUFFIXES = ("s", "'s")  # keywords of three letters or less ("bag", "fee", "app")
_VOWELS = "aeiou"
# Verdicts about no topic at all, Dutch and English: what "general" units look like.
GENERIC_STATEMENTS = (
    "Great!",
    "Terrible.",
    "I'm very disappointed.",
    "Highly recommended.",
    "Never again.",
    "Thank you!",
    "It was okay.",
    "What a great experience.",
    "The worst experience ever.",
    "Absolutely fantastic.",
    "Geweldig!",
    "Heel slecht.",
    "Ik ben zeer teleurgesteld.",
    "Een aanrader.",
    "Nooit meer.",
    "Bedankt!",
    "Het was oké.",
    "Wat een fijne ervaring.",
    "De slechtste ervaring ooit.",
    "Echt top.",
)
_NOT_SEARCHED = re.compile(r"https?://\S+|www\.\S+|@\w+")
_WORD = re.compile(r"\w+")


def inflections(word: str) -> set[str]:
    """The forms one keyword word matches: itself and its regular Dutch/English inflections."""
    word = word.lower()
    if len(word) <= 3:
        return {word, *(word + s for s in _SHORT_SUFFIXES)}
    forms = {word, *(word + s for s in _SUFFIXES)}
    last, before = word[-1], word[-2]
    if last == "e":  # charge → charged, charging, charger; late → later
        forms |= {word + "d", word + "r", word + "rs", word + "n", word[:-1] + "ing"}
    if last == "y" and before not in _VOWELS:  # delivery → deliveries; reply → replied
        forms |= {word[:-1] + "ies", word[:-1] + "ied"}
    if (
        last not in _VOWELS + "wxy"
        and before in _VOWELS
        and word[-3] not in _VOWELS
        and not word.endswith(("ing", "ed"))
    ):  # ship → shipped; stop → stopping; bestel → bestellen
        forms |= {word + last + s for s in ("ed", "ing", "er", "ers", "e", "en", "ingen")}
    return forms


def keyword_regex(keyword: str) -> str:
    """A regular expression for one keyword as a CX manager writes it (see the module doc)."""
    keyword = " ".join(keyword.lower().split())
    head = keyword.startswith("*")
    tail = keyword.endswith("*")
    words = keyword.strip("*").split(" ")
    parts = [re.escape(w) for w in words[:-1]]
    last = words[-1]
    if tail:
        parts.append(re.escape(last) + r"\w*")
    else:
        forms = sorted(inflections(last), key=len, reverse=True)
        parts.append("(?:" + "|".join(re.escape(f) for f in forms) + ")")
    body = r"[\s\-]+".join(parts)
    left = r"\w*" if head else r"(?<!\w)"
    return left + body + r"(?!\w)"


@dataclass(frozen=True)
class PhaseSpec:
    key: str
    descriptions: tuple[str, ...] = ()  # in any language; all are used
    keywords: tuple[str, ...] = ()  # a CX manager edits these in the config
    examples: tuple[str, ...] = ()  # example phrases customers write; prototypes only


class PhaseKeywords:
    """The configured phases' keywords, matched as the module doc says; no model needed, so the
    segmenter can ask it too (segment.split_units, `phases_of`)."""

    def __init__(self, phases: Sequence[PhaseSpec]) -> None:
        self.keys = tuple(phase.key for phase in phases)
        self._words: dict[str, set[int]] = {}  # form → phases
        self._patterns: dict[int, re.Pattern[str]] = {}
        for index, phase in enumerate(phases):
            # One plain word: a look-up of its forms (fast); phrases and wildcards: a regex.
            complex_keywords = []
            for keyword in (k for k in phase.keywords if k.strip("* ")):
                word = keyword.strip().lower()
                if _WORD.fullmatch(word):
                    for form in inflections(word):
                        self._words.setdefault(form, set()).add(index)
                else:
                    complex_keywords.append(keyword)
            if complex_keywords:
                self._patterns[index] = re.compile(
                    "|".join(keyword_regex(k) for k in complex_keywords), re.IGNORECASE
                )

    def __call__(self, text: str) -> tuple[str, ...]:
        """The phases whose keywords occur in the text (handles and URLs left out), in order."""
        searched = _NOT_SEARCHED.sub(" ", text).lower()
        found = {i for word in _WORD.findall(searched) for i in self._words.get(word, ())}
        found |= {i for i, pattern in self._patterns.items() if pattern.search(searched)}
        return tuple(self.keys[i] for i in sorted(found))


@dataclass
class PhaseMatcher:
    """Keyword evidence plus embedding similarity to each phase's prototypes (module doc)."""

    phases: Sequence[PhaseSpec]
    encoder: Encoder
    threshold: float = 0.35
    margin: float = 0.3
    keyword_weight: float = 1.0  # 1.0: a keyword hit always beats a phase without one
    general_margin: float = 0.2  # how much closer than to GENERIC_STATEMENTS, without keyword
    learned: AdaptedModel | None = None  # a phase model from the team's labels (module doc)
    learned_keyword_weight: float = 0.25
    keywords: PhaseKeywords = field(init=False)
    _prototypes: torch.Tensor = field(init=False)
    _owners: torch.Tensor = field(init=False)
    _generic: torch.Tensor = field(init=False)

    def __post_init__(self) -> None:
        self.keywords = PhaseKeywords(self.phases)
        exemplars: list[str] = []
        owners: list[int] = []
        for index, phase in enumerate(self.phases):
            for text in dict.fromkeys(
                (*phase.descriptions, *phase.examples, *(k.strip("*") for k in phase.keywords))
            ):
                if text.strip():
                    exemplars.append(text)
                    owners.append(index)
        self._prototypes = self.encoder.embed(exemplars)
        self._owners = torch.tensor(owners, dtype=torch.long)
        self._generic = self.encoder.embed(list(GENERIC_STATEMENTS))

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        """The embeddings `assign` expects: of the units without their @handles, as the keywords
        skip them (`segment.model_texts`, rule 9 in docs/quality.md)."""
        return self.encoder.embed(model_texts(texts))

    def keyword_phases(self, text: str) -> tuple[str, ...]:
        """The phases whose keywords occur in the text (handles and URLs left out)."""
        return self.keywords(text)

    def similarities(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Per unit × phase: the highest cosine similarity to any of the phase's prototypes."""
        out = torch.full((len(embeddings), len(self.phases)), -1.0)
        if not len(embeddings) or not len(self._owners):
            return out
        sims = embeddings @ self._prototypes.T
        owners = self._owners.unsqueeze(0).expand(len(embeddings), -1)
        return out.scatter_reduce(1, owners, sims.to(out.dtype), reduce="amax")

    def learned_probabilities(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(units × phases, units): the learned model's probability of each configured phase
        (0 for one it has no labels of) and of "general"."""
        assert self.learned is not None
        probs = self.learned.probabilities(self.learned.encoder.embed(texts))
        labels = self.learned.labels
        columns = [
            probs[:, labels.index(p.key)] if p.key in labels else torch.zeros(len(texts))
            for p in self.phases
        ]
        general = probs[:, labels.index(GENERAL)] if GENERAL in labels else torch.zeros(len(texts))
        return torch.stack(columns, dim=1), general

    def scores(self, texts: Sequence[str], embeddings: torch.Tensor) -> torch.Tensor:
        """Per unit × phase: similarity (or learned probability) plus the keyword weight where
        a keyword of it occurs."""
        return self._scores(texts, embeddings)[0]

    def _scores(
        self, texts: Sequence[str], embeddings: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(scores, keyword hits, about nothing: no keyword and closer to "general")."""
        keyword = torch.zeros((len(texts), len(self.phases)), dtype=torch.bool)
        keys = [phase.key for phase in self.phases]
        for row, text in enumerate(texts):
            for key in self.keyword_phases(text):
                keyword[row, keys.index(key)] = True
        if self.learned is not None:
            evidence, general = self.learned_probabilities(texts)
            scores = evidence + self.learned_keyword_weight * keyword
            nearer_general = general > evidence.max(dim=1).values
        else:
            scores = self.similarities(embeddings) + self.keyword_weight * keyword
            generic = (embeddings @ self._generic.T).max(dim=1).values
            nearer_general = scores.max(dim=1).values < generic + self.general_margin
        return scores, keyword, ~keyword.any(dim=1) & nearer_general

    def assign(self, texts: Sequence[str], embeddings: torch.Tensor) -> list[tuple[str, ...]]:
        """Per unit: the phases within `margin` of the best score, best first; or "general"."""
        if not len(texts):
            return []
        if not self.phases:
            return [(GENERAL,)] * len(texts)
        scores, keyword, about_nothing = self._scores(texts, embeddings)
        best = scores.max(dim=1).values
        general = (
            about_nothing if self.learned is not None else about_nothing | (best < self.threshold)
        )
        # within margin of the best, at least threshold; the best itself always (learned mode
        # has no threshold for the best: below it the unit would otherwise get no phase at all)
        floor = torch.minimum(torch.clamp(best - self.margin, min=self.threshold), best)
        keys = [phase.key for phase in self.phases]
        found: list[tuple[str, ...]] = []
        with_keyword = keyword.any(dim=1).tolist()
        rows = zip(scores.tolist(), floor.tolist(), general.tolist(), with_keyword, strict=True)
        for unit_scores, unit_floor, is_general, has_keyword in rows:
            kept = sorted(
                (i for i, value in enumerate(unit_scores) if value >= unit_floor),
                key=lambda i: -unit_scores[i],
            )
            # close to most phases by similarity alone: about none in particular (rule 8)
            near_all = self.learned is None and not has_keyword and 2 * len(kept) > len(keys)
            found.append((GENERAL,) if is_general or near_all else tuple(keys[i] for i in kept))
        return found
