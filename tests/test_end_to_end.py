"""The whole slice as a user sees it: the real app (web + worker + demo source) in a subprocess,
the page in headless Chromium, updating by itself."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import chromium, ids, texts
from tests.conftest import OUTPUT_DIR

ROOT = Path(__file__).parent.parent
pytestmark = [pytest.mark.browser, pytest.mark.slow]

PUSH_TOKEN = "e2e-secret-token"
PII = re.compile(r"[\w.+-]+@[\w-]+\.\w+|\b06[- ]?\d{8}\b|\b\d{4} ?[A-Z]{2} \d+\b")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def running_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """One running app shared by the tests of this module (starting it takes a while)."""
    tmp_path = tmp_path_factory.mktemp("e2e")
    output_dir = OUTPUT_DIR / "end_to_end"
    output_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    config = tmp_path / "e2e.toml"
    # The demo config, with a short backfill and a quick refresh so the test is fast.
    config.write_text(
        (ROOT / "config" / "demo.toml")
        .read_text(encoding="utf-8")
        .replace(
            "rate_per_minute = 40, backfill_minutes = 15",
            "rate_per_minute = 60, backfill_minutes = 5",
        )
        .replace("interval_seconds = 5", "interval_seconds = 2")
        .replace("refresh_seconds = 5", "refresh_seconds = 2")
        + '\n[[sources]]\nkey = "chatpush"\ntype = "push"\nchannel = "chat"\n'
        'secret_env = "CXPULSE_E2E_PUSH_TOKEN"\n',
        encoding="utf-8",
    )
    log = (output_dir / "app.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "app.py"),
            "--config",
            str(config),
            "--database-url",
            f"sqlite:///{tmp_path / 'e2e.db'}",
            "run",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "CXPULSE_E2E_PUSH_TOKEN": PUSH_TOKEN},
    )
    try:
        # Ready once the backfill is scored: the worker takes the oldest messages first, so a
        # message pushed before then waits behind ~1,000 backfilled ones (a minute or more on a
        # busy 2-core machine), and the tests below are about what happens to a live message.
        deadline = time.monotonic() + 240
        health: dict = {}
        while time.monotonic() < deadline:
            assert process.poll() is None, f"app exited early; see {output_dir / 'app.log'}"
            try:
                health = _health(port)
                if health["last_scored_at"] and health["unscored"] <= 32:
                    break
            except OSError:
                pass
            time.sleep(1)
        else:
            pytest.fail(
                f"the backfill was not scored within 240 s (last health {health}); "
                f"see {output_dir / 'app.log'}"
            )
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_live_page_shows_phases_and_scored_messages_and_updates_without_reload(
    running_app: int, output_dir: Path
) -> None:
    browser = chromium(1920, 1080)
    try:
        browser.get(f"http://127.0.0.1:{running_app}/?lang=nl")
        wait = WebDriverWait(browser, 30)
        wait.until(lambda b: len(texts(b, ".tile")) == 8)
        wait.until(lambda b: texts(b, ".ticker-item"))
        names = texts(browser, ".tile-name")
        assert names == [
            "Oriëntatie",
            "Keuze & aankoop",
            "Betaling",
            "Bezorging & installatie",
            "Gebruik & ervaring",
            "Klantenservice & contact",
            "Retour, opzegging & klachten",
            "Loyaliteit & delen",
        ]
        browser.execute_script("window.__sameDocument = true;")  # gone if the page reloads
        first_ids = ids(browser, ".ticker-item")
        # New messages arrive every second; within 15 s the ticker must show one it did not show.
        WebDriverWait(browser, 15).until(lambda b: ids(b, ".ticker-item") - first_ids)
        assert browser.execute_script("return window.__sameDocument === true")
        tickers = texts(browser, ".ticker-text")
        assert not [t for t in tickers if PII.search(t)], "personal data reached the screen"
        counts = [
            int(m.group(1))
            for text in texts(browser, ".tile-meta")
            if (m := re.search(r"(\d+) berichten", text))
        ]
        assert sum(counts) > 0
        # The header names the models behind the ticker: the built-in routes nl and en apart.
        models = texts(browser, ".status")[0].split("model: ")[1].split(", ")
        assert models and {m.split(":")[0] for m in models} <= {"builtin", "builtin-en"}
        # each name is one span that does not wrap (a name must not break at its hyphens)
        # (one script call: the header re-renders every refresh, so held elements go stale)
        wrapping = browser.execute_script(
            "return Array.from(document.querySelectorAll('.status .model-name'))"
            ".map(e => getComputedStyle(e).whiteSpace)"
        )
        assert wrapping and set(wrapping) == {"nowrap"}, wrapping
        browser.save_screenshot(str(output_dir / "live-1920x1080.png"))
        browser.get(f"http://127.0.0.1:{running_app}/?lang=en")
        wait.until(lambda b: "Delivery & installation" in texts(b, ".tile-name"))
        browser.save_screenshot(str(output_dir / "live-en-1920x1080.png"))
    finally:
        browser.quit()


def test_a_pushed_chat_message_is_scored_and_shown_redacted_on_the_live_page(
    running_app: int, output_dir: Path
) -> None:
    browser = chromium(1920, 1080)
    try:
        browser.get(f"http://127.0.0.1:{running_app}/?lang=nl")
        WebDriverWait(browser, 30).until(lambda b: texts(b, ".ticker-item"))
        body = {
            "messages": [
                {
                    "external_id": "e2e-push-1",
                    "text": "Mijn naam is Jan Jansen en de bezorger is nooit gekomen, "
                    "bel 06-12345678",
                    "created_at": datetime.now(UTC).isoformat(),
                    "role": "customer",
                    "conversation_id": "e2e-chat",
                    "brand": "voltera",
                }
            ]
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{running_app}/api/v1/messages",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {PUSH_TOKEN}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202
            assert json.loads(response.read())["results"][0]["status"] == "stored"
        # On screen, without a reload, as soon as the worker has scored it.
        WebDriverWait(browser, 90, poll_frequency=0.3).until(
            lambda b: any("nooit gekomen" in t for t in texts(b, ".ticker-text"))
        )
        shown = next(t for t in texts(browser, ".ticker-text") if "nooit gekomen" in t)
        browser.save_screenshot(str(output_dir / "pushed-message.png"))
        assert "Jan Jansen" not in shown and "06-12345678" not in shown
        assert "[naam]" in shown and "[telefoon]" in shown
    finally:
        browser.quit()
