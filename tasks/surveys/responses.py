"""Survey responses from the provider → `survey_responses`, each with its validity.

A response counts only when its token carries our signature for that survey, it was submitted
before the link expired, it answers an invitation we sent, and it is the first answer to that
invitation (a later one with the same token is a replay). Everything else is kept, marked, and
left out of the scores.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
from sqlalchemy import Engine, bindparam, select

from shopops.logs import get_logger
from tasks.normalize.common import fields, nested, parse_times, text
from tasks.surveys.signing import verify
from warehouse.engine import write_transaction
from warehouse.io import read_frame, upsert_frame
from warehouse.models import SurveyInvitation, SurveyResponse
from warehouse.state import advance_cursor, read_cursor

RESPONSE_COLUMNS = ["response_id", "invitation_id", "survey", "via", "nps", "csat", "comment", "submitted_at",
                    "updated_at", "validity"]
MAX_COMMENT = 4000


def normalize_responses(records: list[dict], key: bytes) -> pd.DataFrame:
    top = fields(records, ["id", "survey", "token", "answers", "comment", "channel", "submitted_at", "updated_at"])
    submitted, _ = parse_times(top["submitted_at"])
    updated, _ = parse_times(top["updated_at"])
    nps = pd.to_numeric(nested(top["answers"], "nps"), errors="coerce")
    csat = pd.to_numeric(nested(top["answers"], "csat"), errors="coerce")
    survey = text(top["survey"], max_length=16)
    checked = [verify(key, token if isinstance(token, str) else None, kind, at)
               if pd.notna(at) else (None, "tampered")
               for token, kind, at in zip(top["token"].tolist(), survey.tolist(), submitted.tolist())]
    frame = pd.DataFrame({
        "response_id": text(top["id"], max_length=64), "invitation_id": [c[0] for c in checked],
        "survey": survey, "via": text(top["channel"], max_length=8),
        "nps": nps.where(nps.between(0, 10) & (nps % 1 == 0)).astype("Int64"),
        "csat": csat.where(csat.between(1, 5) & (csat % 1 == 0)).astype("Int64"),
        "comment": text(top["comment"], max_length=MAX_COMMENT), "submitted_at": submitted,
        "updated_at": updated.fillna(submitted), "validity": [c[1] for c in checked],
    })
    return frame[frame["response_id"].notna() & frame["submitted_at"].notna()][RESPONSE_COLUMNS]


def judge(frame: pd.DataFrame, sent: pd.Series, counted: pd.Series) -> pd.Series:
    """Validity after the checks that need the warehouse.

    sent: the survey of each invitation we sent, by invitation id.
    counted: the response already counted for each invitation, by invitation id.
    """
    validity = frame["validity"].copy()
    valid = validity == "valid"
    known = frame["invitation_id"].map(sent)
    validity[valid & known.isna()] = "unknown"
    validity[valid & known.notna() & (known != frame["survey"])] = "tampered"
    still = validity == "valid"
    earlier = frame["invitation_id"].map(counted)
    replay = still & earlier.notna() & (earlier != frame["response_id"])
    # Within this batch, the first submission of an invitation counts; later ones are replays.
    order = frame[still & ~replay].sort_values(["submitted_at", "response_id"], kind="stable")
    replay |= pd.Series(order.duplicated("invitation_id"), index=order.index).reindex(frame.index, fill_value=False)
    validity[replay] = "replayed"
    return validity


def pull_responses(engine: Engine, provider, key: bytes, *, run_id: str, until: datetime,
                   lookback: timedelta = timedelta(days=2), first_start: timedelta = timedelta(days=120)) -> dict:
    log = get_logger("shopops.surveys")
    with engine.connect() as conn:
        cursor = read_cursor(conn, provider.name, "responses")
    since = (cursor - lookback) if cursor else until - first_start
    counts = {"responses": 0, "valid": 0}
    latest = None
    for page in provider.response_pages(since, until):
        frame = normalize_responses(page, key)
        if frame.empty:
            continue
        frame = frame.drop_duplicates("response_id", keep="last")
        ids = frame["invitation_id"].dropna().unique().tolist() or [""]
        with write_transaction(engine) as conn:
            sent = read_frame(conn, select(SurveyInvitation.invitation_id, SurveyInvitation.survey).where(
                SurveyInvitation.invitation_id.in_(bindparam("ids", expanding=True)),
                SurveyInvitation.status.in_(("sent", "interrupted"))), {"ids": ids})
            counted = read_frame(conn, select(SurveyResponse.invitation_id, SurveyResponse.response_id).where(
                SurveyResponse.invitation_id.in_(bindparam("ids", expanding=True)),
                SurveyResponse.validity == "valid"), {"ids": ids})
            frame["validity"] = judge(frame, sent.set_index("invitation_id")["survey"],
                                      counted.drop_duplicates("invitation_id").set_index("invitation_id")["response_id"])
            upsert_frame(conn, "survey_responses", frame.assign(run_id=run_id), ["response_id"],
                         [c for c in RESPONSE_COLUMNS if c != "response_id"] + ["run_id"])
        counts["responses"] += len(frame)
        counts["valid"] += int((frame["validity"] == "valid").sum())
        page_latest = frame["updated_at"].max()
        latest = page_latest if latest is None else max(latest, page_latest)
    if latest is not None:
        with write_transaction(engine) as conn:
            advance_cursor(conn, provider.name, "responses", min(latest.to_pydatetime(), until), run_id,
                           datetime.now(timezone.utc))
    log.info("%s: %d survey responses read since %s, %d counted", provider.name, counts["responses"],
             since.isoformat(), counts["valid"])
    return counts

