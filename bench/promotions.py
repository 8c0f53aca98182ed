"""Promotion-review benchmark: a synthetic year of orders and promotions, then the real promotion-review
flow over it in its own process.

    python -m bench.promotions --promotions 500 --orders 1000000 [--warehouse postgres|sqlite] [--skus 20000]

Builds a fresh warehouse (PostgreSQL database `shopops_bench_promotions` on the server of
SHOPOPS_BENCH_POSTGRES_URL, or a SQLite file in a temporary folder) after `upgrade()`: `--skus`
products in 40 categories (and 12 gift SKUs), ~`--orders` orders over the 365 days up to the review
date on three channels with ~2.5 lines each, repeat customers, refunds, and `--promotions`
promotions of every type, scope and window, whose codes and discounts are on the orders that used
them and whose true lift is in the demand for their scope, all from seeded numpy
(bench/promotions_data.py says what they look like), loaded with `insert_frame` in one transaction
per table; prints the data's shape and the rows per table and how long set-up took — not part of
the figure.

Then a separate process (started before the set-up while this one is still small, so that its peak
RSS is its own, and released after the load) starts the Prefect API and times
`promotion_review(as_of=<the history's last day>)` — a few promotions are still running on it — and
prints: wall seconds (the flow call to its return), CPU seconds, peak RSS above its baseline (after
imports and the API start), promotions reviewed, provisional ones, verdict counts (and the reasons
behind "not enough data"), attributed lines, and a table "stage · seconds · share · peak RSS rise":
reading order lines, reading customers (first two orders), reading promotions and products,
attribution, cube, per-promotion series, review, the flow's own pandas, storing, artifacts, and
what is left: Prefect's bookkeeping. The stages come from wrapping, in that process only, the
project functions the flow calls, found from their code (so a refactored flow is still covered),
and the flow's function itself: a function's own time, its timed callees excluded, counts toward
its stage; helpers such as `read_large_frame` toward their caller's. A list by function follows.

    python -m bench.promotions --measure --url URL --as-of DATE [--cprofile FILE]

runs that second process alone against an existing warehouse (the first command prints the exact
line), e.g. under `py-spy record -o flow.svg -- python -m bench.promotions --measure …`. A re-run for
the same date replaces that date's reviews and the promotions' attributions, as the flow does. A
benchmark prints figures; it asserts no timings.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from bench.flow_profile import (
    OTHER, FlowRun, StageClock, StageTable, code_fingerprint, measure_flow, print_process_figures, print_stages,
    released, run_flow_process, set_up_warehouse, warehouse_url,
)

BENCH_DB = "shopops_bench_promotions"
FLOW_FILES = ("flows/promotion_review.py", "tasks/promotions", "tasks/catalogue_on.py", "warehouse/io.py")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--promotions", type=int, default=500)
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders over the year (about)")
    parser.add_argument("--skus", type=int, default=20_000)
    parser.add_argument("--warehouse", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--measure", action="store_true", help="only run the flow against --url (the child process)")
    parser.add_argument("--url", help="with --measure: the warehouse URL")
    parser.add_argument("--as-of", type=date.fromisoformat, help="with --measure: the review date")
    parser.add_argument("--data-dir", help="with --measure: SHOPOPS_DATA_DIR")
    parser.add_argument("--cprofile", help="with --measure: write a cProfile of the flow call here and print its top")
    parser.add_argument("--wait", action="store_true", help=argparse.SUPPRESS)  # for "go" on stdin first
    args = parser.parse_args()
    if args.measure:
        if not (args.url and args.as_of):
            parser.error("--measure needs --url and --as-of")
        return _measure(args)
    return _build_and_measure(args)


# --- the parent: data in, then the child ----------------------------------------------------------

def _build_and_measure(args) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="shopops-bench-promotions-"))
    url = warehouse_url(args.warehouse, workdir / "warehouse.db", BENCH_DB)
    os.environ.update({"SHOPOPS_DATA_DIR": str(workdir), "SHOPOPS_WAREHOUSE_URL": url})
    as_of = datetime.now(timezone.utc).date() - timedelta(days=1)  # the history's last day, all of it past
    command = [sys.executable, "-m", "bench.promotions", "--measure", "--url", url, "--as-of", as_of.isoformat(),
               "--warehouse", args.warehouse, "--data-dir", str(workdir)]
    return run_flow_process(command, lambda: _set_up(args, url, as_of))


def _set_up(args, url: str, as_of: date) -> None:
    from bench.promotions_data import DAYS

    print(f"shopops promotion-review benchmark — set-up: {args.promotions:,} promotions, ~{args.orders:,} orders "
          f"over {DAYS} days to {as_of}, {args.skus:,} SKUs, seed {args.seed}, {args.warehouse}")

    def generate():
        from bench.promotions_data import generate

        return generate(args.promotions, args.orders, args.skus, args.seed, as_of)

    set_up_warehouse(args.warehouse, url, BENCH_DB, generate, facts_width=32)


# --- the child: the flow, timed ----------------------------------------------------------------------

FLOW_OWN = "the flow's own pandas (promotion_review's body)"
READ_LINES = "reading order lines (_lines)"
READ_CUSTOMERS = "reading customers (_first_orders)"
READ_PROMOTIONS = "reading promotions and products"
_STAGES = [  # (stage, substrings of a function's name), first match wins
    ("storing (attributions, reviews, commit)", ("write_transaction", "insert_frame", "_money_units")),
    ("artifacts (charts, scorecard)", ("chart", "data_uri", "scorecard", "_signed", "_amount")),
    (READ_PROMOTIONS, ("products_on",)),
    ("attribution", ("attribute", "_order_codes", "_order_positions", "_lines_of", "_in_scope", "_gift", "threshold")),
    ("cube", ("build_cube",)),
    ("per-promotion series (promotion_series, _overlapping)", ("promotion_series", "_busy_days", "_overlapping")),
    ("review (baseline, estimates, verdict, costs)", ("review", "estimate", "baseline", "_spread", "_verdict",
                                                       "_costs", "_percent", "_figures")),
    ("flow set-up (settings, engine, schema check)", ("check_schema", "get_engine", "get_settings", "redaction",
                                                       "get_logger", "_scheduled_date", "_midnight")),
]
STAGES = StageTable(
    _STAGES,
    display_order=[_STAGES[7][0], READ_LINES, READ_CUSTOMERS, READ_PROMOTIONS]
    + [_STAGES[i][0] for i in (3, 4, 5, 6)] + [FLOW_OWN] + [_STAGES[i][0] for i in (0, 1)] + [OTHER],
    exact={"_lines": READ_LINES, "_first_orders": READ_CUSTOMERS},
    # The flow reads the promotions itself.
    called_from={("read_frame", FLOW_OWN): READ_PROMOTIONS},
    # Called per promotion and neighbour, or per figure: wrapping would cost more than they do.
    not_wrapped=frozenset({"as_list", "_day", "_finite", "tiers_of"}),
)


def _measure(args) -> int:
    if not released(args.wait):
        return 1  # the set-up failed
    os.environ.update({"SHOPOPS_WAREHOUSE_URL": args.url})
    if args.data_dir:
        os.environ["SHOPOPS_DATA_DIR"] = args.data_dir
    import flows.promotion_review as flow_module

    clock = StageClock(STAGES)
    clock.instrument_flow_body(flow_module.promotion_review, FLOW_OWN)
    measure_flow(lambda: flow_module.promotion_review(as_of=args.as_of),
                 lambda run: _report(args, run, clock), args.cprofile, cprofile_top=30)
    return 0


def _report(args, run: FlowRun, clock: StageClock) -> None:
    summary = run.result
    written = _written(args.url, args.as_of)
    print(f"\nshopops promotion-review benchmark — promotion_review(as_of={args.as_of}), {args.warehouse}; "
          f"flow code {code_fingerprint(FLOW_FILES)}")
    print_process_figures(run)
    print(f"  promotions reviewed: {summary.get('promotions', 0):,} ({summary.get('provisional', 0):,} still running, "
          f"provisional)")
    print("  verdicts: " + ", ".join(f"{summary.get(k, 0):,} {k}" for k in ("repeat", "adjust", "stop",
                                                                             "not enough data")))
    if written["reasons"]:
        print("  why not enough data: " + "; ".join(f"{count:,} {reason}" for reason, count in written["reasons"]))
    print("  verdicts by type: " + "; ".join(f"{kind} " + ", ".join(f"{n} {v}" for v, n in verdicts.items())
                                             for kind, verdicts in written["by_type"].items()))
    print(f"  attributed lines: {summary.get('attributed_lines', 0):,} ({written['attributed_orders']:,} orders; "
          f"{written['by_code']:,} lines matched by code, {written['by_scope']:,} by scope)")
    print(f"  rows written: promotion_reviews {written['reviews']:,}, promotion_attributions {written['attributions']:,}")
    print_stages(clock, run.elapsed)


def _written(url: str, as_of: date) -> dict:
    from sqlalchemy import text

    from warehouse.engine import get_engine

    with get_engine(url).connect() as conn:
        reviews = conn.execute(text("SELECT type, verdict, reason FROM promotion_reviews WHERE review_date = :d"),
                               {"d": as_of}).all()
        matched = dict(conn.execute(text("SELECT matched_by, COUNT(*) FROM promotion_attributions GROUP BY matched_by")
                                    ).all())
        orders = conn.execute(text("SELECT COUNT(*) FROM (SELECT DISTINCT source, external_order_id "
                                   "FROM promotion_attributions) AS o")).scalar() or 0
    by_type: dict[str, Counter] = {}
    for kind, verdict, _ in reviews:
        by_type.setdefault(kind, Counter())[verdict] += 1
    reasons = Counter(_reason_kind(reason) for _, verdict, reason in reviews if verdict == "not enough data")
    return {"reviews": len(reviews), "attributions": sum(matched.values()), "by_code": matched.get("code", 0),
            "by_scope": matched.get("scope", 0), "attributed_orders": orders,
            "by_type": {k: dict(v.most_common()) for k, v in sorted(by_type.items())},
            "reasons": reasons.most_common()}


def _reason_kind(reason: str) -> str:
    """A "not enough data" reason without its figures: "only 9 clean days …" → "too few clean days"."""
    if "clean days" in reason:
        return "too few clean pre-period days"
    if "orders used it" in reason:
        return "too few orders"
    if "did not sell before" in reason:
        return "no sales before"
    if "cost nothing" in reason:
        return "no cost on the orders"
    return reason[:40]


if __name__ == "__main__":
    sys.exit(main())
