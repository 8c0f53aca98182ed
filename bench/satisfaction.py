"""Satisfaction-survey benchmark: a synthetic year of customers, orders, tickets and 13 weeks of survey
answers, then the real satisfaction-survey flow's decision and scoring over it in its own process,
then the dispatch's throughput to the sandbox's SMTP server.

    python -m bench.satisfaction --customers 1000000 --responses 300000 [--warehouse postgres|sqlite]
                                 [--chats 20000] [--dispatch 2000]

1. Decide and score (the main figure). Builds a fresh warehouse (PostgreSQL database
   `shopops_bench_satisfaction` on the server of SHOPOPS_BENCH_POSTGRES_URL, or a SQLite file in a
   temporary folder) after `upgrade()`: `--customers` customers (hashed keys, fake e-mail addresses
   and phone numbers, consent, six countries), their year of orders and lines over 5,000 SKUs in
   40 categories (a few thousand deliveries due on the date), tickets on ~2% of the orders
   (complaints with levels, causes, SKUs, first replies and some breaches), `--chats` chats, and
   `--responses` survey responses over the 13 weeks before the date with the invitations they
   answer (post-purchase on real orders, complaint, relationship; a few replayed, tampered, unknown
   or expired), all from seeded numpy (bench/satisfaction_data.py says what they look like), loaded
   with `insert_frame` in one transaction per table; prints the data's shape, the rows per table and
   how long set-up took — not part of the figure.

   Then a separate process (started before the set-up while this one is still small, so that its
   peak RSS is its own, and released after the load) starts the Prefect API and times
   `satisfaction_survey(as_of=<yesterday>, send=False)` with no services configured
   (SHOPOPS_SOURCES_FILE names a file that does not exist: no desk sync, no response pull, no
   dispatch), so what is timed is the decision and the scoring, and the monthly service review when
   the date is the last of its month. It prints: wall seconds (the flow call to its return), CPU
   seconds, peak RSS above its baseline (after imports and the API start), what the flow returned
   (decisions by status, NPS / CSAT, service levels, breaches, escalation), the decisions written by
   trigger and the main suppression reasons, the rows written for the date, and a table "stage ·
   seconds · share · peak RSS rise": set-up, reading tickets, reading deliveries and customers,
   candidates, the decision rules, recording the decisions, reading responses and their lines,
   joining categories and weeks, reading chats / units sold / products / past escalations, scores,
   service levels, the flow's own pandas, storing, artifacts, the service review's own work, and
   what is left: Prefect's bookkeeping. The stages come from wrapping, in that process only, the project
   functions the flow calls, found from their code (so a refactored flow is still covered), and the
   flow's function itself: a function's own time, its timed callees excluded, counts toward its
   stage; helpers such as `read_large_frame` toward their caller's. A list by function follows.

2. Dispatch throughput (`--dispatch` invitations; 0: none). A sandbox (`SandboxConfig.demo()`) in
   a process of its own (so the server's parsing does not share our GIL) runs its SMTP server
   (aiosmtpd, STARTTLS with a throwaway CA, AUTH required); a fresh SQLite warehouse gets
   `--dispatch` customers with e-mail addresses, in a country that is not in its quiet hours at the
   time (dispatch checks them again), and a pending invitation each; `tasks.surveys.dispatch.dispatch`
   sends them through `connectors.smtp.SmtpSender` (built from a `ServiceConfig` of the sandbox's
   `smtp_settings()`, its password from the environment variable its `credentials()` names), with
   the settings' link days, quiet hours, time zone and longest delay, as the flow passes them.
   Printed: messages/s and the CPU of this process; the time in `SmtpSender.send` (per message:
   median, p95, max; the connection: connect, STARTTLS, AUTH), in building the messages and links,
   and in the warehouse transactions (recovery, expiry and quiet hours, taking each batch to
   `sending`, recording its outcomes); the statuses after; and the messages the server received
   against those sent (a difference is an error: exit code 1).

    python -m bench.satisfaction --measure --url URL --as-of DATE [--cprofile FILE]

runs the flow's process alone against an existing warehouse (the first command prints the exact
line), e.g. under `py-spy record -o flow.svg -- python -m bench.satisfaction --measure …`. A re-run
for the same date decides nothing again (the decisions are on record: the decision stage then only
reads) and replaces the date's scores, breaches and causes, as the flow does. A benchmark prints
figures; it asserts no timings.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from bench.flow_profile import (
    OTHER, FlowRun, StageClock, StageTable, code_fingerprint, cpu_seconds, measure_flow, print_process_figures,
    print_stages, released, run_flow_process, set_up_warehouse, warehouse_url,
)
from bench.helper_process import HelperProcess, say

BENCH_DB = "shopops_bench_satisfaction"
FLOW_FILES = ("flows/satisfaction_survey.py", "tasks/surveys", "tasks/catalogue_on.py", "warehouse/io.py")
DISPATCH_FILES = ("tasks/surveys/dispatch.py", "tasks/surveys/signing.py", "connectors/smtp.py")
NO_SERVICES = "no-services.yaml"  # a sources file that does not exist: the flow configures no services
MARK = "BENCH-SATISFACTION "       # prefix of the SMTP sandbox process's JSON lines on stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--responses", type=int, default=300_000, help="survey responses over the 13 weeks")
    parser.add_argument("--chats", type=int, default=20_000)
    parser.add_argument("--dispatch", type=int, default=2_000, help="invitations sent to the SMTP server (0: none)")
    parser.add_argument("--warehouse", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--dispatch-only", action="store_true", help="skip the decision and scoring")
    parser.add_argument("--measure", action="store_true", help="only run the flow against --url (the child process)")
    parser.add_argument("--url", help="with --measure: the warehouse URL")
    parser.add_argument("--as-of", type=date.fromisoformat, help="with --measure: the business date")
    parser.add_argument("--data-dir", help="with --measure: SHOPOPS_DATA_DIR")
    parser.add_argument("--cprofile", help="with --measure: write a cProfile of the flow call here and print its top")
    parser.add_argument("--wait", action="store_true", help=argparse.SUPPRESS)  # for "go" on stdin first
    parser.add_argument("--serve-smtp", action="store_true", help=argparse.SUPPRESS)  # the SMTP sandbox's process
    args = parser.parse_args()
    if args.serve_smtp:
        return _serve_smtp()
    if args.measure:
        if not (args.url and args.as_of):
            parser.error("--measure needs --url and --as-of")
        return _measure(args)
    code = 0 if args.dispatch_only else _build_and_measure(args)
    if args.dispatch > 0:
        code = _dispatch_benchmark(args) or code
    return code


# --- the parent: data in, then the child ----------------------------------------------------------

def _build_and_measure(args) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="shopops-bench-satisfaction-"))
    url = warehouse_url(args.warehouse, workdir / "warehouse.db", BENCH_DB)
    os.environ.update({"SHOPOPS_DATA_DIR": str(workdir), "SHOPOPS_WAREHOUSE_URL": url,
                       "SHOPOPS_SOURCES_FILE": str(workdir / NO_SERVICES)})
    as_of = datetime.now(timezone.utc).date() - timedelta(days=1)  # the date's decision moment is past
    command = [sys.executable, "-m", "bench.satisfaction", "--measure", "--url", url, "--as-of", as_of.isoformat(),
               "--warehouse", args.warehouse, "--data-dir", str(workdir)]
    return run_flow_process(command, lambda: _set_up(args, url, as_of))


def _rules():
    """The settings the flow will decide with, for the history to follow."""
    from bench.satisfaction_data import Rules
    from shopops.settings import get_settings, reset_settings_cache

    reset_settings_cache()
    settings = get_settings()
    return Rules(send_hour=settings.survey_send_hour, business_zone=settings.business_timezone,
                 transit_days=settings.survey_transit_days, quiet_hours=tuple(settings.survey_quiet_hours),
                 link_days=settings.survey_link_days)


def _set_up(args, url: str, as_of: date) -> None:
    rules = _rules()
    print(f"shopops satisfaction-survey benchmark — set-up: {args.customers:,} customers, {args.responses:,} "
          f"responses over 13 weeks to {as_of}, {args.chats:,} chats, seed {args.seed}, {args.warehouse}; decisions "
          f"at {rules.send_hour}:00 {rules.business_zone}")

    def generate():
        from bench.satisfaction_data import generate

        return generate(args.customers, args.responses, args.chats, args.seed, as_of, rules)

    set_up_warehouse(args.warehouse, url, BENCH_DB, generate, facts_width=40)


# --- the child: the flow, timed ----------------------------------------------------------------------

FLOW_OWN = "the flow's own pandas (satisfaction_survey's body)"
SET_UP = "flow set-up (settings, engine, schema check, services)"
READ_TICKETS = "reading tickets (_tickets)"
READ_PEOPLE = "reading deliveries and customers"
CANDIDATES = "candidates (delivery, complaint, relationship)"
RULES = "decision rules (decide, invitation ids, quiet hours)"
RECORDING = "recording decisions (lock, last contacts, upsert)"
READ_RESPONSES = "reading responses and their lines"
RESPONSES_OWN = "joining categories and weeks (_scored_responses)"
READ_OTHER = "reading chats, units sold, products, escalations"
SCORES = "scores (NPS, CSAT cells and weeks)"
SERVICE = "service levels, breaches, complaint causes"
STORING = "storing (scores, breaches, causes)"
ARTIFACTS = "artifacts and escalation"
REVIEW = "monthly service review (its own work)"
_STAGES = [  # (stage, substrings of a function's name), first match wins
    (SET_UP, ("check_schema", "get_engine", "get_settings", "redaction", "get_logger", "business_date",
              "load_services", "_moment")),
    (CANDIDATES, ("_candidates",)),
    (RULES, ("invitation_id", "quiet_hours")),
    (ARTIFACTS, ("_artifacts", "_escalate", "notify")),
]
STAGES = StageTable(
    _STAGES,
    display_order=[SET_UP, READ_TICKETS, READ_PEOPLE, CANDIDATES, RULES, RECORDING, READ_RESPONSES, RESPONSES_OWN,
                   READ_OTHER, SCORES, SERVICE, FLOW_OWN, STORING, ARTIFACTS, REVIEW, OTHER],
    exact={"_tickets": READ_TICKETS, "_shipped": READ_PEOPLE, "_recent_customers": READ_PEOPLE,
           "_contacts": READ_PEOPLE, "decide": RULES, "record_decisions": RECORDING, "_last_contacts": RECORDING,
           "_scored_responses": RESPONSES_OWN, "_units_sold": READ_OTHER, "_scores": SCORES, "score_cells": SCORES,
           "service_scores": SERVICE, "first_reply_status": SERVICE, "breaches": SERVICE,
           "complaint_causes": SERVICE, "_store": STORING, "_service_review": REVIEW},
    # _scored_responses reads with read_large_frame and products_on; the flow reads the chats and the
    # complaints escalated before itself.
    called_from={("read_large_frame", RESPONSES_OWN): READ_RESPONSES, ("products_on", RESPONSES_OWN): READ_OTHER,
                 ("read_frame", FLOW_OWN): READ_OTHER, ("read_frame", REVIEW): READ_OTHER},
    # Called per row or per value (artifacts, .map, each candidate's phone): wrapping would cost more than they do.
    not_wrapped=frozenset({"_round", "_decimal_text", "e164"}),
)


def _measure(args) -> int:
    if not released(args.wait):
        return 1  # the set-up failed
    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="shopops-bench-satisfaction-"))
    services_file = data_dir / NO_SERVICES
    if services_file.exists():
        services_file.unlink()  # nothing configured: no desk, no survey provider, no SMTP, no SMS
    os.environ.update({"SHOPOPS_WAREHOUSE_URL": args.url, "SHOPOPS_DATA_DIR": str(data_dir),
                       "SHOPOPS_SOURCES_FILE": str(services_file)})
    import flows.satisfaction_survey as flow_module

    clock = StageClock(STAGES)
    clock.instrument_flow_body(flow_module.satisfaction_survey, FLOW_OWN)
    measure_flow(lambda: flow_module.satisfaction_survey(as_of=args.as_of, send=False),
                 lambda run: _report(args, run, clock), args.cprofile, cprofile_top=30)
    return 0


def _report(args, run: FlowRun, clock: StageClock) -> None:
    summary = run.result
    written = _written(args.url, args.as_of)
    print(f"\nshopops satisfaction-survey benchmark — satisfaction_survey(as_of={args.as_of}, send=False), no services "
          f"configured, {args.warehouse}; flow code {code_fingerprint(FLOW_FILES)}")
    print_process_figures(run)
    print(f"  desk: {summary.get('desk')}; responses pulled: {summary.get('responses')}; "
          f"dispatch: {summary.get('dispatch')}")
    decided = summary.get("decided") or {}
    print(f"  decided: {sum(decided.values()):,} new (" + ", ".join(f"{n:,} {s}" for s, n in decided.items()) + ")")
    print("  decisions by trigger: " + "; ".join(f"{trigger} " + ", ".join(f"{n:,} {s}" for s, n in statuses.items())
                                                 for trigger, statuses in written["by_trigger"].items()))
    if written["reasons"]:
        print("  suppressed because: " + "; ".join(f"{n:,} {reason}" for reason, n in written["reasons"]))
    print("  scores (all, 28 days): " + ", ".join(f"{k.upper()} {v}" for k, v in (summary.get("scores") or {}).items())
          + f" — over {written['responses']:,} valid responses in the 13 weeks, {written['cells']}")
    print("  service levels: " + ", ".join(f"{k} {v}" for k, v in (summary.get("service_levels") or {}).items()))
    print(f"  complaints past their first-reply deadline: {summary.get('breaches', 0):,}, close to it: "
          f"{summary.get('at_risk', 0):,}; escalation: {summary.get('escalation')}")
    print(f"  service review: {summary.get('service_review') or 'not due (not the last day of a month)'}")
    print("  rows written for the date: " + ", ".join(f"{table} {rows:,}" for table, rows in written["rows"].items()))
    print_stages(clock, run.elapsed)


def _written(url: str, as_of: date) -> dict:
    from sqlalchemy import text

    from warehouse.engine import get_engine

    with get_engine(url).connect() as conn:
        decisions = conn.execute(text("SELECT trigger, status, reason FROM survey_invitations WHERE decided_on = :d"),
                                 {"d": as_of}).all()
        rows = {table: conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE score_date = :d"), {"d": as_of}).scalar()
                for table in ("satisfaction_scores", "sla_breaches", "complaint_causes")}
        cells = conn.execute(text("SELECT dimension, verdict, COUNT(*) FROM satisfaction_scores WHERE score_date = :d "
                                  "AND measure IN ('nps', 'csat') GROUP BY dimension, verdict ORDER BY 1, 2"),
                             {"d": as_of}).all()
        responses = conn.execute(text("SELECT COUNT(*) FROM survey_responses WHERE validity = 'valid'")).scalar()
    by_trigger: dict[str, Counter] = {}
    reasons: Counter = Counter()
    for trigger, status, reason in decisions:
        by_trigger.setdefault(trigger, Counter())[status] += 1
        if status == "suppressed":
            reasons.update(part.strip() for part in reason.removeprefix("suppressed: ").split(";"))
    verdicts = Counter()
    for _, verdict, count in cells:
        verdicts[verdict] += count
    return {"by_trigger": {k: dict(v.most_common()) for k, v in sorted(by_trigger.items())},
            "reasons": reasons.most_common(4), "rows": rows, "responses": responses or 0,
            "cells": f"{sum(verdicts.values()):,} NPS/CSAT cells: " + ", ".join(f"{n:,} {v}"
                                                                                 for v, n in verdicts.most_common())}


# --- the dispatch: the sandbox's SMTP server in its own process, the sender in this one ----------------

def _serve_smtp() -> int:
    """The SMTP sandbox's process: serve, say where (one JSON line), then answer "received" until EOF."""
    from connectors.sandbox import Sandbox, SandboxConfig

    began = time.perf_counter()
    with Sandbox(SandboxConfig.demo()) as sandbox:
        settings = sandbox.smtp_settings()
        secrets = sandbox.credentials()
        env = {ref["env"]: secrets[ref["env"]] for ref in settings["credentials"].values() if "env" in ref}
        _say({"smtp": settings, "env": env, "seconds": time.perf_counter() - began})
        for line in sys.stdin:
            if line.strip() == "received":
                messages = sandbox.sent_emails()
                _say({"messages": len(messages), "tls": sum(bool(m["tls"]) for m in messages),
                      "auth_users": sorted({str(m["auth_user"]) for m in messages}),
                      "recipients": sum(len(m["rcpt_tos"]) for m in messages),
                      "message_ids": sorted({value for m in messages for name, value in m["headers"]
                                             if name.lower() == "message-id"}),
                      "bytes": sum(m["size"] for m in messages)})
    return 0


