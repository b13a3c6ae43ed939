"""Words of the explanations and of the command line in English and Spanish (the lecture's
terms).

Equations are language-neutral and built elsewhere (:mod:`retroprop.glassbox.equations`); this
table holds every word around them, and :func:`localized` translates their one word (the count
that ends a long sum). The words themselves are data beside this module: ``strings.json`` (the
explanations, the report, the playground: one section per view) and ``command_words.json`` (the
command line's progress and summary lines), one entry per message id with both languages side
by side. Each entry is a ``str.format`` template; both languages take the same fields. A test
checks that every Spanish entry differs from its English one.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from importlib import resources

from retroprop.errors import ParameterError
from retroprop.glassbox.equations import MORE_TERMS

__all__ = [
    "COMMAND_LINE",
    "LANGUAGES",
    "STRINGS",
    "command_words",
    "language",
    "localized",
    "words",
]

LANGUAGES = ("en", "es")


def _load(name: str) -> dict[str, dict[str, str]]:
    """A JSON word file beside this module: its sections (one per view) made one table."""
    text = resources.files("retroprop.views").joinpath(name).read_text("utf-8")
    return {key: entry for section in json.loads(text).values() for key, entry in section.items()}


STRINGS: dict[str, dict[str, str]] = _load("strings.json")
"""Message id → language → template."""

COMMAND_LINE: dict[str, dict[str, str]] = _load("command_words.json")
"""The command line's progress and summary lines (``retroprop demo``, ``retroprop train``):
message id → language → template. Error messages stay English."""


def words(lang: str) -> dict[str, str]:
    """The templates of one language.

    Raises:
        ParameterError: an unknown language (the message lists the valid ones).
    """
    return _one_language(STRINGS, lang)


def language(choice: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The language to speak: ``choice`` (a ``--lang`` option) if given, else the
    ``RETROPROP_LANG`` environment variable, else the locale (``LC_ALL``, ``LC_MESSAGES``,
    ``LANG``, the first one set, as POSIX reads them: ``es_ES.UTF-8`` is Spanish), else
    English.

    Raises:
        ParameterError: ``choice`` or ``RETROPROP_LANG`` is not a language of :data:`LANGUAGES`.
    """
    env = os.environ if environ is None else environ
    if choice is None and env.get("RETROPROP_LANG"):
        choice = env["RETROPROP_LANG"]
        if choice not in LANGUAGES:
            raise ParameterError(
                f"RETROPROP_LANG={choice!r} is not a language; valid: {', '.join(LANGUAGES)}"
            )
    if choice is not None:
        _one_language({}, choice)  # checks it
        return choice
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(name):
            return "es" if env[name].lower().startswith("es") else "en"
    return "en"


def command_words(lang: str) -> dict[str, str]:
    """The command line's templates of one language (:data:`COMMAND_LINE`).

    Raises:
        ParameterError: an unknown language.
    """
    return _one_language(COMMAND_LINE, lang)


def _one_language(table: Mapping[str, Mapping[str, str]], lang: str) -> dict[str, str]:
    """``table``'s templates in ``lang``, or a :class:`ParameterError` naming the languages."""
    if lang not in LANGUAGES:
        raise ParameterError(f"unknown language {lang!r}; valid: {', '.join(LANGUAGES)}")
    return {key: text[lang] for key, text in table.items()}


_MORE_TERMS = re.compile(re.escape(MORE_TERMS).replace(re.escape("{n}"), r"(\d+)"))


def localized(equation: str, T: Mapping[str, str]) -> str:
    """An equation of :mod:`retroprop.glassbox.equations` in ``T``'s language: its one word,
    in the count that ends a long sum (``… (8 terms)``: ``… (8 términos)``), translated."""
    more = MORE_TERMS.replace("{n} terms", T["n_terms"])
    return _MORE_TERMS.sub(lambda m: more.format(n=m.group(1)), equation)
