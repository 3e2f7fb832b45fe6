"""CX Pulse command line: wiring only — read settings, build the pieces, start them.

`python app.py` with no command runs everything (scheduler, scoring worker, web) on the demo."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from config import ConfigError, Settings, load_settings

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
labels_cli = typer.Typer(
    help="The CX team's corrections: import, export, list, count.", no_args_is_help=True
)
models_cli = typer.Typer(
    help="Sentiment models: train own versions, switch, list, pull.", no_args_is_help=True
)
cli.add_typer(labels_cli, name="labels")
cli.add_typer(models_cli, name="models")


class _State:
    config: Path | None = None
    database_url: str | None = None


STATE = _State()


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


def settings() -> Settings:
    try:
        return load_settings(STATE.config, STATE.database_url)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def sources_of(current: Settings):  # type: ignore[no-untyped-def]
    """Build the configured sources; a wrong option is a clean error naming its key path."""
    from ingest.sources import build_sources

    try:
        return build_sources(current)
    except ValueError as exc:
        typer.echo(f"{current.config_path}: {exc}", err=True)
        raise typer.Exit(2) from None


def prepared_engine(current: Settings):  # type: ignore[no-untyped-def]
    """Upgrade the schema, mirror brands/phases/sources into it, return the engine."""
    from storage.catalogue import sync_catalogue
    from storage.db import make_engine, session_scope
    from storage.migrate import upgrade

    upgrade(current.database_url)
    engine = make_engine(current.database_url)
    with session_scope(engine) as session:
        sync_catalogue(session, current.brands, current.phases, current.sources)
    return engine


def phase_specs(current: Settings):  # type: ignore[no-untyped-def]
    """The configured phases as the sentiment package reads them (both languages' words)."""
    from sentiment import PhaseSpec

    return [
        PhaseSpec(
            key=p.key,
            descriptions=tuple(p.description.values()),
            keywords=tuple(k for words in p.keywords.values() for k in words),
            examples=tuple(e for lines in p.examples.values() for e in lines),
        )
        for p in current.phases
    ]


def build_analyzer(current: Settings):  # type: ignore[no-untyped-def]
    import torch

    from sentiment import Analyzer
    from sentiment.adapted import phase_model_of

    if current.sentiment.threads:
        torch.set_num_threads(current.sentiment.threads)
    specs = phase_specs(current)
    log.info(
        "loading sentiment model %s (%s, quantize %s, %d torch threads)",
        current.sentiment.model,
        current.sentiment.device,
        current.sentiment.quantize,
        torch.get_num_threads(),
    )
    model = sentiment_model(current)
    phase_model = phase_model_of(model)
    if phase_model is not None:
        log.info("phases learned from the team's labels: %s", phase_model)
    return Analyzer(
        specs,
        model=model,
        routes=model_routes(current),
        phase_model=phase_model,
        batch_size=current.sentiment.batch_size,
        max_length=current.sentiment.max_length,
        phase_threshold=current.sentiment.phase_threshold,
        device=current.sentiment.device,
        quantize=current.sentiment.quantize,
    )


def sentiment_model(current: Settings) -> str:
    """What the analyser loads: the `cxpulse models use` choice, else sentiment.model."""
    from sentiment import ModelNotAvailable
    from sentiment.own_models import resolve

    try:
        model, why = resolve(current.sentiment.model, Path(current.sentiment.models_dir))
    except ModelNotAvailable as exc:
        log.error("%s", exc)
        raise typer.Exit(2) from None
    log.info("sentiment model %s (%s)", model, why)
    return model


def model_routes(current: Settings):  # type: ignore[no-untyped-def]
    """`[[sentiment.routes]]` as the analyser takes them, own-vN names resolved to folders."""
    from sentiment import ModelNotAvailable, ModelRoute
    from sentiment.own_models import location

    models_dir = Path(current.sentiment.models_dir)
    routes = []
    for route in current.sentiment.routes:
        try:
            model = location(route.model, models_dir)
        except ModelNotAvailable as exc:
            log.error("sentiment.routes: %s", exc)
            raise typer.Exit(2) from None
        what = " × ".join(x for x in (route.language, route.channel) if x)
        log.info("sentiment model %s for %s (sentiment.routes)", model, what)
        routes.append(ModelRoute(model, language=route.language, channel=route.channel))
    return routes


def build_normaliser(current: Settings):  # type: ignore[no-untyped-def]
    from ingest.brands import BrandMatcher
    from ingest.pipeline import Normaliser
    from ingest.redact import Redactor

    handles = [h for b in current.brands for h in b.handles]
    redactor = Redactor(brand_handles=handles, extra_patterns=current.redaction.patterns)
    return Normaliser(redactor, BrandMatcher(current.brands), current.redaction.keep_original)


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
    signal.signal(signal.SIGTERM, lambda *_: leader.stop())
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
            f"  last success: {_when(row.last_success_at)}; items fetched: {row.items_fetched}"
        )
        if row.consecutive_failures:
            typer.echo(
                f"  FAILING {row.consecutive_failures}x; last error {_when(row.last_error_at)}: "
                f"{row.last_error}; next attempt {_when(row.next_attempt_at)}"
            )


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "never"


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


