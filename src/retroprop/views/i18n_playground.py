"""Words of ``retroprop playground``'s page in English and Spanish (merged into
:data:`retroprop.views.i18n.STRINGS`; keys start with ``pg_``)."""

from __future__ import annotations

__all__ = ["PLAYGROUND"]

PLAYGROUND: dict[str, dict[str, str]] = {
    "pg_title": {"en": "retroprop playground", "es": "retroprop: laboratorio"},
}
