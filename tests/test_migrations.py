"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL, and go down
and up again: a model change without its migration fails here."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from db.migrate import downgrade, on_this_backend, upgrade
from db.models import Base
from db.session import Database


def test_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": on_this_backend(connection.dialect.name)})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_migrations_go_down_and_up(database: Database) -> None:
    downgrade(database.engine, "0001")
    assert "console_sessions" not in inspect(database.engine).get_table_names()
    upgrade(database.engine)
    assert "console_sessions" in inspect(database.engine).get_table_names()
