"""risk screen inputs: the customer history each order's flags were worked out from

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 19:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Orders loaded before this revision have none: their next re-screen works them out.
    op.add_column('orders', sa.Column('risk_prior_orders', sa.Integer(), nullable=True))
    op.add_column('orders', sa.Column('risk_prior_total', sa.Numeric(precision=18, scale=4), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('risk_prior_total')
        batch.drop_column('risk_prior_orders')
