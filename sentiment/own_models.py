"""The organisation's own models: versions own-v1, own-v2, … fine-tuned on its labels and kept in a
local models folder (never in the repository), which model is in use, and Hub models in the cache.

Plain data in, files out: the caller reads labels from wherever they are kept (app.py: storage)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sentiment.bases import MINILM, recorded_base
from sentiment.classifier import (
    BUILTIN,
    BUILTIN_EN,
    BUILTIN_HEAD_MODEL,
    Classifier,
    ModelNotAvailable,
)
from sentiment.encoder import Quantize

DEFAULT_MODELS_DIR = Path("var/models")
OWN_PREFIX = "own-v"
OWN_NAME = re.compile(r"^own-v(\d+)$")
ACTIVE = "active"  # one line: the model `cxpulse models use` chose; overrides sentiment.model
HELD_OUT_RULE = (
    "a label is held out when the SHA-256 of its text (trimmed, lower-cased) is 0 modulo 5 "
    "(about one in five); the same text always lands on the same side, so a held-out label never "
    "moves into training when more labels arrive"
)
EARLY_STOPPING_RULE = (
    "of the training part, the labels whose SHA-256 of 'early-stopping:' + text is 0 modulo 8 "
    "(about one in eight) choose the epoch to keep and are not trained on"
)
MIN_LABELS = 20


class TrainingError(ValueError):
    """The labels cannot train a model (too few, one class); the message says what is needed."""


class PullError(RuntimeError):
    """A Hub model could not be downloaded; the message says why and what to do."""


# --- labels → training rows ------------------------------------------------------------------


def _key(text: str) -> str:
    return " ".join(text.split()).lower()


def is_held_out(text: str) -> bool:
    return int(hashlib.sha256(_key(text).encode("utf-8")).hexdigest(), 16) % 5 == 0


def latest_per_text(items: Sequence[Any]) -> list[Any]:
    """One item per text (trimmed, case-insensitive): the last one wins, as a later correction
    overrides an earlier one. Items are oldest first; the result keeps first-seen order."""
    latest: dict[str, Any] = {}
    for item in items:
        latest[_key(item.text)] = item
    return list(latest.values())


def is_early_stopping(text: str) -> bool:
    """A second, independent draw over the training part: the rows that pick the epoch to keep.
    Kept apart from the held-out rows, so the figures reported on those are not the ones that
    chose the model."""
    digest = hashlib.sha256(("early-stopping:" + _key(text)).encode("utf-8")).hexdigest()
    return int(digest, 16) % 8 == 0


def split_early_stopping(train: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """(fit, early_stopping) of the training part by EARLY_STOPPING_RULE."""
    fit = [item for item in train if not is_early_stopping(item.text)]
    stop = [item for item in train if is_early_stopping(item.text)]
    return fit, stop


def split_held_out(items: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """(train, held_out) by HELD_OUT_RULE."""
    train = [item for item in items if not is_held_out(item.text)]
    held_out = [item for item in items if is_held_out(item.text)]
    return train, held_out


def rows_sha256(items: Sequence[Any]) -> str:
    """A fingerprint of exactly what a model was trained and measured on (label, text per row)."""
    digest = hashlib.sha256()
    for item in items:
        digest.update(f"{item.label}\t{item.text}\n".encode())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- versions on disk -------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnModel:
    name: str  # own-v3
    version: int
    path: Path
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def held_out(self) -> dict[str, Any]:
        return dict(self.meta.get("held_out_figures") or {})

    def summary(self) -> str:
        """One line for `models list`: when, on what, and how it did against the model before."""
        figures = self.held_out
        trained = self.meta.get("trained_at", "?")[:16].replace("T", " ")
        counts = self.meta.get("label_counts", {})
        line = f"trained {trained} UTC on {counts.get('train', '?')} labels"
        if self.meta.get("full"):
            line += " (every encoder weight: --full)"
        if recorded_base(self.meta) != MINILM:
            line += f" (base {self.meta['base']})"
        if figures:
            own, other = figures["this"], figures.get("compared_with")
            line += (
                f"; held out {figures['rows']}: accuracy {own['accuracy']:.3f}, "
                f"macro-F1 {own['macro_f1']:.3f}"
            )
            if other:
                line += (
                    f" (then in use: {other['model']} {other['accuracy']:.3f} / "
                    f"{other['macro_f1']:.3f})"
                )
        chosen = self.meta.get("cross_validation") or {}
        folds = chosen.get("folds")
        if folds:
            line += f"; epoch {chosen['best_epoch']} by {folds}-fold cross-validation"
        offset = (self.meta.get("calibration") or {}).get("neutral_logit_offset") or {}
        if offset.get("offset"):
            line += (
                f"; neutral offset {offset['offset']:+.1f} "
                f"({'out-of-fold' if folds else 'early-stopping'} accuracy "
                f"{offset['accuracy_before']:.3f} → {offset['accuracy_after']:.3f})"
            )
        phases = self.meta.get("phase_model") or {}
        if phases.get("trained"):
            own, other = phases["this"], phases.get("compared_with")
            line += f"; phases learned, held out {phases['rows']}: macro-F1 {own['macro_f1']:.3f}"
            if other:
                line += f" (configured phases {other['macro_f1']:.3f})"
        return line


def versions(models_dir: Path = DEFAULT_MODELS_DIR) -> list[OwnModel]:
    """The complete own-vN folders, oldest first (a half-written one is not a version)."""
    from sentiment.adapted import META, is_adapter

    found = []
    for path in models_dir.glob(f"{OWN_PREFIX}*") if models_dir.is_dir() else []:
        match = OWN_NAME.match(path.name)
        if match and is_adapter(path):
            meta = json.loads((path / META).read_text(encoding="utf-8"))
            found.append(OwnModel(path.name, int(match.group(1)), path, meta))
    return sorted(found, key=lambda model: model.version)


def own_path(name: str, models_dir: Path = DEFAULT_MODELS_DIR) -> Path:
    """The folder of a local version, or ModelNotAvailable naming what is there and the fix."""
    from sentiment.adapted import is_adapter

    path = models_dir / name
    if is_adapter(path):
        return path
    there = ", ".join(model.name for model in versions(models_dir)) or "none"
    raise ModelNotAvailable(
        f"local model {name!r} is not in {models_dir} (versions there: {there}). Train one with "
        "`cxpulse models train`, switch to one that exists with `cxpulse models use NAME`, or "
        "back to the shipped model with `cxpulse models use builtin`"
    )


def read_active(models_dir: Path = DEFAULT_MODELS_DIR) -> str | None:
    path = models_dir / ACTIVE
    if not path.is_file():
        return None
    return path.read_text(encoding="utf-8").strip() or None


def resolve(configured: str, models_dir: Path = DEFAULT_MODELS_DIR) -> tuple[str, str]:
    """(what to load, why): the model `models use` chose, else sentiment.model; an own-vN name
    becomes its folder. Raises ModelNotAvailable when that version is gone."""
    active = read_active(models_dir)
    chosen, why = (
        (active, f"chosen with `cxpulse models use` ({models_dir / ACTIVE})")
        if active
        else (configured, "sentiment.model in the configuration")
    )
    return location(chosen, models_dir), why


def location(name: str, models_dir: Path = DEFAULT_MODELS_DIR) -> str:
    """What to load for a model name: an own-vN name becomes its folder (ModelNotAvailable when
    that version is gone); anything else is loaded as it is."""
    return str(own_path(name, models_dir)) if OWN_NAME.match(name) else name


def use(name: str, models_dir: Path = DEFAULT_MODELS_DIR) -> str:
    """Make `name` the model the next `run`/`worker` loads: builtin, own-vN, a Hub id in the
    local cache, or a model folder. Written atomically; returns what it replaced."""
    if name not in (BUILTIN, BUILTIN_EN, BUILTIN_HEAD_MODEL):
        if OWN_NAME.match(name):
            own_path(name, models_dir)
        elif not Path(name).is_dir() and name not in {m.repo_id for m in cached_hub_models()}:
            raise ModelNotAvailable(
                f"{name!r} is neither builtin, a local version ({OWN_PREFIX}N), a model folder "
                f"nor a Hub model in the local cache. Download it first with `cxpulse models pull "
                f"{name}`, or see `cxpulse models list`"
            )
    previous = read_active(models_dir) or ""
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = models_dir / f".{ACTIVE}.{os.getpid()}"
    partial.write_text(name + "\n", encoding="utf-8")
    os.replace(partial, models_dir / ACTIVE)  # a reader sees the old or the new line, never half
    return previous


def own_classifier(
    model: str,
    *,
    models_dir: Path = DEFAULT_MODELS_DIR,
    batch_size: int = 32,
    max_length: int = 128,
    device: str = "cpu",
    quantize: Quantize = "none",
) -> Classifier | None:
    """An own-vN name or an adapter folder as a classifier; None for anything else."""
    from sentiment.adapted import AdaptedClassifier, is_adapter

    if OWN_NAME.match(model):
        path = own_path(model, models_dir)
    elif is_adapter(Path(model)):
        path = Path(model)
    else:
        return None
    return AdaptedClassifier(
        path, batch_size=batch_size, max_length=max_length, device=device, quantize=quantize
    )


# --- training a new version -------------------------------------------------------------------


def _figures(classifier: Classifier, items: Sequence[Any]) -> dict[str, Any]:
    """Accuracy and macro-F1 of a classifier on labelled items, as the worker would score them:
    the sign of the score when no gold label is neutral, else the label (with its neutral band)."""
    from sentiment.evaluate import BINARY, THREE_CLASS, _labels_for, polarity, score

    task = THREE_CLASS if any(item.label == "neutral" for item in items) else BINARY
    predictions = classifier.predict([item.text for item in items])
    predicted = [polarity(p, task) for p in predictions]
    scores = score([item.label for item in items], predicted, _labels_for(task))
    return {
        "model": classifier.name,
        "revision": classifier.revision,
        "task": task,
        "accuracy": scores.accuracy,
        "macro_f1": scores.macro_f1,
        "confusion": {
            "rows (gold)": list(scores.labels),
            "columns (predicted)": list(scores.columns),
            "counts": [list(row) for row in scores.confusion],
        },
    }


def shipped_adapter(path: Path | None = None) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A shipped LoRA adapter's tensors and adapter.json (default: the Dutch-first one), where it
    is on this machine."""
    from safetensors.torch import load_file

    from sentiment.adapted import BUILTIN_LORA, META, WEIGHTS, is_adapter

    path = path or BUILTIN_LORA
    if not is_adapter(path):
        return None
    meta = json.loads((path / META).read_text(encoding="utf-8"))
    return load_file(str(path / WEIGHTS)), meta


