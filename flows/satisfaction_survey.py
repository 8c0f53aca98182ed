"""satisfaction-survey: today's invitations (decided once, sent at most once), the responses,
NPS / CSAT with their intervals, complaint SLAs, breaches and complaint causes — and on the last
day of a month, the service review.

Parameters, reading, ordering and artifacts only; the work is in tasks/surveys/.
"""

from __future__ import annotations

import uuid
from calendar import monthrange
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pandas as pd
from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run
from sqlalchemy import and_, delete, func, or_, select

from connectors.services import load_services
from flows.alerts import FAILURE_HOOKS
from flows.run_lock import one_run_per_date
from shopops.blocks import notify
from shopops.logs import get_logger, install_redaction
from shopops.settings import DEVELOPMENT_SIGNING_KEY, get_settings
from tasks.catalogue_on import products_on
from tasks.surveys.dispatch import record_decisions, dispatch
from tasks.surveys.eligibility import (EligibilitySettings, complaint_candidates, delivery_candidates,
                                       relationship_candidates)
from tasks.surveys.scores import ScoreSettings, score_cells
from tasks.surveys.service import ServiceSettings, breaches, complaint_causes, service_scores
from warehouse.engine import get_engine, write_transaction
from warehouse.io import insert_frame, read_frame, read_large_frame
from warehouse.migrate import check_schema
from warehouse.models import (Chat, ComplaintCause, Customer, Order, OrderLine, SatisfactionScore, SlaBreach,
                              SurveyInvitation, SurveyResponse, Ticket)

NOT_SHIPPED = ("cancelled", "failed", "deleted")
WEEKS = 13


def _run_name() -> str:
    return f"satisfaction survey · {(flow_run.parameters or {}).get('as_of') or 'scheduled date'}"


@flow(**FAILURE_HOOKS, name="satisfaction-survey", flow_run_name=_run_name, log_prints=False,
      description="Invite customers after delivery, after a complaint and each quarter; pull the answers; NPS and "
                  "CSAT with intervals; complaint SLAs, breaches and causes.")
