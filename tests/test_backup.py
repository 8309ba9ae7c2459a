"""`zaitaku-desk db backup` of a running desk and `db restore` into a fresh database, which a new desk then
serves: the conversations are there and it answers. On SQLite (the backup API) and PostgreSQL
(pg_dump / pg_restore into a new database)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select

from db.models import Contact, Conversation
from db.session import Database
from tests.conftest import POSTGRES
from tests.fakes.line_platform import FakeLinePlatform
from tests.support import REPO, DeskServer, line_body, new_user


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server.cli", "db", *args], cwd=REPO, capture_output=True,
                          text=True, env={**os.environ, "DATABASE_URL": url}, timeout=120)


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same backend: a new SQLite file, or a new PostgreSQL database (holding
    the same schema name the dump names)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"zd_restore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        base, _, query = database_url.partition("?")
        yield f"{base.rsplit('/', 1)[0]}/{name}?{query}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_backup_restored_into_a_fresh_database_is_served(desk: DeskServer, database: Database, database_url: str,
                                                           fresh_url: str, line: FakeLinePlatform,
                                                           tmp_path: Path) -> None:
    user = new_user()
    desk.post_line(line_body("message-text", user=user, text="人と話したい"))
    line.wait_for_deliveries(1)
    backup = tmp_path / "desk.backup"
    taken = _cli(database_url, "backup", str(backup))  # while the desk runs
    assert taken.returncode == 0, taken.stderr
    assert backup.stat().st_size > 0

    restored = _cli(fresh_url, "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    again = _cli(fresh_url, "restore", str(backup))  # never over a database that holds anything
    assert again.returncode == 1 and "not empty" in again.stderr

    copy = Database(fresh_url)
    try:
        with copy.session() as session:
            status = session.scalars(select(Conversation.status).join(Contact, Contact.id == Conversation.contact_id)
                                     .where(Contact.external_id == user)).one()
        assert status == "waiting"
    finally:
        copy.dispose()
    server = DeskServer(fresh_url, line.url).start()
    try:
        line.reset()
        server.post_line(line_body("message-text", user=new_user(), text="訪問看護ってどうやって頼むの？"))
        assert "訪問看護" in line.wait_for_deliveries(1, timeout=10)[0].answer[0]["text"]
    finally:
        server.stop()


def test_restore_says_what_is_wrong(database_url: str, tmp_path: Path) -> None:
    missing = _cli(database_url, "restore", str(tmp_path / "nowhere.backup"))
    assert missing.returncode == 1 and "no backup at" in missing.stderr
    unnamed = _cli(database_url, "backup")
    assert unnamed.returncode == 2 and "name the backup file" in unnamed.stderr
