"""inventory snapshots: stock per location and day

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 07:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inventory_snapshots',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('location_id', sa.String(length=64), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('snapshot_date', sa.Date(), nullable=False),
    sa.Column('available', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source', 'location_id', 'sku', 'snapshot_date', name=op.f('pk_inventory_snapshots'))
    )
    with op.batch_alter_table('inventory_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inventory_snapshots_snapshot_date'), ['snapshot_date'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inventory_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inventory_snapshots_snapshot_date'))
    op.drop_table('inventory_snapshots')
