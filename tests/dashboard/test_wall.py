"""The wall screen in headless Chromium at 1920×1080 and 3840×2160: content, redaction, language,
staleness, alerts, rotation, fit, token, pacing, restart recovery and a soak of 2 hours' updates."""

from __future__ import annotations

import csv
import io
import json
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import Engine, select, update
from sqlmodel import col
from werkzeug.serving import make_server

from config import Settings
from config.settings import WallScreenConfig
from dashboard.app import create_app, stop_background
from ingest.base import Batch, IncomingMessage
from ingest.pipeline import store
from ingest.sources.demo import DemoSource
from sentiment.labels import label_for
from storage.alerts import close_alert, open_alert
from storage.catalogue import sync_catalogue
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import Message, MessagePhase
from storage.scores import ScoredMessage, save_scores, unscored
from tests.browser import chromium, ids, texts
from tests.conftest import publish_screenshot
from wiring import build_normaliser

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.browser

VIEWS = ("journey", "feed", "brands", "trend", "moments")
SIZES = ((1920, 1080), (3840, 2160))
PII = re.compile(r"[\w.+-]+@[\w-]+\.\w+|\b06[- ]?\d{8}\b|\b\d{4} ?[A-Z]{2} \d+\b|\bNL\d\d[A-Z]{4}")
PHASES_NL = [
    "Oriëntatie",
    "Keuze & aankoop",
    "Betaling",
    "Bezorging & installatie",
    "Gebruik & ervaring",
    "Klantenservice & contact",
    "Retour, opzegging & klachten",
    "Loyaliteit & delen",
]
PII_TEXT = (
    "Mail me op jan.jansen@example.nl of bel 06-12345678: de bezorger kwam twee dagen te laat."
)
VISIBLE_VIEWS = (
    "return [...document.querySelectorAll('.wall-view')]"
    ".filter(e => getComputedStyle(e).visibility === 'visible').map(e => e.id)"
)


# --- a database filled with a week of the demo, redacted by the real normaliser ------------


def _score_of(polarity: str, seed: int) -> float:
    """A score a good model would give: clearly signed for polar truths, near zero otherwise."""
    wobble = ((seed * 7919) % 1000) / 1000  # deterministic, no RNG state between tests
    if polarity == "positive":
        return round(0.55 + 0.4 * wobble, 3)
    if polarity == "negative":
        return round(-0.45 - 0.5 * wobble, 3)
    return round(-0.1 + 0.3 * wobble, 3)


def score_from_truth(engine: Engine, truth: dict[str, dict[str, str]]) -> int:
    """Score every waiting message with scores from what the generator meant, through the real
    save path (claims, message_phase, incremental rollups)."""
    saved = 0
    while True:
        with session_scope(engine) as session:
            batch = unscored(session, 200)
            if not batch:
                return saved
            results = []
            for message in batch:
                assert message.id is not None
                meant = truth.get(message.external_id, {})
                if message.turn_role in ("agent", "bot"):
                    meant = {}  # context only, as the analyser treats them
                elif not meant:
                    meant = {"general": "neutral"}
                phases = [
                    MessagePhase(
                        message_id=message.id,
                        phase=phase,
                        score=(score := _score_of(polarity, message.id + n)),
                        label=label_for(score),
                        units=1,
                    )
                    for n, (phase, polarity) in enumerate(meant.items())
                ]
                mean = sum(p.score for p in phases) / len(phases) if phases else None
                results.append(
                    ScoredMessage(
                        message.id,
                        message.language,
                        mean,
                        None if mean is None else label_for(mean),
                        "test-truth@1",
                        [],
                        phases,
                    )
                )
            saved += save_scores(session, results)


def fill_demo(engine: Engine, settings: Settings, now: datetime) -> None:
    """A week of demo traffic (thin), the last two hours dense, scored from the demo's truth."""
    normaliser = build_normaliser(settings)
    truth: dict[str, dict[str, str]] = {}
    # (rate per minute, minutes back, seed, an incident every so many minutes): the week without
    # incidents, the last two hours with one carrier failure, as the demo has them.
    for rate, minutes, seed, every in ((0.1, 7 * 24 * 60, 11, 0), (1.5, 120, 12, 90)):
        source = DemoSource(
            f"demo{seed}",
            rate_per_minute=rate,
            backfill_minutes=minutes,
            seed=seed,
            incident_every_minutes=every,
            max_batch=100_000,
            clock=lambda: now - timedelta(minutes=2),
        )
        batch = source.fetch(None)
        seqs = {int(m.external_id.split("-")[1]) for m in batch.messages}
        for seq in seqs:
            for generated in source.generate(seq):
                truth[generated.message.external_id] = generated.truth
        store(engine, source.key, Batch(messages=batch.messages), normaliser)
    score_from_truth(engine, truth)


