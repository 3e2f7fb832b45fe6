"""Scoring benchmark: `Analyzer.analyze` in worker-sized batches vs. a naive one-at-a-time loop.

Both use the same built-in model and steps in one process; their scores are compared to be equal."""

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

from app import build_analyzer, build_normaliser  # noqa: E402
from config import load_settings  # noqa: E402
from ingest.sources.demo import DemoSource  # noqa: E402
from sentiment import Analyzer, TextInput  # noqa: E402
from sentiment.classifier import HeadClassifier  # noqa: E402
from sentiment.language import detect_language  # noqa: E402
from sentiment.pipeline import _clean  # noqa: E402  (the same cleaning step, not a copy)
from sentiment.segment import split_units  # noqa: E402


@dataclass(frozen=True)
class Scored:
    """What both paths produce per message, to check they agree."""

    language: str
    phases: tuple[tuple[str, ...], ...]
    unit_scores: tuple[float, ...]
    score: float | None


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


def batched(analyzer: Analyzer, chunk: Sequence[TextInput]) -> list[Scored]:
    """The project's path: one `analyze` call per worker batch, as the scoring worker makes it."""
    return [
        Scored(
            analysis.language,
            tuple(u.phases for u in analysis.units),
            tuple(u.score for u in analysis.units),
            analysis.score,
        )
        for analysis in analyzer.analyze(chunk)
    ]


def naive(analyzer: Analyzer, inputs: Sequence[TextInput]) -> list[Scored]:
    """One message at a time, one forward pass per unit (a `pipeline(...)` call with its default
    batch_size=1: torch.no_grad, no batching, no length sorting, no inference_mode)."""
    encoder, matcher = analyzer.encoder, analyzer.matcher
    head = analyzer.classifier
    assert isinstance(head, HeadClassifier)
    out: list[Scored] = []
    for item in inputs:
        text = _clean(item.text)
        language = detect_language(text, item.language)
        units = split_units(text) if item.role in (None, "customer") else []
        phases: list[tuple[str, ...]] = []
        scores: list[float] = []
        for unit in units:
            encoded = encoder.tokenizer(
                unit, truncation=True, max_length=encoder.max_length, return_tensors="pt"
            )
            with torch.no_grad():
                hidden = encoder.model(**encoded).last_hidden_state
            # One unpadded sequence: the mean over its tokens is the masked mean.
            embedding = torch.nn.functional.normalize(hidden.mean(dim=1), dim=-1)
            phases.append(matcher.assign([unit], embedding)[0])
            scores.append(head.predict_embeddings(embedding)[0].score)
        score = sum(scores) / len(scores) if scores else None
        out.append(Scored(language, tuple(phases), tuple(scores), score))
    return out


def measure(
    analyzer: Analyzer, inputs: Sequence[TextInput], batch_size: int
) -> dict[str, tuple[list[Scored], float, float]]:
    """Both paths over the same worker batches, taken in turns (alternating which goes first)
    so that both see the same load on a shared machine. Path → (results, wall s, CPU s)."""
    paths: dict[str, Callable[[Sequence[TextInput]], list[Scored]]] = {
        "naive": lambda chunk: naive(analyzer, chunk),
        "batched": lambda chunk: batched(analyzer, chunk),
    }
    scored: dict[str, list[Scored]] = {name: [] for name in paths}
    seconds = dict.fromkeys(paths, 0.0)
    cpu_seconds = dict.fromkeys(paths, 0.0)
    with tqdm(total=len(inputs), desc="naive + batched", unit=" msg", leave=False) as progress:
        for round_, start in enumerate(range(0, len(inputs), batch_size)):
            chunk = inputs[start : start + batch_size]
            for name in list(paths)[:: 1 if round_ % 2 == 0 else -1]:
                started, cpu_started = time.perf_counter(), time.process_time()
                scored[name].extend(paths[name](chunk))
                seconds[name] += time.perf_counter() - started
                cpu_seconds[name] += time.process_time() - cpu_started
            progress.update(len(chunk))
    return {name: (scored[name], seconds[name], cpu_seconds[name]) for name in paths}


