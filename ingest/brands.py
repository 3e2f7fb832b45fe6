"""Which brands a text is about, by the aliases and handles in the configuration.

A post that mentions two brands belongs to both."""

from __future__ import annotations

import re
from collections.abc import Iterable

from config import BrandConfig


class BrandMatcher:
    def __init__(self, brands: Iterable[BrandConfig]) -> None:
        self._patterns: list[tuple[str, re.Pattern[str]]] = []
        for brand in brands:
            names = sorted({brand.name, *brand.aliases, *brand.handles}, key=len, reverse=True)
            alternatives = "|".join(re.escape(n) for n in names)
            self._patterns.append(
                (brand.key, re.compile(rf"(?<![\w@])(?:{alternatives})(?!\w)", re.I))
            )

    def match(self, text: str) -> tuple[str, ...]:
        return tuple(key for key, pattern in self._patterns if pattern.search(text))
