"""The manager login: Flask session cookie, login form with CSRF token, rate limit, logout, guard.

The wall, live and status pages and the push API stay public; everything else needs a login."""

from __future__ import annotations

import hmac
import html
import logging
import os
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import flask
from sqlalchemy import Engine

from config import Settings
from dashboard.i18n import pick_language, t
from storage.users import active_user, verify_login

log = logging.getLogger(__name__)

SECRET_ENV = "CXPULSE_SECRET_KEY"
IDLE_ENV = "CXPULSE_SESSION_IDLE_HOURS"
DEFAULT_IDLE_HOURS = 8.0
IDLE_KEY = "CXPULSE_SESSION_IDLE"  # server.config key: a timedelta, read on every request
THROTTLE_KEY = "CXPULSE_LOGIN_THROTTLE"
MANAGE_ROLES = frozenset({"manager", "admin"})

# Paths anyone may open: the wall-screen and live views, operators' health, the push API (its
# own bearer tokens), static files and the login itself. Dash's own endpoints are public too,
# but /_dash-update-component is checked per callback below.
PUBLIC_EXACT = frozenset(
    {"/", "/status", "/healthz", "/login", "/logout", "/_favicon.ico", "/favicon.ico"}
)
PUBLIC_PREFIXES = (
    "/wall",
    "/api/v1/",
    "/assets/",
    "/_dash-component-suites/",
    "/_dash-layout",
    "/_dash-dependencies",
    "/_reload-hash",
)
# Callbacks whose outputs carry one of these id prefixes serve login-only pages.
PROTECTED_ID_PREFIXES = ("explore-",)
CALLBACK_PATH = "/_dash-update-component"
PAGES_CONTENT = "_pages_content"
PAGES_LOCATION = "_pages_location"


@dataclass(frozen=True)
class SessionUser:
    id: int
    username: str
    role: str

    @property
    def can_handle(self) -> bool:
        """Marking handled, assigning and notes change shared state: managers and admins only."""
        return self.role in MANAGE_ROLES

    @property
    def can_correct(self) -> bool:
        """A correction becomes a label the model is trained on: managers and admins only."""
        return self.role in MANAGE_ROLES


class LoginThrottle:
    """At most `limit` failed logins per username + address within `window` seconds.

    Kept in this process's memory: with several web processes each counts on its own, so the
    effective limit is `limit` × processes; a restart forgets. Enough to stop guessing."""

    def __init__(self, limit: int = 5, window: float = 15 * 60) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until the next attempt is allowed; 0 when it is allowed now."""
        now = time.monotonic()
        with self._lock:
            failures = self._recent((username.strip().lower(), address), now)
            if len(failures) < self.limit:
                return 0.0
            return failures[0] + self.window - now

    def failed(self, username: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            key = (username.strip().lower(), address)
            self._recent(key, now).append(now)
            if len(self._failures) > 10_000:  # a flood of made-up names must not grow memory
                for stale in [k for k, v in self._failures.items() if not self._recent(k, now)]:
                    del self._failures[stale]

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._failures.pop((username.strip().lower(), address), None)


def _secret_key() -> str:
    key = os.environ.get(SECRET_ENV)
    if key:
        return key
    log.warning(
        "%s is not set: using a random key, so logins end when this process restarts and do "
        "not carry over between web processes; set it to a long random string",
        SECRET_ENV,
    )
    return secrets.token_hex(32)


def _idle_hours(settings: Settings) -> float:
    configured = getattr(settings.dashboard, "session_idle_hours", None)
    if configured is not None:
        return float(configured)
    return float(os.environ.get(IDLE_ENV, DEFAULT_IDLE_HOURS))


def install_auth(server: flask.Flask, engine: Engine, settings: Settings) -> None:
    """Session settings, the /login and /logout routes and the guard in front of every request."""
    server.secret_key = _secret_key()
    idle = timedelta(hours=_idle_hours(settings))
    server.config.update(
        SESSION_COOKIE_NAME="cxpulse_session",
        SESSION_COOKIE_HTTPONLY=True,
        # Lax: the cookie is not sent on cross-site POSTs (Dash callbacks, the login form).
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("CXPULSE_SECURE_COOKIES", "") == "1",
        PERMANENT_SESSION_LIFETIME=idle,
        SESSION_REFRESH_EACH_REQUEST=True,
    )
    server.config[IDLE_KEY] = idle
    server.config[THROTTLE_KEY] = LoginThrottle()
    default_language = settings.dashboard.language

    @server.before_request
    def guard() -> Any:
        return _guard(engine)

    @server.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        return _login(engine, default_language)

    # The explorer's downloads are plain Flask routes behind this same guard (a streamed file
    # does not fit in a Dash callback's JSON answer).
    from dashboard.components.explore_export import install_export

    install_export(server, engine, settings)

    @server.post("/logout")
    def logout() -> Any:
        if not _csrf_ok(flask.request.form.get("csrf_token")):
            flask.abort(400, "the logout form has expired; reload the page")
        flask.session.clear()
        return flask.redirect("/login")


# --- the session -----------------------------------------------------------------------------


def csrf_token() -> str:
    """The session's anti-forgery token, created on first use; forms send it back hidden."""
    token = flask.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        flask.session["csrf"] = token
    return str(token)


