"""How well `sentiment.language` tells Dutch from English on real texts, short ones included.

`python -m sentiment.language_eval --data ../shared/data` reads the labelled sets' test splits."""

from __future__ import annotations

import argparse
import csv
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sentiment.evaluate import (
    Example,
    read_airline,
    read_bolcom,
    read_keytrade,
    read_semeval_en,
    read_semeval_nl,
    read_uci,
)
from sentiment.language import detect_languages

LENGTHS = ((0, 40, "≤ 40 chars"), (41, 100, "41–100"), (101, 10**9, "> 100"))


def read_political_tweets(folder: Path) -> Iterator[Example]:
    with (folder / "dutch_political_tweets_polarity.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            yield Example(row["id"], row["text"], row["polarity"], "nl", row["split"])


# (folder, reader): each example's `language` is its gold language; Keytrade's French reviews
# must come out as "other" (kept, but flagged).
SETS: tuple[tuple[str, Callable[[Path], Iterator[Example]]], ...] = (
    ("nl-bolcom-reviews-pattern", read_bolcom),
    ("nl-semeval2016-restaurant-absa", read_semeval_nl),
    ("nl-political-tweets-polarity-zegelaar", read_political_tweets),
    ("nl-en-fr-keytrade-trustpilot-reviews", read_keytrade),
    ("en-semeval2016-restaurant-absa", read_semeval_en),
    ("en-twitter-us-airline-sentiment", read_airline),
    ("en-uci-sentiment-labelled-sentences", read_uci),
)


def gold_language(language: str) -> str:
    return language if language in ("nl", "en") else "other"


@dataclass(frozen=True)
class LanguageReport:
    folder: str
    n: int
    correct: int
    by_length: dict[str, tuple[int, int]]  # bucket → (correct, n)
    confusion: Counter[tuple[str, str]]  # (gold, predicted) → count
    seconds: float

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0


def evaluate_set(folder: Path, read: Callable[[Path], Iterator[Example]]) -> LanguageReport:
    examples = [e for e in read(folder) if e.split == "test"]
    texts = [e.text for e in examples]
    started = time.perf_counter()
    predicted = detect_languages(texts)  # no source hint: the text alone
    seconds = time.perf_counter() - started
    confusion: Counter[tuple[str, str]] = Counter()
    buckets: dict[str, list[int]] = {name: [0, 0] for _, _, name in LENGTHS}
    correct = 0
    for example, guess in zip(examples, predicted, strict=True):
        gold = gold_language(example.language)
        confusion[(gold, guess)] += 1
        hit = int(gold == guess)
        correct += hit
        bucket = next(name for low, high, name in LENGTHS if low <= len(example.text) <= high)
        buckets[bucket][0] += hit
        buckets[bucket][1] += 1
    return LanguageReport(
        folder.name,
        len(examples),
        correct,
        {name: (c, n) for name, (c, n) in buckets.items()},
        confusion,
        seconds,
    )


def run(data: Path, sets: Sequence[str] | None = None) -> list[LanguageReport]:
    reports = []
    for name, read in SETS:
        if sets and name not in sets:
            continue
        if (data / name).is_dir():
            reports.append(evaluate_set(data / name, read))
    return reports


def print_table(reports: Sequence[LanguageReport]) -> None:
    heads = " | ".join(name for _, _, name in LENGTHS)
    print(f"| set | n | accuracy | {heads} | wrong as | texts/s |")
    print("| --- | ---: | ---: |" + " ---: |" * len(LENGTHS) + " --- | ---: |")
    for r in reports:
        cells = []
        for _, _, name in LENGTHS:
            c, n = r.by_length[name]
            cells.append(f"{c / n:.3f} ({n})" if n else "–")
        wrong = ", ".join(
            f"{gold}→{guess} {count}"
            for (gold, guess), count in r.confusion.most_common()
            if gold != guess
        )
        rate = r.n / r.seconds if r.seconds else 0.0
        print(
            f"| {r.folder} | {r.n} | {r.accuracy:.3f} | {' | '.join(cells)} | {wrong or '–'} "
            f"| {rate:,.0f} |"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the shared/data folder")
    parser.add_argument("--set", action="append", help="only this folder (repeatable)")
    args = parser.parse_args(argv)
    reports = run(args.data, args.set)
    if not reports:
        raise SystemExit(f"no known labelled set under {args.data}")
    print_table(reports)


if __name__ == "__main__":
    main()
