"""What callbacks need (engine, settings, model name), kept on the Flask app, not in globals."""

from __future__ import annotations

from dataclasses import dataclass

import flask
from sqlalchemy import Engine

from config import Settings

_KEY = "CXPULSE"


@dataclass(frozen=True)
class AppContext:
    engine: Engine
    settings: Settings


def attach(server: flask.Flask, context: AppContext) -> None:
    server.config[_KEY] = context


def current() -> AppContext:
    return flask.current_app.config[_KEY]  # type: ignore[no-any-return]
