"""CX Pulse command line: read settings, build the pieces (wiring.py), start them.

`python app.py` with no command runs everything (scheduler, scoring worker, web) on the demo.
The labels, models and eval commands are in learning_cli.py."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from config import Settings, load_settings
from learning_cli import eval_command, labels_cli, models_cli
from wiring import (
    STATE,
    build_analyzer,
    build_normaliser,
    format_when,
    prepared_engine,
    settings,
    sources_of,
)

log = logging.getLogger("cxpulse")

cli = typer.Typer(
    help="CX Pulse: the customer's voice on the wall, live. Without a command: `run` on the demo.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_cli = typer.Typer(help="Database schema and rollups.", no_args_is_help=True)
sources_cli = typer.Typer(
    help="The configured sources and how they are doing.", no_args_is_help=True
)
config_cli = typer.Typer(help="Check the configuration file.", no_args_is_help=True)
report_cli = typer.Typer(help="The weekly e-mail summary.", no_args_is_help=True)
users_cli = typer.Typer(help="Logins for the manager views.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(config_cli, name="config")
cli.add_typer(sources_cli, name="sources")
cli.add_typer(report_cli, name="report")
cli.add_typer(users_cli, name="users")
cli.add_typer(labels_cli, name="labels")
cli.add_typer(models_cli, name="models")


@cli.callback(invoke_without_command=True)
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(help="TOML configuration (default: $CXPULSE_CONFIG, else the built-in demo)."),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="SQLAlchemy URL (default: $CXPULSE_DATABASE_URL, else sqlite:///var/cxpulse.db).",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    logging.basicConfig(
        level=log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Their per-run INFO lines drown ours; warnings and errors still show.
    for noisy in ("alembic", "apscheduler", "httpx", "waitress.queue"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    STATE.config, STATE.database_url = config, database_url
    if ctx.invoked_subcommand is None:
        run()


def leader_elected_scheduler(current: Settings, engine):  # type: ignore[no-untyped-def]
    """The source schedule, run only while this process holds the scheduler lease."""
    from ingest.leader import LeaderElectedScheduler
    from ingest.scheduler import build_scheduler

    sources, normaliser = sources_of(current), build_normaliser(current)

    def build():  # type: ignore[no-untyped-def]
        scheduler = build_scheduler(engine, sources, normaliser, retention_days(current))
        add_report_and_alert_jobs(scheduler, current, engine)
        return scheduler

    return LeaderElectedScheduler(engine, build)


def add_report_and_alert_jobs(scheduler, current: Settings, engine) -> None:  # type: ignore[no-untyped-def]
    """The weekly e-mail (email.enabled) and the alert check every minute (alerts.enabled); in
    the elected scheduler only, so no alert or e-mail is produced twice."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    if current.email.enabled:
        trigger = CronTrigger.from_crontab(
            current.email.report_cron, timezone=current.email.report_timezone
        )
        scheduler.add_job(
            _send_weekly,
            trigger,
            args=(current, engine),
            id="weekly-report",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )
    if current.alerts.enabled:
        scheduler.add_job(
            _check_alerts,
            IntervalTrigger(minutes=1),
            args=(current, engine),
            id="alerts",
            max_instances=1,
            coalesce=True,
        )


def _send_weekly(current: Settings, engine) -> None:  # type: ignore[no-untyped-def]
    from report.send import EmailSendError, send_now

    try:
        log.info("weekly summary: %d e-mails sent", send_now(current, engine))
    except EmailSendError:
        log.exception("weekly summary could not be sent")


def _check_alerts(current: Settings, engine) -> None:  # type: ignore[no-untyped-def]
    from alerts.detect import run_alerts

    try:
        opened = run_alerts(engine, current, datetime.now(UTC))
    except Exception:  # the edge: log it, try again next minute
        log.exception("alert check failed")
        return
    for alert in opened:
        log.warning("ALERT %s / %s: %s", alert.brand, alert.phase, alert.reason)


def retention_days(current: Settings) -> int | None:
    """Days to keep unredacted texts, or None when none are kept (no purge job needed)."""
    return current.redaction.retention_days if current.redaction.keep_original else None


