"""What the command prints: text from the input escaped for the terminal, the
cases table, CSV cells a spreadsheet never runs as formulas, error lines."""

from __future__ import annotations

import io
import sys
import unicodedata
from collections.abc import Sequence
from typing import Final, TextIO

__all__ = ["EscapedStream", "Failed", "csv_cell", "error", "for_terminal", "table"]


class Failed(Exception):
    """Ends a command with one message on stderr and an exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """Columns two spaces apart, aligned by the width each cell takes on a
    terminal. A cell with a space (or empty) is quoted so a column never
    looks like two."""
    shown = [[_cell(cell) for cell in row] for row in rows]
    widths = [max(_width(row[i]) for row in shown) for i in range(len(shown[0]))]
    for row in shown:
        print(
            "  ".join(
                cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)
            ).rstrip(),
            file=out,
        )


def _cell(text: str) -> str:
    text = for_terminal(text)
    if not text or any(c.isspace() for c in text) or text.startswith('"'):
        return '"' + text.replace('"', '\\"') + '"'
    return text


def _width(text: str) -> int:
    """Terminal columns: wide East Asian characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def for_terminal(text: str) -> str:
    """``text`` safe to print on a terminal or in a log line: every character
    that is not printable (control characters and so ANSI escape sequences,
    newlines, tabs, bidirectional overrides, lone surrogates, unassigned code
    points) is shown as a Python escape.

    >>> for_terminal("c-1\\x1b[31m\\u202e\\n")
    'c-1\\\\x1b[31m\\\\u202e\\\\n'
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(c: str) -> str:
    code = ord(c)
    if c in _NAMED:
        return _NAMED[c]
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


_NAMED: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

_FORMULA: Final = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """``text`` safe for a CSV cell: escaped as :func:`for_terminal` does, and
    with a leading ``'`` when it starts like a spreadsheet formula (``=``,
    ``+``, ``-``, ``@``), so a spreadsheet shows it as text and never runs it.

    >>> csv_cell("=HYPERLINK(\\"http://x\\")"), csv_cell("c-1")
    ('\\'=HYPERLINK("http://x")', 'c-1')
    """
    if text.lstrip(" ").startswith(_FORMULA):
        text = "'" + text
    return for_terminal(text)


class EscapedStream(io.TextIOBase):
    """Standard output, with each text written passed through :func:`for_terminal`
    (``print``'s line ends go through as they are)."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        sys.stdout.write(text if text == "\n" else for_terminal(text))
        return len(text)


def error(message: str) -> None:
    """Print ``message``, escaped, as one line on standard error."""
    print(for_terminal(message), file=sys.stderr)
