"""``python -m loopkit``: the same as the ``loopkit`` command."""

from loopkit.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
