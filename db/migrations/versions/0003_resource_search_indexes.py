"""resource search indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# knowledge.search ranks every active resource of a type from this index alone (db.models: _TYPE_RANK).
TYPE_RANK = ['type', 'latitude', 'longitude', 'active', 'accepting_new', 'around_the_clock', 'id']


def upgrade() -> None:
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.create_index('ix_resources_municipality', ['municipality'], unique=False)
        batch_op.create_index('ix_resources_location', ['latitude', 'longitude'], unique=False)
        # json has no B-tree order in PostgreSQL, and SQLite has no INCLUDE.
        if op.get_bind().dialect.name == 'postgresql':
            batch_op.create_index('ix_resources_type_rank_pg', TYPE_RANK, unique=False,
                                  postgresql_include=['capabilities'])
        else:
            batch_op.create_index('ix_resources_type_rank_sqlite', [*TYPE_RANK, 'capabilities'], unique=False)


def downgrade() -> None:
    backend = 'pg' if op.get_bind().dialect.name == 'postgresql' else 'sqlite'
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_index(f'ix_resources_type_rank_{backend}')
        batch_op.drop_index('ix_resources_location')
        batch_op.drop_index('ix_resources_municipality')
