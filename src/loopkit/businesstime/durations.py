"""Durations as written in policy files: ``"90m"``, ``"4h"``, ``"1h30m"``, ``"30d"``.

Read by the foundation (:mod:`loopkit._input.durations`, so that values below
business time, such as :class:`~loopkit.Cap`, read them too); public here.
"""

from loopkit._input.durations import MAX_DURATION, format_duration, parse_duration

__all__ = ["MAX_DURATION", "format_duration", "parse_duration"]