_NORMALISERS: dict[int, Any] = {}


def _normaliser(settings: Settings) -> Any:
    """The real normaliser, built once per settings object (building it compiles patterns)."""
    return _NORMALISERS.setdefault(id(settings), build_normaliser(settings))


def add_scored(
    engine: Engine,
    settings: Settings,
    text: str,
    phase: str,
    score: float,
    brand: str = "voltera",
    channel: str = "review",
    when: datetime | None = None,
    conversation: str | None = None,
) -> int:
    """One new message (a customer's) through the real normaliser and the real save path."""
    external_id = f"test-{time.time_ns()}"
    message = IncomingMessage(
        source="demo",
        external_id=external_id,
        channel=channel,  # type: ignore[arg-type]
        text=text,
        created_at=when or datetime.now(UTC),
        brands=(brand,),
        language="nl",
        conversation_id=conversation,
        turn_role="customer" if conversation else None,
    )
    store(engine, "demo", Batch(messages=[message]), _normaliser(settings))
    with session_scope(engine) as session:
        message_id = session.scalar(
            select(col(Message.id)).where(col(Message.external_id) == external_id)
        )
        assert message_id is not None
        phases = [
            MessagePhase(
                message_id=message_id, phase=phase, score=score, label=label_for(score), units=1
            )
        ]
        save_scores(
            session,
            [ScoredMessage(message_id, "nl", score, label_for(score), "test@1", [], phases)],
        )
    return int(message_id)


def wall_settings(base: Settings, **dashboard: Any) -> Settings:
    screens = {
        **base.dashboard.screens,
        "lobby": WallScreenConfig(
            views=("feed", "moments"), rotate_seconds=3, language="en", theme="light"
        ),
    }
    changes = {"refresh_seconds": 1, "screens": screens, **dashboard}
    return base.model_copy(update={"dashboard": base.dashboard.model_copy(update=changes)})


def new_database(path: Path, settings: Settings) -> Engine:
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        sync_catalogue(session, settings.brands, settings.phases, settings.sources)
    return engine


@pytest.fixture(scope="module")
def demo_engine(
    tmp_path_factory: pytest.TempPathFactory, demo_settings: Settings
) -> Iterator[Engine]:
    engine = new_database(tmp_path_factory.mktemp("wall") / "wall.db", demo_settings)
    now = datetime.now(UTC)
    fill_demo(engine, demo_settings, now)
    # Today is never empty, even just after midnight: a good moment, a chat that ended well,
    # and (newest of all) a complaint with personal data in it, redacted on the way in.
    minute = timedelta(minutes=1)
    add_scored(engine, demo_settings, "Top service!", "service", 0.9, when=now - 2 * minute)
    add_scored(
        engine,
        demo_settings,
        "Dank je, opgelost!",
        "service",
        0.8,
        "voltera",
        "chat",
        now - minute,
        conversation="test-chat",
    )
    add_scored(engine, demo_settings, PII_TEXT, "delivery", -0.7)
    yield engine
    engine.dispose()


# --- a real server, counting the wall's refresh requests --------------------------------


@dataclass
class Traffic:
    """WSGI middleware: counts refreshes and how many are in flight at once; can be slow."""

    app: Callable[..., Any]
    delay: float = 0.0
    refreshes: int = 0
    in_flight: int = 0
    most_in_flight: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") != "/_dash-update-component":
            return self.app(environ, start_response)
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(raw)
        body = json.loads(raw or b"{}")
        wall = [i for i in body.get("inputs", []) if i.get("id") == "wall-sent"]
        # Dash calls the wall's callback once, without a value, when the page is put in place
        # (prevent_initial_call does not hold for layout a callback inserted); it is answered
        # at once with "no update" and is not a refresh.
        refresh = bool(wall and wall[0].get("value")) or "live-tick" in raw.decode()
        if not refresh:
            return self.app(environ, start_response)
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.bodies = [*self.bodies[-4:], body]
        try:
            time.sleep(self.delay)
            return [b"".join(self.app(environ, start_response))]
        finally:
            with self.lock:
                self.in_flight -= 1
                self.refreshes += 1


