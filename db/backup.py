"""Backups with each database's own tool: SQLite's online backup API, PostgreSQL's pg_dump/pg_restore.

A backup is taken while the desk runs (SQLite copies a consistent snapshot page by page; pg_dump reads
in one transaction). A restore goes into an empty database only — it never merges into or overwrites
a live one — and the desk's migrations then bring it up to the running version.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from sqlalchemy import inspect

from db.session import make_engine


class BackupError(Exception):
    """Why a backup or restore cannot be done (said to the operator as it is)."""


def backup(url: str, path: Path) -> None:
    if url.startswith("sqlite"):
        source = _sqlite_file(url)
        if not source.exists():
            raise BackupError(f"no database at {source}")
        _sqlite_copy(source, path)
        return
    schema = _postgres_schema(url)
    _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(path),
          *(["--schema", schema] if schema else []), "--dbname", _libpq(url)], url)


def restore(url: str, path: Path) -> None:
    if not path.is_file():
        raise BackupError(f"no backup at {path}")
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        schemas = [_postgres_schema(url) or "public"] if engine.dialect.name == "postgresql" else [None]
        tables = [t for schema in schemas for t in inspector.get_table_names(schema=schema)]
    finally:
        engine.dispose()
    if tables:
        raise BackupError("the target database is not empty: restore into a new, empty database "
                          f"(it holds {len(tables)} tables)")
    if url.startswith("sqlite"):
        _sqlite_copy(path, _sqlite_file(url))
        return
    # One transaction: a restore that fails leaves the database empty, so it can simply be run again.
    _run([_tool("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction",
          "--dbname", _libpq(url), str(path)], url)


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy page by page, while the desk writes."""
    try:
        with closing(sqlite3.connect(source)) as reading, closing(sqlite3.connect(target)) as writing:
            reading.backup(writing)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not copy {source} to {target}: {exc}") from None


def _sqlite_file(url: str) -> Path:
    return Path(url.split("///", 1)[-1])


def _postgres_schema(url: str) -> str | None:
    """The schema a URL's `options=-csearch_path=…` names (the test suite's and benches' scratch schemas)."""
    for option in parse_qs(urlsplit(url).query).get("options", []):
        for part in unquote(option).split():
            if part.startswith("-csearch_path="):
                return part.removeprefix("-csearch_path=").split(",")[0]
    return None


def _libpq(url: str) -> str:
    """The URL as libpq reads it: no SQLAlchemy driver name and no password (that goes in PGPASSWORD,
    where other users of the host cannot read it from the process list)."""
    parts = urlsplit("postgresql://" + url.split("://", 1)[1])
    netloc = parts.netloc.rsplit("@", 1)
    if len(netloc) == 2:
        netloc[0] = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc="@".join(netloc)))


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (Debian: apt install postgresql-client)")
    return found


def _run(command: list[str], url: str) -> None:
    password = urlsplit(url).password
    env = {**os.environ, **({"PGPASSWORD": unquote(password)} if password else {})}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}")
