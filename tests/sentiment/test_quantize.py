"""int8 on the CPU and fp16 on CUDA: close to the float model, recorded in the revision, set in
the configuration and refused with a clear message where it cannot run."""

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from config import ConfigError, load_settings
from config.settings import DEMO_CONFIG
from sentiment.adapted import AdaptedClassifier
from sentiment.classifier import HeadClassifier, load_classifier
from sentiment.encoder import DeviceNotAvailable, Encoder, FullRangeDynamicLinear, int8_qconfig
from sentiment.pipeline import TextInput
from wiring import build_analyzer

PROJECT_TEXTS = Path(__file__).parents[2] / "sentiment" / "builtin" / "project_texts.csv"
CLEAR = [
    ("Fantastische service, ik ben heel blij met mijn nieuwe laptop!", "positive"),
    ("Great product, fast delivery, thank you so much!", "positive"),
    ("Absolutely terrible, the package never arrived and nobody helps.", "negative"),
    ("Waardeloos product, na twee dagen kapot.", "negative"),
    ("Top, super snel geleverd en goed ingepakt, aanrader!", "positive"),
]


@pytest.fixture(scope="module")
def encoders() -> tuple[Encoder, Encoder]:
    return Encoder(), Encoder(quantize="int8")


@pytest.fixture
def keep_torch_threads() -> Iterator[None]:
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def customer_texts(count: int) -> list[str]:
    """Every 40th of the project's own customer texts (nl and en, all phases and channels)."""
    with PROJECT_TEXTS.open(encoding="utf-8") as handle:
        return [row["text"] for row in csv.DictReader(handle)][::40][:count]


def test_int8_encoder_has_no_float_linear_layer_left(encoders: tuple[Encoder, Encoder]) -> None:
    _, int8 = encoders
    kinds = {type(m) for m in int8.model.modules()}
    assert torch.nn.Linear not in kinds
    assert any(issubclass(k, torch.ao.nn.quantized.dynamic.Linear) for k in kinds)


@pytest.mark.parametrize("vnni", [True, False], ids=["vnni", "no vnni"])
def test_int8_weights_leave_no_16_bit_sum_to_saturate_without_vnni(vnni: bool) -> None:
    """Without VNNI the kernels add pairs of u8 × s8 products in saturating 16-bit sums: with
    8-bit activations the weights must stay within -64..63 (2 · 255 · 64 < 2**15)."""
    torch.manual_seed(0)
    layer = torch.nn.Sequential(torch.nn.Linear(64, 32))
    quantized = torch.ao.quantization.quantize_dynamic(
        layer,
        {torch.nn.Linear: int8_qconfig(vnni)},
        dtype=torch.qint8,
        mapping={torch.nn.Linear: FullRangeDynamicLinear},
    )
    weights = quantized[0].weight().int_repr()
    low, high = (-128, 127) if vnni else (-64, 63)
    assert weights.min() >= low and weights.max() <= high
    assert weights.abs().max() >= high - 1  # the range is used, not only bounded
    x = torch.randn(4, 64)
    cosine = torch.nn.functional.cosine_similarity(quantized(x), layer(x), dim=-1)
    assert cosine.min() > 0.99


def test_int8_embeddings_of_customer_texts_stay_within_cosine_0_98_of_float(
    encoders: tuple[Encoder, Encoder],
) -> None:
    full, int8 = encoders
    texts = customer_texts(12)
    cosine = (full.embed(texts) * int8.embed(texts)).sum(dim=-1)
    assert cosine.min() > 0.98, dict(zip(texts, cosine.tolist(), strict=True))
    assert cosine.max() < 0.99999  # really a different model, not the float one again


def test_int8_embeddings_of_very_short_texts_stay_within_cosine_0_94(
    encoders: tuple[Encoder, Encoder],
) -> None:
    # Three or four tokens are where int8 is furthest from float (docs/quality.md, Quantisation).
    full, int8 = encoders
    texts = ["Thanks!", "Top!", "Nooit meer.", "Waar blijft mijn pakket??"]
    cosine = (full.embed(texts) * int8.embed(texts)).sum(dim=-1)
    assert cosine.min() > 0.94, dict(zip(texts, cosine.tolist(), strict=True))