@one_run_per_date("satisfaction-survey")
def satisfaction_survey(as_of: date | None = None, send: bool = True, window_days: int = 28,
                        escalation_block: str | None = None, service_review: bool | None = None) -> dict:
    """Decide, send and score for `as_of`; re-running a date decides nothing twice and sends nothing twice.

    Args:
        as_of: Business date. Empty: the date the run was scheduled for, in the business time zone.
        send: Send the invitations that are due. Off: decide and record only (a dry run, or a backfill of
            past dates that must not message anybody); they are sent by the next run that sends.
        window_days: Days of responses and tickets the scores and service levels cover.
        escalation_block: Prefect notification block that gets major complaints past or close to their
            deadline.
        service_review: Write the monthly service review. Empty: on the last day of a month.
    """
    install_redaction()
    log = get_logger("shopops.flows")
    settings = get_settings()
    engine = get_engine()
    check_schema(engine)
    run_id = str(flow_run.id or uuid.uuid4())
    zone = settings.business_timezone
    # Everything is as of this moment of the date: the decision, and the scores' cut (a run on time reads
    # the desk and the answers up to about then; a late or repeated one computes the same).
    moment = _moment(as_of, settings)
    previous = _moment(as_of - timedelta(days=1), settings)  # the day before's decision: slices meet exactly
    eligibility = EligibilitySettings(
        transit_days=settings.survey_transit_days, suppress_days=settings.survey_suppress_days,
        quiet_hours=tuple(settings.survey_quiet_hours), require_consent=settings.survey_require_consent)
    key = settings.survey_signing_key.get_secret_value().encode()
    if key == DEVELOPMENT_SIGNING_KEY:
        log.warning("satisfaction survey: SHOPOPS_SURVEY_SIGNING_KEY is the development key, which anyone can read "
                    "in the code; set your own before real customers get links")
    services = load_services(settings.resolved_sources_file())
    summary: dict = {"as_of": as_of.isoformat()}

    summary["desk"] = _sync_desk(engine, services, run_id, settings) if "desk" in services else "not configured"
    summary["responses"] = _pull(engine, services, key, run_id) if "surveys" in services else "not configured"

    with engine.connect() as conn:
        tickets = _tickets(conn, moment - pd.Timedelta(days=120))
        candidates = pd.concat([
            delivery_candidates(_shipped(conn, previous, moment, eligibility), previous, moment, eligibility),
            complaint_candidates(tickets, previous, moment),
            relationship_candidates(_recent_customers(conn, moment, eligibility), as_of),
        ], ignore_index=True)
        people = _contacts(conn, candidates["customer_key"].dropna().unique().tolist())
    open_at_moment = (tickets["is_complaint"] & (tickets["status"] != "deleted") & (tickets["created_at"] <= moment)
                      & ~(tickets["solved_at"] <= moment))
    open_complaints = set(tickets.loc[open_at_moment, "customer_key"].dropna())
    decided = record_decisions(engine, candidates, people, open_complaints, moment, as_of, eligibility, zone, run_id)
    summary["decided"] = decided["status"].value_counts().to_dict()
    log.info("satisfaction survey %s: %d candidates, %d new decisions (%s)", as_of, len(candidates), len(decided),
             ", ".join(f"{n} {s}" for s, n in summary["decided"].items()) or "none")
    summary["dispatch"] = _dispatch(engine, services, moment, run_id, key, settings) if send else "not sent (send=false)"

    score_settings = ScoreSettings(settings.survey_min_responses, settings.survey_nps_target, settings.survey_csat_target)
    service = ServiceSettings(
        deadline_hours=dict(settings.sla_first_reply_hours), first_reply_target=settings.sla_first_reply_target,
        chat_first_response_seconds=settings.sla_chat_first_response_seconds, chat_target=settings.sla_chat_target,
        solved_within_hours=settings.sla_solved_within_hours, solved_target=settings.sla_solved_target,
        window_days=window_days, cause_lookback_days=settings.complaint_cause_lookback_days,
        min_responses=settings.survey_min_responses)
    with engine.connect() as conn:
        responses = _scored_responses(conn, moment - pd.Timedelta(weeks=WEEKS), moment, as_of)
        chats = read_frame(conn, select(Chat.started_at, Chat.first_response_seconds, Chat.missed).where(
            Chat.started_at > (moment - pd.Timedelta(days=window_days)).to_pydatetime(),
            Chat.started_at <= moment.to_pydatetime()))
        sold = _units_sold(conn, moment - pd.Timedelta(days=service.cause_lookback_days), moment)
    scores = _scores(responses, moment, window_days, score_settings)
    levels, states = service_scores(tickets, chats, moment, service)
    levels = levels.assign(period_start=(moment - pd.Timedelta(days=window_days)).date())
    breached = breaches(states, moment, service)
    causes = complaint_causes(tickets, sold, moment, service)
    with engine.connect() as conn:  # escalated once: not again by a later date or a re-run
        already = set(read_frame(conn, select(SlaBreach.ticket_id).where(
            SlaBreach.escalated.is_(True), SlaBreach.score_date <= as_of))["ticket_id"])
    _store(engine, as_of, run_id, pd.concat([scores, levels], ignore_index=True), breached, causes)

    summary["scores"] = {f"{r.measure}": None if pd.isna(r.score) else round(float(r.score), 1)
                         for r in scores[scores["dimension"] == "all"].itertuples()}
    summary["service_levels"] = {r.measure + ("" if r.cell == "all" else f":{r.cell}"):
                                 None if pd.isna(r.score) else round(float(r.score), 1) for r in levels.itertuples()}
    summary["breaches"] = int((breached["state"] == "breached").sum())
    summary["at_risk"] = int((breached["state"] == "at risk").sum())
    summary["escalation"] = _escalate(escalation_block, as_of, breached[~breached["ticket_id"].isin(already)], log)
    log.info("satisfaction survey %s: NPS %s, CSAT %s; %d complaints past their first-reply deadline, %d close to it",
             as_of, summary["scores"].get("nps"), summary["scores"].get("csat"), summary["breaches"], summary["at_risk"])
    _artifacts(as_of, pd.concat([scores, levels], ignore_index=True), breached, causes)
    if service_review if service_review is not None else as_of.day == monthrange(as_of.year, as_of.month)[1]:
        summary["service_review"] = _service_review(engine, as_of, moment, zone, score_settings, service)
    return summary


