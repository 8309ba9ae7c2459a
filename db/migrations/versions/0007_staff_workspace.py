"""the staff workspace: labels, canned replies (定型文), the duty rota, a snooze's reason, duty pages

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snooze_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('page_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('paged_staff_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('paged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key('fk_conversations_paged_staff', 'staff', ['paged_staff_id'], ['id'])
    # What already waits needs someone since its hand-off (the duty rota calls for it outside hours).
    op.execute("UPDATE conversations SET page_since = handed_off_at WHERE status = 'waiting'")
    op.create_table(
        'conversation_labels',
        sa.Column('conversation_id', sa.Integer(), sa.ForeignKey('conversations.id'), primary_key=True),
        sa.Column('label', sa.String(length=20), primary_key=True),
        sa.Column('added_by', sa.Integer(), sa.ForeignKey('staff.id'), nullable=True),
        sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_conversation_labels_label', 'conversation_labels', ['label'])
    op.create_table(
        'canned_replies',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('code', sa.String(length=20), nullable=False, unique=True),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('updated_by', sa.Integer(), sa.ForeignKey('staff.id'), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        'duty_slots',
        sa.Column('day', sa.Integer(), primary_key=True),
        sa.Column('position', sa.Integer(), primary_key=True),
        sa.Column('staff_id', sa.Integer(), sa.ForeignKey('staff.id'), nullable=False),
    )
    op.create_table(
        'duty_overrides',
        sa.Column('on', sa.Date(), primary_key=True),
        sa.Column('position', sa.Integer(), primary_key=True),
        sa.Column('staff_id', sa.Integer(), sa.ForeignKey('staff.id'), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('duty_overrides')
    op.drop_table('duty_slots')
    op.drop_table('canned_replies')
    op.drop_index('ix_conversation_labels_label', table_name='conversation_labels')
    op.drop_table('conversation_labels')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_constraint('fk_conversations_paged_staff', type_='foreignkey')
        batch_op.drop_column('paged_at')
        batch_op.drop_column('paged_staff_id')
        batch_op.drop_column('page_since')
        batch_op.drop_column('snooze_reason')
