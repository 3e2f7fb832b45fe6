"""The command line as an operator uses it, in real subprocesses on a fresh SQLite file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.slow


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        str(ROOT / "app.py"),
        "--log-level",
        "WARNING",
        "--database-url",
        f"sqlite:///{tmp_path / 'cli.db'}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)


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
