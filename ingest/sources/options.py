"""The `options` table of a `[[sources]]` entry, checked by a small pydantic model per type.

A wrong option stops start-up with a ValueError naming `sources.<key>.options.<field>`."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config import SourceConfig


class SourceOptions(BaseModel):
    """Options every HTTP source understands; each source type adds its own fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_seconds: float = Field(default=20, gt=0, le=300)


Options = TypeVar("Options", bound=SourceOptions)


def parse_options(model: type[Options], config: SourceConfig) -> Options:
    """`config.options` as `model`, or a ValueError listing every wrong option by its key path."""
    try:
        return model.model_validate(config.options)
    except ValidationError as exc:
        known = ", ".join(sorted(model.model_fields))
        problems = []
        for error in exc.errors():
            path = ".".join(str(part) for part in error["loc"])
            if error["type"] == "extra_forbidden":
                hint = f"unknown option (known: {known})"
            else:
                hint = str(error["msg"]).removeprefix("Value error, ")
            # A check across fields has no location of its own; its message starts with one.
            where = f"{path}: " if path else ""
            problems.append(f"sources.{config.key}.options.{where}{hint}")
        raise ValueError("; ".join(problems)) from None