@dataclass
class Served:
    url: str
    traffic: Traffic


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    servers = []

    def start(settings: Settings, engine: Engine, delay: float = 0.0) -> Served:
        app = create_app(settings, engine).server
        traffic = Traffic(app, delay)
        server = make_server("127.0.0.1", 0, traffic, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append((server, app))
        return Served(f"http://127.0.0.1:{server.server_port}", traffic)

    yield start
    for server, app in servers:
        server.shutdown()
        stop_background(app)  # its refresh would outlive the test's database


@pytest.fixture
def demo_wall(serve: Callable[..., Served], demo_engine: Engine, demo_settings: Settings) -> Served:
    return serve(wall_settings(demo_settings), demo_engine)


def open_wall(browser: Any, url: str, ready: str = ".wall-view") -> None:
    browser.get(url)
    WebDriverWait(browser, 20).until(lambda b: texts(b, ready))


def _showing(views: list[str]) -> Callable[[Any], bool]:
    def check(browser: Any) -> bool:
        return bool(browser.execute_script(VISIBLE_VIEWS) == views)

    return check


def fit_problems(browser: Any) -> list[str]:
    """Anything that scrolls or is cut off: the document, the views and their panels."""
    return browser.execute_script(  # type: ignore[no-any-return]
        """
        const problems = [];
        const d = document.documentElement;
        if (d.scrollHeight > innerHeight || d.scrollWidth > innerWidth) {
            problems.push(`document ${d.scrollWidth}x${d.scrollHeight}`
                + ` > ${innerWidth}x${innerHeight}`);
        }
        const boxes = document.querySelectorAll(
            '.wall-view:not([hidden]), .wall-tile, .trend-panel, .moment, .endings, .brands-table,'
            + ' .feed-list, .wall-header, .wall-alerts');
        for (const e of boxes) {
            const r = e.getBoundingClientRect();
            if (e.scrollHeight > e.clientHeight + 2 || e.scrollWidth > e.clientWidth + 2) {
                problems.push(`${e.id || e.className} content ${e.scrollWidth}x${e.scrollHeight}`
                    + ` > box ${e.clientWidth}x${e.clientHeight}`);
            }
            if (r.right > innerWidth + 1 || r.bottom > innerHeight + 1) {
                problems.push(`${e.id || e.className} ends at ${r.right}x${r.bottom}`);
            }
        }
        return problems;
        """
    )


# --- content --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_view_fits_one_screen_without_scrolling(
    size: tuple[int, int], demo_wall: Served, output_dir: Path
) -> None:
    width, height = size
    browser = chromium(width, height)
    try:
        for view in VIEWS:
            open_wall(browser, f"{demo_wall.url}/wall?views={view}&rotate=0", f"#wall-{view} > *")
            shown = [f"wall-view-{view}"]
            WebDriverWait(browser, 10).until(_showing(shown))
            time.sleep(0.8)  # let the fade-in finish before the picture
            assert fit_problems(browser) == [], view
            shot = output_dir / f"wall-{view}-{width}x{height}.png"
            browser.save_screenshot(str(shot))
            if width == 1920:
                publish_screenshot(shot, f"wall-{view}.png")
    finally:
        browser.quit()


def test_journey_shows_phases_in_order_with_targets_gaps_and_handoffs(demo_wall: Served) -> None:
    browser = chromium(1920, 1080)
    try:
        open_wall(browser, f"{demo_wall.url}/wall?views=journey&rotate=0&lang=nl", ".wall-tile")
        assert texts(browser, ".wall-tile .tile-name") == PHASES_NL
        targets = texts(browser, ".wall-tile .tile-target")
        assert targets[3] == "doel +0.40" and targets[4] == "doel +0.50"  # delivery, use
        gaps = texts(browser, ".wall-tile .tile-gap")
        assert all(re.fullmatch(r"[▲▼] ?[+-]\d\.\d\d", g) for g in gaps), gaps
        handoffs = ids(browser, ".handoff")
        assert len(handoffs) == 7 and "handoff-payment-delivery" in handoffs
        assert len(texts(browser, ".handoff-biggest")) <= 1
        assert all(re.fullmatch(r"\d+ berichten", m) for m in texts(browser, ".tile-meta"))
    finally:
        browser.quit()