def _say(value) -> None:
    say(MARK, value)


def _dispatch_benchmark(args) -> int:
    import numpy as np
    import pandas as pd

    import tasks.surveys.dispatch as dispatch_module
    from connectors.services import ServiceConfig
    from connectors.smtp import SmtpSender
    from shopops.logs import get_logger
    from shopops.settings import get_settings
    from warehouse.engine import dispose_engines, get_engine

    n = args.dispatch
    print(f"\nshopops satisfaction-survey benchmark — dispatch: {n:,} invitations by e-mail to the sandbox's SMTP "
          f"server (its own process), SQLite; dispatch code {code_fingerprint(DISPATCH_FILES)}", flush=True)
    server = HelperProcess(["-m", "bench.satisfaction", "--serve-smtp"], MARK, "the SMTP sandbox")
    try:
        smtp = dict(server.hello["smtp"])
        os.environ.update(server.hello["env"])  # the sandbox's SMTP password, where its settings say
        credentials = smtp.pop("credentials")
        print(f"  SMTP server up in {server.hello['seconds']:.1f} s on {smtp['host']}:{smtp['port']} (aiosmtpd, "
              f"STARTTLS with the sandbox's throwaway CA, AUTH as {smtp['username']})")
        workdir = Path(tempfile.mkdtemp(prefix="shopops-bench-satisfaction-dispatch-"))
        url = f"sqlite:///{workdir / 'dispatch.db'}"
        moment = datetime.now(timezone.utc).replace(microsecond=0)
        settings = get_settings()
        options = {"quiet_hours": tuple(settings.survey_quiet_hours), "business_zone": settings.business_timezone,
                   "max_delay": timedelta(days=settings.survey_max_send_delay_days)}
        accepted = inspect.signature(dispatch_module.dispatch).parameters
        options = {k: v for k, v in options.items() if k in accepted}  # as the flow's _dispatch passes them
        country = _awake_country(pd.Timestamp(moment), tuple(settings.survey_quiet_hours), settings.business_timezone)
        began = time.perf_counter()
        kinds = _dispatch_warehouse(url, n, moment, args.seed, country)
        print(f"  warehouse: fresh SQLite, {n:,} customers in {country} (not in quiet hours now) with an e-mail address "
              "and a pending invitation each (" + ", ".join(f"{count:,} {survey}" for survey, count in kinds.items())
              + f"), set up in {time.perf_counter() - began:.1f} s", flush=True)

        engine = get_engine(url)
        mail = SmtpSender(ServiceConfig("smtp", smtp, credentials))
        timings = _DispatchTimings(dispatch_module, mail)
        get_logger("shopops.surveys")  # its first call imports Prefect: not a message's cost
        cpu_began, began = cpu_seconds(), time.perf_counter()
        try:
            counts = dispatch_module.dispatch(
                engine, pd.Timestamp(moment), "bench-dispatch", mail=mail, sms=None,
                link=lambda survey, token: f"http://127.0.0.1/r/{survey}/{token}",
                signing_key=b"bench-satisfaction-signing-key", link_days=settings.survey_link_days, **options)
        finally:
            elapsed, cpu = time.perf_counter() - began, cpu_seconds() - cpu_began
            timings.restore()
            mail.close()
        statuses = _statuses(engine)
        dispose_engines()
        received = server.ask("received")
    finally:
        server.close()

    sent = counts.sent["email"]
    print(f"  dispatch(batch_size=20): {sent:,} sent, {counts.failed:,} failed in {elapsed:.2f} s: "
          f"{sent / elapsed:,.0f} messages/s (CPU {cpu:.2f} s of this process, {100 * cpu / elapsed:.0f}% of one core)")
    others = {name: getattr(counts, name) for name in ("interrupted", "expired", "deferred") if getattr(counts, name, 0)}
    if others:
        print("    also: " + ", ".join(f"{v:,} {k}" for k, v in others.items()))
    if counts.failures:
        print("    failures: " + "; ".join(f"{k} ×{v}" for k, v in Counter(counts.failures).most_common(3)))
    each = np.array(timings.sends) * 1000
    in_send, building = sum(timings.sends), sum(timings.messages) - sum(timings.sends)
    warehouse = sum(timings.transactions)
    print(f"    SmtpSender.send {in_send:.2f} s ({100 * in_send / elapsed:.0f}%; a message: median "
          f"{np.median(each) if len(each) else 0:.2f} ms, p95 {np.percentile(each, 95) if len(each) else 0:.2f} ms, "
          f"max {each.max() if len(each) else 0:.1f} ms; {len(timings.connects)} connection(s) — connect, STARTTLS, "
          f"AUTH — {1000 * sum(timings.connects):.0f} ms)")
    print(f"    building the messages and links {building:.2f} s ({100 * building / elapsed:.0f}%); warehouse "
          f"transactions {warehouse:.2f} s ({100 * warehouse / elapsed:.0f}%: {len(timings.transactions)} of them — "
          f"recovery, expiry and quiet hours, then for each batch one taking it to `sending` with its contacts and "
          f"one recording the outcomes); the rest {elapsed - in_send - building - warehouse:.2f} s")
    print("  the warehouse after: " + ", ".join(f"{n:,} {s}" for s, n in statuses.items()))
    same = received["messages"] == sent and received["recipients"] == sent and len(received["message_ids"]) == sent
    print(f"  the server received {received['messages']:,} messages ({received['recipients']:,} recipients, "
          f"{len(received['message_ids']):,} distinct Message-IDs, {received['tls']:,} over STARTTLS, authenticated as "
          f"{', '.join(received['auth_users']) or 'nobody'}; {received['bytes'] / max(received['messages'], 1):,.0f} "
          f"bytes each): " + ("the same as sent" if same else f"NOT the {sent:,} sent"), flush=True)
    return 0 if same else 1


