"""How the sentiment model reads the demo's own clauses: the sentences the wall shows in the demo.

Every clause of the demo generator (ingest.sources.demo.CLAUSES: per phase, nl and en, positive,
negative and neutral) is filled in ({brand} Voltera, {product} laptop, {days} 3, {minutes} 40),
sentence-cased and scored alone, as the worker scores one unit, by the model the app loads
(`--model builtin` routes English to builtin-en). Prints accuracy, macro-F1 and the confusion
matrix per language, and with --wrong every clause read with the opposite polarity.

Not an independent measure: the demo clauses and the model's training texts are written by the
same project (docs/quality.md says how they relate); the public sets in ../shared/data are.

    .venv/bin/python scripts/demo_clauses.py [--model builtin] [--wrong]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.sources.demo import CLAUSES  # noqa: E402
from sentiment.evaluate import load_model, predict_routed, score  # noqa: E402
from sentiment.pipeline import routed_classifier  # noqa: E402

FILL = {"brand": "Voltera", "product": "laptop", "days": "3", "minutes": "40"}
LABELS = ("negative", "neutral", "positive")


def clauses() -> list[tuple[str, str, str, str]]:
    """(language, label, phase, text) for every demo clause, filled in and sentence-cased."""
    rows = []
    for phase, bank in CLAUSES.items():
        for language, by_label in bank.items():
            for label, texts in by_label.items():
                for text in texts:
                    filled = text.format(**FILL)
                    filled = filled[0].upper() + filled[1:]
                    rows.append((language, label, phase, filled + "."))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="builtin", help="as sentiment.model (default builtin)")
    parser.add_argument("--wrong", action="store_true", help="list clauses read the other way")
    args = parser.parse_args()
    rows = clauses()
    classifier = routed_classifier(args.model, (), load_model)
    predictions = predict_routed(classifier, [r[3] for r in rows], progress=False)
    print(f"demo clauses · model {classifier.name}")
    print(f"  {'language':<10}{'n':>6}{'accuracy':>10}{'macro-F1':>10}   binary accuracy")
    for language in ("all", "nl", "en"):
        scored = zip(rows, predictions, strict=True)
        pairs = [(r, p) for r, p in scored if language in ("all", r[0])]
        s = score([r[1] for r, _ in pairs], [p.label for _, p in pairs], LABELS)
        polar = [(r[1], p.score) for r, p in pairs if r[1] != "neutral"]
        binary = sum((g == "positive") == (v > 0) for g, v in polar) / len(polar)
        print(f"  {language:<10}{s.n:>6}{s.accuracy:>10.3f}{s.macro_f1:>10.3f}   {binary:.3f}")
        if language == "all":
            print("  gold \\ predicted " + "".join(c.rjust(10) for c in s.columns))
            for label, counts in zip(s.labels, s.confusion, strict=True):
                print(f"  {label:<17}" + "".join(str(v).rjust(10) for v in counts))
    if args.wrong:
        for (language, label, phase, text), p in zip(rows, predictions, strict=True):
            if label != "neutral" and p.label not in (label, "neutral"):
                print(f"  {language} {phase:<12}{label:<9}{p.score:+.2f}  {text}")


if __name__ == "__main__":
    main()
