"""faq_entries: claims about the hub to confirm, who confirmed what and when, and the last review date

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('faq_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirm', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('confirmed_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('confirmed_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('reviewed', sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('faq_entries', schema=None) as batch_op:
        batch_op.drop_column('reviewed')
        batch_op.drop_column('confirmed_digest')
        batch_op.drop_column('confirmed_by')
        batch_op.drop_column('confirmed_at')
        batch_op.drop_column('confirm')
