"""price monitoring

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 08:15:48.884688
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('competitor_health',
    sa.Column('as_of_date', sa.Date(), nullable=False),
    sa.Column('competitor', sa.String(length=64), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('ok', sa.Integer(), nullable=False),
    sa.Column('out_of_stock', sa.Integer(), nullable=False),
    sa.Column('missing_price', sa.Integer(), nullable=False),
    sa.Column('parse_error', sa.Integer(), nullable=False),
    sa.Column('blocked', sa.Integer(), nullable=False),
    sa.Column('http_error', sa.Integer(), nullable=False),
    sa.Column('success_rate', sa.Float(), nullable=True),
    sa.Column('previous_success_rate', sa.Float(), nullable=True),
    sa.Column('last_success_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('as_of_date', 'competitor', name=op.f('pk_competitor_health'))
    )
    op.create_table('competitor_prices',
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('competitor', sa.String(length=64), nullable=False),
    sa.Column('observed_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('price', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('sku', 'competitor', 'observed_on', name=op.f('pk_competitor_prices'))
    )
    with op.batch_alter_table('competitor_prices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competitor_prices_observed_on'), ['observed_on'], unique=False)

    op.create_table('competitor_products',
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('competitor', sa.String(length=64), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('price_selector', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sku', 'competitor', name=op.f('pk_competitor_products'))
    )
    op.create_table('crawl_state',
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('etag', sa.Text(), nullable=True),
    sa.Column('last_modified', sa.String(length=64), nullable=True),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('url', name=op.f('pk_crawl_state'))
    )
    op.create_table('market_prices',
    sa.Column('as_of_date', sa.Date(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('competitors', sa.Integer(), nullable=False),
    sa.Column('market_average', sa.Float(), nullable=True),
    sa.Column('market_minimum', sa.Float(), nullable=True),
    sa.Column('market_maximum', sa.Float(), nullable=True),
    sa.Column('cheapest_competitor', sa.String(length=64), nullable=True),
    sa.Column('our_price', sa.Float(), nullable=True),
    sa.Column('price_index', sa.Float(), nullable=True),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('as_of_date', 'sku', name=op.f('pk_market_prices'))
    )
    op.create_table('price_alerts',
    sa.Column('as_of_date', sa.Date(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('competitor', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('previous_price', sa.Float(), nullable=True),
    sa.Column('price', sa.Float(), nullable=True),
    sa.Column('change_percent', sa.Float(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('as_of_date', 'sku', 'competitor', 'kind', name=op.f('pk_price_alerts'))
    )
    op.create_table('price_recommendations',
    sa.Column('as_of_date', sa.Date(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('our_price', sa.Float(), nullable=True),
    sa.Column('unit_cost', sa.Float(), nullable=True),
    sa.Column('min_margin', sa.Float(), nullable=False),
    sa.Column('floor_price', sa.Float(), nullable=True),
    sa.Column('market_average', sa.Float(), nullable=True),
    sa.Column('competitors', sa.Integer(), nullable=False),
    sa.Column('band_low', sa.Float(), nullable=True),
    sa.Column('band_high', sa.Float(), nullable=True),
    sa.Column('recommended_price', sa.Float(), nullable=True),
    sa.Column('change_percent', sa.Float(), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('bound_by', sa.String(length=32), nullable=False),
    sa.Column('out_of_band', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('member_price', sa.Float(), nullable=True),
    sa.Column('member_recommended', sa.Float(), nullable=True),
    sa.Column('member_note', sa.Text(), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('as_of_date', 'sku', name=op.f('pk_price_recommendations'))
    )
    op.create_table('pricing_rules',
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('min_margin', sa.Float(), nullable=True),
    sa.Column('member_price', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sku', name=op.f('pk_pricing_rules'))
    )
    


def downgrade() -> None:
    
    op.drop_table('pricing_rules')
    op.drop_table('price_recommendations')
    op.drop_table('price_alerts')
    op.drop_table('market_prices')
    op.drop_table('crawl_state')
    op.drop_table('competitor_products')
    with op.batch_alter_table('competitor_prices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competitor_prices_observed_on'))

    op.drop_table('competitor_prices')
    op.drop_table('competitor_health')
    