def starting_adapters(texts: Sequence[str], base: str = MINILM) -> list[Path]:
    """The shipped adapters training on `base` may start from, best first: the one "builtin"
    scores the labels' main language with (builtin-en where most of them are English, else the
    Dutch-first one), then the other; only those trained on that base (adapter.json records
    it; none recorded is MiniLM)."""
    from sentiment.adapted import BUILTIN_EN_LORA, BUILTIN_LORA, is_adapter
    from sentiment.language import detect_languages

    english = sum(language == "en" for language in detect_languages(list(texts)))
    order = [BUILTIN_LORA, BUILTIN_EN_LORA]
    if english * 2 > len(texts):
        order.reverse()
    return [path for path in order if is_adapter(path) and shipped_base(path) == base]


def shipped_base(path: Path | None = None) -> str:
    """The encoder a shipped adapter (default: the Dutch-first one) was trained on."""
    from sentiment.adapted import BUILTIN_LORA, META

    meta = json.loads(((path or BUILTIN_LORA) / META).read_text(encoding="utf-8"))
    return recorded_base(meta)


def own_config(**overrides: Any) -> Any:
    """Fine-tuning settings for a team's labels (hundreds to a few thousand): the shipped
    Dutch-first adapter's base, rank and targets (training starts from it), smaller batches
    than its own. A `base=None` override means the shipped one too."""
    from sentiment.finetune import FinetuneConfig

    settings: dict[str, Any] = {
        "batch_size": 16,
        "lr": 1e-3,
        "head_lr": 2e-3,
        "warm_start": False,
        "calibrate": True,  # the neutral offset, on the early-stopping rows (train_version)
    }
    shipped = shipped_adapter()
    if shipped is not None:
        lora = shipped[1]["lora"]
        settings |= {
            "rank": lora["rank"],
            "alpha": lora["alpha"],
            "targets": tuple(lora["targets"]),
            "base": recorded_base(shipped[1]),
        }
    if overrides.get("base", "") is None:
        del overrides["base"]
    return FinetuneConfig(**(settings | overrides))


