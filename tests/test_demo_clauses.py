"""scripts/demo_clauses.py: every demo clause, filled in, once, with its phase and polarity."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from ingest.sources.demo import CLAUSES

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "demo_clauses.py"
spec = importlib.util.spec_from_file_location("demo_clauses", SCRIPT)
assert spec and spec.loader
demo_clauses = importlib.util.module_from_spec(spec)
spec.loader.exec_module(demo_clauses)


def test_every_clause_is_filled_in_and_kept_with_its_phase_language_and_polarity() -> None:
    rows = demo_clauses.clauses()
    expected = sum(
        len(texts) for bank in CLAUSES.values() for p in bank.values() for texts in p.values()
    )
    assert len(rows) == expected
    assert not [text for *_, text in rows if "{" in text or "}" in text]
    assert {(lang, label, phase) for lang, label, phase, _ in rows} == {
        (lang, label, phase)
        for phase, bank in CLAUSES.items()
        for lang, by_label in bank.items()
        for label in by_label
    }
    assert all(text[0].isupper() or not text[0].isalpha() for *_, text in rows)


def test_the_script_reports_accuracy_per_language_for_the_builtin_model() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--model", "builtin"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    lines = {
        line.split()[0]: line.split() for line in result.stdout.splitlines()[2:] if line.strip()
    }
    for language in ("all", "nl", "en"):
        n, accuracy, macro_f1, binary = lines[language][1:5]
        assert int(n) > 0 and 0.5 < float(binary) <= 1.0 and 0 < float(accuracy) <= 1
