"""Scoring benchmark: `Analyzer.analyze` in worker batches (float and int8) against one default
`transformers.pipeline` call per message, in one process, on the same texts.

Every path computes language, units, phases and sentiment; the results are compared."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402
from transformers import pipeline  # noqa: E402

from config import Settings, load_settings  # noqa: E402
from ingest.sources.demo import DemoSource  # noqa: E402
from sentiment import Analyzer, TextInput  # noqa: E402
from sentiment.adapted import AdaptedClassifier  # noqa: E402
from sentiment.classifier import (  # noqa: E402
    Classifier,
    HeadClassifier,
    HubClassifier,
    Prediction,
    predictions_from_probabilities,
)
from sentiment.labels import label_for, message_score  # noqa: E402
from sentiment.language import detect_language  # noqa: E402
from sentiment.pipeline import _clean  # noqa: E402  (the same cleaning step, not a copy)
from sentiment.segment import model_texts, split_units  # noqa: E402
from wiring import build_analyzer, build_normaliser  # noqa: E402

ScoringPath = Callable[[Sequence[TextInput]], list["Scored"]]


@dataclass(frozen=True)
class Scored:
    """What every path produces per message, to check they agree."""

    language: str
    phases: tuple[tuple[str, ...], ...]
    unit_scores: tuple[float, ...]
    unit_labels: tuple[str, ...]
    score: float | None
    label: str | None


def customer_inputs(count: int, seed: int, redact: Callable[[str], str]) -> list[TextInput]:
    """The first `count` customer texts of the demo stream, redacted as the worker reads them."""
    source = DemoSource("demo", seed=seed)
    inputs: list[TextInput] = []
    seq = 0
    while len(inputs) < count:
        for generated in source.generate(seq):
            message = generated.message
            if message.turn_role in (None, "customer"):
                inputs.append(TextInput(redact(message.text), message.turn_role, message.language))
        seq += 1
    return inputs[:count]


def batched(analyzer: Analyzer) -> ScoringPath:
    """The product's path: one `analyze` call per worker batch, as the scoring worker makes it."""

    def run(chunk: Sequence[TextInput]) -> list[Scored]:
        return [
            Scored(
                analysis.language,
                tuple(u.phases for u in analysis.units),
                tuple(u.score for u in analysis.units),
                tuple(u.label for u in analysis.units),
                analysis.score,
                analysis.label,
            )
            for analysis in analyzer.analyze(chunk)
        ]

    return run


def pipeline_baseline(analyzer: Analyzer) -> ScoringPath:
    """One `transformers.pipeline` call per message, default settings (batch_size 1, no_grad).

    The built-in models are a sentence encoder plus a linear head, which no pipeline task
    computes whole, so the honest equivalent is the "feature-extraction" pipeline on the same
    encoder weights, then what the product does with its output: mean pooling, L2 norm, the phase
    matcher and the head. An adapted (LoRA) classifier has its own encoder: a second
    feature-extraction pipeline for the sentiment, as the product makes a second encoder pass. A
    Hugging Face classifier gets the "text-classification" pipeline (top_k=None: the expected
    value over labels needs every label's probability). Each message goes to the classifier of
    its route (`Analyzer.classifier_for`: "builtin" sends English to builtin-en), as in the
    product, and a message of several units is read whole as well, one more call
    (`labels.message_score`)."""
    features = pipeline(
        "feature-extraction", model=analyzer.encoder.model, tokenizer=analyzer.encoder.tokenizer
    )
    classifiers = [analyzer.classifier, *(c for _, c in analyzer.routes)]
    sentiment_of = {id(c): pipeline_sentiment(analyzer, c) for c in classifiers}

    def run(chunk: Sequence[TextInput]) -> list[Scored]:
        out: list[Scored] = []
        for item in chunk:
            text = _clean(item.text)
            language = detect_language(text, item.language)
            units = split_units(text) if item.role in (None, "customer") else []
            if not units:
                out.append(Scored(language, (), (), (), None, None))
                continue
            # the one pipeline call per message, on what the phases read (units without handles)
            embeddings = mean_pooled(features(model_texts(units)))
            phases = analyzer.matcher.assign(units, embeddings)
            classifier = analyzer.classifier_for(language, item.channel)
            predictions = sentiment_of[id(classifier)](units, embeddings)
            whole = None
            if len(units) > 1 and analyzer.read_whole:  # as labels.message_score wants it
                frozen = (
                    isinstance(classifier, HeadClassifier)
                    and classifier.encoder is analyzer.encoder
                )
                # only the frozen head reads the shared encoder's embedding; the others run
                # their own pipeline on the text, so any row will do for them
                whole_embedding = (
                    mean_pooled(features(model_texts([text]))) if frozen else embeddings[:1]
                )
                (whole,) = sentiment_of[id(classifier)]([text], whole_embedding)
            score = message_score(
                [p.score for p in predictions], None if whole is None else whole.score
            )
            assert score is not None
            out.append(
                Scored(
                    language,
                    tuple(phases),
                    tuple(p.score for p in predictions),
                    tuple(p.label for p in predictions),
                    score,
                    label_for(score),
                )
            )
        return out

    return run