@flow(**FAILURE_HOOKS, name="survey-dispatch", flow_run_name=lambda: f"survey dispatch · {(flow_run.parameters or {}).get('at') or 'scheduled time'}",
      log_prints=False, description="Send the survey invitations that are due (those deferred for quiet hours "
                                    "go out once their customers' mornings come).")
def survey_dispatch(at: datetime | None = None) -> dict:
    """Send what is due by `at`, at most once; the daily survey decides, this only sends.

    Args:
        at: The moment to send for (UTC). Empty: the time the run was scheduled for.
    """
    install_redaction()
    settings = get_settings()
    engine = get_engine()
    check_schema(engine)
    scheduled = flow_run.scheduled_start_time
    moment = pd.Timestamp(at or scheduled or datetime.now(timezone.utc))
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
    services = load_services(settings.resolved_sources_file())
    key = settings.survey_signing_key.get_secret_value().encode()
    outcome = _dispatch(engine, services, moment, str(flow_run.id or uuid.uuid4()), key, settings)
    create_table_artifact(key="survey-dispatch", table=[{"outcome": name, "invitations": value}
                                                        for name, value in outcome.items()],
                          description=f"Survey invitations due by {moment:%Y-%m-%d %H:%M} UTC")
    return outcome


# -- reading ------------------------------------------------------------------------------------
def _sync_desk(engine, services, run_id, settings) -> dict:
    from connectors.zendesk import ZendeskConnector
    from tasks.surveys.tickets import sync_desk

    config = services["desk"]
    connector = ZendeskConnector(config)
    try:
        return sync_desk(engine, connector, secret=settings.customer_key_secret.get_secret_value().encode(),
                         run_id=run_id, until=datetime.now(timezone.utc), custom_fields=config.options.get("fields"))
    finally:
        connector.close()


def _pull(engine, services, key, run_id) -> dict:
    from connectors.survey_provider import SurveyProvider
    from tasks.surveys.responses import pull_responses

    provider = SurveyProvider(services["surveys"])
    try:
        return pull_responses(engine, provider, key, run_id=run_id, until=datetime.now(timezone.utc))
    finally:
        provider.close()


def _moment(day: date, settings) -> pd.Timestamp:
    """A date's decision moment: the send hour of that day in the business time zone, in UTC."""
    local = pd.Timestamp(datetime.combine(day, time(settings.survey_send_hour)))
    return local.tz_localize(settings.business_timezone).tz_convert("UTC")


def _dispatch(engine, services, moment, run_id, key, settings) -> dict:
    from connectors.smtp import SmtpSender
    from connectors.survey_provider import SurveyProvider
    from connectors.twilio import TwilioSms

    if "surveys" not in services:
        return {"error": "no survey provider configured (services.surveys): nothing to link to"}
    provider = SurveyProvider(services["surveys"])
    mail = SmtpSender(services["smtp"]) if "smtp" in services else None
    sms = TwilioSms(services["sms"]) if "sms" in services else None
    try:
        counts = dispatch(engine, moment, run_id, mail=mail, sms=sms, link=provider.link, signing_key=key,
                          link_days=settings.survey_link_days, quiet_hours=tuple(settings.survey_quiet_hours),
                          business_zone=settings.business_timezone,
                          max_delay=timedelta(days=settings.survey_max_send_delay_days))
    finally:
        for client in (mail, sms, provider):
            if client is not None:
                client.close()
    return {"sent": counts.sent, "failed": counts.failed, "interrupted": counts.interrupted,
            "expired": counts.expired, "deferred (quiet hours)": counts.deferred}


def _tickets(conn, since: pd.Timestamp) -> pd.DataFrame:
    frame = read_large_frame(conn, select(
        Ticket.desk, Ticket.ticket_id, Ticket.created_at, Ticket.status, Ticket.level, Ticket.is_complaint,
        Ticket.cause, Ticket.sku, Ticket.store, Ticket.customer_key, Ticket.first_reply_at, Ticket.solved_at,
    ).where(or_(Ticket.created_at > since.to_pydatetime(), Ticket.status.in_(("new", "open", "pending", "hold")))),
        times=["created_at", "first_reply_at", "solved_at"])
    frame["is_complaint"] = frame["is_complaint"].astype(bool)
    return frame


