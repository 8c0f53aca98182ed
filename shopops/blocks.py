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