def pipeline_sentiment(
    analyzer: Analyzer, classifier: Classifier
) -> Callable[[list[str], torch.Tensor], list[Prediction]]:
    """units, the frozen encoder's embeddings → predictions, through pipelines of `classifier`."""
    if isinstance(classifier, HeadClassifier) and classifier.encoder is analyzer.encoder:

        def on_frozen(units: list[str], embeddings: torch.Tensor) -> list[Prediction]:
            return classifier.predict_embeddings(embeddings)  # of the units without handles

        return on_frozen
    if isinstance(classifier, AdaptedClassifier | HeadClassifier):
        own = pipeline(
            "feature-extraction",
            model=classifier.encoder.model,
            tokenizer=classifier.encoder.tokenizer,
        )

        def on_own_encoder(units: list[str], embeddings: torch.Tensor) -> list[Prediction]:
            # what every classifier reads: the text without its @handles
            return classifier.predict_embeddings(mean_pooled(own(model_texts(units))))

        return on_own_encoder
    if isinstance(classifier, HubClassifier):
        classify = pipeline(
            "text-classification", model=classifier.model, tokenizer=classifier.tokenizer
        )
        labels = [classifier.model.config.id2label[i] for i in range(len(classifier.values))]

        def on_hub(units: list[str], embeddings: torch.Tensor) -> list[Prediction]:
            rows = []
            for scores in classify(model_texts(units), top_k=None):
                by_label = {s["label"]: s["score"] for s in scores}
                rows.append([by_label[label] for label in labels])
            return predictions_from_probabilities(torch.tensor(rows), classifier.values)

        return on_hub
    sys.exit(f"no pipeline baseline for {type(classifier).__name__}")


def mean_pooled(outputs: list[list[list[list[float]]]]) -> torch.Tensor:
    """Feature-extraction output (per text: 1 × tokens × dim, unpadded) → normalised means."""
    rows = [torch.tensor(output[0]).mean(dim=0) for output in outputs]
    return torch.nn.functional.normalize(torch.stack(rows), dim=-1)


def measure(
    paths: dict[str, ScoringPath], inputs: Sequence[TextInput], batch_size: int
) -> dict[str, tuple[list[Scored], float, float]]:
    """Every path over the same worker batches, taken in turns (rotating which goes first) so
    that all see the same load on a shared machine. Path → (results, wall s, CPU s)."""
    scored: dict[str, list[Scored]] = {name: [] for name in paths}
    seconds = dict.fromkeys(paths, 0.0)
    cpu_seconds = dict.fromkeys(paths, 0.0)
    names = list(paths)
    with tqdm(total=len(inputs), desc="all paths", unit=" msg", leave=False) as progress:
        for round_, start in enumerate(range(0, len(inputs), batch_size)):
            chunk = inputs[start : start + batch_size]
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                started, cpu_started = time.perf_counter(), time.process_time()
                scored[name].extend(paths[name](chunk))
                seconds[name] += time.perf_counter() - started
                cpu_seconds[name] += time.process_time() - cpu_started
            progress.update(len(chunk))
    return {name: (scored[name], seconds[name], cpu_seconds[name]) for name in paths}


def compare(fast: Sequence[Scored], slow: Sequence[Scored]) -> dict[str, float | int | str]:
    unit_diff = message_diff = 0.0
    units = same_unit_labels = messages = same_message_labels = 0
    phase_mismatches = language_mismatches = unit_count_mismatches = 0
    for a, b in zip(fast, slow, strict=True):
        language_mismatches += a.language != b.language
        if len(a.unit_scores) != len(b.unit_scores):
            unit_count_mismatches += 1
            continue
        phase_mismatches += sum(x != y for x, y in zip(a.phases, b.phases, strict=True))
        for x, y in zip(a.unit_scores, b.unit_scores, strict=True):
            unit_diff = max(unit_diff, abs(x - y))
        units += len(a.unit_labels)
        same_unit_labels += sum(x == y for x, y in zip(a.unit_labels, b.unit_labels, strict=True))
        if a.score is not None and b.score is not None:
            message_diff = max(message_diff, abs(a.score - b.score))
            messages += 1
            same_message_labels += a.label == b.label
        elif (a.score is None) != (b.score is None):
            message_diff = float("inf")
    return {
        "max |unit score diff|": unit_diff,
        "max |message score diff|": message_diff,
        "same unit label": f"{same_unit_labels}/{units} ({same_unit_labels / max(units, 1):.2%})",
        "same message label": (
            f"{same_message_labels}/{messages} ({same_message_labels / max(messages, 1):.2%})"
        ),
        "units with different phases": phase_mismatches,
        "messages with different language": language_mismatches,
        "messages with different unit count": unit_count_mismatches,
    }


