"""Ground truth of the support desk and the surveys, as DataFrames, for tests: what the desk's exports
show at a sandbox time, and every survey response the respondents gave (shown or still to come)."""

from __future__ import annotations

import hashlib
from datetime import datetime

import numpy as np
import pandas as pd

from .clock import SandboxClock
from .config import as_utc
from .respondents import ResponseBook, Respondents
from .support_data import (CAUSES, PRIORITIES, SLOT_DELETED, TICKET_STATUSES, TICKET_TYPES, VIA_CHANNELS,
                           SupportDesk, ticket_state)
from .support_render import order_number_text
from .wire import NEVER

TICKET_COLUMNS = ["ticket_id", "store", "order_number", "order_id", "customer_id", "customer_email",
                  "customer_email_sha256", "requester_id", "type", "priority", "cause", "sku", "channel",
                  "created_at", "first_reply_at", "solved_at", "deleted_at", "sla_hours", "first_reply_due_at",
                  "visible", "status", "updated_at", "deleted", "first_reply_breached"]
RESPONSE_COLUMNS = ["id", "token", "invitation_token", "survey", "channel", "answers", "nps", "csat", "comment",
                    "submitted_at", "updated_at", "visible", "replay", "tampered", "store", "customer_id",
                    "customer_email", "source"]


def _utc(seconds: np.ndarray) -> pd.Series:
    seconds = np.asarray(seconds, dtype=np.int64)
    values = np.where(seconds == NEVER, np.datetime64("NaT"), seconds.astype("datetime64[s]"))
    return pd.Series(values.astype("datetime64[s]")).dt.tz_localize("UTC")


def email_sha256(email: str) -> str:
    """The hash a privacy-minded warehouse keeps instead of the address: SHA-256 of the trimmed, lower-case text."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class SupportTruth:
    def __init__(self, desk: SupportDesk, clock: SandboxClock) -> None:
        self.desk = desk
        self._clock = clock

    def _moment(self, now: datetime | None) -> int:
        return self._clock.epoch_seconds() if now is None else int(as_utc(now).timestamp())

    def tickets(self, now: datetime | None = None) -> pd.DataFrame:
        """One row per generated ticket. `created_at`, `first_reply_at`, `solved_at`, `deleted_at` are the
        generated instants (they may lie after `now`); `visible`, `status`, `updated_at`, `deleted` and
        `first_reply_breached` are as of `now` (default the sandbox clock), as the export shows them."""
        desk, moment = self.desk, self._moment(now)
        t = desk.tickets
        rows = np.arange(t.size)
        state = ticket_state(t, moment, rows)
        visible = t.created <= moment
        codes = desk.catalogue.sku_codes
        emails = [desk.users.email[r] for r in t.requester.tolist()]
        customer_ids, order_ids, numbers = [], [], []
        for store, order, customer in zip(t.store.tolist(), t.order.tolist(), t.customer.tolist()):
            data = desk.stores[store]
            customer_ids.append(int(data.customers.id[customer]) if customer >= 0 else None)
            order_ids.append(int(data.ids.order[order]) if order >= 0 else None)
            numbers.append(order_number_text(desk, store, order))
        due = t.created + t.sla_seconds
        replied = t.first_reply <= moment
        breached = np.where(replied, t.first_reply > due, moment > due) & visible
        return pd.DataFrame({
            "ticket_id": t.id,
            "store": [desk.stores[s].name for s in t.store.tolist()],
            "order_number": pd.Series(numbers, dtype=object),
            "order_id": pd.Series(order_ids, dtype=object),
            "customer_id": pd.Series(customer_ids, dtype=object),
            "customer_email": emails,
            "customer_email_sha256": [email_sha256(e) for e in emails],
            "requester_id": desk.users.id[t.requester],
            "type": [TICKET_TYPES[k] for k in t.type.tolist()],
            "priority": [PRIORITIES[p] for p in t.priority.tolist()],
            "cause": pd.Series([CAUSES[c] if c >= 0 else None for c in t.cause.tolist()], dtype=object),
            "sku": pd.Series([codes[s] if s >= 0 else None for s in t.sku.tolist()], dtype=object),
            "channel": [VIA_CHANNELS[v] for v in t.via.tolist()],
            "created_at": _utc(t.created),
            "first_reply_at": _utc(t.first_reply),
            "solved_at": _utc(t.solved),
            "deleted_at": _utc(t.deleted),
            "sla_hours": (t.sla_seconds // 3600).astype(np.int64),
            "first_reply_due_at": _utc(due),
            "visible": visible,
            "status": pd.Series([TICKET_STATUSES[s] if v else None for s, v in zip(state.status.tolist(),
                                                                                  visible.tolist())], dtype=object),
            "updated_at": _utc(np.where(visible, state.updated, NEVER)),
            "deleted": t.event_time[:, SLOT_DELETED] <= moment,
            "first_reply_breached": breached,
        }, columns=TICKET_COLUMNS)

    def chats(self, now: datetime | None = None) -> pd.DataFrame:
        """One row per chat in the export's order; `visible` as of `now` (update_timestamp <= now)."""
        chats, moment = self.desk.chats, self._moment(now)
        emails = {}
        for store_index, store in enumerate(self.desk.stores):
            rows = np.flatnonzero((chats.store == store_index) & (chats.visitor >= 0))
            emails.update(zip(rows.tolist(), store.customers.emails(chats.visitor[rows])))
        def seconds(values: np.ndarray) -> pd.Series:
            return pd.Series([None if v < 0 else int(v) for v in values.tolist()], dtype=object)
        return pd.DataFrame({
            "id": chats.id,
            "store": [self.desk.stores[s].name for s in chats.store.tolist()],
            "timestamp": _utc(chats.start),
            "end_timestamp": _utc(chats.end),
            "update_timestamp": _utc(chats.update),
            "first_response_seconds": seconds(chats.first),
            "avg_response_seconds": seconds(chats.avg),
            "max_response_seconds": seconds(chats.max),
            "missed": chats.missed,
            "visitor_email": pd.Series([emails.get(i) for i in range(chats.size)], dtype=object),
            "visible": chats.update <= moment,
        })

    def problem_skus(self) -> pd.DataFrame:
        """The SKUs generated with a real problem (many complaints of one cause): sku, cause."""
        codes = self.desk.catalogue.sku_codes
        skus = np.flatnonzero(self.desk.problem_cause >= 0)
        return pd.DataFrame({"sku": [codes[s] for s in skus.tolist()],
                             "cause": [CAUSES[c] for c in self.desk.problem_cause[skus].tolist()]})


