"""The library's database: one engine per process, short transactions, migrations on start.

A start that finds the database at the newest revision does not import Alembic: the revision
is read from ``alembic_version`` with one query, and the newest revision of the shipped
migrations from their files (:func:`head_revision`). Only a database behind (or empty) runs
Alembic's upgrade.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and every write
transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock before it reads, so two
gunicorn workers never read a snapshot one of them then cannot write after. PostgreSQL needs
nothing special. After a fork the child drops the parent's pooled connections (SQLAlchemy's
advice for multiprocessing), so gunicorn workers never share a connection.
"""
from __future__ import annotations

import ast
import logging
import os
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger("aimusic.library")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"   # Alembic's default, which migrations/env.py keeps
SQLITE_BUSY_TIMEOUT_MS = 30_000


class DatabaseError(RuntimeError):
    """The library's database cannot be reached or migrated."""


def _sqlite_engine(url: str) -> Engine:
    path = make_url(url).database
    if path and path != ":memory:":
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError:  # reported when the first query fails, as /health says
            pass
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI types
        dbapi_connection.isolation_level = None  # transactions are begun by _on_begin below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # noqa: ANN001
        immediate = conn.get_execution_options().get("aimusic_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///…`` or ``postgresql+psycopg://…``) set up as described above."""
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    return engine


def alembic_config(connection=None) -> Config:  # noqa: ANN001 - an SQLAlchemy Connection
    """The Alembic configuration of the library's migrations (no ini file needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _assigned(tree: ast.Module, name: str) -> object:
    """The literal assigned to ``name`` at the top of a module (``None`` when it is not)."""
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) and node.value is not None else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return ast.literal_eval(node.value)
    return None


@lru_cache(maxsize=4)
def head_revision(versions_dir: Path = MIGRATIONS_DIR / "versions") -> str:
    """The newest revision of the migrations in ``versions_dir``, read from their files.

    Each migration names its ``revision`` and the ``down_revision`` it follows; the head is
    the one revision no other follows, as Alembic finds it (a test holds the two equal).
    More than one head, or none, is an error of the shipped migrations.
    """
    revisions: set[str] = set()
    followed: set[str] = set()
    for path in sorted(versions_dir.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        revision = _assigned(tree, "revision")
        if not isinstance(revision, str):
            continue
        revisions.add(revision)
        down = _assigned(tree, "down_revision")
        followed.update([down] if isinstance(down, str) else down or ())
    heads = sorted(revisions - followed)
    if len(heads) != 1:
        raise DatabaseError(f"the migrations in {versions_dir} have {len(heads)} heads: {heads}")
    return heads[0]


class Database:
    """The engine and session factories of one database URL.

    Parameters
    ----------
    url : str
        SQLAlchemy URL of the database.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.dialect = self.engine.dialect.name
        self._reads = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(self.engine.execution_options(aimusic_write=True), expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries that write nothing."""
        with self._reads() as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits at the end of the block (rolls back on error)."""
        with self._writes() as session, session.begin():
            yield session

    def head_revision(self) -> str:
        """The newest revision the migrations know."""
        return head_revision()

    def current_revision(self) -> str | None:
        """The revision the database is at (None before the first migration), by one plain query."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table(VERSION_TABLE):
                return None
            rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
        if len(rows) > 1:
            raise DatabaseError(f"the database is at several revisions: {', '.join(sorted(rows))}")
        return rows[0] if rows else None

    def upgrade(self) -> tuple[str | None, str]:
        """Run every migration not yet applied; the revisions before and after.

        At the head already (every start but the first after a release), nothing else runs,
        and Alembic is not imported.
        """
        before = self.current_revision()
        if before == self.head_revision():
            return before, before
        from alembic import command

        with self.engine.execution_options(aimusic_write=True).begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        after = self.current_revision() or ""
        if before != after:
            log.info("database migrated from %s to %s (%s)", before or "empty", after, self.describe())
        return before, after

    def describe(self) -> str:
        """The URL with its password hidden, for logs and /health."""
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
