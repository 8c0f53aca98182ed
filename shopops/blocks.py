"""Prefect blocks shopops uses: its own block types (registered by `shopops blocks register`),
the reminder block it saves, and sending through a notification block."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr


class WarehouseConnection(Block):
    """Where the warehouse is (SHOPOPS_WAREHOUSE_BLOCK names one), so the URL and its password
    live in Prefect instead of every worker's environment."""

    _block_type_name = "shopops Warehouse"
    _block_type_slug = "shopops-warehouse"
    _description = "The SQLAlchemy URL of the shopops warehouse (PostgreSQL for several workers)."

    url: SecretStr = Field(description="e.g. postgresql+psycopg://shopops:PASSWORD@db.internal:5432/shopops")


class MarketplaceCredentials(Block):
    """One source's credentials; sources.yaml names a field of it as
    `{block: shopops-marketplace-credentials/NAME}` under the same key."""

    _block_type_name = "shopops Marketplace Credentials"
    _block_type_slug = "shopops-marketplace-credentials"
    _description = "Credentials of one marketplace source: fill the fields its kind uses."

    access_token: SecretStr | None = Field(default=None, description="Shopify Admin API access token.")
    consumer_key: SecretStr | None = Field(default=None, description="WooCommerce REST consumer key.")
    consumer_secret: SecretStr | None = Field(default=None, description="WooCommerce REST consumer secret.")
    client_id: SecretStr | None = Field(default=None, description="OAuth client id (Amazon LWA).")
    client_secret: SecretStr | None = Field(default=None, description="OAuth client secret (Amazon LWA).")
    refresh_token: SecretStr | None = Field(default=None, description="OAuth refresh token (Amazon LWA).")


BLOCK_TYPES = (WarehouseConnection, MarketplaceCredentials)


def register_block_types() -> list[str]:
    """Register shopops's block types with the Prefect API (as `prefect block register -m shopops.blocks`)."""
    for block_type in BLOCK_TYPES:
        block_type.register_type_and_schema()
    return [block_type.get_block_type_slug() for block_type in BLOCK_TYPES]


def save_reminder_block(name: str, url: str) -> str:
    """A webhook notification block posting {"subject", "body"} as JSON to `url`; returns the
    "<type>/<name>" reference a flow's `reminder_block` parameter takes. Saving again overwrites."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    block = CustomWebhookNotificationBlock(name=name, url=url, method="POST",
                                           json_data={"subject": "{{subject}}", "body": "{{body}}"})
    block.save(name, overwrite=True)
    return f"{block.get_block_type_slug()}/{name}"


def notify(block_name: str, subject: str, body: str) -> None:
    """Through a saved Prefect notification block ("<block-type-slug>/<name>", e.g.
    "custom-webhook/purchasing"); raises with the block's name when it cannot be loaded or sent."""
    from prefect.blocks.notifications import NotificationBlock

    try:
        block = Block.load(block_name)
    except ValueError as error:
        raise ValueError(f"notification block {block_name!r} not found: create it in the Prefect UI "
                         f"(Blocks) or with `shopops blocks create-reminder`") from error
    if not isinstance(block, NotificationBlock):
        raise TypeError(f"block {block_name!r} is a {type(block).__name__}, not a notification block")
    with block.raise_on_failure():
        block.notify(body, subject)