@pytest.mark.parametrize("adapted", [False, True], ids=["frozen head", "lora"])
def test_int8_classifier_gives_the_float_label_on_clear_examples_and_says_int8(
    adapted: bool,
) -> None:
    def load(quantize: str) -> HeadClassifier | AdaptedClassifier:
        if adapted:
            return AdaptedClassifier(quantize=quantize)  # type: ignore[arg-type]
        return load_classifier("builtin-head", quantize=quantize)  # type: ignore[return-value, arg-type]

    full, int8 = load("none"), load("int8")
    texts = [text for text, _ in CLEAR]
    expected = [label for _, label in CLEAR]
    assert [p.label for p in full.predict(texts)] == expected
    assert [p.label for p in int8.predict(texts)] == expected
    assert int8.revision == f"{full.revision}+int8"
    assert int8.name == full.name


def test_a_hub_style_model_quantises_too(tiny_model: Path) -> None:
    classifier = load_classifier(str(tiny_model), quantize="int8")
    assert classifier.revision.endswith("+int8")
    assert all(-1 <= p.score <= 1 for p in classifier.predict(["goed", "slecht nieuws"]))


def test_quantize_threads_and_read_whole_flow_from_the_config_file_to_the_analyzer(
    tmp_path: Path, keep_torch_threads: None
) -> None:
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    assert "threads = 1\n" in text
    config = tmp_path / "cxpulse.toml"
    config.write_text(
        text.replace("threads = 1\n", 'threads = 1\nquantize = "int8"\nread_whole = false\n')
    )
    torch.set_num_threads(2)
    analyzer = build_analyzer(load_settings(config))
    assert torch.get_num_threads() == 1
    assert analyzer.encoder.quantize == "int8"
    assert analyzer.read_whole is False
    (analysis,) = analyzer.analyze([TextInput("De bezorger was twee dagen te laat.")])
    assert analysis.revision.endswith("+int8")
    assert analysis.phase_scores and analysis.score is not None and analysis.score < 0


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ('quantize = "int4"', "sentiment.quantize: expected one of 'none', 'int8' or 'fp16'"),
        ('device = "tpu"', "sentiment.device: expected one of 'cpu' or 'cuda'"),
        ('quantize = "fp16"', 'quantize = "fp16" needs device = "cuda"'),
        ('device = "cuda"\nquantize = "int8"', 'quantize = "int8" runs on the CPU only'),
        ("threads = 0", "sentiment.threads: expected a number of at least 1, got 0"),
    ],
)
def test_bad_sentiment_settings_are_a_config_error_naming_the_key(
    tmp_path: Path, lines: str, problem: str
) -> None:
    text = DEMO_CONFIG.read_text(encoding="utf-8").replace("threads = 1\n", "")
    config = tmp_path / "cxpulse.toml"
    config.write_text(text.replace('model = "builtin"\n', f'model = "builtin"\n{lines}\n'))
    with pytest.raises(ConfigError) as error:
        load_settings(config)
    assert any(problem in p for p in error.value.problems), error.value.problems


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_without_a_gpu_is_one_clear_error_naming_the_setting() -> None:
    with pytest.raises(DeviceNotAvailable, match='sentiment.device = "cpu"'):
        Encoder(device="cuda", quantize="fp16")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none here)")
def test_fp16_on_cuda_stays_within_cosine_0_999_of_float(
    encoders: tuple[Encoder, Encoder],
) -> None:
    full, _ = encoders
    half = Encoder(device="cuda", quantize="fp16")
    assert next(half.model.parameters()).dtype == torch.float16
    texts = customer_texts(12)
    cosine = (full.embed(texts) * half.embed(texts)).sum(dim=-1)
    assert cosine.min() > 0.999
