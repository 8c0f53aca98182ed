"""purchase orders; price snapshots; when orders shipped; returns and pre-sale in suggestions; raw and previous level of stock alerts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 10:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('purchase_orders',
    sa.Column('po_number', sa.String(length=64), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('stock_pool', sa.String(length=64), nullable=False),
    sa.Column('supplier', sa.String(length=128), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('received_quantity', sa.Integer(), nullable=False),
    sa.Column('ordered_on', sa.Date(), nullable=False),
    sa.Column('expected_on', sa.Date(), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('po_number', 'sku', name=op.f('pk_purchase_orders'))
    )
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purchase_orders_sku'), ['sku'], unique=False)
    op.create_table('price_snapshots',
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('snapshot_date', sa.Date(), nullable=False),
    sa.Column('list_price', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('unit_cost', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sku', 'snapshot_date', name=op.f('pk_price_snapshots'))
    )
    # Orders loaded before this revision get their shipping time when they are next edited or re-loaded.
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fulfilled_at', sa.DateTime(timezone=True), nullable=True))
    # Existing rows predate these columns: nothing returned was recorded, no level was held.
    with op.batch_alter_table('replenishment_suggestions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('returned_units', sa.Float(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('return_rate', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('is_presale', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('replenishment_suggestions', schema=None) as batch_op:
        batch_op.alter_column('returned_units', server_default=None)
        batch_op.alter_column('is_presale', server_default=None)
    with op.batch_alter_table('stock_alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('raw_level', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('previous_level', sa.String(length=8), nullable=True))
    op.execute("UPDATE stock_alerts SET raw_level = level")
    with op.batch_alter_table('stock_alerts', schema=None) as batch_op:
        batch_op.alter_column('raw_level', existing_type=sa.String(length=8), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('stock_alerts', schema=None) as batch_op:
        batch_op.drop_column('previous_level')
        batch_op.drop_column('raw_level')
    with op.batch_alter_table('replenishment_suggestions', schema=None) as batch_op:
        batch_op.drop_column('is_presale')
        batch_op.drop_column('return_rate')
        batch_op.drop_column('returned_units')
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_orders_sku'))
    op.drop_table('purchase_orders')
    op.drop_table('price_snapshots')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('fulfilled_at')
