"""Run locks per flow and date, on SQLite (a file lock) and PostgreSQL (an advisory lock)."""

import subprocess
import sys
import threading
import time

import pytest

from warehouse.locks import RunLockTimeout, run_lock


def test_a_second_run_of_the_same_flow_and_date_waits_for_the_first(engine):
    events, holding = [], threading.Event()

    def first():
        with run_lock(engine, "replenishment:2026-11-20", timeout_seconds=5):
            events.append("first in")
            holding.set()
            time.sleep(1.0)
            events.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(5)
    with run_lock(engine, "replenishment:2026-11-20", timeout_seconds=10):
        events.append("second in")
    thread.join()
    assert events == ["first in", "first out", "second in"]


def test_other_dates_and_flows_do_not_wait_and_a_timeout_names_the_lock(engine):
    with run_lock(engine, "replenishment:2026-11-20", timeout_seconds=1):
        with run_lock(engine, "replenishment:2026-11-21", timeout_seconds=0):
            pass
        with run_lock(engine, "price-monitoring:2026-11-20", timeout_seconds=0):
            pass
        began = time.monotonic()
        with pytest.raises(RunLockTimeout) as waited:
            with run_lock(engine, "replenishment:2026-11-20", timeout_seconds=1.0):
                pass
        assert time.monotonic() - began >= 1.0
    assert "'replenishment:2026-11-20'" in str(waited.value)
    with run_lock(engine, "replenishment:2026-11-20", timeout_seconds=0):  # released on leaving
        pass


def test_a_killed_holder_leaves_no_lock_behind(engine, warehouse_url):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from warehouse.engine import get_engine\n"
         "from warehouse.locks import run_lock\n"
         "with run_lock(get_engine(sys.argv[1]), 'promotion-review:2026-11-20', timeout_seconds=5):\n"
         "    print('held', flush=True)\n"
         "    time.sleep(60)\n", warehouse_url], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLockTimeout):
            with run_lock(engine, "promotion-review:2026-11-20", timeout_seconds=0):
                pass
        holder.kill()
        holder.wait(10)
        with run_lock(engine, "promotion-review:2026-11-20", timeout_seconds=5):
            pass
    finally:
        holder.kill()
