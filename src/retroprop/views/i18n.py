"""Words of the explanations in English and Spanish (the lecture's terms).

Equations are built elsewhere (:mod:`retroprop.glassbox.equations`); this table holds every
word around them, and :func:`localized` translates their one word (the count that ends a long
sum). The words themselves are data, in ``strings.json`` beside this
module: one entry per message id with both languages side by side, in one section per view.
Each entry is a ``str.format`` template; both languages take the same fields. A test checks
that every Spanish entry differs from its English one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from importlib import resources

from retroprop.errors import ParameterError
from retroprop.glassbox.equations import MORE_TERMS

__all__ = ["LANGUAGES", "STRINGS", "localized", "words"]

LANGUAGES = ("en", "es")


def _load_strings() -> dict[str, dict[str, str]]:
    """``strings.json`` beside this module: its sections (one per view) made one table."""
    text = resources.files("retroprop.views").joinpath("strings.json").read_text("utf-8")
    return {key: entry for section in json.loads(text).values() for key, entry in section.items()}


STRINGS: dict[str, dict[str, str]] = _load_strings()
"""Message id → language → template."""


def words(lang: str) -> dict[str, str]:
    """The templates of one language.

    Raises:
        ParameterError: an unknown language (the message lists the valid ones).
    """
    if lang not in LANGUAGES:
        raise ParameterError(f"unknown language {lang!r}; valid: {', '.join(LANGUAGES)}")
    return {key: text[lang] for key, text in STRINGS.items()}


_MORE_TERMS = re.compile(re.escape(MORE_TERMS).replace(re.escape("{n}"), r"(\d+)"))


def localized(equation: str, T: Mapping[str, str]) -> str:
    """An equation of :mod:`retroprop.glassbox.equations` in ``T``'s language: its one word,
    in the count that ends a long sum (``… (8 terms)``: ``… (8 términos)``), translated."""
    more = MORE_TERMS.replace("{n} terms", T["n_terms"])
    return _MORE_TERMS.sub(lambda m: more.format(n=m.group(1)), equation)