def web_app(current: Settings, engine):  # type: ignore[no-untyped-def]
    """The WSGI app of a web process: the dashboard plus the push API."""
    from dashboard.app import create_app
    from ingest.push import push_blueprint

    app = create_app(current, engine)
    # The push API authenticates by its own per-source bearer tokens, not the manager login.
    app.server.register_blueprint(
        push_blueprint(engine, build_normaliser(current), current.sources)
    )
    return app.server


def wsgi():  # type: ignore[no-untyped-def]
    """For any WSGI server: `gunicorn --workers 4 'app:wsgi()'` (settings from CXPULSE_* env).

    Each gunicorn worker builds its own engine; the schema must be upgraded beforehand
    (`cxpulse db upgrade`), so that several workers never migrate at once."""
    from storage.db import make_engine

    current = load_settings()
    return web_app(current, make_engine(current.database_url))


def serve(current: Settings, engine, host: str | None, port: int | None) -> None:  # type: ignore[no-untyped-def]
    from waitress import serve as waitress_serve

    from ingest.push import MAX_BODY_BYTES as PUSH_BODY_LIMIT

    server = web_app(current, engine)
    host = host or current.dashboard.host
    port = port or current.dashboard.port
    log.info("dashboard on http://%s:%d/", host, port)
    waitress_serve(
        server,
        host=host,
        port=port,
        threads=8,
        # Far more than any page needs; the push API answers 413 itself above its own limit.
        max_request_body_size=4 * PUSH_BODY_LIMIT,
        _quiet=True,
    )


@cli.command()
def run(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from config: 8050).")] = None,
) -> None:
    """All in one process: source scheduler + scoring worker + web dashboard."""
    from scoring.worker import ScoringWorker

    current = settings()
    engine = prepared_engine(current)
    leader = leader_elected_scheduler(current, engine)
    threading.Thread(target=leader.run_forever, name="scheduler", daemon=True).start()

    def start_worker() -> None:
        # Loading the model takes seconds; the page is already up and says it is waiting.
        worker = ScoringWorker(
            engine, build_analyzer(current), batch_size=current.sentiment.worker_batch
        )
        worker.run_forever()

    threading.Thread(target=start_worker, name="scoring-worker", daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        serve(current, engine, host, port)
    finally:
        leader.stop()


@cli.command()
def web(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from config: 8050).")] = None,
    workers: Annotated[int, typer.Option(help="Web processes (gunicorn) when more than 1.")] = 1,
) -> None:
    """Only the web dashboard and push API (run sources and workers elsewhere).

    --workers N > 1 runs N gunicorn worker processes; every page reads the shared database, so
    live updates reach each screen whichever process serves it."""
    current = settings()
    engine = prepared_engine(current)
    if workers <= 1:
        serve(current, engine, host, port)
        return
    engine.dispose()  # each gunicorn worker opens its own connections after the fork
    run_gunicorn(current, host or current.dashboard.host, port or current.dashboard.port, workers)


def run_gunicorn(current: Settings, host: str, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            # Threads per process: many wall screens poll at once, each request is short.
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", 8)
            self.cfg.set("timeout", 60)

        def load(self):  # type: ignore[no-untyped-def]
            from storage.db import make_engine

            return web_app(current, make_engine(current.database_url))

    log.info("dashboard on http://%s:%d/ with %d gunicorn workers", host, port, workers)
    _Gunicorn().run()


@cli.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Score what is waiting, then stop.")] = False,
) -> None:
    """Only the scoring worker: scores waiting messages in batches."""
    from scoring.worker import ScoringWorker, wait_until_idle

    current = settings()
    engine = prepared_engine(current)
    analyzer = build_analyzer(current)
    if once:
        typer.echo(
            f"scored {wait_until_idle(engine, analyzer, current.sentiment.worker_batch)} messages"
        )
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ScoringWorker(engine, analyzer, batch_size=current.sentiment.worker_batch).run_forever()


