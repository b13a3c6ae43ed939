"""What a terminal shows of a user's string: the string, never an instruction to the terminal.

Class labels, column names, file names and everything else that comes from a user's file reach
the screen through these two functions. :func:`visible` writes each control character as an
escape (``ESC`` as ``\\x1b``, a right-to-left override as ``\\u202e``), so an ANSI sequence or
a window-title sequence in a CSV header is shown, not obeyed; :func:`plain` makes the result a
rich :class:`~rich.text.Text`, which rich never reads as markup, so a label ``[/red]`` or
``[link=…]cat[/link]`` is printed as written. Files keep the strings as they are (model file,
CSV and JSON outputs): only what a person reads on a terminal is escaped.
"""

from __future__ import annotations

import re

from rich.text import Text

__all__ = ["json_text", "plain", "visible"]

_BIDI = "\u200e\u200f\u202a-\u202e\u2066-\u2069"  # overrides: they reorder what is shown
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")  # C0 (ESC, BEL, CR…), DEL, C1 (CSI…)
_CONTROL_BUT_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")  # keeps \t \n
_JSON_RAW = re.compile(f"[\x7f-\x9f{_BIDI}]")  # what json.dumps(ensure_ascii=False) leaves
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(value: object, *, lines: bool = False) -> str:
    """``str(value)`` with every control character written as its escape (``\\x1b``).

    ``lines=True`` keeps line breaks and tabs, for text of ours that spans lines (a table
    printed as text); a user's string is shown on one line.
    """
    return (_CONTROL_BUT_LINES if lines else _CONTROL).sub(_escape, str(value))


def plain(value: object, style: str = "", *, lines: bool = False) -> Text:
    """``value`` as rich text shown as written: control characters escaped (line breaks kept
    if ``lines``, as in :func:`visible`), no markup."""
    return Text(visible(value, lines=lines), style=style)


def json_text(text: str) -> str:
    """JSON text with the control characters ``json.dumps`` leaves as they are (DEL, C1, the
    bidirectional overrides) written as ``\\u`` escapes: the same JSON value, safe to print.

    (They can only stand inside JSON strings, where ``\\u009b`` means the same character.)
    """
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
