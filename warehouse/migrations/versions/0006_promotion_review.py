"""promotion review

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:56:43.033264
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('promotion_attributions',
    sa.Column('promotion_id', sa.String(length=128), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('external_order_id', sa.String(length=64), nullable=False),
    sa.Column('line_id', sa.String(length=64), nullable=False),
    sa.Column('matched_by', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('kept_quantity', sa.Integer(), nullable=False),
    sa.Column('gross', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('discount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('kept_discount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('is_gift', sa.Boolean(), nullable=False),
    sa.Column('gift_cost', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('expected_discount', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('promotion_id', 'source', 'external_order_id', 'line_id', name=op.f('pk_promotion_attributions'))
    )
    with op.batch_alter_table('promotion_attributions', schema=None) as batch_op:
        batch_op.create_index('ix_promotion_attributions_order', ['source', 'external_order_id'], unique=False)

    op.create_table('promotion_reviews',
    sa.Column('promotion_id', sa.String(length=128), nullable=False),
    sa.Column('review_date', sa.Date(), nullable=False),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('sales', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('aov', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('new_customers', sa.Integer(), nullable=False),
    sa.Column('new_customer_repeat_rate', sa.Float(), nullable=True),
    sa.Column('conversion_rate', sa.Float(), nullable=True),
    sa.Column('baseline_method', sa.Text(), nullable=False),
    sa.Column('baseline_sales', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('lift_sales', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('lift_percent', sa.Float(), nullable=True),
    sa.Column('lift_percent_low', sa.Float(), nullable=True),
    sa.Column('lift_percent_high', sa.Float(), nullable=True),
    sa.Column('pull_forward_margin', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('cannibalised_margin', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('discount_cost', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('gift_cost', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('shipping_cost', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('incremental_margin', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('incremental_margin_low', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('incremental_margin_high', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('roi', sa.Float(), nullable=True),
    sa.Column('roi_low', sa.Float(), nullable=True),
    sa.Column('roi_high', sa.Float(), nullable=True),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('inputs', sa.Text(), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('promotion_id', 'review_date', name=op.f('pk_promotion_reviews'))
    )
    op.create_table('promotions',
    sa.Column('promotion_id', sa.String(length=128), nullable=False),
    sa.Column('origin', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('parameters', sa.Text(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('scope_skus', sa.Text(), nullable=True),
    sa.Column('scope_categories', sa.Text(), nullable=True),
    sa.Column('scope_channels', sa.Text(), nullable=True),
    sa.Column('member_only', sa.Boolean(), nullable=False),
    sa.Column('codes', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('promotion_id', name=op.f('pk_promotions'))
    )


def downgrade() -> None:
    op.drop_table('promotions')
    op.drop_table('promotion_reviews')
    with op.batch_alter_table('promotion_attributions', schema=None) as batch_op:
        batch_op.drop_index('ix_promotion_attributions_order')

    op.drop_table('promotion_attributions')
