"""What callbacks need (engine, settings, model name), kept on the Flask app, not in globals."""

from __future__ import annotations

from dataclasses import dataclass

import flask
from sqlalchemy import Engine

from config import Settings

_KEY = "CXPULSE"
# The explorer's cache of whole days of rollup sums (storage.explore.DayCache), one per process.
DAY_CACHE_KEY = "CXPULSE_EXPLORE_DAYS"


@dataclass(frozen=True)
class AppContext:
    engine: Engine
    settings: Settings


def attach(server: flask.Flask, context: AppContext) -> None:
    server.config[_KEY] = context


def current() -> AppContext:
    return flask.current_app.config[_KEY]  # type: ignore[no-any-return]