class SurveyTruth:
    def __init__(self, respondents: Respondents, book: ResponseBook, clock: SandboxClock) -> None:
        self._respondents = respondents
        self._book = book
        self._clock = clock

    def responses(self, now: datetime | None = None) -> pd.DataFrame:
        """Every stored response, shown or still to come, in the API's order (updated_at, id); `visible`:
        the API lists it at `now` (default the clock)."""
        moment = self._clock.epoch_seconds() if now is None else int(as_utc(now).timestamp())
        responses = self._book.all()
        submitted = np.array([r.submitted_at for r in responses], dtype=np.int64)
        return pd.DataFrame({
            "id": [r.id for r in responses],
            "token": [r.token for r in responses],
            "invitation_token": [r.invitation_token for r in responses],
            "survey": [r.survey for r in responses],
            "channel": pd.Series([r.channel for r in responses], dtype=object),
            "answers": [{"nps": r.nps, "csat": r.csat} for r in responses],
            "nps": pd.Series([r.nps for r in responses], dtype=object),
            "csat": pd.Series([r.csat for r in responses], dtype=object),
            "comment": pd.Series([r.comment for r in responses], dtype=object),
            "submitted_at": _utc(submitted),
            "updated_at": _utc(submitted),
            "visible": submitted <= moment,
            "replay": np.array([r.replay for r in responses], dtype=bool),
            "tampered": np.array([r.tampered for r in responses], dtype=bool),
            "store": pd.Series([r.store for r in responses], dtype=object),
            "customer_id": pd.Series([r.customer_id for r in responses], dtype=object),
            "customer_email": pd.Series([r.customer_email for r in responses], dtype=object),
            "source": [r.source for r in responses],
        }, columns=RESPONSE_COLUMNS)

    def invitations(self) -> pd.DataFrame:
        """Every survey link that reached the sandbox: channel, survey, token, received_at, store and
        customer_id (None when the recipient is none of the stores' customers), recipients, responds."""
        invitations = self._respondents.invited()
        frame = pd.DataFrame(invitations, columns=["channel", "survey", "token", "received_at", "store",
                                                   "customer_id", "recipients", "responds"])
        frame["received_at"] = _utc(np.array([i["received_at"] for i in invitations], dtype=np.int64))
        frame["customer_id"] = frame["customer_id"].astype(object)
        return frame