class _DispatchTimings:
    """Seconds in SmtpSender.send and its connections, in dispatch's _send (the message built, then
    sent) and in its write transactions; patched in for one dispatch, restored after."""

    def __init__(self, module, mail):
        self.module, self.mail = module, mail
        self.sends: list[float] = []
        self.connects: list[float] = []
        self.messages: list[float] = []
        self.transactions: list[float] = []
        self.originals = module._send, module.write_transaction
        self.mail.send = self._timed(mail.send, self.sends)
        self.mail._connect = self._timed(mail._connect, self.connects)
        module._send = self._timed(module._send, self.messages)
        transaction, transactions = module.write_transaction, self.transactions

        @contextmanager
        def timed_transaction(*args, **kwargs):
            began = time.perf_counter()
            try:
                with transaction(*args, **kwargs) as conn:
                    yield conn
            finally:
                transactions.append(time.perf_counter() - began)

        module.write_transaction = timed_transaction

    @staticmethod
    def _timed(function, into: list):
        def timed(*args, **kwargs):
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                into.append(time.perf_counter() - began)
        return timed

    def restore(self) -> None:
        self.module._send, self.module.write_transaction = self.originals
        del self.mail.send, self.mail._connect


def _awake_country(moment, quiet: tuple[int, int], business_zone: str) -> str:
    """A country whose customers are not in their quiet hours at `moment` (dispatch checks them again)."""
    from tasks.surveys.eligibility import COUNTRY_ZONES

    start, end = quiet
    for country, zone in COUNTRY_ZONES.items():
        hour = moment.tz_convert(zone).hour
        if not (hour >= start or hour < end if start > end else start <= hour < end):
            return country
    return "DE"


