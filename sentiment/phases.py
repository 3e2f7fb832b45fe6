"""Which journey phases a unit talks about: transparent keyword evidence, then embedding similarity.

Phases are configuration (PhaseSpec); the same code serves another taxonomy (restaurant aspects)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from sentiment.encoder import Encoder

GENERAL = "general"  # units about none of the phases


@dataclass(frozen=True)
class PhaseSpec:
    key: str
    descriptions: tuple[str, ...] = ()  # in any language; all are used
    keywords: tuple[str, ...] = ()  # a CX manager edits these in the config


@dataclass
class PhaseMatcher:
    """Keyword hits decide first (several phases may match); otherwise the most similar phase
    by embedding, if it is similar enough; otherwise "general"."""

    phases: Sequence[PhaseSpec]
    encoder: Encoder
    threshold: float = 0.35
    _patterns: dict[str, re.Pattern[str]] = field(init=False, default_factory=dict)
    _prototypes: torch.Tensor = field(init=False)
    _owners: list[int] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        exemplars: list[str] = []
        for index, phase in enumerate(self.phases):
            if phase.keywords:
                # A keyword matches at a word start, with a short suffix (bezorg-ing, order-ed).
                words = sorted({k.lower() for k in phase.keywords}, key=len, reverse=True)
                self._patterns[phase.key] = re.compile(
                    r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")\w{0,3}(?!\w)",
                    re.IGNORECASE,
                )
            for text in (*phase.descriptions, *phase.keywords):
                exemplars.append(text)
                self._owners.append(index)
        self._prototypes = self.encoder.embed(exemplars)

    def keyword_phases(self, text: str) -> tuple[str, ...]:
        return tuple(key for key, pattern in self._patterns.items() if pattern.search(text))

    def similarities(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Per unit × phase: the highest cosine similarity to any of the phase's exemplars."""
        sims = embeddings @ self._prototypes.T
        out = torch.full((len(embeddings), len(self.phases)), -1.0)
        owners = torch.tensor(self._owners)
        for index in range(len(self.phases)):
            columns = sims[:, owners == index]
            if columns.shape[1]:
                out[:, index] = columns.max(dim=1).values
        return out

    def assign(self, texts: Sequence[str], embeddings: torch.Tensor) -> list[tuple[str, ...]]:
        sims = self.similarities(embeddings) if len(texts) else torch.empty((0, 0))
        found: list[tuple[str, ...]] = []
        for row, text in enumerate(texts):
            by_keyword = self.keyword_phases(text)
            if by_keyword:
                found.append(by_keyword)
                continue
            best = int(sims[row].argmax()) if len(self.phases) else -1
            if best >= 0 and float(sims[row, best]) >= self.threshold:
                found.append((self.phases[best].key,))
            else:
                found.append((GENERAL,))
        return found