def _csrf_ok(sent: str | None) -> bool:
    expected = flask.session.get("csrf")
    return bool(sent and expected and hmac.compare_digest(str(sent), str(expected)))


def current_user(engine: Engine | None = None) -> SessionUser | None:
    """The logged-in user of this request, or None (never logged in, idle too long, disabled).

    Checked against the database once per request, so disabling a user takes effect at once."""
    if "cxpulse_user" in flask.g:
        return flask.g.cxpulse_user  # type: ignore[no-any-return]
    user = _load_user(engine)
    flask.g.cxpulse_user = user
    return user


def _load_user(engine: Engine | None) -> SessionUser | None:
    uid = flask.session.get("uid")
    if uid is None:
        return None
    idle: timedelta = flask.current_app.config[IDLE_KEY]
    seen = float(flask.session.get("seen", 0))
    now = time.time()
    if now - seen > idle.total_seconds():
        # The cookie is signed, so "seen" is ours: an idle session ends even if the browser kept
        # the cookie alive.
        flask.session.clear()
        return None
    if engine is None:
        from dashboard.context import current

        engine = current().engine
    stored = active_user(engine, int(uid))
    if stored is None or stored.id is None:
        flask.session.clear()
        return None
    if now - seen > 30:  # rewrite the cookie at most twice a minute
        flask.session["seen"] = now
    return SessionUser(id=stored.id, username=stored.username, role=stored.role)


# --- the guard -------------------------------------------------------------------------------


def is_public(path: str) -> bool:
    return path in PUBLIC_EXACT or any(path.startswith(p) for p in PUBLIC_PREFIXES)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: `next=//evil.example` or a full URL must not redirect away."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/explore"
    return target


def _same_origin() -> bool:
    """A state-changing request must come from our own pages (Origin, else Referer, header)."""
    sent = flask.request.headers.get("Origin") or flask.request.headers.get("Referer")
    if not sent or sent == "null":
        # Browsers send Origin on every cross-site POST; none at all means a non-browser client,
        # which has no cookie of our user to abuse. SameSite=Lax is the second line.
        return sent is None
    ours = urlsplit(flask.request.host_url)
    theirs = urlsplit(sent)
    return (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)


def _callback_ids(body: dict[str, Any]) -> list[str]:
    outputs = body.get("outputs")
    items = outputs if isinstance(outputs, list) else [outputs]
    ids: list[str] = []
    for item in items:
        if isinstance(item, dict):
            ident = item.get("id")
            if isinstance(ident, dict):  # pattern-matching id: its "type" names the component
                ident = ident.get("type")
            ids.append(str(ident))
    if not ids and isinstance(body.get("output"), str):
        ids.append(body["output"].strip("."))
    return ids


