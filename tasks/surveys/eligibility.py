"""Who is invited today, by which channel, and why not — as data.

Triggers (one invitation per trigger and subject, whatever the number of runs):
- delivery: an order delivered 24–48 h before the decision moment. Marketplaces give the ship time,
  not the delivery: delivery is the ship time plus `transit_days`. Each decision takes the slice
  since the day before's, so every delivery is considered exactly once (on daylight-saving days too).
- complaint: a complaint solved since the day before's decision.
- relationship: once a calendar quarter for each customer who ordered in the last year, spread
  over the quarter's days by the customer's key.

Suppressed (every reason is kept): anonymous, no e-mail or phone, no consent, surveyed (or
about to be) in the last `suppress_days`, an open complaint, or a second invitation to the same
customer in one decision (complaint first, then delivery, then relationship). Not suppressed but
deferred: the decision moment falls in the customer's quiet hours (local time, from the
customer's country): it is sent from `send_after`, the next end of their quiet hours.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import phonenumbers

TRIGGER_ORDER = {"complaint": 0, "delivery": 1, "relationship": 2}
SURVEY_OF = {"delivery": "post_purchase", "complaint": "complaint", "relationship": "relationship"}
# The time zone most of a country's customers live in; elsewhere the business time zone.
COUNTRY_ZONES = {
    "US": "America/New_York", "CA": "America/Toronto", "MX": "America/Mexico_City", "BR": "America/Sao_Paulo",
    "GB": "Europe/London", "IE": "Europe/Dublin", "PT": "Europe/Lisbon", "ES": "Europe/Madrid",
    "FR": "Europe/Paris", "BE": "Europe/Brussels", "NL": "Europe/Amsterdam", "LU": "Europe/Luxembourg",
    "DE": "Europe/Berlin", "AT": "Europe/Vienna", "CH": "Europe/Zurich", "IT": "Europe/Rome", "DK": "Europe/Copenhagen",
    "SE": "Europe/Stockholm", "NO": "Europe/Oslo", "FI": "Europe/Helsinki", "PL": "Europe/Warsaw",
    "CZ": "Europe/Prague", "GR": "Europe/Athens", "AU": "Australia/Sydney", "NZ": "Pacific/Auckland",
    "JP": "Asia/Tokyo", "SG": "Asia/Singapore", "IN": "Asia/Kolkata",
}
DECISION_COLUMNS = ["invitation_id", "trigger", "subject", "survey", "customer_key", "source", "external_order_id",
                    "ticket_id", "channel", "status", "reason", "send_after"]


@dataclass(frozen=True)
class EligibilitySettings:
    delivery_after_hours: int = 24
    transit_days: float = 3.0
    suppress_days: int = 30
    quiet_hours: tuple[int, int] = (21, 9)   # local: from 21:00 to 09:00
    relationship_lookback_days: int = 365
    require_consent: bool = True


def invitation_id(trigger: pd.Series, subject: pd.Series) -> pd.Series:
    """Deterministic: the same trigger and subject always give the same id (re-runs, overlaps)."""
    return pd.Series([hashlib.sha256(f"{t}|{s}".encode()).hexdigest()[:24] for t, s in zip(trigger, subject)],
                     index=trigger.index, dtype=object)


# -- candidates ---------------------------------------------------------------------------------
def delivery_candidates(orders: pd.DataFrame, previous: pd.Timestamp, moment: pd.Timestamp,
                        settings: EligibilitySettings) -> pd.DataFrame:
    """orders: source, external_id, customer_key, fulfilled_at. Deliveries that turned 24 hours old
    since the previous decision (`previous`, that of the day before), so at most about 48 hours old:
    consecutive decisions take consecutive slices, whatever daylight saving does to the day's length."""
    delivered = pd.to_datetime(orders["fulfilled_at"], utc=True) + pd.Timedelta(days=settings.transit_days)
    early = pd.Timedelta(hours=settings.delivery_after_hours)
    due = orders[(delivered > previous - early) & (delivered <= moment - early)]
    return pd.DataFrame({
        "trigger": "delivery", "subject": due["source"] + ":" + due["external_id"].astype(str),
        "customer_key": due["customer_key"], "source": due["source"], "external_order_id": due["external_id"],
        "ticket_id": None, "reason": "delivered a day or two ago"})


def complaint_candidates(tickets: pd.DataFrame, previous: pd.Timestamp, moment: pd.Timestamp) -> pd.DataFrame:
    """tickets: desk, ticket_id, customer_key, is_complaint, solved_at, store. Complaints solved since
    the previous decision."""
    solved = pd.to_datetime(tickets["solved_at"], utc=True)
    done = tickets[tickets["is_complaint"].astype(bool) & (solved > previous) & (solved <= moment)]
    return pd.DataFrame({
        "trigger": "complaint", "subject": done["desk"] + ":" + done["ticket_id"].astype(str),
        "customer_key": done["customer_key"], "source": done["store"], "external_order_id": None,
        "ticket_id": done["ticket_id"], "reason": "complaint solved since the day before"})


