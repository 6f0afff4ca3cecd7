"""The foundation every other part of loopkit reads input with (private to loopkit).

Below :mod:`loopkit.model`, above :mod:`loopkit.errors`. Each module has one job:

- :mod:`.checks`: ids, text, numbers, time zone names; ``validator`` and ``optional``
  turn a check into an attrs validator.
- :mod:`.attributes`: free ``attributes`` mappings.
- :mod:`.instants`: aware datetimes, read, written, checked and compared.
- :mod:`.choices`: the one way to read a member of a string enum.
- :mod:`.durations`: durations as written in policy files (``"90m"``, ``"30d"``).
- :mod:`.names`: names a person writes in a policy file.
- :mod:`.reader`: the ``Reader`` behind every ``from_dict``.
- :mod:`.compiled`: readers generated per class, a ``from_dict``'s fast path.
- :mod:`.trusted`: constructors for values whose parts were already checked.

Names inside are public to the rest of loopkit (import them from their module:
``from loopkit._input.checks import check_id``); the package itself is not part
of loopkit's public API.
"""