def test_feed_shows_only_redacted_text_with_channel_brand_and_phases(demo_wall: Served) -> None:
    browser = chromium(1920, 1080)
    try:
        open_wall(browser, f"{demo_wall.url}/wall?views=feed&rotate=0", "#wall-feed .ticker-item")
        items = texts(browser, "#wall-feed .ticker-item")
        assert len(items) == 6
        assert not [item for item in items if PII.search(item)], "personal data on the wall"
        mine = next(item for item in items if "bezorger kwam twee dagen te laat" in item)
        assert "[e-mail]" in mine and "[telefoon]" in mine
        assert "Voltera" in mine and "Bezorging & installatie" in mine
        assert texts(browser, "#wall-feed .channel-icon-review")
        page = browser.execute_script("return document.documentElement.outerHTML")
        assert "jan.jansen@example.nl" not in page and "12345678" not in page
    finally:
        browser.quit()


def test_brands_and_moments_show_own_brand_against_competitors_and_today(demo_wall: Served) -> None:
    browser = chromium(1920, 1080)
    try:
        open_wall(
            browser, f"{demo_wall.url}/wall?views=brands&rotate=0&lang=en", "#brands-delivery"
        )
        head = texts(browser, ".brands-table thead th")
        assert head[1].startswith("Voltera") and head[2:4] == ["Stroomz", "Kabelhuis"]
        assert len(texts(browser, ".brands-table tbody tr")) == 8
        open_wall(browser, f"{demo_wall.url}/wall?views=moments&rotate=0&lang=en", "#moment-best")
        best, worst = texts(browser, "#moment-best .score"), texts(browser, "#moment-worst .score")
        assert float(best[0]) > 0 > float(worst[0])
        endings = texts(browser, ".ending")
        assert endings and all(re.fullmatch(r"\d+ (positive|neutral|negative)", e) for e in endings)
    finally:
        browser.quit()


def test_language_switches_with_the_lang_parameter_and_the_screen_profile(
    demo_wall: Served, output_dir: Path
) -> None:
    browser = chromium(1920, 1080)
    try:
        open_wall(browser, f"{demo_wall.url}/wall?views=journey&rotate=0&lang=en", ".wall-tile")
        assert texts(browser, ".wall-tile .tile-name")[3] == "Delivery & installation"
        assert "How customers experience us" in texts(browser, ".wall-header h1")[0]
        open_wall(browser, f"{demo_wall.url}/wall?views=journey&rotate=0&lang=nl", ".wall-tile")
        assert texts(browser, ".wall-tile .tile-name")[3] == "Bezorging & installatie"
        # The lobby profile: English, light, feed and moments only.
        open_wall(browser, f"{demo_wall.url}/wall/lobby", "#wall-feed .ticker-item")
        root = browser.execute_script("return document.querySelector('#wall-root').className")
        assert "theme-light" in root
        browser.save_screenshot(str(output_dir / "wall-lobby-light.png"))
        assert texts(browser, "#wall-view-feed .view-title") == ["Just in"]
        assert browser.execute_script("return document.querySelector('#wall-view-journey').hidden")
        open_wall(browser, f"{demo_wall.url}/wall/nowhere", "#wall-message")
        assert "nowhere" in texts(browser, "#wall-message")[0]
    finally:
        browser.quit()


def test_wall_updates_within_seconds_without_reload(
    demo_wall: Served, demo_engine: Engine, demo_settings: Settings
) -> None:
    browser = chromium(1920, 1080)
    try:
        open_wall(
            browser, f"{demo_wall.url}/wall?views=feed,journey&rotate=0", "#wall-feed .ticker-item"
        )
        browser.execute_script("window.__sameDocument = true;")
        before = ids(browser, "#wall-feed .ticker-item")
        started = time.monotonic()
        new_id = add_scored(
            demo_engine, demo_settings, "Vandaag snel bezorgd, top!", "delivery", 0.8
        )
        WebDriverWait(browser, 10).until(
            lambda b: f"msg-{new_id}" in ids(b, "#wall-feed .ticker-item")
        )
        assert time.monotonic() - started < 10
        assert browser.execute_script("return window.__sameDocument === true")
        assert len(ids(browser, "#wall-feed .ticker-item") - before) == 1
    finally:
        browser.quit()


