"""The analyser: message → language → units → phases per unit → sentiment per unit → per message.

Customer turns are scored; agent and bot turns are context only and get no units."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from sentiment.adapted import AdaptedModel
from sentiment.classifier import (
    BUILTIN,
    BUILTIN_EN,
    Classifier,
    HeadClassifier,
    Prediction,
    load_classifier,
)
from sentiment.encoder import Encoder, Quantize
from sentiment.labels import label_for, message_score
from sentiment.language import detect_languages
from sentiment.phases import PhaseMatcher, PhaseSpec
from sentiment.segment import split_units

# Cut a sentence where its clauses name different phases by keyword (segment.cut_by_phase).
# Off: measured by the third rule in docs/quality.md ("Units and the message score"), it made
# every held-out per-phase polarity figure lower. `sentiment.evaluate --phase-cuts on` measures it.
PHASE_CUTS = False


@dataclass(frozen=True)
class TextInput:
    text: str
    role: str | None = None  # "customer", "agent", "bot" for chat turns; None otherwise
    language: str | None = None  # a source's hint
    channel: str | None = None  # "review", "social", "chat": picks a model route, if any


@dataclass(frozen=True)
class ModelRoute:
    """Score messages in `language` and/or from `channel` with `model` instead of the default
    (`sentiment.routes`); the first route that matches a message wins."""

    model: str
    language: str | None = None  # the detected language: "nl", "en" or "other"
    channel: str | None = None

    def __post_init__(self) -> None:
        if self.language is None and self.channel is None:
            raise ValueError(f"route to {self.model!r} names neither a language nor a channel")

    def matches(self, language: str, channel: str | None) -> bool:
        return self.language in (None, language) and self.channel in (None, channel)


# The default model, "builtin", scores English with the English adapter and the rest with the
# Dutch-first one: each is the better of the two on its language (docs/quality.md).
BUILTIN_ROUTES = (ModelRoute(BUILTIN_EN, language="en"),)


def effective_routes(model: str, routes: Sequence[ModelRoute] = ()) -> tuple[ModelRoute, ...]:
    """The routes a message meets: the configured ones first, then, where the default model is
    "builtin", BUILTIN_ROUTES (so a configured route for English overrides the built-in one)."""
    return (*routes, *BUILTIN_ROUTES) if model == BUILTIN else tuple(routes)


class RoutedClassifier:
    """Texts in, predictions out, each text through the model the Analyzer would pick for it by
    its detected language (`Analyzer` itself routes whole messages with their source's hints);
    for evaluations and comparisons of "the model in use". Routes by channel never match here:
    a bare text has no channel."""

    def __init__(self, default: Classifier, routes: Sequence[tuple[ModelRoute, Classifier]]):
        self.default = default
        self.routes = tuple((r, c) for r, c in routes if r.channel is None)
        self.name = "; ".join([default.name, *(f"{r.language}: {c.name}" for r, c in self.routes)])
        self.revision = "; ".join([default.revision, *(c.revision for _, c in self.routes)])

    def chosen(self, texts: Sequence[str]) -> list[Classifier]:
        """The classifier for each text."""
        if not self.routes:
            return [self.default] * len(texts)
        return [
            next((c for route, c in self.routes if route.matches(language, None)), self.default)
            for language in detect_languages(list(texts))
        ]

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return self.predict_with(texts, lambda classifier, part: classifier.predict(part))

    def predict_with(
        self, texts: Sequence[str], predict: Callable[[Classifier, list[str]], list[Prediction]]
    ) -> list[Prediction]:
        """`predict(classifier, its texts)` once per chosen classifier, in input order."""
        chosen = self.chosen(texts)
        results: list[Prediction | None] = [None] * len(texts)
        for classifier in {id(c): c for c in chosen}.values():
            indices = [i for i, c in enumerate(chosen) if c is classifier]
            predictions = predict(classifier, [texts[i] for i in indices])
            for index, prediction in zip(indices, predictions, strict=True):
                results[index] = prediction
        return results  # type: ignore[return-value]


def load_routed(
    model: str, routes: Sequence[ModelRoute], load: Callable[[str], Classifier]
) -> tuple[Classifier, tuple[tuple[ModelRoute, Classifier], ...]]:
    """The default classifier and each effective route with its own, every distinct model
    loaded once with `load`."""
    routes = effective_routes(model, routes)
    loaded: dict[str, Classifier] = {}
    for name in [model, *(route.model for route in routes)]:
        if name not in loaded:
            loaded[name] = load(name)
    return loaded[model], tuple((route, loaded[route.model]) for route in routes)


def routed_classifier(
    model: str,
    routes: Sequence[ModelRoute] = (),
    load: Callable[[str], Classifier] = load_classifier,
) -> Classifier:
    """`model` and its effective routes as one classifier (load_routed); the plain classifier
    where there is no route."""
    default, pairs = load_routed(model, routes, load)
    return RoutedClassifier(default, pairs) if pairs else default


@dataclass(frozen=True)
class UnitResult:
    position: int
    text: str
    phases: tuple[str, ...]
    score: float
    label: str
    confidence: float


@dataclass(frozen=True)
class MessageAnalysis:
    language: str
    units: tuple[UnitResult, ...]
    score: float | None  # labels.message_score; None when nothing was scored (agent turn, empty)
    label: str | None
    phase_scores: dict[str, float]  # mean of the units that talk about each phase
    phase_units: dict[str, int]
    model: str
    revision: str


class Analyzer:
    """Load once per worker, then call `analyze` with batches of messages."""

    def __init__(
        self,
        phases: Sequence[PhaseSpec],
        *,
        model: str = "builtin",
        batch_size: int = 32,
        max_length: int = 128,
        phase_threshold: float = 0.35,
        device: str = "cpu",
        quantize: Quantize = "none",
        routes: Sequence[ModelRoute] = (),
        phase_model: str | Path | None = None,
        read_whole: bool = True,
        phase_cuts: bool = PHASE_CUTS,
    ) -> None:
        """`quantize`: "int8" (CPU) or "fp16" (CUDA) for the phase encoder and the classifiers.
        Each distinct model of `model` and `routes` is loaded once. `phase_model`: a phase
        adapter learned from the team's phase labels (an own model's phases/, PhaseMatcher).
        `model = "builtin"` adds BUILTIN_ROUTES after `routes`. `read_whole`: a message of several
        units is also read whole for its score (labels.message_score); False keeps the units'
        mean and saves that pass. `phase_cuts`: a sentence is also cut into clauses where they
        name different phases by keyword (segment.cut_by_phase)."""
        self.read_whole = read_whole
        self.phase_cuts = phase_cuts
        self.encoder = Encoder(
            batch_size=batch_size, max_length=max_length, device=device, quantize=quantize
        )
        self.classifier, self.routes = load_routed(
            model,
            routes,
            lambda name: load_classifier(
                name,
                encoder=self.encoder,
                batch_size=batch_size,
                max_length=max_length,
                device=device,
                quantize=quantize,
            ),
        )
        learned = None
        if phase_model is not None:
            learned = AdaptedModel(
                Path(phase_model),
                batch_size=batch_size,
                max_length=max_length,
                device=device,
                quantize=quantize,
            )
        self.matcher = PhaseMatcher(
            phases, self.encoder, threshold=phase_threshold, learned=learned
        )

    @property
    def model_name(self) -> str:
        """The default model and, after it, each route's: "builtin:…; en: builtin-en:…"."""
        routed = [
            f"{' × '.join(x for x in (r.language, r.channel) if x)}: {c.name}"
            for r, c in self.routes
        ]
        return "; ".join([self.classifier.name, *routed])

    def analyze(self, items: Sequence[TextInput]) -> list[MessageAnalysis]:
        texts = [_clean(item.text) for item in items]
        languages = detect_languages(texts, [item.language for item in items])
        phases_of = self.matcher.keywords if self.phase_cuts else None
        units_of = [
            split_units(text, phases_of) if item.role in (None, "customer") else []
            for item, text in zip(items, texts, strict=True)
        ]
        flat = [unit for units in units_of for unit in units]
        classifiers = [
            self.classifier_for(language, item.channel)
            for item, language in zip(items, languages, strict=True)
        ]
        # The frozen encoder's pass serves prototype phases and the built-in head; learned
        # phases and adapted classifiers run their own encoders, so it is skipped when unused.
        frozen_needed = self.matcher.learned is None or any(
            isinstance(c, HeadClassifier) and c.encoder is self.encoder for c in classifiers
        )
        embeddings = self.matcher.embed(flat) if frozen_needed else torch.empty((len(flat), 0))
        phases = self.matcher.assign(flat, embeddings)
        predictions = self._predict(flat, embeddings, classifiers, units_of)
        wholes = self._read_whole(texts, classifiers, units_of) if self.read_whole else {}
        results, cursor = [], 0
        for index, (units, language, classifier) in enumerate(
            zip(units_of, languages, classifiers, strict=True)
        ):
            unit_results = tuple(
                UnitResult(i, unit, phases[cursor + i], p.score, p.label, p.confidence)
                for i, (unit, p) in enumerate(
                    zip(units, predictions[cursor : cursor + len(units)], strict=True)
                )
            )
            cursor += len(units)
            results.append(self._summarise(language, unit_results, classifier, wholes.get(index)))
        return results

    def classifier_for(self, language: str, channel: str | None) -> Classifier:
        for route, classifier in self.routes:
            if route.matches(language, channel):
                return classifier
        return self.classifier

    def _predict(
        self,
        flat: list[str],
        embeddings: torch.Tensor,
        classifiers: list[Classifier],
        units_of: list[list[str]],
    ) -> list[Prediction]:
        """Predictions for all units, each batch of units through its message's classifier."""
        unit_classifiers = [
            c for c, units in zip(classifiers, units_of, strict=True) for _ in units
        ]
        predictions: dict[int, Prediction] = {}
        for classifier in {id(c): c for c in unit_classifiers}.values():
            positions = [i for i, c in enumerate(unit_classifiers) if c is classifier]
            if isinstance(classifier, HeadClassifier) and classifier.encoder is self.encoder:
                # the phase embeddings (of the units without handles, as every classifier
                # reads them) serve the head too: one encoder pass for both
                chosen = classifier.predict_embeddings(embeddings[positions])
            else:
                chosen = classifier.predict([flat[i] for i in positions])
            predictions.update(zip(positions, chosen, strict=True))
        return [predictions[i] for i in range(len(flat))]

    def _read_whole(
        self, texts: list[str], classifiers: list[Classifier], units_of: list[list[str]]
    ) -> dict[int, float]:
        """Message index → its classifier's score for the whole text, for messages of several
        units (labels.message_score); one batched call per classifier."""
        several = [i for i, units in enumerate(units_of) if len(units) > 1]
        scores: dict[int, float] = {}
        for classifier in {id(classifiers[i]): classifiers[i] for i in several}.values():
            mine = [i for i in several if classifiers[i] is classifier]
            predictions = classifier.predict([texts[i] for i in mine])
            scores.update((i, p.score) for i, p in zip(mine, predictions, strict=True))
        return scores

    def _summarise(
        self,
        language: str,
        units: tuple[UnitResult, ...],
        classifier: Classifier,
        whole: float | None,
    ) -> MessageAnalysis:
        by_phase: dict[str, list[float]] = defaultdict(list)
        for unit in units:
            for phase in unit.phases:
                by_phase[phase].append(unit.score)
        score = message_score([u.score for u in units], whole)
        return MessageAnalysis(
            language=language,
            units=units,
            score=score,
            label=None if score is None else label_for(score),
            phase_scores={p: sum(s) / len(s) for p, s in by_phase.items()},
            phase_units={p: len(s) for p, s in by_phase.items()},
            model=classifier.name,
            revision=classifier.revision,
        )


def _clean(text: str) -> str:
    # Undecodable bytes arrive as U+FFFD or stray control characters; neither carries sentiment.
    return "".join(ch for ch in text if ch == "\n" or ch.isprintable()).replace("\ufffd", " ")