@cli.command()
def ingest(
    once: Annotated[bool, typer.Option("--once", help="Run every source once, then stop.")] = False,
) -> None:
    """Fetch from the configured sources (on their schedule, or --once)."""
    from ingest.scheduler import run_with_health
    from storage.db import session_scope
    from storage.health import all_health

    current = settings()
    engine = prepared_engine(current)
    if once:
        normaliser, sources = build_normaliser(current), sources_of(current)
        ok = {c.key: run_with_health(engine, c, s, normaliser, force=True) for c, s in sources}
        with session_scope(engine) as session:
            health = {row.source: row for row in all_health(session)}
        for key, fine in ok.items():
            row = health[key]
            typer.echo(
                f"{key}: {row.last_items} new" if fine else f"{key}: FAILED: {row.last_error}"
            )
        raise typer.Exit(0 if all(ok.values()) else 1)
    run_scheduler(current, engine)


@cli.command()
def scheduler() -> None:
    """The source schedule, for several processes: any number may run, exactly one leads (a
    database lease); when the leader dies another takes over within about 30 seconds."""
    current = settings()
    run_scheduler(current, prepared_engine(current))


def run_scheduler(current: Settings, engine) -> None:  # type: ignore[no-untyped-def]
    leader = leader_elected_scheduler(current, engine)
    signal.signal(signal.SIGTERM, lambda *_: leader.request_stop())  # run_forever stops
    try:
        leader.run_forever()
    except KeyboardInterrupt:
        leader.stop()


@cli.command("import")
def import_file(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A .csv, .jsonl or .json file.")
    ],
    source: Annotated[str, typer.Option(help="Source key the messages are stored under.")] = "file",
    channel: Annotated[
        str, typer.Option(help="Channel when the file has no channel column.")
    ] = "review",
    brand: Annotated[
        str | None, typer.Option(help="Brand key when the file has no brand column.")
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            help="Column mapping FIELD=COLUMN, e.g. --column text=review_body (repeatable)."
        ),
    ] = None,
) -> None:
    """Import a file of messages; rows that fail go to quarantine with file, line and reason."""
    from tqdm import tqdm

    from ingest.files import DEFAULT_MAPPING, batches, read_file
    from ingest.pipeline import store

    mapping: dict[str, str] = {}
    for pair in column or []:
        field, _, name = pair.partition("=")
        if field not in DEFAULT_MAPPING or not name:
            raise typer.BadParameter(
                f"{pair!r}: expected FIELD=COLUMN with FIELD one of {', '.join(DEFAULT_MAPPING)}"
            )
        mapping[field] = name
    current = settings()
    engine = prepared_engine(current)
    normaliser = build_normaliser(current)
    inserted = duplicates = quarantined = 0
    with tqdm(desc=f"importing {file.name}", unit=" rows") as progress:
        items = read_file(file, source=source, mapping=mapping, channel=channel, brand=brand)
        for batch in batches(items):
            result = store(engine, source, batch, normaliser)
            inserted, duplicates = inserted + result.inserted, duplicates + result.duplicates
            quarantined += result.quarantined
            progress.update(len(batch.messages) + len(batch.rejected))
    typer.echo(f"{file}: {inserted} new, {duplicates} already stored, {quarantined} quarantined")


