"""Sphinx configuration: the documentation site, built from these Markdown pages
(MyST) with the API reference generated from the docstrings.

    pip install -e '.[docs]'
    sphinx-build -W --keep-going -b html docs build/docs

``-W`` makes every warning an error (``.ci/run`` builds it so).
"""

from loopkit import __version__

project = "loopkit"
author = "the loopkit developers"
copyright = "2026, the loopkit developers"
release = __version__
extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_heading_anchors = 3
autodoc_member_order = "bysource"
html_theme = "alabaster"
html_title = f"loopkit {release}"
