"""Wire shapes of the support desk: Zendesk tickets, ticket metric sets, end users and Chat chats,
built only for the rows of the page being served."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from .catalogue import CATEGORIES
from .support_data import (AGENTS, CAUSES, CHAT_RATINGS, DELIVERY_DELAY, DESCRIPTION_MISMATCH, DAMAGED, GROUPS,
                           PRIORITIES, QUALITY, QUESTION, QUESTION_TOPICS, SLOT_ASSIGNED, SLOT_REPLIED, SLOT_SOLVED,
                           TICKET_STATUSES, TICKET_TYPES, VIA_CHANNELS, WRONG_ITEM, SupportDesk, TicketState,
                           business_seconds)
from .wire import NEVER

ORDER_FIELD, CAUSE_FIELD, SKU_FIELD, STORE_FIELD = 360001, 360002, 360003, 360004
METRIC_ID_OFFSET = 7_000_000_000

_SUBJECTS = {
    DELIVERY_DELAY: ("Where is my order {number}?", "Order {number} still not delivered", "Parcel for {number} is late"),
    DESCRIPTION_MISMATCH: ("{title} is not as described", "Order {number}: item doesn't match the listing",
                           "{title} looks different from the photos"),
    QUALITY: ("{title} broke after a few days", "Poor quality: {title}", "Order {number}: {title} is defective"),
    DAMAGED: ("{title} arrived damaged", "Order {number} arrived broken", "Damaged parcel, order {number}"),
    WRONG_ITEM: ("Wrong item in order {number}", "I received the wrong {noun}", "Order {number}: not what I ordered"),
}
_OTHER_SUBJECTS = ("Problem with order {number}", "Complaint about order {number}", "Order {number}")
_DESCRIPTIONS = {
    DELIVERY_DELAY: "Hi, I ordered on {date} (order {number}) and the parcel still hasn't arrived. The tracking "
                    "hasn't moved for days. When will I get it?",
    DESCRIPTION_MISMATCH: "Hello, the {title} from order {number} is not what the product page describes: the size "
                          "and colour are different from the photos. I'd like to return it.",
    QUALITY: "The {title} (order {number}) stopped working / fell apart after a few uses. I expected better quality "
             "for the price.",
    DAMAGED: "My order {number} arrived today and the {title} is damaged - the box was crushed. Photos attached.",
    WRONG_ITEM: "I ordered the {title} (order {number}) but received a different item. Please send the right one.",
}
_OTHER_DESCRIPTION = "I'm not happy with order {number} and would like someone to call me back."
# topic -> ((subject, description) about an order, (subject, description) without one)
_QUESTIONS = {
    "shipping": (("When will order {number} ship?", "Hi, I placed order {number} on {date}. When will it ship?"),
                 ("Do you ship to my country?", "Hello, do you deliver abroad, and how long does it take?")),
    "returns": (("How do I return an item from order {number}?",
                 "Hi, I'd like to return something from order {number}. How does it work?"),
                ("What is your return policy?", "Hello, how many days do I have to return an item?")),
    "invoice": (("Invoice for order {number}", "Could you send me the invoice for order {number}, please?"),
                ("Can I get a VAT invoice?", "Hi, can I get a VAT invoice for my purchases?")),
    "product": (("Question about the {title}", "Hello, is the {title} dishwasher safe / washable?"),
                ("Is this product available in another size?", "Hi, will you restock other sizes soon?")),
    "account": (("Change the address on order {number}",
                 "Hi, I made a mistake in the delivery address of order {number}. Can you change it?"),
                ("I can't log into my account", "Hello, the password reset e-mail never arrives. Can you help?")),
}


def iso_z(seconds: np.ndarray) -> list[str | None]:
    """UTC ISO 8601 with a Z, seconds precision; NEVER (or a negative) -> None."""
    seconds = np.asarray(seconds, dtype=np.int64)
    present = (seconds != NEVER) & (seconds >= 0)
    texts = np.datetime_as_string(np.where(present, seconds, 0).astype("datetime64[s]"), unit="s").tolist()
    return [f"{text}Z" if ok else None for text, ok in zip(texts, present.tolist())]


def iso_one(seconds: int) -> str:
    return datetime.fromtimestamp(int(seconds), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def order_number_text(desk: SupportDesk, store: int, order: int) -> str | None:
    """The order number as the order shows it: Shopify's name "#1001", WooCommerce's number "1234"."""
    if order < 0:
        return None
    data = desk.stores[store]
    number = int(data.ids.order_number[order])
    return f"#{number}" if data.kind == "shopify" else str(number)


def sku_title(desk: SupportDesk, sku: int) -> str:
    catalogue = desk.catalogue
    title = catalogue.product_title[int(catalogue.product[sku])]
    return title if catalogue.option[sku] < 0 else f"{title} - {catalogue.variant_title(sku)}"


def _noun(desk: SupportDesk, sku: int) -> str:
    catalogue = desk.catalogue
    return str(CATEGORIES[int(catalogue.product_category[catalogue.product[sku]])][4][0]).lower()


def ticket_text(desk: SupportDesk, row: int) -> tuple[str, str]:
    """(subject, description) of one ticket."""
    t = desk.tickets
    store, order, sku, cause, topic = (int(t.store[row]), int(t.order[row]), int(t.sku[row]), int(t.cause[row]),
                                       int(t.topic[row]))
    number = order_number_text(desk, store, order)
    title = sku_title(desk, sku) if sku >= 0 else "product"
    values = {"number": number or "", "title": title, "noun": _noun(desk, sku) if sku >= 0 else "item",
              "date": iso_one(desk.stores[store].created[order])[:10] if order >= 0 else ""}
    if t.type[row] != QUESTION:
        subject = _SUBJECTS.get(cause, _OTHER_SUBJECTS)[topic % 3].format(**values)
        return subject, _DESCRIPTIONS.get(cause, _OTHER_DESCRIPTION).format(**values)
    about_order, general = _QUESTIONS[QUESTION_TOPICS[topic]]
    if not number:
        return general
    data = desk.stores[store]
    values["title"] = sku_title(desk, int(data.basket.sku[int(data.basket.line_offsets[order])]))
    return about_order[0].format(**values), about_order[1].format(**values)


def render_tickets(desk: SupportDesk, state: TicketState, picks: np.ndarray, base_url: str) -> list[dict]:
    """`picks`: positions in `state` to render, in the page's order."""
    t = desk.tickets
    rows = state.rows[picks]
    happened = state.happened[picks]
    created, updated = iso_z(t.created[rows]), iso_z(state.updated[picks])
    users = desk.users.id[t.requester[rows]].tolist()
    codes = desk.catalogue.sku_codes
    tickets = []
    for i, row in enumerate(rows.tolist()):
        store, order, sku, cause = int(t.store[row]), int(t.order[row]), int(t.sku[row]), int(t.cause[row])
        subject, description = ticket_text(desk, row)
        ticket_id = int(t.id[row])
        store_name = desk.stores[store].name
        tags = [store_name] + ([CAUSES[cause], "complaint"] if cause >= 0 else [QUESTION_TOPICS[int(t.topic[row])]])
        tickets.append({
            "url": f"{base_url}/api/v2/tickets/{ticket_id}.json",
            "id": ticket_id,
            "external_id": None,
            "via": {"channel": VIA_CHANNELS[int(t.via[row])]},
            "created_at": created[i],
            "updated_at": updated[i],
            "generated_timestamp": int(state.updated[picks[i]]),
            "type": TICKET_TYPES[int(t.type[row])],
            "subject": subject,
            "raw_subject": subject,
            "description": description,
            "priority": PRIORITIES[int(t.priority[row])],
            "status": TICKET_STATUSES[int(state.status[picks[i]])],
            "requester_id": users[i],
            "submitter_id": users[i],
            "assignee_id": AGENTS[int(t.assignee[row])][0] if happened[i, SLOT_ASSIGNED] else None,
            "organization_id": None,
            "group_id": GROUPS[int(t.group[row])][0],
            "tags": sorted(tags),
            "custom_fields": [
                {"id": ORDER_FIELD, "value": order_number_text(desk, store, order)},
                {"id": CAUSE_FIELD, "value": CAUSES[cause] if cause >= 0 else None},
                {"id": SKU_FIELD, "value": codes[sku] if sku >= 0 else None},
                {"id": STORE_FIELD, "value": store_name},
            ],
            "is_public": True,
            "has_incidents": False,
        })
    return tickets