def _callback_needs_login(body: dict[str, Any]) -> bool:
    ids = _callback_ids(body)
    if any(i.startswith(PROTECTED_ID_PREFIXES) for i in ids):
        return True
    if any(i.startswith(PAGES_CONTENT) for i in ids):
        # Dash Pages renders every page's layout through one callback: check the page it asks.
        for item in body.get("inputs", []):
            if isinstance(item, dict) and item.get("id") == PAGES_LOCATION:
                if item.get("property") == "pathname" and not is_public(str(item.get("value"))):
                    return True
    return False


def _guard(engine: Engine) -> Any:
    request = flask.request
    path = request.path
    if request.method not in ("GET", "HEAD", "OPTIONS") and not path.startswith("/api/v1/"):
        if not _same_origin():
            return flask.Response("cross-site request refused", status=403)
    if path == CALLBACK_PATH:
        body = request.get_json(silent=True)  # cached: Dash reads the same parsed body
        if isinstance(body, dict) and _callback_needs_login(body):
            if current_user(engine) is None:
                return flask.jsonify({"error": "login required", "login": "/login"}), 401
        return None
    if is_public(path):
        return None
    if current_user(engine) is not None:
        return None
    if request.method in ("GET", "HEAD"):
        target = request.full_path if request.query_string else path
        return flask.redirect(f"/login?next={quote(target, safe='')}")
    return flask.Response("login required", status=401)


# --- the login page --------------------------------------------------------------------------


def _client_address() -> str:
    # Behind a reverse proxy, wrap the app in werkzeug's ProxyFix so this is the client's address.
    return flask.request.remote_addr or "-"


def _login(engine: Engine, default_language: str) -> Any:
    request = flask.request
    target = _safe_next(request.values.get("next"))
    # The page asked for keeps its language: /explore?lang=en logs in in English.
    wanted = request.values.get("lang") or parse_qs(urlsplit(target).query).get("lang", [""])[0]
    language = pick_language(wanted, default_language)
    if request.method == "GET":
        if current_user(engine) is not None:
            return flask.redirect(target)
        return _login_page(language, target, None, 200)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not _csrf_ok(request.form.get("csrf_token")):
        return _login_page(language, target, t("login_expired", language), 400)
    throttle: LoginThrottle = flask.current_app.config[THROTTLE_KEY]
    address = _client_address()
    wait = throttle.retry_after(username, address)
    if wait > 0:
        log.warning("login throttled for %r from %s", username, address)
        minutes = max(1, round(wait / 60))
        return _login_page(language, target, t("login_throttled", language, minutes=minutes), 429)
    user = verify_login(engine, username, password)
    if user is None or user.id is None:
        throttle.failed(username, address)
        log.info("failed login for %r from %s", username, address)
        return _login_page(language, target, t("login_failed", language), 401)
    throttle.succeeded(username, address)
    flask.session.clear()  # a fresh session (and CSRF token) at every login: no fixation
    flask.session.permanent = True
    flask.session.update(uid=user.id, seen=time.time(), csrf=secrets.token_urlsafe(32))
    log.info("user %s logged in from %s", user.username, address)
    return flask.redirect(target)


def _login_page(language: str, target: str, error: str | None, status: int) -> flask.Response:
    escape = html.escape
    error_html = f'<p class="login-error" id="login-error">{escape(error)}</p>' if error else ""
    other = "en" if language == "nl" else "nl"
    public = escape(t("login_public", language))
    switch = f"/login?lang={other}&amp;next={quote(target, safe='')}"
    body = f"""<!DOCTYPE html>
<html lang="{language}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CX Pulse — {escape(t("login_title", language))}</title>
<link rel="stylesheet" href="/assets/explore.css"></head>
<body class="login-body"><main class="login">
<h1>CX Pulse</h1><h2>{escape(t("login_title", language))}</h2>{error_html}
<form method="post" action="/login?lang={language}" id="login-form">
<input type="hidden" name="csrf_token" value="{escape(csrf_token())}">
<input type="hidden" name="next" value="{escape(target)}">
<label for="username">{escape(t("login_username", language))}</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">{escape(t("login_password", language))}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="login-submit">{escape(t("login_submit", language))}</button>
</form>
<p class="login-foot"><a href="{switch}">{other.upper()}</a> · <a href="/">{public}</a></p>
</main></body></html>"""
    response = flask.Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"  # no clickjacking of the login form
    return response