def _shipped(conn, previous: pd.Timestamp, moment: pd.Timestamp, settings: EligibilitySettings) -> pd.DataFrame:
    """Orders that may have been delivered in the slice `delivery_candidates` takes."""
    lag = pd.Timedelta(days=settings.transit_days) + pd.Timedelta(hours=settings.delivery_after_hours)
    return read_large_frame(conn, select(Order.source, Order.external_id, Order.customer_key, Order.fulfilled_at).where(
        Order.fulfilled_at > (previous - lag).to_pydatetime(), Order.fulfilled_at <= (moment - lag).to_pydatetime(),
        Order.is_deleted.is_(False), Order.status.not_in(NOT_SHIPPED)), times=["fulfilled_at"])


def _recent_customers(conn, moment: pd.Timestamp, settings: EligibilitySettings) -> pd.DataFrame:
    """Customers who ordered in the year before the moment (as far as first and last orders tell)."""
    return read_large_frame(conn, select(Customer.customer_key).where(
        Customer.first_order_at <= moment.to_pydatetime(),
        Customer.last_order_at >= (moment - pd.Timedelta(days=settings.relationship_lookback_days)).to_pydatetime()))


def _contacts(conn, keys: list[str]) -> pd.DataFrame:
    """Contact details of the candidates only (they never leave this flow's memory)."""
    frames = [read_frame(conn, select(Customer.customer_key, Customer.email, Customer.phone, Customer.accepts_marketing,
                                      Customer.country).where(Customer.customer_key.in_(keys[i:i + 5000])))
              for i in range(0, len(keys), 5000)]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["customer_key", "email", "phone", "accepts_marketing", "country"])
    return frame.set_index("customer_key")


def _scored_responses(conn, since: pd.Timestamp, until: pd.Timestamp, as_of: date) -> pd.DataFrame:
    """Counted responses with their invitation's marketplace and the categories of what it was about."""
    frame = read_large_frame(conn, select(
        SurveyResponse.response_id, SurveyResponse.nps, SurveyResponse.csat, SurveyResponse.via,
        SurveyResponse.submitted_at, SurveyInvitation.survey, SurveyInvitation.source,
        SurveyInvitation.external_order_id, SurveyInvitation.ticket_id, Ticket.sku.label("ticket_sku"),
    ).join(SurveyInvitation, SurveyInvitation.invitation_id == SurveyResponse.invitation_id).outerjoin(
        Ticket, and_(SurveyInvitation.trigger == "complaint", Ticket.ticket_id == SurveyInvitation.ticket_id),
    ).where(SurveyResponse.validity == "valid", SurveyResponse.submitted_at > since.to_pydatetime(),
            SurveyResponse.submitted_at <= until.to_pydatetime()), times=["submitted_at"])
    lines = read_large_frame(conn, select(OrderLine.source, OrderLine.external_order_id, OrderLine.sku).join(
        SurveyInvitation, and_(SurveyInvitation.source == OrderLine.source,
                               SurveyInvitation.external_order_id == OrderLine.external_order_id)).join(
        SurveyResponse, SurveyResponse.invitation_id == SurveyInvitation.invitation_id).where(
        SurveyResponse.validity == "valid", SurveyResponse.submitted_at > since.to_pydatetime(),
        SurveyResponse.submitted_at <= until.to_pydatetime()))
    categories = products_on(conn, as_of, "category")["category"]
    about = lines.rename(columns={"external_order_id": "order"})
    about["category"] = about["sku"].map(categories)
    per_order = about.dropna(subset=["category"]).drop_duplicates(["source", "order", "category"])
    by_order = frame.merge(per_order, left_on=["source", "external_order_id"], right_on=["source", "order"], how="left")
    # A complaint is about its ticket's SKU.
    ticket_category = by_order["ticket_sku"].map(categories)
    by_order["category"] = by_order["category"].fillna(ticket_category)
    for name in ("nps", "csat"):
        by_order[name] = pd.to_numeric(by_order[name], errors="coerce")
    codes, days = pd.factorize(by_order["submitted_at"].dt.normalize())  # one label per day, not per row
    labels = np.array([f"{day.isocalendar()[0]}-W{day.isocalendar()[1]:02d}" for day in days], dtype=object)
    by_order["week"] = labels[codes] if len(codes) else pd.Series(dtype=object)
    return by_order.rename(columns={"source": "channel"})


