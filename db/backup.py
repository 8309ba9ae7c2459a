"""Backups with each database's own tool: SQLite's online backup API, PostgreSQL's pg_dump/pg_restore.

A backup is taken while the desk runs (SQLite copies a consistent snapshot page by page; pg_dump reads
in one transaction). A restore goes into an empty database only — it never merges into or overwrites
a live one — and the desk's migrations then bring it up to the running version.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import inspect

from db.session import make_engine


class BackupError(Exception):
    """Why a backup or restore cannot be done (said to the operator as it is)."""


def backup(url: str, path: Path) -> None:
    if url.startswith("sqlite"):
        source = _sqlite_file(url)
        if not source.exists():
            raise BackupError(f"no database at {source}")
        with sqlite3.connect(source) as live, sqlite3.connect(path) as copy:
            live.backup(copy)
        return
    schema = _postgres_schema(url)
    _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(path),
          *(["--schema", schema] if schema else []), _libpq(url)])


def restore(url: str, path: Path) -> None:
    if not path.is_file():
        raise BackupError(f"no backup at {path}")
    engine = make_engine(url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupError("the target database is not empty: restore into a new, empty database "
                          f"(it holds {len(tables)} tables)")
    if url.startswith("sqlite"):
        with sqlite3.connect(path) as saved, sqlite3.connect(_sqlite_file(url)) as target:
            saved.backup(target)
        return
    _run([_tool("pg_restore"), "--no-owner", "--exit-on-error", "--dbname", _libpq(url), str(path)])


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
    """The URL as libpq reads it (no SQLAlchemy driver name)."""
    return "postgresql://" + url.split("://", 1)[1]


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (Debian: apt install postgresql-client)")
    return found


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}")
