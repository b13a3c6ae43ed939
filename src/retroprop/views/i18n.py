"""Words of the explanations in English and Spanish (the lecture's terms).

Equations are language-neutral and built elsewhere (:mod:`retroprop.glassbox.equations`); this table
holds every word around them. The words themselves are data, in ``strings.json`` beside this
module: one entry per message id with both languages side by side, in one section per view.
Each entry is a ``str.format`` template; both languages take the same fields. A test checks
that every Spanish entry differs from its English one.
"""

from __future__ import annotations

import json
from importlib import resources

from retroprop.errors import ParameterError

__all__ = ["LANGUAGES", "STRINGS", "words"]

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