def _units_sold(conn, since: pd.Timestamp, until: pd.Timestamp) -> pd.Series:
    frame = read_frame(conn, select(OrderLine.sku, func.sum(OrderLine.quantity).label("units")).join(
        Order, and_(Order.source == OrderLine.source, Order.external_id == OrderLine.external_order_id)).where(
        Order.created_at > since.to_pydatetime(), Order.created_at <= until.to_pydatetime(),
        Order.is_deleted.is_(False)).group_by(OrderLine.sku))
    return frame.set_index("sku")["units"].astype(np.int64) if len(frame) else pd.Series(dtype=np.int64)


# -- computing and storing ----------------------------------------------------------------------
def _scores(responses: pd.DataFrame, moment: pd.Timestamp, window_days: int, settings: ScoreSettings) -> pd.DataFrame:
    """The window's cells (all, channel, via, category, survey), and every week of the last 13."""
    window_start = moment - pd.Timedelta(days=window_days)
    # A response about several categories sits once in each; elsewhere it counts once.
    once = responses.drop_duplicates("response_id")
    recent = once[once["submitted_at"] > window_start]
    cells = score_cells(recent, ["channel", "via", "survey"], settings)
    by_category = score_cells(responses[responses["submitted_at"] > window_start], ["category"], settings)
    weeks = score_cells(once, ["week"], settings)
    frame = pd.concat([cells, by_category[by_category["dimension"] == "category"],
                       weeks[weeks["dimension"] == "week"]], ignore_index=True)
    week_start = pd.to_datetime(frame["cell"].where(frame["dimension"] == "week") + "-1", format="%G-W%V-%u",
                                errors="coerce").dt.date
    return frame.assign(period_start=week_start.where(frame["dimension"] == "week", window_start.date()))


def _store(engine, as_of: date, run_id: str, scores: pd.DataFrame, breached: pd.DataFrame, causes: pd.DataFrame) -> None:
    with write_transaction(engine) as conn:  # a re-run of the date replaces its rows
        for model in (SatisfactionScore, SlaBreach, ComplaintCause):
            conn.execute(delete(model).where(model.score_date == as_of))
        insert_frame(conn, "satisfaction_scores", scores.assign(score_date=as_of, run_id=run_id),
                     [c.name for c in SatisfactionScore.__table__.columns])
        insert_frame(conn, "sla_breaches", breached.assign(score_date=as_of, run_id=run_id),
                     [c.name for c in SlaBreach.__table__.columns])
        insert_frame(conn, "complaint_causes", causes.assign(score_date=as_of, run_id=run_id),
                     [c.name for c in ComplaintCause.__table__.columns])


def _escalate(block_name: str | None, as_of: date, breached: pd.DataFrame, log) -> str:
    """Major complaints nobody has answered, past or near their deadline, not escalated before."""
    major = breached[breached["escalated"]]
    if major.empty:
        return "nothing to escalate"
    if not block_name:
        log.warning("satisfaction survey %s: %d major complaints past or near their deadline and no escalation "
                    "block configured", as_of, len(major))
        return f"{len(major)} major complaints, no escalation block"
    body = "\n".join(f"- ticket {r.ticket_id} ({r.desk}): {r.state}, due {r.due_at:%Y-%m-%d %H:%M} UTC"
                     f"{'' if pd.isna(r.cause) else f', {r.cause}'}{'' if pd.isna(r.sku) else f' on {r.sku}'}"
                     for r in major.itertuples())
    try:
        notify(block_name, f"{len(major)} major complaints need an answer ({as_of})", body)
    except Exception as error:  # the scores are stored; the list is in the artifact too
        log.error("satisfaction survey %s: escalation through %s failed: %s", as_of, block_name, error)
        return f"failed: {error}"
    return f"{len(major)} major complaints escalated"