# --- labels: the CX team's corrections as training data (docs/learning.md) ------------------


def _phase_keys(current: Settings) -> list[str]:
    return [phase.key for phase in current.phases]


@labels_cli.command("import")
def labels_import(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="A label CSV (docs/learning.md).")],
    created_by: Annotated[
        str, typer.Option(help="Who labelled rows that have no created_by cell.")
    ] = "import",
    link: Annotated[
        bool,
        typer.Option(
            help="Link rows to stored messages by message_id; --no-link keeps only the texts "
            "(labels exported from another database)."
        ),
    ] = True,
) -> None:
    """Import labels; each bad row is reported with file:line and reason, the rest imported.

    Exit code 1 when any row was not imported. Importing the same file twice stores it once."""
    from storage.db import session_scope
    from storage.labels import LabelFileError, import_labels

    current = settings()
    engine = prepared_engine(current)
    try:
        with session_scope(engine) as session:
            result = import_labels(
                session,
                file,
                phases=_phase_keys(current),
                created_by=created_by,
                link_messages=link,
            )
    except LabelFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    for problem in result.problems:
        typer.echo(str(problem), err=True)
    rejected = sum(1 for p in result.problems if p.line > 1 or "column" not in p.reason)
    typer.echo(
        f"{file}: {result.imported} labels imported, {result.already_stored} already stored, "
        f"{rejected} rows not imported"
    )
    raise typer.Exit(1 if rejected else 0)


@labels_cli.command("export")
def labels_export(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="CSV file to write.")],
    since: Annotated[
        datetime | None, typer.Option(help="Only labels given since this date (UTC).")
    ] = None,
) -> None:
    """Write every label as CSV, with the columns `labels import` reads."""
    from storage.db import session_scope
    from storage.labels import export_labels

    engine = prepared_engine(settings())
    moment = since.replace(tzinfo=UTC) if since and not since.tzinfo else since
    with session_scope(engine) as session:
        count = export_labels(session, file, moment)
    typer.echo(f"wrote {count} labels to {file}")


@labels_cli.command("list")
def labels_list(
    limit: Annotated[int, typer.Option(help="The latest N labels.")] = 20,
) -> None:
    """The latest labels: when, who, polarity, phase, language, and the text."""
    from storage.db import session_scope
    from storage.labels import all_labels

    engine = prepared_engine(settings())
    with session_scope(engine) as session:
        labels = all_labels(session)[-limit:] if limit > 0 else []
        for label in labels:
            text = " ".join(label.text.split())
            typer.echo(
                "\t".join(
                    [
                        _when(label.created_at),
                        label.created_by,
                        label.polarity or "-",
                        label.phase or "-",
                        label.language or "-",
                        text if len(text) <= 80 else text[:79] + "…",
                    ]
                )
            )