def _start(config: Any, texts: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Where training on `texts` starts: the first of starting_adapters (the shipped adapters on
    the config's base, their main language's first) whose shape fits the config (LoRA and
    head), else the shipped head on the plain MiniLM, else (another base) a head warm-started by
    train(). (train() keywords, a description.)"""
    from safetensors.torch import load_file

    from sentiment.adapted import weights_digest
    from sentiment.classifier import BUILTIN_HEAD

    for path in starting_adapters(texts, config.base):
        shipped = shipped_adapter(path)
        if shipped is None:
            continue
        tensors, meta = shipped
        lora = meta["lora"]
        shape = (lora["rank"], lora["alpha"], tuple(lora["targets"]))
        full = config.method == "full"  # any shape: the factors are merged into the weights
        if full or shape == (config.rank, config.alpha, tuple(config.targets)):
            digest = weights_digest(path)
            merged = ", merged into the encoder, every weight then trained" if full else ""
            start = {
                "adapter_init": tensors,
                "head_init": None,
                "adapter_scaling": float(lora["scaling"]),
            }
            return start, {
                "from": f"the shipped LoRA adapter (sentiment/builtin/{path.name}) and its "
                f"head{merged}",
                "name": meta.get("name"),
                "revision": digest,
            }
    if config.base != MINILM:  # the shipped head reads MiniLM's embeddings only
        return {}, {
            "from": f"the plain {config.base} encoder (sentiment.bases), head warm-started by "
            "logistic regression on its embeddings of the training labels"
        }
    head = load_file(str(BUILTIN_HEAD))
    return {"head_init": (head["weight"], head["bias"])}, {
        "from": "the plain MiniLM encoder with the shipped head "
        "(sentiment/builtin/head.safetensors)"
    }


def check_trainable(items: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """(train, held_out) of distinct labelled texts, or TrainingError saying what is missing."""
    rows = latest_per_text(items)
    train_items, held_out = split_held_out(rows)
    classes = Counter(item.label for item in train_items)
    if len(rows) < MIN_LABELS or not held_out:
        raise TrainingError(
            f"{len(rows)} distinct labelled texts ({len(held_out)} held out): training needs at "
            f"least {MIN_LABELS}, with some held out; add labels (`cxpulse labels import FILE` "
            "or the explorer's corrections)"
        )
    if len(classes) < 2:
        raise TrainingError(
            f"every training label is {next(iter(classes))!r}: a model needs at least two "
            "polarities to learn the difference; add labels of the others"
        )
    return train_items, held_out


def train_phases(
    items: Sequence[Any],
    out: Path,
    config: Any,
    *,
    compare_with: Callable[[list[str]], list[str]] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Fine-tune a phase model (LoRA from the plain encoder, a head over the labelled phases)
    on phase labels (LabelledText whose label is a phase key or "general"), written to
    out/phases, with the same held-out and early-stopping rules as the sentiment model. Returns
    its held-out figures next to `compare_with`'s (texts → first assigned phase), or why it was
    not trained (too few phase labels: nothing is written, phases stay as configured)."""
    from sentiment.adapted import PHASE_MODEL, AdaptedModel
    from sentiment.evaluate import score
    from sentiment.finetune import save_adapter, train

    rows = latest_per_text(items)
    train_items, held_out = split_held_out(rows)
    phases = sorted({item.label for item in train_items})
    if len(rows) < MIN_LABELS or not held_out or len(phases) < 2:
        return {
            "trained": False,
            "why": f"{len(rows)} distinct texts with a phase label ({len(held_out)} held out, "
            f"{len(phases)} phases): a phase model needs at least {MIN_LABELS}, some held out, "
            "and two phases",
        }
    fit, stop = split_early_stopping(train_items)
    if not stop or len({item.label for item in fit}) < 2:
        fit, stop = train_items, held_out
    # From the plain encoder: the head starts as logistic regression on its embeddings.
    config = replace(config, warm_start=True)
    model, history = train(fit, stop, config, labels=phases, progress=progress)
    save_adapter(
        model,
        out / PHASE_MODEL,
        config=config,
        history=history,
        labels=phases,
        name=f"{out.name}:phases",
        trained_on={"the organisation's phase labels (train part)": len(fit)},
        held_out=f"{HELD_OUT_RULE} ({len(held_out)} rows, reported)",
    )
    learned = AdaptedModel(out / PHASE_MODEL, max_length=config.max_length)
    texts, gold = [item.text for item in held_out], [item.label for item in held_out]
    predicted = [
        learned.labels[int(i)]
        for i in learned.probabilities(learned.encoder.embed(texts)).argmax(dim=1)
    ]

    def figures(name: str, guesses: list[str]) -> dict[str, Any]:
        scores = score(gold, guesses, sorted(set(gold)))
        return {"model": name, "accuracy": scores.accuracy, "macro_f1": scores.macro_f1}

    result: dict[str, Any] = {
        "trained": True,
        "phases": phases,
        "train": len(train_items),
        "rows": len(held_out),
        "early_stopping": len(stop) if stop is not held_out else "the held-out rows too",
        "train_by_phase": dict(sorted(Counter(i.label for i in train_items).items())),
        "this": figures("learned phases", predicted),
    }
    if compare_with is not None:
        result["compared_with"] = figures("configured phases", compare_with(texts))
    return result


def train_version(
    items: Sequence[Any],
    models_dir: Path = DEFAULT_MODELS_DIR,
    *,
    config: Any = None,
    compare_with: Classifier | None = None,
    source: dict[str, Any] | None = None,
    progress: bool = True,
    phase_items: Sequence[Any] = (),
    compare_phases: Callable[[list[str]], list[str]] | None = None,
    folds: int | None = None,
) -> OwnModel:
    """Fine-tune an encoder (config.base: multilingual-e5-small from the shipped adapter, or
    MiniLM from the shipped head; LoRA or, with config.method "full", every weight;
    sentiment.finetune) on labelled texts (oldest first; LabelledText), and write the next
    version own-vN with what it was trained on and its held-out figures next to
    `compare_with`'s on the same held-out rows. With enough `phase_items` (text, phase key)
    it learns the phases too (train_phases: own-vN/phases).

    `folds`: choose the epoch and the neutral offset by that many folds of cross-validation
    over the training part (sentiment.crossval) instead of setting early-stopping rows aside,
    then train on all of it; the held-out rows stay out and report as before."""
    from sentiment.adapted import META, PHASE_MODEL, AdaptedClassifier
    from sentiment.crossval import train_cross_validated
    from sentiment.finetune import save_adapter, train

    config = config or own_config()
    rows = latest_per_text(items)
    train_items, held_out = check_trainable(rows)
    classes = Counter(item.label for item in train_items)
    start, started_from = _start(config, [item.text for item in train_items])
    if not start:  # nothing shipped fits the base: train() warm-starts a head on its embeddings
        config = replace(config, warm_start=True)
    chosen = None
    if folds:
        fit, stop = list(train_items), []
        try:
            model, history, chosen = train_cross_validated(
                fit, config, folds, progress=progress, **start
            )
        except ValueError as error:  # a polarity with fewer labels than folds
            raise TrainingError(f"{error}; add labels or use fewer --folds") from None
        how_chosen = (
            f"the epoch and the neutral offset chosen by {folds}-fold cross-validation over "
            f"the {len(fit)} training labels, then trained on all of them"
        )
    else:
        fit, stop = split_early_stopping(train_items)
        if not stop or len({item.label for item in fit}) < 2:
            fit, stop = train_items, held_out  # too few labels to set rows aside twice
            # The reported rows would choose the neutral offset too: leave the head as trained.
            config = replace(config, calibrate=False)
        model, history = train(fit, stop, config, progress=progress, **start)
        how_chosen = "early stopping on " + (
            f"{EARLY_STOPPING_RULE} ({len(stop)} rows)"
            if stop is not held_out
            else "the held-out rows too (too few labels to set rows aside twice)"
        )
    models_dir.mkdir(parents=True, exist_ok=True)
    number = max([m.version for m in versions(models_dir)], default=0) + 1
    partial = models_dir / f".{OWN_PREFIX}{number}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    save_adapter(
        model,
        partial,
        config=config,
        history=history,
        trained_on={"the organisation's labels (train part)": len(fit)},
        held_out=f"{HELD_OUT_RULE} ({len(held_out)} rows, reported); {how_chosen}",
        cross_validation=chosen.summary() if chosen else None,
    )
    phase_figures = (
        train_phases(phase_items, partial, config, compare_with=compare_phases, progress=progress)
        if phase_items
        else {"trained": False, "why": "no phase labels"}
    )
    adapted = AdaptedClassifier(partial, max_length=config.max_length)
    figures: dict[str, Any] = {"rows": len(held_out), "rule": HELD_OUT_RULE}
    figures["this"] = _figures(adapted, held_out)
    if compare_with is not None:
        figures["compared_with"] = _figures(compare_with, held_out)
    meta = json.loads((partial / META).read_text(encoding="utf-8"))
    while (models_dir / f"{OWN_PREFIX}{number}").exists():  # another training finished first
        number += 1
    name = f"{OWN_PREFIX}{number}"
    meta |= {
        "name": name,
        "version": number,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "label_counts": {  # "labels" is the class list AdaptedClassifier reads
            "given": len(items),
            "distinct_texts": len(rows),
            "train": len(train_items),
            "held_out": len(held_out),
            "early_stopping": len(stop) if stop is not held_out else 0,
            "cross_validation_folds": folds or 0,
            "train_by_polarity": dict(sorted(classes.items())),
            "held_out_by_polarity": dict(sorted(Counter(i.label for i in held_out).items())),
            "rows_sha256": rows_sha256(rows),
        },
        "source": source or {},
        "started_from": started_from,
        "held_out_figures": figures,
        "phase_model": phase_figures,
    }
    figures["this"]["model"] = name
    (partial / META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    if phase_figures["trained"]:  # named after the version, not the folder it was written in
        phase_meta_path = partial / PHASE_MODEL / META
        phase_meta = json.loads(phase_meta_path.read_text(encoding="utf-8"))
        phase_meta["name"] = f"{name}:phases"
        phase_meta_path.write_text(json.dumps(phase_meta, indent=2) + "\n", encoding="utf-8")
    partial.rename(models_dir / name)  # the version appears complete, or not at all
    return OwnModel(name, number, models_dir / name, meta)


# --- Hugging Face Hub models ------------------------------------------------------------------


@dataclass(frozen=True)
class HubModel:
    repo_id: str
    size_bytes: int
    revisions: tuple[str, ...]  # commit hashes (first 12)
    last_modified: datetime | None
    path: Path


def cached_hub_models(cache_dir: Path | None = None) -> list[HubModel]:
    """The models in the local Hugging Face cache ($HF_HUB_CACHE / $HF_HOME), by id."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        info = scan_cache_dir(cache_dir)
    except CacheNotFound:
        return []
    return sorted(
        (
            HubModel(
                repo.repo_id,
                repo.size_on_disk,
                tuple(sorted(r.commit_hash[:12] for r in repo.revisions)),
                datetime.fromtimestamp(repo.last_modified, UTC) if repo.last_modified else None,
                Path(repo.repo_path),
            )
            for repo in info.repos
            if repo.repo_type == "model"
        ),
        key=lambda model: model.repo_id,
    )


def pull(
    hub_id: str,
    revision: str | None = None,
    *,
    endpoint: str | None = None,
    cache_dir: Path | None = None,
) -> Path:
    """Download a Hub model into the standard Hugging Face cache (progress bars on stderr);
    `HF_ENDPOINT` points at a mirror. Returns the snapshot folder."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(
            snapshot_download(
                hub_id,
                revision=revision,
                endpoint=endpoint,
                cache_dir=cache_dir,
                # The weights and what loading them needs; not every framework's copy.
                ignore_patterns=["*.h5", "*.msgpack", "*.onnx", "*.ot", "flax_*", "tf_*"],
            )
        )
    except LocalEntryNotFoundError as exc:
        raise PullError(
            f"could not reach the Hugging Face hub to download {hub_id!r} ({exc.__class__.__name__}"
            "). On a machine that can: `cxpulse models pull` there, then copy its cache folder "
            "(~/.cache/huggingface/hub) here, or set HF_ENDPOINT to a reachable mirror"
        ) from None
    except HfHubHTTPError as exc:
        raise PullError(f"the hub refused {hub_id!r}: {exc}") from None