def relationship_candidates(customers: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """customers: customer_key of those who ordered in the year before. Each falls on one day of each
    quarter (of the business date), by its key."""
    quarter = pd.Period(as_of, freq="Q")
    days = (quarter.end_time.normalize() - quarter.start_time).days + 1
    today = (pd.Timestamp(as_of) - quarter.start_time).days
    slot = np.array([int(key[:8], 16) for key in customers["customer_key"].tolist()], dtype=np.int64) % days
    chosen = customers[slot == today]
    return pd.DataFrame({
        "trigger": "relationship", "subject": f"{quarter}:" + chosen["customer_key"],
        "customer_key": chosen["customer_key"], "source": None, "external_order_id": None, "ticket_id": None,
        "reason": f"relationship survey for {quarter}"})


# -- the decision -------------------------------------------------------------------------------
def decide(candidates: pd.DataFrame, customers: pd.DataFrame, contacted: pd.DataFrame, open_complaints: set[str],
           moment: pd.Timestamp, settings: EligibilitySettings, business_zone: str,
           now: pd.Timestamp | None = None) -> pd.DataFrame:
    """One decision row per candidate (DECISION_COLUMNS).

    customers: indexed by customer_key, columns email, phone, accepts_marketing, country.
    contacted: by customer_key, `nearest`: the decision time (send_after) of their invitation
    nearest to `moment` that was or will be sent; `last_sent`: when one last really went out.
    """
    frame = candidates.reset_index(drop=True)
    frame = frame.assign(invitation_id=invitation_id(frame["trigger"], frame["subject"]),
                         survey=frame["trigger"].map(SURVEY_OF))
    known = frame["customer_key"].notna()
    person = customers.reindex(frame["customer_key"].where(known, ""))
    has_email = person["email"].fillna("").astype(str).str.contains("@").to_numpy()
    # A phone matters only without an e-mail address (parsing numbers is the slow part).
    has_phone = np.zeros(len(frame), dtype=bool)
    need = np.flatnonzero(~has_email)
    has_phone[need] = [e164(phone, country) is not None for phone, country in
                       zip(person["phone"].to_numpy()[need], person["country"].to_numpy()[need])]
    consent = person["accepts_marketing"].eq(True).to_numpy() | (not settings.require_consent)
    window = pd.Timedelta(days=settings.suppress_days)
    earlier = contacted.reindex(frame["customer_key"])
    # Within the window of this decision's date either way (a backfill meets later invitations too),
    # or really sent within the window before now (a backfill's messages go out today).
    nearest = pd.to_datetime(earlier["nearest"].to_numpy(), utc=True)
    sent = pd.to_datetime(earlier["last_sent"].to_numpy(), utc=True)
    now = pd.Timestamp.now(tz="UTC") if now is None else now
    recent = np.asarray((abs(nearest - moment) < window), dtype=bool) | np.asarray(sent > now - window, dtype=bool)
    complaint_open = frame["customer_key"].isin(open_complaints).to_numpy()
    # One invitation per customer and decision: the most pressing trigger wins.
    order = frame.assign(rank=frame["trigger"].map(TRIGGER_ORDER)).sort_values(["rank", "subject"], kind="stable")
    second = order["customer_key"].notna() & order.duplicated("customer_key")
    second = second.reindex(frame.index).to_numpy()

    reasons = [(~known.to_numpy(), "anonymous order: no customer to ask"),
               (known.to_numpy() & ~has_email & ~has_phone, "no e-mail address or valid phone number"),
               (known.to_numpy() & ~consent, "no consent to be contacted"),
               (recent, f"surveyed within {settings.suppress_days} days"),
               (complaint_open, "has an open complaint"),
               (second, "another invitation to this customer in the same decision")]
    suppression = pd.Series("", index=frame.index, dtype=object)
    for mask, text in reasons:
        suppression = suppression.where(~mask, suppression.where(suppression == "", suppression + "; ") + text)
    suppressed = (suppression != "").to_numpy()

    send_after = after_quiet_hours(person["country"].to_numpy(), moment, settings.quiet_hours, business_zone)
    deferred = ~suppressed & (send_after > moment).to_numpy()
    status = np.where(suppressed, "suppressed", np.where(deferred, "deferred", "pending"))
    reason = np.where(suppressed, "suppressed: " + suppression,
                      np.where(deferred, frame["reason"] + "; deferred: quiet hours where the customer lives",
                               frame["reason"]))
    return frame.assign(
        channel=np.where(suppressed, None, np.where(has_email, "email", "sms")),
        status=status, reason=reason,
        send_after=pd.Series(send_after).where(~suppressed).to_numpy(),
    )[DECISION_COLUMNS]


def after_quiet_hours(countries: np.ndarray, moment: pd.Timestamp, quiet: tuple[int, int],
                       business_zone: str) -> pd.Series:
    """The decision moment, or the next end of quiet hours where the customer lives."""
    zones = pd.Series(countries, dtype=object).map(COUNTRY_ZONES).fillna(business_zone)
    result = pd.Series(moment, index=zones.index)
    start, end = quiet
    for zone in zones.unique():
        local = moment.tz_convert(zone)
        in_quiet = local.hour >= start or local.hour < end if start > end else start <= local.hour < end
        if in_quiet:
            wake = local.normalize().replace(hour=end)  # wall-clock hour, right across DST changes
            if wake <= local:
                wake = (local + pd.Timedelta(days=1)).normalize().replace(hour=end)
            result[zones == zone] = wake.tz_convert("UTC")
    return result


def e164(phone, country) -> str | None:
    """A phone number as `+<country code><number>`, read in the customer's country; None if invalid."""
    if not isinstance(phone, str) or not phone.strip():
        return None
    try:
        number = phonenumbers.parse(phone, country if isinstance(country, str) else None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