def test_wall_rotates_views_in_the_browser(demo_wall: Served) -> None:
    browser = chromium(1920, 1080)
    try:
        open_wall(browser, f"{demo_wall.url}/wall?rotate=2", ".wall-tile")
        seen = []
        deadline = time.monotonic() + 7
        while time.monotonic() < deadline:
            seen.extend(browser.execute_script(VISIBLE_VIEWS))
            time.sleep(0.5)
        assert len(set(seen)) >= 3, seen
        assert all(len(set(browser.execute_script(VISIBLE_VIEWS))) <= 2 for _ in range(3))
    finally:
        browser.quit()


def test_alert_takes_over_a_band_on_every_view(
    demo_wall: Served, demo_engine: Engine, output_dir: Path
) -> None:
    browser = chromium(1920, 1080)
    with session_scope(demo_engine) as session:
        alert = open_alert(
            session,
            "voltera",
            "delivery",
            datetime.now(UTC) - timedelta(minutes=12),
            observed=0.62,
            expected=0.18,
            reason="62% negatief in 15 min, normaal 18%",
        )
        alert_id = alert.id
    try:
        open_wall(browser, f"{demo_wall.url}/wall?rotate=2&lang=nl", ".wall-alerts .alert-line")
        band = texts(browser, ".wall-alerts")[0]
        assert "Voltera · Bezorging & installatie" in band and "62% negatief" in band
        views_with_band = set()
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            if texts(browser, ".wall-alerts .alert-line"):
                views_with_band.update(browser.execute_script(VISIBLE_VIEWS))
            time.sleep(0.4)
        assert len(views_with_band) >= 3
        assert fit_problems(browser) == []
        browser.save_screenshot(str(output_dir / "wall-alert-1920x1080.png"))
        publish_screenshot(output_dir / "wall-alert-1920x1080.png", "wall-alert.png")
        with session_scope(demo_engine) as session:
            close_alert(session, alert_id or 0, datetime.now(UTC))
        WebDriverWait(browser, 10).until(
            lambda b: b.execute_script("return document.querySelector('#wall-alerts').hidden")
        )
    finally:
        with session_scope(demo_engine) as session:
            close_alert(session, alert_id or 0, datetime.now(UTC))
        browser.quit()


def test_wall_shows_stale_banner_when_ingest_stops(
    serve: Callable[..., Served], demo_settings: Settings, tmp_path: Path
) -> None:
    engine = new_database(tmp_path / "stale.db", demo_settings)
    three_hours_ago = datetime.now(UTC) - timedelta(hours=3)
    add_scored(engine, demo_settings, "Snel geleverd.", "delivery", 0.6, when=three_hours_ago)
    with session_scope(engine) as session:
        session.execute(update(Message).values(scored_at=three_hours_ago))
    served = serve(wall_settings(demo_settings, stale_after_minutes=10), engine)
    browser = chromium(1920, 1080)
    try:
        open_wall(browser, f"{served.url}/wall?lang=nl&rotate=0", "#wall-stale")
        local = three_hours_ago.astimezone(ZoneInfo(demo_settings.dashboard.timezone))
        banner = texts(browser, "#wall-stale")[0]
        assert f"laatste update {local:%d-%m %H:%M}" in banner
        time.sleep(2.5)  # refreshes keep it up; they do not make the old data look fresh
        assert texts(browser, "#wall-stale")[0] == banner
        assert browser.execute_script("return !document.querySelector('#wall-stale').hidden")
    finally:
        browser.quit()
        engine.dispose()