def _artifacts(as_of: date, scores: pd.DataFrame, breached: pd.DataFrame, causes: pd.DataFrame) -> None:
    shown = scores[scores["dimension"] != "week"]
    create_table_artifact(key="satisfaction-scores", table=[{
        "measure": r.measure, "by": r.dimension, "cell": r.cell, "responses": int(r.responses),
        "score": _round(r.score), "95% interval": f"{_round(r.low)} – {_round(r.high)}", "target": _round(r.target),
        "verdict": r.verdict} for r in shown.itertuples()], description=f"NPS, CSAT and service levels, {as_of}")
    create_table_artifact(key="sla-breaches", table=[{
        "ticket": r.ticket_id, "state": r.state, "level": r.level, "due (UTC)": f"{r.due_at:%Y-%m-%d %H:%M}",
        "hours late": _round(r.hours_late), "cause": r.cause, "sku": r.sku, "escalated": bool(r.escalated)}
        for r in breached.sort_values(["state", "due_at"]).itertuples()] or [{"ticket": "none"}],
        description=f"Complaints past or close to their first-reply deadline, {as_of}")
    top = causes[causes["rank"] == 1].sort_values("complaints", ascending=False).head(30)
    create_table_artifact(key="complaint-causes", table=[{
        "sku": r.sku, "most frequent cause": r.cause, "complaints": int(r.complaints), "units sold": int(r.units_sold)}
        for r in top.itertuples()] or [{"sku": "none"}], description=f"Complaint causes per SKU, {as_of}")


def _service_review(engine, as_of: date, moment: pd.Timestamp, zone: str, score_settings: ScoreSettings,
                    service: ServiceSettings) -> str:
    """The month's scores, service levels and complaint causes, as one markdown report."""
    first = as_of.replace(day=1)
    start = pd.Timestamp(datetime.combine(first, time(0))).tz_localize(zone).tz_convert("UTC")
    end = moment
    days = (end - start) / pd.Timedelta(days=1)  # from the month's first midnight to the moment
    month_service = ServiceSettings(**{**service.__dict__, "window_days": days, "cause_lookback_days": days})
    with engine.connect() as conn:
        responses = _scored_responses(conn, start, end, as_of)
        tickets = _tickets(conn, start - pd.Timedelta(days=7))
        chats = read_frame(conn, select(Chat.started_at, Chat.first_response_seconds, Chat.missed).where(
            Chat.started_at > start.to_pydatetime(), Chat.started_at <= end.to_pydatetime()))
        sold = _units_sold(conn, start, end)
    once = responses.drop_duplicates("response_id")
    cells = pd.concat([score_cells(once, ["channel"], score_settings),
                       score_cells(responses, ["category"], score_settings).query("dimension == 'category'")])
    levels, states = service_scores(tickets, chats, end, month_service)
    causes = complaint_causes(tickets, sold, end, month_service)
    month = f"{as_of:%Y-%m}"
    lines = [f"# Service review {month}", "", "## Satisfaction", "",
             "| measure | by | cell | responses | score | 95% interval | verdict |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r.measure.upper()} | {r.dimension} | {r.cell} | {r.responses} | {_round(r.score)} | "
              f"{_round(r.low)} – {_round(r.high)} | {r.verdict} |" for r in cells.itertuples()]
    lines += ["", "## Service levels", "", "| measure | cell | cases | met | 95% interval | target | verdict |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {r.measure} | {r.cell} | {r.responses} | {_round(r.score)}% | {_round(r.low)} – {_round(r.high)} "
              f"| {r.target:.0f}% | {r.verdict} |" for r in levels.itertuples()]
    breached = states[(states["state"] == "breached") & (pd.to_datetime(states["created_at"], utc=True) > start)]
    lines += ["", f"Complaints that missed their first-reply deadline this month: {len(breached)} "
              f"({', '.join(f'{n} {level}' for level, n in breached['level'].value_counts().items()) or 'none'}).",
              "", "## Most frequent complaint causes", "", "| sku | cause | complaints | units sold |", "|---|---|---|---|"]
    top = causes.sort_values("complaints", ascending=False).head(20)
    lines += [f"| {r.sku} | {r.cause} | {r.complaints} | {r.units_sold} |" for r in top.itertuples()]
    create_markdown_artifact(key=f"service-review-{month}", markdown="\n".join(lines),
                             description=f"Monthly service review, {month}")
    return month


def _round(value):
    return None if value is None or pd.isna(value) else round(float(value), 1)