@labels_cli.command("stats")
def labels_stats() -> None:
    """How many labels there are, by polarity, phase, language, origin and author."""
    from storage.db import session_scope
    from storage.labels import label_stats

    engine = prepared_engine(settings())
    with session_scope(engine) as session:
        stats = label_stats(session)
    typer.echo(
        f"{stats.total} labels ({stats.linked_to_messages} about stored messages); "
        f"first {_when(stats.first)}, last {_when(stats.last)}"
    )
    for title, counts in (
        ("polarity", stats.by_polarity),
        ("phase", stats.by_phase),
        ("language", stats.by_language),
        ("origin", stats.by_origin),
        ("created by", stats.by_author),
    ):
        typer.echo(f"  {title}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


# --- models: train own versions, switch, list, pull, evaluate --------------------------------


def _models_dir(current: Settings) -> Path:
    return Path(current.sentiment.models_dir)


def _model_error(exc: Exception) -> typer.Exit:
    typer.echo(str(exc), err=True)
    return typer.Exit(2)


@models_cli.command("train")
def models_train(
    labels: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="A label CSV; default: the labels in the database."),
    ] = None,
    epochs: Annotated[int, typer.Option(help="At most this many passes over the labels.")] = 4,
    patience: Annotated[
        int, typer.Option(help="Epochs without a better held-out macro-F1 before stopping.")
    ] = 1,
    threads: Annotated[int | None, typer.Option(help="torch threads (default: all).")] = None,
    batch_size: Annotated[int, typer.Option(help="Texts per training step.")] = 16,
    max_steps: Annotated[int | None, typer.Option(hidden=True)] = None,  # smoke runs, tests
    use_if_better: Annotated[
        bool,
        typer.Option(help="Switch to the new version when it beats the current model held out."),
    ] = False,
) -> None:
    """Fine-tune the built-in encoder (LoRA) on the organisation's labels; writes own-vN.

    About one label in five is held out (by a hash of its text, docs/learning.md) for early
    stopping and to compare the new version with the model in use on the same rows."""
    from sentiment import own_models
    from sentiment.classifier import ModelNotAvailable, load_classifier
    from sentiment.finetune import LabelledText

    current = settings()
    models_dir = _models_dir(current)
    if labels is not None:
        from storage.labels import LabelFileError, read_label_file

        try:
            rows, problems = read_label_file(labels, _phase_keys(current))
        except LabelFileError as exc:
            raise _model_error(exc) from None
        for problem in problems:
            typer.echo(f"skipped {problem}", err=True)
        source = {
            "label_file": str(labels),
            "label_file_sha256": own_models.file_sha256(labels),
            "rows_not_read": len(problems),
        }
        polarities = [(r.text, r.polarity) for r in rows if r.text and r.polarity]
        phases = [(r.text, r.phase) for r in rows if r.text and r.phase]
    else:
        from storage.db import session_scope
        from storage.labels import all_labels

        with session_scope(prepared_engine(current)) as session:
            stored = all_labels(session)
        polarities = [(lb.text, lb.polarity) for lb in stored if lb.polarity]
        phases = [(lb.text, lb.phase) for lb in stored if lb.phase]
        source = {"database": _redacted_url(current.database_url)}
    items = [LabelledText(text, polarity) for text, polarity in polarities]
    phase_items = [LabelledText(text, phase) for text, phase in phases]
    source["labels_with_polarity"] = len(items)
    source["labels_with_phase"] = len(phase_items)
    try:
        own_models.check_trainable(items)  # before seconds of model loading
    except own_models.TrainingError as exc:
        raise _model_error(exc) from None
    config = own_models.own_config(
        epochs=epochs,
        patience=patience,
        batch_size=batch_size,
        threads=threads,
        max_steps=max_steps,
        max_length=current.sentiment.max_length,
    )
    in_use = current.sentiment.model
    try:
        in_use, _ = own_models.resolve(current.sentiment.model, models_dir)
        compare_with = load_classifier(in_use, max_length=current.sentiment.max_length)
    except ModelNotAvailable as exc:
        typer.echo(f"not compared with the model in use: {exc}", err=True)
        compare_with = None
    typer.echo(
        f"training on {len(items)} labels with a polarity and {len(phase_items)} with a phase "
        f"({source})"
    )
    try:
        version = own_models.train_version(
            items,
            models_dir,
            config=config,
            compare_with=compare_with,
            source=source,
            phase_items=phase_items,
            compare_phases=configured_phases(current, in_use) if phase_items else None,
        )
    except own_models.TrainingError as exc:
        raise _model_error(exc) from None
    typer.echo(f"wrote {version.path}: {version.summary()}")
    figures = version.held_out
    other = figures.get("compared_with")
    better = other is None or figures["this"]["macro_f1"] > other["macro_f1"]
    if use_if_better and better:
        own_models.use(version.name, models_dir)
        typer.echo(f"now in use: {version.name} (restart run/worker; then `cxpulse rescore`)")
    else:
        typer.echo(f"switch to it with `cxpulse models use {version.name}`")


def configured_phases(current: Settings, model: str):  # type: ignore[no-untyped-def]
    """texts → the first phase the analyser in use would assign (the configured phases, with
    the learned phases of `model` where it has them): what a new phase model is compared with."""
    from sentiment.adapted import learned_phases
    from sentiment.encoder import Encoder
    from sentiment.phases import PhaseMatcher

    encoder = Encoder(max_length=current.sentiment.max_length)
    matcher = PhaseMatcher(
        phase_specs(current),
        encoder,
        threshold=current.sentiment.phase_threshold,
        learned=learned_phases(model),
    )
    return lambda texts: [found[0] for found in matcher.assign(texts, encoder.embed(texts))]


