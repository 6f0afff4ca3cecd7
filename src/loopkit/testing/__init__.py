"""loopkit's test kit: tools for testing code that uses loopkit.

``loopkit.testing.strategies`` holds hypothesis strategies for every model
value; it needs hypothesis (``pip install 'loopkit[dev]'``), which loopkit itself
does not depend on, so this package does not import it.
"""