def test_wall_needs_the_token_when_one_is_configured(
    serve: Callable[..., Served],
    demo_engine: Engine,
    demo_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CXPULSE_TEST_WALL_TOKEN", "s3cret-screen")
    served = serve(
        wall_settings(demo_settings, wall_token_env="CXPULSE_TEST_WALL_TOKEN"), demo_engine
    )
    browser = chromium(1920, 1080)
    try:
        for query in ("", "?token=wrong"):
            open_wall(browser, f"{served.url}/wall{query}", "#wall-message")
            assert "token" in texts(browser, "#wall-message")[0]
            assert not texts(browser, ".wall-tile, .ticker-item")
        open_wall(browser, f"{served.url}/wall?token=s3cret-screen&rotate=0", ".wall-tile")
        WebDriverWait(browser, 10).until(lambda _: served.traffic.bodies)
        body = json.loads(json.dumps(served.traffic.bodies[-1]))
    finally:
        browser.quit()
    # The data endpoint checks the token too: a forged refresh with a wrong one gets nothing.
    for item in body["state"]:
        if item["id"] == "wall-options":
            item["value"]["token"] = "wrong"
    request = urllib.request.Request(
        f"{served.url}/_dash-update-component",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204 and response.read() == b""


def test_bench_request_body_is_the_one_the_browser_sends(
    demo_wall: Served, demo_settings: Settings
) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import wall as bench_wall  # bench/wall.py
    finally:
        sys.path.remove(str(ROOT / "bench"))
    port = int(demo_wall.url.rsplit(":", 1)[1])
    built = bench_wall.refresh_body(port, wall_settings(demo_settings))
    browser = chromium(1920, 1080)
    try:
        open_wall(browser, f"{demo_wall.url}/wall", ".wall-tile")
        WebDriverWait(browser, 10).until(lambda _: demo_wall.traffic.bodies)
        sent = demo_wall.traffic.bodies[-1]
    finally:
        browser.quit()
    assert built["output"] == sent["output"]
    assert built["outputs"] == sent["outputs"]
    assert [(i["id"], i["property"]) for i in built["inputs"]] == [
        (i["id"], i["property"]) for i in sent["inputs"]
    ]
    assert [(s["id"], s["property"]) for s in built["state"]] == [
        (s["id"], s["property"]) for s in sent["state"]
    ]
    options = next(s["value"] for s in sent["state"] if s["id"] == "wall-options")
    assert options == next(s["value"] for s in built["state"] if s["id"] == "wall-options")


# --- behaviour under trouble -----------------------------------------------------------------


def test_slow_server_gets_one_wall_refresh_at_a_time(
    serve: Callable[..., Served], demo_engine: Engine, demo_settings: Settings
) -> None:
    """Refresh every 0.25 s against a server that takes 1.5 s: the wall waits for each answer.

    The live page's plain dcc.Interval, on the same server, shows what Dash does without that
    guard: it sends a new request every tick and drops the answer of the one in flight."""
    settings = wall_settings(demo_settings, refresh_seconds=0.25)
    wall = serve(settings, demo_engine, delay=1.5)
    browser = chromium(1920, 1080)
    try:
        open_wall(browser, f"{wall.url}/wall?views=feed&rotate=0", "#wall-feed .ticker-item")
        time.sleep(8)
        assert wall.traffic.most_in_flight == 1
        assert wall.traffic.refreshes >= 3  # answered ones, about one per 1.5 s
        live = serve(settings, demo_engine, delay=1.5)
        browser.get(f"{live.url}/")
        time.sleep(5)
        assert live.traffic.most_in_flight > 1
    finally:
        browser.quit()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_app(config: Path, url: str, port: int, log: Any) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--config", str(config), "--database-url", url]
        + ["web", "--port", str(port)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the app exited; see app.log"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process
        except OSError:
            time.sleep(0.3)
    raise AssertionError("the app did not come up within 60 s")


def test_open_wall_recovers_by_itself_when_the_server_restarts(
    demo_settings: Settings, tmp_path: Path, output_dir: Path
) -> None:
    config = tmp_path / "wall.toml"
    config.write_text(
        (ROOT / "config" / "demo.toml")
        .read_text(encoding="utf-8")
        .replace("refresh_seconds = 5", "refresh_seconds = 1"),
        encoding="utf-8",
    )
    url = f"sqlite:///{tmp_path / 'restart.db'}"
    engine = new_database(tmp_path / "restart.db", demo_settings)
    first = add_scored(engine, demo_settings, "Netjes geleverd.", "delivery", 0.5)
    port = _free_port()
    log = (output_dir / "app.log").open("w")
    process = _start_app(config, url, port, log)
    browser = chromium(1920, 1080)
    try:
        open_wall(browser, f"http://127.0.0.1:{port}/wall?views=feed&rotate=0", f"#msg-{first}")
        browser.execute_script("window.__sameDocument = true;")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        # Never blank, never silently stale: the last figures stay, with a warning.
        WebDriverWait(browser, 15).until(
            lambda b: b.execute_script("return !document.querySelector('#wall-offline').hidden")
        )
        assert f"msg-{first}" in ids(browser, "#wall-feed .ticker-item")
        assert "Geen verbinding" in texts(browser, "#wall-offline")[0]
        browser.save_screenshot(str(output_dir / "wall-offline.png"))
        second = add_scored(
            engine, demo_settings, "Bezorger was heel vriendelijk.", "delivery", 0.7
        )
        process = _start_app(config, url, port, log)
        WebDriverWait(browser, 40).until(
            lambda b: f"msg-{second}" in ids(b, "#wall-feed .ticker-item")
        )
        WebDriverWait(browser, 10).until(
            lambda b: b.execute_script("return document.querySelector('#wall-offline').hidden")
        )
        assert browser.execute_script("return window.__sameDocument === true")
    finally:
        browser.quit()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
        engine.dispose()


# --- soak: two hours of updates, accelerated -------------------------------------------------


def _sample(browser: Any) -> tuple[float, int]:
    """JS heap in use after a forced garbage collection, and the document's DOM node count."""
    browser.execute_cdp_cmd("HeapProfiler.collectGarbage", {})
    heap = browser.execute_cdp_cmd("Runtime.getHeapUsage", {})["usedSize"]
    nodes = browser.execute_cdp_cmd("Memory.getDOMCounters", {})["nodes"]
    return float(heap), int(nodes)


@pytest.mark.slow
def test_soak_two_hours_of_updates_keep_heap_and_dom_bounded(
    serve: Callable[..., Served],
    demo_engine: Engine,
    demo_settings: Settings,
    output_dir: Path,
) -> None:
    """1,440 refreshes (2 h at 5 s) asked every 0.1 s, views rotating every 5 s, a new message
    every second all the while; JS heap and DOM nodes must show no growth trend."""
    target = int(2 * 3600 / demo_settings.dashboard.refresh_seconds)
    served = serve(wall_settings(demo_settings, refresh_seconds=0.1), demo_engine)
    stop = threading.Event()

    def arrive() -> None:
        n = 0
        while not stop.wait(1.0):
            n += 1
            add_scored(demo_engine, demo_settings, f"Bericht {n}: prima geholpen.", "service", 0.4)

    writer = threading.Thread(target=arrive, daemon=True)
    browser = chromium(1920, 1080)
    samples: list[tuple[float, int, float, int]] = []
    try:
        open_wall(browser, f"{served.url}/wall?rotate=5", ".wall-tile")
        writer.start()
        started = time.monotonic()
        next_sample = started
        while served.traffic.refreshes < target and time.monotonic() - started < 340:
            if time.monotonic() >= next_sample:
                heap, nodes = _sample(browser)
                samples.append((time.monotonic() - started, served.traffic.refreshes, heap, nodes))
                next_sample += 10
            time.sleep(0.5)
        heap, nodes = _sample(browser)
        samples.append((time.monotonic() - started, served.traffic.refreshes, heap, nodes))
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    finally:
        stop.set()
        browser.quit()
    with (output_dir / "soak.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["seconds", "refreshes", "js_heap_bytes", "dom_nodes"])
        out.writerows(samples)
    refreshes = samples[-1][1]
    assert refreshes >= target, f"only {refreshes} refreshes in {samples[-1][0]:.0f} s"
    quarter = max(1, len(samples) // 4)
    first_heap = statistics.mean(s[2] for s in samples[:quarter])
    last_heap = statistics.mean(s[2] for s in samples[-quarter:])
    first_nodes = statistics.mean(s[3] for s in samples[:quarter])
    last_nodes = statistics.mean(s[3] for s in samples[-quarter:])
    print(
        f"soak: {refreshes} refreshes in {samples[-1][0]:.0f} s; JS heap {first_heap / 1e6:.2f} "
        f"-> {last_heap / 1e6:.2f} MB; DOM nodes {first_nodes:.0f} -> {last_nodes:.0f}"
    )
    assert last_heap <= first_heap * 1.2
    assert last_nodes <= first_nodes * 1.2
    assert errors == []
