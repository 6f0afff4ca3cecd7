"""Daily wall-clock windows such as quiet hours ``"20:00-08:00"``."""

from __future__ import annotations

import re
from datetime import time
from typing import Final

import attrs

from loopkit.errors import ValidationError, describe_input

__all__ = ["DailyWindow"]

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


_TIMES_ONLY = re.compile(r"[0-9: \-]{1,20}")


def _shown(text: object) -> str:
    """A window as an error shows it: as written when it holds only times
    (``'08:00-16'``), else described (it may be anything, a phone number even)."""
    if isinstance(text, str) and ":" in text and _TIMES_ONLY.fullmatch(text):
        return repr(text)
    return describe_input(text)


def _minutes(h: str, m: str) -> int | None:
    hours, minutes = int(h), int(m)
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes


@attrs.frozen(repr=False, cache_hash=True)
class DailyWindow:
    """A window of wall-clock time that recurs every day, given in minutes
    after midnight. ``end`` may be smaller than ``start``: the window then
    crosses midnight (quiet hours ``20:00-08:00``). ``end == 1440`` is 24:00.

    >>> quiet = DailyWindow.parse("20:00-08:00")
    >>> quiet.contains(time(23, 0)), quiet.contains(time(12, 0))
    (True, False)
    >>> str(quiet)
    '20:00-08:00'
    """

    start: int
    end: int

    def __attrs_post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1440:
                raise ValidationError(
                    f"DailyWindow.{name}",
                    "minutes after midnight from 0 to 1440",
                    describe_input(value),
                )
        if self.start == self.end or self.start == 1440:
            raise ValidationError("DailyWindow", "a window with different start and end", str(self))

    @classmethod
    def parse(cls, text: object, path: str = "window") -> DailyWindow:
        """Parse ``"HH:MM-HH:MM"``; ``24:00`` is allowed as an end."""
        if type(text) is str and cls is DailyWindow:
            found = PARSED_WINDOWS.get(text)
            if found is not None:
                return found  # a value: the same text is the same window
        match = _WINDOW.match(text) if isinstance(text, str) else None
        if match is None:
            raise ValidationError(path, 'a window such as "20:00-08:00"', _shown(text))
        start, end = _minutes(*match.group(1, 2)), _minutes(*match.group(3, 4))
        if start is None or end is None or start == 1440 or start == end:
            raise ValidationError(
                path,
                'a window of valid, different times such as "20:00-08:00"',
                _shown(text),
            )
        window = cls(start=start, end=end)
        if type(text) is str and cls is DailyWindow:
            if len(PARSED_WINDOWS) >= 1024:
                PARSED_WINDOWS.clear()
            PARSED_WINDOWS[text] = window
        return window

    @property
    def covers_whole_day(self) -> bool:
        """Whether the window is every minute of the day (``00:00-24:00``): as
        quiet hours, the customer's wish never to be contacted.

        >>> DailyWindow.parse("00:00-24:00").covers_whole_day
        True
        """
        return self.start == 0 and self.end == 1440

    @property
    def crosses_midnight(self) -> bool:
        return self.end < self.start

    def contains(self, at: time) -> bool:
        """Whether a wall-clock time falls inside (start inclusive, end exclusive)."""
        minute = at.hour * 60 + at.minute + (at.second + at.microsecond / 1e6) / 60
        if self.crosses_midnight:
            return minute >= self.start or minute < self.end
        return self.start <= minute < self.end

    def __repr__(self) -> str:
        return f"DailyWindow.parse({str(self)!r})"

    def __str__(self) -> str:
        return (
            f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"
        )


PARSED_WINDOWS: Final[dict[str, DailyWindow]] = {}
"""Windows already parsed, by their text (a feed repeats a few: "20:00-08:00");
the generated readers read a text found here as its window."""
