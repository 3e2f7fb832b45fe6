"""Typed settings: one TOML file for brands, phases, targets and sources; environment for secrets.

`load_settings()` is called once in app.py and the result is passed down."""

from config.settings import (
    BrandConfig,
    ConfigError,
    DashboardConfig,
    EmailConfig,
    PhaseConfig,
    SentimentConfig,
    Settings,
    SourceConfig,
    check_config,
    load_settings,
)

__all__ = [
    "BrandConfig",
    "ConfigError",
    "DashboardConfig",
    "EmailConfig",
    "PhaseConfig",
    "SentimentConfig",
    "Settings",
    "SourceConfig",
    "check_config",
    "load_settings",
]