def _dispatch_warehouse(url: str, n: int, moment: datetime, seed: int, country: str) -> dict:
    """A fresh SQLite warehouse with `n` customers (an e-mail address each) and a pending e-mail invitation each."""
    import hashlib

    import pandas as pd

    from tasks.surveys.eligibility import SURVEY_OF, invitation_id
    from warehouse.engine import dispose_engines, get_engine, write_transaction
    from warehouse.io import insert_frame
    from warehouse.migrate import upgrade
    from warehouse.models import TABLES

    upgrade(url)
    keys = [hashlib.sha256(f"bench-satisfaction-dispatch:{seed}:{i}".encode()).hexdigest() for i in range(n)]
    now = pd.Timestamp(moment)
    triggers = pd.Series([("delivery", "complaint", "relationship")[i % 3] for i in range(n)])
    subjects = pd.Series([f"bench-dispatch:{i}" for i in range(n)])
    due = pd.Series([now - pd.Timedelta(minutes=5)] * n)
    customers = pd.DataFrame({
        "customer_key": keys, "email": [f"dispatch{i:06d}@example.com" for i in range(n)], "phone": None,
        "accepts_marketing": True, "country": country, "first_order_at": due, "last_order_at": due,
        "first_source": "shop-eu", "updated_at": due})
    invitations = pd.DataFrame({
        "invitation_id": invitation_id(triggers, subjects), "trigger": triggers, "subject": subjects,
        "survey": triggers.map(SURVEY_OF), "customer_key": keys, "source": None, "external_order_id": None,
        "ticket_id": None, "channel": "email", "decided_on": moment.date(), "status": "pending",
        "reason": "bench: due", "send_after": due, "sent_at": pd.Series([pd.NaT] * n, dtype="datetime64[us, UTC]"),
        "expires_at": pd.Series([pd.NaT] * n, dtype="datetime64[us, UTC]"), "provider_id": None,
        "run_id": "bench-dispatch-setup", "updated_at": due})
    engine = get_engine(url)
    for table, frame in (("customers", customers), ("survey_invitations", invitations)):
        with write_transaction(engine) as conn:
            insert_frame(conn, table, frame, [c.name for c in TABLES[table].columns])
    dispose_engines()
    return dict(Counter(invitations["survey"]).most_common())


def _statuses(engine) -> dict:
    from sqlalchemy import text

    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT status, COUNT(*) FROM survey_invitations GROUP BY status "
                                      "ORDER BY 2 DESC")).all())


if __name__ == "__main__":
    sys.exit(main())