def _minutes(seconds: np.ndarray, shown: np.ndarray) -> list[int | None]:
    return [int(round(s / 60)) if ok else None for s, ok in zip(seconds.tolist(), shown.tolist())]


def render_metric_sets(desk: SupportDesk, state: TicketState, picks: np.ndarray) -> list[dict]:
    t = desk.tickets
    rows = state.rows[picks]
    happened = state.happened[picks]
    created = t.created[rows]
    replied, solved = happened[:, SLOT_REPLIED], happened[:, SLOT_SOLVED]
    reply, solve = t.first_reply[rows], t.solved[rows]
    reply_seconds = np.where(replied, reply - created, 0)
    reply_business = np.where(replied, business_seconds(np.where(replied, reply, created)) - business_seconds(created), 0)
    solve_seconds = np.where(solved, solve - created, 0)
    solve_business = np.where(solved, business_seconds(np.where(solved, solve, created)) - business_seconds(created), 0)
    assigned = np.where(happened[:, SLOT_ASSIGNED], t.event_time[rows, SLOT_ASSIGNED], NEVER)
    latest_comment = np.maximum.reduce([created, np.where(replied, reply, 0), np.where(solved, solve, 0)])
    replies = np.where(solved, t.replies[rows], np.where(replied, 1, 0))
    texts = {name: iso_z(values) for name, values in (
        ("created", created), ("updated", state.updated[picks]), ("solved", np.where(solved, solve, NEVER)),
        ("assigned", assigned), ("status", state.status_updated[picks]), ("comment", latest_comment))}
    reply_minutes, reply_business_minutes = _minutes(reply_seconds, replied), _minutes(reply_business, replied)
    solve_minutes, solve_business_minutes = _minutes(solve_seconds, solved), _minutes(solve_business, solved)
    result = []
    for i, row in enumerate(rows.tolist()):
        resolution = {"calendar": solve_minutes[i], "business": solve_business_minutes[i]}
        result.append({
            "id": METRIC_ID_OFFSET + int(t.id[row]),
            "ticket_id": int(t.id[row]),
            "created_at": texts["created"][i],
            "updated_at": texts["updated"][i],
            "reply_time_in_minutes": {"calendar": reply_minutes[i], "business": reply_business_minutes[i]},
            "reply_time_in_seconds": {"calendar": int(reply_seconds[i]) if replied[i] else None},
            "first_resolution_time_in_minutes": dict(resolution),
            "full_resolution_time_in_minutes": dict(resolution),
            "solved_at": texts["solved"][i],
            "initially_assigned_at": texts["assigned"][i],
            "assigned_at": texts["assigned"][i],
            "status_updated_at": texts["status"][i],
            "latest_comment_added_at": texts["comment"][i],
            "replies": int(replies[i]),
            "reopens": 0,
        })
    return result


