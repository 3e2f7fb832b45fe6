"""The command line as an operator uses it, in real subprocesses on a fresh SQLite file."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.slow


def _cli(tmp_path: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        str(ROOT / "app.py"),
        "--log-level",
        "WARNING",
        "--database-url",
        f"sqlite:///{tmp_path / 'cli.db'}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=timeout)


def test_ingest_once_then_sources_status_reports_the_run(tmp_path: Path) -> None:
    ingested = _cli(tmp_path, "ingest", "--once")
    assert ingested.returncode == 0, ingested.stderr
    assert ingested.stdout.startswith("demo: ") and " new" in ingested.stdout
    status = _cli(tmp_path, "sources", "status")
    assert status.returncode == 0, status.stderr
    assert "demo (demo, every 5 s)" in status.stdout
    assert "last success: 20" in status.stdout and "FAILING" not in status.stdout


def test_worker_once_scores_then_rollups_rebuild_and_report_preview_writes_html(
    tmp_path: Path,
) -> None:
    assert _cli(tmp_path, "ingest", "--once").returncode == 0
    scored = _cli(tmp_path, "worker", "--once")
    assert scored.returncode == 0 and scored.stdout.startswith("scored ")
    rebuilt = _cli(tmp_path, "db", "rebuild-rollups")
    assert rebuilt.returncode == 0 and "rebuilt" in rebuilt.stdout
    out = tmp_path / "week.html"
    preview = _cli(tmp_path, "report", "preview", "--out", str(out), "--language", "en")
    assert preview.returncode == 0, preview.stderr
    assert "<html" in out.read_text(encoding="utf-8").lower()
    wrong = _cli(tmp_path, "report", "preview", "--week", "2026-W99", "--out", str(out))
    assert wrong.returncode == 2 and "2026-W99" in wrong.stderr


def test_help_lists_every_command() -> None:
    shown = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "--help"], capture_output=True, text=True
    ).stdout
    for command in (
        "run",
        "web",
        "worker",
        "scheduler",
        "ingest",
        "import",
        "rescore",
        "db",
        "config",
        "sources",
        "report",
        "labels",
        "models",
        "eval",
    ):
        assert command in shown


def test_users_add_list_disable_from_the_command_line(tmp_path: Path) -> None:
    command = [
        sys.executable,
        str(ROOT / "app.py"),
        "--log-level",
        "WARNING",
        "--database-url",
        f"sqlite:///{tmp_path / 'cli.db'}",
    ]
    added = subprocess.run(
        [*command, "users", "add", "anna", "--role", "manager"],
        input="een-lang-wachtwoord\neen-lang-wachtwoord\n",
        capture_output=True,
        text=True,
    )
    assert added.returncode == 0, added.stderr
    again = subprocess.run(
        [*command, "users", "add", "anna"],
        input="x-lang-wachtwoord\nx-lang-wachtwoord\n",
        capture_output=True,
        text=True,
    )
    assert again.returncode == 2 and "anna" in again.stderr
    assert (
        subprocess.run([*command, "users", "disable", "anna"], capture_output=True).returncode == 0
    )
    listed = subprocess.run([*command, "users", "list"], capture_output=True, text=True).stdout
    assert listed.strip() == "anna\tmanager\tdisabled"
    assert "argon2" not in listed


LABEL_FILE = ROOT / "tests" / "sentiment" / "data" / "own_labels_nl.csv"
PROJECT_TEXTS = ROOT / "sentiment" / "builtin" / "project_texts.csv"
SHARED_DATA = ROOT.parent / "shared" / "data"


def test_labels_import_reports_bad_rows_then_export_list_and_stats(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "text,polarity,phase,created_by\n"
        "De bezorger was te laat,negative,delivery,anna\n"
        "Prima,heel goed,,anna\n"
        "Snel geholpen,positive,service,bram\n",
        encoding="utf-8",
    )
    imported = _cli(tmp_path, "labels", "import", str(labels))
    assert imported.returncode == 1  # a row was not imported: scripts notice
    assert f"{labels}:3: polarity 'heel goed' is not one of" in imported.stderr
    assert "2 labels imported, 0 already stored, 1 rows not imported" in imported.stdout
    out = tmp_path / "out.csv"
    exported = _cli(tmp_path, "labels", "export", str(out))
    assert exported.returncode == 0 and "wrote 2 labels" in exported.stdout
    assert out.read_text(encoding="utf-8").startswith("text,polarity,phase,language,message_id")
    again = _cli(tmp_path, "labels", "import", str(out))
    assert again.returncode == 0 and "0 labels imported, 2 already stored" in again.stdout
    listed = _cli(tmp_path, "labels", "list")
    assert "anna\tnegative\tdelivery\t-\tDe bezorger was te laat" in listed.stdout
    stats = _cli(tmp_path, "labels", "stats")
    assert stats.stdout.startswith("2 labels (0 about stored messages)")
    assert "polarity: negative 1, positive 1" in stats.stdout
    assert "created by: anna 1, bram 1" in stats.stdout
    missing = _cli(tmp_path, "labels", "import", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def _with_phase_labels(path: Path, count: int = 80) -> Path:
    """LABEL_FILE's polarity labels plus `count` phase-only labels: project texts with the phase
    they were written for (sentiment/builtin/project_texts.csv), spread over the phases."""
    with PROJECT_TEXTS.open(encoding="utf-8", newline="") as handle:
        texts = [r for r in csv.DictReader(handle) if r["language"] == "nl"]
    with LABEL_FILE.open(encoding="utf-8", newline="") as handle:
        polarity = list(csv.DictReader(handle))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, ["text", "polarity", "phase", "language", "created_by"])
        writer.writeheader()
        writer.writerows(polarity)
        for row in texts[:: len(texts) // count][:count]:
            writer.writerow(
                {"text": row["text"], "phase": row["phase"], "language": "nl", "created_by": "cx"}
            )
    return path


def test_models_train_names_the_bases_when_given_an_unknown_one(tmp_path: Path) -> None:
    wrong = _cli(tmp_path, "models", "train", "--labels", str(LABEL_FILE), "--base", "xlm-r")
    assert wrong.returncode == 2
    said = " ".join(wrong.stderr.replace("│", " ").split())  # typer draws a box around it
    assert "Invalid value for --base: 'xlm-r': choose one of minilm, multilingual-e5-small" in said


def test_models_train_refuses_fewer_than_two_folds(tmp_path: Path) -> None:
    one = _cli(tmp_path, "models", "train", "--labels", str(LABEL_FILE), "--folds", "1")
    assert one.returncode == 2
    said = " ".join(one.stderr.replace("│", " ").split())
    assert "Invalid value for '--folds'" in said and "greater than or equal to 2" in said


def test_models_train_list_use_and_back_and_eval_a_local_version(tmp_path: Path) -> None:
    empty = _cli(tmp_path, "models", "train")  # the database has no labels yet
    assert empty.returncode == 2 and "training needs at least 20" in empty.stderr
    trained = _cli(
        tmp_path,
        "models",
        "train",
        "--labels",
        str(_with_phase_labels(tmp_path / "labels.csv")),
        "--epochs",
        "1",
        "--max-steps",
        "1",
        "--threads",
        "2",
        timeout=1200,  # a shared 2-core machine; alone it takes well under a minute
    )
    assert trained.returncode == 0, trained.stderr
    assert "wrote var/models/own-v1" in trained.stdout
    assert "200 labels with a polarity and 80 with a phase" in trained.stdout
    assert (tmp_path / "var" / "models" / "own-v1" / "phases" / "adapter.json").is_file()
    assert "switch to it with `cxpulse models use own-v1`" in trained.stdout
    listed = _cli(tmp_path, "models", "list")
    assert listed.returncode == 0, listed.stderr
    assert "* builtin" in listed.stdout and "  own-v1\ttrained " in listed.stdout
    assert "held out 36" in listed.stdout and "then in use: builtin" in listed.stdout
    assert "phases learned, held out" in listed.stdout and "configured phases" in listed.stdout
    full = _cli(
        tmp_path,
        *("models", "train", "--labels", str(tmp_path / "labels.csv"), "--full"),
        *("--epochs", "1", "--max-steps", "1", "--threads", "2"),
        timeout=1200,
    )
    assert full.returncode == 0, full.stderr
    assert (
        "wrote var/models/own-v2" in full.stdout and "(every encoder weight: --full)" in full.stdout
    )
    for folder in ("own-v2", "own-v2/phases"):  # the phase model is trained in full too
        assert (tmp_path / "var" / "models" / folder / "encoder.safetensors").is_file()
    used = _cli(tmp_path, "models", "use", "own-v1")
    assert used.returncode == 0 and "now in use: own-v1 (was: builtin)" in used.stdout
    assert "* own-v1" in _cli(tmp_path, "models", "list").stdout
    wrong = _cli(tmp_path, "models", "use", "own-v7")
    assert wrong.returncode == 2 and "'own-v7' is not in var/models" in wrong.stderr
    assert (tmp_path / "var" / "models" / "active").read_text() == "own-v1\n"
    back = _cli(tmp_path, "models", "use", "builtin")
    assert back.returncode == 0 and "was: own-v1" in back.stdout
    no_set = _cli(tmp_path, "eval", "--dataset", str(tmp_path), "--model", "own-v1")
    assert no_set.returncode == 2 and "not a known labelled data folder" in no_set.stderr
    bolcom = SHARED_DATA / "nl-bolcom-reviews-pattern"
    if not bolcom.exists():
        pytest.skip(f"{bolcom} is not on this machine (evaluation data stays outside the repo)")
    evaluated = _cli(
        tmp_path, "eval", "--dataset", str(bolcom), "--model", "own-v1", "--limit", "20"
    )
    assert evaluated.returncode == 0, evaluated.stderr
    assert "nl-bolcom-reviews-pattern · binary · model own-v1" in evaluated.stdout
    assert "gold \\ predicted" in evaluated.stdout


def test_eval_scores_each_text_with_the_model_the_worker_would_route_it_to(
    tmp_path: Path,
) -> None:
    keytrade = SHARED_DATA / "nl-en-fr-keytrade-trustpilot-reviews"
    if not keytrade.exists():
        pytest.skip(f"{keytrade} is not on this machine (evaluation data stays outside the repo)")
    config = tmp_path / "routes.toml"
    config.write_text(
        (ROOT / "config" / "demo.toml").read_text(encoding="utf-8")
        + '\n[[sentiment.routes]]\nlanguage = "other"\nmodel = "builtin-head"\n',
        encoding="utf-8",
    )
    routed_eval = ("--config", str(config), "eval", "--dataset", str(keytrade), "--no-phases")
    evaluated = _cli(tmp_path, *routed_eval, "--limit", "40")
    assert evaluated.returncode == 0, evaluated.stderr
    # builtin: the Dutch-first adapter, the configured route (French is "other"), then its own
    # English route
    assert (
        "model builtin:multilingual-e5-small+lora; other: builtin:all-MiniLM-L6-v2+head; "
        "en: builtin-en:multilingual-e5-small+lora" in evaluated.stdout
    )
    explicit = _cli(tmp_path, *routed_eval, "--limit", "40", "--model", "builtin-en")
    assert explicit.returncode == 0, explicit.stderr
    assert "model builtin-en:multilingual-e5-small+lora ·" in explicit.stdout  # --model: no routes
