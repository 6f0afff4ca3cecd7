"""Timestamps from an export: read as ISO 8601 (or a ``time_format``), and
one without an offset placed in the default time zone (``--timezone``) when
there is one, refused when there is none: never guessed.

A wall-clock time the zone skips (02:30 on the night clocks go forward) is
refused; one it has twice (the night they go back) is the first of the two.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import attrs

from loopkit.errors import Problem
from loopkit.errors import describe_input as describe

__all__ = ["TimeReading"]

_HINT = "give --timezone ZONE (or timezone in the mapping) to read times without one"


@attrs.define
class TimeReading:
    """How the timestamps of one feed are read; ``placed`` counts those given
    the default zone."""

    zone: ZoneInfo | None = None
    time_format: str | None = None
    placed: int = 0

    def read(self, value: str, path: str) -> str | Problem:
        """``value`` as an ISO 8601 string with an offset, or the problem with
        it. A value that is not a timestamp at all is returned as it is, for
        the model to refuse with its field."""
        text = value.strip()
        try:
            if self.time_format is not None:
                parsed = datetime.strptime(text, self.time_format)
            else:
                if text.endswith(("Z", "z")):
                    text = text[:-1] + "+00:00"
                parsed = datetime.fromisoformat(text)
        except ValueError:
            if self.time_format is None:
                return value
            return Problem(  # described, not shown: the cell may be anything
                path, f"a time in the mapping's time_format {self.time_format!r}", describe(text)
            )
        if parsed.tzinfo is not None:
            return parsed.isoformat()
        if self.zone is None:  # it parsed as a timestamp: safe to show
            return Problem(path, "a time with an offset such as +01:00 or Z", repr(text), _HINT)
        placed = parsed.replace(tzinfo=self.zone)
        if placed.astimezone(UTC).astimezone(self.zone).replace(tzinfo=None) != parsed:
            return Problem(
                path,
                f"a time that exists in {self.zone.key}",
                repr(text),
                "the clocks skip it that night",
            )
        self.placed += 1
        return placed.isoformat()

    def place_fields(self, data: object) -> list[Problem]:
        """Place the timestamps of a JSON Lines row (``response.answered_at``,
        its touchpoint's and a signal's ``occurred_at``) in the default zone,
        in place; the problems found. Nothing to do without a default zone."""
        if self.zone is None or not isinstance(data, dict):
            return []
        problems: list[Problem] = []
        response = data.get("response")
        targets = [
            (response, "answered_at", "response.answered_at"),
            (data.get("touchpoint"), "occurred_at", "touchpoint.occurred_at"),
        ]
        if isinstance(response, dict):
            touchpoint = response.get("touchpoint")
            targets.append((touchpoint, "occurred_at", "response.touchpoint.occurred_at"))
        for holder, key, path in targets:
            if isinstance(holder, dict) and isinstance(holder.get(key), str):
                read = self.read(holder[key], path)
                if isinstance(read, Problem):
                    problems.append(read)
                else:
                    holder[key] = read
        return problems
