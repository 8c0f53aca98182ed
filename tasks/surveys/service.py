"""Service levels of the support desk on a date: complaint first replies within their level's
deadline, breaches and tickets about to breach, chats answered within 30 s, complaints solved
within 24 h, and the most frequent complaint causes per SKU.

- A complaint's level comes from the desk's priority: urgent → major (2 h), high → urgent (12 h),
  low or normal → general (48 h). "Handled" is the first reply (or solving it without one); an
  unhandled complaint past its deadline is a breach; one whose remaining time is under
  `at_risk_share` of its deadline is at risk. Major ones still unhandled escalate.
- Compliance is measured over the complaints created in the `window_days` before the date whose
  outcome is known (answered, or past the deadline unanswered), with a Wilson interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tasks.surveys.scores import wilson_interval

LEVEL_OF_PRIORITY = {"urgent": "major", "high": "urgent", "normal": "general", "low": "general"}
OPEN = ("new", "open", "pending", "hold")


@dataclass(frozen=True)
class ServiceSettings:
    deadline_hours: dict[str, float] = field(default_factory=lambda: {"general": 48.0, "urgent": 12.0, "major": 2.0})
    at_risk_share: float = 0.25
    first_reply_target: float = 95.0
    chat_first_response_seconds: float = 30.0
    chat_target: float = 90.0
    solved_within_hours: float = 24.0
    solved_target: float = 80.0
    window_days: float = 7
    cause_lookback_days: float = 90
    min_responses: int = 30


def levels(priority: pd.Series) -> pd.Series:
    return priority.fillna("normal").str.lower().map(LEVEL_OF_PRIORITY).fillna("general")


def first_reply_status(tickets: pd.DataFrame, moment: pd.Timestamp, settings: ServiceSettings) -> pd.DataFrame:
    """Complaints with their deadline and state at `moment`: met | breached | at risk | open."""
    complaints = tickets[tickets["is_complaint"].astype(bool) & (tickets["status"] != "deleted")
                         & (pd.to_datetime(tickets["created_at"], utc=True) <= moment)].copy()
    created = pd.to_datetime(complaints["created_at"], utc=True)
    # Handled: first replied to, or solved without a public reply; only what had happened by `moment`.
    solved = pd.to_datetime(complaints["solved_at"], utc=True)
    replied = pd.concat([pd.to_datetime(complaints["first_reply_at"], utc=True), solved], axis=1).min(axis=1)
    replied = replied.where(replied <= moment)
    deadline = pd.to_timedelta(complaints["level"].map(settings.deadline_hours), unit="h")
    due = created + deadline
    left = due - moment
    state = np.select(
        [replied.notna() & (replied <= due), replied.notna() | (left < pd.Timedelta(0)),
         left <= deadline * settings.at_risk_share],
        ["met", "breached", "at risk"], "open")
    late = np.where(replied.notna(), (replied - due).dt.total_seconds(), (moment - due).dt.total_seconds()) / 3600
    still_open = ~(solved <= moment)
    return complaints.assign(due_at=due, first_reply_at=replied, state=state,
                             hours_late=np.where(state == "breached", late, np.nan),
                             # Escalated: a major complaint nobody has answered yet, past or near its deadline.
                             escalated=(complaints["level"] == "major") & replied.isna() & still_open
                             & np.isin(state, ["breached", "at risk"]))


def service_scores(tickets: pd.DataFrame, chats: pd.DataFrame, moment: pd.Timestamp,
                   settings: ServiceSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(score rows like scores.score_cells, the complaint states) for the window before `moment`."""
    since = moment - pd.Timedelta(days=settings.window_days)
    states = first_reply_status(tickets, moment, settings)
    in_window = states[pd.to_datetime(states["created_at"], utc=True) > since]
    decided = in_window[in_window["state"].isin(["met", "breached"])]
    rows = []
    for cell, group in [("all", decided), *decided.groupby("level")]:
        rows.append(_share_row("first_reply_sla", "level" if cell != "all" else "all", cell, len(group),
                               int((group["state"] == "met").sum()), settings.first_reply_target, settings))
    solved = pd.to_datetime(in_window["solved_at"], utc=True)
    solved = solved.where(solved <= moment)  # as of the moment, whatever happened since
    created = pd.to_datetime(in_window["created_at"], utc=True)
    limit = pd.Timedelta(hours=settings.solved_within_hours)
    known = solved.notna() | (moment - created > limit)  # solved, or open past the limit
    quick = solved.notna() & (solved - created <= limit)
    rows.append(_share_row("solved_within_24h", "all", "all", int(known.sum()), int((quick & known).sum()),
                           settings.solved_target, settings))
    started = pd.to_datetime(chats["started_at"], utc=True)
    window_chats = chats[(started > since) & (started <= moment)]
    answered = (~window_chats["missed"].astype(bool)) & (
        window_chats["first_response_seconds"] <= settings.chat_first_response_seconds)
    rows.append(_share_row("chat_first_response", "all", "all", len(window_chats), int(answered.sum()),
                           settings.chat_target, settings))
    return pd.DataFrame(rows), states


def _share_row(measure, dimension, cell, n, met, target, settings) -> dict:
    score, low, high = (float(x) for x in wilson_interval(met, n)) if n else (np.nan, np.nan, np.nan)
    if n < settings.min_responses:
        verdict = "too few responses"
    else:
        verdict = "meets target" if low >= target else ("below target" if high < target else "inconclusive")
    return {"measure": measure, "dimension": dimension, "cell": cell, "responses": n, "score": score, "low": low,
            "high": high, "target": target, "verdict": verdict}


def breaches(states: pd.DataFrame, moment: pd.Timestamp, settings: ServiceSettings) -> pd.DataFrame:
    """Complaints breached in the window (or still unanswered past their deadline) and those at risk."""
    since = moment - pd.Timedelta(days=settings.window_days)
    unanswered = states["first_reply_at"].isna()
    keep = (states["state"] == "at risk") | ((states["state"] == "breached")
                                             & ((states["due_at"] > since) | unanswered))
    return states[keep]


def complaint_causes(tickets: pd.DataFrame, units_sold: pd.Series, moment: pd.Timestamp,
                     settings: ServiceSettings) -> pd.DataFrame:
    """Complaints per SKU and cause in the look-back, ranked within each SKU (1 = most frequent)."""
    created = pd.to_datetime(tickets["created_at"], utc=True)
    recent = tickets[tickets["is_complaint"].astype(bool) & (tickets["status"] != "deleted")
                     & tickets["sku"].notna() & (created > moment - pd.Timedelta(days=settings.cause_lookback_days))
                     & (created <= moment)]
    counts = recent.assign(cause=recent["cause"].fillna("other")).groupby(["sku", "cause"]).size().rename(
        "complaints").reset_index()
    counts = counts.sort_values(["sku", "complaints", "cause"], ascending=[True, False, True], kind="stable")
    counts["rank"] = counts.groupby("sku").cumcount() + 1
    counts["units_sold"] = counts["sku"].map(units_sold).fillna(0).astype(np.int64)
    return counts.reset_index(drop=True)