def render_users(desk: SupportDesk, user_rows: np.ndarray) -> list[dict]:
    """The requesters of a page, by id."""
    users = desk.users
    user_rows = np.unique(user_rows)
    created, updated = iso_z(users.created[user_rows]), iso_z(users.updated[user_rows])
    result = []
    for i, row in enumerate(user_rows.tolist()):
        store = int(users.store[row])
        people = desk.stores[store].customers if users.customer[row] >= 0 else desk.prospects[store]
        person = int(users.customer[row]) if users.customer[row] >= 0 else int(users.prospect[row])
        _, phones, addresses = people.contact(np.array([person]))
        result.append({
            "id": int(users.id[row]),
            "name": f"{addresses[0]['first_name']} {addresses[0]['last_name']}",
            "email": users.email[row],
            "phone": phones[0],
            "role": "end-user",
            "time_zone": desk.stores[store].config.timezone,
            "created_at": created[i],
            "updated_at": updated[i],
        })
    return result


def render_chats(desk: SupportDesk, rows: np.ndarray) -> list[dict]:
    chats = desk.chats
    start, end, update = iso_z(chats.start[rows]), iso_z(chats.end[rows]), iso_z(chats.update[rows])
    result = []
    for i, row in enumerate(rows.tolist()):
        store = int(chats.store[row])
        data = desk.stores[store]
        missed = bool(chats.missed[row])
        rating = int(chats.rating[row])
        chat = {
            "id": chats.id[row],
            "type": "chat",
            "timestamp": start[i],
            "end_timestamp": end[i],
            "update_timestamp": update[i],
            "duration": int(chats.end[row] - chats.start[row]),
            "response_time": {key: (None if missed else int(values[row]))
                              for key, values in (("first", chats.first), ("avg", chats.avg), ("max", chats.max))},
            "missed": missed,
            "department_name": data.name,
            "department_id": 900_000 + store,
            "agent_names": [] if missed else [AGENTS[int(chats.agent[row])][1]],
            "rating": CHAT_RATINGS[rating] if rating >= 0 else None,
        }
        visitor = int(chats.visitor[row])
        if visitor >= 0:
            emails, phones, addresses = data.customers.contact(np.array([visitor]))
            chat["visitor"] = {"name": f"{addresses[0]['first_name']} {addresses[0]['last_name']}",
                               "email": emails[0], "phone": phones[0] or ""}
        result.append(chat)
    return result
