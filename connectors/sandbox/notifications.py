"""A webhook sink: whatever is POSTed to /_sandbox/notifications/<channel> is kept, in order.

The demo points a notification (e.g. Prefect's CustomWebhookNotificationBlock, which POSTs JSON
like {"subject": ..., "body": ...}) at the sandbox, and tests read back what was sent. Shared by
every server thread, so recording and reading happen under one lock.
"""

from __future__ import annotations

import copy
import re
import threading
from datetime import datetime, timezone

import orjson

CHANNEL = re.compile(r"[a-z0-9-]+")


def is_json(content_type: str) -> bool:
    media_type = content_type.split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def parsed_body(content_type: str, body: bytes) -> object:
    """JSON when it says it is JSON and parses as such; otherwise the text."""
    if is_json(content_type):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return body.decode("utf-8", errors="replace")


class NotificationSink:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[dict] = []

    def receive(self, channel: str, content_type: str, body: bytes) -> int:
        """Record one notification; the number received in `channel` so far, this one included."""
        if not CHANNEL.fullmatch(channel):
            raise ValueError(f"channel {channel!r}: use lower-case letters, digits and '-'")
        record = {
            "channel": channel,
            "received_at": datetime.now(timezone.utc).isoformat(),  # wall clock: when it really came
            "content_type": content_type,
            "body": parsed_body(content_type, body),
        }
        with self._lock:
            self._received.append(record)
            return sum(1 for item in self._received if item["channel"] == channel)

    def received(self, channel: str | None = None) -> list[dict]:
        """Copies, oldest first, so a caller cannot change what the sink holds."""
        with self._lock:
            items = [item for item in self._received if channel is None or item["channel"] == channel]
        return copy.deepcopy(items)

    def clear(self) -> int:
        with self._lock:
            count = len(self._received)
            self._received.clear()
        return count
