"""Per-phase polarity: does each phase a message talks about get the customer's feeling about
*that* phase? The product's promise is a score per phase, so this measures the Analyzer end to
end (units, phases, scores), not one model.

Measured on the SemEval-2016 restaurant sets, whose opinions carry an aspect category (mapped to
a phase of config/eval/restaurant.toml by evaluate.semeval_category_phase) and a polarity, at two
levels: each sentence with an opinion as one message, and each review (its sentences joined in
order) as one message.

Gold per (message, phase): the polarity of the phase's opinions. "general" is left out (the
message score answers that); a phase with both a positive and a negative opinion is mixed and
left out (counted in the report's note); neutral only where it is the phase's one polarity.
Predicted: the label of the Analyzer's score for the phase (the mean of the units it gave the
phase), or NOT_FOUND where no unit got the phase, which counts as wrong: accuracy is over all
gold pairs, and "phase found" / "accuracy where found" tell the two failures apart."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from sentiment.evaluate import BINARY, _rows, semeval_category_phase
from sentiment.labels import NEGATIVE, NEUTRAL, POSITIVE, label_for
from sentiment.phases import GENERAL
from sentiment.pipeline import Analyzer, MessageAnalysis, TextInput

NOT_FOUND = "not found"  # the Analyzer gave no unit of the message this phase
SENTENCES, REVIEWS = "sentences", "reviews"
LEVELS = (SENTENCES, REVIEWS)


@dataclass(frozen=True)
class PhaseOpinions:
    id: str
    text: str
    language: str
    split: str
    gold: dict[str, str] = field(default_factory=dict)  # phase → negative / neutral / positive
    mixed: int = 0  # phases left out: a positive and a negative opinion


def phase_gold(opinions: Iterable[tuple[str, str]]) -> tuple[dict[str, str], int]:
    """(phase → gold polarity, number of mixed phases) from (category, polarity) pairs."""
    by_phase: dict[str, set[str]] = defaultdict(set)
    for category, polarity in opinions:
        phase = semeval_category_phase(category)
        if phase == GENERAL:
            continue
        # SemEval's "conflict" is an opinion both ways at once
        by_phase[phase] |= {POSITIVE, NEGATIVE} if polarity == "conflict" else {polarity}
    gold: dict[str, str] = {}
    mixed = 0
    for phase, polarities in by_phase.items():
        judged = polarities & {POSITIVE, NEGATIVE}
        if len(judged) > 1:
            mixed += 1
        elif judged:
            gold[phase] = judged.pop()
        elif NEUTRAL in polarities:
            gold[phase] = NEUTRAL
    return gold, mixed


def read_phase_opinions(path: Path, language: str, level: str) -> Iterator[PhaseOpinions]:
    """Messages with at least one phase opinion from a SemEval sentences_*.csv, at `level`."""
    if level not in LEVELS:
        raise ValueError(f"level {level!r}: expected one of {', '.join(LEVELS)}")
    reviews: dict[str, list[dict[str, str]]] = {}
    for row in _rows(path):
        reviews.setdefault(row["review_id"], []).append(row)

    def opinions(row: dict[str, str]) -> list[tuple[str, str]]:
        return [(o["category"], o["polarity"]) for o in json.loads(row["opinions_json"] or "[]")]

    for review_id, rows in reviews.items():
        if level == SENTENCES:
            for row in rows:
                gold, mixed = phase_gold(opinions(row))
                if gold or mixed:
                    yield PhaseOpinions(
                        row["sentence_id"], row["text"], language, row["split"], gold, mixed
                    )
        else:
            gold, mixed = phase_gold(o for row in rows for o in opinions(row))
            if gold or mixed:
                text = " ".join(row["text"].strip() for row in rows)
                yield PhaseOpinions(review_id, text, language, rows[0]["split"], gold, mixed)


def analyze_all(
    analyzer: Analyzer, examples: Sequence[PhaseOpinions], *, progress: bool = True
) -> list[MessageAnalysis]:
    """The Analyzer's reading of every message, in worker-sized batches."""
    results: list[MessageAnalysis] = []
    with tqdm(total=len(examples), disable=not progress, unit="msg", leave=False) as bar:
        for start in range(0, len(examples), 64):
            chunk = examples[start : start + 64]
            results += analyzer.analyze([TextInput(e.text) for e in chunk])
            bar.update(len(chunk))
    return results


@dataclass(frozen=True)
class PairOutcome:
    """Gold and predicted labels over the (message, phase) pairs of one task."""

    gold: list[str]
    predicted: list[str]
    mixed: int

    @property
    def found(self) -> float:
        return sum(p != NOT_FOUND for p in self.predicted) / len(self.gold) if self.gold else 0.0

    @property
    def accuracy_where_found(self) -> float:
        pairs = [(g, p) for g, p in zip(self.gold, self.predicted, strict=True) if p != NOT_FOUND]
        return sum(g == p for g, p in pairs) / len(pairs) if pairs else 0.0


def pair_outcome(
    examples: Sequence[PhaseOpinions], results: Sequence[MessageAnalysis], task: str
) -> PairOutcome:
    """3-class: the label of the phase score (the product's neutral band); binary: its sign,
    on the pairs whose gold is positive or negative."""
    gold: list[str] = []
    predicted: list[str] = []
    for example, result in zip(examples, results, strict=True):
        for phase, polarity in sorted(example.gold.items()):
            if task == BINARY and polarity == NEUTRAL:
                continue
            value = result.phase_scores.get(phase)
            gold.append(polarity)
            if value is None:
                predicted.append(NOT_FOUND)
            elif task == BINARY:
                predicted.append(POSITIVE if value >= 0 else NEGATIVE)
            else:
                predicted.append(label_for(value))
    return PairOutcome(gold, predicted, sum(e.mixed for e in examples))