@cli.command()
def rescore(
    since: Annotated[
        datetime, typer.Option(help="Re-score messages created since this date/time (UTC).")
    ],
) -> None:
    """Forget scores since a date so the worker scores them again (e.g. after a model change)."""
    from storage.db import session_scope
    from storage.scores import clear_scores

    current = settings()
    engine = prepared_engine(current)
    moment = since if since.tzinfo else since.replace(tzinfo=UTC)
    with session_scope(engine) as session:
        count = clear_scores(session, moment)
    typer.echo(f"{count} messages will be scored again by the worker")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest revision."""
    from storage.migrate import current_revision, upgrade

    current = settings()
    upgrade(current.database_url)
    typer.echo(f"database at revision {current_revision(current.database_url)}")


@db_cli.command("rebuild-rollups")
def db_rebuild_rollups() -> None:
    """Recompute all rollups from the stored scores."""
    from storage.db import session_scope
    from storage.rollups import rebuild

    current = settings()
    engine = prepared_engine(current)
    with session_scope(engine) as session:
        rows = rebuild(session)
    typer.echo(f"rebuilt {rows} rollup rows")


@sources_cli.command("status")
def sources_status() -> None:
    """Per source: type, schedule, last success, last error, failures in a row, items fetched."""
    from storage.db import session_scope
    from storage.health import all_health

    current = settings()
    engine = prepared_engine(current)
    with session_scope(engine) as session:
        health = {row.source: row for row in all_health(session)}
    for source in current.sources:
        row = health.get(source.key)
        schedule = source.cron or f"every {source.interval_seconds:g} s"
        typer.echo(
            f"{source.key} ({source.type}, {schedule}{'' if source.enabled else ', disabled'})"
        )
        if row is None:
            typer.echo("  never run")
            continue
        typer.echo(
            f"  last success: {format_when(row.last_success_at)}; "
            f"items fetched: {row.items_fetched}"
        )
        if row.consecutive_failures:
            typer.echo(
                f"  FAILING {row.consecutive_failures}x; last error "
                f"{format_when(row.last_error_at)}: {row.last_error}; "
                f"next attempt {format_when(row.next_attempt_at)}"
            )


def _week_or_last(current: Settings, week: str | None) -> str:
    from report.summary import last_complete_week

    return week or last_complete_week(datetime.now(UTC), current.email.report_timezone)


@report_cli.command("preview")
def report_preview(
    week: Annotated[
        str | None, typer.Option(help="ISO week, e.g. 2026-W47 (default: last).")
    ] = None,
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    language: Annotated[str, typer.Option(help="nl or en.")] = "nl",
) -> None:
    """Write the weekly summary to an HTML file (charts embedded) to look at before sending."""
    from report.render import preview
    from report.summary import ReportError

    current = settings()
    engine = prepared_engine(current)
    try:
        path = preview(current, engine, _week_or_last(current, week), out, language)
    except ReportError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {path}")


@report_cli.command("send")
def report_send(
    to: Annotated[list[str] | None, typer.Option(help="Send only to these addresses.")] = None,
    week: Annotated[
        str | None, typer.Option(help="ISO week (default: the last full week).")
    ] = None,
) -> None:
    """Send the weekly summary now (to the configured lists, or --to)."""
    from report.send import EmailSendError, send_now
    from report.summary import ReportError

    current = settings()
    engine = prepared_engine(current)
    try:
        sent = send_now(current, engine, to or None, _week_or_last(current, week))
    except (ReportError, EmailSendError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"sent {sent} e-mail(s)")


Role = Annotated[str, typer.Option(help="viewer, manager or admin.")]


def _password() -> str:
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _users(action, done: str) -> None:  # type: ignore[no-untyped-def]
    """Run a user-management action; a refusal (UserError) is printed, exit code 2."""
    from storage.users import UserError

    try:
        action(prepared_engine(settings()))
    except UserError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(done)


@users_cli.command("add")
def users_add(username: str, role: Role = "viewer") -> None:
    """Create a login (asks for the password)."""
    from storage.users import add_user

    password = _password()
    _users(lambda engine: add_user(engine, username, password, role), f"added {username} ({role})")


@users_cli.command("disable")
def users_disable(username: str) -> None:
    """Disable a login; its open sessions end."""
    from storage.users import disable_user

    _users(lambda engine: disable_user(engine, username), f"disabled {username}")


@users_cli.command("reset")
def users_reset(username: str, role: Annotated[str | None, typer.Option()] = None) -> None:
    """Set a new password (and optionally role); enables the login again."""
    from storage.users import reset_password

    password = _password()
    _users(lambda engine: reset_password(engine, username, password, role), f"reset {username}")


@users_cli.command("list")
def users_list() -> None:
    """Every login with its role and whether it is active (never the password hash)."""
    from storage.users import list_users

    for user in list_users(prepared_engine(settings())):
        typer.echo(f"{user.username}\t{user.role}\t{'active' if user.active else 'disabled'}")


@config_cli.command("check")
def config_check() -> None:
    """Validate the configuration; lists every problem with its key path and a hint."""
    current = settings()
    typer.echo(
        f"{current.config_path}: OK — {len(current.brands)} brands "
        f"(own: {current.own_brand.name}), {len(current.phases)} phases, "
        f"{len(current.sources)} sources, model {current.sentiment.model}"
    )


# Lives with the models commands; a top-level command all the same.
cli.command("eval")(eval_command)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
