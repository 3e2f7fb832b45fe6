"""A real web server (werkzeug, in a thread) serving the Dash app on a free port."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from werkzeug.serving import make_server

from config import Settings
from dashboard.app import create_app, stop_background


@pytest.fixture
def web_url(engine: Engine, demo_settings: Settings) -> Iterator[str]:
    app = create_app(demo_settings, engine).server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        stop_background(app)  # its refresh would outlive the test's database
