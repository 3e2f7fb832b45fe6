import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from config import ConfigError, load_settings
from config.settings import DEMO_CONFIG, check_config

ROOT = Path(__file__).parent.parent


def _demo() -> dict:
    return tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))


def test_demo_config_has_the_eight_journey_phases_in_order() -> None:
    settings = load_settings()
    assert [p.key for p in settings.phases] == [
        "orientation",
        "purchase",
        "payment",
        "delivery",
        "use",
        "service",
        "returns",
        "loyalty",
    ]
    assert settings.own_brand.key == "voltera"
    assert {b.key for b in settings.brands if not b.own} == {"stroomz", "kabelhuis"}


def test_the_example_config_is_valid() -> None:
    settings = load_settings(ROOT / "cxpulse.example.toml")
    assert settings.phases and settings.brands
    assert settings.sentiment.read_whole  # the message read whole, as chosen in docs/quality.md


def test_every_problem_is_reported_with_its_key_path_and_a_hint() -> None:
    raw = _demo()
    raw["phases"][3]["target"] = "high"
    raw["brands"][0]["colour"] = "red"
    raw["dashboard"]["port"] = 0
    with pytest.raises(ConfigError) as caught:
        check_config(raw, "my.toml")
    problems = caught.value.problems
    assert "phases[3].target: expected a number between -1 and 1, got 'high'" in problems
    assert any(p.startswith("brands[0].colour: unknown key") for p in problems)
    assert "dashboard.port: expected a number between 1 and 65535, got 0" in problems
    assert len(problems) == 3


def test_duplicate_keys_and_missing_own_brand_are_refused() -> None:
    raw = _demo()
    raw["phases"].append(dict(raw["phases"][0]))
    with pytest.raises(ConfigError, match="key 'orientation' is used twice"):
        check_config(raw)
    raw = _demo()
    for brand in raw["brands"]:
        brand["own"] = False
    with pytest.raises(ConfigError, match="no brand has own = true"):
        check_config(raw)


def test_config_check_command_exits_nonzero_and_names_the_problem(tmp_path: Path) -> None:
    text = DEMO_CONFIG.read_text(encoding="utf-8").replace("target = 0.4", "target = 7", 1)
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "--config", str(path), "config", "check"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert bad.returncode == 2
    assert "phases[2].target: expected a number between -1 and 1, got 7" in bad.stderr
    good = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "config", "check"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert good.returncode == 0 and "8 phases" in good.stdout
