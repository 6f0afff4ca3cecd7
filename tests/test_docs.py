"""Every ```python block in the docs (and README) runs, in order, one namespace per page.

A block whose first line is ``# doctest: skip`` is shown but not run (for
snippets that need a host's own systems, such as a real SMTP server). A page
that reads ``LOOPKIT_POSTGRES_DSN`` runs against a database of its own on the
tests' PostgreSQL server (the ``postgres_dsn`` fixture), dropped afterwards.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([*ROOT.joinpath("docs").rglob("*.md"), ROOT / "README.md"])
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks(page: Path) -> list[tuple[int, str]]:
    text = page.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start()) + 1, m.group(1))
        for m in _BLOCK.finditer(text)
        if not m.group(1).startswith("# doctest: skip")
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_blocks_run(
    page: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    blocks = _blocks(page)
    if not blocks:
        pytest.skip("no python blocks")
    monkeypatch.chdir(ROOT)  # pages may read examples/; they never write here
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    with _postgres_for(page, request, monkeypatch):
        for line, source in blocks:
            code = compile(source, f"{page.relative_to(ROOT)}:{line}", "exec")
            exec(code, namespace)


@contextlib.contextmanager
def _postgres_for(
    page: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """A database of the page's own, named by ``LOOPKIT_POSTGRES_DSN``, when it reads that."""
    if "LOOPKIT_POSTGRES_DSN" not in page.read_text(encoding="utf-8"):
        yield
        return
    import psycopg
    from psycopg import conninfo, sql

    server = request.getfixturevalue("postgres_dsn")
    name = f"docs_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    monkeypatch.setenv("LOOPKIT_POSTGRES_DSN", conninfo.make_conninfo(server, dbname=name))
    try:
        yield
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_every_docs_page_is_linked_from_the_index() -> None:
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    # the site's table of contents: the index's {toctree} blocks
    listed = {
        line.strip()
        for block in re.findall(r"^```\{toctree\}\n(.*?)^```", index, re.S | re.M)
        for line in block.splitlines()
        if line.strip() and not line.startswith(":")
    }
    for page in ROOT.joinpath("docs").glob("*.md"):
        if page.name != "index.md":
            assert f"({page.name})" in index, f"docs/index.md does not link {page.name}"
            assert page.stem in listed, f"docs/index.md's table of contents lacks {page.stem}"
