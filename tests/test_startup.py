"""Desks started at the same moment on a fresh database: one migrates and loads, the others wait."""

from __future__ import annotations

import threading

from sqlalchemy import select

from db.models import FaqEntry
from db.session import Database
from tests.fakes.line_platform import FakeLinePlatform
from tests.support import DeskServer


def test_three_desks_started_together_on_a_fresh_database_all_come_up(
        database_url: str, fake_line: FakeLinePlatform) -> None:
    servers = [DeskServer(database_url, fake_line.url) for _ in range(3)]
    failures: list[BaseException] = []

    def start(server: DeskServer) -> None:
        try:
            server.start(timeout=60)
        except BaseException as exc:
            failures.append(exc)
    threads = [threading.Thread(target=start, args=(server,)) for server in servers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        database = Database(database_url)
        with database.session() as session:  # the bundled knowledge was loaded once
            questions = session.scalars(select(FaqEntry.question)).all()
        database.dispose()
        assert len(questions) == len(set(questions)) > 0
    finally:
        for server in servers:
            server.stop()
