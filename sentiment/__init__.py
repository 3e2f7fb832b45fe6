"""Text → language, sentences, journey phases and sentiment, with real transformer models.

A leaf package: it imports nothing from storage/ or dashboard/. Start at `sentiment.pipeline`."""

from sentiment.classifier import ModelNotAvailable, load_classifier
from sentiment.phases import PhaseSpec
from sentiment.pipeline import Analyzer, MessageAnalysis, ModelRoute, TextInput, UnitResult

__all__ = [
    "Analyzer",
    "MessageAnalysis",
    "ModelNotAvailable",
    "ModelRoute",
    "PhaseSpec",
    "TextInput",
    "UnitResult",
    "load_classifier",
]
