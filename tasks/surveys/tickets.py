"""Support-desk exports → `tickets` and `chats` rows, and their incremental sync.

A ticket's order, complaint cause, SKU and store sit in custom fields (ids in the desk's
`fields` option); its first reply and solve times in the side-loaded metric set; its requester's
e-mail in the side-loaded users, hashed into the same customer_key as the orders' (the e-mail
itself is never stored here). Complaints are the `problem` and `incident` tickets.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
from sqlalchemy import Engine

from shopops.logs import get_logger
from tasks.normalize.common import customer_keys, external_ids, fields, nested, parse_times, text
from tasks.surveys.service import levels
from warehouse.engine import write_transaction
from warehouse.io import upsert_frame
from warehouse.state import advance_cursor, read_cursor

DEFAULT_FIELDS = {"order": 360001, "cause": 360002, "sku": 360003, "store": 360004}
COMPLAINT_TYPES = ("problem", "incident")
TICKET_COLUMNS = ["desk", "ticket_id", "created_at", "updated_at", "type", "status", "priority", "level",
                  "is_complaint", "channel", "cause", "sku", "store", "order_number", "customer_key",
                  "first_reply_at", "solved_at"]
CHAT_COLUMNS = ["desk", "chat_id", "started_at", "ended_at", "updated_at", "first_response_seconds", "missed",
                "department"]


def normalize_tickets(desk: str, tickets: list[dict], metric_sets: list[dict], users: list[dict],
                      secret: bytes, custom_fields: dict[str, int] | None = None) -> pd.DataFrame:
    ids = DEFAULT_FIELDS | (custom_fields or {})
    top = fields(tickets, ["id", "created_at", "updated_at", "type", "status", "priority", "via", "requester_id",
                           "custom_fields"])
    values = [{item.get("id"): item.get("value") for item in (c or []) if isinstance(item, dict)}
              for c in top["custom_fields"].tolist()]
    custom = pd.DataFrame({name: [v.get(field_id) for v in values] for name, field_id in ids.items()}, dtype=object)
    metrics = fields(metric_sets, ["ticket_id", "reply_time_in_minutes", "reply_time_in_seconds", "solved_at"])
    metrics.index = external_ids(metrics["ticket_id"])
    metrics = metrics[~metrics.index.duplicated(keep="last")]
    people = fields(users, ["id", "email"])
    emails = pd.Series(people["email"].to_numpy(), index=external_ids(people["id"]).to_numpy())
    emails = emails[~emails.index.duplicated(keep="last")]

    ticket_id = external_ids(top["id"])
    created, _ = parse_times(top["created_at"])
    updated, _ = parse_times(top["updated_at"])
    metric = metrics.reindex(ticket_id.to_numpy())
    reply_seconds = pd.to_numeric(nested(metric["reply_time_in_seconds"].reset_index(drop=True), "calendar"),
                                  errors="coerce")
    reply_minutes = pd.to_numeric(nested(metric["reply_time_in_minutes"].reset_index(drop=True), "calendar"),
                                  errors="coerce")
    reply = reply_seconds.fillna(reply_minutes * 60)
    solved, _ = parse_times(metric["solved_at"].reset_index(drop=True))
    requester = external_ids(top["requester_id"])
    email = pd.Series(emails.reindex(requester.to_numpy()).to_numpy(), dtype=object)
    kind = text(top["type"]).str.lower()
    priority = text(top["priority"]).str.lower()
    frame = pd.DataFrame({
        "desk": desk, "ticket_id": ticket_id, "created_at": created, "updated_at": updated, "type": kind,
        "status": text(top["status"]).fillna("open").str.lower(), "priority": priority,
        "level": levels(priority), "is_complaint": kind.isin(COMPLAINT_TYPES).to_numpy(),
        "channel": text(nested(top["via"], "channel"), max_length=16), "cause": text(custom["cause"], max_length=32),
        "sku": text(custom["sku"], max_length=64), "store": text(custom["store"], max_length=64),
        "order_number": text(custom["order"], max_length=64),
        "customer_key": customer_keys(email, pd.Series([None] * len(email), dtype=object), desk, secret),
        "first_reply_at": created + pd.to_timedelta(reply.to_numpy(), unit="s"),
        "solved_at": solved,
    })
    return frame[frame["ticket_id"].notna() & frame["created_at"].notna() & frame["updated_at"].notna()][TICKET_COLUMNS]


def normalize_chats(desk: str, chats: list[dict]) -> pd.DataFrame:
    top = fields(chats, ["id", "timestamp", "end_timestamp", "update_timestamp", "response_time", "missed",
                         "department_name"])
    started, _ = parse_times(top["timestamp"])
    ended, _ = parse_times(top["end_timestamp"])
    updated, _ = parse_times(top["update_timestamp"])
    frame = pd.DataFrame({
        "desk": desk, "chat_id": external_ids(top["id"]), "started_at": started, "ended_at": ended,
        "updated_at": updated.fillna(started),
        "first_response_seconds": pd.to_numeric(nested(top["response_time"], "first"), errors="coerce"),
        "missed": top["missed"].map(lambda v: v is True).astype(bool),
        "department": text(top["department_name"], max_length=128),
    })
    return frame[frame["chat_id"].notna() & frame["started_at"].notna()][CHAT_COLUMNS]


def sync_desk(engine: Engine, connector, *, secret: bytes, run_id: str, until: datetime,
              lookback: timedelta = timedelta(hours=6), first_start: timedelta = timedelta(days=120),
              custom_fields: dict[str, int] | None = None) -> dict:
    """Tickets and chats updated since the stored cursor (minus a look-back for late edits), each page
    upserted; the cursor moves to the latest update seen, never back."""
    log = get_logger("shopops.surveys")
    desk = connector.name
    counts = {"tickets": 0, "chats": 0}
    for stream, pages, normalize, table, keys in (
            ("tickets", connector.ticket_pages, lambda page: normalize_tickets(desk, *page, secret, custom_fields),
             "tickets", ["desk", "ticket_id"]),
            ("chats", connector.chat_pages, lambda page: normalize_chats(desk, page), "chats", ["desk", "chat_id"])):
        with engine.connect() as conn:
            cursor = read_cursor(conn, desk, stream)
        # The export refuses a start less than a minute old; the look-back catches late edits.
        start = min((cursor - lookback) if cursor else (until - first_start), until - timedelta(minutes=2))
        latest = None
        for page in pages(start):
            rows = normalize(page)
            if rows.empty:
                continue
            rows = rows.drop_duplicates(keys, keep="last").assign(run_id=run_id)
            if table == "tickets":
                rows = rows.assign(loaded_at=pd.Timestamp(datetime.now(timezone.utc)))
            with write_transaction(engine) as conn:
                upsert_frame(conn, table, rows, keys, [c for c in rows.columns if c not in keys], newer_by="updated_at")
            counts[stream] += len(rows)
            page_latest = rows["updated_at"].max()
            latest = page_latest if latest is None else max(latest, page_latest)
        if latest is not None:
            with write_transaction(engine) as conn:
                advance_cursor(conn, desk, stream, min(latest.to_pydatetime(), until), run_id,
                               datetime.now(timezone.utc))
        log.info("%s: %d %s read since %s", desk, counts[stream], stream, start.isoformat())
    return counts

