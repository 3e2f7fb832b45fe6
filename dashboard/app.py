"""Builds the Dash app (Dash Pages) on a Flask server, with a /healthz endpoint for operators.

`create_app` is all a web process needs: settings and an engine; no globals."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dash
import flask
from sqlalchemy import Engine, text

from config import Settings
from dashboard.auth import install_auth
from dashboard.context import DAY_CACHE_KEY, AppContext, attach
from storage.db import session_scope
from storage.explore import DayCache
from storage.queries import last_scored_at
from storage.scores import count_unscored

HERE = Path(__file__).parent


def create_app(settings: Settings, engine: Engine) -> dash.Dash:
    server = flask.Flask(__name__)
    attach(server, AppContext(engine=engine, settings=settings))
    install_auth(server, engine, settings)  # login for everything but the public views
    app = dash.Dash(
        __name__,
        server=server,
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        title="CX Pulse",
        update_title=None,  # type: ignore[arg-type]  # no "Updating..." flicker in the tab title
        suppress_callback_exceptions=True,
    )
    app.layout = dash.html.Div([dash.page_container])
    # The explorer's day cache, filled from now on in the background so that the first long
    # chart of this process does not wait for it.
    days = DayCache(ZoneInfo(settings.dashboard.timezone))
    server.config[DAY_CACHE_KEY] = days
    days.warm(engine)

    @server.get("/healthz")
    def healthz() -> tuple[dict[str, object], int]:
        try:
            with session_scope(engine) as session:
                session.execute(text("SELECT 1"))
                last = last_scored_at(session)
                waiting = count_unscored(session)
        except Exception as exc:  # the operator sees why, the process keeps serving
            return {"status": "error", "error": f"{exc.__class__.__name__}: {exc}"}, 503
        return {
            "status": "ok",
            "now": datetime.now(UTC).isoformat(),
            "last_scored_at": last.isoformat() if last else None,
            "unscored": waiting,
        }, 200

    return app


def stop_background(server: flask.Flask) -> None:
    """Stop what create_app started in the background (the day cache's refresh), e.g. before
    the database it reads goes away."""
    server.config[DAY_CACHE_KEY].stop()
