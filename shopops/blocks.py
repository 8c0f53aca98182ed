"""Prefect blocks shopops saves for its flows."""

from __future__ import annotations


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
    from prefect.blocks.core import Block
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
