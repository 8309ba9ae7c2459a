"""Alembic, driven from code: `zaitaku-desk db upgrade`, `serve` on start, and /readyz."""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def on_this_backend(dialect: str) -> Callable[..., bool]:
    """Alembic's `include_object` for comparing models with a database of `dialect`.

    An index the models declare for one backend only (`Index(...).ddl_if(dialect=...)`, as a backend
    that cannot build the other's) is left out of the comparison on the other backends.
    """
    def include(obj: Any, _name: str | None, _type: str, reflected: bool, _compare_to: Any) -> bool:
        only = getattr(getattr(obj, "_ddl_if", None), "dialect", None)  # SQLAlchemy keeps ddl_if here
        return reflected or only is None or dialect in ((only,) if isinstance(only, str) else only)
    return include


STARTUP_LOCK = 0x7A64_0001  # PostgreSQL advisory lock key: "zd", 1


@contextmanager
def startup_lock(engine: Engine) -> Iterator[None]:
    """One process at a time migrates and loads the first knowledge: desks started together on a
    fresh database wait for each other instead of colliding (PostgreSQL: an advisory lock; SQLite:
    a lock file beside the database)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": STARTUP_LOCK})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": STARTUP_LOCK})
                connection.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.startup-lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(engine: Engine) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def is_current(engine: Engine) -> bool:
    heads = set(ScriptDirectory.from_config(alembic_config(str(engine.url))).get_heads())
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads()) == heads
