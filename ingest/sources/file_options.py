"""Options shared by the sources that read files (folder, replay): path, column mapping, and the
channel and brand for rows that name none, with the source's top-level keys folded in."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import Field, field_validator

from config import Settings, SourceConfig
from ingest.base import Channel
from ingest.files import DEFAULT_MAPPING
from ingest.sources.options import SourceOptions, parse_options


class FileOptions(SourceOptions):
    path: str = Field(min_length=1)  # relative: from the directory CX Pulse was started in
    mapping: dict[str, str] = Field(default_factory=dict)  # our field -> the file's column
    channel: Channel | None = None  # for rows without a channel column
    brand: str | None = None  # for rows without a brand column

    @field_validator("mapping")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        for field, column in value.items():
            if field not in DEFAULT_MAPPING:
                raise ValueError(f"unknown field {field!r} (known: {', '.join(DEFAULT_MAPPING)})")
            if not column:
                raise ValueError(f"{field}: give the name of the column it is read from")
        return value

    def file_path(self) -> Path:
        return Path(self.path).expanduser().absolute()


Options = TypeVar("Options", bound=FileOptions)


def file_options(
    model: type[Options], config: SourceConfig, settings: Settings, default_brand: str | None
) -> Options:
    """`config.options` as `model`, with the source's top-level `channel` / `brand` folded in
    (either place may say it, not both differently) and the brand checked against the config."""
    options = parse_options(model, config)
    merged: dict[str, str | None] = {}
    for name in ("channel", "brand"):
        top, inner = getattr(config, name), getattr(options, name)
        if top is not None and inner is not None and top != inner:
            raise ValueError(
                f"sources.{config.key}: {name} = {top!r} and options.{name} = {inner!r} "
                "disagree; give it once"
            )
        merged[name] = top if top is not None else inner
    merged["brand"] = merged["brand"] or default_brand
    keys = {b.key for b in settings.brands}
    if merged["brand"] is not None and merged["brand"] not in keys:
        raise ValueError(
            f"sources.{config.key}.options.brand: {merged['brand']!r} is not a brand key "
            f"(known: {', '.join(sorted(keys))})"
        )
    return options.model_copy(update=merged)