def _redacted_url(url: str) -> str:
    # A password in the URL must not end up in a model's adapter.json.
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@models_cli.command("use")
def models_use(
    name: Annotated[str, typer.Argument(help="builtin, own-vN, a cached Hub id or a folder.")],
) -> None:
    """Switch the model that `run` and `worker` load at start (persisted in the models folder)."""
    from sentiment import own_models
    from sentiment.classifier import ModelNotAvailable

    current = settings()
    try:
        previous = own_models.use(name, _models_dir(current))
    except ModelNotAvailable as exc:
        raise _model_error(exc) from None
    typer.echo(
        f"now in use: {name} (was: {previous or current.sentiment.model}). Restart run/worker "
        "to load it; `cxpulse rescore --since DATE` scores earlier messages again"
    )


@models_cli.command("list")
def models_list() -> None:
    """Every model this machine can use: builtin, own versions (held-out figures), Hub cache."""
    from sentiment import own_models

    current = settings()
    models_dir = _models_dir(current)
    active = own_models.read_active(models_dir) or current.sentiment.model

    def mark(name: str) -> str:
        return "*" if name == active else " "

    typer.echo(f"{mark('builtin')} builtin\tall-MiniLM-L6-v2 + shipped LoRA adapter (offline)")
    typer.echo(f"{mark('builtin-head')} builtin-head\tall-MiniLM-L6-v2 + shipped frozen head")
    for version in own_models.versions(models_dir):
        typer.echo(f"{mark(version.name)} {version.name}\t{version.summary()}")
    for hub in own_models.cached_hub_models():
        typer.echo(
            f"{mark(hub.repo_id)} {hub.repo_id}\tHugging Face cache, {hub.size_bytes / 1e6:.1f} "
            f"MB, revision {', '.join(hub.revisions)}"
        )
    if active not in {"builtin", "builtin-head"} | {
        v.name for v in own_models.versions(models_dir)
    } | {h.repo_id for h in own_models.cached_hub_models()}:
        typer.echo(f"* {active}\t(configured; not found on this machine)")
    typer.echo(f"(* in use; own versions in {models_dir})")


@models_cli.command("pull")
def models_pull(
    hub_id: Annotated[str, typer.Argument(help="e.g. DTAI-KULeuven/robbert-v2-dutch-sentiment")],
    revision: Annotated[str | None, typer.Option(help="Branch, tag or commit.")] = None,
) -> None:
    """Download a Hugging Face model into the standard cache (HF_HOME; HF_ENDPOINT for a mirror)."""
    from sentiment import own_models

    try:
        path = own_models.pull(hub_id, revision)
    except own_models.PullError as exc:
        raise _model_error(exc) from None
    typer.echo(f"{hub_id} is in {path}; use it with `cxpulse models use {hub_id}`")


@cli.command("eval")
def eval_command(
    dataset: Annotated[Path, typer.Option(help="A labelled set's folder in ../shared/data.")],
    model: Annotated[
        str | None,
        typer.Option(help="builtin, head, lora, own-vN, a folder or a Hub id (default: in use)."),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N test rows.")] = None,
    units: Annotated[
        bool, typer.Option("--units", help="Score per unit and average, as the worker does.")
    ] = False,
    phases: Annotated[bool, typer.Option(help="Also measure the phase assignment.")] = True,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the reports here.")
    ] = None,
) -> None:
    """Accuracy, macro-F1 and confusion matrix per language on a set's test split."""
    import json

    from sentiment import own_models
    from sentiment.classifier import ModelNotAvailable
    from sentiment.evaluate import TEXT, UNITS, DatasetError, run_eval

    current = settings()
    models_dir = _models_dir(current)
    specs = phase_specs(current)
    try:
        if model is None:
            chosen, _ = own_models.resolve(current.sentiment.model, models_dir)
        elif own_models.OWN_NAME.match(model):
            chosen = str(own_models.own_path(model, models_dir))
        else:
            chosen = model
        reports = run_eval(
            dataset,
            chosen,
            limit,
            aggregate=UNITS if units else TEXT,
            phases=phases,
            phase_specs=specs,
        )
    except (DatasetError, ModelNotAvailable) as exc:
        raise _model_error(exc) from None
    for report in reports:
        typer.echo(report.to_text() + "\n")
    if json_out:
        json_out.write_text(
            json.dumps([r.to_json() for r in reports], indent=2) + "\n", encoding="utf-8"
        )


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