def compare(fast: Sequence[Scored], slow: Sequence[Scored]) -> dict[str, float | int]:
    unit_diff = message_diff = 0.0
    phase_mismatches = language_mismatches = unit_count_mismatches = 0
    for a, b in zip(fast, slow, strict=True):
        language_mismatches += a.language != b.language
        if len(a.unit_scores) != len(b.unit_scores):
            unit_count_mismatches += 1
            continue
        phase_mismatches += sum(x != y for x, y in zip(a.phases, b.phases, strict=True))
        for x, y in zip(a.unit_scores, b.unit_scores, strict=True):
            unit_diff = max(unit_diff, abs(x - y))
        if a.score is not None and b.score is not None:
            message_diff = max(message_diff, abs(a.score - b.score))
        elif (a.score is None) != (b.score is None):
            message_diff = float("inf")
    return {
        "max |unit score diff|": unit_diff,
        "max |message score diff|": message_diff,
        "units with different phases": phase_mismatches,
        "messages with different language": language_mismatches,
        "messages with different unit count": unit_count_mismatches,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Scoring throughput: Analyzer.analyze (language, units, phases, sentiment; built-in "
            "model) in worker-sized batches vs. a naive per-message, per-unit loop over the same "
            "model, in one process, with a check that both give the same scores."
        )
    )
    parser.add_argument("--messages", type=int, default=2_000, help="customer texts (default 2000)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help=(
            "torch.set_num_threads (default 1; 0 keeps sentiment.threads or torch's own). On a "
            "shared 2-core machine two intra-op threads wait on each other and both paths slow"
        ),
    )
    parser.add_argument(
        "--batch-size", type=int, default=64, help="messages per analyze() call (default 64)"
    )
    parser.add_argument("--seed", type=int, default=7, help="demo generator seed (default 7)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.messages < 1 or args.batch_size < 1 or args.threads < 0:
        sys.exit("--messages and --batch-size must be at least 1, --threads at least 0")
    logging.disable(logging.WARNING)
    settings = load_settings()
    started = time.perf_counter()
    analyzer = build_analyzer(settings)
    if args.threads:
        torch.set_num_threads(args.threads)
    if not isinstance(analyzer.classifier, HeadClassifier):
        sys.exit(f"sentiment.model is {settings.sentiment.model!r}; this benchmark needs builtin")
    redactor = build_normaliser(settings).redactor
    inputs = customer_inputs(args.messages, args.seed, lambda text: redactor.redact(text).text)
    analyzer.analyze(inputs[:16])  # loads the language models; both paths then start warm
    naive(analyzer, inputs[:4])
    loaded = time.perf_counter() - started
    print(
        f"{len(inputs)} customer texts (seed {args.seed}); model {analyzer.model_name}, "
        f"encoder batch {settings.sentiment.batch_size}, "
        f"max_length {settings.sentiment.max_length}, "
        f"{torch.get_num_threads()} torch threads; loaded and warmed up in {loaded:.1f} s"
    )

    runs = measure(analyzer, inputs, args.batch_size)
    slow, slow_seconds, slow_cpu = runs["naive"]
    fast, fast_seconds, fast_cpu = runs["batched"]

    units = sum(len(s.unit_scores) for s in fast)
    print(f"\n  {'path':<44} {'seconds':>8} {'msgs/s':>7} {'units/s':>8} {'msgs/cpu-s':>10}")
    for name, seconds, cpu in (
        ("naive: per message, one forward per unit", slow_seconds, slow_cpu),
        (f"Analyzer.analyze, {args.batch_size} messages per call", fast_seconds, fast_cpu),
    ):
        print(
            f"  {name:<44} {seconds:>8.1f} {len(inputs) / seconds:>7.1f}"
            f" {units / seconds:>8.1f} {len(inputs) / cpu:>10.1f}"
        )
    print(
        f"  speed-up: {slow_seconds / fast_seconds:.1f}x wall, {slow_cpu / fast_cpu:.1f}x CPU"
        f"  ({units} units in {len(inputs)} texts)"
    )
    print("\n  agreement (batched vs. naive)")
    for name, value in compare(fast, slow).items():
        print(f"  {name:<36} {value:.2e}" if isinstance(value, float) else f"  {name:<36} {value}")


if __name__ == "__main__":
    main()
