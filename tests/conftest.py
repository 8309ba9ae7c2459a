"""Fixtures: each suite runs on SQLite and on PostgreSQL (127.0.0.1:5432/test), never skipped."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from db.migrate import upgrade
from db.session import Database
from tests.fakes.line_platform import FakeLinePlatform
from tests.fakes.slack_platform import FakeSlackPlatform
from tests.support import LINE_TOKEN, SLACK_BOT_TOKEN, DeskServer

POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_schema_url() -> tuple[str, str]:
    schema = f"zd_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL at {POSTGRES} is required by the test suite and is not reachable: {exc}")
    separator = "&" if "?" in POSTGRES else "?"
    return schema, f"{POSTGRES}{separator}options=-csearch_path%3D{schema}"


def _drop_schema(schema: str) -> None:
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], scope="module")
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "desk.db"
        yield f"sqlite:///{path}"
        return
    schema, url = _postgres_schema_url()
    try:
        yield url
    finally:
        _drop_schema(schema)


@pytest.fixture(scope="module")
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    upgrade(db.engine)
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def fake_slack() -> Iterator[FakeSlackPlatform]:
    """A fake Slack on loopback for the module's desk (its desk_env points SLACK_API_BASE_URL at it)."""
    with FakeSlackPlatform(bot_token=SLACK_BOT_TOKEN) as platform:
        yield platform


@pytest.fixture
def slack(fake_slack: FakeSlackPlatform) -> FakeSlackPlatform:
    fake_slack.reset()
    return fake_slack


@pytest.fixture(scope="session")
def fake_line() -> Iterator[FakeLinePlatform]:
    with FakeLinePlatform(access_token=LINE_TOKEN) as platform:
        yield platform


@pytest.fixture
def line(fake_line: FakeLinePlatform) -> FakeLinePlatform:
    fake_line.reset()
    return fake_line


@pytest.fixture(scope="module")
def desk_env() -> dict[str, str]:
    """Extra settings for the module's desk server; a test module overrides this fixture."""
    return {}


@pytest.fixture(scope="module")
def desk(database_url: str, fake_line: FakeLinePlatform, desk_env: dict[str, str]) -> Iterator[DeskServer]:
    server = DeskServer(database_url, fake_line.url, **desk_env).start()
    yield server
    server.stop()


# -- no silent skips ---------------------------------------------------------------------------------

def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A suite that skips is not a test: fail the run if anything skipped or PostgreSQL never ran."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or session.config.option.collectonly:
        return
    skipped = reporter.stats.get("skipped", [])
    passed_postgres = [r for r in reporter.stats.get("passed", []) if "[postgres" in r.nodeid]
    ran_db_suites = any("[sqlite" in r.nodeid for r in reporter.stats.get("passed", []))
    problems = []
    if skipped:
        problems.append(f"{len(skipped)} test(s) skipped; skips are not allowed in this suite")
    if ran_db_suites and not passed_postgres:
        problems.append("the SQLite suites ran but no PostgreSQL test passed")
    if problems and not os.environ.get("ZD_ALLOW_SKIPS"):
        reporter.write_line("FAILED: " + "; ".join(problems), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
