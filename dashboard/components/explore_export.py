"""Login-only downloads of the explorer's current view as CSV or Excel, streamed in chunks.

A plain Flask route, not a Dash callback: a callback answers in one JSON body, a route can
stream a million rows in constant memory. The page shows progress as the bytes arrive."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import flask
from sqlalchemy import Engine

from config import Settings
from dashboard.components.explore_filters import parse_query, to_filter
from storage.db import session_scope
from storage.explore import (
    EXPORT_COLUMNS,
    ExploreFilter,
    count_verbatims,
    export_chunks,
    export_row,
)

CSV_PATH = "/explore/export.csv"
XLSX_PATH = "/explore/export.xlsx"
ROWS_HEADER = "X-Export-Rows"


def _csv_lines(engine: Engine, f: ExploreFilter) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # a BOM, so Excel opens the UTF-8 file with the right characters
    writer.writerow(EXPORT_COLUMNS)
    yield buffer.getvalue()
    # One read transaction for the whole export: the rows are one consistent snapshot.
    with session_scope(engine) as session:
        for chunk in export_chunks(session, f):
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(export_row(v) for v in chunk)
            yield buffer.getvalue()


def _xlsx_file(engine: Engine, f: ExploreFilter) -> tempfile.SpooledTemporaryFile[bytes]:
    import xlsxwriter

    output: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(
        max_size=16 * 1024 * 1024
    )
    # constant_memory writes each row to disk as it comes: memory stays flat however many rows.
    book = xlsxwriter.Workbook(output, {"constant_memory": True, "strings_to_urls": False})
    sheet = book.add_worksheet("verbatims")
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, EXPORT_COLUMNS, bold)
    row = 1
    with session_scope(engine) as session:
        for chunk in export_chunks(session, f):
            for v in chunk:
                sheet.write_row(row, 0, export_row(v))
                row += 1
    book.close()
    output.seek(0)
    return output


def _stream(handle: tempfile.SpooledTemporaryFile[bytes]) -> Iterator[bytes]:
    with handle:
        while block := handle.read(256 * 1024):
            yield block


def install_export(server: flask.Flask, engine: Engine, settings: Settings) -> None:
    """The two download routes; the login guard in dashboard/auth.py protects them."""
    zone = ZoneInfo(settings.dashboard.timezone)

    def filename(extension: str) -> str:
        return f"cxpulse-{datetime.now(UTC).astimezone(zone):%Y%m%d-%H%M}.{extension}"

    def total(f: ExploreFilter) -> int:
        with session_scope(engine) as session:
            return count_verbatims(session, f)

    @server.get(CSV_PATH)
    def export_csv() -> flask.Response:
        f = to_filter(parse_query(flask.request.query_string.decode()), zone)
        rows = total(f)
        response = flask.Response(
            flask.stream_with_context(_csv_lines(engine, f)), mimetype="text/csv"
        )
        response.headers["Content-Disposition"] = f'attachment; filename="{filename("csv")}"'
        response.headers[ROWS_HEADER] = str(rows)  # the page's progress: lines received / rows
        response.headers["Cache-Control"] = "no-store"
        return response

    @server.get(XLSX_PATH)
    def export_xlsx() -> flask.Response:
        f = to_filter(parse_query(flask.request.query_string.decode()), zone)
        rows = total(f)
        handle = _xlsx_file(engine, f)
        size = handle.seek(0, io.SEEK_END)
        handle.seek(0)
        response = flask.Response(
            _stream(handle),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response.headers["Content-Length"] = str(size)  # lets the page show real progress
        response.headers[ROWS_HEADER] = str(rows)
        response.headers["Content-Disposition"] = f'attachment; filename="{filename("xlsx")}"'
        response.headers["Cache-Control"] = "no-store"
        return response
