"""`cxpulse models use` accepts both built-in models, and refuses a name it cannot load."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentiment.classifier import ModelNotAvailable
from sentiment.own_models import read_active, resolve, use


def test_the_frozen_head_can_be_chosen_and_left_again(tmp_path: Path) -> None:
    assert use("builtin-head", tmp_path) == ""
    assert read_active(tmp_path) == "builtin-head"
    assert resolve("builtin", tmp_path)[0] == "builtin-head"
    assert use("builtin", tmp_path) == "builtin-head"
    assert resolve("builtin", tmp_path)[0] == "builtin"


def test_a_name_that_is_no_model_here_is_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailable, match="models pull"):
        use("someone/not-downloaded-model", tmp_path)
    assert read_active(tmp_path) is None