def with_quantize(settings: Settings, quantize: str) -> Settings:
    sentiment = settings.sentiment.model_copy(update={"quantize": quantize})
    return settings.model_copy(update={"sentiment": sentiment})


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Scoring throughput, end to end (language, units, phases, sentiment): "
            "Analyzer.analyze in worker batches, float and int8 (fp16 with sentiment.device = "
            '"cuda"), against one default transformers.pipeline call per message on the same '
            "model, in one process, with a check of how far the results agree. The model, device "
            "and threads are what app.build_analyzer(load_settings()) builds (--config or "
            "CXPULSE_CONFIG to choose another file)."
        )
    )
    parser.add_argument("--messages", type=int, default=2_000, help="customer texts (default 2000)")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help=(
            "override sentiment.threads with torch.set_num_threads(N) (default 0: keep the "
            "setting, 1 in the demo configuration, or torch's own where it is unset)"
        ),
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=0,
        help="messages per analyze() call (default 0: sentiment.worker_batch, as the worker)",
    )
    parser.add_argument("--seed", type=int, default=7, help="demo generator seed (default 7)")
    parser.add_argument("--config", type=Path, help="a configuration file (default the demo)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.messages < 1 or args.batch_size < 0 or args.threads < 0:
        sys.exit("--messages must be at least 1, --batch-size and --threads at least 0")
    logging.disable(logging.WARNING)
    settings = load_settings(args.config)
    configured = settings.sentiment.quantize
    cheap = "fp16" if settings.sentiment.device == "cuda" else "int8"
    started = time.perf_counter()
    analyzers = {
        "float": build_analyzer(with_quantize(settings, "none")),
        cheap: build_analyzer(with_quantize(settings, cheap)),
    }
    if args.threads:
        torch.set_num_threads(args.threads)
    batch_size = args.batch_size or settings.sentiment.worker_batch
    redactor = build_normaliser(settings).redactor
    inputs = customer_inputs(args.messages, args.seed, lambda text: redactor.redact(text).text)
    paths: dict[str, ScoringPath] = {"pipeline": pipeline_baseline(analyzers["float"])}
    paths |= {name: batched(analyzer) for name, analyzer in analyzers.items()}
    for run in paths.values():
        run(inputs[:16])  # loads the language models; every path then starts warm
    loaded = time.perf_counter() - started
    float_model = analyzers["float"].classifier
    routed = "".join(
        f", {route.language or route.channel}: {c.name} @{c.revision}"
        for route, c in analyzers["float"].routes
    )
    english = sum(detect_language(_clean(i.text), i.language) == "en" for i in inputs)
    print(
        f"{len(inputs)} customer texts (seed {args.seed}; {english} English); model "
        f"{float_model.name} @{float_model.revision}{routed} ({settings.sentiment.device}, "
        "configured quantize "
        f"{configured!r}); encoder batch {settings.sentiment.batch_size}, max_length "
        f"{settings.sentiment.max_length}, {torch.get_num_threads()} torch threads; loaded "
        f"and warmed up in {loaded:.1f} s"
    )

    runs = measure(paths, inputs, batch_size)
    _, base_seconds, base_cpu = runs["pipeline"]
    units = sum(len(s.unit_scores) for s in runs["float"][0])
    labels = {
        "pipeline": "pipeline(), one call per message",
        "float": f"Analyzer.analyze, {batch_size} msgs/call, float",
        cheap: f"Analyzer.analyze, {batch_size} msgs/call, {cheap}",
    }
    print(
        f"\n  {'path':<44} {'seconds':>8} {'msgs/s':>7} {'units/s':>8} {'msgs/cpu-s':>10}"
        f" {'x wall':>7} {'x CPU':>6}"
    )
    for name, (_, seconds, cpu) in runs.items():
        print(
            f"  {labels[name]:<44} {seconds:>8.1f} {len(inputs) / seconds:>7.1f}"
            f" {units / seconds:>8.1f} {len(inputs) / cpu:>10.1f}"
            f" {base_seconds / seconds:>6.2f}x {base_cpu / cpu:>5.2f}x"
        )
    print(f"  ({units} units in {len(inputs)} texts; x = speed-up against the pipeline baseline)")
    for name in analyzers:
        print(f"\n  agreement: {name} vs. pipeline baseline")
        for key, value in compare(runs[name][0], runs["pipeline"][0]).items():
            shown = f"{value:.2e}" if isinstance(value, float) else value
            print(f"    {key:<36} {shown}")


if __name__ == "__main__":
    main()
