"""Engine and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

BUSY_TIMEOUT_SECONDS = 30  # SQLite: how long a writer waits for another's transaction
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS},
                               hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "before_cursor_execute", _without_nul, retval=True)
        _writers_take_turns(engine)
        return engine
    # hide_parameters: an error's log line never carries a resident's words or ids.
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True)
    event.listen(engine, "before_cursor_execute", _without_nul, retval=True)
    return engine


def _without_nul(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
                 _executemany: bool) -> tuple[str, Any]:
    """PostgreSQL text cannot hold NUL (U+0000), and it is never meaningful in what people write: it
    is dropped from every string stored, whoever sends it (a resident, a staff form, an import), on
    both backends alike."""
    return statement, without_nul(parameters)


def without_nul(value: Any) -> Any:
    """`value` with NUL removed from every string in it (dicts, lists and tuples too)."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {key: without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(without_nul(item) for item in value)
    return value


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
    cur.close()


def _writers_take_turns(engine: Engine) -> None:
    """SQLite has one writer at a time: this process's writers wait for their turn on a lock.

    Left to SQLite, a writer that finds the database locked sleeps and polls (1, 2, 5, … up to
    100 ms), so a webhook storing one event could wait long behind a busy worker that takes the
    lock again the moment it lets go. Here a transaction takes the lock at its first write, as
    SQLite does, and gives it back when its connection returns to the pool (after the commit or
    rollback). Other processes on the same file still meet SQLite's own busy timeout.
    """
    lock = threading.Lock()

    @event.listens_for(engine, "before_cursor_execute")
    def take_turn(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        turn = connection.connection.record_info  # kept for the pool entry, even if it reconnects
        if turn is not None and not turn.get("writer") and statement.lstrip()[:7].upper().startswith(_WRITES):
            # Waiting longer than SQLite's own busy timeout would not help: then SQLite decides.
            turn["writer"] = lock.acquire(timeout=BUSY_TIMEOUT_SECONDS)

    @event.listens_for(engine.pool, "checkin")
    def end_turn(_dbapi_conn: Any, record: Any) -> None:
        if record.record_info.pop("writer", False):
            lock.release()


class Database:
    """The engine plus a session factory; one per process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
